package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// localRegistry packs a tiny runtime demo@version for debian-amd64 into dir
// and writes dir/registry.json naming it by a relative path.
func localRegistry(t *testing.T, dir string, versions ...string) {
	t.Helper()
	reg := &schema.Registry{Version: "1", UpdatedAt: "2026-01-01T00:00:00Z", Runtimes: map[string]map[string]*schema.RegistryEntry{"demo": {}}}
	for _, v := range versions {
		tree := t.TempDir()
		os.MkdirAll(filepath.Join(tree, "isolated"), 0o755)
		os.WriteFile(filepath.Join(tree, "runtime.yml"), []byte("name: demo\nversion: \""+v+"\"\nmounts:\n  - source: isolated\n    target: /opt/demo\n    readonly: true\n"), 0o644)
		file := schema.ArtifactName("demo", v, "debian-amd64")
		st, err := archive.PackFile(context.Background(), tree, filepath.Join(dir, file), archive.PackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a := &schema.Artifact{DownloadURL: file, Checksum: "sha256:" + st.SHA256, Size: st.Size, UnpackedSize: st.UnpackedSize, Entries: st.Entries}
		reg.Runtimes["demo"][v] = &schema.RegistryEntry{Version: v, Description: "demo", DownloadURL: file, Checksum: a.Checksum, Size: a.Size,
			Platforms: []string{"debian-amd64"}, Artifacts: map[string]*schema.Artifact{"debian-amd64": a}}
	}
	data, err := schema.EncodeRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "registry.json"), data, 0o644)
}

func TestRuntimeCommands(t *testing.T) {
	dir := t.TempDir()
	localRegistry(t, dir, "1.0.0", "1.1.0")
	root := filepath.Join(t.TempDir(), "rt")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"install latest, flags after the spec", []string{"runtime", "install", "demo", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 0, filepath.Join(root, "demo", "1.1.0"), "installed demo@1.1.0"},
		{"install again", []string{"runtime", "install", "demo@1.1.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 0, "", "already installed"},
		{"install exact, json", []string{"runtime", "install", "demo@1.0.0", "--registry", dir, "--root", root, "--platform", "debian-amd64", "--json"}, 0, `"version": "1.0.0"`, ""},
		{"list", []string{"runtime", "list", "--root", root}, 0, "demo\t1.0.0\t", ""},
		{"list available", []string{"runtime", "list", "--available", "--registry", dir, "--platform", "debian-amd64"}, 0, "demo\t1.1.0\tdebian-amd64", ""},
		{"info", []string{"runtime", "info", "demo@~1.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 0, "resolves to 1.0.0", ""},
		{"unknown runtime", []string{"runtime", "install", "dmeo", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 1, "", "did you mean demo"},
		{"unknown version", []string{"runtime", "install", "demo@3.0.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 1, "", "available: 1.0.0, 1.1.0"},
		{"other platform", []string{"runtime", "install", "demo", "--registry", dir, "--root", root, "--platform", "rhel-arm64"}, 1, "", "debian-amd64"},
		{"bad platform", []string{"runtime", "install", "demo", "--registry", dir, "--root", root, "--platform", "win"}, 2, "", "--platform"},
		{"bad spec", []string{"runtime", "install", "Demo", "--registry", dir, "--root", root}, 2, "", "uppercase"},
		{"no spec", []string{"runtime", "install", "--registry", dir}, 2, "", "exactly one"},
		{"remove needs an exact version", []string{"runtime", "remove", "demo", "--root", root}, 2, "", "exact version"},
		{"remove", []string{"runtime", "remove", "demo@1.0.0", "--root", root}, 0, "", "removed"},
		{"run needs a command", []string{"runtime", "run", "demo", "--root", root}, 2, "", "no command"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"rtool"}, tt.args...), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				tt.name, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"rtool", "runtime", "list", "--root", root, "--json"}, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatal("list --json failed")
	}
	var list []struct{ Name, Version string }
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(list) != 1 || list[0].Version != "1.1.0" {
		t.Errorf("list --json = %s (%v)", stdout.String(), err)
	}
}

// Installs of the old flat layout are listed, shadowed by a nested install
// of the same version and removed with it; --joblet reads the registry as
// Joblet's client does.
func TestRuntimeLayoutsAndJoblet(t *testing.T) {
	dir := t.TempDir()
	localRegistry(t, dir, "1.0.0", "1.1.0")
	root := filepath.Join(t.TempDir(), "rt")
	rtool := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"rtool"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	// An install of the old flat layout: root/demo-1.0.0.
	if code, _, stderr := rtool("runtime", "install", "demo@1.0.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"); code != 0 {
		t.Fatal(stderr)
	}
	nested, flat := filepath.Join(root, "demo", "1.0.0"), filepath.Join(root, "demo-1.0.0")
	if err := os.Rename(nested, flat); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "demo"))
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"list shows the flat layout", []string{"runtime", "list", "--root", root}, 0, "demo\t1.0.0\t" + flat + "\t(old flat layout)\n", ""},
		{"install beside the flat one", []string{"runtime", "install", "demo@1.0.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 0,
			nested + "\n", "the flat install " + flat + " is now shadowed by " + nested},
		{"list says the flat one is shadowed", []string{"runtime", "list", "--root", root}, 0,
			"demo\t1.0.0\t" + nested + "\ndemo\t1.0.0\t" + flat + "\t(old flat layout; shadowed by " + nested + ", which rtool and Joblet use)\n", ""},
		{"info lists both", []string{"runtime", "info", "demo@1.0.0", "--registry", dir, "--root", root, "--platform", "debian-amd64"}, 0,
			"installed:\n  1.0.0\t" + nested + "\n  1.0.0\t" + flat + "\t(old flat layout, shadowed)\n", ""},
		{"joblet install, json", []string{"runtime", "install", "demo", "--joblet", "--registry", dir, "--root", root, "--json"}, 0,
			`"download_url": "demo-1.1.0-debian-amd64.tar.gz"`, "a Joblet node needs an absolute http(s) URL"},
		{"joblet install says what Joblet picked", []string{"runtime", "install", "demo@latest", "--joblet", "--registry", dir, "--root", root}, 0,
			filepath.Join(root, "demo", "1.1.0") + "\n", "Joblet's client picks demo@1.1.0 for demo@latest from " + filepath.Join(dir, "registry.json")},
		{"joblet ignores --platform", []string{"runtime", "install", "demo", "--joblet", "--registry", dir, "--root", root, "--platform", "rhel-arm64"}, 0, "", "--platform is ignored with --joblet"},
		{"joblet info", []string{"runtime", "info", "demo", "--joblet", "--registry", dir, "--root", root}, 0,
			"demo@latest resolves to 1.1.0 as Joblet's client picks it\n  download_url: demo-1.1.0-debian-amd64.tar.gz", ""},
		{"joblet list available", []string{"runtime", "list", "--available", "--joblet", "--registry", dir}, 0, "demo\t1.0.0\ndemo\t1.1.0\t(Joblet's latest)\n", ""},
		{"joblet refuses ranges", []string{"runtime", "install", "demo@^1.0", "--joblet", "--registry", dir, "--root", root}, 1, "", "a range is rtool's extension"},
		{"joblet reads one registry", []string{"runtime", "install", "demo", "--joblet", "--registry", dir, "--registry", dir, "--root", root}, 2, "", "exactly one registry"},
		{"remove takes both layouts", []string{"runtime", "remove", "demo@1.0.0", "--root", root, "--json"}, 0,
			`"removed": [` + "\n    \"" + nested + "\",\n    \"" + flat + "\"\n  ]", ""},
		{"list after remove", []string{"runtime", "list", "--root", root}, 0, "demo\t1.1.0\t" + filepath.Join(root, "demo", "1.1.0") + "\n", ""},
	}
	for _, tt := range tests {
		code, stdout, stderr := rtool(tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				tt.name, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
	if _, err := os.Stat(flat); !os.IsNotExist(err) {
		t.Errorf("the flat install is still there: %v", err)
	}
}
