package registrygen

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
)

// maxErrors bounds how many problems one load reports.
const maxErrors = 100

// New returns an empty registry in the current format.
func New() *schema.Registry {
	return &schema.Registry{
		Version:  schema.RegistryFormatVersion,
		Runtimes: map[string]map[string]*schema.RegistryEntry{},
	}
}

// Load reads and checks registry.json (see Parse). Every error names
// path:line:column.
func Load(path string) (*schema.Registry, error) {
	return load(path, MaxRegistrySize)
}

// load is Load with a size limit (0: none, for benchmarks).
func load(path string, limit int) (*schema.Registry, error) {
	data, err := readRegistry(path, limit)
	if err != nil {
		return nil, err
	}
	// Nothing else sees data, so strings can share its memory instead of
	// copying every URL and checksum.
	p := newParser(data, path, false)
	p.shared, p.maxSize = true, limit
	return p.run()
}

// readRegistry reads a registry file, refusing one over limit bytes
// (0: no limit) before reading it (the parser checks the bytes read
// again, for a file that grew meanwhile).
func readRegistry(path string, limit int) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && limit > 0 && fi.Mode().IsRegular() && fi.Size() > int64(limit) {
		return nil, &Error{Source: path, Msg: tooLarge(int(min(fi.Size(), 1<<62)), limit)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return data, nil
}

// tooLarge says that a registry of n bytes is over limit.
func tooLarge(n, limit int) string {
	return fmt.Sprintf("registry is %d bytes; the limit is %d bytes (%d MiB), which every reader applies (registry verify, merge, runtime install)", n, limit, limit>>20)
}

// Parse decodes and checks a registry; source names the bytes in errors.
//
// It rejects what Joblet's consumer would reject (malformed JSON, a wrong
// type anywhere, registry version other than "1"), what would make the
// registry ambiguous (a version key that is not a semantic version, an
// entry whose version differs from its key, a malformed checksum, a
// timestamp that is not RFC 3339 UTC, a duplicate key), input over the
// limits (MaxRegistrySize, MaxDepth, MaxKeyBytes, MaxStringBytes) and,
// once it parsed, whatever Check finds: every reader of a registry
// (verify, merge, add, yank, release, the consumer) loads it through here,
// so they accept and refuse the same registries. Syntax errors and limits
// stop at the first; other problems are all reported (as Errors), each at
// source:line:column. Unknown keys are kept at every level.
func Parse(data []byte, source string) (*schema.Registry, error) {
	p := newParser(data, source, false)
	return p.run()
}

func (p *parser) registry() *schema.Registry {
	if k := p.kind(); k != "object" {
		p.fail(p.i, "a registry must be a JSON object, found %s", article(k))
	}
	r := &schema.Registry{}
	objOff := p.i
	var s seen
	versionOff, updatedOff := -1, -1
	if p.objectStart() {
		for {
			key, keyOff := p.key()
			p.push(key)
			if p.offsets != nil {
				p.ws()
				p.record(p.i)
			}
			switch key {
			case "version":
				if !p.dup(&s, 0, key, keyOff) {
					p.ws()
					versionOff = p.i
					if v, ok := p.stringValue(false); ok {
						r.Version = v
					} else {
						versionOff = -2
					}
				}
			case "updated_at":
				if !p.dup(&s, 1, key, keyOff) {
					p.ws()
					updatedOff = p.i
					if v, ok := p.stringValue(false); ok {
						r.UpdatedAt = v
					} else {
						updatedOff = -2
					}
				}
			case "runtimes":
				if !p.dup(&s, 2, key, keyOff) {
					r.Runtimes = p.runtimes()
				}
			default:
				p.pop()
				p.extra(&r.Extra, key, keyOff)
				p.push(key)
			}
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if r.Runtimes == nil {
		r.Runtimes = map[string]map[string]*schema.RegistryEntry{}
	}
	switch {
	case versionOff == -1:
		p.problem(objOff, nil, "missing \"version\"; Joblet reads only \"version\": %q", schema.RegistryFormatVersion)
	case versionOff >= 0 && r.Version != schema.RegistryFormatVersion:
		p.problem(versionOff, []string{"version"}, "registry format version is %q; Joblet reads only %q", r.Version, schema.RegistryFormatVersion)
	}
	switch {
	case updatedOff == -1:
		p.problem(objOff, nil, "missing \"updated_at\" (an RFC 3339 UTC time such as 2025-12-02T17:41:44Z)")
	case updatedOff >= 0:
		if err := CheckTime(r.UpdatedAt); err != nil {
			p.problem(updatedOff, []string{"updated_at"}, "%v", err)
		}
	}
	return r
}

func article(kind string) string {
	switch kind {
	case "object", "array", "integer":
		return "an " + kind
	}
	return "a " + kind
}

func (p *parser) runtimes() map[string]map[string]*schema.RegistryEntry {
	out := map[string]map[string]*schema.RegistryEntry{}
	switch p.kind() {
	case "null":
		p.literal("null")
		return out
	case "object":
	default:
		p.typeMismatch("an object of runtime names")
		return out
	}
	if !p.objectStart() {
		return out
	}
	var pool *runtimePool
	if p.offsets == nil && !p.sequential && len(p.data) >= p.parallelMin && runtime.GOMAXPROCS(0) > 1 {
		pool = newRuntimePool(p)
		p.usedPool = true
		defer pool.stop()
	}
	for {
		name, keyOff := p.key()
		p.push(name)
		if _, dup := out[name]; dup {
			p.problem(keyOff, nil, "duplicate runtime %q", name)
			p.skipValue()
		} else if pool != nil && p.kind() == "object" {
			// Find the end of this runtime's versions cheaply and let a
			// worker parse and check them while this goroutine moves on.
			end, ok := skipStructure(p.data, p.i)
			if !ok {
				panic(errSequential)
			}
			out[name] = nil
			pool.submit(name, p.i, end)
			p.i = end
		} else {
			p.record(keyOff)
			if versions := p.versions(); versions != nil {
				out[name] = versions
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	if pool != nil {
		for _, res := range pool.wait() {
			if !res.ok {
				panic(errSequential)
			}
			p.errs = append(p.errs, res.errs...)
			p.dropped += res.dropped
			out[res.name] = res.versions
		}
	}
	for name, versions := range out {
		if versions == nil {
			delete(out, name)
		}
	}
	return out
}

func (p *parser) versions() map[string]*schema.RegistryEntry {
	if k := p.kind(); k != "object" {
		p.typeMismatch("an object of versions")
		return nil
	}
	out := map[string]*schema.RegistryEntry{}
	if !p.objectStart() {
		return out
	}
	for {
		ver, keyOff := p.key()
		p.push(ver)
		switch _, dup := out[ver]; {
		case dup:
			p.problem(keyOff, nil, "duplicate version %q", ver)
			p.skipValue()
		default:
			if err := schema.CheckVersion(ver); err != nil {
				p.problem(keyOff, nil, "version key: %v", err)
			}
			p.record(keyOff)
			if e := p.entry(ver); e != nil {
				out[ver] = e
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	return out
}

// Entry member bits for duplicate detection.
const (
	fVersion = iota
	fDescription
	fDownloadURL
	fChecksum
	fSize
	fPlatforms
	fReleasedAt
	fArtifacts
	fSourcePackage
	fYanked
	fForced
)

func (p *parser) entry(key string) *schema.RegistryEntry {
	switch p.kind() {
	case "object":
	case "null":
		p.problem(p.i, nil, "version entry is null; it must be an object")
		p.literal("null")
		return nil
	default:
		p.typeMismatch("a version entry object")
		return nil
	}
	e := p.newEntry()
	objOff := p.i
	var s seen
	versionOff, checksumOff, releasedOff := -1, -1, -1
	checksumOK := false
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "version":
				if !p.dup(&s, fVersion, k, keyOff) {
					versionOff = valOff
					v, ok := p.stringValue(false)
					if !ok {
						versionOff = -2
					} else if v == key {
						v = key
					}
					e.Version = v
				}
			case "description":
				if !p.dup(&s, fDescription, k, keyOff) {
					e.Description, _ = p.stringValue(true)
				}
			case "download_url":
				if !p.dup(&s, fDownloadURL, k, keyOff) {
					e.DownloadURL, _ = p.stringValue(false)
				}
			case "checksum":
				if !p.dup(&s, fChecksum, k, keyOff) {
					checksumOff = valOff
					e.Checksum, checksumOK = p.stringValue(false)
				}
			case "size":
				if !p.dup(&s, fSize, k, keyOff) {
					e.Size = p.intValue()
				}
			case "platforms":
				if !p.dup(&s, fPlatforms, k, keyOff) {
					e.Platforms = p.stringList()
				}
			case "released_at":
				if !p.dup(&s, fReleasedAt, k, keyOff) {
					releasedOff = valOff
					e.ReleasedAt, _ = p.stringValue(false)
				}
			case "artifacts":
				if !p.dup(&s, fArtifacts, k, keyOff) {
					e.Artifacts = p.artifacts()
				}
			case "source_package":
				if !p.dup(&s, fSourcePackage, k, keyOff) {
					e.SourcePackage = p.artifact()
				}
			case "yanked":
				if !p.dup(&s, fYanked, k, keyOff) {
					e.Yanked = p.yank()
				}
			case "forced":
				if !p.dup(&s, fForced, k, keyOff) {
					e.Forced = p.forcedList()
				}
			default:
				p.pop()
				p.extra(&e.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	switch {
	case versionOff == -1:
		p.problem(objOff, nil, "missing \"version\"; write \"version\": %q", key)
	case versionOff >= 0 && e.Version != key:
		p.problem(versionOff, []string{"version"}, "entry says version %q but is listed under %q; they must match", e.Version, key)
	}
	switch {
	case checksumOff == -1 && len(e.Artifacts) == 0:
		p.problem(objOff, nil, "missing \"checksum\" (sha256:<64 lowercase hex digits>)")
	case checksumOff >= 0 && checksumOK && (e.Checksum != "" || len(e.Artifacts) == 0):
		// An empty top-level checksum is allowed while an entry built
		// from per-platform fragments waits for its primary platform.
		if err := schema.CheckChecksum(e.Checksum); err != nil {
			p.problem(checksumOff, []string{"checksum"}, "%v", err)
		}
	}
	if releasedOff >= 0 && e.ReleasedAt != "" {
		if err := CheckTime(e.ReleasedAt); err != nil {
			p.problem(releasedOff, []string{"released_at"}, "%v", err)
		}
	}
	return e
}

func (p *parser) stringList() []string {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "array":
	default:
		p.typeMismatch("an array of strings")
		return nil
	}
	p.i++
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return []string{}
	}
	list := p.scratch[:0]
	for n := 0; ; n++ {
		p.pushIdx(n)
		if p.offsets != nil {
			p.ws()
			p.record(p.i)
		}
		if s, ok := p.stringValue(true); ok {
			list = append(list, s)
		}
		p.pop()
		if !p.arrayNext() {
			break
		}
	}
	p.scratch = list
	return slices.Clone(list) // one allocation of the exact size
}

// slabSize is how many entries or artifacts one allocation holds: a
// registry has many of both, and fewer, larger allocations are cheaper to
// make and to garbage-collect.
const slabSize = 64

func (p *parser) newEntry() *schema.RegistryEntry {
	if len(p.entrySlab) == 0 {
		p.entrySlab = make([]schema.RegistryEntry, slabSize)
	}
	e := &p.entrySlab[0]
	p.entrySlab = p.entrySlab[1:]
	return e
}

func (p *parser) newArtifact() *schema.Artifact {
	if len(p.artifactSlab) == 0 {
		p.artifactSlab = make([]schema.Artifact, slabSize)
	}
	a := &p.artifactSlab[0]
	p.artifactSlab = p.artifactSlab[1:]
	return a
}

func (p *parser) artifacts() map[string]*schema.Artifact {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "object":
	default:
		p.typeMismatch("an object of platforms")
		return nil
	}
	out := map[string]*schema.Artifact{}
	if !p.objectStart() {
		return out
	}
	for {
		platform, keyOff := p.key()
		if s, ok := p.intern[platform]; ok {
			platform = s
		} else {
			p.intern[platform] = platform
		}
		p.push(platform)
		if _, dup := out[platform]; dup {
			p.problem(keyOff, nil, "duplicate platform %q", platform)
			p.skipValue()
		} else {
			p.record(keyOff)
			if a := p.artifact(); a != nil {
				out[platform] = a
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	return out
}

func (p *parser) artifact() *schema.Artifact {
	switch p.kind() {
	case "object":
	case "null":
		p.problem(p.i, nil, "artifact is null; it must be an object")
		p.literal("null")
		return nil
	default:
		p.typeMismatch("an artifact object")
		return nil
	}
	a := p.newArtifact()
	objOff := p.i
	var s seen
	checksumOff := -1
	checksumOK := false
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "download_url":
				if !p.dup(&s, 0, k, keyOff) {
					a.DownloadURL, _ = p.stringValue(false)
				}
			case "checksum":
				if !p.dup(&s, 1, k, keyOff) {
					checksumOff = valOff
					a.Checksum, checksumOK = p.stringValue(false)
				}
			case "size":
				if !p.dup(&s, 2, k, keyOff) {
					a.Size = p.intValue()
				}
			case "unpacked_size":
				if !p.dup(&s, 3, k, keyOff) {
					a.UnpackedSize = p.intValue()
				}
			case "entries":
				if !p.dup(&s, 4, k, keyOff) {
					a.Entries = p.intValue()
				}
			case "sbom":
				if !p.dup(&s, 5, k, keyOff) {
					a.SBOM = p.artifact()
				}
			case "attestation":
				if !p.dup(&s, 6, k, keyOff) {
					a.Attestation = p.artifact()
				}
			default:
				p.pop()
				p.extra(&a.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	switch {
	case checksumOff < 0:
		p.problem(objOff, nil, "missing \"checksum\" (sha256:<64 lowercase hex digits>)")
	case checksumOK:
		if err := schema.CheckChecksum(a.Checksum); err != nil {
			p.problem(checksumOff, []string{"checksum"}, "%v", err)
		}
	}
	return a
}

func (p *parser) yank() *schema.Yank {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "object":
	default:
		p.typeMismatch("an object with reason and date")
		return nil
	}
	y := &schema.Yank{}
	var s seen
	dateOff := -1
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "reason":
				if !p.dup(&s, 0, k, keyOff) {
					y.Reason, _ = p.stringValue(false)
				}
			case "date":
				if !p.dup(&s, 1, k, keyOff) {
					dateOff = valOff
					y.Date, _ = p.stringValue(false)
				}
			default:
				p.pop()
				p.extra(&y.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if dateOff >= 0 {
		if err := CheckTime(y.Date); err != nil {
			p.problem(dateOff, []string{"date"}, "%v", err)
		}
	}
	return y
}

func (p *parser) forcedList() []schema.ForcedChange {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "array":
	default:
		p.typeMismatch("an array of forced changes")
		return nil
	}
	p.i++
	var out []schema.ForcedChange
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return out
	}
	for n := 0; ; n++ {
		p.pushIdx(n)
		if p.kind() == "object" {
			p.record(p.i)
		}
		if p.kind() != "object" {
			p.typeMismatch("an object")
		} else {
			out = append(out, p.forced())
		}
		p.pop()
		if !p.arrayNext() {
			break
		}
	}
	return out
}

func (p *parser) forced() schema.ForcedChange {
	var f schema.ForcedChange
	var s seen
	dateOff := -1
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "date":
				if !p.dup(&s, 0, k, keyOff) {
					dateOff = valOff
					f.Date, _ = p.stringValue(false)
				}
			case "platform":
				if !p.dup(&s, 1, k, keyOff) {
					f.Platform, _ = p.stringValue(true)
				}
			case "old_checksum":
				if !p.dup(&s, 2, k, keyOff) {
					f.OldChecksum, _ = p.stringValue(false)
				}
			case "new_checksum":
				if !p.dup(&s, 3, k, keyOff) {
					f.NewChecksum, _ = p.stringValue(false)
				}
			default:
				p.pop()
				p.extra(&f.Extra, k, keyOff)
				p.push(k)
			}
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if dateOff >= 0 {
		if err := CheckTime(f.Date); err != nil {
			p.problem(dateOff, []string{"date"}, "%v", err)
		}
	}
	return f
}

// TimeLayout is how rtool writes timestamps: RFC 3339, UTC, seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime writes t as rtool records times in registry.json.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(TimeLayout) }

// CheckTime verifies an RFC 3339 time in UTC, as Joblet expects.
func CheckTime(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339 (write it like 2025-12-02T17:41:44Z)", s)
	}
	if !strings.HasSuffix(s, "Z") {
		return fmt.Errorf("time %q is not in UTC; write %s", s, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// parseTime parses a time CheckTime accepted; zero when empty or invalid.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
