// Package archive owns the runtime tarball format in both directions.
//
// The writer (Pack, PackFile) turns a directory into a deterministic
// .tar.gz: entries in strictly increasing byte order of their names (so a
// directory precedes its contents), owner 0:0 without user or group names,
// normalised modes (NormalMode: directories 0755, files 0644, or 0755 when
// any execute bit is set; nothing group- or other-writable, no setuid,
// setgid or sticky bit; each entry whose mode changes is reported through
// PackOptions.Warn), modification times clamped to SourceDateEpoch and
// truncated to whole seconds, USTAR headers unless a name or link target needs PAX (long
// or non-ASCII names), no atime/ctime records, hardlinked files written as
// regular files (Joblet drops hardlinks), and a gzip header without name or
// time and a fixed OS byte. Compression is github.com/klauspost/pgzip with a
// fixed block size, so the bytes are identical for every Concurrency value
// and across runs with the same inputs, Go archive/tar and klauspost/compress
// versions (TestGoldenFormat pins the bytes).
// Symlinks must stay inside the tree (absolute ones pointing inside are
// rewritten relative); anything else that is not a regular file, directory
// or symlink is refused with a *RejectError naming the path. The writer
// never produces what the reader refuses: a tree whose archive would exceed
// the reader's decompression ratio (MaxRatio, a file of zeros) is refused
// under RuleRatio naming its largest files, and a file that changes while
// it is read (size, mtime, ctime or inode) fails the pack naming the file.
// PackFile replaces an archive and its .sha256 as a pair (see PackFile).
//
// The reader (Extract, Inspect) is the security boundary of an install: it
// treats every archive as hostile, writes only through an os.Root opened on
// the destination and refuses, with a *RejectError naming the entry and the
// rule, anything outside a small safe subset (see Extract). It installs
// the same normalised modes whatever the archive's headers say.
//
// The package must not know about registries, downloads, builds or install
// locations: callers pass limits and paths in.
package archive
