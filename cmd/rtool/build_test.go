package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/testenv"
)

// TestMain lets the test binary serve as the sandbox child that the
// root-only build tests start (rtool re-executes itself).
func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

func TestBuildCommandUsage(t *testing.T) {
	cache := t.TempDir()
	runtimes := t.TempDir()
	os.MkdirAll(filepath.Join(runtimes, "a"), 0o755)
	os.WriteFile(filepath.Join(runtimes, "a", "manifest.yaml"), []byte("name: a\nversion: 1.0.0\ndescription: a\nplatforms: [debian-amd64]\n"), 0o644)
	cfg := "../../rtool.yaml"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		wantOut  string
	}{
		{"no runtime", []string{"build", "--config", cfg}, exitUsage, "name one or more runtimes", ""},
		{"names and --all", []string{"build", "a", "--all", "--config", cfg, "--runtimes", runtimes}, exitUsage, "not both", ""},
		{"bad -j", []string{"build", "a", "-j", "0", "--config", cfg}, exitUsage, "-j must be at least 1", ""},
		{"unknown runtime", []string{"build", "nope", "--config", cfg, "--runtimes", runtimes}, exitUsage, "nope", ""},
		{"platform without base", []string{"build", "a", "-p", "rhel-amd64", "--config", cfg, "--runtimes", runtimes}, exitUsage, "bases.rhel-amd64", ""},
		{"runtime lacks platform", []string{"build", "a", "-p", "debian-arm64", "--config", cfg, "--runtimes", runtimes}, exitUsage, "does not list platform debian-arm64", ""},
		{"missing config", []string{"build", "a", "--config", filepath.Join(cache, "none.yaml")}, exitUsage, "none.yaml", ""},
		{"bad timeout", []string{"build", "a", "--timeout", "-1s", "--config", cfg, "--runtimes", runtimes}, exitUsage, "--timeout must be positive", ""},
		{"base build unknown platform", []string{"base", "build", "rhel-amd64", "--config", cfg, "--cache", cache}, exitUsage, "bases.rhel-amd64", ""},
		{"base list empty cache", []string{"base", "list", "--json", "--config", cfg, "--cache", cache}, exitOK, "", "[]\n"},
		{"base prune empty cache", []string{"base", "prune", "--config", cfg, "--cache", cache}, exitOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"rtool"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantOut)
			}
		})
	}
}

func TestBaseListJSON(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "bases", "debian-amd64-0123456789abcdef")
	os.MkdirAll(filepath.Join(dir, "rootfs", "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "etc", "os-release"), []byte("ID=debian\n"), 0o644)
	meta := `{"platform":"debian-amd64","key":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"config":{"format":1,"platform":"debian-amd64","debootstrap":{"suite":"buster","arch":"amd64","mirror":"http://deb.debian.org/debian"}},
	"created_at":"2026-01-02T03:04:05Z"}`
	os.WriteFile(filepath.Join(dir, "base.json"), []byte(meta), 0o644)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"rtool", "base", "list", "--json", "--config", "../../rtool.yaml", "--cache", cache}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var infos []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &infos); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if len(infos) != 1 || infos[0]["platform"] != "debian-amd64" || infos[0]["current"] != false || infos[0]["size"] != float64(10) {
		t.Fatalf("base list = %v", infos)
	}
	stdout.Reset()
	code = run(context.Background(), []string{"rtool", "base", "prune", "--config", "../../rtool.yaml", "--cache", cache}, &stdout, &stderr)
	if code != exitOK || !strings.Contains(stdout.String(), "removed "+dir) {
		t.Fatalf("prune: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// A failed --check-reproducible prints nothing as built (text or --json),
// leaves no artifact in --out, and the next plain build builds again
// rather than printing "unchanged" for the first build's artifact.
func TestBuildCheckReproducibleFailureNotReported(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "debootstrap", "tar")
	testenv.RequireSlow(t)
	runtimes := t.TempDir()
	dir := filepath.Join(runtimes, "tiny")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.yaml"), []byte("name: tiny\nversion: 1.0.0\ndescription: tiny\nplatforms: [debian-amd64]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "setup.sh"), []byte("#!/bin/bash\nexec bash ./setup-$PLATFORM.sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "setup-debian-amd64.sh"), []byte(`#!/bin/bash
set -euo pipefail
d=/opt/joblet/runtimes/$RUNTIME_NAME
mkdir -p "$d/isolated/bin"
date +%N > "$d/isolated/bin/stamp"
cat > "$d/runtime.yml" <<EOT
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
mounts:
  - source: isolated/bin
    target: /usr/local/bin
    readonly: true
EOT
`), 0o755)
	out := t.TempDir()
	build := func(extra ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"rtool", "build", "tiny", "-p", "debian-amd64", "--out", out, "--config", "../../rtool.yaml", "--runtimes", runtimes}, extra...)
		code := run(t.Context(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for _, extra := range [][]string{{"--check-reproducible"}, {"--check-reproducible", "--json"}} {
		code, stdout, stderr := build(extra...)
		if code != exitFindings || !strings.Contains(stderr, "isolated/bin/stamp: content differs") {
			t.Fatalf("%v: exit %d, want %d naming isolated/bin/stamp; stderr:\n%s", extra, code, exitFindings, stderr)
		}
		want := ""
		if len(extra) == 2 {
			want = "[]\n"
		}
		if stdout != want {
			t.Errorf("%v: stdout %q, want %q (a build that is not reproducible is not built)", extra, stdout, want)
		}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if e.Name() != "logs" {
				t.Errorf("%v: %s left in --out", extra, e.Name())
			}
		}
	}
	code, stdout, stderr := build()
	if code != exitOK || !strings.HasPrefix(stdout, "built\t"+filepath.Join(out, "tiny-1.0.0-debian-amd64.tar.gz")+"\tsha256:") {
		t.Fatalf("plain build after a failed check: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}
