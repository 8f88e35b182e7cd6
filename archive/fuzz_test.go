package archive

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary tar streams (gzipped by the harness, or raw
// gzip bytes when raw is set) to Extract: it must never panic, never write
// outside dest, and leave no symlink in dest that resolves outside it.
func FuzzExtract(f *testing.F) {
	seeds := [][]byte{
		rawTar(file("f", "x")),
		rawTar(dir("a/"), file("a/b", "hello"), symlink("a/l", "b"), hardlink("h", "a/b")),
		rawTar(symlink("s", "."), symlink("x", "s/../evil")),
		rawTar(dir("d/"), symlink("l", "d"), file("l/evil", "x")),
		rawTar(file("../evil", "x"), file("/evil", "y")),
		rawTar(rawEntry{name: "f", typ: '0', mode: 0o644, body: "x", size: -1, pax: [][2]string{{"path", "p/q"}, {"linkpath", "z"}}}),
		rawTar(symlink("a", "b"), symlink("b", "../c")),
	}
	for _, s := range seeds {
		f.Add(s, false)
	}
	f.Add(gz(rawTar(file("f", "x"))), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if !raw {
			data = gz(data)
		}
		base := t.TempDir()
		dest := filepath.Join(base, "dest")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(base, "sentinel/keep"), []byte("keep"), 0o644)
		_, err := Extract(context.Background(), bytes.NewReader(data), dest, ExtractOptions{MaxUnpackedSize: 1 << 20, MaxEntries: 1000})
		var re *RejectError
		if err != nil && !errors.As(err, &re) {
			// Filesystem errors (for example ENAMETOOLONG) are fine as
			// long as nothing escaped; they must still name the entry.
			if !strings.Contains(err.Error(), "extract") {
				t.Errorf("error without context: %v", err)
			}
		}
		top, _ := os.ReadDir(base)
		if len(top) != 2 {
			t.Fatalf("extract wrote beside dest: %v", top)
		}
		if b, err := os.ReadFile(filepath.Join(base, "sentinel/keep")); err != nil || string(b) != "keep" {
			t.Fatal("sentinel changed")
		}
		if s, _ := os.ReadDir(filepath.Join(base, "sentinel")); len(s) != 1 {
			t.Fatal("sentinel dir changed")
		}
		if err != nil {
			if left, _ := os.ReadDir(dest); len(left) != 0 {
				t.Fatalf("rejected archive left %v in dest", left)
			}
			return
		}
		realDest, _ := filepath.EvalSymlinks(dest)
		filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if r, err := filepath.EvalSymlinks(p); err == nil && r != realDest && !strings.HasPrefix(r, realDest+"/") {
				t.Fatalf("symlink %s resolves to %s outside dest", p, r)
			}
			return nil
		})
	})
}
