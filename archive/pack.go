package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/pgzip"
)

// Compression parameters. They are part of the format: changing either
// changes the bytes of every archive, so rebuilds would no longer compare
// equal with earlier releases.
const (
	// BlockSize is the pgzip block size. It is fixed so that the output
	// does not depend on Concurrency.
	BlockSize = 1 << 20
	// Level is the deflate level (klauspost/compress levels). Measured on
	// a 370 MB Go+Python tree: level 6 is about 2% larger than gzip -6 and
	// several times faster on 2 cores; level 5 is ~15% faster but 3.5%
	// larger (see scripts/bench/package.sh).
	Level = 6
	// gzipOS is the OS byte of the gzip header (3 = Unix, as gzip -n writes).
	gzipOS = 3
)

// Reading ahead: files up to smallFile bytes are read whole by worker
// goroutines, at most window entries ahead of the tar writer; larger files
// are opened ahead and streamed by the writer.
const (
	smallFile   = 256 << 10
	window      = 128
	readWorkers = 4
)

// PackOptions configures Pack.
type PackOptions struct {
	// SourceDateEpoch: every mtime is clamped to at most this (zero = clamp
	// to Unix 0, so every entry has mtime 0).
	SourceDateEpoch time.Time
	// Concurrency is the number of pgzip blocks in flight; 0 means
	// runtime.GOMAXPROCS. The output is byte-identical for every value.
	Concurrency int
	// Prefix is an optional top-level directory for every entry
	// ("python-3.11/" for source packages); "" for artifacts. A trailing
	// slash is added when missing.
	Prefix string
	// LinkRoot is the directory absolute symlink targets are resolved
	// against, for trees collected from a chroot (the chroot's root); ""
	// means the host's "/".
	LinkRoot string
	// Warn, when set, receives warnings, in entry order and from the
	// goroutine that called Pack: one line per entry whose mode was
	// normalised (see NormalMode), at most MaxModeWarnings of them, then one
	// line with the total.
	Warn func(msg string)
}

// Stats describes an archive.
type Stats struct {
	Size         int64  `json:"size"`          // bytes of the .tar.gz
	SHA256       string `json:"sha256"`        // lowercase hex of the .tar.gz bytes
	UnpackedSize int64  `json:"unpacked_size"` // sum of the sizes of regular files
	Entries      int64  `json:"entries"`       // tar entries (directories, files, links)
}

// entry is one member of the archive being written.
type entry struct {
	rel  string // slash-separated path relative to the packed dir ("" for the prefix dir)
	name string // tar name: prefix + rel, directories with a trailing "/"
	dir  bool   // from the directory listing, used only for sorting names
}

// slot carries one entry from a reader worker to the tar writer.
type slot struct {
	ready   chan struct{}
	hdr     tar.Header
	buf     []byte      // whole content of a small file (reused)
	file    *os.File    // open large file, streamed by the writer
	before  fs.FileInfo // what Lstat saw of file, compared after streaming it
	from    fs.FileMode // the mode on disk, when it differs from the header's (changed)
	changed bool
	err     error
}

// Pack writes dir as a deterministic .tar.gz to w (see the package comment
// for the format) and returns its statistics.
func Pack(ctx context.Context, dir string, w io.Writer, opts PackOptions) (Stats, error) {
	p, err := newPacker(dir, opts)
	if err != nil {
		return Stats{}, err
	}
	entries, err := p.walk(ctx)
	if err != nil {
		return Stats{}, err
	}
	return p.write(ctx, entries, w)
}

// PackFile packs dir into outPath and writes "<outPath>.sha256" in
// sha256sum format ("<hex>  <basename>\n"). The two are replaced as a pair:
// both are written to temporary files in outPath's directory and synced,
// then the archive is renamed into place and the .sha256 last, so a
// .sha256 written by PackFile always describes the archive beside it. Until
// the new .sha256 is in place the previous archive is kept through a hard
// link, so any failure (a cancelled context included) leaves a previous
// archive and .sha256 as they were, and no temporary file behind.
func PackFile(ctx context.Context, dir, outPath string, opts PackOptions) (Stats, error) {
	return packFile(ctx, dir, outPath, opts, nil)
}

// packFile is PackFile; fault, in tests, makes the named step fail:
// "sidecar" (writing the temporary .sha256) or "rename-sidecar" (renaming
// it into place, after the archive was renamed).
func packFile(ctx context.Context, dir, outPath string, opts PackOptions, fault func(step string) error) (st Stats, err error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return Stats{}, err
	}
	absOut, err := filepath.Abs(outPath)
	if err != nil {
		return Stats{}, err
	}
	if within(absDir, filepath.Dir(absOut)) {
		return Stats{}, fmt.Errorf("package %s: output %s is inside the packed tree; write it elsewhere", dir, outPath)
	}
	if fault == nil {
		fault = func(string) error { return nil }
	}
	var temps []string // removed unless consumed by a rename
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	tmpArchive, err := writeTemp(absOut, func(f *os.File) error {
		var err error
		st, err = Pack(ctx, dir, f, opts)
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("package %s: %w", dir, err)
	}
	temps = append(temps, tmpArchive)
	sum := fmt.Sprintf("%s  %s\n", st.SHA256, filepath.Base(absOut))
	tmpSum, err := writeTemp(absOut+".sha256", func(f *os.File) error {
		if err := fault("sidecar"); err != nil {
			return err
		}
		_, err := f.WriteString(sum)
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("package %s: %s.sha256: %w", dir, outPath, err)
	}
	temps = append(temps, tmpSum)
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("package %s: %w", dir, err)
	}

	// Keep the previous archive until the new pair is complete: a hard
	// link, or where the filesystem has none, the file moved aside.
	backup, movedAside := "", false
	if _, err := os.Lstat(absOut); err == nil {
		backup = tmpArchive + ".previous"
		if err := os.Link(absOut, backup); err != nil {
			if err := os.Rename(absOut, backup); err != nil {
				return Stats{}, fmt.Errorf("package %s: keeping the previous %s until the new one is complete: %w", dir, outPath, err)
			}
			movedAside = true
		}
		temps = append(temps, backup)
	}
	if err := os.Rename(tmpArchive, absOut); err != nil {
		if movedAside {
			os.Rename(backup, absOut)
		}
		return Stats{}, fmt.Errorf("package %s: %w", dir, err)
	}
	temps = slices.DeleteFunc(temps, func(t string) bool { return t == tmpArchive })
	err = fault("rename-sidecar")
	if err == nil {
		err = os.Rename(tmpSum, absOut+".sha256")
	}
	if err != nil {
		// The old .sha256 (if any) is untouched: put the archive it
		// describes back, or remove the new one when there was none.
		restore := "removed the new archive"
		var rerr error
		if backup != "" {
			restore = "put the previous archive back"
			rerr = os.Rename(backup, absOut)
		} else {
			rerr = os.Remove(absOut)
		}
		if rerr != nil {
			return Stats{}, fmt.Errorf("package %s: %s.sha256: %w (and could not %s: %v)", dir, outPath, err, strings.TrimPrefix(restore, "put "), rerr)
		}
		return Stats{}, fmt.Errorf("package %s: %s.sha256: %w (%s)", dir, outPath, err, restore)
	}
	syncDir(filepath.Dir(absOut))
	return st, nil
}

// writeTemp writes a temporary file beside path (mode 0644, synced and
// closed) and returns its name; on error nothing is left.
func writeTemp(path string, fill func(*os.File) error) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return "", err
	}
	if err = f.Chmod(0o644); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// within reports whether p is root or below it (both absolute, cleaned).
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

type packer struct {
	dir      string // as given
	roots    []string
	opts     PackOptions
	prefix   string
	epoch    int64
	linkRoot string
}

func newPacker(dir string, opts PackOptions) (*packer, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("package: %s is not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &packer{dir: dir, roots: []string{abs}, opts: opts}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		p.roots = append(p.roots, real)
	}
	if opts.LinkRoot != "" {
		lr, err := filepath.Abs(opts.LinkRoot)
		if err != nil {
			return nil, err
		}
		p.linkRoot = lr
	}
	if opts.Prefix != "" {
		pre := strings.Trim(opts.Prefix, "/")
		if pre == "" || pre != filepath.ToSlash(filepath.Clean(pre)) || strings.HasPrefix(pre, "..") {
			return nil, fmt.Errorf("package: prefix %q must be a relative directory name such as \"python-3.11/\"", opts.Prefix)
		}
		p.prefix = pre + "/"
	}
	if !opts.SourceDateEpoch.IsZero() {
		p.epoch = opts.SourceDateEpoch.Unix()
	}
	if p.epoch < 0 {
		p.epoch = 0
	}
	return p, nil
}

// walk lists the tree and returns its entries sorted by tar name.
func (p *packer) walk(ctx context.Context) ([]entry, error) {
	var entries []entry
	if p.prefix != "" {
		entries = append(entries, entry{rel: "", name: p.prefix, dir: true})
	}
	var rec func(rel string) error
	rec = func(rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		des, err := os.ReadDir(filepath.Join(p.dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		for _, de := range des {
			r := de.Name()
			if rel != "" {
				r = rel + "/" + r
			}
			e := entry{rel: r, name: p.prefix + r, dir: de.IsDir()}
			if e.dir {
				e.name += "/"
			}
			entries = append(entries, e)
			if e.dir {
				if err := rec(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := rec(""); err != nil {
		return nil, fmt.Errorf("package %s: %w", p.dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

// hashCounter hashes and counts the compressed bytes on their way out and
// records the size of each write (pgzip writes its header, then each
// block, then its trailer; see checkRatio).
type hashCounter struct {
	w      io.Writer
	h      hash.Hash
	n      int64
	writes []int64
}

func (hc *hashCounter) Write(b []byte) (int, error) {
	n, err := hc.w.Write(b)
	hc.h.Write(b[:n])
	hc.n += int64(n)
	hc.writes = append(hc.writes, int64(n))
	return n, err
}

// countWriter counts the uncompressed tar stream.
type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(b []byte) (int, error) {
	n, err := cw.w.Write(b)
	cw.n += int64(n)
	return n, err
}

func (p *packer) write(ctx context.Context, entries []entry, w io.Writer) (st Stats, err error) {
	hc := &hashCounter{w: w, h: sha256.New()}
	zw, err := pgzip.NewWriterLevel(hc, Level)
	if err != nil {
		return Stats{}, err
	}
	blocks := p.opts.Concurrency
	if blocks <= 0 {
		blocks = runtime.GOMAXPROCS(0)
	}
	if err := zw.SetConcurrency(BlockSize, blocks); err != nil {
		return Stats{}, err
	}
	zw.Name, zw.Comment, zw.Extra = "", "", nil
	zw.ModTime = time.Unix(0, 0)
	zw.OS = gzipOS
	closed := false
	defer func() {
		if !closed {
			zw.Close() // stops pgzip's goroutines after an error
		}
	}()
	cw := &countWriter{w: zw}
	tw := tar.NewWriter(cw)
	modes := &modeWarnings{warn: p.opts.Warn}
	var spans []span

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make([]slot, window)
	for i := range slots {
		slots[i].ready = make(chan struct{}, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	var wg sync.WaitGroup
	// Dispatcher: hands out indices in order, at most window ahead.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range entries {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range readWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				s := &slots[i%window]
				s.err = p.prepare(&entries[i], s)
				s.ready <- struct{}{}
			}
		}()
	}
	defer func() {
		// Stop the dispatcher and the workers (a worker finishing its
		// entry never blocks: its slot's previous result was consumed
		// before its index was dispatched), then close files left open.
		cancel()
		wg.Wait()
		for i := range slots {
			if slots[i].file != nil {
				slots[i].file.Close()
				slots[i].file = nil
			}
		}
	}()

	copyBuf := make([]byte, 256<<10)
	for i := range entries {
		s := &slots[i%window]
		// A cancelled context wins even when the slot is ready too.
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		}
		if s.err != nil {
			return Stats{}, s.err
		}
		if s.changed {
			modes.note(displayName(entries[i]), s.from, s.hdr.Mode)
		}
		if err := tw.WriteHeader(&s.hdr); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", entries[i].rel, err)
		}
		st.Entries++
		if s.hdr.Typeflag == tar.TypeReg {
			st.UnpackedSize += s.hdr.Size
			if s.hdr.Size >= ratioSpanMin {
				spans = append(spans, span{rel: entries[i].rel, start: cw.n, size: s.hdr.Size})
			}
			if s.file != nil {
				n, err := io.CopyBuffer(tw, io.LimitReader(s.file, s.hdr.Size), copyBuf)
				if err == nil && n != s.hdr.Size {
					err = fmt.Errorf("file shrank from %d to %d bytes while packing", s.hdr.Size, n)
				}
				var after fs.FileInfo
				if err == nil {
					after, err = s.file.Stat()
				}
				s.file.Close()
				before := s.before
				s.file, s.before = nil, nil
				if err != nil {
					return Stats{}, fmt.Errorf("%s: %w", entries[i].rel, err)
				}
				if err := checkUnchanged(entries[i].rel, before, after); err != nil {
					return Stats{}, err
				}
			} else if _, err := tw.Write(s.buf); err != nil {
				return Stats{}, err
			}
		}
		<-tokens
	}
	modes.finish()
	if err := tw.Close(); err != nil {
		return Stats{}, err
	}
	closed = true
	if err := zw.Close(); err != nil {
		return Stats{}, err
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	if err := checkRatio(hc.writes, cw.n, spans); err != nil {
		return Stats{}, err
	}
	st.Size = hc.n
	st.SHA256 = hex.EncodeToString(hc.h.Sum(nil))
	return st, nil
}

// displayName is how warnings name an entry: its path in the packed tree,
// "." for the tree itself, with a trailing "/" on directories.
func displayName(e entry) string {
	switch {
	case e.rel == "":
		return "./"
	case e.dir:
		return e.rel + "/"
	}
	return e.rel
}

// prepare fills s with the header (and small content) of e. It runs in a
// reader worker.
func (p *packer) prepare(e *entry, s *slot) error {
	// The writer never produces a name the reader would refuse.
	if err := checkChars(e.rel, e.rel); err != nil {
		return err
	}
	if len(e.name) > MaxNameLength {
		return reject(e.rel, RuleLength, "name of %d bytes, over %d", len(e.name), MaxNameLength)
	}
	full := filepath.Join(p.dir, filepath.FromSlash(e.rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	mode := fi.Mode()
	mtime := fi.ModTime().Unix()
	if mtime > p.epoch {
		mtime = p.epoch
	}
	if mtime < 0 {
		mtime = 0
	}
	s.hdr = tar.Header{
		Name:    e.name,
		Mode:    int64(NormalMode(mode)),
		ModTime: time.Unix(mtime, 0),
	}
	s.from, s.changed = mode, mode&fs.ModeSymlink == 0 && UnixMode(mode) != s.hdr.Mode
	switch {
	case mode.IsDir():
		if !e.dir {
			return fmt.Errorf("%s: became a directory while packing", e.rel)
		}
		s.hdr.Typeflag = tar.TypeDir
	case mode.IsRegular():
		if e.dir {
			return fmt.Errorf("%s: stopped being a directory while packing", e.rel)
		}
		s.hdr.Typeflag = tar.TypeReg
		s.hdr.Size = fi.Size()
		if fi.Size() == 0 {
			s.buf = s.buf[:0]
			return nil
		}
		f, err := os.Open(full)
		if err != nil {
			return err
		}
		if fi.Size() > smallFile {
			s.file, s.before = f, fi
			return nil
		}
		defer f.Close()
		size := int(fi.Size())
		if cap(s.buf) < size+1 {
			s.buf = make([]byte, size+1, max(size+1, 4096))
		}
		buf := s.buf[:size+1]
		n, err := io.ReadFull(f, buf)
		switch {
		case err == nil:
			return fmt.Errorf("%s: file grew while packing", e.rel)
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			if n != size {
				return fmt.Errorf("%s: file shrank from %d to %d bytes while packing", e.rel, size, n)
			}
		default:
			return fmt.Errorf("%s: %w", e.rel, err)
		}
		s.buf = buf[:n]
		after, err := f.Stat()
		if err != nil {
			return fmt.Errorf("%s: %w", e.rel, err)
		}
		if err := checkUnchanged(e.rel, fi, after); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		target, err = p.checkLink(e.rel, target)
		if err != nil {
			return err
		}
		if err := checkChars(e.rel, target); err != nil {
			return err
		}
		s.hdr.Typeflag = tar.TypeSymlink
		s.hdr.Linkname = target
	case mode&fs.ModeDevice != 0, mode&fs.ModeCharDevice != 0:
		return reject(e.rel, RuleType, "device node (%v); runtimes may hold only files, directories and symlinks", mode)
	case mode&fs.ModeNamedPipe != 0:
		return reject(e.rel, RuleType, "FIFO; runtimes may hold only files, directories and symlinks")
	case mode&fs.ModeSocket != 0:
		return reject(e.rel, RuleType, "socket; runtimes may hold only files, directories and symlinks")
	default:
		return reject(e.rel, RuleType, "unsupported file type %v", mode.Type())
	}
	return nil
}

// checkLink validates the symlink at rel and returns the target to record:
// unchanged when relative, rewritten relative when absolute and inside.
func (p *packer) checkLink(rel, target string) (string, error) {
	if target == "" {
		return "", reject(rel, RuleSymlinkEscape, "empty symlink target")
	}
	if filepath.IsAbs(target) {
		inRel, ok := p.absToRel(target)
		if !ok {
			return "", reject(rel, RuleSymlinkEscape, "absolute target %q is outside the tree; make it relative to a file inside the runtime", target)
		}
		r, err := filepath.Rel("/"+parentOf(rel), "/"+inRel)
		if err != nil {
			return "", err
		}
		target = filepath.ToSlash(r)
	}
	err := resolveInTree(rel, target, p.lookup, p.absToRel)
	if errors.Is(err, errEscape) {
		return "", reject(rel, RuleSymlinkEscape, "target %q resolves outside the tree", target)
	}
	if errors.Is(err, errLoop) {
		return "", reject(rel, RuleSymlinkEscape, "target %q: %v", target, err)
	}
	if err != nil {
		return "", fmt.Errorf("%s: resolving symlink: %w", rel, err)
	}
	return target, nil
}

// absToRel maps an absolute symlink target to a tree-relative path.
func (p *packer) absToRel(target string) (string, bool) {
	t := filepath.Clean(target)
	if p.linkRoot != "" {
		t = filepath.Join(p.linkRoot, t)
	}
	for _, root := range p.roots {
		if within(root, t) {
			r, err := filepath.Rel(root, t)
			if err != nil {
				return "", false
			}
			if r == "." {
				r = ""
			}
			return filepath.ToSlash(r), true
		}
	}
	return "", false
}

func (p *packer) lookup(rel string) (string, bool, error) {
	full := filepath.Join(p.dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return "", false, nil
		}
		return "", false, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", false, nil
	}
	t, err := os.Readlink(full)
	return t, true, err
}
