package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

const namedYAML = `bases:
  debian-amd64:
    debootstrap: {suite: bookworm, variant: minbase, arch: amd64}
  debian-arm64:
    debootstrap: {suite: bookworm, variant: minbase, arch: arm64}
named_bases:
  trixie:
    debian-amd64:
      debootstrap: {suite: trixie, variant: minbase, arch: amd64}
    debian-arm64:
      debootstrap: {suite: trixie, variant: minbase, arch: arm64}
  noble:
    ubuntu-amd64:
      rootfs: bases/noble.tar
`

// named_bases: good files parse; every bad one is an error naming the
// file, the entry (named_bases.NAME.PLATFORM...) and the fix, exactly.
func TestParseConfigNamedBases(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"defaults and named", namedYAML, ""},
		{"only named bases", "named_bases:\n  trixie:\n    debian-amd64: {debootstrap: {suite: trixie, arch: amd64}}\n", ""},
		{"uppercase name", "bases: {debian-amd64: {rootfs: x}}\nnamed_bases:\n  Trixie:\n    debian-amd64: {debootstrap: {suite: trixie, arch: amd64}}\n",
			`rtool.yaml: named_bases.Trixie: the name "Trixie" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie; use "trixie"`},
		{"reserved name", "bases: {debian-amd64: {rootfs: x}}\nnamed_bases:\n  default:\n    debian-amd64: {rootfs: y}\n",
			`rtool.yaml: named_bases.default: the name "default" is reserved for the platform's default base (rtool.yaml's bases)`},
		{"hyphen in name", "bases: {debian-amd64: {rootfs: x}}\nnamed_bases:\n  trixie-backports:\n    debian-amd64: {rootfs: y}\n",
			`rtool.yaml: named_bases.trixie-backports: the name "trixie-backports" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie`},
		{"no platform", "bases: {debian-amd64: {rootfs: x}}\nnamed_bases:\n  trixie: {}\n",
			"rtool.yaml: named_bases.trixie: no platform configured; add for example\n  named_bases:\n    trixie:\n      debian-amd64:\n        debootstrap: {suite: trixie, variant: minbase, arch: amd64}"},
		{"arch mismatch", "named_bases:\n  trixie:\n    debian-arm64: {debootstrap: {suite: trixie, arch: amd64}}\n",
			`rtool.yaml: named_bases.trixie.debian-arm64: debootstrap.arch "amd64" does not match the platform's architecture "arm64"`},
		{"both kinds", "named_bases:\n  trixie:\n    debian-amd64: {rootfs: x, debootstrap: {suite: trixie, arch: amd64}}\n",
			"rtool.yaml: named_bases.trixie.debian-amd64: set either debootstrap or rootfs, not both"},
		{"empty base", "named_bases:\n  trixie:\n    debian-amd64:\n",
			"rtool.yaml: named_bases.trixie.debian-amd64: empty; set debootstrap or rootfs"},
		{"bad platform", "named_bases:\n  trixie:\n    debian-x86: {rootfs: x}\n",
			`rtool.yaml: named_bases.trixie.debian-x86: platform "debian-x86" is not <os>-<arch> with os one of ubuntu, debian, rhel, amzn and arch one of amd64, arm64 (for example debian-amd64)`},
		{"unknown key", "named_bases:\n  trixie:\n    debian-amd64: {debootstrap: {suite: trixie, arch: amd64, varient: minbase}}\n",
			"rtool.yaml: yaml: unmarshal errors:\n  line 3: field varient not found in type builder.DebootstrapConfig"},
		{"not a mapping", "named_bases: [trixie]\n",
			"rtool.yaml: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]map[string]*builder.BaseConfig"},
		{"nothing at all", "named_bases: {}\n",
			"rtool.yaml: bases: no platform configured; add for example\n  bases:\n    debian-amd64:\n      debootstrap: {suite: bookworm, variant: minbase, arch: amd64}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml), "rtool.yaml")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if len(cfg.AllPlatforms()) == 0 {
					t.Fatal("no platforms")
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("ParseConfig error:\n got  %v\n want %s", err, tt.wantErr)
			}
		})
	}
}

func TestRepositoryConfigNamedBases(t *testing.T) {
	cfg, err := LoadConfig("../rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Names(), ","); got != "trixie" {
		t.Fatalf("named bases %s, want trixie", got)
	}
	for _, p := range []string{"debian-amd64", "debian-arm64"} {
		if got := strings.Join(cfg.BaseNames(p), ","); got != "default,trixie" {
			t.Errorf("%s: bases %s, want default,trixie", p, got)
		}
		d := cfg.NamedBases["trixie"][p].Debootstrap
		if d == nil || d.Suite != "trixie" || d.Variant != "minbase" || d.Arch != strings.TrimPrefix(p, "debian-") {
			t.Errorf("named_bases.trixie.%s: want debootstrap trixie minbase, got %+v", p, cfg.NamedBases["trixie"][p])
		}
	}
}

func TestSelectBases(t *testing.T) {
	cfg, err := ParseConfig([]byte(namedYAML), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		platforms []string
		names     []string
		want      string
		wantErr   string
	}{
		{"everything", nil, nil, "debian-amd64/default debian-amd64/trixie debian-arm64/default debian-arm64/trixie ubuntu-amd64/noble", ""},
		{"defaults", nil, []string{"default"}, "debian-amd64/default debian-arm64/default", ""},
		{"one named base", nil, []string{"trixie"}, "debian-amd64/trixie debian-arm64/trixie", ""},
		{"a platform's bases", []string{"debian-arm64"}, nil, "debian-arm64/default debian-arm64/trixie", ""},
		{"platform and name", []string{"debian-arm64"}, []string{"trixie"}, "debian-arm64/trixie", ""},
		{"only a named base", []string{"ubuntu-amd64"}, nil, "ubuntu-amd64/noble", ""},
		{"names in any order, once", []string{"debian-amd64", "debian-amd64"}, []string{"trixie", "default"}, "debian-amd64/default debian-amd64/trixie", ""},
		{"unknown name", nil, []string{"sid"}, "", `no named base "sid" in rtool.yaml (named_bases: noble, trixie); add named_bases.sid to it, or use default or one of those`},
		{"platform without that base", []string{"ubuntu-amd64"}, []string{"trixie"}, "", "named base trixie has no base for platform ubuntu-amd64 in rtool.yaml (named_bases.trixie has debian-amd64, debian-arm64); add named_bases.trixie.ubuntu-amd64 to it"},
		{"platform without a default", []string{"ubuntu-amd64"}, []string{"default"}, "", "platform ubuntu-amd64 has no default base in rtool.yaml, only the named bases noble; add bases.ubuntu-amd64 to it, or build on a named base (build.base in the manifest, --base NAME for rtool base)"},
		{"platform without any base", []string{"rhel-amd64"}, nil, "", "platform rhel-amd64 has no base in rtool.yaml (configured: debian-amd64, debian-arm64, ubuntu-amd64); add bases.rhel-amd64 to it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sels, err := cfg.SelectBases(tt.platforms, tt.names)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got  %v\n want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sels {
				got = append(got, s.Platform+"/"+s.Name)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestRuntimeBase(t *testing.T) {
	cfg, err := ParseConfig([]byte(namedYAML), "/repo/rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const mf = "runtimes/openjdk-21/manifest.yaml"
	tests := []struct {
		name      string
		base      string
		platforms []string
		want      string
		wantErr   string
	}{
		{"no build.base", "", []string{"debian-amd64", "rhel-amd64"}, "default", ""},
		{"named", "trixie", []string{"debian-amd64", "debian-arm64"}, "trixie", ""},
		{"unknown", "sid", []string{"debian-amd64"}, "", `runtimes/openjdk-21/manifest.yaml: build.base: no named base "sid" in /repo/rtool.yaml (named_bases: noble, trixie); add named_bases.sid with a base for each of debian-amd64 to /repo/rtool.yaml, or use one of those`},
		{"platform missing", "trixie", []string{"debian-amd64", "ubuntu-amd64", "rhel-arm64"}, "", "runtimes/openjdk-21/manifest.yaml: build.base: named base trixie has no base for platform ubuntu-amd64, rhel-arm64 in /repo/rtool.yaml (named_bases.trixie has debian-amd64, debian-arm64); add named_bases.trixie.ubuntu-amd64 to /repo/rtool.yaml, or remove ubuntu-amd64, rhel-arm64 from platforms"},
		{"malformed", "Trixie", []string{"debian-amd64"}, "", `runtimes/openjdk-21/manifest.yaml: build.base: "Trixie" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie; use "trixie"`},
		{"reserved", "default", []string{"debian-amd64"}, "", `runtimes/openjdk-21/manifest.yaml: build.base: "default" is reserved for the platform's default base (rtool.yaml's bases); remove build.base to build on the platforms' default bases`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &schema.Manifest{Name: "openjdk-21", Platforms: tt.platforms}
			if tt.base != "" {
				m.Build = &schema.BuildSettings{Base: tt.base}
			}
			got, err := cfg.RuntimeBase(mf, m)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got  %v\n want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RuntimeBase = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A named base's errors while resolving name its entry.
func TestResolveNamedRootfsMissing(t *testing.T) {
	cfg, err := ParseConfig([]byte(namedYAML), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = t.TempDir()
	_, err = cfg.resolve("ubuntu-amd64", "noble")
	want := "rtool.yaml: named_bases.noble.ubuntu-amd64.rootfs: stat " + filepath.Join(cfg.Dir, "bases/noble.tar") + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("resolve = %v, want %s", err, want)
	}
}

// base list marks named bases rtool.yaml still configures current, and
// prune keeps them; a named base dropped from rtool.yaml is stale.
func TestListAndPruneNamedBases(t *testing.T) {
	cfg, err := ParseConfig([]byte(namedYAML), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SourcesFiles = []string{"testdata/apt/debian.sources"}
	cfg.Dir = t.TempDir()
	writeTree(t, cfg.Dir, map[string]string{"bases/noble.tar": "x"})
	b := New(cfg, Options{CacheDir: t.TempDir()})
	var dirs []string
	for _, s := range []BaseSel{{"debian-amd64", "default"}, {"debian-amd64", "trixie"}, {"ubuntu-amd64", "noble"}} {
		r, err := cfg.resolve(s.Platform, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, fakeBase(t, b, r))
	}
	gone, err := cfg.resolve("debian-arm64", "trixie")
	if err != nil {
		t.Fatal(err)
	}
	gone.Name = "bullseye" // a named base rtool.yaml no longer has
	staleDir := fakeBase(t, b, gone)
	infos, err := b.ListBases()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range infos {
		got = append(got, i.ID[:strings.LastIndexByte(i.ID, '-')]+" "+i.Base+" "+map[bool]string{true: "current", false: "stale"}[i.Current])
	}
	want := "debian-amd64 default current, debian-amd64-trixie trixie current, debian-arm64-bullseye bullseye stale, ubuntu-amd64-noble noble current"
	if strings.Join(got, ", ") != want {
		t.Fatalf("ListBases:\n got  %s\n want %s", strings.Join(got, ", "), want)
	}
	removed, err := b.PruneBases(false)
	if err != nil || len(removed) != 1 || removed[0] != staleDir {
		t.Fatalf("prune removed %v, %v; want only %s", removed, err, staleDir)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("prune removed the current base %s", d)
		}
	}
}
