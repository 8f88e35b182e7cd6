package archive

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"syscall"
	"time"
)

// fileVersion identifies the content of a file at one moment: the inode and
// the size, modification and status-change times. A write changes mtime and
// ctime (even one that restores the mtime afterwards changes ctime), a rename
// over the path changes the inode.
type fileVersion struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

func versionOf(fi fs.FileInfo) fileVersion {
	v := fileVersion{size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.dev, v.ino = uint64(st.Dev), st.Ino
		v.mtime, v.ctime = st.Mtim, st.Ctim
	} else {
		v.mtime = syscall.NsecToTimespec(fi.ModTime().UnixNano())
	}
	return v
}

// changedSince describes how the file changed from before to v ("" when it
// did not).
func (v fileVersion) changedSince(before fileVersion) string {
	ts := func(t syscall.Timespec) string { return time.Unix(t.Unix()).UTC().Format(time.RFC3339Nano) }
	switch {
	case v.dev != before.dev || v.ino != before.ino:
		return "the path now names another file (replaced, for example by a rename)"
	case v.size != before.size:
		return fmt.Sprintf("size %d → %d bytes", before.size, v.size)
	case v.mtime != before.mtime:
		return fmt.Sprintf("modified: mtime %s → %s", ts(before.mtime), ts(v.mtime))
	case v.ctime != before.ctime:
		return fmt.Sprintf("changed: ctime %s → %s", ts(before.ctime), ts(v.ctime))
	}
	return ""
}

// checkUnchanged compares the file read for rel (after) with what Lstat saw
// before it was opened.
func checkUnchanged(rel string, before fs.FileInfo, after fs.FileInfo) error {
	if d := versionOf(after).changedSince(versionOf(before)); d != "" {
		return fmt.Errorf("%s: changed while it was being packed (%s), so the archive would hold a torn copy; pack a tree nothing is writing to", rel, d)
	}
	return nil
}

// span is a regular file's content in the uncompressed tar stream.
type span struct {
	rel         string
	start, size int64
}

// ratioSpanMin is the smallest file recorded to name in a ratio refusal.
const ratioSpanMin = 64 << 10

// checkRatio refuses an archive that Extract and Inspect could refuse under
// RuleRatio. The reader refuses once it has decompressed x > ratioFloor
// bytes from fewer than x/MaxRatio compressed bytes read. Decompressing the
// first x bytes needs at least the gzip header and every compressed block
// before the one holding byte x, and the reader reads no less than that, so
// an archive is safe when, for every pgzip block k ending at byte X_k past
// ratioFloor, X_k <= MaxRatio * (header + compressed blocks 0..k-1). That
// is at most one block (BlockSize) stricter than the reader.
//
// writes are the sizes of the writes pgzip made: the 10-byte header, one
// per block (BlockSize bytes of input each, the last one partial or empty),
// the 8-byte trailer. unpacked is the size of the tar stream.
func checkRatio(writes []int64, unpacked int64, files []span) error {
	if unpacked <= ratioFloor {
		return nil
	}
	blocks := unpacked/BlockSize + 1
	if int64(len(writes)) != blocks+2 {
		// pgzip wrote in another pattern than this check knows (a new
		// version): fall back to the whole-archive ratio.
		var total int64
		for _, w := range writes {
			total += w
		}
		if unpacked > MaxRatio*total {
			return ratioError(unpacked, total, files)
		}
		return nil
	}
	s := writes[0]
	for k := range blocks {
		x := min((k+1)*BlockSize, unpacked)
		if x > ratioFloor && x > MaxRatio*s {
			return ratioError(x, s, files)
		}
		s += writes[1+k]
	}
	return nil
}

func ratioError(x, compressed int64, files []span) error {
	var in []span
	for _, f := range files {
		if f.start < x {
			in = append(in, f)
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].size > in[j].size })
	entry := ""
	var names []string
	for i, f := range in {
		if i == 3 {
			break
		}
		if i == 0 {
			entry = f.rel
		}
		names = append(names, fmt.Sprintf("%s (%s)", f.rel, mib(f.size)))
	}
	where := ""
	if len(names) > 0 {
		where = "; the largest files there: " + strings.Join(names, ", ")
	}
	return reject(entry, RuleRatio,
		"the first %s of the tar stream compress to %d bytes, a ratio over %d:1 past %s, so registry add and runtime install would refuse the archive as a decompression bomb%s. "+
			"Real runtime content compresses 2-10x; only long runs of one byte (files of zeros, preallocated images) compress like this: leave them out and create them at run time",
		mib(x), compressed, MaxRatio, mib(ratioFloor), where)
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
