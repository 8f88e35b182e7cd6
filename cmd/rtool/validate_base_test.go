package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rtool validate checks build.base against the build configuration beside
// the runtimes directory, or --config; without one, the name's form only.
func TestValidateBuildBase(t *testing.T) {
	repo := t.TempDir()
	runtimes := filepath.Join(repo, "runtimes")
	files := map[string]string{
		"runtimes/jdk/manifest.yaml": "name: jdk\nversion: 1.0.0\ndescription: j\nplatforms: [debian-amd64, ubuntu-amd64]\nbuild:\n  base: trixie\n",
		"rtool.yaml":                 "bases:\n  debian-amd64: {rootfs: x}\nnamed_bases:\n  trixie:\n    debian-amd64: {rootfs: y}\n",
		"other/rtool.yaml":           "named_bases:\n  trixie:\n    debian-amd64: {rootfs: y}\n    ubuntu-amd64: {rootfs: z}\n",
		"broken/rtool.yaml":          "named_bases:\n  Trixie:\n    debian-amd64: {rootfs: y}\n",
	}
	for name, body := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(runtimes, "jdk", "manifest.yaml")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"rtool.yaml beside runtimes/", nil, exitFindings,
			manifest + ":6:9: error: named base trixie has no base for platform ubuntu-amd64 in " + filepath.Join(repo, "rtool.yaml") + " (named_bases.trixie has debian-amd64) [build.base]", ""},
		{"--config", []string{"--config", filepath.Join(repo, "other", "rtool.yaml")}, exitOK, "1 runtime checked: no problems", ""},
		{"broken --config", []string{"--config", filepath.Join(repo, "broken", "rtool.yaml")}, exitUsage, "",
			"validate: " + filepath.Join(repo, "broken", "rtool.yaml") + `: named_bases.Trixie: the name "Trixie" is not a base name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"rtool", "validate", "--manifest-only", "--runtimes", runtimes}, tt.args...)
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s\nwant stdout with %q, stderr with %q", code, tt.wantCode, stdout.String(), stderr.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
	// no build configuration: build.base is only a well-formed name
	if err := os.Remove(filepath.Join(repo, "rtool.yaml")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rtool", "validate", "--manifest-only", "--runtimes", runtimes}, &stdout, &stderr); code != exitOK {
		t.Fatalf("without rtool.yaml: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
