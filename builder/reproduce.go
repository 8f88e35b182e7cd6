package builder

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// NotReproducibleError says two builds of the same inputs differ and names
// every file that does.
type NotReproducibleError struct {
	Label      string // name/platform
	SHA256     [2]string
	Artifacts  [2]string
	Difference []string // one line per differing entry
}

func (e *NotReproducibleError) Error() string {
	msg := fmt.Sprintf("%s is not reproducible: two builds gave sha256 %s and %s", e.Label, e.SHA256[0], e.SHA256[1])
	if len(e.Difference) == 0 {
		msg += " (the entries are identical; the difference is in the tar or gzip framing)"
	} else {
		msg += fmt.Sprintf("; %d entries differ:", len(e.Difference))
		for _, d := range e.Difference {
			msg += "\n  " + d
		}
	}
	if e.Artifacts[0] != "" && e.Artifacts[1] != "" {
		msg += fmt.Sprintf("\nno artifact was kept as built; both builds are kept for inspection: %s, %s", e.Artifacts[0], e.Artifacts[1])
	}
	return msg
}

// CheckReproducible builds req twice from scratch (the first into
// req.OutDir, the second into a temporary directory) and returns the first
// build's result when both artifacts are byte-identical.
//
// Otherwise it returns a nil result and an error: a *NotReproducibleError
// naming every differing file when the artifacts differ, or the failure of
// either build. Either way the check leaves no artifact in req.OutDir: the
// first build's artifact, its .sha256 and its stamp are removed (so a later
// build cannot reuse it as unchanged and a release cannot publish it), and
// so is the source package when this check created it. When the artifacts
// differ, both are kept under req.OutDir/logs/ for inspection
// (<artifact>.first-build.tar.gz and .second-build.tar.gz, with the logs of
// both builds).
func (b *Builder) CheckReproducible(ctx context.Context, req Request) (*Result, error) {
	req.Rebuild = true
	if req.OutDir == "" {
		req.OutDir = "out"
	}
	ri, err := b.loadRuntime(req.RuntimeDir, req.Platform)
	if err != nil {
		return nil, err
	}
	// Both builds use one SOURCE_DATE_EPOCH even if a commit lands between.
	sde, _, err := archive.SourceDateEpoch(ctx, ri.dir, b.opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	sdeEnv := strconv.FormatInt(sde.Unix(), 10)
	artifact := filepath.Join(req.OutDir, schema.ArtifactName(ri.manifest.Name, ri.manifest.Version, req.Platform))
	source := filepath.Join(req.OutDir, schema.SourcePackageName(ri.manifest.Name, ri.manifest.Version))
	_, serr := os.Lstat(source)
	sourceExisted := serr == nil
	// discard undoes what the first build left in req.OutDir but its log.
	discard := func() {
		removeArtifact(artifact)
		if !sourceExisted {
			os.Remove(source)
			os.Remove(source + ".sha256")
		}
	}

	first, err := b.build(ctx, req, sdeEnv)
	if err != nil {
		discard()
		return nil, err
	}
	logs := filepath.Dir(first.LogPath)
	keep := filepath.Join(logs, strings.TrimSuffix(filepath.Base(first.ArtifactPath), ".tar.gz"))

	tmp, release, err := b.newWorkDir("repro/" + first.Name + "_" + first.Platform)
	if err != nil {
		discard()
		return nil, err
	}
	defer release()
	second := req
	second.OutDir = tmp
	secondLog := filepath.Join(tmp, "logs", filepath.Base(first.LogPath))
	again, err := b.build(ctx, second, sdeEnv)
	if err != nil {
		discard()
		// The temporary directory goes away: keep the second build's log
		// next to the first one and point the error at it.
		if os.Rename(secondLog, keep+".second-build.log") == nil {
			var se *StepError
			if errors.As(err, &se) && se.LogPath == secondLog {
				se.LogPath = keep + ".second-build.log"
			}
		}
		return nil, fmt.Errorf("second build: %w", err)
	}
	if err := ctx.Err(); err != nil {
		discard()
		return nil, fmt.Errorf("check reproducible %s/%s: interrupted: %w", first.Name, first.Platform, err)
	}
	if first.Stats.SHA256 == again.Stats.SHA256 {
		return first, nil
	}
	diff, err := DiffArtifacts(first.ArtifactPath, again.ArtifactPath)
	if err != nil {
		discard()
		return nil, err
	}
	// Keep both artifacts and the second log for inspection, out of the
	// way of the release's artifacts; nothing of this build stays in
	// req.OutDir itself.
	kept := [2]string{keep + ".first-build.tar.gz", keep + ".second-build.tar.gz"}
	for i, a := range []string{first.ArtifactPath, again.ArtifactPath} {
		if err := os.Rename(a, kept[i]); err != nil {
			kept[i] = ""
		}
	}
	os.Rename(again.LogPath, keep+".second-build.log")
	discard()
	return nil, &NotReproducibleError{
		Label:      first.Name + "/" + first.Platform,
		SHA256:     [2]string{first.Stats.SHA256, again.Stats.SHA256},
		Artifacts:  kept,
		Difference: diff,
	}
}

// tarEntry summarises one archive member for comparison.
type tarEntry struct {
	typ     byte
	mode    int64
	uid     int
	gid     int
	size    int64
	mtime   int64
	link    string
	content [32]byte
}

func readEntries(path string) (map[string]tarEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string]tarEntry{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		e := tarEntry{typ: hdr.Typeflag, mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid, size: hdr.Size, mtime: hdr.ModTime.Unix(), link: hdr.Linkname}
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, hdr.Name, err)
		}
		copy(e.content[:], h.Sum(nil))
		out[hdr.Name] = e
	}
}

// DiffArtifacts compares two artifact tarballs entry by entry and returns
// one line per entry that exists in only one of them or differs in type,
// mode, owner, size, modification time, link target or content.
func DiffArtifacts(a, b string) ([]string, error) {
	ea, err := readEntries(a)
	if err != nil {
		return nil, err
	}
	eb, err := readEntries(b)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for n := range ea {
		names[n] = true
	}
	for n := range eb {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out []string
	for _, n := range sorted {
		x, inA := ea[n]
		y, inB := eb[n]
		switch {
		case !inA:
			out = append(out, n+": only in the second build")
		case !inB:
			out = append(out, n+": only in the first build")
		case x.typ != y.typ:
			out = append(out, fmt.Sprintf("%s: type %q vs %q", n, x.typ, y.typ))
		case x.link != y.link:
			out = append(out, fmt.Sprintf("%s: link target %q vs %q", n, x.link, y.link))
		case x.size != y.size || x.content != y.content:
			out = append(out, fmt.Sprintf("%s: content differs (%d vs %d bytes)", n, x.size, y.size))
		case x.mode != y.mode:
			out = append(out, fmt.Sprintf("%s: mode %o vs %o", n, x.mode, y.mode))
		case x.uid != y.uid || x.gid != y.gid:
			out = append(out, fmt.Sprintf("%s: owner %d:%d vs %d:%d", n, x.uid, x.gid, y.uid, y.gid))
		case x.mtime != y.mtime:
			out = append(out, fmt.Sprintf("%s: mtime %d vs %d", n, x.mtime, y.mtime))
		}
	}
	return out, nil
}
