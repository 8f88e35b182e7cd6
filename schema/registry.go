package schema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// SourcePackageForced is the Platform of a ForcedChange that replaced the
// source package's checksum.
const SourcePackageForced = "source_package"

// RegistryFormatVersion is the only registry format version Joblet reads.
const RegistryFormatVersion = "1"

// ChecksumPrefix starts every checksum in registry.json.
const ChecksumPrefix = "sha256:"

// Registry is registry.json: runtime name → version → entry. Keys rtool
// does not know (upstream writes _comment, _generated_by, _workflow) are kept
// in Extra at every level and written back unchanged.
type Registry struct {
	Version   string                               `json:"version" jsonschema:"enum=1"`
	UpdatedAt string                               `json:"updated_at" jsonschema:"format=date-time"`
	Runtimes  map[string]map[string]*RegistryEntry `json:"runtimes"`
	Extra     map[string]json.RawMessage           `json:"-"`
}

// RegistryEntry is one released version of one runtime. The first six keys
// are upstream's; the rest are optional additions an older consumer ignores.
type RegistryEntry struct {
	Version     string   `json:"version"`
	Description string   `json:"description"`
	DownloadURL string   `json:"download_url" jsonschema:"format=uri"`
	Checksum    string   `json:"checksum" jsonschema:"pattern=^sha256:[0-9a-f]{64}$"`
	Size        int64    `json:"size" jsonschema:"minimum=0"`
	Platforms   []string `json:"platforms"`
	// ReleasedAt is set when the version is first merged and never rewritten.
	ReleasedAt string `json:"released_at,omitempty" jsonschema:"format=date-time"`
	// SourcePackage is upstream's platform-independent source package
	// (<name>-<version>.tar.gz, top-level <name>/, built on the node by its
	// setup.sh). rtool publishes it beside the artifacts and records it
	// here; the top-level download of a version rtool adds is always the
	// primary platform's prebuilt artifact, which is what Joblet installs.
	// Entries published before this key existed may still have the source
	// package as their top-level download: that is history and stays.
	SourcePackage *Artifact `json:"source_package,omitempty"`
	// Artifacts holds prebuilt per-platform tarballs, keyed by platform.
	Artifacts map[string]*Artifact `json:"artifacts,omitempty"`
	// Yanked marks a version withdrawn from @latest and ranges; it stays
	// installable by exact version.
	Yanked *Yank `json:"yanked,omitempty"`
	// Forced records every time a checksum was replaced with --force.
	Forced []ForcedChange             `json:"forced,omitempty"`
	Extra  map[string]json.RawMessage `json:"-"`
}

// Artifact is one published file: a prebuilt per-platform tarball, the
// source package, or a file published beside an artifact that describes it
// (its sbom or attestation; those use only download_url, checksum and size).
type Artifact struct {
	DownloadURL  string `json:"download_url" jsonschema:"format=uri"`
	Checksum     string `json:"checksum" jsonschema:"pattern=^sha256:[0-9a-f]{64}$"`
	Size         int64  `json:"size" jsonschema:"minimum=0"`
	UnpackedSize int64  `json:"unpacked_size,omitempty" jsonschema:"minimum=0"`
	Entries      int64  `json:"entries,omitempty" jsonschema:"minimum=0"`
	// SBOM is the artifact's SPDX 2.3 document (<artifact>.spdx.json, written
	// by rtool build), published beside it.
	SBOM *Artifact `json:"sbom,omitempty"`
	// Attestation is the artifact's Sigstore bundle (<artifact>.sigstore.json:
	// a GitHub artifact attestation of its SLSA build provenance), published
	// beside it by the release workflow.
	Attestation *Artifact                  `json:"attestation,omitempty"`
	Extra       map[string]json.RawMessage `json:"-"`
}

// Yank records why and when a version was withdrawn.
type Yank struct {
	Reason string                     `json:"reason"`
	Date   string                     `json:"date" jsonschema:"format=date-time"`
	Extra  map[string]json.RawMessage `json:"-"`
}

// ForcedChange records a checksum replaced with --force. Platform is empty
// for the top-level checksum, SourcePackageForced for the source package's,
// and the platform for an artifact's.
type ForcedChange struct {
	Date        string                     `json:"date" jsonschema:"format=date-time"`
	Platform    string                     `json:"platform,omitempty"`
	OldChecksum string                     `json:"old_checksum"`
	NewChecksum string                     `json:"new_checksum"`
	Extra       map[string]json.RawMessage `json:"-"`
}

var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// CheckChecksum verifies the sha256:<64 lowercase hex> format.
func CheckChecksum(s string) error {
	hex, ok := strings.CutPrefix(s, ChecksumPrefix)
	if !ok {
		return fmt.Errorf("checksum %q must start with %q", s, ChecksumPrefix)
	}
	if len(hex) != 64 {
		return fmt.Errorf("checksum %q must have 64 hex digits after %q, has %d", s, ChecksumPrefix, len(hex))
	}
	for i := 0; i < len(hex); i++ {
		if !lowerHex[hex[i]] {
			return fmt.Errorf("checksum %q must be lowercase hex after %q", s, ChecksumPrefix)
		}
	}
	return nil
}

// SortedVersions returns the version keys of one runtime in semantic
// version order (keys that are not semantic versions sort last, by text).
func SortedVersions(versions map[string]*RegistryEntry) []string {
	keys := make([]string, 0, len(versions))
	for k := range versions {
		keys = append(keys, k)
	}
	SortVersionStrings(keys)
	return keys
}

// SortVersionStrings sorts version strings in semantic version order;
// strings that do not parse sort last, by text. Equal versions (which differ
// only in build metadata) sort by text.
func SortVersionStrings(keys []string) {
	if len(keys) < 2 {
		return
	}
	ks := make([]versionKey, len(keys))
	for i, k := range keys {
		ks[i] = parseVersionKey(k)
	}
	// compareVersionKeys orders distinct strings totally (ties in
	// precedence fall back to the text), so an unstable sort is exact.
	slices.SortFunc(ks, compareVersionKeys)
	for i := range ks {
		keys[i] = ks[i].s
	}
}

// versionKey is a version string prepared for sorting: plain X.Y.Z (by far
// the most common) compares as three numbers without allocating; anything
// else goes through semver.
type versionKey struct {
	s     string
	plain bool
	num   [3]uint64
	sv    *semver.Version // nil when s is not a semantic version
}

func parseVersionKey(s string) versionKey {
	k := versionKey{s: s}
	if num, ok := parsePlainVersion(s); ok {
		k.plain, k.num = true, num
		return k
	}
	if v, err := semver.StrictNewVersion(s); err == nil {
		k.sv = v
		k.num = [3]uint64{v.Major(), v.Minor(), v.Patch()}
	}
	return k
}

// parsePlainVersion parses MAJOR.MINOR.PATCH without leading zeros,
// pre-release or build metadata.
func parsePlainVersion(s string) ([3]uint64, bool) {
	var num [3]uint64
	part := 0
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && s[i-1] == '0' || digits >= 18 {
				return num, false
			}
			num[part] = num[part]*10 + uint64(c-'0')
			digits++
		case c == '.' && digits > 0 && part < 2:
			part++
			digits = 0
		default:
			return num, false
		}
	}
	return num, part == 2 && digits > 0
}

func (k *versionKey) valid() bool { return k.plain || k.sv != nil }

func (k *versionKey) semver() *semver.Version {
	if k.sv == nil {
		k.sv = semver.New(k.num[0], k.num[1], k.num[2], "", "")
	}
	return k.sv
}

func compareVersionKeys(a, b versionKey) int {
	switch {
	case a.valid() && b.valid():
		if a.plain && b.plain {
			for i := range a.num {
				if c := cmp.Compare(a.num[i], b.num[i]); c != 0 {
					return c
				}
			}
		} else if c := a.semver().Compare(b.semver()); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	case a.valid():
		return -1
	case b.valid():
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// objectWriter writes a JSON object with keys in the order they are added,
// without HTML escaping, so output is canonical and byte-stable.
type objectWriter struct {
	buf   bytes.Buffer
	n     int
	first error
}

func newObject() *objectWriter {
	w := &objectWriter{}
	w.buf.WriteByte('{')
	return w
}

func (w *objectWriter) raw(key string, value []byte) {
	if w.n > 0 {
		w.buf.WriteByte(',')
	}
	w.n++
	w.buf.Write(encodeNoEscape(key, &w.first))
	w.buf.WriteByte(':')
	w.buf.Write(value)
}

func (w *objectWriter) field(key string, v any) {
	w.raw(key, encodeNoEscape(v, &w.first))
}

func (w *objectWriter) extras(extra map[string]json.RawMessage) {
	for _, k := range sortedKeys(extra) {
		w.raw(k, extra[k])
	}
}

func (w *objectWriter) done() ([]byte, error) {
	w.buf.WriteByte('}')
	return w.buf.Bytes(), w.first
}

func encodeNoEscape(v any, firstErr *error) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil && *firstErr == nil {
		*firstErr = err
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// MarshalJSON writes the registry canonically: extra keys first (sorted),
// then version, updated_at and runtimes sorted by name, versions in
// semantic version order.
func (r *Registry) MarshalJSON() ([]byte, error) {
	w := newObject()
	w.extras(r.Extra)
	w.field("version", r.Version)
	w.field("updated_at", r.UpdatedAt)
	rt := newObject()
	for _, name := range sortedKeys(r.Runtimes) {
		vo := newObject()
		versions := r.Runtimes[name]
		for _, v := range SortedVersions(versions) {
			vo.field(v, versions[v])
		}
		b, err := vo.done()
		if err != nil {
			return nil, err
		}
		rt.raw(name, b)
	}
	b, err := rt.done()
	if err != nil {
		return nil, err
	}
	w.raw("runtimes", b)
	return w.done()
}

// MarshalJSON writes upstream's keys first, then rtool's, then extras.
func (e *RegistryEntry) MarshalJSON() ([]byte, error) {
	w := newObject()
	w.field("version", e.Version)
	w.field("description", e.Description)
	w.field("download_url", e.DownloadURL)
	w.field("checksum", e.Checksum)
	w.field("size", e.Size)
	platforms := e.Platforms
	if platforms == nil {
		platforms = []string{}
	}
	w.field("platforms", platforms)
	if e.ReleasedAt != "" {
		w.field("released_at", e.ReleasedAt)
	}
	if e.SourcePackage != nil {
		w.field("source_package", e.SourcePackage)
	}
	if len(e.Artifacts) > 0 {
		ao := newObject()
		for _, p := range sortedKeys(e.Artifacts) {
			ao.field(p, e.Artifacts[p])
		}
		b, err := ao.done()
		if err != nil {
			return nil, err
		}
		w.raw("artifacts", b)
	}
	if e.Yanked != nil {
		w.field("yanked", e.Yanked)
	}
	if len(e.Forced) > 0 {
		w.field("forced", e.Forced)
	}
	w.extras(e.Extra)
	return w.done()
}

// MarshalJSON writes an artifact's known keys, then its extras.
func (a *Artifact) MarshalJSON() ([]byte, error) {
	w := newObject()
	w.field("download_url", a.DownloadURL)
	w.field("checksum", a.Checksum)
	w.field("size", a.Size)
	if a.UnpackedSize != 0 {
		w.field("unpacked_size", a.UnpackedSize)
	}
	if a.Entries != 0 {
		w.field("entries", a.Entries)
	}
	if a.SBOM != nil {
		w.field("sbom", a.SBOM)
	}
	if a.Attestation != nil {
		w.field("attestation", a.Attestation)
	}
	w.extras(a.Extra)
	return w.done()
}

// MarshalJSON writes reason and date, then extras.
func (y *Yank) MarshalJSON() ([]byte, error) {
	w := newObject()
	w.field("reason", y.Reason)
	w.field("date", y.Date)
	w.extras(y.Extra)
	return w.done()
}

// MarshalJSON writes the known keys in declaration order, then extras.
func (f ForcedChange) MarshalJSON() ([]byte, error) {
	w := newObject()
	w.field("date", f.Date)
	if f.Platform != "" {
		w.field("platform", f.Platform)
	}
	w.field("old_checksum", f.OldChecksum)
	w.field("new_checksum", f.NewChecksum)
	w.extras(f.Extra)
	return w.done()
}

// UnmarshalJSON reads a yank, keeping unknown keys.
func (y *Yank) UnmarshalJSON(data []byte) error {
	type plain Yank
	var p plain
	extra, err := splitKnown(data, &p, "reason", "date")
	if err != nil {
		return err
	}
	*y = Yank(p)
	y.Extra = extra
	return nil
}

// UnmarshalJSON reads a forced change, keeping unknown keys.
func (f *ForcedChange) UnmarshalJSON(data []byte) error {
	type plain ForcedChange
	var p plain
	extra, err := splitKnown(data, &p, "date", "platform", "old_checksum", "new_checksum")
	if err != nil {
		return err
	}
	*f = ForcedChange(p)
	f.Extra = extra
	return nil
}

// splitKnown decodes data as an object, decodes the known keys into dst
// (a pointer to a struct alias without custom methods) and returns the rest.
func splitKnown(data []byte, dst any, known ...string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	if all == nil {
		return nil, fmt.Errorf("expected an object, got null")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// UnmarshalJSON reads the registry, keeping unknown keys.
func (r *Registry) UnmarshalJSON(data []byte) error {
	type plain Registry
	var p plain
	extra, err := splitKnown(data, &p, "version", "updated_at", "runtimes")
	if err != nil {
		return err
	}
	*r = Registry(p)
	r.Extra = extra
	return nil
}

// UnmarshalJSON reads one version entry, keeping unknown keys.
func (e *RegistryEntry) UnmarshalJSON(data []byte) error {
	type plain RegistryEntry
	var p plain
	extra, err := splitKnown(data, &p, "version", "description", "download_url", "checksum", "size",
		"platforms", "released_at", "source_package", "artifacts", "yanked", "forced")
	if err != nil {
		return err
	}
	*e = RegistryEntry(p)
	e.Extra = extra
	return nil
}

// UnmarshalJSON reads one artifact, keeping unknown keys.
func (a *Artifact) UnmarshalJSON(data []byte) error {
	type plain Artifact
	var p plain
	extra, err := splitKnown(data, &p, "download_url", "checksum", "size", "unpacked_size", "entries", "sbom", "attestation")
	if err != nil {
		return err
	}
	*a = Artifact(p)
	a.Extra = extra
	return nil
}

// ParseRegistry decodes registry.json. It checks JSON types only; package
// registrygen adds locations and consistency checks.
func ParseRegistry(data []byte) (*Registry, error) {
	var r Registry
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.Runtimes == nil {
		r.Runtimes = map[string]map[string]*RegistryEntry{}
	}
	return &r, nil
}

// EncodeRegistry returns the canonical bytes of r: two-space indent and a
// trailing newline, so re-running on the same content is byte-identical.
// The bytes equal json.Indent of r.MarshalJSON() plus a newline; they are
// written directly because indenting a whole large document afterwards
// costs as much again as encoding it.
func EncodeRegistry(r *Registry) ([]byte, error) {
	return AppendRegistry(nil, r)
}

// AppendRegistry appends the canonical bytes of r (see EncodeRegistry) to
// dst, so a caller that knows the expected size can allocate once.
func AppendRegistry(dst []byte, r *Registry) ([]byte, error) {
	e := &indentEncoder{b: dst}
	e.open('{')
	e.extras(1, r.Extra)
	e.key(1, "version")
	e.str(r.Version)
	e.key(1, "updated_at")
	e.str(r.UpdatedAt)
	e.key(1, "runtimes")
	names := sortedKeys(r.Runtimes)
	if len(names) == 0 {
		e.b = append(e.b, "{}"...)
	} else {
		e.open('{')
		groups := splitRuntimes(r, names)
		if len(groups) == 1 {
			e.runtimes(r, names)
		} else {
			// Large registries: later groups of runtimes are encoded on
			// other goroutines while this one encodes the first group
			// straight into dst; the bytes are the same as in one pass.
			spare := cap(e.b) - len(e.b)
			total := countEntries(r, names)
			chunks := make([]*indentEncoder, len(groups))
			var wg sync.WaitGroup
			for i := 1; i < len(groups); i++ {
				ce := &indentEncoder{b: make([]byte, 0, spare/total*countEntries(r, groups[i]))}
				ce.n = append(ce.fixed[:0], 1) // inside the runtimes object, after the first group
				chunks[i] = ce
				wg.Go(func() { ce.runtimes(r, groups[i]) })
			}
			e.runtimes(r, groups[0])
			wg.Wait()
			for _, ce := range chunks[1:] {
				e.b = append(e.b, ce.b...)
				if e.err == nil {
					e.err = ce.err
				}
			}
		}
		e.close(1, '}')
	}
	e.close(0, '}')
	e.b = append(e.b, '\n')
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// parallelEncodeEntries is the number of version entries from which
// AppendRegistry encodes groups of runtimes concurrently.
const parallelEncodeEntries = 20000

// splitRuntimes cuts the sorted runtime names into contiguous groups of
// about equal entry counts, one per CPU, or one group for small registries.
func splitRuntimes(r *Registry, names []string) [][]string {
	workers := runtime.GOMAXPROCS(0)
	total := countEntries(r, names)
	if workers < 2 || total < parallelEncodeEntries || len(names) < 2 {
		return [][]string{names}
	}
	workers = min(workers, len(names))
	groups := make([][]string, 0, workers)
	start, acc := 0, 0
	for i, name := range names {
		acc += len(r.Runtimes[name])
		if acc*workers >= total*(len(groups)+1) && len(groups) < workers-1 {
			groups = append(groups, names[start:i+1])
			start = i + 1
		}
	}
	if start < len(names) {
		groups = append(groups, names[start:])
	}
	return groups
}

func countEntries(r *Registry, names []string) int {
	n := 0
	for _, name := range names {
		n += len(r.Runtimes[name])
	}
	return max(n, 1)
}

// runtimes writes "name": {versions} members of the runtimes object.
func (e *indentEncoder) runtimes(r *Registry, names []string) {
	for _, name := range names {
		e.key(2, name)
		versions := r.Runtimes[name]
		if len(versions) == 0 {
			e.b = append(e.b, "{}"...)
			continue
		}
		e.open('{')
		for _, v := range SortedVersions(versions) {
			e.key(3, v)
			e.entry(4, versions[v])
		}
		e.close(2, '}')
	}
}

// indentEncoder writes JSON with two-space indentation exactly as
// json.Indent(prefix "", indent "  ") formats compact output.
type indentEncoder struct {
	b     []byte
	n     []int // members written so far in each open object or array
	err   error
	fixed [8]int
}

const indentSpaces = "                                                                "

func (e *indentEncoder) newline(depth int) {
	e.b = append(e.b, '\n')
	for n := 2 * depth; n > 0; {
		k := min(n, len(indentSpaces))
		e.b = append(e.b, indentSpaces[:k]...)
		n -= k
	}
}

func (e *indentEncoder) open(c byte) {
	if e.n == nil {
		e.n = e.fixed[:0]
	}
	e.b = append(e.b, c)
	e.n = append(e.n, 0)
}

// close ends the innermost object or array; depth is the closing bracket's.
func (e *indentEncoder) close(depth int, c byte) {
	if e.n[len(e.n)-1] > 0 {
		e.newline(depth)
	}
	e.n = e.n[:len(e.n)-1]
	e.b = append(e.b, c)
}

// elem starts a member of the innermost object or array at depth.
func (e *indentEncoder) elem(depth int) {
	top := &e.n[len(e.n)-1]
	if *top > 0 {
		e.b = append(e.b, ',')
	}
	*top++
	e.newline(depth)
}

func (e *indentEncoder) key(depth int, k string) {
	e.elem(depth)
	e.str(k)
	e.b = append(e.b, ':', ' ')
}

// plainPrefix returns the length of the longest prefix of s made of
// plainByte bytes, testing eight bytes at a time.
func plainPrefix(s string) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		quote, backslash := w^(lsb*'"'), w^(lsb*'\\')
		special := w | // a byte >= 0x80
			(w-lsb*0x20) & ^w | // a byte < 0x20
			(quote-lsb) & ^quote | // a '"'
			(backslash-lsb) & ^backslash // a '\\'
		if special&msb != 0 {
			break
		}
	}
	for ; i < len(s) && plainByte[s[i]]; i++ {
	}
	return i
}

// plainByte marks bytes encoding/json writes unescaped in every position.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str writes s as encoding/json does with HTML escaping off.
func (e *indentEncoder) str(s string) {
	if plainPrefix(s) < len(s) {
		e.b = append(e.b, encodeNoEscape(s, &e.err)...)
		return
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}

func (e *indentEncoder) int(v int64) { e.b = strconv.AppendInt(e.b, v, 10) }

// raw writes an unknown value re-indented at depth.
func (e *indentEncoder) raw(depth int, v json.RawMessage) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, strings.Repeat("  ", depth), "  "); err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.b = append(e.b, buf.Bytes()...)
}

func (e *indentEncoder) extras(depth int, extra map[string]json.RawMessage) {
	if len(extra) == 0 {
		return
	}
	for _, k := range sortedKeys(extra) {
		e.key(depth, k)
		e.raw(depth, extra[k])
	}
}

// entry writes one version entry whose members are at depth.
func (e *indentEncoder) entry(depth int, en *RegistryEntry) {
	if en == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.open('{')
	e.key(depth, "version")
	e.str(en.Version)
	e.key(depth, "description")
	e.str(en.Description)
	e.key(depth, "download_url")
	e.str(en.DownloadURL)
	e.key(depth, "checksum")
	e.str(en.Checksum)
	e.key(depth, "size")
	e.int(en.Size)
	e.key(depth, "platforms")
	if len(en.Platforms) == 0 {
		e.b = append(e.b, "[]"...)
	} else {
		e.open('[')
		for _, p := range en.Platforms {
			e.elem(depth + 1)
			e.str(p)
		}
		e.close(depth, ']')
	}
	if en.ReleasedAt != "" {
		e.key(depth, "released_at")
		e.str(en.ReleasedAt)
	}
	if en.SourcePackage != nil {
		e.key(depth, "source_package")
		e.artifact(depth+1, en.SourcePackage)
	}
	if len(en.Artifacts) > 0 {
		e.key(depth, "artifacts")
		e.open('{')
		for _, p := range sortedKeys(en.Artifacts) {
			e.key(depth+1, p)
			e.artifact(depth+2, en.Artifacts[p])
		}
		e.close(depth, '}')
	}
	if en.Yanked != nil {
		e.key(depth, "yanked")
		e.open('{')
		e.key(depth+1, "reason")
		e.str(en.Yanked.Reason)
		e.key(depth+1, "date")
		e.str(en.Yanked.Date)
		e.extras(depth+1, en.Yanked.Extra)
		e.close(depth, '}')
	}
	if len(en.Forced) > 0 {
		e.key(depth, "forced")
		e.open('[')
		for _, f := range en.Forced {
			e.elem(depth + 1)
			e.open('{')
			e.key(depth+2, "date")
			e.str(f.Date)
			if f.Platform != "" {
				e.key(depth+2, "platform")
				e.str(f.Platform)
			}
			e.key(depth+2, "old_checksum")
			e.str(f.OldChecksum)
			e.key(depth+2, "new_checksum")
			e.str(f.NewChecksum)
			e.extras(depth+2, f.Extra)
			e.close(depth+1, '}')
		}
		e.close(depth, ']')
	}
	e.extras(depth, en.Extra)
	e.close(depth-1, '}')
}

// artifact writes one artifact whose members are at depth.
func (e *indentEncoder) artifact(depth int, a *Artifact) {
	if a == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.open('{')
	e.key(depth, "download_url")
	e.str(a.DownloadURL)
	e.key(depth, "checksum")
	e.str(a.Checksum)
	e.key(depth, "size")
	e.int(a.Size)
	if a.UnpackedSize != 0 {
		e.key(depth, "unpacked_size")
		e.int(a.UnpackedSize)
	}
	if a.Entries != 0 {
		e.key(depth, "entries")
		e.int(a.Entries)
	}
	if a.SBOM != nil {
		e.key(depth, "sbom")
		e.artifact(depth+1, a.SBOM)
	}
	if a.Attestation != nil {
		e.key(depth, "attestation")
		e.artifact(depth+1, a.Attestation)
	}
	e.extras(depth, a.Extra)
	e.close(depth-1, '}')
}

// Available reports whether the entry can be picked by @latest or a range:
// not yanked.
func (e *RegistryEntry) Available() bool { return e.Yanked == nil }
