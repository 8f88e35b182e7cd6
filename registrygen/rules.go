package registrygen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/joblet/rtool/schema"
)

// Limits on registry.json that every reader applies (Load, Parse and the
// documents built from them: registry verify, merge, add, yank, diff,
// release and the consumer's registry fetch), so that what one accepts
// the others accept. A violation is an error at file:line:column.
const (
	// MaxRegistrySize is the largest registry.json read or written; a
	// merge whose result would be larger is refused.
	MaxRegistrySize = 64 << 20
	// MaxDepth bounds how deeply objects and arrays nest, counted from
	// the registry object (a version entry's artifact is 6 levels deep, so
	// unknown keys keep more than 20 levels). Canonical output indents
	// every level, so deep nesting would make the written file grow with
	// the square of its depth.
	MaxDepth = 32
	// MaxKeyBytes bounds a member name (runtime names, version keys and
	// unknown keys).
	MaxKeyBytes = 256
	// MaxStringBytes bounds a string value (descriptions, URLs, unknown
	// values), counted as it is written in the file.
	MaxStringBytes = 16 << 10
)

// Check applies the rules that every reader of a registry shares and
// returns every problem found (at most maxErrors), each with the jq-style
// path of the value but no line and column (Load and Parse add those; so
// does Verify with a Document). Load and Parse refuse a registry with
// problems, and so Verify, Merge and the consumer agree on it. An entry
// still waiting for its top-level download (see Pending) is accepted
// here: merging fragments completes it; only Verify refuses to let it be
// published.
//
// The rules: format version "1"; updated_at and every other time RFC 3339
// UTC; valid runtime names and version keys, each entry's version equal
// to its key; platforms valid and listed once; every download (the
// top-level one, each artifact, the source package) with an absolute
// http(s) URL or a path relative to the registry, a sha256 checksum and a
// size above 0 (no .tar.gz is empty); artifacts only for listed
// platforms, no negative unpacked_size or entries; a yank with a reason
// and a date; forced records with valid times, checksums and a platform
// that has something to replace.
func Check(r *schema.Registry) Errors {
	errs, more := check(r, false, "")
	return withMore(errs, "", more)
}

// check applies the rules (publishable: Verify's too) and returns the
// first maxErrors problems and how many more there were.
func check(r *schema.Registry, publishable bool, source string) (errs Errors, more int) {
	checkRegistry(r, publishable, func(path, format string, a ...any) {
		if len(errs) >= maxErrors {
			more++
			return
		}
		errs = append(errs, &Error{Source: source, Path: path, Msg: fmt.Sprintf(format, a...)})
	})
	return errs, more
}

// withMore appends "and N more problems" when more > 0.
func withMore(errs Errors, source string, more int) Errors {
	if more > 0 {
		errs = append(errs, &Error{Source: source, Msg: fmt.Sprintf("and %d more problems", more)})
	}
	return errs
}

// CheckDownload checks one download's fields: the URL (CheckURL), the
// checksum format and a size above zero. The consumer checks the
// download it picked with it.
func CheckDownload(u, checksum string, size int64) error {
	var first error
	c := &checker{problem: func(_, format string, a ...any) {
		if first == nil {
			first = fmt.Errorf(format, a...)
		}
	}}
	c.download(u, checksum, size, "", "")
	return first
}

// report records one problem at a jq-style path.
type report func(path, format string, a ...any)

// checkRegistry applies Check's rules; with publishable it also reports
// entries still waiting for their top-level download (Verify). A first
// pass over the maps as they are, without building a path, looks for any
// problem; only when there is one does a second pass, in sorted order,
// report them with their paths, so a clean registry of 100,000 versions
// costs little. Both passes run the same rules.
func checkRegistry(r *schema.Registry, publishable bool, problem report) {
	probe := &checker{probe: true}
	probe.registry(r, publishable, true)
	if probe.found {
		(&checker{problem: problem}).registry(r, publishable, true)
	}
}

// checkRuntimes is checkRegistry without the registry's own version and
// updated_at, which Merge fills in.
func checkRuntimes(r *schema.Registry) Errors {
	var errs Errors
	probe := &checker{probe: true}
	probe.registry(r, false, false)
	if probe.found {
		(&checker{problem: func(path, format string, a ...any) {
			errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, a...)})
		}}).registry(r, false, false)
	}
	return capErrors(errs)
}

// checkEntries checks the given runtimes (Version "") and versions of r
// (Merge's changes).
func checkEntries(r *schema.Registry, refs []Ref) Errors {
	var errs Errors
	c := &checker{problem: func(path, format string, a ...any) {
		errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, a...)})
	}}
	named := map[string]bool{}
	for _, ref := range refs {
		if !named[ref.Name] {
			named[ref.Name] = true
			if err := schema.CheckName(ref.Name); err != nil {
				c.report(func() string { return jsonPath("runtimes", ref.Name) }, "%v", err)
			}
		}
		if ref.Version != "" {
			c.name, c.ver = ref.Name, ref.Version
			c.entry(r.Runtimes[ref.Name][ref.Version], false)
		}
	}
	return capErrors(errs)
}

// capErrors keeps maxErrors problems and says how many more there were.
func capErrors(errs Errors) Errors {
	if len(errs) <= maxErrors {
		return errs
	}
	return withMore(errs[:maxErrors], "", len(errs)-maxErrors)
}

// checker runs the rules; with probe it only notes that a problem exists.
type checker struct {
	probe   bool
	found   bool
	problem report
	// the entry being checked, for paths
	name, ver string
	scratch   []string // see keys
}

func (c *checker) report(path func() string, format string, a ...any) {
	c.found = true
	if !c.probe {
		c.problem(path(), format, a...)
	}
}

// keys returns m's keys: sorted when reporting, as they come when probing
// (in a buffer reused until the next call).
func keys[V any](c *checker, m map[string]V) []string {
	if !c.probe {
		return sortedKeys(m)
	}
	c.scratch = c.scratch[:0]
	for k := range m {
		c.scratch = append(c.scratch, k)
	}
	return c.scratch
}

func (c *checker) registry(r *schema.Registry, publishable, top bool) {
	if top && r.Version != schema.RegistryFormatVersion {
		c.report(func() string { return jsonPath("version") }, "registry format version is %q; Joblet reads only %q", r.Version, schema.RegistryFormatVersion)
	}
	if top {
		if err := CheckTime(r.UpdatedAt); err != nil {
			c.report(func() string { return jsonPath("updated_at") }, "%v", err)
		}
	}
	for name, versions := range r.Runtimes {
		if c.probe {
			c.runtime(name, versions, publishable)
			if c.found {
				return
			}
		}
	}
	if !c.probe {
		for _, name := range sortedKeys(r.Runtimes) {
			c.runtime(name, r.Runtimes[name], publishable)
		}
	}
}

func (c *checker) runtime(name string, versions map[string]*schema.RegistryEntry, publishable bool) {
	if err := schema.CheckName(name); err != nil {
		c.report(func() string { return jsonPath("runtimes", name) }, "%v", err)
	}
	c.name = name
	if c.probe {
		for ver, e := range versions {
			c.ver = ver
			c.entry(e, publishable)
		}
		return
	}
	for _, ver := range schema.SortedVersions(versions) {
		c.ver = ver
		c.entry(versions[ver], publishable)
	}
}

// at is a path inside the current entry.
func (c *checker) at(keys ...string) string {
	return jsonPath("runtimes", c.name, c.ver) + jsonPath(keys...)
}

// entry applies the rules to one version entry.
func (c *checker) entry(e *schema.RegistryEntry, publishable bool) {
	ver := c.ver
	if !plainVersion(ver) {
		if err := schema.CheckVersion(ver); err != nil {
			c.report(func() string { return c.at() }, "version key: %v", err)
		}
	}
	if e == nil {
		c.report(func() string { return c.at() }, "version entry is null")
		return
	}
	if e.Version != ver {
		c.report(func() string { return c.at("version") }, "entry says version %q but is listed under %q", e.Version, ver)
	}
	for i, p := range e.Platforms {
		if err := checkPlatform(p); err != nil {
			c.report(c.index("platforms", i), "%v", err)
		} else if slices.Contains(e.Platforms[:i], p) {
			c.report(c.index("platforms", i), "platform %s is listed twice", p)
		}
	}
	if e.Checksum == "" && len(e.Artifacts) > 0 {
		// Pending: per-platform fragments merged without the primary
		// platform's, which fills the top-level download.
		if publishable {
			primary := "the first of platforms"
			if len(e.Platforms) > 0 {
				primary = e.Platforms[0]
			}
			c.report(func() string { return c.at() }, "no top-level download yet (Joblet installs from download_url): merge the fragment with the %s artifact", primary)
		}
	} else {
		c.download(e.DownloadURL, e.Checksum, e.Size, "", "")
		if publishable {
			if p, primary, wrong := topLevelIsOtherPlatform(e); wrong {
				c.report(func() string { return c.at("checksum") }, "the top-level download is the %s artifact, but the primary platform is %s: every Joblet node (which reads only the top level) would install the %s build; point download_url, checksum and size at the %s artifact",
					p, primary, p, primary)
			}
		}
	}
	if e.ReleasedAt != "" {
		if err := CheckTime(e.ReleasedAt); err != nil {
			c.report(func() string { return c.at("released_at") }, "%v", err)
		}
	}
	if sp := e.SourcePackage; sp != nil {
		c.download(sp.DownloadURL, sp.Checksum, sp.Size, schema.SourcePackageForced, "")
	}
	for _, p := range keys(c, e.Artifacts) {
		a := e.Artifacts[p]
		if a == nil {
			c.report(func() string { return c.at("artifacts", p) }, "artifact is null")
			continue
		}
		if err := checkPlatform(p); err != nil {
			c.report(func() string { return c.at("artifacts", p) }, "%v", err)
		} else if !slices.Contains(e.Platforms, p) {
			c.report(func() string { return c.at("artifacts", p) }, "artifact for %s, which is not in the entry's platforms %v; add it there or drop the artifact", p, e.Platforms)
		}
		c.download(a.DownloadURL, a.Checksum, a.Size, "artifacts", p)
		if a.UnpackedSize < 0 {
			c.report(func() string { return c.at("artifacts", p, "unpacked_size") }, "unpacked_size %d is negative", a.UnpackedSize)
		}
		if a.Entries < 0 {
			c.report(func() string { return c.at("artifacts", p, "entries") }, "entries %d is negative", a.Entries)
		}
	}
	if y := e.Yanked; y != nil {
		if y.Reason == "" {
			c.report(func() string { return c.at("yanked", "reason") }, "a yank needs a reason")
		}
		if err := CheckTime(y.Date); err != nil {
			c.report(func() string { return c.at("yanked", "date") }, "%v", err)
		}
	}
	for i, f := range e.Forced {
		if err := CheckTime(f.Date); err != nil {
			c.report(c.index("forced", i), "%v", err)
		}
		for _, sum := range [2]string{f.OldChecksum, f.NewChecksum} {
			if err := schema.CheckChecksum(sum); err != nil {
				c.report(c.index("forced", i), "%v", err)
			}
		}
		if f.Platform == schema.SourcePackageForced {
			if e.SourcePackage == nil {
				c.report(c.index("forced", i), "forced change of the source package, but the entry has no source_package")
			}
		} else if f.Platform != "" && e.Artifacts[f.Platform] == nil {
			c.report(c.index("forced", i), "forced change for platform %s, which has no artifact", f.Platform)
		}
	}
}

// index is the path of list[i] inside the current entry.
func (c *checker) index(list string, i int) func() string {
	return func() string { return c.at(list) + fmt.Sprintf("[%d]", i) }
}

// download checks one download's URL, checksum and size fields; k1 and k2
// (when not "") are its keys inside the entry.
func (c *checker) download(u, checksum string, size int64, k1, k2 string) {
	at := func(field string) func() string {
		return func() string {
			keys := []string{}
			for _, k := range []string{k1, k2} {
				if k != "" {
					keys = append(keys, k)
				}
			}
			return c.at(append(keys, field)...)
		}
	}
	if err := schema.CheckChecksum(checksum); err != nil {
		c.report(at("checksum"), "%v", err)
	}
	if !plainURL(u) {
		if err := CheckURL(u); err != nil {
			c.report(at("download_url"), "%v", err)
		}
	}
	switch {
	case size < 0:
		c.report(at("size"), "size %d is negative; it must be the file's byte count", size)
	case size == 0:
		c.report(at("size"), "size is 0, but no .tar.gz is empty; it must be the file's byte count (rtool registry add measures it)")
	}
}

// plainVersion reports whether v is MAJOR.MINOR.PATCH without leading
// zeros, which schema.CheckVersion accepts, without a regular expression.
func plainVersion(v string) bool {
	part, digits := 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			if digits == 1 && v[i-1] == '0' {
				return false
			}
			digits++
		case c == '.' && digits > 0 && part < 2:
			part, digits = part+1, 0
		default:
			return false
		}
	}
	return part == 2 && digits > 0
}

// checkPlatform is schema.ParsePlatform's verdict, quick for the known
// platforms.
func checkPlatform(p string) error {
	if os, arch, ok := strings.Cut(p, "-"); ok && slices.Contains(schema.KnownOS, os) && slices.Contains(schema.KnownArch, arch) {
		return nil
	}
	_, err := schema.ParsePlatform(p)
	return err
}

// plainURL reports whether u is a URL that CheckURL accepts, written
// plainly enough to tell without parsing it: http(s)://HOST[:PORT]/PATH
// (HOST lowercase letters, digits, '-' and '.') or a relative PATH not
// starting with '/', PATH made of letters, digits and -._~/@+ only.
// Anything else goes through CheckURL.
func plainURL(u string) bool {
	rest := u
	host := false
	if r, ok := strings.CutPrefix(u, "https://"); ok {
		rest, host = r, true
	} else if r, ok := strings.CutPrefix(u, "http://"); ok {
		rest, host = r, true
	}
	if host {
		h, path, _ := strings.Cut(rest, "/")
		name, port, hasPort := strings.Cut(h, ":")
		if name == "" || hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
			return false
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return false
			}
		}
		rest = path
	} else if rest == "" || rest[0] == '/' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '@' || c == '+') {
			return false
		}
	}
	return true
}

// topLevelIsOtherPlatform reports whether e's top-level download is the
// artifact of a platform other than its primary one (the first of
// platforms), which would send that build to every Joblet node.
func topLevelIsOtherPlatform(e *schema.RegistryEntry) (platform, primary string, wrong bool) {
	if len(e.Platforms) == 0 || e.Checksum == "" {
		return "", "", false
	}
	primary = e.Platforms[0]
	if a := e.Artifacts[primary]; a != nil && a.Checksum == e.Checksum {
		return "", primary, false
	}
	for _, p := range sortedKeys(e.Artifacts) {
		if a := e.Artifacts[p]; a != nil && p != primary && a.Checksum == e.Checksum {
			return p, primary, true
		}
	}
	return "", primary, false
}
