package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

// testGitEnv isolates git from the host's configuration and gives it an
// identity, so tests behave the same everywhere.
func testGitEnv(t *testing.T) []string {
	t.Helper()
	testenv.RequireCommands(t, "git")
	home := t.TempDir()
	return []string{
		"HOME=" + home,
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, "gitconfig"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.test",
		"GIT_COMMITTER_NAME=Test Committer", "GIT_COMMITTER_EMAIL=committer@example.test",
	}
}

func mustGit(t *testing.T, g Git, args ...string) string {
	t.Helper()
	out, err := g.Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// testRepo is a bare "origin" and a clone of it with one commit.
type testRepo struct {
	Remote string // bare repository path
	Work   Git    // the clone
	Env    []string
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	env := testGitEnv(t)
	base := t.TempDir()
	remote := filepath.Join(base, "origin.git")
	root := Git{Dir: base, Env: env}
	mustGit(t, root, "init", "-q", "--bare", "-b", "main", remote)
	work := filepath.Join(base, "work")
	mustGit(t, root, "clone", "-q", remote, work)
	g := Git{Dir: work, Env: env}
	mustGit(t, g, "checkout", "-q", "-b", "main")
	writeFile(t, filepath.Join(work, "README.md"), "test repository\n")
	mustGit(t, g, "add", "README.md")
	mustGit(t, g, "commit", "-q", "-m", "initial")
	mustGit(t, g, "push", "-q", "origin", "main")
	return &testRepo{Remote: remote, Work: g, Env: env}
}

// clone makes another clone of the remote, as another CI runner would.
func (r *testRepo) clone(t *testing.T) Git {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	mustGit(t, Git{Dir: filepath.Dir(dir), Env: r.Env}, "clone", "-q", r.Remote, dir)
	return Git{Dir: dir, Env: r.Env}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func manifestYAML(name, version string, platforms ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nversion: %s\ndescription: Test runtime %s\nplatforms:\n", name, version, name)
	for _, p := range platforms {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	return b.String()
}

// addRuntime writes runtimes/<name>/manifest.yaml in the work tree and
// commits it.
func addRuntime(t *testing.T, g Git, name, version string, platforms ...string) string {
	t.Helper()
	dir := filepath.Join(g.Dir, "runtimes", name)
	writeFile(t, filepath.Join(dir, "manifest.yaml"), manifestYAML(name, version, platforms...))
	writeFile(t, filepath.Join(dir, "setup.sh"), "#!/bin/sh\necho setup\n")
	mustGit(t, g, "add", "runtimes/"+name)
	mustGit(t, g, "commit", "-q", "-m", "runtime "+name+" "+version)
	return dir
}
