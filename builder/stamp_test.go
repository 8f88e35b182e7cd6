package builder

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(name) == ".sh" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInputsHash(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"manifest.yaml":         "name: x\n",
		"setup.sh":              "#!/bin/sh\n",
		"setup-debian-amd64.sh": "#!/bin/sh\necho hi\n",
		"files/a.txt":           "a",
	})
	h := func() string {
		t.Helper()
		s, err := InputsHash(dir, "debian-amd64", "basekey", "v1", 100)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	h0 := h()
	if h() != h0 {
		t.Fatal("hash not stable")
	}
	// Times and owners are not inputs.
	old := time.Unix(1e9, 0)
	os.Chtimes(filepath.Join(dir, "files/a.txt"), old, old)
	if h() != h0 {
		t.Fatal("hash changed with an mtime")
	}
	args := []struct {
		name                    string
		platform, base, version string
		sde                     int64
	}{
		{"platform", "debian-arm64", "basekey", "v1", 100},
		{"base", "debian-amd64", "otherbase", "v1", 100},
		{"tool version", "debian-amd64", "basekey", "v2", 100},
		{"SOURCE_DATE_EPOCH", "debian-amd64", "basekey", "v1", 101},
	}
	for _, a := range args {
		got, err := InputsHash(dir, a.platform, a.base, a.version, a.sde)
		if err != nil || got == h0 {
			t.Errorf("%s change: hash %s (err %v) did not change", a.name, got, err)
		}
	}
	changes := []struct {
		name string
		do   func()
		undo func()
	}{
		{"script content", func() {
			os.WriteFile(filepath.Join(dir, "setup-debian-amd64.sh"), []byte("#!/bin/sh\necho ho\n"), 0o755)
		},
			func() {
				os.WriteFile(filepath.Join(dir, "setup-debian-amd64.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
			}},
		{"executable bit", func() { os.Chmod(filepath.Join(dir, "setup.sh"), 0o644) }, func() { os.Chmod(filepath.Join(dir, "setup.sh"), 0o755) }},
		{"new file", func() { os.WriteFile(filepath.Join(dir, "files/b.txt"), nil, 0o644) }, func() { os.Remove(filepath.Join(dir, "files/b.txt")) }},
		{"renamed file", func() { os.Rename(filepath.Join(dir, "files/a.txt"), filepath.Join(dir, "files/c.txt")) },
			func() { os.Rename(filepath.Join(dir, "files/c.txt"), filepath.Join(dir, "files/a.txt")) }},
		{"symlink", func() { os.Symlink("a.txt", filepath.Join(dir, "files/l")) }, func() { os.Remove(filepath.Join(dir, "files/l")) }},
	}
	for _, c := range changes {
		c.do()
		if h() == h0 {
			t.Errorf("%s: hash did not change", c.name)
		}
		c.undo()
		if h() != h0 {
			t.Fatalf("%s: hash did not return after undo", c.name)
		}
	}
}

func TestStampReuse(t *testing.T) {
	out := t.TempDir()
	tree := t.TempDir()
	writeTree(t, tree, map[string]string{"runtime.yml": "name: x\n"})
	artifact := filepath.Join(out, "x-1.0.0-debian-amd64.tar.gz")
	st, err := archive.PackFile(t.Context(), tree, artifact, archive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reuseArtifact(artifact, "inputs-1"); ok {
		t.Fatal("reused without a stamp")
	}
	if err := writeStamp(artifact, stamp{Inputs: "inputs-1", Stats: st}); err != nil {
		t.Fatal(err)
	}
	got, ok := reuseArtifact(artifact, "inputs-1")
	if !ok || got != st {
		t.Fatalf("reuse = %+v, %v; want %+v, true", got, ok, st)
	}
	if _, ok := reuseArtifact(artifact, "inputs-2"); ok {
		t.Fatal("reused with other inputs")
	}
	// A damaged or replaced artifact is rebuilt.
	data, _ := os.ReadFile(artifact)
	data[len(data)/2] ^= 0xff
	os.WriteFile(artifact, data, 0o644)
	if _, ok := reuseArtifact(artifact, "inputs-1"); ok {
		t.Fatal("reused a modified artifact")
	}
	os.Remove(artifact)
	if _, ok := reuseArtifact(artifact, "inputs-1"); ok {
		t.Fatal("reused a missing artifact")
	}
	os.WriteFile(stampPath(artifact), []byte("{not json"), 0o644)
	if _, ok := reuseArtifact(artifact, "inputs-1"); ok {
		t.Fatal("reused with a corrupt stamp")
	}
}

func TestTreeHash(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"etc/a.conf": "x=1\n", "usr/bin/tool": "binary"})
	os.Symlink("usr/bin", filepath.Join(dir, "bin"))
	h0, err := TreeHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := TreeHash(dir); h != h0 {
		t.Fatal("TreeHash not stable")
	}
	// Reading does not change it.
	os.ReadFile(filepath.Join(dir, "etc/a.conf"))
	if h, _ := TreeHash(dir); h != h0 {
		t.Fatal("TreeHash changed by a read")
	}
	mods := map[string]func(){
		"content, same size, same mtime": func() {
			p := filepath.Join(dir, "etc/a.conf")
			fi, _ := os.Stat(p)
			os.WriteFile(p, []byte("x=2\n"), 0o644)
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
		},
		"chmod":       func() { os.Chmod(filepath.Join(dir, "usr/bin/tool"), 0o700) },
		"new file":    func() { os.WriteFile(filepath.Join(dir, "new"), nil, 0o644) },
		"link target": func() { os.Remove(filepath.Join(dir, "bin")); os.Symlink("usr/sbin", filepath.Join(dir, "bin")) },
	}
	for name, mod := range mods {
		mod()
		h, err := TreeHash(dir)
		if err != nil || h == h0 {
			t.Errorf("%s: TreeHash did not change (err %v)", name, err)
		}
		h0 = h
	}
}
