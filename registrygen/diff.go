package registrygen

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/joblet/rtool/schema"
)

// Ref names a version, or one platform's artifact of a version.
type Ref struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

func (r Ref) String() string {
	s := r.Name + "@" + r.Version
	if r.Platform != "" {
		s += " [" + r.Platform + "]"
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

// FieldChange is one field of a version (or of one platform's artifact)
// that differs between two registries.
type FieldChange struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform,omitempty"`
	Field    string `json:"field"`
	Old      string `json:"old"`
	New      string `json:"new"`
	// Forced is set for a checksum change recorded in the entry's forced list.
	Forced bool `json:"forced,omitempty"`
}

func (c FieldChange) String() string {
	s := c.Name + "@" + c.Version
	if c.Platform != "" {
		s += " [" + c.Platform + "]"
	}
	s += fmt.Sprintf(" %s: %s → %s", c.Field, c.Old, c.New)
	if c.Forced {
		s += " (forced, recorded)"
	}
	return s
}

// DiffResult is what changed from one registry to another.
type DiffResult struct {
	Added   []Ref         `json:"added"`   // new versions, and new artifacts of existing versions
	Yanked  []Ref         `json:"yanked"`  // versions yanked since (Detail: reason)
	Lost    []Ref         `json:"lost"`    // versions or artifacts that disappeared
	Changed []FieldChange `json:"changed"` // fields that differ, checksums included
}

// Empty reports whether the registries have the same versions and fields.
func (d DiffResult) Empty() bool {
	return len(d.Added)+len(d.Yanked)+len(d.Lost)+len(d.Changed) == 0
}

// Diff compares two registries version by version and artifact by
// artifact. Registry-level fields (updated_at, unknown keys) are ignored.
func Diff(old, new *schema.Registry) DiffResult {
	d := DiffResult{Added: []Ref{}, Yanked: []Ref{}, Lost: []Ref{}, Changed: []FieldChange{}}
	names := sortedKeys(old.Runtimes)
	for _, n := range sortedKeys(new.Runtimes) {
		if _, ok := old.Runtimes[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		ov, nv := old.Runtimes[name], new.Runtimes[name]
		versions := schema.SortedVersions(ov)
		for _, v := range schema.SortedVersions(nv) {
			if _, ok := ov[v]; !ok {
				versions = append(versions, v)
			}
		}
		schema.SortVersionStrings(versions)
		for _, v := range versions {
			oe, ne := ov[v], nv[v]
			switch {
			case oe == nil && ne == nil:
			case oe == nil:
				d.Added = append(d.Added, Ref{Name: name, Version: v})
				if ne.Yanked != nil {
					d.Yanked = append(d.Yanked, Ref{Name: name, Version: v, Detail: ne.Yanked.Reason})
				}
			case ne == nil:
				d.Lost = append(d.Lost, Ref{Name: name, Version: v})
			default:
				d.entry(name, v, oe, ne)
			}
		}
	}
	return d
}

func (d *DiffResult) entry(name, v string, oe, ne *schema.RegistryEntry) {
	field := func(platform, f, o, n string, forced bool) {
		if o != n {
			d.Changed = append(d.Changed, FieldChange{Name: name, Version: v, Platform: platform, Field: f, Old: o, New: n, Forced: forced})
		}
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	field("", "checksum", oe.Checksum, ne.Checksum, forcedPath(ne.Forced, "", oe.Checksum, ne.Checksum))
	field("", "download_url", oe.DownloadURL, ne.DownloadURL, false)
	field("", "size", i64(oe.Size), i64(ne.Size), false)
	field("", "description", oe.Description, ne.Description, false)
	field("", "platforms", strings.Join(oe.Platforms, ","), strings.Join(ne.Platforms, ","), false)
	field("", "released_at", oe.ReleasedAt, ne.ReleasedAt, false)
	switch {
	case oe.Yanked == nil && ne.Yanked != nil:
		d.Yanked = append(d.Yanked, Ref{Name: name, Version: v, Detail: ne.Yanked.Reason})
	case oe.Yanked != nil && ne.Yanked == nil:
		field("", "yanked", oe.Yanked.Reason, "", false)
	}
	switch os, ns := oe.SourcePackage, ne.SourcePackage; {
	case os == nil && ns == nil:
	case os == nil:
		d.Added = append(d.Added, Ref{Name: name, Version: v, Platform: schema.SourcePackageForced})
	case ns == nil:
		d.Lost = append(d.Lost, Ref{Name: name, Version: v, Platform: schema.SourcePackageForced})
	default:
		const p = schema.SourcePackageForced
		field(p, "checksum", os.Checksum, ns.Checksum, forcedPath(ne.Forced, p, os.Checksum, ns.Checksum))
		field(p, "download_url", os.DownloadURL, ns.DownloadURL, false)
		field(p, "size", i64(os.Size), i64(ns.Size), false)
	}
	platforms := sortedKeys(oe.Artifacts)
	for _, p := range sortedKeys(ne.Artifacts) {
		if _, ok := oe.Artifacts[p]; !ok {
			platforms = append(platforms, p)
		}
	}
	slices.Sort(platforms)
	for _, p := range platforms {
		oa, na := oe.Artifacts[p], ne.Artifacts[p]
		switch {
		case oa == nil && na == nil:
		case oa == nil:
			d.Added = append(d.Added, Ref{Name: name, Version: v, Platform: p})
		case na == nil:
			d.Lost = append(d.Lost, Ref{Name: name, Version: v, Platform: p})
		default:
			field(p, "checksum", oa.Checksum, na.Checksum, forcedPath(ne.Forced, p, oa.Checksum, na.Checksum))
			field(p, "download_url", oa.DownloadURL, na.DownloadURL, false)
			field(p, "size", i64(oa.Size), i64(na.Size), false)
			field(p, "unpacked_size", i64(oa.UnpackedSize), i64(na.UnpackedSize), false)
			field(p, "entries", i64(oa.Entries), i64(na.Entries), false)
		}
	}
}

// WriteText writes d for people: one line per item, prefixed "+" added,
// "-" lost, "!" yanked, "~" changed; "no differences" when empty.
func (d DiffResult) WriteText(w io.Writer) error {
	var b strings.Builder
	if d.Empty() {
		b.WriteString("no differences\n")
	}
	for _, r := range d.Added {
		fmt.Fprintf(&b, "+ added   %s\n", r)
	}
	for _, r := range d.Yanked {
		fmt.Fprintf(&b, "! yanked  %s\n", r)
	}
	for _, r := range d.Lost {
		fmt.Fprintf(&b, "- lost    %s\n", r)
	}
	for _, c := range d.Changed {
		fmt.Fprintf(&b, "~ changed %s\n", c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
