package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// treeHashSmall is the size up to which TreeHash hashes file contents.
const treeHashSmall = 64 << 10

// TreeHash returns a fast fingerprint of the tree at dir: for every entry in
// lexical order its relative name, type and permission bits, owner, size,
// modification and change times (nanoseconds), device number, symlink
// target, and the content hash of regular files up to 64 KiB.
//
// Why this is enough to prove a base was not modified: any write, truncate,
// chmod, chown, rename, link or unlink through the kernel updates ctime (of
// the file or its directory), which userspace cannot set back, so a tree
// whose every ctime, size and mode is unchanged was not touched; hashing the
// small files (configuration, scripts, most of /etc and /var/lib/dpkg) adds a
// content check where an edit is most likely. Big files are covered by size,
// mtime and ctime only, which keeps hashing a 200 MB rootfs under a second.
func TreeHash(dir string) (string, error) {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no stat information", path)
		}
		fmt.Fprintf(h, "%q %o %d:%d %d %d.%d %d.%d %d", rel, fi.Mode(), st.Uid, st.Gid, st.Size,
			st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, st.Rdev)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " -> %q", t)
		case fi.Mode().IsRegular() && fi.Size() <= treeHashSmall:
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			c := sha256.New()
			_, err = io.CopyBuffer(c, f, buf)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %x", c.Sum(nil))
		}
		h.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("tree hash %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, fsynced and renamed over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
