package registrygen

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
)

// MergeOptions controls Merge.
type MergeOptions struct {
	// Now stamps released_at on a version that arrives without one and
	// dates a forced change. Fragments built by Fragment carry their own
	// times, so merging them does not depend on Now.
	Now time.Time
	// Force replaces a differing checksum (or other differing field) of an
	// existing version instead of refusing; every replaced checksum is
	// recorded in the entry's "forced" list.
	Force bool
}

// ChangeKind says what a merge changed.
type ChangeKind string

// Kinds of change.
const (
	ChangeAdded         ChangeKind = "added"          // a new version
	ChangeArtifactAdded ChangeKind = "artifact-added" // a new platform artifact of an existing version
	ChangeFilled        ChangeKind = "filled"         // a field that was empty is now set
	ChangeReleasedAt    ChangeKind = "released-at"    // released_at of an incomplete entry moved to an earlier fragment's time
	ChangeYanked        ChangeKind = "yanked"         // the version is yanked
	ChangeForced        ChangeKind = "forced"         // a checksum was replaced with Force (recorded)
	ChangeReplaced      ChangeKind = "replaced"       // another field was replaced with Force
	ChangeRecorded      ChangeKind = "recorded"       // a forced change recorded elsewhere was copied in
	ChangeExtra         ChangeKind = "extra"          // an unknown key was added
)

// Change is one thing a merge or yank changed.
type Change struct {
	Kind     ChangeKind `json:"kind"`
	Name     string     `json:"name,omitempty"`
	Version  string     `json:"version,omitempty"`
	Platform string     `json:"platform,omitempty"`
	Detail   string     `json:"detail,omitempty"`
}

func (c Change) String() string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	if c.Name != "" {
		b.WriteString(" ")
		b.WriteString(c.Name)
		if c.Version != "" {
			b.WriteString("@" + c.Version)
		}
	}
	if c.Platform != "" {
		b.WriteString(" [" + c.Platform + "]")
	}
	if c.Detail != "" {
		b.WriteString(": " + c.Detail)
	}
	return b.String()
}

// Changes lists what a merge changed, sorted by runtime, version and
// platform. Empty means the result is byte-identical to the base.
type Changes []Change

// Conflict is a field of an existing version that an incoming fragment
// wants to change.
type Conflict struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform,omitempty"`
	Field    string `json:"field"`
	Existing string `json:"existing"`
	Incoming string `json:"incoming"`
}

func (c Conflict) String() string {
	where := c.Name + "@" + c.Version
	if c.Platform != "" {
		where += " [" + c.Platform + "]"
	}
	return fmt.Sprintf("%s: %s differs: registry has %s, incoming has %s", where, c.Field, c.Existing, c.Incoming)
}

// ConflictError is returned by Merge when incoming changes a published
// version. It lists every conflict.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d conflicting change(s) to published versions; a published version never changes: release a new version, or pass --force to replace it (recorded in the entry's \"forced\" list)", len(e.Conflicts))
	for _, c := range e.Conflicts {
		b.WriteString("\n  ")
		b.WriteString(c.String())
	}
	return b.String()
}

// Merge returns base with incoming merged in. It is pure: neither input is
// modified (the result shares unchanged entries with base).
//
// The rules, chosen so that fragments of one release (one per platform, as
// matrix jobs produce them) merge in any order to the same bytes:
//   - a version not in base is added; one without released_at gets Now;
//   - nothing is ever removed: a version, artifact or key missing from
//     incoming stays as it is in base;
//   - an empty field in incoming claims nothing; an empty field in base is
//     filled from incoming (a pending top-level download, unpacked_size...);
//   - a field set on both sides must be equal; the same version with a
//     different checksum (top-level or per platform) is a ConflictError
//     naming both, unless Force, which replaces it and records the change;
//   - released_at, once set, is never changed on an entry that is Complete
//     in base (published: it has the top-level checksum and an artifact for
//     every platform it lists, or no artifacts at all, upstream's shape);
//     an entry still being assembled from per-platform fragments takes the
//     earliest of the two, so fragments merge in any order to the same
//     bytes (the entry completes only with its last fragment); base without
//     released_at takes incoming's;
//   - a yank is kept (never undone by a fragment without it); of two yanks
//     the earlier is kept; forced records are united;
//   - unknown keys are united; registry-level unknown keys in base win;
//   - updated_at changes only when something changed, to the latest of
//     base's and incoming's updated_at and the times of what changed;
//   - the result keeps the rules every reader applies (Check): a base that
//     breaks them is refused with its problems listed, never rewritten,
//     and so is a merge whose added or changed entries would break them.
func Merge(base, incoming *schema.Registry, opts MergeOptions) (*schema.Registry, Changes, error) {
	if base == nil {
		base = New()
	}
	out := &schema.Registry{
		Version:   base.Version,
		UpdatedAt: base.UpdatedAt,
		Runtimes:  make(map[string]map[string]*schema.RegistryEntry, len(base.Runtimes)+1),
		Extra:     base.Extra,
	}
	if out.Version == "" {
		out.Version = schema.RegistryFormatVersion
	}
	maps.Copy(out.Runtimes, base.Runtimes)
	if incoming == nil {
		return out, nil, nil
	}
	if incoming.Version != "" && incoming.Version != schema.RegistryFormatVersion {
		return nil, nil, fmt.Errorf("incoming registry has format version %q; only %q can be merged", incoming.Version, schema.RegistryFormatVersion)
	}
	// The rules every reader applies (Check): a base that breaks them is
	// not rewritten. Incoming may leave fields empty (they claim nothing),
	// so it is checked as merged, below.
	if errs := checkRuntimes(base); len(errs) > 0 {
		return nil, nil, fmt.Errorf("the base registry breaks rules that registry verify and runtime install apply too, so it is not rewritten; fix these first:\n%w", errs)
	}

	m := &merger{opts: opts}
	extraCloned := false
	for _, k := range sortedKeys(incoming.Extra) {
		if _, ok := base.Extra[k]; !ok {
			if !extraCloned {
				out.Extra = maps.Clone(base.Extra)
				if out.Extra == nil {
					out.Extra = map[string]json.RawMessage{}
				}
				extraCloned = true
			}
			out.Extra[k] = incoming.Extra[k]
			m.changes = append(m.changes, Change{Kind: ChangeExtra, Detail: k})
		}
	}
	for _, name := range sortedKeys(incoming.Runtimes) {
		inVersions := incoming.Runtimes[name]
		baseVersions := base.Runtimes[name]
		var outVersions map[string]*schema.RegistryEntry
		set := func(v string, e *schema.RegistryEntry) {
			if outVersions == nil {
				outVersions = make(map[string]*schema.RegistryEntry, len(baseVersions)+len(inVersions))
				maps.Copy(outVersions, baseVersions)
				out.Runtimes[name] = outVersions
			}
			outVersions[v] = e
		}
		for _, v := range schema.SortedVersions(inVersions) {
			in := inVersions[v]
			if in == nil {
				continue
			}
			b := baseVersions[v]
			if b == nil {
				e := cloneEntry(in)
				if e.ReleasedAt == "" && !opts.Now.IsZero() {
					e.ReleasedAt = FormatTime(opts.Now)
				}
				if e.Platforms == nil {
					e.Platforms = []string{}
				}
				set(v, e)
				m.changes = append(m.changes, Change{Kind: ChangeAdded, Name: name, Version: v})
				m.noteEntryTimes(e)
				continue
			}
			if e := m.entry(name, v, b, in); e != b {
				set(v, e)
			}
		}
		if outVersions == nil && baseVersions == nil && inVersions != nil {
			// A runtime with no versions: keep the name, as upstream might.
			out.Runtimes[name] = map[string]*schema.RegistryEntry{}
			m.changes = append(m.changes, Change{Kind: ChangeAdded, Name: name, Detail: "runtime with no versions"})
		}
	}
	if len(m.conflicts) > 0 {
		return nil, nil, &ConflictError{Conflicts: m.conflicts}
	}
	// What incoming added or changed must keep the rules too, as merged
	// (a --force replacement of platforms can leave an artifact for a
	// platform no longer listed).
	var touched []Ref
	for _, c := range m.changes {
		if c.Name != "" && (len(touched) == 0 || touched[len(touched)-1] != Ref{Name: c.Name, Version: c.Version}) {
			touched = append(touched, Ref{Name: c.Name, Version: c.Version})
		}
	}
	if errs := checkEntries(out, touched); len(errs) > 0 {
		return nil, nil, fmt.Errorf("the merged registry would break rules that registry verify and runtime install apply; nothing was merged:\n%w", errs)
	}
	if len(m.changes) == 0 {
		if out.UpdatedAt == "" {
			out.UpdatedAt = latest(incoming.UpdatedAt, formatNonZero(opts.Now))
		}
		return out, nil, nil
	}
	m.times = append(m.times, base.UpdatedAt, incoming.UpdatedAt)
	out.UpdatedAt = latest(m.times...)
	if out.UpdatedAt == "" {
		out.UpdatedAt = formatNonZero(opts.Now)
	}
	return out, m.changes, nil
}

// Complete reports whether a version entry is whole, as a published one
// is: it has the top-level download (checksum) and either an artifact for
// every platform it lists or no artifacts at all (upstream's shape, the
// source package only). An entry merged from per-platform fragments is
// complete once the last platform's fragment is in. Merge never changes the
// released_at of an entry that is complete in its base.
func Complete(e *schema.RegistryEntry) bool {
	if e == nil || e.Checksum == "" {
		return false
	}
	if len(e.Artifacts) == 0 {
		return true
	}
	for _, p := range e.Platforms {
		if e.Artifacts[p] == nil {
			return false
		}
	}
	return true
}

type merger struct {
	opts      MergeOptions
	changes   Changes
	conflicts []Conflict
	times     []string
}

func (m *merger) noteEntryTimes(e *schema.RegistryEntry) {
	m.times = append(m.times, e.ReleasedAt)
	if e.Yanked != nil {
		m.times = append(m.times, e.Yanked.Date)
	}
	for _, f := range e.Forced {
		m.times = append(m.times, f.Date)
	}
}

// entry merges incoming into base's entry for one version; it returns b
// itself when nothing changed.
func (m *merger) entry(name, v string, b, in *schema.RegistryEntry) *schema.RegistryEntry {
	var e *schema.RegistryEntry
	mut := func() *schema.RegistryEntry {
		if e == nil {
			e = cloneEntry(b)
		}
		return e
	}
	change := func(kind ChangeKind, platform, detail string) {
		m.changes = append(m.changes, Change{Kind: kind, Name: name, Version: v, Platform: platform, Detail: detail})
	}
	conflict := func(platform, field, existing, incoming string) {
		m.conflicts = append(m.conflicts, Conflict{Name: name, Version: v, Platform: platform, Field: field, Existing: existing, Incoming: incoming})
	}
	// differ settles a field set on both sides with different values:
	// replace under Force, conflict otherwise. It reports whether to replace.
	differ := func(platform, field, existing, incoming string) bool {
		if m.opts.Force {
			change(ChangeReplaced, platform, fmt.Sprintf("%s %s → %s", field, existing, incoming))
			return true
		}
		conflict(platform, field, existing, incoming)
		return false
	}

	if in.Description != "" && in.Description != b.Description {
		if b.Description == "" {
			mut().Description = in.Description
			change(ChangeFilled, "", "description")
		} else if differ("", "description", quote(b.Description), quote(in.Description)) {
			mut().Description = in.Description
		}
	}
	if len(in.Platforms) > 0 && !slices.Equal(in.Platforms, b.Platforms) {
		if len(b.Platforms) == 0 {
			mut().Platforms = slices.Clone(in.Platforms)
			change(ChangeFilled, "", "platforms")
		} else if differ("", "platforms", "["+strings.Join(b.Platforms, ",")+"]", "["+strings.Join(in.Platforms, ",")+"]") {
			mut().Platforms = slices.Clone(in.Platforms)
		}
	}

	// The source package, before the top-level download: a version
	// published before source_package existed has the source package as
	// its top-level download, which is history and stays (legacy below).
	if is := in.SourcePackage; is != nil {
		const p = schema.SourcePackageForced
		switch bs := b.SourcePackage; {
		case bs == nil:
			mut().SourcePackage = cloneArtifact(is)
			change(ChangeFilled, "", p)
		default:
			if ns := m.artifact(p, bs, is, conflict, change, differ); ns != bs {
				x := mut()
				x.SourcePackage = ns
				if ns.Checksum != bs.Checksum {
					x.Forced = append(x.Forced, m.forcedRecord(p, bs.Checksum, ns.Checksum))
				}
			}
		}
	}
	legacy := in.SourcePackage != nil && b.Checksum != "" && b.Checksum == in.SourcePackage.Checksum

	// The top-level download (upstream's download_url, checksum, size).
	if in.Checksum != "" && !legacy {
		switch {
		case b.Checksum == "":
			x := mut()
			x.DownloadURL, x.Checksum, x.Size = in.DownloadURL, in.Checksum, in.Size
			change(ChangeFilled, "", "download_url, checksum, size")
		case b.Checksum != in.Checksum:
			if m.force("", b.Checksum, in.Checksum, conflict, change) {
				x := mut()
				x.Forced = append(x.Forced, m.forcedRecord("", b.Checksum, in.Checksum))
				x.DownloadURL, x.Checksum, x.Size = in.DownloadURL, in.Checksum, in.Size
			}
		default:
			if in.DownloadURL != "" && in.DownloadURL != b.DownloadURL && differ("", "download_url", b.DownloadURL, in.DownloadURL) {
				mut().DownloadURL = in.DownloadURL
			}
			if in.Size != b.Size && differ("", "size", fmt.Sprint(b.Size), fmt.Sprint(in.Size)) {
				mut().Size = in.Size
			}
		}
	}

	if in.ReleasedAt != "" && in.ReleasedAt != b.ReleasedAt {
		switch {
		case b.ReleasedAt == "":
			mut().ReleasedAt = in.ReleasedAt
			change(ChangeFilled, "", "released_at "+in.ReleasedAt)
			m.times = append(m.times, in.ReleasedAt)
		case Complete(b):
			// Published: its released_at is history and stays.
		case parseTime(in.ReleasedAt).Before(parseTime(b.ReleasedAt)):
			mut().ReleasedAt = in.ReleasedAt
			change(ChangeReleasedAt, "", b.ReleasedAt+" → "+in.ReleasedAt)
		}
	}

	for _, p := range sortedKeys(in.Artifacts) {
		ia := in.Artifacts[p]
		if ia == nil {
			continue
		}
		ba := b.Artifacts[p]
		if ba == nil {
			x := mut()
			if x.Artifacts == nil {
				x.Artifacts = map[string]*schema.Artifact{}
			}
			x.Artifacts[p] = cloneArtifact(ia)
			change(ChangeArtifactAdded, p, "")
			continue
		}
		if na := m.artifact(p, ba, ia, conflict, change, differ); na != ba {
			x := mut()
			x.Artifacts[p] = na
			if na.Checksum != ba.Checksum {
				x.Forced = append(x.Forced, m.forcedRecord(p, ba.Checksum, na.Checksum))
			}
		}
	}

	if in.Yanked != nil {
		switch {
		case b.Yanked == nil:
			mut().Yanked = cloneYank(in.Yanked)
			change(ChangeYanked, "", in.Yanked.Reason)
			m.times = append(m.times, in.Yanked.Date)
		case yankBefore(in.Yanked, b.Yanked):
			mut().Yanked = cloneYank(in.Yanked)
			change(ChangeYanked, "", "earlier yank kept: "+in.Yanked.Reason)
		}
	}

	for _, f := range in.Forced {
		cur := b.Forced
		if e != nil {
			cur = e.Forced
		}
		if !slices.ContainsFunc(cur, func(g schema.ForcedChange) bool { return sameForced(f, g) }) {
			x := mut()
			x.Forced = append(x.Forced, cloneForced(f))
			change(ChangeRecorded, f.Platform, f.OldChecksum+" → "+f.NewChecksum)
			m.times = append(m.times, f.Date)
		}
	}
	if e != nil && len(e.Forced) != len(b.Forced) {
		slices.SortStableFunc(e.Forced, compareForced)
	}

	for _, k := range sortedKeys(in.Extra) {
		bv, ok := b.Extra[k]
		switch {
		case !ok:
			x := mut()
			if x.Extra == nil {
				x.Extra = map[string]json.RawMessage{}
			}
			x.Extra[k] = in.Extra[k]
			change(ChangeExtra, "", k)
		case !jsonEqual(bv, in.Extra[k]):
			if differ("", k, string(bv), string(in.Extra[k])) {
				mut().Extra[k] = in.Extra[k]
			}
		}
	}
	if e == nil {
		return b
	}
	return e
}

// force settles a differing checksum: under Force it is replaced (the
// caller records it), otherwise it is a conflict.
func (m *merger) force(platform, existing, incoming string, conflict func(platform, field, existing, incoming string), change func(ChangeKind, string, string)) bool {
	if !m.opts.Force {
		conflict(platform, "checksum", existing, incoming)
		return false
	}
	change(ChangeForced, platform, existing+" → "+incoming)
	return true
}

func (m *merger) forcedRecord(platform, old, new string) schema.ForcedChange {
	date := formatNonZero(m.opts.Now)
	if date == "" {
		date = FormatTime(time.Now())
	}
	m.times = append(m.times, date)
	return schema.ForcedChange{Date: date, Platform: platform, OldChecksum: old, NewChecksum: new}
}

// artifact merges one platform's artifact; it returns ba when unchanged.
func (m *merger) artifact(p string, ba, ia *schema.Artifact,
	conflict func(platform, field, existing, incoming string),
	change func(ChangeKind, string, string),
	differ func(platform, field, existing, incoming string) bool,
) *schema.Artifact {
	var a *schema.Artifact
	mut := func() *schema.Artifact {
		if a == nil {
			a = cloneArtifact(ba)
		}
		return a
	}
	if ia.Checksum != ba.Checksum {
		if m.force(p, ba.Checksum, ia.Checksum, conflict, change) {
			return cloneArtifact(ia)
		}
		return ba
	}
	if ia.DownloadURL != "" && ia.DownloadURL != ba.DownloadURL && differ(p, "download_url", ba.DownloadURL, ia.DownloadURL) {
		mut().DownloadURL = ia.DownloadURL
	}
	if ia.Size != ba.Size && differ(p, "size", fmt.Sprint(ba.Size), fmt.Sprint(ia.Size)) {
		mut().Size = ia.Size
	}
	fill := func(field string, bv, iv int64, set func(*schema.Artifact)) {
		switch {
		case iv == 0 || iv == bv:
		case bv == 0:
			set(mut())
			change(ChangeFilled, p, field)
		case differ(p, field, fmt.Sprint(bv), fmt.Sprint(iv)):
			set(mut())
		}
	}
	fill("unpacked_size", ba.UnpackedSize, ia.UnpackedSize, func(x *schema.Artifact) { x.UnpackedSize = ia.UnpackedSize })
	fill("entries", ba.Entries, ia.Entries, func(x *schema.Artifact) { x.Entries = ia.Entries })
	// The SBOM and the Sigstore bundle describe the artifact: a re-run that
	// brings one the registry lacks fills it; a different one is a
	// conflict (replaced under Force), compared by checksum.
	side := func(field string, bv, iv *schema.Artifact, set func(*schema.Artifact, *schema.Artifact)) {
		switch {
		case iv == nil || bv != nil && bv.Checksum == iv.Checksum:
		case bv == nil:
			set(mut(), cloneArtifact(iv))
			change(ChangeFilled, p, field)
		case differ(p, field, bv.Checksum, iv.Checksum):
			set(mut(), cloneArtifact(iv))
		}
	}
	side("sbom", ba.SBOM, ia.SBOM, func(x, v *schema.Artifact) { x.SBOM = v })
	side("attestation", ba.Attestation, ia.Attestation, func(x, v *schema.Artifact) { x.Attestation = v })
	for _, k := range sortedKeys(ia.Extra) {
		bv, ok := ba.Extra[k]
		switch {
		case !ok:
			x := mut()
			if x.Extra == nil {
				x.Extra = map[string]json.RawMessage{}
			}
			x.Extra[k] = ia.Extra[k]
			change(ChangeExtra, p, k)
		case !jsonEqual(bv, ia.Extra[k]):
			if differ(p, k, string(bv), string(ia.Extra[k])) {
				mut().Extra[k] = ia.Extra[k]
			}
		}
	}
	if a == nil {
		return ba
	}
	return a
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func yankBefore(a, b *schema.Yank) bool {
	ta, tb := parseTime(a.Date), parseTime(b.Date)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Reason < b.Reason
}

func sameForced(a, b schema.ForcedChange) bool {
	return a.Date == b.Date && a.Platform == b.Platform && a.OldChecksum == b.OldChecksum && a.NewChecksum == b.NewChecksum
}

func compareForced(a, b schema.ForcedChange) int {
	if c := parseTime(a.Date).Compare(parseTime(b.Date)); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.OldChecksum, b.OldChecksum), cmp.Compare(a.NewChecksum, b.NewChecksum))
}

// latest returns the latest of RFC 3339 times, ignoring empty and invalid
// ones; "" when there is none.
func latest(times ...string) string {
	var best string
	var bt time.Time
	for _, s := range times {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			continue
		}
		if best == "" || t.After(bt) {
			best, bt = s, t
		}
	}
	return best
}

func formatNonZero(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatTime(t)
}

func cloneEntry(e *schema.RegistryEntry) *schema.RegistryEntry {
	c := *e
	c.Platforms = slices.Clone(e.Platforms)
	c.Artifacts = maps.Clone(e.Artifacts)
	c.Forced = slices.Clone(e.Forced)
	c.Extra = maps.Clone(e.Extra)
	c.Yanked = cloneYank(e.Yanked)
	return &c
}

func cloneArtifact(a *schema.Artifact) *schema.Artifact {
	c := *a
	c.Extra = maps.Clone(a.Extra)
	return &c
}

func cloneYank(y *schema.Yank) *schema.Yank {
	if y == nil {
		return nil
	}
	c := *y
	c.Extra = maps.Clone(y.Extra)
	return &c
}

func cloneForced(f schema.ForcedChange) schema.ForcedChange {
	f.Extra = maps.Clone(f.Extra)
	return f
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
