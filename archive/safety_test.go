package archive

// Tests for issue 11 (modes, torn files, decompression ratio, the
// archive/.sha256 pair, late cancellation). Each fails on the code before
// its fix.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/testenv"
)

// modeCase is one entry with a mode on disk (or in a tar header).
type modeCase struct {
	name string
	dir  bool
	mode fs.FileMode // permission bits plus fs.ModeSetuid/Setgid/Sticky
	want int64
	// warning Pack gives ("" = the mode is already normal).
	warning string
	root    bool // only root can pack it (unreadable to its owner)
}

var modeCases = []modeCase{
	{"d0777", true, 0o777, 0o755, "d0777/: mode 0777 packed as 0755 (was writable by group or others)", false},
	{"d1777", true, 0o777 | fs.ModeSticky, 0o755, "d1777/: mode 1777 packed as 0755 (sticky bit stripped, was writable by group or others)", false},
	{"d0700", true, 0o700, 0o755, "d0700/: mode 0700 packed as 0755 (was not readable by every user)", false},
	{"d0555", true, 0o555, 0o755, "d0555/: mode 0555 packed as 0755 (owner may write, everyone may read)", false},
	{"d0000", true, 0, 0o755, "d0000/: mode 0000 packed as 0755 (was not readable by every user)", true},
	{"d0755", true, 0o755, 0o755, "", false},
	{"f0666", false, 0o666, 0o644, "f0666: mode 0666 packed as 0644 (was writable by group or others)", false},
	{"f0777", false, 0o777, 0o755, "f0777: mode 0777 packed as 0755 (was writable by group or others)", false},
	{"f0600", false, 0o600, 0o644, "f0600: mode 0600 packed as 0644 (was not readable by every user)", false},
	{"f0700", false, 0o700, 0o755, "f0700: mode 0700 packed as 0755 (was not readable by every user)", false},
	{"f0100", false, 0o100, 0o755, "f0100: mode 0100 packed as 0755 (was not readable by every user)", true},
	{"f0000", false, 0, 0o644, "f0000: mode 0000 packed as 0644 (was not readable by every user)", true},
	{"f0444", false, 0o444, 0o644, "f0444: mode 0444 packed as 0644 (owner may write, everyone may read)", false},
	{"f0620", false, 0o620, 0o644, "f0620: mode 0620 packed as 0644 (was writable by group or others, was not readable by every user)", false},
	{"f6755", false, 0o755 | fs.ModeSetuid | fs.ModeSetgid, 0o755, "f6755: mode 6755 packed as 0755 (setuid bit stripped, setgid bit stripped)", false},
	{"f0644", false, 0o644, 0o644, "", false},
	{"f0755", false, 0o755, 0o755, "", false},
}

// TestPackNormalisesModes: whatever the tree's modes, the archive holds
// directories 0755 and files 0644/0755, and each change is warned about in
// entry order.
func TestPackNormalisesModes(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { makeWritable(dir) })
	var cases []modeCase
	for _, c := range modeCases {
		if c.root && os.Geteuid() != 0 {
			continue // unreadable to a non-root owner: Pack would fail reading it
		}
		cases = append(cases, c)
		p := filepath.Join(dir, c.name)
		if c.dir {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			mustWrite(t, p, []byte("#!/bin/sh\n"), 0o644)
		}
	}
	for _, c := range cases {
		if err := os.Chmod(filepath.Join(dir, c.name), c.mode); err != nil {
			t.Fatal(err)
		}
	}
	var warned []string
	data, _ := packBytes(t, dir, PackOptions{Warn: func(m string) { warned = append(warned, m) }})
	got := map[string]int64{}
	tr := tar.NewReader(mustGunzip(t, data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[strings.TrimSuffix(h.Name, "/")] = h.Mode
	}
	var want []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got[c.name] != c.want {
				t.Errorf("packed mode %04o, want %04o", got[c.name], c.want)
			}
			if c.warning != "" && !slices.Contains(warned, c.warning) {
				t.Errorf("no warning %q in %q", c.warning, warned)
			}
		})
		if c.warning != "" {
			want = append(want, c.warning)
		}
	}
	slices.Sort(want) // entries are sorted by name, and so are the warnings
	if !slices.Equal(warned, want) {
		t.Errorf("warnings (in entry order):\n%s\nwant:\n%s", strings.Join(warned, "\n"), strings.Join(want, "\n"))
	}
}

// TestPackModeWarningsSummarised: past MaxModeWarnings entries, one line
// gives the total; without Warn nothing breaks.
func TestPackModeWarningsSummarised(t *testing.T) {
	dir := t.TempDir()
	for i := range MaxModeWarnings + 5 {
		mustWrite(t, filepath.Join(dir, fmt.Sprintf("f%02d", i)), []byte("x"), 0o666)
	}
	mustWrite(t, filepath.Join(dir, "ok"), []byte("x"), 0o644)
	var warned []string
	withWarn, _ := packBytes(t, dir, PackOptions{Warn: func(m string) { warned = append(warned, m) }})
	if len(warned) != MaxModeWarnings+1 {
		t.Fatalf("%d warnings, want %d:\n%s", len(warned), MaxModeWarnings+1, strings.Join(warned, "\n"))
	}
	if warned[0] != "f00: mode 0666 packed as 0644 (was writable by group or others)" || !strings.HasPrefix(warned[MaxModeWarnings-1], "f19: ") {
		t.Errorf("first/last listed: %q, %q", warned[0], warned[MaxModeWarnings-1])
	}
	if want := "25 entries in all had their modes normalised (5 more not listed): directories are packed 0755, files 0644, or 0755 when any execute bit is set"; warned[MaxModeWarnings] != want {
		t.Errorf("summary %q, want %q", warned[MaxModeWarnings], want)
	}
	without, _ := packBytes(t, dir, PackOptions{})
	if !bytes.Equal(withWarn, without) {
		t.Error("Warn changed the output")
	}
}

// TestExtractNormalisesModes: an archive's header modes never reach the
// disk: every file and directory mode, 0000 to 7777, installs as 0644/0755
// (directories, implicit parents included, 0755).
func TestExtractNormalisesModes(t *testing.T) {
	entries := []rawEntry{}
	want := map[string]string{}
	for m := int64(0); m <= 0o7777; m += 1 {
		d := fmt.Sprintf("d%04o/", m)
		entries = append(entries, rawEntry{name: d, typ: '5', mode: m, size: -1})
		f := fmt.Sprintf("f%04o", m)
		entries = append(entries, rawEntry{name: f, typ: '0', mode: m, body: "x", size: -1})
		want[strings.TrimSuffix(d, "/")] = "dir 755"
		want[f] = "file 644 1 2d711642b726b044"
		if m&0o111 != 0 {
			want[f] = "file 755 1 2d711642b726b044"
		}
	}
	// Implicit parents, and files below a 0000 directory.
	entries = append(entries, rawEntry{name: "implicit/deep/f", typ: '0', mode: 0o666, body: "x", size: -1},
		rawEntry{name: "d0000/inside", typ: '0', mode: 0o4777, body: "x", size: -1})
	want["implicit"], want["implicit/deep"] = "dir 755", "dir 755"
	want["implicit/deep/f"] = "file 644 1 2d711642b726b044"
	want["d0000/inside"] = "file 755 1 2d711642b726b044"
	slices.SortFunc(entries, func(a, b rawEntry) int { return strings.Compare(a.name, b.name) })
	data := gz(rawTar(entries...))
	for _, workers := range []int{-1, 0} {
		t.Run(fmt.Sprint("workers ", workers), func(t *testing.T) {
			dest, _, err := extractInSandbox(t, data, ExtractOptions{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if d := diffSnapshots(want, snapshot(t, dest)); d != "" {
				t.Errorf("installed modes:\n%s", d)
			}
		})
	}
}

// TestPackRefusesFileChangedWhileRead: a file rewritten, grown or cut
// while Pack reads it fails the pack naming the file, instead of storing a
// torn copy. The change is made from the Warn callback, which runs when the
// writer reaches the entry (its mode 0666 is warned about) and before its
// content is streamed.
func TestPackRefusesFileChangedWhileRead(t *testing.T) {
	const size = smallFile*4 + 123
	tests := []struct {
		name   string
		change func(p string) error
		want   string // "" = packs fine
	}{
		{"rewritten in place, same size", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(bytes.Repeat([]byte("B"), size/2), 0)
			return err
		}, "modified: mtime"},
		{"appended to", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString("more")
			return err
		}, fmt.Sprintf("size %d → %d bytes", size, size+4)},
		{"cut short", func(p string) error { return os.Truncate(p, 1000) }, fmt.Sprintf("file shrank from %d to 1000 bytes", size)},
		{"chmod only (content whole, but something is changing the tree)", func(p string) error {
			time.Sleep(20 * time.Millisecond) // past the kernel's coarse timestamp tick
			return os.Chmod(p, 0o644)
		}, "changed: ctime"},
		{"replaced by rename (the copy read is whole, but of a file no longer in the tree)", func(p string) error {
			time.Sleep(20 * time.Millisecond)
			n := p + ".new"
			if err := os.WriteFile(n, []byte("other"), 0o644); err != nil {
				return err
			}
			return os.Rename(n, p)
		}, "changed: ctime"},
		{"untouched", func(string) error { return nil }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			big := filepath.Join(dir, "isolated/big.bin")
			mustWrite(t, big, bytes.Repeat([]byte("A"), size), 0o666)
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(big, old, old); err != nil {
				t.Fatal(err)
			}
			var changeErr error
			warn := func(m string) {
				if strings.HasPrefix(m, "isolated/big.bin:") {
					changeErr = tc.change(big)
				}
			}
			var buf bytes.Buffer
			_, err := Pack(context.Background(), dir, &buf, PackOptions{Warn: warn})
			if changeErr != nil {
				t.Fatal(changeErr)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Pack: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "isolated/big.bin") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pack: %v; want an error naming isolated/big.bin and %q", err, tc.want)
			}
		})
	}
}

// TestChangedSince covers the comparison on real stat data, also for the
// small-file path (read whole by a worker, then compared).
func TestChangedSince(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	mustWrite(t, p, []byte("0123456789"), 0o644)
	old := time.Unix(1600000000, 0)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := os.Lstat(p)
	if err := checkUnchanged("f", before, same); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	if err := os.WriteFile(p, []byte("abcdefghij"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Lstat(p)
	err = checkUnchanged("f", before, after)
	if err == nil || !strings.Contains(err.Error(), "f: changed while it was being packed (modified: mtime 2020-09-13T12:26:40Z → ") {
		t.Errorf("rewritten file: %v", err)
	}
}

// zeroTree makes files of zeros (sparse, so they cost no disk) and of
// random bytes.
func zeroTree(t *testing.T, zeros map[string]int64, random map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	for name, n := range zeros {
		p := filepath.Join(dir, name)
		mustWrite(t, p, nil, 0o644)
		if err := os.Truncate(p, n); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for name, n := range random {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		mustWrite(t, filepath.Join(dir, name), b, 0o644)
	}
	return dir
}

// plainTarGz packs dir with the standard library only (no ratio check), the
// way any other tool would.
func plainTarGz(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, 6)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(dir, p)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func inspectBytes(t *testing.T, data []byte) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Inspect(context.Background(), p)
	return err
}

// TestPackRatioAgreesWithReader: Pack refuses, naming the file, the trees
// whose archive Inspect (registry add) and Extract (install) refuse as a
// decompression bomb, and what Pack writes they accept.
func TestPackRatioAgreesWithReader(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name   string
		zeros  map[string]int64
		random map[string]int
		// refused: the error names this entry and says where the ratio broke.
		refused, where string
	}{
		{"100 MiB of zeros", map[string]int64{"isolated/zeros.img": 100 * mib}, nil, "isolated/zeros.img", "the first 65.0 MiB of the tar stream compress to"},
		{"a hundred 1 MiB files of zeros", func() map[string]int64 {
			m := map[string]int64{}
			for i := range 100 {
				m[fmt.Sprintf("z/%03d", i)] = mib
			}
			return m
		}(), nil, "z/000", "the largest files there: z/000 (1.0 MiB), z/001 (1.0 MiB), z/002 (1.0 MiB)"},
		{"63 MiB of zeros (under the 64 MiB floor)", map[string]int64{"zeros": 63 * mib}, nil, "", ""},
		{"70 MiB of zeros after 8 MiB of real content", map[string]int64{"z-zeros": 70 * mib}, map[string]int{"a-random": 8 * mib}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := zeroTree(t, tc.zeros, tc.random)
			var buf bytes.Buffer
			_, err := Pack(context.Background(), dir, &buf, PackOptions{})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("Pack: %v", err)
				}
				if err := inspectBytes(t, buf.Bytes()); err != nil {
					t.Errorf("Inspect refuses what Pack wrote: %v", err)
				}
				if _, _, err := extractInSandbox(t, buf.Bytes(), ExtractOptions{}); err != nil {
					t.Errorf("Extract refuses what Pack wrote: %v", err)
				}
				return
			}
			var re *RejectError
			if !errors.As(err, &re) || re.Rule != RuleRatio || re.Entry != tc.refused || !strings.Contains(err.Error(), tc.where) {
				t.Fatalf("Pack: %v; want a %s rejection of %q saying %q", err, RuleRatio, tc.refused, tc.where)
			}
			// The reader refuses the same tree packed by another tool.
			if err := inspectBytes(t, plainTarGz(t, dir)); !errors.As(err, &re) || re.Rule != RuleRatio {
				t.Errorf("Inspect of the same tree packed by archive/tar+gzip: %v, want a %s rejection", err, RuleRatio)
			}
		})
	}
}

// TestPackFileKeepsPreviousPair: PackFile replaces FILE and FILE.sha256
// together or not at all.
func TestPackFileKeepsPreviousPair(t *testing.T) {
	tree := trickyTree(t)
	other := t.TempDir()
	mustWrite(t, filepath.Join(other, "runtime.yml"), []byte("name: other\n"), 0o644)
	escaping := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(escaping, "leak")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	failAt := func(step string) func(string) error {
		return func(s string) error {
			if s == step {
				return errors.New("injected failure at " + s)
			}
			return nil
		}
	}
	tests := []struct {
		name     string
		previous bool   // a previous pair exists
		sumDir   bool   // FILE.sha256 is a non-empty directory (its rename fails for real)
		dir      string // tree to pack
		ctx      context.Context
		fault    func(string) error
		wantErr  string // "" = success
	}{
		{"success replaces the pair", true, false, other, nil, nil, ""},
		{"writing .sha256 fails", true, false, other, nil, failAt("sidecar"), "injected failure at sidecar"},
		{"renaming .sha256 fails", true, false, other, nil, failAt("rename-sidecar"), "put the previous archive back"},
		{".sha256 is a directory (real rename failure)", true, true, other, nil, nil, "put the previous archive back"},
		{".sha256 is a directory, no previous archive", false, true, other, nil, nil, "removed the new archive"},
		{"packing fails", true, false, escaping, nil, nil, "symlink-escape"},
		{"cancelled", true, false, other, cancelled, nil, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x-1.0.0-debian-amd64.tar.gz")
			if tc.previous {
				if _, err := PackFile(context.Background(), tree, out, PackOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.sumDir {
				os.Remove(out + ".sha256")
				mustWrite(t, filepath.Join(out+".sha256", "keep"), []byte("x"), 0o644)
			}
			before := snapshot(t, filepath.Dir(out))
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			st, err := packFile(ctx, tc.dir, out, PackOptions{}, tc.fault)
			after := snapshot(t, filepath.Dir(out))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != 2 || !strings.Contains(after[filepath.Base(out)], fmt.Sprint(st.Size)) {
					t.Errorf("directory after success: %v", after)
				}
				cmd := exec.Command("sha256sum", "-c", filepath.Base(out)+".sha256")
				cmd.Dir = filepath.Dir(out)
				if testenv.InCI() || commandsExist("sha256sum") {
					if b, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("sha256sum -c: %v\n%s", err, b)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("packFile: %v; want an error saying %q", err, tc.wantErr)
			}
			if d := diffSnapshots(before, after); d != "" {
				t.Errorf("a failed pack changed the output directory (previous pair, temporary files):\n%s", d)
			}
		})
	}
}

// TestPackCancelledLate: a context cancelled while the last entry is
// written (here from the Warn callback, which runs in the writer) fails
// the pack, and PackFile then leaves nothing behind.
func TestPackCancelledLate(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a"), []byte("a"), 0o644)
	mustWrite(t, filepath.Join(dir, "z-last"), []byte("z"), 0o666)
	for _, file := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		warn := func(m string) {
			if strings.HasPrefix(m, "z-last:") {
				cancel()
			}
		}
		var err error
		out := filepath.Join(t.TempDir(), "x.tar.gz")
		if file {
			_, err = PackFile(ctx, dir, out, PackOptions{Warn: warn})
		} else {
			_, err = Pack(ctx, dir, io.Discard, PackOptions{Warn: warn})
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("file %v: got %v, want context.Canceled", file, err)
		}
		if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
			t.Errorf("cancelled PackFile left %v", left)
		}
	}
}
