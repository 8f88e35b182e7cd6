package registrygen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joblet/rtool/schema"
)

// VerifyOptions controls Verify.
type VerifyOptions struct {
	// ArtifactsDir, when set, holds release files to re-hash: every
	// download URL whose base name is a file here, or under
	// <name>@<version>/ here (the tree the dir publisher writes), is
	// checked against its checksum and size (and, for artifacts, unpacked
	// size and entries). Re-hashing no file although the registry names
	// downloads is a problem (see localFile).
	ArtifactsDir string
	// Document, when set, gives problems their line and column.
	Document *Document
	// Source names the registry in problems (default: Document.Source).
	Source string
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Problems Errors   `json:"problems"`
	Checked  []string `json:"checked"` // files re-hashed
	Missing  []string `json:"missing"` // files named by URLs but absent from ArtifactsDir
}

// OK reports whether no problem was found.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify checks that a registry may be published: the rules of Check
// (which Load and Parse already apply, so a loaded registry meets them
// and a registry built in memory is checked here), and that every entry
// has its top-level download (Joblet installs nothing else; see Pending);
// with ArtifactsDir it re-hashes local files. The error is for I/O
// failures; findings are in the report.
func Verify(ctx context.Context, r *schema.Registry, opts VerifyOptions) (*VerifyReport, error) {
	v := &verifier{opts: opts, rep: &VerifyReport{Problems: Errors{}, Checked: []string{}, Missing: []string{}}, hashed: map[string]*EntryFile{}}
	if v.opts.Source == "" && opts.Document != nil {
		v.opts.Source = opts.Document.Source
	}
	checkRegistry(r, true, v.problem)
	if opts.ArtifactsDir != "" {
		for _, name := range sortedKeys(r.Runtimes) {
			versions := r.Runtimes[name]
			for _, ver := range schema.SortedVersions(versions) {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if e := versions[ver]; e != nil {
					if err := v.rehashEntry(ctx, name, ver, e); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	v.noneRehashed()
	more := len(v.rep.Problems) - maxErrors
	if more > 0 {
		v.rep.Problems = v.rep.Problems[:maxErrors]
	}
	if d := opts.Document; d != nil && len(v.rep.Problems) > 0 {
		d.setPositions(v.rep.Problems)
	}
	if more > 0 {
		v.rep.Problems = append(v.rep.Problems, &Error{Source: v.opts.Source, Msg: fmt.Sprintf("and %d more problems", more)})
	}
	return v.rep, nil
}

type verifier struct {
	opts   VerifyOptions
	rep    *VerifyReport
	hashed map[string]*EntryFile
	tag    string          // name@version of the entry being re-hashed (localFile)
	named  map[string]bool // files named by download URLs (localFile)
}

func (v *verifier) problem(path, format string, a ...any) {
	v.rep.Problems = append(v.rep.Problems, &Error{Source: v.opts.Source, Path: path, Msg: fmt.Sprintf(format, a...)})
}

// rehashEntry re-hashes the local copies of one entry's downloads.
func (v *verifier) rehashEntry(ctx context.Context, name, ver string, e *schema.RegistryEntry) error {
	ep := jsonPath("runtimes", name, ver)
	v.tag = name + "@" + ver
	if err := v.rehash(ctx, ep, e.DownloadURL, e.Checksum, e.Size, 0, 0); err != nil {
		return err
	}
	if sp := e.SourcePackage; sp != nil {
		if err := v.rehash(ctx, ep+jsonPath(schema.SourcePackageForced), sp.DownloadURL, sp.Checksum, sp.Size, 0, 0); err != nil {
			return err
		}
	}
	for _, p := range sortedKeys(e.Artifacts) {
		if a := e.Artifacts[p]; a != nil {
			if err := v.rehash(ctx, ep+jsonPath("artifacts", p), a.DownloadURL, a.Checksum, a.Size, a.UnpackedSize, a.Entries); err != nil {
				return err
			}
		}
	}
	return nil
}

// rehash compares a local copy of a download with its registry fields.
// The bytes are hashed whatever they hold, so a file that is not a
// readable tarball (truncated, replaced) is a finding naming both
// checksums, never an I/O error; only then is the tarball inspected, and a
// failed inspection is a finding too.
func (v *verifier) rehash(ctx context.Context, at, u, checksum string, size, unpacked, entries int64) error {
	if u == "" {
		return nil
	}
	file, ok := v.localFile(u)
	if !ok {
		return nil
	}
	inspect := unpacked != 0 || entries != 0
	got, seen := v.hashed[file]
	var unreadable error
	if !seen {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			v.hashed[file] = nil
			v.rep.Missing = append(v.rep.Missing, file)
			return nil
		}
		var err error
		if inspect {
			// One pass hashes and inspects; if the bytes are no tarball,
			// hash them alone to name what they are.
			if got, err = InspectArtifact(ctx, file); err != nil && ctx.Err() == nil && !errors.Is(err, fs.ErrNotExist) {
				unreadable = err
				got, err = HashFile(ctx, file)
			}
		} else {
			got, err = HashFile(ctx, file)
		}
		if err != nil {
			return err
		}
		v.hashed[file] = got
		v.rep.Checked = append(v.rep.Checked, file)
	}
	if got == nil {
		return nil
	}
	if got.Checksum != checksum {
		v.problem(at+jsonPath("checksum"), "%s has checksum %s, the registry says %s", file, got.Checksum, checksum)
	}
	if got.Size != size {
		v.problem(at+jsonPath("size"), "%s is %d bytes, the registry says %d", file, got.Size, size)
	}
	if !inspect {
		return nil
	}
	if unreadable == nil && got.Entries == 0 && got.UnpackedSize == 0 {
		// Hashed earlier without inspecting (same file as the top-level
		// download), or found unreadable before.
		insp, err := InspectArtifact(ctx, file)
		switch {
		case err != nil && (ctx.Err() != nil || errors.Is(err, fs.ErrNotExist)):
			return err
		case err != nil:
			unreadable = err
		default:
			got = insp
			v.hashed[file] = insp
		}
	}
	if unreadable != nil {
		v.problem(at, "%v", unreadable)
		return nil
	}
	if unpacked != 0 && got.UnpackedSize != unpacked {
		v.problem(at+jsonPath("unpacked_size"), "%s unpacks to %d bytes, the registry says %d", file, got.UnpackedSize, unpacked)
	}
	if entries != 0 && got.Entries != entries {
		v.problem(at+jsonPath("entries"), "%s has %d entries, the registry says %d", file, got.Entries, entries)
	}
	return nil
}

// localFile is where the local copy of the download at URL u is:
// ArtifactsDir/<file> (a directory of release files, as publish
// --artifacts takes them), else ArtifactsDir/<name>@<version>/<file> (a
// mirror the dir publisher wrote: PATH/<tag>/<file>). A file in neither
// place is reported missing where its layout puts it: under <tag>/ when
// that directory exists.
func (v *verifier) localFile(u string) (string, bool) {
	flat, ok := fileForURL(v.opts.ArtifactsDir, u)
	if !ok {
		return "", false
	}
	if v.named == nil {
		v.named = map[string]bool{}
	}
	v.named[filepath.Base(flat)] = true
	tagDir := filepath.Join(v.opts.ArtifactsDir, v.tag)
	tagged := filepath.Join(tagDir, filepath.Base(flat))
	if _, err := os.Stat(flat); err == nil {
		return flat, true
	}
	if _, err := os.Stat(tagged); err == nil {
		return tagged, true
	}
	if fi, err := os.Stat(tagDir); err == nil && fi.IsDir() {
		return tagged, true
	}
	return flat, true
}

// noneRehashed makes re-hashing nothing a problem when the registry names
// downloads: the directory is the wrong one or has another layout, and
// "ok" would claim a check that never happened.
func (v *verifier) noneRehashed() {
	if v.opts.ArtifactsDir == "" || len(v.named) == 0 || len(v.rep.Checked) > 0 {
		return
	}
	dir := v.opts.ArtifactsDir
	v.problem("", "artifacts directory %s holds none of the %d files the registry's download URLs name, so nothing was re-hashed (looked for %s and %s, the dir publisher's layout); point it at the directory holding the release files",
		dir, len(v.named), filepath.Join(dir, "<file>"), filepath.Join(dir, "<name>@<version>", "<file>"))
}

// Pending lists the versions touched by changes that still have no
// top-level download (per-platform fragments merged without the primary
// platform's). Joblet's installer downloads download_url, so such a
// registry must not be published; Verify fails on it.
func Pending(r *schema.Registry, changes Changes) []Ref {
	var out []Ref
	seen := map[Ref]bool{}
	for _, c := range changes {
		ref := Ref{Name: c.Name, Version: c.Version}
		if c.Version == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		if e := r.Runtimes[c.Name][c.Version]; e != nil && e.Checksum == "" {
			if len(e.Platforms) > 0 {
				ref.Detail = "waiting for the " + e.Platforms[0] + " artifact"
			}
			out = append(out, ref)
		}
	}
	return out
}
