package jobsandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/jobsandbox/jobsandboxtest"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/testenv"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// escapeRuntime is a tiny runtime: the static escape helper alone in
// bin/, bound read-only at /bin, and a host directory every user may
// write, bound read-write at /out.
type escapeRuntime struct {
	mounts []Mount
	out    string // host side of /out
	host   string // a host directory (0777) that does not exist in the job
}

func newEscapeRuntime(t *testing.T) escapeRuntime {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "bwrap", "go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	out := filepath.Join(dir, "out")
	host := filepath.Join(dir, "host")
	for _, d := range []string{bin, out, host} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{out, host} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	jobsandboxtest.BuildEscape(t, bin)
	jobsandboxtest.OpenDirs(t, dir)
	return escapeRuntime{
		mounts: []Mount{{Source: bin, Target: "/bin", ReadOnly: true, Origin: "bin"}, {Source: out, Target: "/out", Origin: "out"}},
		out:    out, host: host,
	}
}

func (r escapeRuntime) run(t *testing.T, spec Spec) (int, string, string, error) {
	t.Helper()
	spec.Mounts = append(append([]Mount{}, r.mounts...), spec.Mounts...)
	if spec.Env == nil {
		spec.Env = []string{"PATH=/bin"}
	}
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := Run(ctx, spec)
	return code, stdout.String(), stderr.String(), err
}

// Each escape a hostile runtime would try, inside a job, and what must
// come of it; then the host is checked.
func TestEscapesFail(t *testing.T) {
	r := newEscapeRuntime(t)
	marker := filepath.Join(r.host, "escaped")
	rootFile := fmt.Sprintf("/rtool-job-root-write-%d", time.Now().UnixNano())
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // lines the output must contain
	}{
		{"chroot escape to the host's /", []string{"escape", "chroot", marker}, 1,
			[]string{"chroot: chroot into a subdirectory: operation not permitted"}},
		{"write to a host path", []string{"escape", "write", marker}, 1, []string{"no such file or directory"}},
		{"write to /proc/sys/kernel", []string{"escape", "sysctl", "kernel/pid_max"}, 1, []string{"sysctl: open /proc/sys/kernel/pid_max: permission denied"}},
		{"write to /proc/sys/vm", []string{"escape", "sysctl", "vm/overcommit_memory"}, 1, []string{"sysctl: open /proc/sys/vm/overcommit_memory: permission denied"}},
		{"/proc/sys is mounted read-only", []string{"escape", "readonly", "/proc/sys/kernel"}, 0, []string{"readonly: ok"}},
		{"/dev is mounted read-only", []string{"escape", "readonly", "/dev"}, 0, []string{"readonly: ok"}},
		{"/proc is not (it is the job's own)", []string{"escape", "readonly", "/proc"}, 1, []string{"readonly: /proc is writable"}},
		{"mknod in /dev", []string{"escape", "mknod", "/dev/rtool-null"}, 1, []string{"mknod: read-only file system"}},
		{"mknod in /tmp", []string{"escape", "mknod", "/tmp/null"}, 1, []string{"mknod: operation not permitted"}},
		{"mount", []string{"escape", "mount", "/tmp"}, 1, []string{"mount: operation not permitted"}},
		{"a new user namespace", []string{"escape", "userns"}, 1, []string{"userns: operation not permitted"}},
		{"write to a read-only mount", []string{"escape", "write", "/bin/new"}, 1, []string{"read-only file system"}},
		{"write to / stays in the job", []string{"escape", "write", rootFile}, 0, []string{"write: ok"}},
		{"uid, capabilities, no_new_privs, seccomp", []string{"escape", "status"}, 0, []string{
			"uid=65534 gid=65534", "CapPrm: 0000000000000000", "CapEff: 0000000000000000",
			"CapBnd: 0000000000000000", "CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2"}},
		{"only a loopback interface", []string{"escape", "ifaces"}, 0, []string{"lo\nifaces: ok"}},
		{"exit code comes back", []string{"escape", "exit", "42"}, 42, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, err := r.run(t, Spec{Args: tt.args})
			if err != nil {
				t.Fatalf("Run: %v (stderr %s)", err, stderr)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout %q does not contain %q", stdout, w)
				}
			}
		})
	}
	if _, err := os.Lstat(marker); err == nil {
		t.Errorf("a job wrote %s on the host", marker)
	}
	if _, err := os.Lstat(rootFile); err == nil {
		os.Remove(rootFile)
		t.Errorf("a job's write to %s reached the host", rootFile)
	}
	if ents, _ := os.ReadDir(r.host); len(ents) != 0 {
		t.Errorf("the host directory holds %v", ents)
	}
}

// The escape helper is no straw man: in a plain chroot as root (package
// sandbox, which builds use for trusted setup scripts) it does reach the
// host's /.
func TestEscapeHelperEscapesAPlainChroot(t *testing.T) {
	r := newEscapeRuntime(t)
	marker := filepath.Join(r.host, "escaped")
	var out bytes.Buffer
	code, err := sandbox.Run(context.Background(), sandbox.Spec{
		Root: t.TempDir(), RootTmpfs: "mode=755,size=1m",
		Mounts: []sandbox.Mount{{Source: r.mounts[0].Source, Target: "/bin", ReadOnly: true}, {Type: "tmpfs", Target: "/tmp", Data: "size=1m"}},
		Args:   []string{"escape", "chroot", marker}, Env: []string{"PATH=/bin"}, Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("escape in a plain chroot: exit %d, %v: %s", code, err, out.String())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the helper said it escaped but %s is not there: %v", marker, err)
	}
}

func TestHostNetwork(t *testing.T) {
	r := newEscapeRuntime(t)
	host, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, i := range host {
		want = append(want, i.Name)
	}
	code, stdout, stderr, err := r.run(t, Spec{Args: []string{"escape", "ifaces"}, HostNetwork: true})
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, stderr)
	}
	if got := strings.TrimSuffix(stdout, "ifaces: ok\n"); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("with HostNetwork the job sees %q, the host has %q", got, want)
	}
}

// A file the job writes through a writable mount belongs to the job's
// uid on the host too: the job never holds host root.
func TestHostUID(t *testing.T) {
	r := newEscapeRuntime(t)
	for _, tt := range []struct {
		uid, gid uint32
		want     uint32
	}{{0, 0, DefaultID}, {4242, 4343, 4242}} {
		name := fmt.Sprintf("file-%d", tt.uid)
		code, stdout, stderr, err := r.run(t, Spec{Args: []string{"escape", "write", "/out/" + name}, UID: tt.uid, GID: tt.gid})
		if err != nil || code != 0 {
			t.Fatalf("exit %d, %v: %s %s", code, err, stdout, stderr)
		}
		fi, err := os.Stat(filepath.Join(r.out, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		wantGID := tt.gid
		if wantGID == 0 {
			wantGID = DefaultID
		}
		if st.Uid != tt.want || st.Gid != wantGID {
			t.Errorf("the job's file is owned by %d:%d on the host, want %d:%d", st.Uid, st.Gid, tt.want, wantGID)
		}
	}
}

func TestSetupErrors(t *testing.T) {
	r := newEscapeRuntime(t)
	closed := filepath.Join(t.TempDir(), "closed")
	if err := os.MkdirAll(filepath.Join(closed, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	jobsandboxtest.OpenDirs(t, filepath.Dir(closed))
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"command not found", Spec{Args: []string{"python3", "-V"}}, `command "python3" not found in the job (PATH=/bin)`},
		{"source out of reach of the job's uid", Spec{Args: []string{"escape", "status"},
			Mounts: []Mount{{Source: filepath.Join(closed, "data"), Target: "/data", Origin: "runtime.yml mounts[3]"}}},
			"runtime.yml mounts[3] (" + filepath.Join(closed, "data") + "): source " + filepath.Join(closed, "data") + " is out of reach of the job's user 65534:65534: " + closed + " is mode 0700"},
		{"target on /proc", Spec{Args: []string{"escape", "status"}, Mounts: []Mount{{Source: r.out, Target: "/proc/x", Origin: "runtime.yml mounts[1]"}}},
			"runtime.yml mounts[1]: target /proc/x is at or below /proc"},
		{"no command", Spec{}, "no command given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr, err := r.run(t, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || code != -1 {
				t.Errorf("exit %d, err %v (stderr %q); want an error containing %q", code, err, stderr, tt.want)
			}
		})
	}
}

// Cancelling the context kills every process of the job.
func TestCancelKillsTheJob(t *testing.T) {
	r := newEscapeRuntime(t)
	token := fmt.Sprintf("rtool-cancel-%d", time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Spec{Mounts: r.mounts, Env: []string{"PATH=/bin"}, Args: []string{"escape", "pause", token}, Stdout: &stdout, Stderr: &stdout})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(processesWith(token)) == 0 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the job never started: %s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for deadline := time.Now().Add(5 * time.Second); len(processesWith(token)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			var desc []string
			for _, p := range processesWith(token) {
				st, _ := os.ReadFile(filepath.Join("/proc", p, "status"))
				desc = append(desc, p+": "+strings.Join(strings.Split(string(st), "\n")[:8], "; "))
			}
			t.Fatalf("job processes left after cancel: %v", desc)
		}
	}
}

// processesWith lists the host PIDs whose command line contains token.
func processesWith(token string) []string {
	ents, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(token)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
