package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BaseRefs names each configured base, default and named, built or not, by
// the key the cache uses; a change to the configuration changes the key.
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
	cfg := parse(`bases:
  debian-amd64:
    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}
  ubuntu-amd64:
    rootfs: rootfs.tar
named_bases:
  trixie:
    debian-amd64:
      debootstrap: {suite: trixie, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}
    debian-arm64:
      debootstrap: {suite: trixie, variant: minbase, arch: arm64, mirror: http://127.0.0.1:9/debian}
  same:
    debian-amd64:
      debootstrap: {suite: bookworm, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}
`)
	b := New(cfg, Options{CacheDir: t.TempDir()})
	refs, err := b.BaseRefs(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.Platform+"/"+r.Base)
		wantID := r.Platform + "-" + r.Key[:16]
		if r.Base != "default" {
			wantID = r.Platform + "-" + r.Base + "-" + r.Key[:16]
		}
		if len(r.Key) != 64 || r.ID != wantID || r.Cached {
			t.Errorf("%+v: want a 64-hex key, id %s, not cached", r, wantID)
		}
	}
	if strings.Join(got, " ") != "debian-amd64/default debian-amd64/same debian-amd64/trixie debian-arm64/trixie ubuntu-amd64/default" {
		t.Fatalf("refs %v: want every platform's default base first, then its named bases", got)
	}
	// a named base with the default's configuration is still its own base
	if refs[0].Key == refs[1].Key {
		t.Errorf("named base %q has the key of the default base it copies", refs[1].Base)
	}
	// a cached base (its base.json) is reported as cached
	for _, i := range []int{0, 2} {
		if err := os.MkdirAll(filepath.Join(b.basesDir(), refs[i].ID), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.basesDir(), refs[i].ID, "base.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := b.BaseRefs([]string{"debian-amd64"}, nil)
	if err != nil || len(again) != 3 || !again[0].Cached || again[1].Cached || !again[2].Cached || again[0].Key != refs[0].Key {
		t.Fatalf("after caching: %+v, %v", again, err)
	}
	// --base selects
	only, err := b.BaseRefs(nil, []string{"trixie"})
	if err != nil || len(only) != 2 || only[0].Platform != "debian-amd64" || only[1].Platform != "debian-arm64" || only[0].Base != "trixie" {
		t.Fatalf("trixie only: %+v, %v", only, err)
	}
	// another suite is another base
	other := New(parse("bases:\n  debian-amd64:\n    debootstrap: {suite: trixie, variant: minbase, arch: amd64, mirror: http://127.0.0.1:9/debian}\n"), Options{CacheDir: t.TempDir()})
	if o, err := other.BaseRefs(nil, nil); err != nil || o[0].Key == refs[0].Key {
		t.Errorf("a changed configuration kept the key: %+v, %v", o, err)
	}
	if _, err := b.BaseRefs([]string{"rhel-arm64"}, nil); err == nil {
		t.Error("an unconfigured platform gave no error")
	}
}

// The keys (and so the cache directories) of default bases are what they
// were before named bases existed; a named base's key covers its name.
func TestBaseKeyPinned(t *testing.T) {
	cfg, err := ParseConfig([]byte(`bases:
  debian-amd64: {debootstrap: {suite: bookworm, variant: minbase, arch: amd64, mirror: "http://deb.debian.org/debian"}}
named_bases:
  trixie:
    debian-amd64: {debootstrap: {suite: trixie, variant: minbase, arch: amd64, mirror: "http://deb.debian.org/debian"}}
`), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, key, id string }{
		// sha256 of {"format":1,"platform":"debian-amd64","debootstrap":{...}}, as rtool before named bases computed it
		{"default", "f8d3d18c51f665d985adc1656af3ab662bab1d8f555c73f2d8c231d27cd54632", "debian-amd64-f8d3d18c51f665d9"},
		// the same with "name":"trixie" after "platform"
		{"trixie", "c651a04ec6ae7c57df6407a8f2ce9928559b39a16ef1c2166171e32dc5fdf439", "debian-amd64-trixie-c651a04ec6ae7c57"},
	} {
		r, err := cfg.resolve("debian-amd64", tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if r.key() != tt.key || r.id() != tt.id {
			t.Errorf("%s: key %s id %s, want %s %s", tt.name, r.key(), r.id(), tt.key, tt.id)
		}
	}
}
