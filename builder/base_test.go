package builder

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"golang.org/x/sys/unix"
)

// fakeBase puts a complete-looking base for r into the cache.
func fakeBase(t *testing.T, b *Builder, r *resolvedBase) string {
	t.Helper()
	dir := filepath.Join(b.basesDir(), r.id())
	writeTree(t, dir, map[string]string{"rootfs/etc/os-release": "ID=debian\n"})
	data, _ := json.Marshal(baseMeta{Platform: r.Platform, Key: r.key(), Config: r})
	if err := os.WriteFile(filepath.Join(dir, "base.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestListAndPruneBases(t *testing.T) {
	cfg, err := ParseConfig([]byte("bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64}\n"), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SourcesFiles = []string{"testdata/apt/debian.sources"}
	b := New(cfg, Options{CacheDir: t.TempDir()})
	if infos, err := b.ListBases(); err != nil || len(infos) != 0 {
		t.Fatalf("empty cache lists %v, %v", infos, err)
	}
	cur, err := cfg.resolve("debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	stale := *cur
	d := *cur.Debootstrap
	d.Suite = "bullseye"
	stale.Debootstrap = &d
	curDir := fakeBase(t, b, cur)
	staleDir := fakeBase(t, b, &stale)
	// Leftovers: an interrupted bootstrap, a dead build and a running one.
	tmpBase := filepath.Join(b.basesDir(), ".tmp-"+stale.id()+"-123")
	os.MkdirAll(filepath.Join(tmpBase, "rootfs"), 0o755)
	dead := filepath.Join(b.workDir(), "x_debian-amd64-1")
	os.MkdirAll(filepath.Join(dead, "upper"), 0o755)
	running, release, err := b.newWorkDir("y/debian-amd64")
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	infos, err := b.ListBases()
	if err != nil || len(infos) != 2 {
		t.Fatalf("ListBases = %+v, %v", infos, err)
	}
	for _, i := range infos {
		wantCurrent := i.Key == cur.key()
		if i.Current != wantCurrent || i.Platform != "debian-amd64" || i.Size != int64(len("ID=debian\n")) {
			t.Errorf("info %+v: want current=%v", i, wantCurrent)
		}
		if !strings.Contains(i.Source, "debootstrap") || !strings.Contains(i.Source, "http://deb.debian.org/debian") {
			t.Errorf("source %q", i.Source)
		}
	}

	removed, err := b.PruneBases(false)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(removed, " ")
	for _, want := range []string{staleDir, tmpBase, dead} {
		if !strings.Contains(got, want) {
			t.Errorf("prune did not remove %s (removed %s)", want, got)
		}
		if _, err := os.Stat(want); err == nil {
			t.Errorf("%s still exists", want)
		}
	}
	for _, keep := range []string{curDir, running} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("prune removed %s", keep)
		}
	}
	// A base in use (shared lock held by a build) survives prune --all.
	unlock, err := lockFile(t.Context(), curDir+".lock", unix.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	b.PruneBases(true)
	if _, err := os.Stat(curDir); err != nil {
		t.Fatal("prune --all removed a base in use")
	}
	unlock()
	b.PruneBases(true)
	if _, err := os.Stat(curDir); err == nil {
		t.Fatal("prune --all kept an unused base")
	}
}

func TestEnsureBaseRootfsTarballOnce(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "tar")
	dir := t.TempDir()
	tarball := filepath.Join(dir, "rootfs.tar")
	f, _ := os.Create(tarball)
	tw := tar.NewWriter(f)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Typeflag: tar.TypeReg, Mode: 0o644, Size: 10})
	tw.Write([]byte("ID=ubuntu\n"))
	tw.Close()
	f.Close()
	cfg, err := ParseConfig([]byte("bases:\n  ubuntu-amd64:\n    rootfs: rootfs.tar\n"), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	watch := newWatch("")
	b := New(cfg, Options{CacheDir: filepath.Join(dir, "cache"), Stderr: watch})
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	errs := make([]error, 4)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], _, errs[i] = b.EnsureBase(t.Context(), "ubuntu-amd64", "")
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("EnsureBase %d = %s, %v", i, dirs[i], errs[i])
		}
	}
	if n := strings.Count(watch.String(), "extracting "); n != 1 {
		t.Fatalf("the base was extracted %d times, want once:\n%s", n, watch.String())
	}
	if data, err := os.ReadFile(filepath.Join(dirs[0], "etc/os-release")); err != nil || string(data) != "ID=ubuntu\n" {
		t.Fatalf("base content %q, %v", data, err)
	}
	// A different tarball is a different base.
	os.WriteFile(filepath.Join(dir, "rootfs.tar"), []byte("not a tar"), 0o644)
	if _, _, err := b.EnsureBase(t.Context(), "ubuntu-amd64", ""); err == nil || !strings.Contains(err.Error(), "bootstrap base ubuntu-amd64") {
		t.Fatalf("broken tarball: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(b.basesDir(), ".tmp-*")); len(left) != 0 {
		t.Fatalf("failed bootstrap left %v", left)
	}
}
