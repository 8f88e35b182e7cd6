package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/testenv"
	"github.com/klauspost/pgzip"
)

func packBytes(t testing.TB, dir string, opts PackOptions) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Pack(context.Background(), dir, &buf, opts)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return buf.Bytes(), st
}

func TestPackDeterministic(t *testing.T) {
	dir := trickyTree(t)
	epoch := time.Unix(1700000000, 0)
	ref, refSt := packBytes(t, dir, PackOptions{SourceDateEpoch: epoch, Concurrency: 1})
	if refSt.Size != int64(len(ref)) {
		t.Errorf("Stats.Size %d, wrote %d bytes", refSt.Size, len(ref))
	}
	sum := sha256.Sum256(ref)
	if refSt.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Stats.SHA256 %s does not match the bytes", refSt.SHA256)
	}
	if len(ref) < 2*BlockSize/10 {
		t.Fatalf("test tree too small to span several blocks: %d bytes", len(ref))
	}
	for _, c := range []int{1, 2, 3, 8, 0} {
		got, st := packBytes(t, dir, PackOptions{SourceDateEpoch: epoch, Concurrency: c})
		if !bytes.Equal(got, ref) {
			t.Errorf("Concurrency %d: output differs from Concurrency 1 (%d vs %d bytes)", c, len(got), len(ref))
		}
		if st != refSt {
			t.Errorf("Concurrency %d: stats %+v, want %+v", c, st, refSt)
		}
	}
	// Touching mtimes after the epoch changes nothing; before it does.
	now := time.Now()
	if err := os.Chtimes(filepath.Join(dir, "runtime.yml"), now, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := packBytes(t, dir, PackOptions{SourceDateEpoch: epoch}); !bytes.Equal(got, ref) {
		t.Error("an mtime after SourceDateEpoch changed the output")
	}
	old := time.Unix(1000, 0)
	if err := os.Chtimes(filepath.Join(dir, "runtime.yml"), old, old); err != nil {
		t.Fatal(err)
	}
	if got, _ := packBytes(t, dir, PackOptions{SourceDateEpoch: epoch}); bytes.Equal(got, ref) {
		t.Error("an mtime before SourceDateEpoch did not change the output")
	}
}

func TestPackFormat(t *testing.T) {
	dir := trickyTree(t)
	if err := os.Symlink(filepath.Join(dir, "isolated/usr/lib/big.bin"), filepath.Join(dir, "isolated/abs-inside")); err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(1700000000, 0)
	data, st := packBytes(t, dir, PackOptions{SourceDateEpoch: epoch})

	// gzip header: no FNAME/FCOMMENT/FEXTRA, MTIME 0, OS 3.
	if data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
		t.Fatalf("not a gzip stream: % x", data[:10])
	}
	if data[3] != 0 {
		t.Errorf("gzip FLG = %#x, want 0 (no name, comment or extra)", data[3])
	}
	if !bytes.Equal(data[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("gzip MTIME = % x, want zero", data[4:8])
	}
	if data[9] != gzipOS {
		t.Errorf("gzip OS = %d, want %d", data[9], gzipOS)
	}

	zr, err := pgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	byName := map[string]*tar.Header{}
	var unpacked int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		byName[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			unpacked += h.Size
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if h.ModTime.After(epoch) || h.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: mtime %v not clamped to %v in whole seconds", h.Name, h.ModTime, epoch)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: atime/ctime recorded", h.Name)
		}
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" {
				t.Errorf("%s: unexpected PAX record %q", h.Name, k)
			}
		}
		ascii := true
		for _, r := range h.Name {
			if r >= 0x80 {
				ascii = false
			}
		}
		if len(h.Name) <= 100 && ascii && len(h.PAXRecords) != 0 {
			t.Errorf("%s: PAX records for a name USTAR can hold: %v", h.Name, h.PAXRecords)
		}
		if h.Typeflag == tar.TypeLink {
			t.Errorf("%s: hardlink entry written", h.Name)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not strictly sorted: %q before %q", names[i-1], names[i])
		}
	}
	if int64(len(names)) != st.Entries || unpacked != st.UnpackedSize {
		t.Errorf("stats %+v, archive has %d entries and %d bytes", st, len(names), unpacked)
	}
	want := map[string]struct {
		typ  byte
		mode int64
		link string
	}{
		"isolated/":                      {tar.TypeDir, 0o755, ""},
		"isolated/usr/bin/tool":          {tar.TypeReg, 0o755, ""},
		"isolated/usr/bin/tool-hardlink": {tar.TypeReg, 0o755, ""},
		"isolated/usr/lib/readonly.txt":  {tar.TypeReg, 0o644, ""}, // 0444 on disk
		"empty/dir/":                     {tar.TypeDir, 0o755, ""}, // 0750 on disk
		"isolated/usr/bin/python":        {tar.TypeSymlink, 0o777, "tool"},
		"isolated/abs-inside":            {tar.TypeSymlink, 0o777, "usr/lib/big.bin"},
		"with space/file name.txt":       {tar.TypeReg, 0o644, ""}, // 0600 on disk
		"unicode/ünïcødé-名前.txt":         {tar.TypeReg, 0o644, ""},
	}
	for name, w := range want {
		h := byName[name]
		if h == nil {
			t.Errorf("%s: missing from the archive", name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.link {
			t.Errorf("%s: type %c mode %o link %q, want %c %o %q", name, h.Typeflag, h.Mode, h.Linkname, w.typ, w.mode, w.link)
		}
	}
	if byName["unicode/ünïcødé-名前.txt"].PAXRecords["path"] == "" {
		t.Error("non-ASCII name not written as a PAX path record")
	}
	if _, ok := byName["./"]; ok {
		t.Error("artifact has a root entry")
	}
}

func TestPackPrefix(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "manifest.yaml"), []byte("name: x\n"), 0o644)
	data, st := packBytes(t, dir, PackOptions{Prefix: "python-3.11"})
	tr := tar.NewReader(mustGunzip(t, data))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "python-3.11/,python-3.11/manifest.yaml" || st.Entries != 2 {
		t.Errorf("entries %v (stats %+v)", names, st)
	}
	if _, err := Pack(context.Background(), dir, io.Discard, PackOptions{Prefix: "../x"}); err == nil {
		t.Error("prefix ../x accepted")
	}
}

func mustGunzip(t testing.TB, data []byte) io.Reader {
	t.Helper()
	zr, err := pgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestPackRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		entry string
		rule  string
	}{
		{"relative escape", func(t *testing.T, dir string) {
			os.Symlink("../../etc/passwd", filepath.Join(dir, "a/up"))
		}, "a/up", RuleSymlinkEscape},
		{"absolute outside", func(t *testing.T, dir string) {
			os.Symlink("/etc/passwd", filepath.Join(dir, "a/abs"))
		}, "a/abs", RuleSymlinkEscape},
		{"chain through self link", func(t *testing.T, dir string) {
			os.Symlink(".", filepath.Join(dir, "s"))
			os.Symlink("s/../x", filepath.Join(dir, "x"))
		}, "x", RuleSymlinkEscape},
		{"chain through deeper link", func(t *testing.T, dir string) {
			os.Symlink("..", filepath.Join(dir, "a/up"))
			os.Symlink("up/a/up/../etc", filepath.Join(dir, "a/b"))
		}, "a/b", RuleSymlinkEscape},
		{"loop", func(t *testing.T, dir string) {
			os.Symlink("l2", filepath.Join(dir, "l1"))
			os.Symlink("l1", filepath.Join(dir, "l2"))
		}, "l1", RuleSymlinkEscape},
		{"newline in name", func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, "a/new\nline"), []byte("x"), 0o644)
		}, "a/new\nline", RuleName},
		{"invalid utf-8 name", func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, "a/\xff"), []byte("x"), 0o644)
		}, "a/\xff", RuleName},
		{"fifo", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "a/fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "a/fifo", RuleType},
		{"socket", func(t *testing.T, dir string) {
			l, err := net.Listen("unix", filepath.Join(dir, "a/sock"))
			if err != nil {
				t.Skip("unix socket:", err)
			}
			t.Cleanup(func() { l.Close() })
		}, "a/sock", RuleType},
		{"device", func(t *testing.T, dir string) {
			testenv.RequireRoot(t)
			if err := syscall.Mknod(filepath.Join(dir, "a/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
				t.Fatal(err)
			}
		}, "a/null", RuleType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustWrite(t, filepath.Join(dir, "a/file"), []byte("x"), 0o644)
			tc.setup(t, dir)
			_, err := Pack(context.Background(), dir, io.Discard, PackOptions{})
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("want *RejectError, got %v", err)
			}
			if re.Entry != tc.entry || re.Rule != tc.rule {
				t.Errorf("got entry %q rule %q (%v), want %q %q", re.Entry, re.Rule, err, tc.entry, tc.rule)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tc.entry)) || !strings.Contains(err.Error(), tc.rule) {
				t.Errorf("message %q does not name the entry and the rule", err)
			}
		})
	}
}

func TestPackLinkRoot(t *testing.T) {
	chroot := t.TempDir()
	dir := filepath.Join(chroot, "opt/joblet/runtimes/x")
	mustWrite(t, filepath.Join(dir, "isolated/bin/real"), []byte("x"), 0o755)
	if err := os.Symlink("/opt/joblet/runtimes/x/isolated/bin/real", filepath.Join(dir, "isolated/bin/abs")); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(context.Background(), dir, io.Discard, PackOptions{}); err == nil {
		t.Fatal("absolute link resolved against the host root was accepted")
	}
	data, _ := packBytes(t, dir, PackOptions{LinkRoot: chroot})
	tr := tar.NewReader(mustGunzip(t, data))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatal("abs link not found:", err)
		}
		if h.Name == "isolated/bin/abs" {
			if h.Linkname != "real" {
				t.Errorf("link rewritten to %q, want %q", h.Linkname, "real")
			}
			break
		}
	}
}

func TestPackSetuidStripped(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "suid"), []byte("x"), 0o755)
	if err := os.Chmod(filepath.Join(dir, "suid"), 0o4755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	var warned []string
	data, _ := packBytes(t, dir, PackOptions{Warn: func(m string) { warned = append(warned, m) }})
	h, err := tar.NewReader(mustGunzip(t, data)).Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Mode != 0o755 {
		t.Errorf("mode %o, want 755", h.Mode)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "suid") {
		t.Errorf("warnings %q", warned)
	}
}

func TestPackFile(t *testing.T) {
	dir := trickyTree(t)
	out := filepath.Join(t.TempDir(), "x-1.0.0-debian-amd64.tar.gz")
	st, err := PackFile(context.Background(), dir, out, PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != st.SHA256 || int64(len(data)) != st.Size {
		t.Errorf("stats %+v do not match the file", st)
	}
	side, err := os.ReadFile(out + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	if want := st.SHA256 + "  x-1.0.0-debian-amd64.tar.gz\n"; string(side) != want {
		t.Errorf(".sha256 = %q, want %q", side, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 2 {
		t.Errorf("output dir holds %d files, want the archive and its .sha256", len(entries))
	}
	if testenv.InCI() || commandsExist("sha256sum") {
		cmd := exec.Command("sha256sum", "-c", filepath.Base(out)+".sha256")
		cmd.Dir = filepath.Dir(out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
	if _, err := PackFile(context.Background(), dir, filepath.Join(dir, "out.tar.gz"), PackOptions{}); err == nil {
		t.Error("output inside the packed tree accepted")
	}
}

func commandsExist(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return false
		}
	}
	return true
}

// TestPackSystemTools checks that gzip and GNU tar read the output to the
// same tree.
func TestPackSystemTools(t *testing.T) {
	testenv.RequireCommands(t, "tar", "gzip")
	dir := trickyTree(t)
	out := filepath.Join(t.TempDir(), "x.tar.gz")
	if _, err := PackFile(context.Background(), dir, out, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("gzip", "-t", out).CombinedOutput(); err != nil {
		t.Fatalf("gzip -t: %v\n%s", err, b)
	}
	dest := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", out, "-C", dest).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf: %v\n%s", err, b)
	}
	if d := diffSnapshots(normalized(snapshot(t, dir)), snapshot(t, dest)); d != "" {
		t.Errorf("tar extracted a different tree:\n%s", d)
	}
}

func TestSourceDateEpoch(t *testing.T) {
	ctx := context.Background()
	got, _, err := SourceDateEpoch(ctx, t.TempDir(), "1234")
	if err != nil || got.Unix() != 1234 {
		t.Errorf("env: %v %v", got, err)
	}
	if _, _, err := SourceDateEpoch(ctx, t.TempDir(), "soon"); err == nil {
		t.Error("bad SOURCE_DATE_EPOCH accepted")
	}
	got, _, err = SourceDateEpoch(ctx, t.TempDir(), "")
	if err != nil || got.Unix() != 0 {
		t.Errorf("outside git: %v %v", got, err)
	}
	testenv.RequireCommands(t, "git")
	repo := t.TempDir()
	mustWrite(t, filepath.Join(repo, "rt/file"), []byte("x"), 0o644)
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=@1600000000 +0000", "GIT_AUTHOR_DATE=@1600000000 +0000",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	got, src, err := SourceDateEpoch(ctx, filepath.Join(repo, "rt"), "")
	if err != nil || got.Unix() != 1600000000 {
		t.Errorf("git: %v %q %v", got, src, err)
	}
}

func TestPackFileFailureLeavesNothing(t *testing.T) {
	dir := trickyTree(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "zz-escape")); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	_, err := PackFile(context.Background(), dir, filepath.Join(outDir, "x.tar.gz"), PackOptions{})
	var re *RejectError
	if !errors.As(err, &re) || re.Entry != "zz-escape" {
		t.Fatalf("got %v, want a rejection of zz-escape", err)
	}
	if left, _ := os.ReadDir(outDir); len(left) != 0 {
		t.Errorf("failed PackFile left %v", left)
	}
	// No goroutine outlives a failed Pack.
	before := runtime.NumGoroutine()
	for range 5 {
		if _, err := Pack(context.Background(), dir, io.Discard, PackOptions{Concurrency: 4}); err == nil {
			t.Fatal("escaping symlink accepted")
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after failed packs, %d before", n, before)
	}
}

func TestPackCancel(t *testing.T) {
	dir := trickyTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Pack(ctx, dir, io.Discard, PackOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
