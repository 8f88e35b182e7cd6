package archive

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// writerBuf is the largest file whose content is read into memory and
// written by a writer goroutine; larger files are streamed to disk by the
// reading goroutine.
const writerBuf = 256 << 10

// defaultWorkers is the number of writer goroutines when
// ExtractOptions.Workers is 0. Creating a file is mostly kernel time, so
// writers overlap with decompression even on one or two CPUs.
const defaultWorkers = 4

// dirHandle is an os.Root opened on a directory of the tree, so files are
// created in it by a single-component name (one openat) instead of walking
// every component from the tree root again. It is closed when the cache
// and every queued file job have let go of it.
type dirHandle struct {
	name string // "" for the tree root
	root *os.Root
	own  bool // the tree root itself: closed by Extract, not here
	refs atomic.Int32
}

func (d *dirHandle) ref() *dirHandle {
	d.refs.Add(1)
	return d
}

func (d *dirHandle) release() {
	if d.refs.Add(-1) == 0 && !d.own {
		d.root.Close()
	}
}

// dirCache keeps the handles of the few directories most recently written
// to. Entries come sorted, so the files of one directory are consecutive
// apart from its subdirectories' files in between.
type dirCache struct {
	root    *dirHandle
	names   []string
	handles []*dirHandle
}

const dirCacheSize = 16

// get returns the handle of dir ("" is the tree root), opened through the
// tree's os.Root: the walk refuses symlinks leading out of the tree as
// every other access does.
func (c *dirCache) get(dir string) (*dirHandle, error) {
	if dir == "" {
		return c.root, nil
	}
	for i, n := range c.names {
		if n == dir {
			if i != 0 {
				// Move to the front.
				h := c.handles[i]
				copy(c.names[1:i+1], c.names[:i])
				copy(c.handles[1:i+1], c.handles[:i])
				c.names[0], c.handles[0] = dir, h
			}
			return c.handles[0], nil
		}
	}
	// Opened from the parent's handle, so every open resolves a single
	// component (the parent comes from the cache or, recursively, the same
	// way).
	p, err := c.get(parentOf(dir))
	if err != nil {
		return nil, err
	}
	r, err := p.root.OpenRoot(dir[strings.LastIndexByte(dir, '/')+1:])
	if err != nil {
		return nil, err
	}
	h := &dirHandle{name: dir, root: r}
	h.refs.Store(1) // the cache's reference
	if len(c.names) == dirCacheSize {
		c.handles[len(c.handles)-1].release()
		c.names = c.names[:len(c.names)-1]
		c.handles = c.handles[:len(c.handles)-1]
	}
	c.names = append([]string{dir}, c.names...)
	c.handles = append([]*dirHandle{h}, c.handles...)
	return h, nil
}

func (c *dirCache) close() {
	for _, h := range c.handles {
		h.release()
	}
	c.names, c.handles = nil, nil
}

// fileJob is a regular file whose content has been read from the stream.
type fileJob struct {
	entry string // the entry name, for errors
	name  string // the cleaned name, relative to the destination
	dir   *dirHandle
	base  string // one path component
	data  []byte
	mode  os.FileMode
	mtime time.Time
}

// writerBudget bounds the file contents held in memory between the
// reading goroutine and the writers.
const writerBudget = 32 << 20

// writers is the bounded pool of goroutines creating files. The files of
// one directory all go to the same writer, in order: creating a file takes
// its directory's lock in the kernel, so writers on one directory would
// only wait for (or spin on) each other, while writers on different
// directories create files in parallel. The read-ahead that lets several
// directories be in flight is bounded by writerBudget bytes.
type writers struct {
	x       *extractor
	queues  []chan fileJob
	pending sync.WaitGroup // submitted jobs not yet done
	done    sync.WaitGroup // worker goroutines
	mu      sync.Mutex
	cond    *sync.Cond // signalled when budget is returned
	budget  int64      // bytes that may still be read ahead (under mu)
	err     error      // first writer error (under mu)
	bad     atomic.Bool
	quit    atomic.Bool // Extract failed: queued files are not written any more
	stopped bool
	// The reading goroutine's last shard choice, to avoid hashing the
	// directory name again for every file.
	lastDir   *dirHandle
	lastShard int
	pools     [len(sizeClasses)]sync.Pool
}

// sizeClasses are the buffer sizes content is read into.
var sizeClasses = [...]int{4 << 10, 16 << 10, 64 << 10, writerBuf}

// startWriters starts n writers (0 = defaultWorkers); none (nil) when n is
// negative. A nil *writers has no error and nothing to wait for.
func startWriters(n int, x *extractor) *writers {
	if n < 0 {
		return nil
	}
	if n == 0 {
		n = defaultWorkers
	}
	w := &writers{x: x, queues: make([]chan fileJob, n), budget: writerBudget}
	w.cond = sync.NewCond(&w.mu)
	w.done.Add(n)
	for i := range w.queues {
		// Enough slots that the byte budget, not a full queue, is what
		// stops the reader (small files), except on pathological archives.
		w.queues[i] = make(chan fileJob, 1024)
		go w.work(w.queues[i])
	}
	return w
}

func sizeClass(n int) int {
	for i, c := range sizeClasses {
		if n <= c {
			return i
		}
	}
	panic("file content over writerBuf")
}

// buffer returns a buffer for n <= writerBuf bytes, waiting while the
// budget of content in flight is used up.
func (w *writers) buffer(n int) []byte {
	c := sizeClass(n)
	w.mu.Lock()
	for w.budget < int64(sizeClasses[c]) {
		w.cond.Wait()
	}
	w.budget -= int64(sizeClasses[c])
	w.mu.Unlock()
	if b, ok := w.pools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, sizeClasses[c])
}

// put returns a buffer from buffer.
func (w *writers) put(b []byte) {
	c := sizeClass(cap(b))
	b = b[:0]
	w.pools[c].Put(&b)
	w.mu.Lock()
	w.budget += int64(sizeClasses[c])
	w.mu.Unlock()
	w.cond.Signal()
}

func (w *writers) submit(j fileJob) {
	if j.dir != w.lastDir {
		w.lastDir = j.dir
		h := fnv.New32a()
		io.WriteString(h, j.dir.name)
		w.lastShard = int(h.Sum32() % uint32(len(w.queues)))
	}
	w.pending.Add(1)
	w.queues[w.lastShard] <- j
}

func (w *writers) work(jobs <-chan fileJob) {
	defer w.done.Done()
	for j := range jobs {
		if !w.bad.Load() && !w.quit.Load() {
			if err := w.x.writeFile(j.dir, j.name, j.base, j.mode, j.mtime, j.data, nil, int64(len(j.data))); err != nil {
				w.fail(fmt.Errorf("extract %q: %w", j.entry, err))
			}
		}
		j.dir.release()
		w.put(j.data)
		w.pending.Done()
	}
}

func (w *writers) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.bad.Store(true)
}

// failed returns the first writer error, if any.
func (w *writers) failed() error {
	if w == nil || !w.bad.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait waits until every submitted file is written.
func (w *writers) wait() error {
	if w == nil {
		return nil
	}
	w.pending.Wait()
	return w.failed()
}

// abort makes the writers drop the files still queued (Extract failed or
// was cancelled and removes everything anyway).
func (w *writers) abort() {
	if w != nil {
		w.quit.Store(true)
	}
}

// stop waits for the writers to finish and end.
func (w *writers) stop() error {
	if w != nil && !w.stopped {
		w.stopped = true
		for _, q := range w.queues {
			close(q)
		}
		w.done.Wait()
	}
	return w.failed()
}

// writeFile creates base in d with the content data (or size bytes read
// from r), the permission bits mode and the modification time mtime.
func (x *extractor) writeFile(d *dirHandle, name, base string, mode os.FileMode, mtime time.Time, data []byte, r io.Reader, size int64) error {
	// Created with its final permission bits when the umask keeps them.
	perm, chmod := mode, mode&x.umask != 0
	if chmod {
		perm = 0o600
	}
	f, err := d.root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	var sum [sha256.Size]byte
	digest := x.opts.FileDigest
	if r == nil {
		_, err = f.Write(data)
		if digest != nil {
			sum = sha256.Sum256(data)
		}
	} else {
		var h hash.Hash
		if digest != nil {
			h = sha256.New()
			r = io.TeeReader(r, h)
		}
		var n int64
		n, err = io.CopyBuffer(onlyWriter{f}, r, x.buf)
		if err == nil && n != size {
			err = io.ErrUnexpectedEOF
		}
		if h != nil {
			h.Sum(sum[:0])
		}
	}
	if err == nil && chmod {
		err = f.Chmod(mode)
	}
	if err == nil {
		// Best effort: an out-of-range time is not worth failing for.
		mt := unix.NsecToTimeval(mtime.UnixNano())
		_ = unix.Futimes(int(f.Fd()), []unix.Timeval{mt, mt})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && digest != nil {
		digest(name, size, sum)
	}
	return err
}

// processUmask reads the umask from /proc/self/status (reading it with
// umask(2) would change it for a moment for every goroutine). Unknown, it
// is reported as 0o777, so every file gets an explicit chmod.
func processUmask() os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0o777
			}
			return os.FileMode(m) & os.ModePerm
		}
	}
	return 0o777
}
