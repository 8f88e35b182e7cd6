package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

func rtoolRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"rtool"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeT(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// releaseRepo makes a bare origin and a clone with one valid runtime and
// a registry.json, and isolates git's configuration.
func releaseRepo(t *testing.T) (work, origin string) {
	t.Helper()
	testenv.RequireCommands(t, "git")
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "Rel Author", "GIT_AUTHOR_EMAIL": "rel@example.test",
		"GIT_COMMITTER_NAME": "Rel Committer", "GIT_COMMITTER_EMAIL": "rel@example.test",
		"GITHUB_STEP_SUMMARY": "", "GITHUB_TOKEN": "", "GITHUB_REPOSITORY": "", "GITHUB_API_URL": "", "GITHUB_REF_NAME": "",
	} {
		t.Setenv(k, v)
	}
	base := t.TempDir()
	origin = filepath.Join(base, "origin.git")
	gitT(t, base, "init", "-q", "--bare", "-b", "main", origin)
	work = filepath.Join(base, "work")
	gitT(t, base, "clone", "-q", origin, work)
	gitT(t, work, "checkout", "-q", "-b", "main")
	rt := filepath.Join(work, "runtimes", "hello")
	writeT(t, filepath.Join(rt, "manifest.yaml"), "name: hello\nversion: 1.2.0\ndescription: Hello runtime\nplatforms:\n  - debian-amd64\n", 0o644)
	writeT(t, filepath.Join(rt, "setup.sh"), "#!/usr/bin/env bash\nset -euo pipefail\nexec \"$(dirname \"$0\")/setup-${PLATFORM}.sh\"\n", 0o755)
	writeT(t, filepath.Join(rt, "setup-debian-amd64.sh"), "#!/usr/bin/env bash\nset -euo pipefail\nmkdir -p /opt/joblet/runtimes/hello\n", 0o755)
	writeT(t, filepath.Join(work, "registry.json"), "{\n  \"version\": \"1\",\n  \"updated_at\": \"2025-01-01T00:00:00Z\",\n  \"runtimes\": {}\n}\n", 0o644)
	gitT(t, work, "add", ".")
	gitT(t, work, "commit", "-q", "-m", "hello runtime")
	gitT(t, work, "push", "-q", "origin", "main")
	return work, origin
}

func TestReleaseCommand(t *testing.T) {
	work, origin := releaseRepo(t)
	root := filepath.Join(work, "runtimes")
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)

	code, out, errOut := rtoolRun(t, "release", "hello", "--root", root, "--dry-run")
	if code != exitOK || !strings.Contains(out, "would release hello@1.2.0") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	if tags := gitT(t, work, "tag", "-l"); tags != "" {
		t.Fatalf("dry run created tags: %s", tags)
	}
	code, out, errOut = rtoolRun(t, "release", "hello", "--root", root)
	if code != exitOK || strings.TrimSpace(out) != "hello@1.2.0" {
		t.Fatalf("release: %d\n%s\n%s", code, out, errOut)
	}
	if got := gitT(t, origin, "rev-parse", "hello@1.2.0^{commit}"); got != gitT(t, work, "rev-parse", "HEAD") {
		t.Fatalf("remote tag at %s", got)
	}
	code, _, errOut = rtoolRun(t, "release", "hello", "--root", root)
	if code != exitFindings || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "Rel Committer") {
		t.Fatalf("existing tag: %d\n%s", code, errOut)
	}
	// tests have no terminal: --force without --yes refuses instead of waiting
	code, _, errOut = rtoolRun(t, "release", "hello", "--root", root, "--force")
	if code != exitFindings || !strings.Contains(errOut, "--yes") {
		t.Fatalf("--force without --yes: %d\n%s", code, errOut)
	}
	code, _, errOut = rtoolRun(t, "release", "hello", "--root", root, "--force", "--yes", "--json")
	if code != exitOK {
		t.Fatalf("--force --yes: %d\n%s", code, errOut)
	}
	// a broken runtime does not validate and is not tagged
	writeT(t, filepath.Join(root, "hello", "manifest.yaml"), "name: hello\nversion: 1.3\ndescription: Hello runtime\nplatforms:\n  - debian-amd64\n", 0o644)
	gitT(t, work, "commit", "-q", "-am", "bad version")
	code, _, errOut = rtoolRun(t, "release", "hello", "--root", root)
	if code != exitFindings || !strings.Contains(errOut, "1.3") {
		t.Fatalf("invalid runtime: %d\n%s", code, errOut)
	}
	if code, _, _ := rtoolRun(t, "release", "--root", root); code != exitUsage {
		t.Fatalf("no name: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := rtoolRun(t, "release", "nope", "--root", root); code != exitUsage {
		t.Fatalf("unknown runtime: exit %d, want %d", code, exitUsage)
	}
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(sum), "### Released hello@1.2.0") {
		t.Fatalf("step summary:\n%s", sum)
	}
}

func TestPublishAndPlanCommands(t *testing.T) {
	work, origin := releaseRepo(t)
	root := filepath.Join(work, "runtimes")
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)

	code, out, errOut := rtoolRun(t, "plan", "--all", "--root", root)
	want := `{"include":[{"runtime":"hello","version":"1.2.0","platform":"debian-amd64","runner":"ubuntu-24.04"}]}` + "\n"
	if code != exitOK || out != want {
		t.Fatalf("plan: %d\n%q\nwant %q\n%s", code, out, want, errOut)
	}
	code, out, _ = rtoolRun(t, "plan", "--tag", "hello@1.2.0", "--root", root, "--format", "json", "--runner-amd64", "big-box")
	var items []map[string]string
	if code != exitOK || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0]["runner"] != "big-box" {
		t.Fatalf("plan json: %d %s", code, out)
	}
	for _, bad := range [][]string{{"plan", "--root", root}, {"plan", "--all", "--since", "HEAD", "--root", root}, {"plan", "--all", "--format", "yaml", "--root", root}} {
		if code, _, _ := rtoolRun(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}

	artifacts := t.TempDir()
	tree := t.TempDir()
	writeT(t, filepath.Join(tree, "runtime.yml"), "name: hello\nversion: \"1.2.0\"\ndescription: Hello\nlanguage: shell\n", 0o644)
	if _, err := archive.PackFile(context.Background(), tree, filepath.Join(artifacts, schema.ArtifactName("hello", "1.2.0", "debian-amd64")), archive.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	pubDir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(pubDir)))
	defer srv.Close()
	args := []string{"publish", "--tag", "hello@1.2.0", "--root", root, "--artifacts", artifacts, "--publisher", "dir", "--dir", pubDir, "--base-url", srv.URL}

	head := gitT(t, origin, "rev-parse", "main")
	code, out, errOut = rtoolRun(t, append(args, "--dry-run")...)
	if code != exitOK || !strings.Contains(out, "would publish hello@1.2.0") || !strings.Contains(out, "+ added   hello@1.2.0") {
		t.Fatalf("publish dry run: %d\n%s\n%s", code, out, errOut)
	}
	if gitT(t, origin, "rev-parse", "main") != head {
		t.Fatal("dry run committed")
	}
	code, out, errOut = rtoolRun(t, args...)
	if code != exitOK || !strings.Contains(out, "committed to main") {
		t.Fatalf("publish: %d\n%s\n%s", code, out, errOut)
	}
	reg := gitT(t, origin, "show", "main:registry.json")
	if !strings.Contains(reg, fmt.Sprintf("%q", srv.URL+"/hello@1.2.0/hello-1.2.0-debian-amd64.tar.gz")) {
		t.Fatalf("registry.json:\n%s", reg)
	}
	code, out, _ = rtoolRun(t, args...)
	if code != exitOK || !strings.Contains(out, "already lists hello@1.2.0") {
		t.Fatalf("re-run: %d\n%s", code, out)
	}
	code, _, errOut = rtoolRun(t, "publish", "--tag", "hello@9.9.9", "--root", root, "--artifacts", artifacts, "--publisher", "dir", "--dir", pubDir, "--base-url", srv.URL)
	if code != exitFindings || !strings.Contains(errOut, "says version 1.2.0") {
		t.Fatalf("wrong version: %d\n%s", code, errOut)
	}
	for _, bad := range [][]string{
		{"publish", "--root", root},
		{"publish", "--tag", "hello@1.2.0", "--root", root, "--publisher", "s3"},
		{"publish", "--tag", "hello@1.2.0", "--root", root, "--publisher", "dir"},
		{"publish", "--tag", "hello@1.2.0", "--root", root, "--artifacts", artifacts},                                                  // github without a token
		{"publish", "--tag", "hello@1.2.0", "--root", root, "--publisher", "dir", "--dir", pubDir, "--base-url", srv.URL, "--dry-run"}, // a dry run does not build
	} {
		if code, _, _ := rtoolRun(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
	sum, _ := os.ReadFile(summary)
	for _, want := range []string{"### Build plan: 1 job(s)", "### Published hello@1.2.0 (dir)", "failed"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("step summary lacks %q:\n%s", want, sum)
		}
	}
}
