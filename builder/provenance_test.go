package builder

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/intoto"
)

func TestWithoutCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/joblet/rtool", "https://github.com/joblet/rtool"},
		{"https://x-access-token:ghs_secret@github.com/joblet/rtool.git", "https://github.com/joblet/rtool.git"},
		{"git@github.com:joblet/rtool.git", "ssh://github.com/joblet/rtool.git"},
		{"ssh://git@example.com/srv/repo.git", "ssh://example.com/srv/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
	}
	for _, tt := range tests {
		if got := withoutCredentials(tt.in); got != tt.want {
			t.Errorf("withoutCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// describeSource records the last commit touching the runtime directory
// only while the directory is exactly that commit's tree.
func TestDescribeSource(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	dir := filepath.Join(repo, "runtimes", "demo")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.yaml"), []byte("name: demo\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "setup.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(repo, "README"), []byte("x\n"), 0o644)
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@e"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("remote", "add", "origin", "https://x-access-token:secret@example.com/o/r.git")
	git("add", ".")
	git("commit", "-q", "-m", "runtime")
	commit := git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(repo, "README"), []byte("a later commit elsewhere\n"), 0o644)
	git("commit", "-q", "-am", "readme")

	tests := []struct {
		name, repo string
		modify     func()
		want       runtimeSource
	}{
		{"clean, origin without credentials", "", func() {},
			runtimeSource{Dir: "runtimes/demo", Repository: "git+https://example.com/o/r.git", Commit: commit}},
		{"repository from the environment", "git+https://github.com/o/r", func() {},
			runtimeSource{Dir: "runtimes/demo", Repository: "git+https://github.com/o/r", Commit: commit}},
		{"untracked file", "", func() { os.WriteFile(filepath.Join(dir, "new"), []byte("n"), 0o644) },
			runtimeSource{Dir: "runtimes/demo", Note: "the runtime directory differs from its last commit " + commit[:12] + " (uncommitted or untracked files)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.modify()
			got, err := describeSource(t.Context(), dir, tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			tree, _ := intoto.GitTree(dir)
			tt.want.Tree = tree
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	outside := filepath.Join(t.TempDir(), "loose")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "f"), []byte("f"), 0o644)
	got, err := describeSource(t.Context(), outside, "")
	if err != nil || got.Dir != "loose" || got.Commit != "" || got.Note == "" {
		t.Errorf("outside git: %+v, %v", got, err)
	}
}
