package registrygen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// EntryFile describes one released file as the registry records it.
type EntryFile struct {
	Path         string // local file it was measured from (for messages and {file})
	URL          string // download URL; empty: FragmentSpec.URL expanded for this file
	Checksum     string // sha256:<hex>
	Size         int64
	UnpackedSize int64 // artifacts: total size of the regular files inside; 0 = unknown
	Entries      int64 // artifacts: number of tar entries; 0 = unknown
}

// HashFile measures a file's sha256 and size, streaming.
func HashFile(ctx context.Context, file string) (*EntryFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", file, err)
	}
	return &EntryFile{Path: file, Checksum: schema.ChecksumPrefix + hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// InspectArtifact measures an artifact tarball in one streaming pass
// (archive.Inspect): sha256 and size of the .tar.gz, and the unpacked size
// (regular files) and entry count of the tar inside, counted the way the
// archive writer and the consumer's extractor count them.
func InspectArtifact(ctx context.Context, file string) (*EntryFile, error) {
	st, err := archive.Inspect(ctx, file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("artifact %s is not a readable .tar.gz: %w", file, err)
	}
	return &EntryFile{Path: file, Checksum: schema.ChecksumPrefix + st.SHA256, Size: st.Size, UnpackedSize: st.UnpackedSize, Entries: st.Entries}, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// URLVars are the values a download URL template can use.
type URLVars struct {
	Name, Version, Platform, File string
}

// URLPlaceholders lists what ExpandURL replaces.
var urlPlaceholders = []string{"name", "version", "platform", "file", "tag"}

// ExpandURL fills a download URL template: {name}, {version}, {platform},
// {file} (the file's base name) and {tag} (name@version), for example
// https://github.com/OWNER/REPO/releases/download/{tag}/{file}. The result
// must be an absolute http or https URL.
func ExpandURL(tmpl string, v URLVars) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("URL template %q: unclosed %q", tmpl, rest[i:])
		}
		name := rest[i+1 : i+j]
		var val string
		switch name {
		case "name":
			val = v.Name
		case "version":
			val = v.Version
		case "platform":
			val = v.Platform
			if val == "" {
				return "", fmt.Errorf("URL template %q uses {platform}, but the source package has no platform; use a template without {platform} (such as .../download/{tag}/{file})", tmpl)
			}
		case "file":
			val = v.File
		case "tag":
			val = schema.Tag{Name: v.Name, Version: v.Version}.String()
		default:
			return "", fmt.Errorf("URL template %q: unknown placeholder {%s}; use %s", tmpl, name, "{"+strings.Join(urlPlaceholders, "}, {")+"}")
		}
		b.WriteString(url.PathEscape(val))
		rest = rest[i+j+1:]
	}
	out := b.String()
	if err := CheckURL(out); err != nil {
		return "", err
	}
	return out, nil
}

// CheckURL verifies a download URL: an absolute http(s) URL, or a
// relative path reference (a file beside the registry, such as
// "rt-1.0.0-debian-amd64.tar.gz" or "../../rt.tar.gz"), which rtool's
// consumer resolves against the registry's own location. Joblet's client
// cannot resolve relative URLs, so a registry for Joblet nodes uses
// absolute ones (what rtool publish writes).
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("download URL %q: %v", s, err)
	}
	if u.Scheme == "" && u.Host == "" && u.Path != "" && !strings.HasPrefix(s, "/") && u.RawQuery == "" && u.Fragment == "" && !strings.Contains(s, ":") {
		return nil // relative to the registry
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("download URL %q must be an absolute http:// or https:// URL, or a path relative to the registry (a file beside it)", s)
	}
	return nil
}

// PlatformFile is one platform's prebuilt artifact.
type PlatformFile struct {
	Platform string
	File     *EntryFile
	// SBOM and Bundle, when set, are the artifact's <artifact>.spdx.json
	// and Sigstore bundle, recorded as its sbom and attestation with URLs
	// from the same template.
	SBOM, Bundle *EntryFile
}

// FragmentSpec describes one released version for Fragment.
type FragmentSpec struct {
	Name, Version, Description string
	// Platforms the version supports, in the manifest's order. Empty: the
	// artifacts' platforms in the order given. The first is the primary
	// platform (see Fragment).
	Platforms []string
	// Source is upstream's platform-independent source package (optional).
	Source *EntryFile
	// Artifacts are prebuilt per-platform tarballs (optional).
	Artifacts []PlatformFile
	// URL is the download URL template for files without their own URL
	// (see ExpandURL). A URL without placeholders is a base: "/{file}" is
	// appended, unless it names a single .tar.gz for the only file.
	URL string
	// ReleasedAt is recorded as released_at and updated_at (zero: now).
	ReleasedAt time.Time
}

// Fragment builds a one-version registry to Merge.
//
// The top-level download_url, checksum and size are what Joblet's
// installer downloads (it reads nothing else), so they always point at the
// prebuilt artifact of the primary platform (the first of Platforms),
// never at the source package: a node given the source package would try
// to build it with setup.sh, which cannot work there. The source package
// is recorded under source_package. A fragment that lacks the primary
// platform's artifact leaves the top-level download empty, and merging the
// primary platform's fragment fills it, so per-platform fragments merge in
// any order to the same entry. Verify reports an entry still waiting for
// its top-level download.
func Fragment(spec FragmentSpec) (*schema.Registry, error) {
	if err := schema.CheckName(spec.Name); err != nil {
		return nil, err
	}
	if err := schema.CheckVersion(spec.Version); err != nil {
		return nil, err
	}
	if len(spec.Artifacts) == 0 {
		if spec.Source != nil {
			return nil, fmt.Errorf("%s@%s: a source package alone cannot be registered: Joblet installs the top-level download_url, which must be a prebuilt artifact "+
				"(a node cannot build a source package); give the artifact of the primary platform too (--artifact %s)",
				spec.Name, spec.Version, schema.ArtifactName(spec.Name, spec.Version, firstOr(spec.Platforms, "<platform>")))
		}
		return nil, fmt.Errorf("%s@%s: nothing to register; give at least one prebuilt platform artifact", spec.Name, spec.Version)
	}
	platforms := slices.Clone(spec.Platforms)
	if len(platforms) == 0 {
		for _, a := range spec.Artifacts {
			platforms = append(platforms, a.Platform)
		}
	}
	for i, p := range platforms {
		if _, err := schema.ParsePlatform(p); err != nil {
			return nil, err
		}
		if slices.Contains(platforms[:i], p) {
			return nil, fmt.Errorf("platform %s is listed twice", p)
		}
	}
	files := len(spec.Artifacts)
	if spec.Source != nil {
		files++
	}
	for _, a := range spec.Artifacts {
		if a.SBOM != nil {
			files++
		}
		if a.Bundle != nil {
			files++
		}
	}
	tmpl := spec.URL
	if tmpl != "" && !strings.Contains(tmpl, "{") && !(files == 1 && strings.HasSuffix(tmpl, ".tar.gz")) {
		tmpl = strings.TrimSuffix(tmpl, "/") + "/{file}"
	}
	resolve := func(ef *EntryFile, platform string) (string, error) {
		if ef.URL != "" {
			return ef.URL, CheckURL(ef.URL)
		}
		if tmpl == "" {
			return "", fmt.Errorf("no download URL for %s; give a URL or URL template", ef.Path)
		}
		return ExpandURL(tmpl, URLVars{Name: spec.Name, Version: spec.Version, Platform: platform, File: filepath.Base(ef.Path)})
	}
	check := func(ef *EntryFile, what string) error {
		if err := schema.CheckChecksum(ef.Checksum); err != nil {
			return fmt.Errorf("%s %s: %w", what, ef.Path, err)
		}
		if ef.Size < 0 || ef.UnpackedSize < 0 || ef.Entries < 0 {
			return fmt.Errorf("%s %s: negative size", what, ef.Path)
		}
		return nil
	}
	released := spec.ReleasedAt
	if released.IsZero() {
		released = time.Now()
	}
	e := &schema.RegistryEntry{
		Version:     spec.Version,
		Description: spec.Description,
		Platforms:   platforms,
		ReleasedAt:  FormatTime(released),
	}
	if spec.Source != nil {
		if err := check(spec.Source, "source package"); err != nil {
			return nil, err
		}
		u, err := resolve(spec.Source, "")
		if err != nil {
			return nil, err
		}
		e.SourcePackage = &schema.Artifact{DownloadURL: u, Checksum: spec.Source.Checksum, Size: spec.Source.Size}
	}
	for _, a := range spec.Artifacts {
		if _, err := schema.ParsePlatform(a.Platform); err != nil {
			return nil, err
		}
		if !slices.Contains(platforms, a.Platform) {
			return nil, fmt.Errorf("artifact for %s, which is not among the version's platforms %v", a.Platform, platforms)
		}
		if _, dup := e.Artifacts[a.Platform]; dup {
			return nil, fmt.Errorf("two artifacts for platform %s", a.Platform)
		}
		if err := check(a.File, "artifact"); err != nil {
			return nil, err
		}
		u, err := resolve(a.File, a.Platform)
		if err != nil {
			return nil, err
		}
		if e.Artifacts == nil {
			e.Artifacts = map[string]*schema.Artifact{}
		}
		art := &schema.Artifact{DownloadURL: u, Checksum: a.File.Checksum, Size: a.File.Size, UnpackedSize: a.File.UnpackedSize, Entries: a.File.Entries}
		for _, side := range []struct {
			what string
			file *EntryFile
			dst  **schema.Artifact
		}{{"SBOM", a.SBOM, &art.SBOM}, {"Sigstore bundle", a.Bundle, &art.Attestation}} {
			if side.file == nil {
				continue
			}
			if err := check(side.file, a.Platform+" "+side.what); err != nil {
				return nil, err
			}
			su, err := resolve(side.file, a.Platform)
			if err != nil {
				return nil, err
			}
			*side.dst = &schema.Artifact{DownloadURL: su, Checksum: side.file.Checksum, Size: side.file.Size}
		}
		e.Artifacts[a.Platform] = art
		if a.Platform == platforms[0] {
			e.DownloadURL, e.Checksum, e.Size = u, a.File.Checksum, a.File.Size
		}
	}
	r := New()
	r.UpdatedAt = e.ReleasedAt
	r.Runtimes[spec.Name] = map[string]*schema.RegistryEntry{spec.Version: e}
	return r, nil
}

// fileForURL is the local file a download URL names inside dir: the URL
// path's base name.
func fileForURL(dir, rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return "", false
	}
	base := path.Base(u.Path)
	if base == "/" || base == "." || base == ".." {
		return "", false
	}
	if unescaped, err := url.PathUnescape(base); err == nil {
		base = unescaped
	}
	if strings.ContainsRune(base, '/') {
		return "", false
	}
	return filepath.Join(dir, base), true
}

// PlatformFromArtifactName reads the platform from a canonical artifact
// file name, <name>-<version>-<platform>.tar.gz (schema.ArtifactName).
func PlatformFromArtifactName(file, name, version string) (string, error) {
	prefix := name + "-" + version + "-"
	p, ok := strings.CutPrefix(file, prefix)
	if ok {
		p, ok = strings.CutSuffix(p, ".tar.gz")
	}
	if !ok {
		return "", fmt.Errorf("artifact %s is not named %s<platform>.tar.gz", file, prefix)
	}
	if _, err := schema.ParsePlatform(p); err != nil {
		return "", fmt.Errorf("artifact %s: %w", file, err)
	}
	return p, nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
