package consumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
)

// Mode says whose rules resolve and install a runtime.
type Mode string

const (
	// ModeRtool (the default) is rtool's reading of a registry:
	// per-platform artifacts, yanked versions skipped, ranges.
	ModeRtool Mode = ""
	// ModeJoblet reads a registry exactly as Joblet's client does
	// (github.com/ehsaniara/joblet pkg/registry and
	// internal/joblet/core/runtime_installer.go), to prove what a Joblet
	// node would install: the top-level download_url, checksum and size of
	// the entry under the version key; artifacts, platforms and yanked are
	// never read.
	ModeJoblet Mode = "joblet"
)

// JobletRegistry is registry.json in the exact shape Joblet's client
// decodes it into with encoding/json: unknown keys are ignored, and one
// type error (a number "version", a "updated_at" that is not RFC 3339, a
// "size" that is not an integer) rejects the whole registry.
type JobletRegistry struct {
	Version   string                             `json:"version"`
	UpdatedAt time.Time                          `json:"updated_at"`
	Runtimes  map[string]map[string]*JobletEntry `json:"runtimes"`
}

// JobletEntry is one version entry as Joblet's client decodes it. Only
// DownloadURL, Checksum and (for progress) Size are used; Version and
// Platforms are decoded (so their types must be right) but never read.
type JobletEntry struct {
	Version     string   `json:"version"`
	DownloadURL string   `json:"download_url"`
	Checksum    string   `json:"checksum"`
	Size        int64    `json:"size"`
	Platforms   []string `json:"platforms"`
	Description string   `json:"description,omitempty"`
}

// JobletLoaded is a registry read as Joblet's client reads it, with what
// rtool noticed that Joblet ignores (yanked versions, per-platform
// artifacts), for notes.
type JobletLoaded struct {
	Source   Source
	Where    string // the URL or file read
	IsURL    bool
	Registry *JobletRegistry
	yanked   map[string]map[string]string   // name → version → reason
	arts     map[string]map[string][]string // name → version → platforms with an artifact
}

// JobletPick is what Joblet's client picked, with the entry's fields as
// the registry has them.
type JobletPick struct {
	Registry    string `json:"registry"` // the registry.json URL or file read
	Spec        string `json:"spec"`
	Version     string `json:"version"` // the version key picked
	Latest      bool   `json:"latest"`  // picked by @latest
	DownloadURL string `json:"download_url"`
	Checksum    string `json:"checksum"`
	Size        int64  `json:"size"`
	// Notes says what Joblet ignored or would do differently here; the
	// ones that matter on a node (a yanked version picked, a random pick
	// among equal keys, a local download) are also Resolved.Warnings.
	Notes []string `json:"notes,omitempty"`
}

// LocateJoblet returns the registry.json that Joblet's client would read
// for location (convertToRawURL in Joblet's pkg/registry):
//   - https://github.com/OWNER/REPO → <raw base>/OWNER/REPO/main/registry.json
//     (one trailing slash dropped; anything after OWNER/REPO is kept, as
//     Joblet keeps it);
//   - any other http(s) URL → URL + "/registry.json", even when the URL
//     already names a .json file;
//   - OWNER/REPO that is not an existing path → https://github.com/OWNER/REPO
//     (as `rnx --registry` does; further path segments are dropped);
//   - rtool's extension: an existing directory → DIR/registry.json, an
//     existing file (or file://PATH) → that file.
func (s Sources) LocateJoblet(location string) (where string, isURL bool, err error) {
	loc := strings.TrimSpace(location)
	if loc == "" {
		return "", false, fmt.Errorf("registry location is empty; give an http(s) URL, owner/repo, or a local registry.json or directory")
	}
	base := strings.TrimRight(s.GitHubRawBase, "/")
	if base == "" {
		base = DefaultGitHubRawBase
	}
	const githubPrefix = "https://github.com/"
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		loc = strings.TrimSuffix(loc, "/")
		if rest, ok := strings.CutPrefix(loc, githubPrefix); ok && rest != "" {
			return base + "/" + rest + "/main/registry.json", true, nil
		}
		return loc + "/registry.json", true, nil
	}
	if p, ok := strings.CutPrefix(loc, "file://"); ok {
		loc = p
	} else if _, err := os.Stat(loc); err != nil && rnxOwnerRepoRE.MatchString(loc) {
		parts := strings.Split(loc, "/")
		return base + "/" + parts[0] + "/" + parts[1] + "/main/registry.json", true, nil
	}
	abs, err := localRegistryFile(location, loc, "give an http(s) URL, owner/repo, or a local registry.json or directory")
	return abs, false, err
}

// rnxOwnerRepoRE is what `rnx --registry` turns into a GitHub URL: at
// least owner/repo (it drops anything after).
var rnxOwnerRepoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+(/.*)?$`)

// FetchJoblet reads one registry as Joblet's client does.
func (s Sources) FetchJoblet(ctx context.Context, src Source) (*JobletLoaded, error) {
	where, isURL, err := s.LocateJoblet(src.Location)
	if err != nil {
		return nil, err
	}
	data, err := s.read(ctx, where, isURL)
	if err != nil {
		err = fmt.Errorf("failed to fetch registry %s: %w", where, err)
		if isURL && strings.HasSuffix(strings.TrimSuffix(strings.TrimSpace(src.Location), "/"), ".json") {
			err = fmt.Errorf("%w; Joblet's client appends /registry.json to every registry URL except https://github.com/OWNER/REPO, so for %q it fetches %s: give the URL of the directory that holds registry.json instead",
				err, src.Location, where)
		}
		return nil, err
	}
	reg, err := DecodeJoblet(data, where)
	if err != nil {
		return nil, err
	}
	l := &JobletLoaded{Source: src, Where: where, IsURL: isURL, Registry: reg}
	l.yanked, l.arts = ignoredByJoblet(data)
	return l, nil
}

// DecodeJoblet decodes registry.json exactly as Joblet's client does
// (json.Decoder.Decode into JobletRegistry: anything after the first JSON
// value is not read) and explains a rejection with its line and column.
func DecodeJoblet(data []byte, where string) (*JobletRegistry, error) {
	var reg JobletRegistry
	err := json.NewDecoder(bytes.NewReader(data)).Decode(&reg)
	if err == nil {
		return &reg, nil
	}
	const rejects = "Joblet's client rejects the whole registry"
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te):
		line, col := lineColumn(data, te.Offset)
		return nil, fmt.Errorf("registry %s:%d:%d: %s: %q is a JSON %s, but Joblet decodes it as %s (%s)",
			where, line, col, rejects, te.Field, te.Value, te.Type, jobletTypeHint(te.Field))
	case errors.As(err, &pe):
		line, col := 0, 0
		if i := bytes.Index(data, []byte(`"updated_at"`)); i >= 0 {
			line, col = lineColumn(data, int64(i)+1)
		}
		return nil, fmt.Errorf("registry %s:%d:%d: %s: updated_at %q is not RFC 3339; write it like 2026-01-02T15:04:05Z",
			where, line, col, rejects, pe.Value)
	case errors.As(err, &se):
		line, col := lineColumn(data, se.Offset)
		return nil, fmt.Errorf("registry %s:%d:%d: %s: %v", where, line, col, rejects, err)
	}
	return nil, fmt.Errorf("registry %s: %s: %w", where, rejects, err)
}

func jobletTypeHint(field string) string {
	switch field {
	case "version":
		return `write "version": "1", a string`
	case "runtimes.size":
		return "size must be an integer byte count"
	case "runtimes.platforms":
		return "platforms must be a list of strings"
	case "runtimes":
		return "runtimes maps each name to an object of versions, each an object"
	}
	return "fix the type of this value"
}

// lineColumn turns a byte offset into 1-based line and column numbers.
func lineColumn(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1
	}
	return line, col
}

// ignoredByJoblet reads, leniently, what Joblet's client never looks at:
// yanked versions and per-platform artifacts. Only for notes.
func ignoredByJoblet(data []byte) (yanked map[string]map[string]string, arts map[string]map[string][]string) {
	var doc struct {
		Runtimes map[string]map[string]json.RawMessage `json:"runtimes"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return nil, nil
	}
	yanked, arts = map[string]map[string]string{}, map[string]map[string][]string{}
	for name, versions := range doc.Runtimes {
		for v, raw := range versions {
			var e struct {
				Checksum    string `json:"checksum"`
				DownloadURL string `json:"download_url"`
				Yanked      *struct {
					Reason string `json:"reason"`
				} `json:"yanked"`
				Artifacts map[string]struct {
					Checksum    string `json:"checksum"`
					DownloadURL string `json:"download_url"`
				} `json:"artifacts"`
			}
			if json.Unmarshal(raw, &e) != nil {
				continue
			}
			if e.Yanked != nil {
				if yanked[name] == nil {
					yanked[name] = map[string]string{}
				}
				yanked[name][v] = e.Yanked.Reason
			}
			// A view's entry carries its one platform's artifact, which is
			// its top-level download: nothing is ignored there.
			other := false
			for _, a := range e.Artifacts {
				other = other || !strings.EqualFold(a.Checksum, e.Checksum) || a.DownloadURL != e.DownloadURL
			}
			if other {
				if arts[name] == nil {
					arts[name] = map[string][]string{}
				}
				arts[name][v] = sortedKeys(e.Artifacts)
			}
		}
	}
	return yanked, arts
}

// jobletVersion parses a version key as Joblet's pkg/semver.NewVersion
// does: an optional "v", then exactly three dot-separated integers
// (strconv.Atoi), none negative. Pre-release and build suffixes fail, so
// such keys are never @latest.
func jobletVersion(s string) (v [3]int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func jobletGreater(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// jobletLatest is Joblet's GetLatestVersion: the greatest key that parses
// as jobletVersion. ties lists other keys of the same version (Joblet then
// picks whichever its map iteration meets first).
func jobletLatest(versions map[string]*JobletEntry) (latest string, ties []string) {
	var best [3]int
	for _, k := range sortedKeys(versions) {
		v, ok := jobletVersion(k)
		switch {
		case !ok:
		case latest == "" || jobletGreater(v, best):
			latest, best, ties = k, v, nil
		case v == best:
			ties = append(ties, k)
		}
	}
	return latest, ties
}

// JobletVersionKeys lists a runtime's version keys in semantic version
// order (keys that do not parse last).
func JobletVersionKeys(versions map[string]*JobletEntry) []string {
	keys := sortedKeys(versions)
	schema.SortVersionStrings(keys)
	return keys
}

// ResolveJobletSources fetches the one registry of srcs and resolves spec
// in it as Joblet does. Joblet's installer reads one registry per install
// request, so more than one is an error.
func (s Sources) ResolveJobletSources(ctx context.Context, srcs []Source, spec Spec) (*Resolved, error) {
	if len(srcs) != 1 {
		var names []string
		for _, src := range srcs {
			names = append(names, src.Location)
		}
		return nil, fmt.Errorf("Joblet mode reads exactly one registry, as a Joblet node's install request names one; got %d (%s): pass one --registry",
			len(srcs), strings.Join(names, ", "))
	}
	l, err := s.FetchJoblet(ctx, srcs[0])
	if err != nil {
		return nil, err
	}
	return ResolveJoblet(l, spec)
}

// ResolveJoblet picks what Joblet's client picks for spec (ResolveVersion
// in Joblet's pkg/registry): NAME and NAME@latest are the greatest plain
// X.Y.Z key (pre-release keys are never latest; yanked is not read),
// NAME@X.Y.Z is that key exactly; ranges are not Joblet's. The entry's
// own "version" is never read, nor are "artifacts" and "platforms": every
// node gets the top-level download_url. That URL must be absolute
// http(s), as Joblet fetches it as it is; a registry that is a local file
// may also name local files (rtool's extension, with a note). The checksum
// is compared as Joblet does (an optional "sha256:" prefix, hex in any
// case); the size is not checked by Joblet, so a mismatch is only a
// warning at install.
func ResolveJoblet(l *JobletLoaded, spec Spec) (*Resolved, error) {
	if spec.Kind == Range {
		return nil, fmt.Errorf("runtime spec %s: Joblet's client takes only NAME, NAME@latest or NAME@X.Y.Z; a range is rtool's extension (name the exact version, or drop --joblet)", spec)
	}
	versions, ok := l.Registry.Runtimes[spec.Name]
	if !ok {
		return nil, &NotFoundError{Name: spec.Name, Similar: closeNames(spec.Name, sortedKeys(l.Registry.Runtimes)), Where: []string{l.Where}}
	}
	pick := &JobletPick{Registry: l.Where, Spec: spec.String(), Latest: spec.Kind == Latest}
	var notes, warnings []string
	version := spec.Version
	if spec.Kind == Latest {
		latest, ties := jobletLatest(versions)
		if latest == "" {
			return nil, fmt.Errorf("runtime '%s' in registry %s: no version key is a plain X.Y.Z, so Joblet's @latest finds none (pre-release keys install only by exact version); keys: %s",
				spec.Name, l.Where, joinOrNone(JobletVersionKeys(versions)))
		}
		if len(ties) > 0 {
			warnings = append(warnings, fmt.Sprintf("keys %s are the same version as %s to Joblet; which of them a node picks as latest is random",
				strings.Join(ties, ", "), latest))
		}
		version = latest
	}
	e := versions[version]
	if e == nil {
		return nil, fmt.Errorf("version %q not found for runtime %q in registry %s (available: %s)",
			version, spec.Name, l.Where, joinOrNone(JobletVersionKeys(versions)))
	}
	pick.Version, pick.DownloadURL, pick.Checksum, pick.Size = version, e.DownloadURL, e.Checksum, e.Size
	where := fmt.Sprintf("runtime %s@%s in registry %s", spec.Name, version, l.Where)
	if reason, ok := l.yanked[spec.Name][version]; ok {
		warnings = append(warnings, fmt.Sprintf("%s@%s is yanked in this registry (%s), but Joblet's client never reads yanked and installs it", spec.Name, version, reason))
	}
	if ps := l.arts[spec.Name][version]; len(ps) > 0 {
		notes = append(notes, fmt.Sprintf("%s@%s has per-platform artifacts (%s) that Joblet's client never reads: every node gets the top-level download_url",
			spec.Name, version, strings.Join(ps, ", ")))
	}
	if e.Version != "" && e.Version != version {
		notes = append(notes, fmt.Sprintf("the entry under key %q says version %q; Joblet uses the key and never reads the entry's version", version, e.Version))
	}
	u, note, err := l.downloadURL(e.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if note != "" {
		warnings = append(warnings, note)
	}
	sum := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(e.Checksum, "sha256:")))
	if schema.CheckChecksum(schema.ChecksumPrefix+sum) != nil {
		return nil, fmt.Errorf("%s: checksum %q can never match: Joblet drops an optional \"sha256:\" prefix and compares the rest, in any case, with the 64 hex digits of the download's SHA-256", where, e.Checksum)
	}
	pick.Notes = append(warnings, notes...)
	return &Resolved{
		Name: spec.Name, Version: version, URL: u, Checksum: schema.ChecksumPrefix + sum, Size: e.Size,
		Registry: l.Where, Warnings: warnings, Mode: ModeJoblet, Joblet: pick,
	}, nil
}

func joinOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// downloadURL checks a download_url as Joblet's downloader would use it:
// fetched as it is, so it must be an absolute http(s) URL. A registry read
// from a local file may name local files (resolved like rtool's own
// reading), with a note that a node could not.
func (l *JobletLoaded) downloadURL(ref string) (u, note string, err error) {
	if ref == "" {
		return "", "", fmt.Errorf("download_url is empty; Joblet's downloader would fail")
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		p, err := url.Parse(ref)
		if err != nil || p.Host == "" {
			return "", "", fmt.Errorf("download_url %q is not a valid absolute URL", ref)
		}
		return ref, "", nil
	}
	if l.IsURL {
		return "", "", fmt.Errorf("download_url %q is not an absolute http(s) URL: Joblet's downloader fetches download_url as it is and cannot resolve it against the registry (%s); publish absolute URLs", ref, l.Where)
	}
	u, err = (&Loaded{Where: l.Where}).resolveURL(ref)
	if err != nil {
		return "", "", err
	}
	return u, fmt.Sprintf("download_url %q is a local path, accepted because the registry is a local file; a Joblet node needs an absolute http(s) URL", ref), nil
}

// AvailableJoblet lists the versions of every runtime (or of name) as
// Joblet's client sees them: HasArtifact means a download_url, Latest
// marks what @latest picks, Yanked is shown although Joblet ignores it.
func AvailableJoblet(l *JobletLoaded, name string) []AvailableVersion {
	var out []AvailableVersion
	for _, n := range sortedKeys(l.Registry.Runtimes) {
		if name != "" && n != name {
			continue
		}
		versions := l.Registry.Runtimes[n]
		latest, _ := jobletLatest(versions)
		for _, v := range JobletVersionKeys(versions) {
			e := versions[v]
			av := AvailableVersion{Name: n, Version: v, Platforms: []string{}, Registry: l.Where, Latest: v == latest}
			if e != nil {
				av.Description, av.HasArtifact = e.Description, e.DownloadURL != ""
				if e.Platforms != nil {
					av.Platforms = e.Platforms
				}
			}
			if reason, ok := l.yanked[n][v]; ok {
				av.Yanked = reason
				if av.Yanked == "" {
					av.Yanked = "yanked"
				}
			}
			out = append(out, av)
		}
	}
	return out
}
