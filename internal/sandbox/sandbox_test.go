package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/testenv"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

// hostRoot returns a root that borrows the host's /usr read-only, with the
// merged-/usr symlinks a Debian root has.
func hostRoot(t *testing.T) (string, []Mount) {
	t.Helper()
	root := t.TempDir()
	for name, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, []Mount{{Source: "/usr", Target: "/usr", ReadOnly: true, NoSuid: true, NoDev: true}}
}

func mountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRun(t *testing.T) {
	testenv.RequireRoot(t)
	tests := []struct {
		name       string
		script     string
		extra      []Mount
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{name: "exit code", script: "exit 7", wantCode: 7},
		// only init, sh and the pipeline: none of the host's processes
		{name: "pid namespace", script: "echo ppid=$PPID; ls -d /proc/[0-9]* | wc -l | sed 's/^[1-6]$/few/'", wantOut: "ppid=1\nfew"},
		{name: "hostname", script: "hostname", wantOut: "rtool-sandbox"},
		{name: "environment", script: "echo $GREETING", wantOut: "hello"},
		{name: "read-only mount", script: "touch /usr/rtool-test 2>&1; echo rc=$?", wantOut: "Read-only file system"},
		{name: "dev null", script: "echo x > /dev/null && echo ok", wantOut: "ok"},
		{name: "private devpts", script: "test -c /dev/pts/ptmx && ls /dev/pts | wc -l", wantOut: "1"},
		{name: "tmpfs writable", script: "echo data > /tmp/f && cat /tmp/f", extra: []Mount{{Type: "tmpfs", Target: "/tmp", Data: "size=1m"}}, wantOut: "data"},
		{name: "signal exit", script: "kill -TERM $$", wantCode: 128 + 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mountinfo(t)
			root, mounts := hostRoot(t)
			var out, errOut bytes.Buffer
			code, err := Run(context.Background(), Spec{
				Root: root, Mounts: append(mounts, tc.extra...), Proc: true, Dev: true,
				Args: []string{"sh", "-c", tc.script}, Env: []string{"PATH=/usr/bin:/bin", "GREETING=hello"},
				Stdout: &out, Stderr: &errOut,
			})
			if err != nil {
				t.Fatalf("Run: %v (stderr %q)", err, errOut.String())
			}
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d (stdout %q stderr %q)", code, tc.wantCode, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out.String(), tc.wantOut)
			}
			if after := mountinfo(t); after != before {
				t.Errorf("host mounts changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if _, err := os.Stat("/usr/rtool-test"); err == nil {
				t.Errorf("the sandbox wrote through a read-only mount")
			}
		})
	}
}

func TestOverlayLeavesLowerUntouched(t *testing.T) {
	testenv.RequireRoot(t)
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "keep"), []byte("base"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, mounts := hostRoot(t)
	for name, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64"} {
		os.Symlink(target, filepath.Join(lower, name))
	}
	code, err := Run(context.Background(), Spec{
		Root: merged, Overlay: &Overlay{Lower: lower, Upper: upper, Work: work}, Mounts: mounts,
		Args: []string{"sh", "-c", "echo new > /keep && echo made > /created"}, Env: []string{"PATH=/usr/bin"},
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if b, _ := os.ReadFile(filepath.Join(lower, "keep")); string(b) != "base" {
		t.Errorf("lower/keep = %q, want it unchanged", b)
	}
	if b, _ := os.ReadFile(filepath.Join(upper, "created")); string(b) != "made\n" {
		t.Errorf("upper/created = %q, want the sandbox's write", b)
	}
	if entries, _ := os.ReadDir(merged); len(entries) != 0 {
		t.Errorf("merged dir on the host is not empty after the run: the overlay stayed mounted")
	}
}

func TestRootTmpfsKeepsWritesOffTheHost(t *testing.T) {
	testenv.RequireRoot(t)
	root := t.TempDir()
	// the root's own symlinks would be hidden by the tmpfs: bind what sh needs
	var mounts []Mount
	for _, dir := range []string{"/usr", "/lib", "/lib64"} {
		mounts = append(mounts, Mount{Source: dir, Target: dir, ReadOnly: true})
	}
	var out bytes.Buffer
	code, err := Run(context.Background(), Spec{
		Root: root, RootTmpfs: "mode=755,size=1m", Mounts: mounts,
		Args: []string{"/usr/bin/sh", "-c", "echo x > /written && cat /written; head -c 2000000 /dev/zero > /big 2>/dev/null || echo full"},
		Env:  []string{"PATH=/usr/bin"}, Stdout: &out, Dev: true,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if out.String() != "x\nfull\n" {
		t.Errorf("stdout = %q, want the write to work and the size bound to hold", out.String())
	}
	for _, name := range []string{"written", "big", "usr", "dev"} {
		if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
			t.Errorf("%s reached the host directory", name)
		}
	}
}

func TestCancelKillsNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	before := mountinfo(t)
	root, mounts := hostRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Spec{Root: root, Mounts: mounts, Proc: true,
		Args: []string{"sh", "-c", "sleep 60 & sleep 60"}, Env: []string{"PATH=/usr/bin"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if after := mountinfo(t); after != before {
		t.Errorf("host mounts changed after an interrupted run")
	}
}

func TestSetupErrors(t *testing.T) {
	testenv.RequireRoot(t)
	root, mounts := hostRoot(t)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"missing command", Spec{Root: root, Mounts: mounts, Args: []string{"no-such-command"}, Env: []string{"PATH=/usr/bin"}}, `command "no-such-command" not found`},
		{"missing bind source", Spec{Root: root, Mounts: append(mounts, Mount{Source: "/nonexistent-rtool", Target: "/x"}), Args: []string{"true"}}, "bind source for /x"},
		{"relative target", Spec{Root: root, Mounts: []Mount{{Source: "/usr", Target: "usr"}}, Args: []string{"true"}}, "must be absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.spec)
			var se *SetupError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want SetupError containing %q", err, tc.want)
			}
		})
	}
}

func TestResolveInStaysInsideRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.Symlink("/real", filepath.Join(root, "abs"))
	os.Symlink("../../../../etc", filepath.Join(root, "escape"))
	os.Symlink("real", filepath.Join(root, "rel"))
	tests := map[string]string{
		"/abs/x":         "real/x",
		"/escape/passwd": "etc/passwd",
		"/rel/y":         "real/y",
		"/../../z":       "z",
		"/new/dir":       "new/dir",
	}
	for target, want := range tests {
		got, err := resolveIn(root, target)
		if err != nil {
			t.Fatalf("resolveIn(%s): %v", target, err)
		}
		if got != filepath.Join(root, want) {
			t.Errorf("resolveIn(%s) = %s, want %s", target, got, filepath.Join(root, want))
		}
	}
}
