package registrygen

import (
	"fmt"
	"strings"

	"github.com/joblet/rtool/schema"
)

// HistoryProblem is one way the current registry lost published history.
type HistoryProblem struct {
	Kind     string `json:"kind"` // "lost" (a version or artifact disappeared), "changed" (its checksum changed) or "released_at" (its released_at changed)
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform,omitempty"` // set for a per-platform artifact
	Old      string `json:"old,omitempty"`      // checksum, or released_at
	New      string `json:"new,omitempty"`      // checksum, or released_at ("" when removed)
}

func (p HistoryProblem) String() string {
	where := p.Name + "@" + p.Version
	if p.Platform != "" {
		where += " [" + p.Platform + "]"
	}
	switch p.Kind {
	case "changed":
		return fmt.Sprintf("changed %s: checksum %s → %s", where, p.Old, p.New)
	case "released_at":
		n := p.New
		if n == "" {
			n = "(none)"
		}
		return fmt.Sprintf("changed %s: released_at %s → %s", where, p.Old, n)
	}
	return "lost " + where
}

// HistoryError lists every version or artifact that disappeared or changed
// checksum, and every released_at that changed, between the previous and
// the current registry.
type HistoryError struct {
	Problems []HistoryProblem
}

func (e *HistoryError) Error() string {
	lost, changed, released := 0, 0, 0
	for _, p := range e.Problems {
		switch p.Kind {
		case "changed":
			changed++
		case "released_at":
			released++
		default:
			lost++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "registry lost published history: %d version(s) or artifact(s) disappeared, %d checksum(s) changed, %d released_at(s) rewritten; "+
		"registry.json must only grow: merge instead of rewriting it (rtool registry merge/add), withdraw with rtool registry yank, "+
		"replace a checksum only with --force (recorded), and never edit a released_at", lost, changed, released)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// CheckHistory returns a *HistoryError listing every version and artifact
// of previous that is missing from current or has a different checksum in
// it, and every version whose released_at is set in previous and differs
// in current (changed or removed), or nil. A checksum change recorded in
// the entry's "forced" list (rtool registry add --force) is accepted; a
// released_at change never is (filling one that previous lacked is fine).
func CheckHistory(previous, current *schema.Registry) error {
	var problems []HistoryProblem
	for _, name := range sortedKeys(previous.Runtimes) {
		prevVersions := previous.Runtimes[name]
		curVersions := current.Runtimes[name]
		for _, v := range schema.SortedVersions(prevVersions) {
			pe := prevVersions[v]
			if pe == nil {
				continue
			}
			ce := curVersions[v]
			if ce == nil {
				problems = append(problems, HistoryProblem{Kind: "lost", Name: name, Version: v})
				continue
			}
			if pe.Checksum != "" && pe.Checksum != ce.Checksum && !forcedPath(ce.Forced, "", pe.Checksum, ce.Checksum) {
				problems = append(problems, HistoryProblem{Kind: "changed", Name: name, Version: v, Old: pe.Checksum, New: ce.Checksum})
			}
			if pe.ReleasedAt != "" && pe.ReleasedAt != ce.ReleasedAt {
				problems = append(problems, HistoryProblem{Kind: "released_at", Name: name, Version: v, Old: pe.ReleasedAt, New: ce.ReleasedAt})
			}
			if ps := pe.SourcePackage; ps != nil {
				const p = schema.SourcePackageForced
				switch cs := ce.SourcePackage; {
				case cs == nil:
					problems = append(problems, HistoryProblem{Kind: "lost", Name: name, Version: v, Platform: p})
				case ps.Checksum != cs.Checksum && !forcedPath(ce.Forced, p, ps.Checksum, cs.Checksum):
					problems = append(problems, HistoryProblem{Kind: "changed", Name: name, Version: v, Platform: p, Old: ps.Checksum, New: cs.Checksum})
				}
			}
			for _, p := range sortedKeys(pe.Artifacts) {
				pa, ca := pe.Artifacts[p], ce.Artifacts[p]
				switch {
				case pa == nil:
				case ca == nil:
					problems = append(problems, HistoryProblem{Kind: "lost", Name: name, Version: v, Platform: p})
				case pa.Checksum != ca.Checksum && !forcedPath(ce.Forced, p, pa.Checksum, ca.Checksum):
					problems = append(problems, HistoryProblem{Kind: "changed", Name: name, Version: v, Platform: p, Old: pa.Checksum, New: ca.Checksum})
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &HistoryError{Problems: problems}
}

// forcedPath reports whether forced records lead from old to new for the
// platform ("" = top-level), possibly through several forced changes.
func forcedPath(forced []schema.ForcedChange, platform, old, new string) bool {
	cur := old
	for range len(forced) {
		next := ""
		for _, f := range forced {
			if f.Platform == platform && f.OldChecksum == cur {
				next = f.NewChecksum
				break
			}
		}
		if next == "" {
			return false
		}
		if next == new {
			return true
		}
		cur = next
	}
	return false
}
