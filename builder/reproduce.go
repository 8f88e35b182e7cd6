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
		return msg + " (the entries are identical; the difference is in the tar or gzip framing)"
	}
	msg += fmt.Sprintf("; %d entries differ:", len(e.Difference))
	for _, d := range e.Difference {
		msg += "\n  " + d
	}
	return msg
}

// CheckReproducible builds req twice from scratch (the first into
// req.OutDir, the second into a temporary directory) and returns a
// *NotReproducibleError naming every differing file when the artifacts
// differ.
func (b *Builder) CheckReproducible(ctx context.Context, req Request) (*Result, error) {
	req.Rebuild = true
	// Both builds use one SOURCE_DATE_EPOCH even if a commit lands between.
	abs, err := filepath.Abs(req.RuntimeDir)
	if err != nil {
		return nil, err
	}
	sde, _, err := archive.SourceDateEpoch(ctx, abs, b.opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	sdeEnv := strconv.FormatInt(sde.Unix(), 10)
	first, err := b.build(ctx, req, sdeEnv)
	if err != nil {
		return nil, err
	}
	tmp, release, err := b.newWorkDir("repro/" + first.Name + "_" + first.Platform)
	if err != nil {
		return nil, err
	}
	defer release()
	second := req
	second.OutDir = tmp
	again, err := b.build(ctx, second, sdeEnv)
	if err != nil {
		return nil, fmt.Errorf("second build: %w", err)
	}
	if first.Stats.SHA256 == again.Stats.SHA256 {
		return first, nil
	}
	diff, err := DiffArtifacts(first.ArtifactPath, again.ArtifactPath)
	if err != nil {
		return nil, err
	}
	// Keep the second artifact and its log for inspection, out of the
	// way of the release's artifacts.
	keep := filepath.Join(filepath.Dir(first.LogPath), strings.TrimSuffix(filepath.Base(first.ArtifactPath), ".tar.gz")+".second-build.tar.gz")
	if err := os.Rename(again.ArtifactPath, keep); err == nil {
		again.ArtifactPath = keep
	}
	os.Rename(again.LogPath, strings.TrimSuffix(keep, ".tar.gz")+".log")
	return first, &NotReproducibleError{
		Label:      first.Name + "/" + first.Platform,
		SHA256:     [2]string{first.Stats.SHA256, again.Stats.SHA256},
		Artifacts:  [2]string{first.ArtifactPath, again.ArtifactPath},
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
