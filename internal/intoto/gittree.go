package intoto

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// GitTree returns the hash git gives the directory dir as a tree object
// (SHA-1 object format): regular files as blobs (mode 100755 when any
// execute bit is set, else 100644), symlinks as blobs of their target
// (120000), subdirectories as trees; empty directories are left out, as git
// leaves them out. For a clean checkout it equals
// `git rev-parse HEAD:<dir>`, so a verifier holding the repository can tell
// which commit's tree was built. Anything else (a device, a socket) is an
// error naming the file.
func GitTree(dir string) (string, error) {
	sum, empty, err := gitTree(dir)
	if err != nil {
		return "", fmt.Errorf("git tree hash of %s: %w", dir, err)
	}
	if empty {
		return hex.EncodeToString(gitObject("tree", nil)), nil
	}
	return hex.EncodeToString(sum), nil
}

func gitObject(kind string, body []byte) []byte {
	h := sha1.New()
	h.Write([]byte(kind + " " + strconv.Itoa(len(body)) + "\x00"))
	h.Write(body)
	return h.Sum(nil)
}

// gitTree hashes dir; empty reports a tree with no entries (which git
// does not record as a subdirectory).
func gitTree(dir string) (sum []byte, empty bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	type entry struct {
		name, sortKey, mode string
		sum                 []byte
	}
	var list []entry
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, false, err
		}
		switch {
		case info.IsDir():
			if e.Name() == ".git" {
				continue
			}
			s, empty, err := gitTree(p)
			if err != nil {
				return nil, false, err
			}
			if !empty {
				list = append(list, entry{e.Name(), e.Name() + "/", "40000", s})
			}
		case info.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return nil, false, err
			}
			list = append(list, entry{e.Name(), e.Name(), "120000", gitObject("blob", []byte(t))})
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return nil, false, err
			}
			h := sha1.New()
			fmt.Fprintf(h, "blob %d\x00", info.Size())
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return nil, false, err
			}
			if n != info.Size() {
				return nil, false, fmt.Errorf("%s changed while it was hashed", p)
			}
			mode := "100644"
			if info.Mode().Perm()&0o111 != 0 {
				mode = "100755"
			}
			list = append(list, entry{e.Name(), e.Name(), mode, h.Sum(nil)})
		default:
			return nil, false, fmt.Errorf("%s is not a regular file, directory or symlink", p)
		}
	}
	if len(list) == 0 {
		return nil, true, nil
	}
	sort.Slice(list, func(i, j int) bool { return list[i].sortKey < list[j].sortKey })
	var body bytes.Buffer
	for _, e := range list {
		body.WriteString(e.mode + " " + e.name + "\x00")
		body.Write(e.sum)
	}
	return gitObject("tree", body.Bytes()), false, nil
}
