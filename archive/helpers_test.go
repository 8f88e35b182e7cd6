package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// snapshot describes a tree: for every path its type, permission bits and
// content hash or link target. Hardlinks show as regular files.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			tgt, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + tgt
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %o", fi.Mode().Perm())
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			out[rel] = fmt.Sprintf("file %o %d %s", fi.Mode().Perm(), len(b), hex.EncodeToString(h[:8]))
		default:
			out[rel] = "other " + fi.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// normalized returns snap with the modes Pack and Extract give (NormalMode):
// what a tree looks like after a round trip through the format.
func normalized(snap map[string]string) map[string]string {
	out := make(map[string]string, len(snap))
	for k, v := range snap {
		f := strings.SplitN(v, " ", 3)
		if len(f) >= 2 && (f[0] == "dir" || f[0] == "file") {
			var m uint32
			if _, err := fmt.Sscanf(f[1], "%o", &m); err == nil {
				mode := fs.FileMode(m)
				if f[0] == "dir" {
					mode |= fs.ModeDir
				}
				f[1] = fmt.Sprintf("%o", NormalMode(mode))
				v = strings.Join(f, " ")
			}
		}
		out[k] = v
	}
	return out
}

// diffSnapshots returns a readable list of differences ("" when equal).
func diffSnapshots(want, got map[string]string) string {
	var keys []string
	seen := map[string]bool{}
	for k := range want {
		keys = append(keys, k)
		seen[k] = true
	}
	for k := range got {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if want[k] != got[k] {
			fmt.Fprintf(&b, "%q: want %q, got %q\n", k, want[k], got[k])
		}
	}
	return b.String()
}

func mustWrite(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// trickyTree builds a legitimate tree with every case the format handles:
// relative and absolute-inside symlinks, a hardlink, long and unicode
// names, an empty directory, executable bits, spaces, and a file large
// enough to span several compression blocks.
func trickyTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "runtime.yml"), []byte("name: x\nversion: \"1.0.0\"\n"), 0o644)
	mustWrite(t, filepath.Join(dir, "isolated/usr/bin/tool"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	mustWrite(t, filepath.Join(dir, "isolated/usr/lib/readonly.txt"), []byte("ro"), 0o444)
	mustWrite(t, filepath.Join(dir, "with space/file name.txt"), []byte("spaces"), 0o600)
	mustWrite(t, filepath.Join(dir, "unicode/ünïcødé-名前.txt"), []byte("unicode"), 0o644)
	mustWrite(t, filepath.Join(dir, "a-b"), []byte("sorts before a/"), 0o644)
	mustWrite(t, filepath.Join(dir, "a/b"), []byte("inside a"), 0o644)
	long200 := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 79)
	mustWrite(t, filepath.Join(dir, long200), []byte("200"), 0o644)
	long300 := strings.Repeat("x", 200) + "/" + strings.Repeat("y", 99)
	mustWrite(t, filepath.Join(dir, long300), []byte("300"), 0o644)
	big := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.IntN(16)) + 'a' // compresses to about half
	}
	mustWrite(t, filepath.Join(dir, "isolated/usr/lib/big.bin"), big, 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "empty/dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "empty/dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{
		{"tool", "isolated/usr/bin/python"},
		{"../lib/big.bin", "isolated/usr/bin/big"},
		{"isolated/usr", "usr-link"},
		{"missing-but-inside", "isolated/dangling"},
		{".", "isolated/self"},
	} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "isolated/usr/bin/tool"), filepath.Join(dir, "isolated/usr/bin/tool-hardlink")); err != nil {
		t.Fatal(err)
	}
	return dir
}
