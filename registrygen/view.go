package registrygen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/joblet/rtool/schema"
)

// Joblet's registry client reads only an entry's top-level download_url,
// checksum and size, and ignores platforms, artifacts and yanked: every
// node installs the one top-level file. A view is the registry a node of
// one platform reads instead: derived from registry.json (never edited by
// hand), holding only versions with a prebuilt artifact for the platform,
// with that artifact as the top-level download, and without yanked
// versions (Joblet's @latest cannot skip them). Views live beside the
// registry at platforms/<platform>/registry.json, so Joblet's rule
// "URL + /registry.json" finds one at URL/platforms/<platform>.

// ViewsDir is the directory, beside registry.json, holding the views.
const ViewsDir = "platforms"

// ViewFile is the file name of a view inside ViewsDir/<platform>/.
const ViewFile = "registry.json"

// viewDepth is how many directories a view lies below its registry, for
// rewriting relative download URLs.
const viewDepth = "../../"

// ViewPath returns the slash-separated path of platform's view for the
// registry at registryPath (also slash-separated, as in a git tree):
// "registry.json" → "platforms/<platform>/registry.json".
func ViewPath(registryPath, platform string) string {
	return path.Join(path.Dir(registryPath), ViewsDir, platform, ViewFile)
}

// ViewPlatforms returns every platform that has an artifact in some
// version of r, sorted: the platforms that get a view.
func ViewPlatforms(r *schema.Registry) []string {
	seen := map[string]bool{}
	for _, versions := range r.Runtimes {
		for _, e := range versions {
			if e == nil {
				continue
			}
			for p, a := range e.Artifacts {
				if a != nil {
					seen[p] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		if _, err := schema.ParsePlatform(p); err == nil {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// View derives platform's view of r: every version that is not yanked and
// has an artifact for platform, with that artifact as its top-level
// download (and as its only artifact, so rtool's consumer reads the view
// the same way), platforms [platform], and its released_at. Relative
// download URLs are rewritten to stay relative to the view's directory.
// Runtimes with no such version are left out. The result shares nothing
// with r.
func View(r *schema.Registry, platform string) *schema.Registry {
	v := New()
	v.UpdatedAt = r.UpdatedAt
	v.Extra = map[string]json.RawMessage{
		"_comment": mustJSON(fmt.Sprintf("Joblet view of ../../registry.json for %s: the prebuilt %s artifact of every version that has one as its "+
			"download_url, yanked versions left out. Written by rtool with registry.json; do not edit.", platform, platform)),
	}
	for name, versions := range r.Runtimes {
		var out map[string]*schema.RegistryEntry
		for ver, e := range versions {
			if e == nil || e.Yanked != nil {
				continue
			}
			a := e.Artifacts[platform]
			if a == nil {
				continue
			}
			va := cloneArtifact(a)
			va.DownloadURL = viewURL(a.DownloadURL)
			for _, side := range []**schema.Artifact{&va.SBOM, &va.Attestation} {
				if *side != nil {
					c := cloneArtifact(*side)
					c.DownloadURL = viewURL(c.DownloadURL)
					*side = c
				}
			}
			if out == nil {
				out = map[string]*schema.RegistryEntry{}
			}
			out[ver] = &schema.RegistryEntry{
				Version:     e.Version,
				Description: e.Description,
				DownloadURL: va.DownloadURL,
				Checksum:    va.Checksum,
				Size:        va.Size,
				Platforms:   []string{platform},
				ReleasedAt:  e.ReleasedAt,
				Artifacts:   map[string]*schema.Artifact{platform: va},
			}
		}
		if out != nil {
			v.Runtimes[name] = out
		}
	}
	return v
}

// viewURL keeps an absolute URL and rewrites a relative one (resolved
// against registry.json's directory) to resolve the same from the view's.
func viewURL(u string) string {
	if u == "" || isAbsoluteRef(u) {
		return u
	}
	return viewDepth + u
}

// isAbsoluteRef reports whether a download URL does not depend on where
// the registry is: it has a scheme or starts with "/".
func isAbsoluteRef(u string) bool {
	if strings.HasPrefix(u, "/") {
		return true
	}
	p, err := url.Parse(u)
	return err == nil && p.Scheme != ""
}

func mustJSON(s string) json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return b
}

// ViewFiles returns the encoded view of every ViewPlatforms platform of r,
// keyed by path relative to the registry's directory
// (platforms/<platform>/registry.json).
func ViewFiles(r *schema.Registry) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range ViewPlatforms(r) {
		data, err := Encode(View(r, p))
		if err != nil {
			return nil, fmt.Errorf("view for %s: %w", p, err)
		}
		out[path.Join(ViewsDir, p, ViewFile)] = data
	}
	return out, nil
}

// WriteWithViews writes path and then every view of r beside it, each
// atomically. registry.json goes first so that a view never holds
// anything registry.json (the file the history guard checks) lacks: a
// crash in between leaves views behind, never ahead, and CheckViews
// reports them stale until the next write. Callers hold Lock(path).
func WriteWithViews(path string, r *schema.Registry) error {
	if err := Write(path, r); err != nil {
		return err
	}
	return WriteViews(path, r)
}

// WriteViews writes every view of r beside the registry at path,
// atomically each, leaving views that are already right untouched.
func WriteViews(path string, r *schema.Registry) error {
	views, err := ViewFiles(r)
	if err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, rel := range sortedKeys(views) {
		file := filepath.Join(dir, filepath.FromSlash(rel))
		if have, err := os.ReadFile(file); err == nil && bytes.Equal(have, views[rel]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return fmt.Errorf("registry %s: view: %w", path, err)
		}
		if err := writeFileAtomic(file, views[rel]); err != nil {
			return err
		}
	}
	return nil
}

// CheckViews compares the views on disk beside the registry at path with
// the ones r derives: a missing, stale or extra view is a problem naming
// the file and the command that rewrites it.
func CheckViews(registryPath string, r *schema.Registry) (Errors, error) {
	views, err := ViewFiles(r)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(registryPath)
	fix := fmt.Sprintf("rerun any rtool registry command on it (e.g. rtool registry merge --registry %s), which rewrites every view", registryPath)
	var problems Errors
	for _, rel := range sortedKeys(views) {
		file := filepath.Join(dir, filepath.FromSlash(rel))
		have, err := os.ReadFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, &Error{Source: file, Msg: fmt.Sprintf("view for %s is missing: Joblet nodes of that platform read it; %s", path2platform(rel), fix)})
		case err != nil:
			return nil, err
		case !bytes.Equal(have, views[rel]):
			problems = append(problems, &Error{Source: file, Msg: fmt.Sprintf("view for %s is stale: it differs from what %s derives; %s", path2platform(rel), filepath.Base(registryPath), fix)})
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, ViewsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		rel := path.Join(ViewsDir, e.Name(), ViewFile)
		if _, ok := views[rel]; ok {
			continue
		}
		file := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(file); err == nil {
			problems = append(problems, &Error{Source: file, Msg: fmt.Sprintf("view for %s, a platform with no artifact in %s: a node reading it gets what the registry no longer says; remove it", e.Name(), filepath.Base(registryPath))})
		}
	}
	return problems, nil
}

func path2platform(rel string) string { return path.Base(path.Dir(rel)) }

// CheckViewHistory guards a view published on its own (the root
// registry.json of a per-platform repository): every version of previous
// must still be in current with the same checksum and released_at, unless
// main, the registry both derive from, has yanked it (yanked versions
// leave views) or a forced change recorded in main leads from the old
// checksum to the new. It returns a *HistoryError or nil.
func CheckViewHistory(previous, current, main *schema.Registry, platform string) error {
	var problems []HistoryProblem
	for _, name := range sortedKeys(previous.Runtimes) {
		for _, v := range schema.SortedVersions(previous.Runtimes[name]) {
			pe := previous.Runtimes[name][v]
			if pe == nil {
				continue
			}
			me := main.Runtimes[name][v]
			if me != nil && me.Yanked != nil {
				continue
			}
			ce := current.Runtimes[name][v]
			if ce == nil {
				problems = append(problems, HistoryProblem{Kind: "lost", Name: name, Version: v, Platform: platform})
				continue
			}
			var forced []schema.ForcedChange
			if me != nil {
				forced = me.Forced
			}
			if pe.Checksum != ce.Checksum && !forcedPath(forced, platform, pe.Checksum, ce.Checksum) {
				problems = append(problems, HistoryProblem{Kind: "changed", Name: name, Version: v, Platform: platform, Old: pe.Checksum, New: ce.Checksum})
			}
			if pe.ReleasedAt != "" && pe.ReleasedAt != ce.ReleasedAt {
				problems = append(problems, HistoryProblem{Kind: "released_at", Name: name, Version: v, Platform: platform, Old: pe.ReleasedAt, New: ce.ReleasedAt})
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &HistoryError{Problems: problems}
}
