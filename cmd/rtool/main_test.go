package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A failed git (or any child process) must not leak its own exit status
// (128) as rtool's, nor lose its message.
func TestChildProcessFailureKeepsMessageAndExitCode(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "init"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(repo, "runtimes"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(repo)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"rtool", "plan", "--since", "no-such-ref"}, &stdout, &stderr)
	if code != exitFindings {
		t.Errorf("exit code = %d, want %d", code, exitFindings)
	}
	if msg := stderr.String(); !strings.Contains(msg, "no-such-ref") || strings.TrimSpace(msg) == "rtool: exit status 128" {
		t.Errorf("stderr = %q, want git's message naming the ref", msg)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	tests := [][]string{
		{"rtool", "schema"},
		{"rtool", "schema", "nonsense"},
		{"rtool", "validate", "--no-such-flag"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr.String())
			}
		})
	}
}

func TestBuildToolVersionIdentifiesDevelopmentBuilds(t *testing.T) {
	v := buildToolVersion()
	if v == "" || v == "devel" {
		t.Fatalf("buildToolVersion() = %q: a development build must carry more than \"devel\"", v)
	}
	if needsExeHash(toolVersion()) != strings.Contains(v, "+exe.") {
		t.Errorf("buildToolVersion() = %q, want the executable's hash for %q", v, toolVersion())
	}
}
