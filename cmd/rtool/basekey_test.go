package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateBaseKey = flag.Bool("update-basekey", false, "rewrite cmd/rtool/testdata/basekey/*")

// baseKeyConfig has explicit mirrors, so its keys do not depend on the
// host's apt sources and the golden outputs hold on any machine.
const baseKeyConfig = `bases:
  debian-amd64: {debootstrap: {suite: bookworm, variant: minbase, arch: amd64, mirror: "http://deb.debian.org/debian"}}
  debian-arm64: {debootstrap: {suite: bookworm, variant: minbase, arch: arm64, mirror: "http://deb.debian.org/debian"}}
named_bases:
  trixie:
    debian-amd64: {debootstrap: {suite: trixie, variant: minbase, arch: amd64, mirror: "http://deb.debian.org/debian"}}
    debian-arm64: {debootstrap: {suite: trixie, variant: minbase, arch: arm64, mirror: "http://deb.debian.org/debian"}}
  noble:
    ubuntu-amd64: {debootstrap: {suite: noble, variant: minbase, arch: amd64, mirror: "http://archive.ubuntu.com/ubuntu"}}
`

// rtool base key lists every base, default and named, with its base
// name; --base and --runtime narrow it; rtool base build checks what it is
// asked for before bootstrapping anything.
func TestBaseKeyAndBuildArgs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rtool.yaml")
	cache := filepath.Join(dir, "cache")
	runtimes := filepath.Join(dir, "runtimes")
	for name, body := range map[string]string{
		cfg: baseKeyConfig,
		filepath.Join(runtimes, "jdk", "manifest.yaml"): "name: jdk\nversion: 1.0.0\ndescription: j\nplatforms: [debian-amd64, debian-arm64]\nbuild:\n  base: trixie\n",
		filepath.Join(runtimes, "py", "manifest.yaml"):  "name: py\nversion: 1.0.0\ndescription: p\nplatforms: [debian-amd64, debian-arm64]\n",
		filepath.Join(runtimes, "bad", "manifest.yaml"): "name: bad\nversion: 1.0.0\ndescription: b\nplatforms: [debian-amd64]\nbuild:\n  base: sid\n",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"--config", cfg, "--cache", cache}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		golden   string // stdout, in testdata/basekey/
		wantErr  string
	}{
		{"every base", []string{"base", "key"}, exitOK, "all.txt", ""},
		{"every base as JSON", []string{"base", "key", "--json"}, exitOK, "all.json", ""},
		{"one platform's bases", []string{"base", "key", "debian-arm64", "--json"}, exitOK, "arm64.json", ""},
		{"one named base", []string{"base", "key", "--base", "trixie", "--json"}, exitOK, "trixie.json", ""},
		{"the default by name", []string{"base", "key", "debian-amd64", "--base", "default"}, exitOK, "amd64-default.txt", ""},
		{"a runtime on a named base", []string{"base", "key", "debian-amd64", "--runtime", "jdk", "--runtimes", runtimes, "--json"}, exitOK, "jdk-amd64.json", ""},
		{"runtimes, every platform", []string{"base", "key", "--runtime", "jdk", "--runtime", "py", "--runtimes", runtimes}, exitOK, "jdk-py.txt", ""},
		{"unknown base", []string{"base", "key", "--base", "sid"}, exitUsage, "", `base key: no named base "sid" in ` + cfg + ` (named_bases: noble, trixie); add named_bases.sid to it, or use default or one of those`},
		{"platform lacks the base", []string{"base", "key", "ubuntu-amd64", "--base", "trixie"}, exitUsage, "", "base key: named base trixie has no base for platform ubuntu-amd64 in " + cfg},
		{"runtime with an unknown base", []string{"base", "key", "--runtime", "bad", "--runtimes", runtimes}, exitUsage, "", "base key: " + filepath.Join(runtimes, "bad", "manifest.yaml") + `: build.base: no named base "sid" in ` + cfg},
		{"--runtime and --base", []string{"base", "key", "--runtime", "jdk", "--base", "trixie", "--runtimes", runtimes}, exitUsage, "", "--runtime and --base exclude each other"},
		{"build: platform without a default", []string{"base", "build", "ubuntu-amd64"}, exitUsage, "", "base build: platform ubuntu-amd64 has no default base in " + cfg + ", only the named bases noble"},
		{"build: unknown base", []string{"base", "build", "debian-amd64", "--base", "sid"}, exitUsage, "", `base build: no named base "sid"`},
		{"build: platform lacks the base", []string{"base", "build", "debian-amd64", "--base", "noble"}, exitUsage, "", "base build: named base noble has no base for platform debian-amd64"},
		{"build: --all-bases and --base", []string{"base", "build", "--all-bases", "--base", "trixie"}, exitUsage, "", "--all-bases and --base exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(append([]string{"rtool"}, tt.args...), common...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
			if tt.golden == "" {
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			got := strings.ReplaceAll(stdout.String(), cache, "CACHE")
			path := filepath.Join("testdata", "basekey", tt.golden)
			if *updateBaseKey {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/rtool -run TestBaseKeyAndBuildArgs -update-basekey writes it)", err)
			}
			if got != string(want) {
				t.Errorf("stdout differs from %s:\n%s", path, got)
			}
		})
	}
}
