package builder

import (
	"os"
	"path/filepath"
	"testing"
)

// BaseRefs names each configured base, built or not, by the key the cache
// uses; a change to the configuration changes the key.
func TestBaseRefs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rootfs.tar"), []byte("not really a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(yaml string) *Config {
		t.Helper()
		cfg, err := ParseConfig([]byte(yaml), filepath.Join(dir, "rtool.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Dir = dir
		return cfg
	}
	cfg := parse("bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}\n  ubuntu-amd64:\n    rootfs: rootfs.tar\n")
	b := New(cfg, Options{CacheDir: t.TempDir()})
	refs, err := b.BaseRefs(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[0].Platform != "debian-amd64" || refs[1].Platform != "ubuntu-amd64" {
		t.Fatalf("refs %+v, want debian-amd64 then ubuntu-amd64", refs)
	}
	for _, r := range refs {
		if len(r.Key) != 64 || r.ID != baseID(r.Platform, r.Key) || r.Cached {
			t.Errorf("%+v: want a 64-hex key, id %s, not cached", r, baseID(r.Platform, r.Key))
		}
	}
	// a cached base (its base.json) is reported as cached
	if err := os.MkdirAll(filepath.Join(b.basesDir(), refs[0].ID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.basesDir(), refs[0].ID, "base.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := b.BaseRefs([]string{"debian-amd64"})
	if err != nil || len(again) != 1 || !again[0].Cached || again[0].Key != refs[0].Key {
		t.Fatalf("after caching: %+v, %v", again, err)
	}
	// another suite is another base
	other := New(parse("bases:\n  debian-amd64:\n    debootstrap: {suite: trixie, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}\n"), Options{CacheDir: t.TempDir()})
	if o, err := other.BaseRefs(nil); err != nil || o[0].Key == refs[0].Key {
		t.Errorf("a changed configuration kept the key: %+v, %v", o, err)
	}
	if _, err := b.BaseRefs([]string{"rhel-arm64"}); err == nil {
		t.Error("an unconfigured platform gave no error")
	}
}
