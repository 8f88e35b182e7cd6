package consumer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// RecordFile is the install record rtool writes at the root of every
// runtime it installs, next to runtime.yml: what was installed (the
// artifact's sha256 and size, the registry, the time) and every entry of
// the tree as it was placed (path, type, mode, size, sha256 or symlink
// target). It is written into the staging tree before the tree is synced
// and renamed into place, so an install and its record appear together or
// not at all. Joblet's resolver reads only runtime.yml and its mounts only
// their sources, so the file is invisible to Joblet; it is not part of the
// tree it describes.
const RecordFile = ".rtool-install.json"

// RecordFormat is the format version of RecordFile.
const RecordFormat = 1

// InstallRecord is the content of RecordFile.
type InstallRecord struct {
	Format      int    `json:"format"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Platform    string `json:"platform,omitempty"`
	Mode        Mode   `json:"mode,omitempty"`
	Registry    string `json:"registry,omitempty"`
	URL         string `json:"url,omitempty"`
	Checksum    string `json:"checksum"` // of the artifact (.tar.gz) installed
	Size        int64  `json:"size"`
	InstalledAt string `json:"installed_at"`
	// Digest is sha256 over the entries' canonical lines (see
	// TreeEntry.line), so two trees are equal exactly when their digests
	// are.
	Digest  string      `json:"digest"`
	Files   int         `json:"files"`
	Bytes   int64       `json:"bytes"`
	Entries []TreeEntry `json:"entries"`
}

// TreeEntry is one entry of an installed tree.
type TreeEntry struct {
	Path   string `json:"path"` // relative, slash-separated
	Type   string `json:"type"` // file, dir, symlink or other
	Mode   string `json:"mode"` // permission bits and setuid/setgid/sticky, octal
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // files
	Target string `json:"target,omitempty"` // symlinks
}

// Entry types.
const (
	entryFile    = "file"
	entryDir     = "dir"
	entrySymlink = "symlink"
	entryOther   = "other"
)

// line is the entry's canonical line in the digest.
func (e TreeEntry) line() string {
	return e.Type + " " + e.Mode + " " + strconv.FormatInt(e.Size, 10) + " " + e.SHA256 + " " + strconv.Quote(e.Target) + " " + strconv.Quote(e.Path) + "\n"
}

// treeDigest returns sha256 over the lines of entries sorted by path.
func treeDigest(entries []TreeEntry) string {
	h := sha256.New()
	for _, e := range entries {
		io.WriteString(h, e.line())
	}
	return schema.ChecksumPrefix + hex.EncodeToString(h.Sum(nil))
}

// scanOptions says what scanTree does with each entry besides lstat.
type scanOptions struct {
	hash bool // read every regular file through sha256
	sync bool // fsync every regular file and directory (not the tree root)
	// written, with hash, supplies the sha256 of files as the extractor
	// wrote them: such a file (same path and size) is not read back.
	written *writtenDigests
}

// writtenDigests holds the sha256 of every regular file the extractor
// wrote (archive.ExtractOptions.FileDigest), by absolute path, so the
// install record does not read the whole tree back. Files it does not
// hold (hardlinks) are read.
type writtenDigests struct {
	mu sync.Mutex
	m  map[string]writtenDigest
}

type writtenDigest struct {
	size int64
	sum  [sha256.Size]byte
}

// recorder returns the FileDigest callback for an extraction into dest.
func (w *writtenDigests) recorder(dest string) func(name string, size int64, sum [sha256.Size]byte) {
	w.m = map[string]writtenDigest{}
	return func(name string, size int64, sum [sha256.Size]byte) {
		p := filepath.Join(dest, filepath.FromSlash(name))
		w.mu.Lock()
		w.m[p] = writtenDigest{size, sum}
		w.mu.Unlock()
	}
}

// lookup returns the hex sha256 written to path if it had size bytes.
func (w *writtenDigests) lookup(path string, size int64) (string, bool) {
	if w == nil {
		return "", false
	}
	w.mu.Lock()
	d, ok := w.m[path]
	w.mu.Unlock()
	if !ok || d.size != size {
		return "", false
	}
	return hex.EncodeToString(d.sum[:]), true
}

// scanWorkers is how many files are hashed and synced at once: hashing
// needs the CPUs, fsync waits on the disk and many at once let the
// filesystem commit them together.
func scanWorkers() int { return max(8, 2*runtime.GOMAXPROCS(0)) }

// scanTree lists the tree under dir (never following symlinks) sorted by
// path, leaving out RecordFile at its root. With opts.hash every regular
// file's sha256 is filled in; with opts.sync every regular file and every
// directory below dir is fsynced. Files are read and synced by
// scanWorkers goroutines.
func scanTree(ctx context.Context, dir string, opts scanOptions) ([]TreeEntry, error) {
	var entries []TreeEntry
	var syncDirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." || rel == RecordFile {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := TreeEntry{Path: filepath.ToSlash(rel), Mode: modeString(fi.Mode())}
		switch {
		case fi.Mode().IsRegular():
			e.Type, e.Size = entryFile, fi.Size()
		case fi.IsDir():
			e.Type = entryDir
			if opts.sync {
				syncDirs = append(syncDirs, p)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = entrySymlink
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			e.Type = entryOther
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if opts.hash || opts.sync {
		if err := readFiles(ctx, dir, entries, syncDirs, opts); err != nil {
			return nil, err
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, nil
}

// readFiles hashes and/or syncs the regular files of entries and syncs
// dirs, on scanWorkers goroutines; the first error stops them.
func readFiles(ctx context.Context, dir string, entries []TreeEntry, dirs []string, opts scanOptions) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range scanWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range jobs {
				var err error
				if i < len(entries) {
					err = readFile(ctx, filepath.Join(dir, filepath.FromSlash(entries[i].Path)), &entries[i], buf, opts)
				} else {
					err = syncPath(dirs[i-len(entries)])
				}
				if err != nil {
					cancel(err)
				}
			}
		}()
	}
	// Files first: a directory synced after its files is the cheaper order
	// for a journaling filesystem, and the order does not matter otherwise.
	for i := range len(entries) + len(dirs) {
		if i < len(entries) && entries[i].Type != entryFile {
			continue
		}
		if i < len(entries) && opts.hash && !opts.sync {
			if sum, ok := opts.written.lookup(filepath.Join(dir, filepath.FromSlash(entries[i].Path)), entries[i].Size); ok {
				entries[i].SHA256 = sum
				continue
			}
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// readFile hashes (opts.hash) and fsyncs (opts.sync) one regular file,
// refusing anything that is no longer the regular file scanned.
func readFile(ctx context.Context, path string, e *TreeEntry, buf []byte, opts scanOptions) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is no longer a regular file", path)
	}
	if opts.hash {
		h := sha256.New()
		n, err := io.CopyBuffer(h, ctxReader{ctx, f}, buf)
		if err != nil {
			return fmt.Errorf("hash %s: %w", path, err)
		}
		e.SHA256, e.Size = hex.EncodeToString(h.Sum(nil)), n
	}
	if opts.sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	return nil
}

// syncPath fsyncs a file or directory by path.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
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

// modeString is the octal permission and special bits of m.
func modeString(m fs.FileMode) string { return fmt.Sprintf("%04o", archive.UnixMode(m)) }

// makeDurable records what is about to be installed and makes the tree
// durable before it is renamed into place. One syncfs(2) of the
// filesystem holding the tree (the install root's, as the rename needs)
// writes every file and directory of the extracted tree and commits them,
// while every file is read again through sha256 for the record; then the
// record is written into the tree (RecordFile) and fsynced, and so is the
// tree's root directory. The caller syncs the directory the tree is
// renamed into after the rename.
//
// syncfs also writes other dirty data on that filesystem; an fsync of
// each of the tree's files and directories, the alternative, cost seven
// times as much on the install benchmark's runtime of 21,000 entries (each
// fsync waits for a journal commit), so it is only the fallback where
// syncfs is missing.
func makeDurable(ctx context.Context, tree string, written *writtenDigests, r *Resolved, now time.Time) (*InstallRecord, error) {
	synced := make(chan error, 1)
	go func() { synced <- syncFilesystem(ctx, tree) }()
	entries, err := scanTree(ctx, tree, scanOptions{hash: true, written: written})
	if serr := <-synced; err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("sync the installed tree: %w", err)
	}
	rec := &InstallRecord{
		Format: RecordFormat, Name: r.Name, Version: r.Version, Platform: r.Platform, Mode: r.Mode,
		Registry: r.Registry, URL: r.URL, Checksum: r.Checksum, Size: r.Size,
		InstalledAt: now.UTC().Format(time.RFC3339), Digest: treeDigest(entries), Entries: entries,
	}
	for _, e := range entries {
		if e.Type == entryFile {
			rec.Files++
			rec.Bytes += e.Size
		}
	}
	data, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	if err := writeSynced(filepath.Join(tree, RecordFile), data, 0o644); err != nil {
		return nil, fmt.Errorf("write the install record: %w", err)
	}
	if err := syncPath(tree); err != nil {
		return nil, err
	}
	return rec, nil
}

// syncFilesystem makes everything written under dir durable: syncfs(2) of
// its filesystem, or, where the kernel has none, an fsync of every file
// and directory below dir.
func syncFilesystem(ctx context.Context, dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = unix.Syncfs(int(f.Fd()))
	f.Close()
	if errors.Is(err, unix.ENOSYS) {
		_, err = scanTree(ctx, dir, scanOptions{sync: true})
		return err
	}
	if err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

// encodeRecord writes the record as JSON with one entry per line, so a
// person can read it and a diff of two records is one line per change.
func encodeRecord(rec *InstallRecord) ([]byte, error) {
	head := *rec
	head.Entries = nil
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return nil, err
	}
	// replace the closing "entries": null with the list
	b = bytes.TrimSuffix(bytes.TrimSpace(b), []byte("}"))
	b = bytes.TrimSuffix(bytes.TrimSpace(b), []byte(`"entries": null`))
	var out bytes.Buffer
	out.Write(b)
	out.WriteString("\"entries\": [")
	for i, e := range rec.Entries {
		line, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString("\n    ")
		out.Write(line)
	}
	out.WriteString("\n  ]\n}\n")
	return out.Bytes(), nil
}

// writeSynced creates path with data and fsyncs it.
func writeSynced(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxRecordSize bounds RecordFile (a runtime of a million entries).
const maxRecordSize = 256 << 20

// errNoRecord says an install has no RecordFile: rtool installs made
// before records existed, or installs by another tool.
var errNoRecord = errors.New("no install record")

// ReadInstallRecord reads dir's RecordFile. A missing record is an error
// wrapping errNoRecord (and fs.ErrNotExist).
func ReadInstallRecord(dir string) (*InstallRecord, error) {
	p := filepath.Join(dir, RecordFile)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s): installed by an rtool older than install records, or by another installer", errNoRecord, p)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxRecordSize {
		return nil, fmt.Errorf("install record %s is not a regular file of at most %d bytes", p, maxRecordSize)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var rec InstallRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("install record %s is damaged: %v", p, err)
	}
	if rec.Format != RecordFormat {
		return nil, fmt.Errorf("install record %s has format %d; this rtool reads format %d", p, rec.Format, RecordFormat)
	}
	if got := treeDigest(rec.Entries); got != rec.Digest {
		return nil, fmt.Errorf("install record %s is damaged: its entries hash to %s, not its digest %s", p, got, rec.Digest)
	}
	return &rec, nil
}

// TreeDifference is one way an installed tree differs from its record.
type TreeDifference struct {
	Path    string `json:"path"`
	Problem string `json:"problem"` // missing, extra, type, mode, size, content, target
	Want    string `json:"want,omitempty"`
	Got     string `json:"got,omitempty"`
}

func (d TreeDifference) String() string {
	s := fmt.Sprintf("%-8s %s", d.Problem, d.Path)
	if d.Want != "" || d.Got != "" {
		s += fmt.Sprintf(" (recorded %s, found %s)", d.Want, d.Got)
	}
	return s
}

// compareTree lists how got (a scan of the tree) differs from the
// record's entries, in path order. Contents are compared only when got
// was hashed.
func compareTree(want, got []TreeEntry) []TreeDifference {
	var out []TreeDifference
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i].Path < got[j].Path:
			out = append(out, TreeDifference{Path: want[i].Path, Problem: "missing", Want: want[i].Type})
			i++
		case i == len(want) || got[j].Path < want[i].Path:
			out = append(out, TreeDifference{Path: got[j].Path, Problem: "extra", Got: got[j].Type})
			j++
		default:
			w, g := want[i], got[j]
			switch {
			case w.Type != g.Type:
				out = append(out, TreeDifference{Path: w.Path, Problem: "type", Want: w.Type, Got: g.Type})
			case w.Target != g.Target:
				out = append(out, TreeDifference{Path: w.Path, Problem: "target", Want: w.Target, Got: g.Target})
			case w.Size != g.Size:
				out = append(out, TreeDifference{Path: w.Path, Problem: "size", Want: strconv.FormatInt(w.Size, 10), Got: strconv.FormatInt(g.Size, 10)})
			case g.SHA256 != "" && w.SHA256 != g.SHA256:
				out = append(out, TreeDifference{Path: w.Path, Problem: "content", Want: "sha256:" + w.SHA256, Got: "sha256:" + g.SHA256})
			}
			if w.Type == g.Type && w.Mode != g.Mode {
				out = append(out, TreeDifference{Path: w.Path, Problem: "mode", Want: w.Mode, Got: g.Mode})
			}
			i++
			j++
		}
	}
	return out
}

// summarize names up to n differences for a message.
func summarize(diffs []TreeDifference, n int) string {
	var parts []string
	for i, d := range diffs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(diffs)-n))
			break
		}
		parts = append(parts, strings.TrimSpace(d.String()))
	}
	return strings.Join(parts, "; ")
}
