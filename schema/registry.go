package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

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
	// Artifacts holds prebuilt per-platform tarballs, keyed by platform.
	Artifacts map[string]*Artifact `json:"artifacts,omitempty"`
	// Yanked marks a version withdrawn from @latest and ranges; it stays
	// installable by exact version.
	Yanked *Yank `json:"yanked,omitempty"`
	// Forced records every time a checksum was replaced with --force.
	Forced []ForcedChange             `json:"forced,omitempty"`
	Extra  map[string]json.RawMessage `json:"-"`
}

// Artifact is one prebuilt per-platform tarball.
type Artifact struct {
	DownloadURL  string                     `json:"download_url" jsonschema:"format=uri"`
	Checksum     string                     `json:"checksum" jsonschema:"pattern=^sha256:[0-9a-f]{64}$"`
	Size         int64                      `json:"size" jsonschema:"minimum=0"`
	UnpackedSize int64                      `json:"unpacked_size,omitempty" jsonschema:"minimum=0"`
	Entries      int64                      `json:"entries,omitempty" jsonschema:"minimum=0"`
	Extra        map[string]json.RawMessage `json:"-"`
}

// Yank records why and when a version was withdrawn.
type Yank struct {
	Reason string `json:"reason"`
	Date   string `json:"date" jsonschema:"format=date-time"`
}

// ForcedChange records a checksum replaced with --force.
type ForcedChange struct {
	Date        string `json:"date" jsonschema:"format=date-time"`
	Platform    string `json:"platform,omitempty"`
	OldChecksum string `json:"old_checksum"`
	NewChecksum string `json:"new_checksum"`
}

// CheckChecksum verifies the sha256:<64 lowercase hex> format.
func CheckChecksum(s string) error {
	hex, ok := strings.CutPrefix(s, ChecksumPrefix)
	if !ok {
		return fmt.Errorf("checksum %q must start with %q", s, ChecksumPrefix)
	}
	if len(hex) != 64 {
		return fmt.Errorf("checksum %q must have 64 hex digits after %q, has %d", s, ChecksumPrefix, len(hex))
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
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
// strings that do not parse sort last, by text.
func SortVersionStrings(keys []string) {
	parsed := make(map[string]*semver.Version, len(keys))
	for _, k := range keys {
		if v, err := semver.StrictNewVersion(k); err == nil {
			parsed[k] = v
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := parsed[keys[i]], parsed[keys[j]]
		switch {
		case a != nil && b != nil:
			if c := a.Compare(b); c != 0 {
				return c < 0
			}
			return keys[i] < keys[j]
		case a != nil:
			return true
		case b != nil:
			return false
		}
		return keys[i] < keys[j]
	})
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
	w.extras(a.Extra)
	return w.done()
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
		"platforms", "released_at", "artifacts", "yanked", "forced")
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
	extra, err := splitKnown(data, &p, "download_url", "checksum", "size", "unpacked_size", "entries")
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
func EncodeRegistry(r *Registry) ([]byte, error) {
	compact, err := r.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Available reports whether the entry can be picked by @latest or a range:
// not yanked.
func (e *RegistryEntry) Available() bool { return e.Yanked == nil }
