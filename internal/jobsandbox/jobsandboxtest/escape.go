// Package jobsandboxtest builds the escape helper (testdata/escape of
// package jobsandbox) for the tests of jobsandbox, consumer and the
// end-to-end tests: a static binary that tries, inside a job, what a
// hostile runtime would try. Test code only.
package jobsandboxtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BuildEscape builds the escape helper statically (CGO_ENABLED=0, so it
// runs in a runtime without libraries) into dir and returns its path.
func BuildEscape(t testing.TB, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(filepath.Dir(file)), "testdata", "escape")
	out := filepath.Join(dir, "escape")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the escape helper needs the go tool on PATH: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the escape helper: %v\n%s", err, b)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// OpenDirs makes dir and each of its parents up to the file system root
// searchable by others (o+x), as a job's mount sources must be: tests put
// runtimes under t.TempDir(), which is 0700.
func OpenDirs(t testing.TB, dir string) {
	t.Helper()
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
				t.Fatal(err)
			}
		}
		if d == filepath.Dir(d) {
			return
		}
	}
}
