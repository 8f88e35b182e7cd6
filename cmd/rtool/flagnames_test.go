package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// One flag name means one thing in every command.
func TestFlagNamesOneMeaning(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	runtimesUsage := runtimesFlags()[0].(*cli.StringFlag).Usage
	for path, cmd := range commandPaths(app.Commands, "") {
		names := map[string]bool{}
		for _, f := range cmd.Flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			usage := ""
			if df, ok := f.(cli.DocGenerationFlag); ok {
				usage = df.GetUsage()
			}
			name := f.Names()[0]
			names[name] = true
			switch name {
			case "root":
				if !strings.HasPrefix(path, "runtime ") {
					t.Errorf("rtool %s: --root is the install root of rtool runtime only; the runtimes directory is --runtimes", path)
				}
			case "runtimes":
				if usage != runtimesUsage {
					t.Errorf("rtool %s: --runtimes says %q, want runtimesFlags' %q", path, usage, runtimesUsage)
				}
			case "config":
				if !strings.HasPrefix(usage, "build configuration") {
					t.Errorf("rtool %s: --config is the build configuration only; got %q", path, usage)
				}
			}
		}
		if names["platform"] && names["platforms"] {
			t.Errorf("rtool %s has both --platform and --platforms", path)
		}
	}
}

// gitRepoWithRuntime is a git work tree with runtimes/demo and an empty
// subdirectory sub/, which it returns.
func gitRepoWithRuntime(t *testing.T) (top, sub string) {
	t.Helper()
	top = t.TempDir()
	for name, data := range map[string]string{
		"runtimes/demo/manifest.yaml":         "name: demo\nversion: 1.0.0\ndescription: demo runtime\nplatforms: [debian-amd64]\n",
		"runtimes/demo/setup.sh":              "#!/bin/bash\nset -euo pipefail\nexec \"./setup-${PLATFORM}.sh\"\n",
		"runtimes/demo/setup-debian-amd64.sh": "#!/bin/bash\nset -euo pipefail\nmkdir -p /opt/joblet/runtimes/demo\n",
		"sub/.keep":                           "",
	} {
		p := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("git", "init", "-q", top).CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out)
	}
	return top, filepath.Join(top, "sub")
}

// The old spellings keep working and say they are old; the new ones say
// nothing extra.
func TestFlagNamesOldSpellings(t *testing.T) {
	top, _ := gitRepoWithRuntime(t)
	rt := filepath.Join(top, "runtimes")
	// a registry on disk: no network (an empty list would mean upstream's)
	reg := filepath.Join(top, "registry.json")
	rnx := filepath.Join(top, "rnx.yaml")
	for name, data := range map[string]string{
		reg: `{"version":"1","updated_at":"2026-01-01T00:00:00Z","runtimes":{}}` + "\n",
		rnx: "runtimes:\n  registries:\n    - {name: local, url: " + reg + ", enabled: true}\n",
	} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inst := t.TempDir()
	tests := []struct {
		name     string
		old, now []string
		note     string
	}{
		{"validate --root", []string{"validate", "--root", rt, "--format", "json"}, []string{"validate", "--runtimes", rt, "--format", "json"}, "--root is deprecated here; use --runtimes"},
		{"plan --root", []string{"plan", "--all", "--root", rt, "--format", "json"}, []string{"plan", "--all", "--runtimes", rt, "--format", "json"}, "--root is deprecated here; use --runtimes"},
		{"release --root", []string{"release", "demo", "--root", rt, "--dry-run"}, []string{"release", "demo", "--runtimes", rt, "--dry-run"}, "--root is deprecated here; use --runtimes"},
		{"runtime list --config", []string{"runtime", "list", "--available", "--config", rnx, "--root", inst}, []string{"runtime", "list", "--available", "--rnx-config", rnx, "--root", inst}, "--config is deprecated here; use --rnx-config"},
		{"registry add --platforms", []string{"registry", "add", "--registry", filepath.Join(inst, "r.json"), "--name", "demo", "--version", "1.0.0", "--platforms", "debian-amd64", "--url", "https://e.com/{file}"},
			[]string{"registry", "add", "--registry", filepath.Join(inst, "r.json"), "--name", "demo", "--version", "1.0.0", "--supports", "debian-amd64", "--url", "https://e.com/{file}"}, "--platforms is deprecated here; use --supports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldCode, oldOut, oldErr := rtoolRun(t, tc.old...)
			nowCode, nowOut, nowErr := rtoolRun(t, tc.now...)
			if !strings.Contains(oldErr, "rtool: note: "+tc.note) {
				t.Errorf("old spelling: stderr %q lacks the note %q", oldErr, tc.note)
			}
			if strings.Contains(nowErr, "deprecated") {
				t.Errorf("new spelling: stderr %q has a deprecation note", nowErr)
			}
			var rest []string
			for _, l := range strings.SplitAfter(oldErr, "\n") {
				if !strings.HasPrefix(l, "rtool: note: "+tc.note) {
					rest = append(rest, l)
				}
			}
			if oldCode != nowCode || oldOut != nowOut || strings.Join(rest, "") != nowErr {
				t.Errorf("old and new spellings differ: exit %d/%d\nstdout %q\n   vs %q\nstderr %q\n   vs %q", oldCode, nowCode, oldOut, nowOut, oldErr, nowErr)
			}
		})
	}
}

// Every command that reads runtime definitions finds them the same way:
// from a subdirectory of the work tree too.
func TestFlagNamesRuntimesFromSubdirectory(t *testing.T) {
	top, sub := gitRepoWithRuntime(t)
	cfg, err := filepath.Abs("../../rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	want := filepath.Join(top, "runtimes")
	if real, err := filepath.EvalSymlinks(want); err == nil {
		want = real
	}
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{[]string{"validate", "--json", "--no-shellcheck"}, exitOK, `"name": "demo"`, ""},
		{[]string{"plan", "--all", "--json"}, exitOK, `"runtime": "demo"`, ""},
		{[]string{"build", "nope", "--config", cfg}, exitUsage, "", filepath.Join(want, "nope")},
		{[]string{"test", "nope", "--config", cfg}, exitUsage, "", filepath.Join(want, "nope")},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := rtoolRun(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q in it)\nstderr %q (want %q in it)", code, tc.wantCode, out, tc.wantOut, errOut, tc.wantErr)
			}
		})
	}
}

// --json wherever there is machine output, and it cannot contradict
// --format.
func TestFlagNamesJSONEverywhere(t *testing.T) {
	top, _ := gitRepoWithRuntime(t)
	rt := filepath.Join(top, "runtimes")
	for _, args := range [][]string{
		{"validate", "--runtimes", rt, "--no-shellcheck"},
		{"plan", "--all", "--runtimes", rt},
	} {
		withJSON := append(append([]string{}, args...), "--json")
		withFormat := append(append([]string{}, args...), "--format", "json")
		c1, o1, e1 := rtoolRun(t, withJSON...)
		c2, o2, _ := rtoolRun(t, withFormat...)
		if c1 != exitOK || c1 != c2 || o1 != o2 || !strings.HasPrefix(o1, "{") && !strings.HasPrefix(o1, "[") {
			t.Errorf("%v: --json gives exit %d %q (stderr %q); --format json gives exit %d %q", args, c1, o1, e1, c2, o2)
		}
		conflict := append(append([]string{}, withJSON...), "--format", "text")
		if args[0] == "plan" {
			conflict = append(append([]string{}, withJSON...), "--format", "github-matrix")
		}
		if code, _, errOut := rtoolRun(t, conflict...); code != exitUsage || !strings.Contains(errOut, "exclude each other") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 for --json with another --format", conflict, code, errOut)
		}
	}
}
