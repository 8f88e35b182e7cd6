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

func TestRuntimeVerify(t *testing.T) {
	dir := t.TempDir()
	localRegistry(t, dir, "1.0.0", "1.1.0")
	root := filepath.Join(t.TempDir(), "rt")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"rtool", "runtime", "install", "demo@" + v, "--registry", dir, "--root", root, "--platform", "debian-amd64"}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("install: %s", stderr.String())
		}
	}
	tests := []struct {
		name   string
		before func()
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"intact, flags after the spec", nil, []string{"demo@1.0.0", "--root", root}, 0, "demo@1.0.0 (" + filepath.Join(root, "demo", "1.0.0") + "): ok: 1 files match the install record (artifact sha256:", ""},
		{"a file added", func() { os.WriteFile(filepath.Join(root, "demo", "1.0.0", "isolated", "x"), []byte("x"), 0o644) },
			[]string{"demo@1.0.0", "--root", root}, 1, "modified: 1 difference(s) from the install record\n  extra    isolated/x", ""},
		{"json", nil, []string{"--root", root, "--json", "demo@1.0.0"}, 1, `"problem": "extra"`, ""},
		{"all", nil, []string{"--all", "--root", root}, 1, "demo@1.1.0 (" + filepath.Join(root, "demo", "1.1.0") + "): ok", ""},
		{"a spec picks the installed version", nil, []string{"demo", "--root", root}, 0, "demo@1.1.0", ""},
		{"no record", func() { os.Remove(filepath.Join(root, "demo", "1.1.0", ".rtool-install.json")) },
			[]string{"demo@1.1.0", "--root", root}, 1, "unverified: no install record (.rtool-install.json)", ""},
		{"not installed", nil, []string{"demo@2.0.0", "--root", root}, 1, "", "demo@2.0.0 is not installed"},
		{"spec and --all", nil, []string{"demo@1.0.0", "--all", "--root", root}, 2, "", "not both"},
		{"nothing to verify", nil, []string{"--root", root}, 2, "", "exactly one NAME@VERSION (or --all)"},
	}
	for _, tt := range tests {
		if tt.before != nil {
			tt.before()
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"rtool", "runtime", "verify"}, tt.args...), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				tt.name, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
	var stdout bytes.Buffer
	run(context.Background(), []string{"rtool", "runtime", "verify", "--all", "--json", "--root", root}, &stdout, &bytes.Buffer{})
	var res struct {
		OK       bool `json:"ok"`
		Installs []struct {
			Version     string `json:"version"`
			Status      string `json:"status"`
			Differences []struct{ Path, Problem string }
		} `json:"installs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.OK || len(res.Installs) != 2 ||
		res.Installs[0].Status != "modified" || res.Installs[0].Differences[0].Path != "isolated/x" || res.Installs[1].Status != "unverified" {
		t.Errorf("verify --all --json = %s (%v)", stdout.String(), err)
	}
}
