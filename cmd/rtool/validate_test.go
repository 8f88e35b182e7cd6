package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

const (
	upstreamRuntimes = "../../testdata/joblet-runtimes-upstream/runtimes"
	ruleCases        = "../../validate/testdata/rules"
)

func rtool(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"rtool"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateCommandExitCodes(t *testing.T) {
	testenv.RequireCommands(t, "bash")
	undeclared := filepath.Join(ruleCases, "platform-setup-undeclared")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string // substring of stdout
		stderr    string // substring of stderr
		notStdout string
	}{
		{"upstream manifest-only", []string{"validate", "--root", upstreamRuntimes, "--manifest-only"}, exitOK, "5 runtimes checked: no problems\n", "", ""},
		{"upstream without scripts", []string{"validate", "--root", upstreamRuntimes, "--no-shellcheck"}, exitFindings, "5 runtimes checked: 35 errors, 0 warnings\n", "", ""},
		{"flags after names", []string{"validate", "python-3.11", "openjdk-21", "--root", upstreamRuntimes, "--manifest-only"}, exitOK, "2 runtimes checked: no problems\n", "", ""},
		{"one broken runtime", []string{"validate", "demo", "--root", filepath.Join(ruleCases, "version-format"), "--no-shellcheck"}, exitFindings,
			`demo/manifest.yaml:2:10: error: version "v1.0.0" has a "v" prefix; write "1.0.0" [version.format]`, "", ""},
		{"warnings pass", []string{"validate", "--root", undeclared, "--no-shellcheck"}, exitOK, "1 runtime checked: 0 errors, 2 warnings\n", "", ""},
		{"warnings fail under strict", []string{"validate", "--root", undeclared, "--no-shellcheck", "--strict"}, exitFindings, "0 errors, 2 warnings", "", ""},
		// Issue 11: every shell script of a runtime is checked, and an empty
		// or hidden root is a finding.
		{"broken build helper", []string{"validate", "--root", filepath.Join(ruleCases, "script-other"), "--no-shellcheck", "--strict"}, exitFindings,
			"demo/build-debian.sh:6: error: bash -n: syntax error: unexpected end of file [script.syntax]", "", ""},
		{"this repository's runtime with a CRLF build-debian.sh", []string{"validate", "--root", crlfBuildScript(t), "--no-shellcheck", "--strict"}, exitFindings,
			"python-3.11/build-debian.sh:1:20: error: build-debian.sh has Windows (CRLF) line endings", "", ""},
		{"no runtime", []string{"validate", "--root", filepath.Join(ruleCases, "root-no-runtimes")}, exitFindings,
			"no runtime in " + filepath.Join(ruleCases, "root-no-runtimes"), "", "no problems"},
		{"hidden runtime", []string{"validate", "--root", filepath.Join(ruleCases, "root-hidden-runtime"), "--no-shellcheck"}, exitFindings,
			"directory .old-demo holds a manifest.yaml", "", "no problems"},
		{"unknown runtime", []string{"validate", "nope", "--root", upstreamRuntimes}, exitUsage, "", `no runtime "nope" under`, "checked"},
		{"missing root", []string{"validate", "--root", filepath.Join(t.TempDir(), "absent")}, exitUsage, "", "runtimes root", "checked"},
		{"unknown format", []string{"validate", "--root", upstreamRuntimes, "--format", "xml"}, exitUsage, "", `unknown --format "xml"`, "checked"},
		{"unknown flag", []string{"validate", "--colour"}, exitUsage, "", "usage:", "checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := rtool(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			if tc.notStdout != "" && strings.Contains(stdout, tc.notStdout) {
				t.Errorf("stdout has %q:\n%s", tc.notStdout, stdout)
			}
			if strings.Contains(stdout, "\x1b[") {
				t.Error("colour on a non-terminal")
			}
		})
	}
}

// crlfBuildScript copies this repository's python-3.11 runtime into a new
// root with build-debian.sh converted to CRLF line endings (an editor on
// Windows), and returns the root.
func crlfBuildScript(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("..", "..", "runtimes", "python-3.11")
	dst := filepath.Join(root, "python-3.11")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "build-debian.sh")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestValidateCommandJSON(t *testing.T) {
	code, stdout, stderr := rtool(t, "validate", "python-3.11", "--format", "json", "--root", upstreamRuntimes, "--no-shellcheck")
	if code != exitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Runtimes []struct {
			Name        string `json:"name"`
			Diagnostics []struct {
				Rule string `json:"rule"`
				Line int    `json:"line"`
			} `json:"diagnostics"`
		} `json:"runtimes"`
		Summary struct{ Runtimes, Errors, Warnings int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if len(doc.Runtimes) != 1 || doc.Runtimes[0].Name != "python-3.11" || doc.Summary.Errors != 7 || doc.Summary.Runtimes != 1 {
		t.Fatalf("got %+v", doc)
	}
	if d := doc.Runtimes[0].Diagnostics[0]; d.Rule != "platform.setup-missing" || d.Line != 10 {
		t.Errorf("first finding %+v", d)
	}
}

func TestValidateCommandGitHub(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, stdout, stderr := rtool(t, "validate", "--format", "github", "--root", filepath.Join(ruleCases, "platform-setup-undeclared"), "--no-shellcheck", "--strict")
	if code != exitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "::warning file=") || !strings.Contains(lines[0], ",line=1,col=1,title=platform.setup-undeclared::setup-centos.sh is for") {
		t.Fatalf("annotations:\n%s", stdout)
	}
	// In a git work tree the file is relative to the repository root, as
	// GitHub expects.
	if testenv.InCI() || gitTop(t) != "" {
		if !strings.HasPrefix(lines[0], "::warning file=validate/testdata/rules/platform-setup-undeclared/demo/setup-centos.sh,") {
			t.Errorf("file not relative to the repository root: %s", lines[0])
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(md), "earlier step\n## rtool validate\n\n1 runtime checked: 0 errors, 2 warnings\n") || !strings.Contains(string(md), "`platform.setup-undeclared`") {
		t.Errorf("step summary:\n%s", md)
	}
}

func gitTop(t *testing.T) string {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Without --root, rtool validate checks runtimes/ at the top of the git work
// tree, from any directory inside it; outside git it uses ./runtimes.
func TestValidateCommandDefaultRoot(t *testing.T) {
	testenv.RequireCommands(t, "git", "bash")
	for _, inGit := range []bool{true, false} {
		repo := t.TempDir()
		dir := filepath.Join(repo, "runtimes", "demo")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"manifest.yaml":         "name: demo\nversion: 1.0.0\ndescription: d\nplatforms: [debian-amd64]\n",
			"setup.sh":              "#!/bin/bash\nexec ./setup-debian-amd64.sh\n",
			"setup-debian-amd64.sh": "#!/bin/bash\necho building\n",
		}
		for f, data := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cwd := repo
		if inGit {
			if out, err := exec.Command("git", "-C", repo, "init", "-q").CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			cwd = dir // anywhere inside the work tree
		}
		t.Chdir(cwd)
		code, stdout, stderr := rtool(t, "validate", "--no-shellcheck")
		if code != exitOK || stdout != "1 runtime checked: no problems\n" {
			t.Errorf("in git %v: exit %d\nstdout:\n%s\nstderr:\n%s", inGit, code, stdout, stderr)
		}
		if err := os.WriteFile(filepath.Join(dir, "manifest.yaml"), []byte("name: demo\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, _ = rtool(t, "validate", "--no-shellcheck")
		want := "runtimes/demo/manifest.yaml:1:1: error: manifest has no \"description\" [manifest.required]"
		if inGit {
			want = "../demo/manifest.yaml:1:1: error: manifest has no \"description\" [manifest.required]"
		}
		if code != exitFindings || !strings.HasPrefix(stdout, want) {
			t.Errorf("in git %v: exit %d, want output starting %q:\n%s", inGit, code, want, stdout)
		}
	}
}
