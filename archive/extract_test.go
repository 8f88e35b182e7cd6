package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// extractInSandbox extracts data into base/dest with a sentinel directory
// beside it and checks that nothing outside dest changed.
func extractInSandbox(t *testing.T, data []byte, opts ExtractOptions) (string, Stats, error) {
	t.Helper()
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	sentinel := filepath.Join(base, "sentinel")
	mustWrite(t, filepath.Join(sentinel, "keep"), []byte("keep"), 0o644)
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { makeWritable(dest) })
	before := snapshot(t, sentinel)
	st, err := Extract(context.Background(), bytes.NewReader(data), dest, opts)
	if d := diffSnapshots(before, snapshot(t, sentinel)); d != "" {
		t.Errorf("sentinel next to dest changed:\n%s", d)
	}
	top, _ := os.ReadDir(base)
	if len(top) != 2 {
		t.Errorf("extract created files beside dest: %v", top)
	}
	for _, p := range []string{"/x", "/evil", "/etc/x", filepath.Join(base, "x"), filepath.Join(base, "evil")} {
		if _, lerr := os.Lstat(p); lerr == nil && !strings.HasPrefix(p, dest) {
			t.Errorf("%s exists after extract", p)
		}
	}
	return dest, st, err
}

func TestExtractHostile(t *testing.T) {
	zeros := make([]byte, 100<<20)
	tests := []struct {
		name  string
		data  func() []byte
		opts  ExtractOptions
		entry string
		rule  string
	}{
		{"absolute name", tgz(file("/evil", "x")), ExtractOptions{}, "/evil", RuleAbsolute},
		{"dotdot", tgz(file("../evil", "x")), ExtractOptions{}, "../evil", RuleDotDot},
		{"dot slash dotdot", tgz(file("./../evil", "x")), ExtractOptions{}, "./../evil", RuleDotDot},
		{"inner dotdot", tgz(dir("a/"), file("a/../../evil", "x")), ExtractOptions{}, "a/../../evil", RuleDotDot},
		{"dot component", tgz(file("a/./b", "x")), ExtractOptions{}, "a/./b", RuleName},
		{"empty component", tgz(file("a//b", "x")), ExtractOptions{}, "a//b", RuleName},
		{"absolute symlink", tgz(symlink("l", "/etc")), ExtractOptions{}, "l", RuleSymlinkEscape},
		{"escaping symlink", tgz(dir("a/"), symlink("a/l", "../../evil")), ExtractOptions{}, "a/l", RuleSymlinkEscape},
		{"entry under symlink", tgz(dir("d/"), symlink("l", "d"), file("l/evil", "x")), ExtractOptions{}, "l/evil", RuleUnderSymlink},
		{"entry under escaping-looking symlink", tgz(symlink("l", "."), file("l/x", "x")), ExtractOptions{}, "l/x", RuleUnderSymlink},
		{"entry under file", tgz(file("f", "x"), file("f/x", "y")), ExtractOptions{}, "f/x", RuleUnderSymlink},
		{"symlink chain through self link", tgz(symlink("s", "."), symlink("x", "s/../evil")), ExtractOptions{}, "x", RuleSymlinkEscape},
		{"symlink chain resolved by a later entry", tgz(symlink("x", "s/../evil"), symlink("s", ".")), ExtractOptions{}, "x", RuleSymlinkEscape},
		{"symlink chain two links", tgz(dir("a/"), symlink("a/up", ".."), symlink("a/b", "up/a/up/../evil")), ExtractOptions{}, "a/b", RuleSymlinkEscape},
		{"symlink loop", tgz(symlink("l1", "l2"), symlink("l2", "l1")), ExtractOptions{}, "l2", RuleSymlinkEscape},
		{"empty symlink", tgz(symlink("l", "")), ExtractOptions{}, "l", RuleSymlinkEscape},
		{"hardlink absolute", tgz(hardlink("h", "/etc/passwd")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink dotdot", tgz(hardlink("h", "../evil")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink to later entry", tgz(hardlink("h", "f"), file("f", "x")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink to nonexistent", tgz(file("f", "x"), hardlink("h", "g")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink to directory", tgz(dir("d/"), hardlink("h", "d")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink to symlink", tgz(symlink("l", "f"), file("f", "x"), hardlink("h", "l")), ExtractOptions{}, "h", RuleHardlink},
		{"hardlink through symlink", tgz(dir("d/"), file("d/f", "x"), symlink("l", "d"), hardlink("h", "l/f")), ExtractOptions{}, "h", RuleHardlink},
		{"duplicate file", tgz(file("f", "x"), file("f", "y")), ExtractOptions{}, "f", RuleDuplicate},
		{"duplicate via dot slash", tgz(file("f", "x"), file("./f", "y")), ExtractOptions{}, "./f", RuleDuplicate},
		{"duplicate dir", tgz(dir("d/"), dir("d/")), ExtractOptions{}, "d/", RuleDuplicate},
		{"file replaced by symlink", tgz(file("f", "x"), symlink("f", "/etc/passwd")), ExtractOptions{}, "f", RuleDuplicate},
		{"char device", tgz(rawEntry{name: "null", typ: '3', mode: 0o666, size: -1}), ExtractOptions{}, "null", RuleType},
		{"block device", tgz(rawEntry{name: "sda", typ: '4', mode: 0o660, size: -1}), ExtractOptions{}, "sda", RuleType},
		{"fifo", tgz(rawEntry{name: "fifo", typ: '6', mode: 0o644, size: -1}), ExtractOptions{}, "fifo", RuleType},
		{"unknown type", tgz(rawEntry{name: "z", typ: 'Z', mode: 0o644, size: -1}), ExtractOptions{}, "z", RuleType},
		{"contiguous type", tgz(rawEntry{name: "c", typ: '7', mode: 0o644, body: "x", size: -1}), ExtractOptions{}, "c", RuleType},
		{"xattr", tgz(rawEntry{name: "f", typ: '0', mode: 0o644, body: "x", size: -1, pax: [][2]string{{"SCHILY.xattr.security.capability", "x"}}}), ExtractOptions{}, "f", RuleXattr},
		{"libarchive xattr", tgz(rawEntry{name: "f", typ: '0', mode: 0o644, body: "x", size: -1, pax: [][2]string{{"LIBARCHIVE.xattr.user.x", "eA=="}}}), ExtractOptions{}, "f", RuleXattr},
		{"acl", tgz(rawEntry{name: "f", typ: '0', mode: 0o644, body: "x", size: -1, pax: [][2]string{{"SCHILY.acl.access", "user::rwx"}}}), ExtractOptions{}, "f", RuleXattr},
		{"pax sparse", tgz(rawEntry{name: "f", typ: '0', mode: 0o644, body: "hello", size: -1, pax: [][2]string{
			{"GNU.sparse.numblocks", "1"}, {"GNU.sparse.offset", "0"}, {"GNU.sparse.numbytes", "5"}, {"GNU.sparse.size", "100"}}}), ExtractOptions{}, "f", RuleSparse},
		{"pax 1.0 sparse map archive/tar rejects", tgz(file("a", "x"), rawEntry{name: "f", typ: '0', mode: 0o644, body: "hello", size: -1, pax: [][2]string{
			{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", "f"}, {"GNU.sparse.realsize", "100"}}}), ExtractOptions{}, "after a", RuleSparse},
		{"gnu sparse type", tgz(rawEntry{name: "s", typ: 'S', mode: 0o644, size: 0, magic: "ustar  \x00"}), ExtractOptions{}, "s", RuleSparse},
		{"pax global header", tgz(rawEntry{name: "g", typ: 'g', size: -1, body: paxRecord("path", "evil")}, file("f", "x")), ExtractOptions{}, "(PAX global header)", RuleGlobalHeader},
		{"newline in name", tgz(file("a\nb", "x")), ExtractOptions{}, "a\nb", RuleName},
		{"invalid utf-8 (overlong slash)", tgz(file("a\xc0\xafb", "x")), ExtractOptions{}, "a\xc0\xafb", RuleName},
		{"nul in pax path", tgz(rawEntry{name: "f", typ: '0', mode: 0o644, body: "x", size: -1, pax: [][2]string{{"path", "a\x00b"}}}), ExtractOptions{}, "", RuleTar},
		{"control char in symlink target", tgz(symlink("l", "a\x1bb")), ExtractOptions{}, "l", RuleName},
		{"component too long", tgz(rawEntry{name: "x", typ: '0', mode: 0o644, size: -1, pax: [][2]string{{"path", strings.Repeat("c", 256)}}}), ExtractOptions{}, strings.Repeat("c", 256), RuleLength},
		{"name too long", tgz(rawEntry{name: "x", typ: '0', mode: 0o644, size: -1, pax: [][2]string{{"path", strings.Repeat("d/", 2100) + "f"}}}), ExtractOptions{}, strings.Repeat("d/", 2100) + "f", RuleLength},
		{"regular file with trailing slash", tgz(file("f/", "x")), ExtractOptions{}, "f/", RuleName},
		{"over unpacked size", tgz(file("a", "12345"), file("b", "123456")), ExtractOptions{MaxUnpackedSize: 10}, "b", RuleSize},
		{"over entries", tgz(file("a", "1"), file("b", "2"), file("c", "3")), ExtractOptions{MaxEntries: 2}, "c", RuleEntries},
		{"decompression bomb", func() []byte {
			return gz(rawTar(rawEntry{name: "zeros", typ: '0', mode: 0o644, body: string(zeros), size: -1}))
		}, ExtractOptions{}, "zeros", RuleRatio},
		{"not gzip", func() []byte { return rawTar(file("f", "x")) }, ExtractOptions{}, "", RuleGzip},
		{"empty input", func() []byte { return nil }, ExtractOptions{}, "", RuleGzip},
		{"truncated gzip (trailer)", func() []byte { b := tgz(file("f", "x"))(); return b[:len(b)-4] }, ExtractOptions{}, "", RuleGzip},
		{"truncated gzip (middle)", func() []byte {
			b := gz(rawTar(file("f", strings.Repeat("abcdefgh", 10000)), file("g", "x")))
			return b[:len(b)/2]
		}, ExtractOptions{}, "f", RuleGzip},
		{"bad crc", func() []byte { b := tgz(file("f", "x"))(); b[len(b)-8] ^= 0xff; return b }, ExtractOptions{}, "", RuleGzip},
		{"garbage after gzip", func() []byte { return append(tgz(file("f", "x"))(), "garbage"...) }, ExtractOptions{}, "", RuleTrailing},
		{"second gzip member", func() []byte { return append(tgz(file("f", "x"))(), tgz(file("evil", "y"))()...) }, ExtractOptions{}, "", RuleTrailing},
		{"data after tar end", func() []byte { return gz(append(rawTar(file("f", "x")), "hidden"...)) }, ExtractOptions{}, "", RuleTrailing},
		{"tar truncated inside gzip", func() []byte { t := rawTar(file("f", strings.Repeat("x", 5000))); return gz(t[:1024]) }, ExtractOptions{}, "f", RuleTar},
		{"corrupt tar header", func() []byte { t := rawTar(file("f", "x")); t[148] = '9'; return gz(t) }, ExtractOptions{}, "", RuleTar},
	}
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines after the rejections, %d before", n, before)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest, _, err := extractInSandbox(t, tc.data(), tc.opts)
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("want *RejectError, got %v", err)
			}
			if re.Rule != tc.rule || re.Entry != tc.entry {
				t.Errorf("got entry %q rule %q (%v); want entry %q rule %q", re.Entry, re.Rule, err, tc.entry, tc.rule)
			}
			if !strings.Contains(err.Error(), tc.rule) {
				t.Errorf("message %q does not name the rule", err)
			}
			if left, _ := os.ReadDir(dest); len(left) != 0 {
				t.Errorf("dest not cleaned after rejection: %v", left)
			}
		})
	}
}

func tgz(entries ...rawEntry) func() []byte {
	return func() []byte { return gz(rawTar(entries...)) }
}

func TestExtractLegitimate(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want map[string]string // snapshot subset that must match exactly
		tar  bool              // compare with GNU tar's extraction too
	}{
		{"dot slash and padding", gz(append(rawTar(dir("./"), dir("./bin/"), file("./bin/x", "x")), make([]byte, 9216)...)),
			map[string]string{"bin": "dir 755", "bin/x": "file 644 1 2d711642b726b044"}, true},
		{"implicit parents", tgz(file("a/b/c", "x"))(), map[string]string{"a": "dir 755", "a/b": "dir 755", "a/b/c": "file 644 1 2d711642b726b044"}, true},
		{"explicit dir after implicit", tgz(file("a/f", "x"), rawEntry{name: "a/", typ: '5', mode: 0o700, size: -1})(), map[string]string{"a": "dir 755", "a/f": "file 644 1 2d711642b726b044"}, true},
		{"hardlink to earlier file", tgz(file("f", "x"), hardlink("h", "f"), hardlink("./h2", "./f"))(),
			map[string]string{"f": "file 644 1 2d711642b726b044", "h": "file 644 1 2d711642b726b044", "h2": "file 644 1 2d711642b726b044"}, true},
		{"git archive global header", tgz(rawEntry{name: "pax_global_header", typ: 'g', size: -1, body: paxRecord("comment", "0123abcd")}, file("f", "x"))(),
			map[string]string{"f": "file 644 1 2d711642b726b044"}, true},
		{"setuid stripped", tgz(rawEntry{name: "su", typ: '0', mode: 0o6755, body: "x", size: -1}, rawEntry{name: "d/", typ: '5', mode: 0o1777, size: -1})(),
			map[string]string{"su": "file 755 1 2d711642b726b044", "d": "dir 755"}, false},
		{"unicode tricks stay inside", tgz(file("．．／evil", "x"), file("a∕..∕evil", "x"), file("\u202eevil", "x"))(),
			map[string]string{"．．／evil": "file 644 1 2d711642b726b044", "a∕..∕evil": "file 644 1 2d711642b726b044", "\u202eevil": "file 644 1 2d711642b726b044"}, true},
		{"symlink to later entry and dangling inside", tgz(symlink("l", "f"), file("f", "x"), symlink("d", "missing/x"))(),
			map[string]string{"l": "link -> f", "f": "file 644 1 2d711642b726b044", "d": "link -> missing/x"}, true},
		{"read-only dir with contents", tgz(rawEntry{name: "ro/", typ: '5', mode: 0o555, size: -1}, file("ro/f", "x"))(),
			map[string]string{"ro": "dir 755", "ro/f": "file 644 1 2d711642b726b044"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest, st, err := extractInSandbox(t, tc.data, ExtractOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := snapshot(t, dest)
			if d := diffSnapshots(tc.want, got); d != "" {
				t.Errorf("tree differs:\n%s", d)
			}
			if st.Size != int64(len(tc.data)) {
				t.Errorf("Stats.Size %d, archive has %d bytes", st.Size, len(tc.data))
			}
			if tc.tar && commandsExist("tar") {
				ref := t.TempDir()
				t.Cleanup(func() { makeWritable(ref) })
				cmd := exec.Command("tar", "-xzf", "-", "-C", ref)
				cmd.Stdin = bytes.NewReader(tc.data)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("tar: %v\n%s", err, b)
				}
				if d := diffSnapshots(normalized(snapshot(t, ref)), got); d != "" {
					t.Errorf("differs from GNU tar's extraction (modes normalised):\n%s", d)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	dir := trickyTree(t)
	data, packed := packBytes(t, dir, PackOptions{})
	dest, st, err := extractInSandbox(t, data, ExtractOptions{MaxUnpackedSize: packed.UnpackedSize, MaxEntries: packed.Entries})
	if err != nil {
		t.Fatal(err)
	}
	if st != packed {
		t.Errorf("Extract stats %+v, Pack stats %+v", st, packed)
	}
	if d := diffSnapshots(normalized(snapshot(t, dir)), snapshot(t, dest)); d != "" {
		t.Errorf("round trip changed the tree (beyond normalising modes):\n%s", d)
	}
	// One byte or one entry less than the archive holds is refused.
	for _, o := range []ExtractOptions{{MaxUnpackedSize: packed.UnpackedSize - 1}, {MaxEntries: packed.Entries - 1}} {
		if _, _, err := extractInSandbox(t, data, o); err == nil {
			t.Errorf("limits %+v accepted", o)
		}
	}
	path := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ist, err := Inspect(context.Background(), path)
	if err != nil || ist != packed {
		t.Errorf("Inspect %+v %v, want %+v", ist, err, packed)
	}
	// Repacking the extracted tree gives the same bytes.
	again, _ := packBytes(t, dest, PackOptions{})
	if !bytes.Equal(again, data) {
		t.Error("pack(extract(pack(tree))) differs from pack(tree)")
	}
}

func TestExtractReadsToEnd(t *testing.T) {
	data := tgz(file("f", "x"))()
	r := &countingReader{r: bytes.NewReader(data)}
	if _, err := Extract(context.Background(), r, t.TempDir(), ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if r.n != int64(len(data)) {
		t.Errorf("read %d of %d bytes", r.n, len(data))
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestExtractDestMustBeEmpty(t *testing.T) {
	dest := t.TempDir()
	mustWrite(t, filepath.Join(dest, "x"), []byte("x"), 0o644)
	if _, err := Extract(context.Background(), bytes.NewReader(tgz(file("f", "x"))()), dest, ExtractOptions{}); err == nil {
		t.Error("non-empty destination accepted")
	}
}

func TestExtractCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := t.TempDir()
	_, err := Extract(ctx, bytes.NewReader(tgz(file("f", "x"))()), dest, ExtractOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// makeWritable lets t.TempDir's cleanup remove read-only directories when
// the tests do not run as root.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

func TestInspectRejectsBadStreams(t *testing.T) {
	for name, data := range map[string][]byte{
		"garbage after gzip": append(tgz(file("f", "x"))(), "junk"...),
		"truncated":          tgz(file("f", "x"))()[:20],
		"data after tar end": gz(append(rawTar(file("f", "x")), "hidden"...)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.tar.gz")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Inspect(context.Background(), path)
			var re *RejectError
			if !errors.As(err, &re) {
				t.Errorf("got %v, want a *RejectError", err)
			}
		})
	}
}

// A failing source is an I/O error, not a rejection of the archive.
func TestExtractSourceError(t *testing.T) {
	data := gz(rawTar(file("f", strings.Repeat("abcdefgh", 100000)), file("g", "x")))
	boom := errors.New("connection reset")
	for _, cut := range []int{5, len(data) / 2} {
		r := io.MultiReader(bytes.NewReader(data[:cut]), errReader{boom})
		_, err := Extract(context.Background(), r, t.TempDir(), ExtractOptions{})
		var re *RejectError
		if !errors.Is(err, boom) || errors.As(err, &re) {
			t.Errorf("cut at %d: got %v, want the source's error and no rejection", cut, err)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestExtractWorkers extracts a tree of many directories, files of every
// buffer size class (and one streamed past writerBuf), modes the umask
// would change, hardlinks and read-only directories with every writer
// setting, and compares it with the source tree, GNU tar and the mtimes.
func TestExtractWorkers(t *testing.T) {
	src := t.TempDir()
	t.Cleanup(func() { makeWritable(src) })
	sizes := []int{0, 1, 4 << 10, 4<<10 + 1, 16 << 10, 60 << 10, writerBuf, writerBuf + 1, 1 << 20}
	var entries []rawEntry
	for d := range 12 {
		dir := fmt.Sprintf("d%02d/sub%d", d, d%3)
		entries = append(entries, rawEntry{name: dir + "/", typ: '5', mode: 0o755, size: -1})
		for i, n := range sizes {
			body := strings.Repeat(string(rune('a'+(d+i)%26)), n)
			mode := []int64{0o644, 0o666, 0o600, 0o755, 0o444}[(d+i)%5]
			entries = append(entries, rawEntry{name: fmt.Sprintf("%s/f%02d", dir, i), typ: '0', mode: mode, body: body, size: -1})
		}
		entries = append(entries, hardlink(dir+"/z-link", dir+"/f03"))
	}
	entries = append(entries, rawEntry{name: "d00/sub0/ro/", typ: '5', mode: 0o555, size: -1}, file("d00/sub0/ro/f", "x"))
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	data := gz(rawTar(entries...))
	ref := filepath.Join(src, "ref")
	if err := os.Mkdir(ref, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(context.Background(), bytes.NewReader(data), ref, ExtractOptions{Workers: -1}); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, ref)
	if commandsExist("tar") {
		gnu := filepath.Join(src, "gnu")
		if err := os.Mkdir(gnu, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("tar", "-xzf", "-", "-C", gnu)
		cmd.Stdin = bytes.NewReader(data)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tar: %v\n%s", err, b)
		}
		if d := diffSnapshots(normalized(snapshot(t, gnu)), want); d != "" {
			t.Errorf("Workers -1 differs from GNU tar's extraction (modes normalised):\n%s", d)
		}
	}
	for _, w := range []int{0, 1, 2, 7} {
		t.Run(fmt.Sprint("workers ", w), func(t *testing.T) {
			dest, st, err := extractInSandbox(t, data, ExtractOptions{Workers: w})
			if err != nil {
				t.Fatal(err)
			}
			if st.Entries != int64(len(entries)) {
				t.Errorf("Stats.Entries %d, want %d", st.Entries, len(entries))
			}
			if d := diffSnapshots(want, snapshot(t, dest)); d != "" {
				t.Errorf("tree differs:\n%s", d)
			}
			for _, p := range []string{"d03/sub0/f00", "d03/sub0/f08", "d03/sub0/z-link", "d00/sub0/ro"} {
				fi, err := os.Stat(filepath.Join(dest, p))
				if err != nil {
					t.Fatal(err)
				}
				if !fi.ModTime().Equal(time.Unix(1700000000, 0)) {
					t.Errorf("%s: mtime %v, want the header's", p, fi.ModTime())
				}
			}
		})
	}
}

func TestExtractSkipHash(t *testing.T) {
	data := tgz(file("f", "x"), file("g", "y"))()
	sum := sha256.Sum256(data)
	for _, skip := range []bool{false, true} {
		_, st, err := extractInSandbox(t, data, ExtractOptions{SkipHash: skip})
		if err != nil {
			t.Fatal(err)
		}
		want := hex.EncodeToString(sum[:])
		if skip {
			want = ""
		}
		if st.SHA256 != want || st.Size != int64(len(data)) || st.Entries != 2 || st.UnpackedSize != 2 {
			t.Errorf("SkipHash %v: Stats %+v, want sha256 %q, size %d, 2 entries of 1 byte", skip, st, want, len(data))
		}
	}
}

// FileDigest reports each regular file once, by its cleaned name, with the
// size and sha256 of what is on disk: small files (written by the writer
// pool) and large ones (streamed by the reading goroutine) alike; hardlinks,
// directories and symlinks are not reported.
func TestExtractFileDigest(t *testing.T) {
	// 640 KiB that does not compress (a ratio check would refuse a run of
	// one byte): over writerBuf, so streamed by the reading goroutine.
	var large strings.Builder
	block := sha256.Sum256([]byte("large"))
	for large.Len() < 640<<10 {
		block = sha256.Sum256(block[:])
		large.Write(block[:])
	}
	data := tgz(dir("./d/"), file("./d/small", "x"), file("d/large", large.String()), file("empty", ""),
		hardlink("h", "d/small"), symlink("l", "d/small"))()
	for _, workers := range []int{0, -1} {
		t.Run(fmt.Sprintf("workers %d", workers), func(t *testing.T) {
			var mu sync.Mutex
			got := map[string]string{}
			dest, _, err := extractInSandbox(t, data, ExtractOptions{Workers: workers,
				FileDigest: func(name string, size int64, sum [sha256.Size]byte) {
					mu.Lock()
					defer mu.Unlock()
					if _, dup := got[name]; dup {
						t.Errorf("%s reported twice", name)
					}
					got[name] = fmt.Sprintf("%d %x", size, sum)
				}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, name := range []string{"d/small", "d/large", "empty"} {
				b, err := os.ReadFile(filepath.Join(dest, name))
				if err != nil {
					t.Fatal(err)
				}
				want[name] = fmt.Sprintf("%d %x", len(b), sha256.Sum256(b))
			}
			if !maps.Equal(got, want) {
				t.Errorf("FileDigest reported\n  %v\nwant (read back from disk)\n  %v", got, want)
			}
		})
	}
}
