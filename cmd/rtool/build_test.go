package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
