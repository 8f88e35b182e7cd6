package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"valid debootstrap and rootfs", `
bases:
  debian-amd64:
    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [ca-certificates]}
  ubuntu-amd64:
    rootfs: bases/ubuntu.tar.gz
`, ""},
		{"repository rtool.yaml", mustRead(t, "../rtool.yaml"), ""},
		{"no bases", "bases: {}\n", "no platform configured"},
		{"empty file", "", "no platform configured"},
		{"unknown key", "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64, varient: minbase}\n", "varient"},
		{"both kinds", "bases:\n  debian-amd64:\n    rootfs: x\n    debootstrap: {suite: bookworm, arch: amd64}\n", "not both"},
		{"neither", "bases:\n  debian-amd64: {}\n", "set debootstrap"},
		{"arch mismatch", "bases:\n  debian-arm64:\n    debootstrap: {suite: bookworm, arch: amd64}\n", `does not match the platform's architecture "arm64"`},
		{"missing arch", "bases:\n  debian-arm64:\n    debootstrap: {suite: bookworm}\n", "set it to arm64"},
		{"bad variant", "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64, variant: tiny}\n", "variant \"tiny\""},
		{"bad suite", "bases:\n  debian-amd64:\n    debootstrap: {suite: Book Worm, arch: amd64}\n", "not a suite name"},
		{"bad package", "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64, include: [\"a;b\"]}\n", "not a valid component or package"},
		{"bad mirror", "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64, mirror: deb.debian.org}\n", "not a URL"},
		{"bad platform", "bases:\n  debian-x86:\n    debootstrap: {suite: bookworm, arch: x86}\n", "debian-x86"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml), "rtool.yaml")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if len(cfg.Platforms()) == 0 {
					t.Fatal("no platforms")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "rtool.yaml") {
				t.Fatalf("ParseConfig error = %v; want one naming rtool.yaml and containing %q", err, tt.wantErr)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRepositoryConfigPlatforms(t *testing.T) {
	cfg, err := LoadConfig("../rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.Platforms(), ",")
	if got != "debian-amd64,debian-arm64" {
		t.Fatalf("platforms = %s", got)
	}
	for _, p := range cfg.Platforms() {
		d := cfg.Bases[p].Debootstrap
		if d == nil || d.Suite != "bookworm" || d.Variant != "minbase" {
			t.Errorf("%s: want debootstrap bookworm minbase, got %+v", p, cfg.Bases[p])
		}
	}
	if _, err := cfg.Base("rhel-amd64"); err == nil || !strings.Contains(err.Error(), "bases.rhel-amd64") {
		t.Errorf("Base(rhel-amd64) = %v; want an error naming the fix", err)
	}
}

// keyOf resolves platform of the config text with the given apt sources.
func keyOf(t *testing.T, yaml string, sources []string) string {
	t.Helper()
	cfg, err := ParseConfig([]byte(yaml), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = t.TempDir()
	cfg.SourcesFiles = sources
	r, err := cfg.resolve(cfg.Platforms()[0], "")
	if err != nil {
		t.Fatal(err)
	}
	return r.key()
}

func TestBaseKey(t *testing.T) {
	host := []string{"testdata/apt/debian.sources"}
	base := "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [a, b]}\n"
	k := keyOf(t, base, host)
	if len(k) != 64 {
		t.Fatalf("key %q is not a hex SHA-256", k)
	}
	same := map[string]string{
		"same config again":             base,
		"include order and duplicates":  "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [b, a, b]}\n",
		"explicit mirror = host mirror": "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [a, b], mirror: \"http://deb.debian.org/debian/\"}\n",
	}
	for name, y := range same {
		if got := keyOf(t, y, host); got != k {
			t.Errorf("%s: key %s, want %s", name, got, k)
		}
	}
	differ := map[string]string{
		"suite":    "bases:\n  debian-amd64:\n    debootstrap: {suite: trixie, variant: minbase, arch: amd64, include: [a, b], mirror: http://deb.debian.org/debian}\n",
		"variant":  "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64, include: [a, b]}\n",
		"include":  "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [a]}\n",
		"mirror":   "bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: amd64, include: [a, b], mirror: http://other.example.org/debian}\n",
		"platform": "bases:\n  debian-arm64:\n    debootstrap: {suite: bookworm, variant: minbase, arch: arm64, include: [a, b]}\n",
	}
	seen := map[string]string{k: "base"}
	for name, y := range differ {
		got := keyOf(t, y, host)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: key equals the key of %s", name, prev)
		}
		seen[got] = name
	}
}

func TestBaseKeyRootfs(t *testing.T) {
	dir := t.TempDir()
	tarball := filepath.Join(dir, "root.tar")
	os.WriteFile(tarball, []byte("one"), 0o644)
	y := "bases:\n  ubuntu-amd64:\n    rootfs: " + tarball + "\n"
	k1 := keyOf(t, y, nil)
	if k1 != keyOf(t, y, nil) {
		t.Fatal("key of an unchanged tarball changed")
	}
	os.WriteFile(tarball, []byte("two"), 0o644)
	if keyOf(t, y, nil) == k1 {
		t.Fatal("key did not change with the tarball's content")
	}

	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "etc"), 0o755)
	os.WriteFile(filepath.Join(tree, "etc/os-release"), []byte("ID=ubuntu\n"), 0o644)
	yd := "bases:\n  ubuntu-amd64:\n    rootfs: " + tree + "\n"
	kd := keyOf(t, yd, nil)
	os.WriteFile(filepath.Join(tree, "etc/os-release"), []byte("ID=ubuntu2\n"), 0o644)
	if keyOf(t, yd, nil) == kd {
		t.Fatal("key did not change with the rootfs directory's content")
	}

	if _, err := ParseConfig([]byte("bases:\n  ubuntu-amd64:\n    rootfs: missing.tar\n"), "rtool.yaml"); err != nil {
		t.Fatal(err) // existence is checked when the base is resolved
	}
	cfg, _ := ParseConfig([]byte("bases:\n  ubuntu-amd64:\n    rootfs: missing.tar\n"), "rtool.yaml")
	cfg.Dir = dir
	if _, err := cfg.resolve("ubuntu-amd64", ""); err == nil || !strings.Contains(err.Error(), "bases.ubuntu-amd64.rootfs") {
		t.Fatalf("resolve of a missing rootfs = %v; want an error naming bases.ubuntu-amd64.rootfs", err)
	}
}

func TestCheckBinfmt(t *testing.T) {
	dir := t.TempDir()
	if err := checkBinfmtIn(dir, HostArch()); err != nil {
		t.Fatalf("host arch needs no handler: %v", err)
	}
	foreign := "arm64"
	if HostArch() == "arm64" {
		foreign = "amd64"
	}
	err := checkBinfmtIn(dir, foreign)
	if err == nil || !strings.Contains(err.Error(), "scripts/setup-host.sh") || !strings.Contains(err.Error(), "update-binfmts --enable qemu-") {
		t.Fatalf("missing handler: %v; want the fix named", err)
	}
	q := filepath.Join(dir, "qemu-"+qemuName(foreign))
	os.WriteFile(q, []byte("disabled\ninterpreter /usr/bin/qemu\n"), 0o644)
	if err := checkBinfmtIn(dir, foreign); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("disabled handler: %v", err)
	}
	os.WriteFile(q, []byte("enabled\ninterpreter /usr/bin/qemu\nflags: PF\n"), 0o644)
	if err := checkBinfmtIn(dir, foreign); err != nil {
		t.Fatalf("enabled handler: %v", err)
	}
}
