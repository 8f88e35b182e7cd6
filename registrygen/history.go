package registrygen

import (
	"fmt"
	"strings"

	"github.com/joblet/rtool/schema"
)

// HistoryProblem is one way the current registry lost published history.
type HistoryProblem struct {
	Kind     string `json:"kind"` // "lost" (a version or artifact disappeared) or "changed" (its checksum changed)
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform,omitempty"` // set for a per-platform artifact
	Old      string `json:"old,omitempty"`
	New      string `json:"new,omitempty"`
}

func (p HistoryProblem) String() string {
	where := p.Name + "@" + p.Version
	if p.Platform != "" {
		where += " [" + p.Platform + "]"
	}
	if p.Kind == "changed" {
		return fmt.Sprintf("changed %s: checksum %s → %s", where, p.Old, p.New)
	}
	return "lost " + where
}

// HistoryError lists every version or artifact that disappeared or changed
// checksum between the previous and the current registry.
type HistoryError struct {
	Problems []HistoryProblem
}

func (e *HistoryError) Error() string {
	lost, changed := 0, 0
	for _, p := range e.Problems {
		if p.Kind == "changed" {
			changed++
		} else {
			lost++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "registry lost published history: %d version(s) or artifact(s) disappeared, %d checksum(s) changed; "+
		"registry.json must only grow: merge instead of rewriting it (rtool registry merge/add), withdraw with rtool registry yank, "+
		"and replace a checksum only with --force (recorded)", lost, changed)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// CheckHistory returns a *HistoryError listing every version and artifact
// of previous that is missing from current or has a different checksum in
// it, or nil. A checksum change recorded in the entry's "forced" list
// (rtool registry add --force) is accepted.
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
