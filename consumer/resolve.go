package consumer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// SpecKind says how a spec picks a version.
type SpecKind int

// Spec kinds.
const (
	Latest SpecKind = iota // name or name@latest
	Exact                  // name@X.Y.Z
	Range                  // name@^1.2, name@~1.3.0, name@>=1.0 <2.0
)

// Spec is a parsed runtime spec.
type Spec struct {
	Name       string
	Kind       SpecKind
	Version    string              // Exact: the version; Range: the constraint text
	Constraint *semver.Constraints // Range only
}

func (s Spec) String() string {
	switch s.Kind {
	case Exact, Range:
		return s.Name + "@" + s.Version
	}
	return s.Name + "@latest"
}

// ParseSpec parses name, name@latest, name@X.Y.Z or name@<range>.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	name, ver, hasAt := strings.Cut(s, "@")
	if err := schema.CheckName(name); err != nil {
		return Spec{}, fmt.Errorf("runtime spec %q: %w", s, err)
	}
	ver = strings.TrimSpace(ver)
	if !hasAt || ver == "" || ver == "latest" {
		if hasAt && ver == "" {
			return Spec{}, fmt.Errorf("runtime spec %q has nothing after @; write %s, %s@latest or %s@1.2.3", s, name, name, name)
		}
		return Spec{Name: name, Kind: Latest}, nil
	}
	if schema.CheckVersion(ver) == nil {
		return Spec{Name: name, Kind: Exact, Version: ver}, nil
	}
	c, err := semver.NewConstraint(ver)
	if err != nil {
		verr := schema.CheckVersion(ver)
		return Spec{}, fmt.Errorf("runtime spec %q: %q is neither a version (%v) nor a range such as ^1.2, ~1.3.0 or \">=1.0 <2.0\" (%v)", s, ver, verr, err)
	}
	return Spec{Name: name, Kind: Range, Version: ver, Constraint: c}, nil
}

// Resolved is one runtime version picked for one platform, with what to
// download and what to expect of it.
type Resolved struct {
	Name     string                `json:"name"`
	Version  string                `json:"version"`
	Platform string                `json:"platform"`
	Entry    *schema.RegistryEntry `json:"entry,omitempty"`
	// URL is an absolute http(s) URL or an absolute local path.
	URL          string `json:"url"`
	Checksum     string `json:"checksum"`
	Size         int64  `json:"size"`
	UnpackedSize int64  `json:"unpacked_size,omitempty"`
	Entries      int64  `json:"entries,omitempty"`
	// Universal is true when the entry has no per-platform artifacts and
	// its upstream download_url is used (see docs/joblet.md, "Upstream entries").
	Universal bool     `json:"universal,omitempty"`
	Registry  string   `json:"registry"` // the source it was found in
	Warnings  []string `json:"warnings,omitempty"`
	// Mode ModeJoblet: picked by ResolveJoblet, installed as Joblet's
	// installer reads the download (Joblet says what it picked).
	Mode   Mode        `json:"mode,omitempty"`
	Joblet *JobletPick `json:"joblet,omitempty"`
}

// artifactFor returns the artifact of entry e for platform, or for an
// upstream entry without an artifacts map, its download_url when the entry
// lists the platform (or lists none).
func artifactFor(e *schema.RegistryEntry, platform string) (a *schema.Artifact, ok, universal bool) {
	if len(e.Artifacts) > 0 {
		a := e.Artifacts[platform]
		return a, a != nil, false
	}
	if e.DownloadURL == "" {
		return nil, false, false
	}
	if len(e.Platforms) > 0 && !contains(e.Platforms, platform) {
		return nil, false, false
	}
	return &schema.Artifact{DownloadURL: e.DownloadURL, Checksum: e.Checksum, Size: e.Size}, true, true
}

func platformsOf(e *schema.RegistryEntry) []string {
	if len(e.Artifacts) > 0 {
		return sortedKeys(e.Artifacts)
	}
	if e.DownloadURL == "" {
		return nil
	}
	p := append([]string(nil), e.Platforms...)
	sort.Strings(p)
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NotFoundError is returned when no registry has the runtime.
type NotFoundError struct {
	Name    string
	Similar []string
	Where   []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("runtime '%s' not found in registry %s", e.Name, strings.Join(e.Where, ", "))
	if len(e.Similar) > 0 {
		msg += "; did you mean " + strings.Join(e.Similar, ", ") + "?"
	}
	return msg
}

// Resolve picks the version spec asks for, for platform, from the first
// registry (in order) that can satisfy it. When none can, the error is the
// one from the first registry that has the runtime, or a not-found error
// listing close names from all of them.
func Resolve(regs []*Loaded, spec Spec, platform string) (*Resolved, error) {
	if _, err := schema.ParsePlatform(platform); err != nil {
		return nil, err
	}
	var firstErr error
	var names []string
	var where []string
	for _, l := range regs {
		where = append(where, l.Where)
		versions, ok := l.Registry.Runtimes[spec.Name]
		if !ok {
			names = append(names, sortedKeys(l.Registry.Runtimes)...)
			continue
		}
		r, err := resolveIn(l, versions, spec, platform)
		if err == nil {
			return r, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, &NotFoundError{Name: spec.Name, Similar: closeNames(spec.Name, names), Where: where}
}

func resolveIn(l *Loaded, versions map[string]*schema.RegistryEntry, spec Spec, platform string) (*Resolved, error) {
	keys := schema.SortedVersions(versions)
	var pick string
	var warnings []string
	switch spec.Kind {
	case Exact:
		e, ok := versions[spec.Version]
		if !ok {
			return nil, fmt.Errorf("version '%s' not found for runtime '%s' in registry %s; available: %s",
				spec.Version, spec.Name, l.Where, describeVersions(versions, keys))
		}
		if _, ok, _ := artifactFor(e, platform); !ok {
			return nil, noArtifactError(spec.Name, spec.Version, platform, platformsOf(e))
		}
		if e.Yanked != nil {
			warnings = append(warnings, fmt.Sprintf("%s@%s is yanked (%s, %s); installing it because it was asked for exactly",
				spec.Name, spec.Version, e.Yanked.Reason, e.Yanked.Date))
		}
		pick = spec.Version
	default:
		// Ranges leave pre-releases to Masterminds/semver, which admits
		// them only when the constraint names a pre-release.
		allowPre := spec.Kind == Range
		var matching []string // candidates ignoring platform
		for i := len(keys) - 1; i >= 0; i-- {
			k := keys[i]
			e := versions[k]
			v, err := semver.StrictNewVersion(k)
			if err != nil || !e.Available() {
				continue
			}
			if v.Prerelease() != "" && !allowPre {
				continue
			}
			if spec.Kind == Range && !spec.Constraint.Check(v) {
				continue
			}
			matching = append(matching, k)
			if _, ok, _ := artifactFor(e, platform); ok && pick == "" {
				pick = k
			}
		}
		if pick == "" {
			if len(matching) == 0 {
				what := "no stable version (yanked and pre-release versions are skipped by @latest; install one by its exact version)"
				if spec.Kind == Range {
					what = fmt.Sprintf("no version matches %q (yanked versions are skipped; pre-releases only when the range names one)", spec.Version)
				}
				return nil, fmt.Errorf("runtime '%s' in registry %s: %s; available: %s", spec.Name, l.Where, what, describeVersions(versions, keys))
			}
			var others []string
			for _, k := range matching {
				if ps := platformsOf(versions[k]); len(ps) > 0 {
					others = append(others, k+" ("+strings.Join(ps, ", ")+")")
				}
			}
			msg := fmt.Sprintf("no artifact for platform %s in any version of '%s' matching %s", platform, spec.Name, spec)
			if len(others) > 0 {
				msg += "; versions with artifacts for other platforms: " + strings.Join(others, "; ") + " (use --platform to pick one)"
			}
			return nil, fmt.Errorf("%s", msg)
		}
	}
	e := versions[pick]
	a, _, universal := artifactFor(e, platform)
	u, err := l.resolveURL(a.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("runtime %s@%s for %s in registry %s: %w", spec.Name, pick, platform, l.Where, err)
	}
	// The registry's rules (Fetch's registrygen.Parse applied them to
	// every entry already; a registry built in memory meets them here).
	if err := registrygen.CheckDownload(a.DownloadURL, a.Checksum, a.Size); err != nil {
		return nil, fmt.Errorf("runtime %s@%s for %s in registry %s: %w", spec.Name, pick, platform, l.Where, err)
	}
	if e.Version != "" && e.Version != pick {
		return nil, fmt.Errorf("registry %s: runtimes.%s[%q].version is %q; it must equal its key", l.Where, spec.Name, pick, e.Version)
	}
	if err := schema.CheckVersion(pick); err != nil {
		return nil, fmt.Errorf("registry %s: runtimes.%s[%q]: %w", l.Where, spec.Name, pick, err)
	}
	return &Resolved{
		Name: spec.Name, Version: pick, Platform: platform, Entry: e,
		URL: u, Checksum: a.Checksum, Size: a.Size, UnpackedSize: a.UnpackedSize, Entries: a.Entries,
		Universal: universal, Registry: l.Where, Warnings: warnings,
	}, nil
}

func noArtifactError(name, version, platform string, have []string) error {
	if len(have) == 0 {
		return fmt.Errorf("runtime '%s' version %s has no artifact for platform %s, nor for any other platform", name, version, platform)
	}
	return fmt.Errorf("runtime '%s' version %s has no artifact for platform %s; platforms with one: %s (use --platform to pick one)",
		name, version, platform, strings.Join(have, ", "))
}

func describeVersions(versions map[string]*schema.RegistryEntry, keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if versions[k].Yanked != nil {
			out = append(out, k+" (yanked)")
		} else {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

// closeNames returns up to five names within a small edit distance of
// name, or containing it, closest first.
func closeNames(name string, names []string) []string {
	type cand struct {
		n string
		d int
	}
	seen := map[string]bool{}
	var cs []cand
	limit := max(2, len(name)/3)
	// separators ignored: "python3" is close to "python-3.11"
	squash := strings.NewReplacer("-", "", ".", "", "_", "").Replace
	sq := squash(name)
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		d := editDistance(name, n)
		sn := squash(n)
		prefix := len(sq) >= 3 && (strings.HasPrefix(sn, sq) || strings.HasPrefix(sq, sn))
		if d <= limit || prefix || strings.Contains(n, name) || strings.Contains(name, n) {
			cs = append(cs, cand{n, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].n < cs[j].n
	})
	var out []string
	for i := 0; i < len(cs) && i < 5; i++ {
		out = append(out, cs[i].n)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
