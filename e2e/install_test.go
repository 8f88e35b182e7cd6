package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/schema"
)

const plat = "debian-amd64"

// goodTree is a small valid runtime tree for name@version.
func goodTree(t testing.TB, name, version string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range map[string]string{
		"runtime.yml":          runtimeYML(name, version),
		"isolated/bin/tool":    "#!/bin/sh\necho tool " + version + "\n",
		"isolated/share/a.txt": strings.Repeat("payload ", 1000),
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Test 2: a tampered artifact (checksum mismatch) is refused and nothing
// is installed.
func TestTamperedArtifactRefused(t *testing.T) {
	rel := newRelease(t)
	rel.addTree(t, "demo", "1.0.0", plat, goodTree(t, "demo", "1.0.0"))
	root := filepath.Join(t.TempDir(), "runtimes")

	// Same size, one byte changed, after the registry was written.
	art := filepath.Join(rel.dir, schema.ArtifactName("demo", "1.0.0", plat))
	data, _ := os.ReadFile(art)
	data[len(data)-12] ^= 0x01
	os.WriteFile(art, data, 0o644)

	r := rtool(t, "runtime", "install", "demo@latest", "--registry", rel.url(), "--root", root, "--platform", plat)
	if r.code != 1 || !strings.Contains(r.stderr, "checksum mismatch") {
		t.Fatalf("tampered install: %s", r)
	}
	if got := entriesOf(t, root); len(got) != 0 {
		t.Errorf("tampered install left %v in %s", got, root)
	}
	// A swapped artifact of another size is refused by its byte count.
	os.WriteFile(art, append(data, make([]byte, 4096)...), 0o644)
	r = rtool(t, "runtime", "install", "demo", "--registry", rel.url(), "--root", root, "--platform", plat)
	if r.code != 1 || !strings.Contains(r.stderr, "more bytes than the registry's size") {
		t.Fatalf("oversized install: %s", r)
	}
	if got := entriesOf(t, root); len(got) != 0 {
		t.Errorf("oversized install left %v in %s", got, root)
	}
}

// Test 3: hostile archives are refused through the install path, nothing
// is written outside the root and nothing half-installed remains; tricky
// but legitimate archives install exactly.
func TestHostileArchivesRefused(t *testing.T) {
	base := t.TempDir()
	marker := "escape-marker"
	yml := fileEntry("runtime.yml", runtimeYML("evil", "1.0.0"), 0o644)
	iso := dirEntry("isolated/")
	pre := []tarEntry{yml, iso, fileEntry("isolated/ok.txt", "ok", 0o644)}
	withPre := func(es ...tarEntry) []tarEntry { return append(append([]tarEntry{}, pre...), es...) }
	valid := func(t testing.TB) []byte { return makeTarGz(t, withPre()) }
	xattr := fileEntry("isolated/x", "x", 0o644)
	xattr.hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "x"}
	dev := tarEntry{hdr: tar.Header{Name: "isolated/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}}
	fifo := tarEntry{hdr: tar.Header{Name: "isolated/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}}

	tests := []struct {
		name    string
		archive func(t testing.TB) []byte
		entries int64 // registry's entry count (0: none given)
		rule    string
	}{
		{"absolute name", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(fileEntry(filepath.Join(base, marker+"-abs"), "x", 0o644)))
		}, 0, "absolute-name"},
		{"dot-dot name", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(fileEntry("isolated/../../../"+marker+"-dotdot", "x", 0o644)))
		}, 0, "dotdot"},
		{"symlink escaping the tree", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(linkEntry("isolated/out", "../../../.."+base)))
		}, 0, "symlink-escape"},
		{"absolute symlink", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(linkEntry("isolated/etc", "/etc")))
		}, 0, "symlink-escape"},
		{"file written through a symlink", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(linkEntry("isolated/dir", "."), fileEntry("isolated/dir/"+marker+"-under", "x", 0o644)))
		}, 0, "under-symlink"},
		{"hardlink outside", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(hardEntry("isolated/passwd", "/etc/passwd")))
		}, 0, ""},
		{"duplicate entry", func(t testing.TB) []byte {
			return makeTarGz(t, withPre(fileEntry("isolated/ok.txt", "again", 0o644)))
		}, 0, "duplicate"},
		{"device node", func(t testing.TB) []byte { return makeTarGz(t, withPre(dev)) }, 0, "entry-type"},
		{"fifo", func(t testing.TB) []byte { return makeTarGz(t, withPre(fifo)) }, 0, "entry-type"},
		{"xattr", func(t testing.TB) []byte { return makeTarGz(t, withPre(xattr)) }, 0, "xattr"},
		{"more entries than the registry says", valid, 2, "entry-limit"},
		{"truncated gzip", func(t testing.TB) []byte {
			d := valid(t)
			return d[:len(d)-20]
		}, 0, "gzip"},
		{"trailing garbage", func(t testing.TB) []byte {
			return append(valid(t), []byte("GARBAGE AFTER THE STREAM")...)
		}, 0, "trailing-data"},
		{"second gzip member", func(t testing.TB) []byte {
			d := valid(t)
			return append(d, d...)
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := newRelease(t)
			file := schema.ArtifactName("evil", "1.0.0", plat)
			if err := os.WriteFile(filepath.Join(rel.dir, file), tt.archive(t), 0o644); err != nil {
				t.Fatal(err)
			}
			rel.addFile(t, "evil", "1.0.0", plat, file, 0, tt.entries)
			root := filepath.Join(base, tt.name, "runtimes")
			r := rtool(t, "runtime", "install", "evil@1.0.0", "--registry", rel.url(), "--root", root, "--platform", plat)
			if r.code != 1 || !strings.Contains(r.stderr, "rejected") || (tt.rule != "" && !strings.Contains(r.stderr, "rule "+tt.rule)) {
				t.Fatalf("want a rejection by rule %q: %s", tt.rule, r)
			}
			if got := entriesOf(t, root); len(got) != 0 {
				t.Errorf("refused install left %v in the root", got)
			}
		})
	}
	// Nothing anywhere outside the roots carries the marker.
	filepath.Walk(filepath.Dir(base), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(fi.Name(), marker) {
			t.Errorf("hostile archive wrote %s", p)
		}
		return nil
	})
}

func TestTrickyArchiveInstallsExactly(t *testing.T) {
	long := strings.Repeat("l", 200)
	deep := "isolated/" + strings.Repeat("d", 100) + "/" + strings.Repeat("e", 100) + "/" + strings.Repeat("f", 100) + ".txt"
	uni := "isolated/ünïcødé-名前-😀.txt"
	setuid := fileEntry("isolated/bin/su-like", "#!/bin/sh\n", 0o4755)
	entries := []tarEntry{
		fileEntry("runtime.yml", runtimeYML("tricky", "1.0.0"), 0o644),
		dirEntry("isolated/"),
		dirEntry("isolated/bin/"),
		fileEntry("isolated/bin/run.sh", "#!/bin/sh\necho run\n", 0o755),
		setuid,
		dirEntry("isolated/empty/"),
		dirEntry("isolated/lib/"),
		fileEntry("isolated/lib/libx.so.1.2", "ELF-ish", 0o644),
		linkEntry("isolated/lib/libx.so.1", "libx.so.1.2"),
		linkEntry("isolated/lib/libx.so", "../lib/libx.so.1"),
		linkEntry("isolated/usr-lib", "lib"),
		hardEntry("isolated/lib/hard-copy", "isolated/lib/libx.so.1.2"),
		fileEntry("isolated/"+long, "long name", 0o600),
		dirEntry("isolated/" + strings.Repeat("d", 100) + "/"),
		dirEntry("isolated/" + strings.Repeat("d", 100) + "/" + strings.Repeat("e", 100) + "/"),
		fileEntry(deep, "deep", 0o644),
		fileEntry(uni, "unicode", 0o644),
	}
	rel := newRelease(t)
	file := schema.ArtifactName("tricky", "1.0.0", plat)
	os.WriteFile(filepath.Join(rel.dir, file), makeTarGz(t, entries), 0o644)
	rel.addFile(t, "tricky", "1.0.0", plat, file, 0, int64(len(entries)))
	root := filepath.Join(t.TempDir(), "runtimes")
	r := rtool(t, "runtime", "install", "tricky", "--registry", rel.url(), "--root", root, "--platform", plat, "--json")
	if r.code != 0 {
		t.Fatalf("tricky install: %s", r)
	}
	dir := filepath.Join(root, "tricky", "1.0.0")
	want := map[string]string{
		".":                                    "dir -rwxr-xr-x",
		"runtime.yml":                          "file -rw-r--r-- " + runtimeYML("tricky", "1.0.0"),
		"isolated":                             "dir -rwxr-xr-x",
		"isolated/bin":                         "dir -rwxr-xr-x",
		"isolated/bin/run.sh":                  "file -rwxr-xr-x #!/bin/sh\necho run\n",
		"isolated/bin/su-like":                 "file -rwxr-xr-x #!/bin/sh\n", // setuid stripped
		"isolated/empty":                       "dir -rwxr-xr-x",
		"isolated/lib":                         "dir -rwxr-xr-x",
		"isolated/lib/libx.so.1.2":             "file -rw-r--r-- ELF-ish",
		"isolated/lib/libx.so.1":               "symlink libx.so.1.2",
		"isolated/lib/libx.so":                 "symlink ../lib/libx.so.1",
		"isolated/usr-lib":                     "symlink lib",
		"isolated/lib/hard-copy":               "file -rw-r--r-- ELF-ish",
		"isolated/" + long:                     "file -rw-r--r-- long name", // 0600 in the archive: installed 0644 (archive.NormalMode)
		"isolated/" + strings.Repeat("d", 100): "dir -rwxr-xr-x",
		"isolated/" + strings.Repeat("d", 100) + "/" + strings.Repeat("e", 100): "dir -rwxr-xr-x",
		deep: "file -rw-r--r-- deep",
		uni:  "file -rw-r--r-- unicode",
	}
	if diff := consumertest.DiffSnapshots(want, consumertest.Snapshot(t, dir)); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}
	// The hardlink is a link to the earlier file, not a copy elsewhere.
	a, _ := os.Stat(filepath.Join(dir, "isolated/lib/hard-copy"))
	b, _ := os.Stat(filepath.Join(dir, "isolated/lib/libx.so.1.2"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Errorf("hardlink not preserved as a link")
	}
	if got := entriesOf(t, root); !reflect.DeepEqual(got, []string{"tricky"}) {
		t.Errorf("root holds %v", got)
	}
}

// Test 4: eight concurrent installs of the same version (separate
// processes) end with one intact install.
func TestConcurrentInstalls(t *testing.T) {
	rel := newRelease(t)
	tree := goodTree(t, "demo", "1.0.0")
	// Make the artifact big enough that the installers overlap.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	os.WriteFile(filepath.Join(tree, "isolated/share/big.bin"), big, 0o644)
	rel.addTree(t, "demo", "1.0.0", plat, tree)
	root := filepath.Join(t.TempDir(), "runtimes")
	const n = 8
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = rtool(t, "runtime", "install", "demo@1.0.0", "--registry", rel.url(), "--root", root, "--platform", plat, "--json")
		}()
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("installer %d: %s", i, r)
		}
		if strings.Contains(r.stdout, `"already_installed": false`) {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d installers installed; want exactly one, the others finding it installed", fresh)
	}
	if got := entriesOf(t, root); !reflect.DeepEqual(got, []string{"demo"}) {
		t.Errorf("root holds %v, want only demo/", got)
	}
	want := consumertest.Snapshot(t, tree)
	want["."] = "dir -rwxr-xr-x"
	if diff := consumertest.DiffSnapshots(want, consumertest.Snapshot(t, filepath.Join(root, "demo", "1.0.0"))); diff != "" {
		t.Errorf("install is not intact:\n%s", diff)
	}
}
