package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// ExtractOptions configures Extract.
type ExtractOptions struct {
	MaxUnpackedSize int64 // from the registry's unpacked_size; 0 = absolute ceiling only
	MaxEntries      int64 // from the registry's entries; 0 = absolute ceiling only
	Concurrency     int   // pgzip read-ahead blocks of 512 KiB; 0 = 4
	// Workers is how many goroutines write the contents of files up to
	// 256 KiB while the caller's goroutine decompresses and checks the
	// stream; 0 = 4, negative = none (every file is written by the reading
	// goroutine). Larger files are always written by the reading goroutine.
	Workers int
	// SkipHash leaves Stats.SHA256 empty instead of hashing the input, for
	// a caller that hashes the bytes it feeds in itself.
	SkipHash bool
	// FileDigest, when set, is called once for every regular file written
	// (hardlinks are not), with its name relative to dest (slash-separated,
	// as Extract cleaned it), its size and the sha256 of the bytes written,
	// from the goroutine that wrote it: concurrently, so it must be safe
	// for that. It spares a caller that records the tree reading every file
	// back.
	FileDigest func(name string, size int64, sum [sha256.Size]byte)
}

// node is what the extractor knows about a path it created.
type node struct {
	typ      byte   // tar.TypeDir, tar.TypeReg (also hardlinks), tar.TypeSymlink
	link     string // symlink target
	implicit bool   // directory created for an entry's parent, not by its own entry
}

type dirMeta struct {
	name  string
	mode  os.FileMode
	mtime time.Time
}

type extractor struct {
	ctx      context.Context
	root     *os.Root
	opts     ExtractOptions
	maxSize  int64
	maxEnt   int64
	nodes    map[string]*node
	tops     map[string]bool // top-level names created, for cleanup
	symlinks []string
	dirs     []dirMeta
	buf      []byte
	st       Stats
	handles  dirCache
	w        *writers
	umask    os.FileMode // the process umask, or 0o777 when unknown (then every file is chmodded)
}

// Extract reads the .tar.gz stream gz into dest, an existing empty
// directory, treating the archive as hostile. All writes go through an
// os.Root on dest. It reads gz to its very end (so a caller hashing the
// bytes it feeds in hashes all of them) and returns the same Stats as
// Pack/Inspect.
//
// Accepted: regular files, directories, symlinks whose target is relative
// and resolves inside the tree (checked again once the whole tree is known),
// hardlinks to an earlier regular file of the archive, PAX path/linkpath
// and other non-attribute records, a PAX global header holding only a
// comment (git archive), a leading "./" on names and a "./" root entry
// (ignored). An archive whose only top-level entry is a directory is
// extracted as it is: no wrapper directory is stripped, the caller decides
// whether that layout is acceptable.
//
// Refused with a *RejectError naming the entry and the rule: absolute names,
// ".." components, empty or "." components, NUL, control characters or
// invalid UTF-8 in names, names over MaxNameLength or components over
// MaxComponentLength, the same name twice, entries below a symlink or a
// file, symlinks that are absolute or escape the tree, hardlinks to anything
// but an earlier regular file, device nodes, FIFOs and other types, sparse
// files, xattr/ACL/file-flag PAX records, more content than MaxUnpackedSize
// (or CeilingUnpackedSize), more entries than MaxEntries (or
// CeilingEntries), a decompression ratio over MaxRatio, a truncated or
// corrupt gzip stream, a second gzip member or any byte after the gzip
// stream, and anything but zero padding after the tar end-of-archive.
//
// Ownership is not restored (files belong to the extracting user). Modes
// are normalised as the writer does (NormalMode), whatever the archive
// says: directories, implicit parents included, 0755; files 0755 when the
// header has any execute bit, else 0644. So an archive cannot install
// anything group- or other-writable, setuid, setgid or sticky, nor anything
// a job's user cannot read. Modification times of files and directories
// are restored.
//
// Every check is made by the calling goroutine, entry by entry in stream
// order; the contents of small files are then written by a bounded pool of
// goroutines (ExtractOptions.Workers), files of one directory by one of
// them, while the stream is read on. Directories are created before their
// files, a hardlink waits until every earlier file is complete, and
// directory modes are applied once every file is written.
//
// On any error, everything Extract created in dest is removed again.
func Extract(ctx context.Context, gz io.Reader, dest string, opts ExtractOptions) (Stats, error) {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return Stats{}, fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	d, err := root.Open(".")
	if err != nil {
		return Stats{}, fmt.Errorf("extract: %w", err)
	}
	names, _ := d.Readdirnames(1)
	d.Close()
	if len(names) > 0 {
		return Stats{}, fmt.Errorf("extract: destination %s is not empty", dest)
	}
	x := &extractor{
		ctx:     ctx,
		root:    root,
		opts:    opts,
		maxSize: limit(opts.MaxUnpackedSize, CeilingUnpackedSize),
		maxEnt:  limit(opts.MaxEntries, CeilingEntries),
		nodes:   map[string]*node{},
		tops:    map[string]bool{},
		buf:     make([]byte, 256<<10),
		umask:   processUmask(),
	}
	x.handles.root = &dirHandle{root: root, own: true}
	x.w = startWriters(x.opts.Workers, x)
	st, err := x.run(gz)
	if err != nil {
		x.w.abort()
	}
	// No writer may still be creating files when the tree is cleaned up or
	// directory modes are applied.
	if werr := x.w.stop(); err == nil && werr != nil {
		err = werr
	}
	if err == nil {
		err = x.finishTree()
	}
	x.handles.close()
	if err != nil {
		x.cleanup()
		return Stats{}, err
	}
	return st, nil
}

func limit(v, ceiling int64) int64 {
	if v <= 0 || v > ceiling {
		return ceiling
	}
	return v
}

func (x *extractor) cleanup() {
	for top := range x.tops {
		x.root.RemoveAll(top)
	}
}

func (x *extractor) run(gz io.Reader) (Stats, error) {
	s, err := openStream(x.ctx, gz, x.opts.Concurrency, !x.opts.SkipHash)
	if err != nil {
		return Stats{}, err
	}
	defer s.close()
	headers := &sparseWatch{r: s.dec}
	tr := tar.NewReader(headers)
	last := ""
	for {
		if err := x.ctx.Err(); err != nil {
			return Stats{}, err
		}
		headers.start()
		hdr, err := tr.Next()
		headers.stop()
		if err == io.EOF {
			break
		}
		if err != nil && headers.seen {
			// archive/tar reads a PAX 1.0 sparse map inside Next and fails
			// there on a bad one, before any header reaches entry().
			return Stats{}, reject(after(last), RuleSparse, "PAX sparse file (GNU.sparse.* records): sparse files are not accepted (%v)", err)
		}
		if err != nil {
			return Stats{}, s.classify(after(last), err)
		}
		name, skip, err := x.entry(hdr)
		if err != nil {
			return Stats{}, err
		}
		last = hdr.Name
		if skip {
			continue
		}
		if err := x.w.failed(); err != nil {
			// A writer failed on an earlier entry.
			return Stats{}, err
		}
		if err := x.create(name, hdr, tr); err != nil {
			if werr := x.w.failed(); werr != nil {
				// A writer failed on an earlier entry first.
				return Stats{}, werr
			}
			var re *RejectError
			switch {
			case errors.As(err, &re):
				return Stats{}, s.classify(hdr.Name, re)
			case x.ctx.Err() != nil:
				return Stats{}, x.ctx.Err()
			case s.dec.gzErr != nil || s.raw.err != nil || errors.Is(err, io.ErrUnexpectedEOF):
				// The content could not be read: a stream problem.
				return Stats{}, s.classify(hdr.Name, err)
			}
			return Stats{}, fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
	if err := s.finish(); err != nil {
		return Stats{}, err
	}
	s.stats(&x.st)
	return x.st, nil
}

func after(name string) string {
	if name == "" {
		return ""
	}
	return "after " + name
}

// entry checks the header's name, records and type. It returns the
// cleaned name, or skip for entries that create nothing.
func (x *extractor) entry(hdr *tar.Header) (name string, skip bool, err error) {
	raw := hdr.Name
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		for k := range hdr.PAXRecords {
			if k != "comment" {
				return "", false, reject("(PAX global header)", RuleGlobalHeader, "PAX global header record %q; only a comment is accepted", k)
			}
		}
		return "", true, nil
	}
	x.st.Entries++
	if x.st.Entries > x.maxEnt {
		return "", false, reject(raw, RuleEntries, "more than %d entries", x.maxEnt)
	}
	for k := range hdr.PAXRecords {
		switch {
		case strings.HasPrefix(k, "GNU.sparse."):
			return "", false, reject(raw, RuleSparse, "PAX record %q: sparse files are not accepted", k)
		case strings.HasPrefix(k, "SCHILY.xattr."), strings.HasPrefix(k, "LIBARCHIVE.xattr."),
			strings.HasPrefix(k, "SCHILY.acl."), strings.HasPrefix(k, "RHT.security."),
			k == "SCHILY.fflags", k == "LIBARCHIVE.fflags":
			return "", false, reject(raw, RuleXattr, "PAX record %q: extended attributes, ACLs and file flags are not accepted", k)
		}
	}
	if len(hdr.Xattrs) > 0 { //nolint:staticcheck // read side of deprecated field
		return "", false, reject(raw, RuleXattr, "extended attributes are not accepted")
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeGNUSparse:
		return "", false, reject(raw, RuleSparse, "GNU sparse file")
	case tar.TypeChar, tar.TypeBlock:
		return "", false, reject(raw, RuleType, "device node")
	case tar.TypeFifo:
		return "", false, reject(raw, RuleType, "FIFO")
	default:
		return "", false, reject(raw, RuleType, "entry type %q is not a file, directory, symlink or hardlink", hdr.Typeflag)
	}
	name, root, err := cleanName(raw, hdr.Typeflag == tar.TypeDir)
	if err != nil {
		return "", false, err
	}
	if root {
		return "", true, nil
	}
	return name, false, nil
}

// cleanName validates an entry name and returns it without a leading "./"
// or a trailing "/". root reports the "./" entry itself.
func cleanName(raw string, dir bool) (name string, root bool, err error) {
	if err := checkChars(raw, raw); err != nil {
		return "", false, err
	}
	if strings.HasPrefix(raw, "/") {
		return "", false, reject(raw, RuleAbsolute, "absolute name; entries must be relative to the runtime directory")
	}
	if len(raw) > MaxNameLength {
		return "", false, reject(raw, RuleLength, "name of %d bytes, over %d", len(raw), MaxNameLength)
	}
	name = strings.TrimPrefix(raw, "./")
	if strings.HasSuffix(name, "/") {
		if !dir {
			return "", false, reject(raw, RuleName, "name ends in \"/\" but the entry is not a directory")
		}
		name = strings.TrimSuffix(name, "/")
	}
	if name == "" || name == "." {
		if !dir {
			return "", false, reject(raw, RuleName, "empty name")
		}
		return "", true, nil
	}
	for _, c := range strings.Split(name, "/") {
		switch {
		case c == "..":
			return "", false, reject(raw, RuleDotDot, "\"..\" component")
		case c == "" || c == ".":
			return "", false, reject(raw, RuleName, "empty or \".\" component; names must be clean paths")
		case len(c) > MaxComponentLength:
			return "", false, reject(raw, RuleLength, "component of %d bytes, over %d", len(c), MaxComponentLength)
		}
	}
	return name, false, nil
}

func checkChars(entry, s string) error {
	if !utf8.ValidString(s) {
		return reject(entry, RuleName, "not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return reject(entry, RuleName, "control character %U", r)
		}
	}
	return nil
}

// parents checks and creates the parent directories of name.
func (x *extractor) parents(raw, name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		p := name[:i]
		n := x.nodes[p]
		if n == nil {
			if err := x.mkdir(p, 0o755); err != nil {
				return err
			}
			x.nodes[p] = &node{typ: tar.TypeDir, implicit: true}
			x.track(p)
			// Made 0755 at the end whatever the umask took away (no
			// header, so no time to restore).
			x.dirs = append(x.dirs, dirMeta{name: p, mode: 0o755})
			continue
		}
		switch n.typ {
		case tar.TypeDir:
		case tar.TypeSymlink:
			return reject(raw, RuleUnderSymlink, "parent %q is a symlink", p)
		default:
			return reject(raw, RuleUnderSymlink, "parent %q is not a directory", p)
		}
	}
	return nil
}

func (x *extractor) track(name string) {
	top := name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		top = name[:i]
	}
	x.tops[top] = true
}

func (x *extractor) create(name string, hdr *tar.Header, r io.Reader) error {
	raw := hdr.Name
	if prev := x.nodes[name]; prev != nil {
		if !(prev.implicit && hdr.Typeflag == tar.TypeDir) {
			return reject(raw, RuleDuplicate, "%q appears twice", name)
		}
	}
	if err := x.parents(raw, name); err != nil {
		return err
	}
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	if hdr.Typeflag == tar.TypeDir {
		mode = NormalMode(mode | os.ModeDir)
	} else {
		mode = NormalMode(mode)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if prev := x.nodes[name]; prev != nil {
			prev.implicit = false
		} else {
			if err := x.mkdir(name, 0o700); err != nil {
				return err
			}
			x.nodes[name] = &node{typ: tar.TypeDir}
			x.track(name)
		}
		x.dirs = append(x.dirs, dirMeta{name: name, mode: mode, mtime: hdr.ModTime})
	case tar.TypeReg, tar.TypeRegA:
		if hdr.Size > x.maxSize-x.st.UnpackedSize {
			return reject(raw, RuleSize, "unpacked content over %d bytes", x.maxSize)
		}
		x.st.UnpackedSize += hdr.Size
		x.nodes[name] = &node{typ: tar.TypeReg}
		dir, base := parentOf(name), name[strings.LastIndexByte(name, '/')+1:]
		d, err := x.handles.get(dir)
		if err != nil {
			return err
		}
		x.track(name)
		if hdr.Size <= writerBuf && x.w != nil {
			// Read the content here, in stream order; a writer creates the file.
			buf := x.w.buffer(int(hdr.Size))
			if _, err := io.ReadFull(r, buf); err != nil {
				x.w.put(buf)
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			x.w.submit(fileJob{entry: raw, name: name, dir: d.ref(), base: base, data: buf, mode: mode, mtime: hdr.ModTime})
			return nil
		}
		return x.writeFile(d, name, base, mode, hdr.ModTime, nil, r, hdr.Size)
	case tar.TypeSymlink:
		t := hdr.Linkname
		if err := checkLinkTarget(raw, t); err != nil {
			return err
		}
		x.nodes[name] = &node{typ: tar.TypeSymlink, link: t}
		if err := resolveInTree(name, t, x.lookup, nil); err != nil {
			return reject(raw, RuleSymlinkEscape, "target %q %v", t, err)
		}
		if err := x.root.Symlink(t, name); err != nil {
			return err
		}
		x.track(name)
		x.symlinks = append(x.symlinks, name)
	case tar.TypeLink:
		t, _, err := cleanName(hdr.Linkname, false)
		if err != nil {
			return reject(raw, RuleHardlink, "target %q: %v", hdr.Linkname, err.(*RejectError).Detail)
		}
		if tn := x.nodes[t]; tn == nil || tn.typ != tar.TypeReg {
			return reject(raw, RuleHardlink, "target %q is not an earlier regular file of the archive", hdr.Linkname)
		}
		// The target must be complete (content, mode, time) before it is
		// linked: wait for the writers.
		if err := x.w.wait(); err != nil {
			return err
		}
		if err := x.root.Link(t, name); err != nil {
			return err
		}
		x.nodes[name] = &node{typ: tar.TypeReg}
		x.track(name)
	}
	return nil
}

// onlyWriter hides (*os.File).ReadFrom so io.CopyBuffer uses our buffer.
type onlyWriter struct{ io.Writer }

func checkLinkTarget(entry, t string) error {
	if t == "" {
		return reject(entry, RuleSymlinkEscape, "empty symlink target")
	}
	if len(t) > MaxNameLength {
		return reject(entry, RuleLength, "symlink target of %d bytes, over %d", len(t), MaxNameLength)
	}
	if err := checkChars(entry, t); err != nil {
		return err
	}
	if strings.HasPrefix(t, "/") {
		return reject(entry, RuleSymlinkEscape, "absolute target %q", t)
	}
	return nil
}

func (x *extractor) lookup(rel string) (string, bool, error) {
	n := x.nodes[rel]
	if n == nil || n.typ != tar.TypeSymlink {
		return "", false, nil
	}
	return n.link, true, nil
}

// finishTree re-checks every symlink against the complete tree (a later
// entry can change where an earlier link leads), then applies directory
// modes and times, deepest first.
func (x *extractor) finishTree() error {
	for _, l := range x.symlinks {
		t := x.nodes[l].link
		if err := resolveInTree(l, t, x.lookup, nil); err != nil {
			return reject(l, RuleSymlinkEscape, "target %q %v", t, err)
		}
	}
	sort.Slice(x.dirs, func(i, j int) bool { return x.dirs[i].name > x.dirs[j].name })
	for _, d := range x.dirs {
		// Through the parent's handle: one component to resolve.
		p, err := x.handles.get(parentOf(d.name))
		if err == nil {
			base := d.name[strings.LastIndexByte(d.name, '/')+1:]
			if err = p.root.Chmod(base, d.mode); err == nil && !d.mtime.IsZero() {
				_ = p.root.Chtimes(base, d.mtime, d.mtime) // best effort, like file times
			}
		}
		if err != nil {
			return fmt.Errorf("extract %q: %w", d.name, err)
		}
	}
	return nil
}

// mkdir creates the directory name (its parent exists) through its
// parent's handle.
func (x *extractor) mkdir(name string, perm os.FileMode) error {
	p, err := x.handles.get(parentOf(name))
	if err != nil {
		return err
	}
	return p.root.Mkdir(name[strings.LastIndexByte(name, '/')+1:], perm)
}

// Inspect reads the .tar.gz at path and returns its hash, size, unpacked
// size and entry count, counted the way Pack and Extract count them. The
// stream checks of Extract apply (clean gzip end, only padding after the
// tar end); entry rules do not.
func Inspect(ctx context.Context, path string) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	s, err := openStream(ctx, f, 0, true)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	defer s.close()
	tr := tar.NewReader(s.dec)
	var st Stats
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Stats{}, fmt.Errorf("%s: %w", path, s.classify("", err))
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		st.Entries++
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
			st.UnpackedSize += hdr.Size
		}
	}
	if err := s.finish(); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	s.stats(&st)
	return st, nil
}

// sparseWatch notes whether the bytes archive/tar reads while parsing
// headers (between start and stop) name a GNU.sparse.* PAX record, so a
// header that archive/tar itself rejects can still be refused under the
// sparse rule. File contents, read outside Next, are not scanned.
type sparseWatch struct {
	r    io.Reader
	on   bool
	seen bool
	tail []byte
}

var sparseKey = []byte("GNU.sparse.")

func (w *sparseWatch) start() { w.on, w.seen, w.tail = true, false, w.tail[:0] }
func (w *sparseWatch) stop()  { w.on = false }

func (w *sparseWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if w.on && !w.seen && n > 0 {
		buf := append(w.tail, p[:n]...)
		w.seen = bytes.Contains(buf, sparseKey)
		keep := min(len(buf), len(sparseKey)-1)
		w.tail = append(w.tail[:0], buf[len(buf)-keep:]...)
	}
	return n, err
}
