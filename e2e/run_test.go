package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/jobsandbox/jobsandboxtest"
	"github.com/joblet/rtool/internal/testenv"
)

// The run half of test 1 without a real build: host tools packed as a
// runtime, released over HTTP, installed and run through the CLI.
func TestInstallAndRunThroughCLI(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd")
	rel := newRelease(t)
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, "tools", "1.0.0")
	rel.addTree(t, "tools", "1.0.0", plat, tree)
	root := filepath.Join(t.TempDir(), "runtimes")
	jobsandboxtest.OpenDirs(t, filepath.Dir(root)) // jobs reach the runtime as uid 65534
	if r := rtool(t, "runtime", "install", "tools", "--registry", rel.url(), "--root", root, "--platform", plat); r.code != 0 {
		t.Fatalf("install: %s", r)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"prints from the runtime, with its environment and --env", []string{"--env", "X=y", "tools", "--", "sh", "-c", `cat /opt/data/version; echo "$GREETING $X"`},
			0, "1.0.0\nhello-from-tools y\n", ""},
		{"exit code is rtool's", []string{"tools@1.0.0", "--", "sh", "-c", "exit 42"}, 42, "", ""},
		{"read-only mount refuses writes", []string{"tools", "--", "sh", "-c", "echo x > /opt/data/new"}, 2, "", "Read-only file system"},
		{"missing command", []string{"tools", "--", "python3", "-V"}, 1, "", "python3"},
		{"not installed", []string{"other", "--", "sh"}, 1, "", "runtime 'other' is not installed"},
		{"no command", []string{"tools"}, 2, "", "no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rtool(t, append([]string{"runtime", "run", "--root", root}, tt.args...)...)
			if r.code != tt.wantCode || r.stdout != tt.wantStdout || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("got %s\nwant exit %d stdout %q stderr containing %q", r, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "1.0.0", "isolated", "data", "new")); err == nil {
		t.Error("the read-only mount was written")
	}
	// list and remove through the CLI.
	if r := rtool(t, "runtime", "list", "--root", root); r.code != 0 || !strings.HasPrefix(r.stdout, "tools\t1.0.0\t") {
		t.Errorf("list: %s", r)
	}
	if r := rtool(t, "runtime", "remove", "tools@1.0.0", "--root", root); r.code != 0 {
		t.Errorf("remove: %s", r)
	}
	if got := entriesOf(t, root); len(got) != 0 {
		t.Errorf("after remove the root holds %v", got)
	}
}

// What a hostile runtime would try, through `rtool runtime run`: every
// escape fails, the host is untouched, the job runs as 65534 (or --user)
// without capabilities, and has no network unless --network host.
func TestRunContainsTheJobThroughCLI(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd", "bwrap", "go")
	rel := newRelease(t)
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, "tools", "1.0.0")
	jobsandboxtest.BuildEscape(t, filepath.Join(tree, "isolated", "bin"))
	rel.addTree(t, "tools", "1.0.0", plat, tree)
	// A runtime whose own symlink (isolated/l -> .., inside the runtime, so
	// install accepts it) would carry a mount onto the job's /proc.
	evil := t.TempDir()
	consumertest.HostRuntime(t, evil, "evil", "1.0.0")
	if err := os.Symlink("..", filepath.Join(evil, "isolated", "l")); err != nil {
		t.Fatal(err)
	}
	yml := filepath.Join(evil, "runtime.yml")
	b, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "environment:", "  - source: isolated\n    target: /x\n    readonly: true\n  - source: isolated/data\n    target: /x/l/proc\n    readonly: true\nenvironment:", 1))
	if err := os.WriteFile(yml, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rel.addTree(t, "evil", "1.0.0", plat, evil)
	root := filepath.Join(t.TempDir(), "runtimes")
	jobsandboxtest.OpenDirs(t, filepath.Dir(root))
	for _, name := range []string{"tools", "evil"} {
		if r := rtool(t, "runtime", "install", name, "--registry", rel.url(), "--root", root, "--platform", plat); r.code != 0 {
			t.Fatalf("install %s: %s", name, r)
		}
	}
	host := filepath.Join(t.TempDir(), "host")
	if err := os.Mkdir(host, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(host, 0o777)
	jobsandboxtest.OpenDirs(t, host)
	marker := filepath.Join(host, "escaped")
	var hostIfaces []string
	if list, err := net.Interfaces(); err == nil {
		for _, i := range list {
			hostIfaces = append(hostIfaces, i.Name)
		}
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // contained
		wantStderr string // contained
	}{
		{"chroot escape", []string{"tools", "--", "escape", "chroot", marker}, 1, "chroot into a subdirectory: operation not permitted", ""},
		{"write a host path", []string{"tools", "--", "escape", "write", marker}, 1, "no such file or directory", ""},
		{"write /proc/sys/kernel", []string{"tools", "--", "escape", "sysctl", "kernel/pid_max"}, 1, "permission denied", ""},
		{"/proc/sys is read-only", []string{"tools", "--", "escape", "readonly", "/proc/sys"}, 0, "readonly: ok", ""},
		{"mknod in /dev", []string{"tools", "--", "escape", "mknod", "/dev/x"}, 1, "mknod: read-only file system", ""},
		{"mount", []string{"tools", "--", "escape", "mount", "/tmp"}, 1, "mount: operation not permitted", ""},
		{"user namespace", []string{"tools", "--", "escape", "userns"}, 1, "userns: operation not permitted", ""},
		{"uid, capabilities, no_new_privs, seccomp", []string{"tools", "--", "escape", "status"}, 0,
			"uid=65534 gid=65534\nCapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n", ""},
		{"--user", []string{"tools", "--user", "4242:4343", "--", "escape", "status"}, 0, "uid=4242 gid=4343\n", ""},
		{"no network but loopback", []string{"tools", "--", "escape", "ifaces"}, 0, "lo\nifaces: ok\n", ""},
		{"--network host", []string{"--network", "host", "tools", "--", "escape", "ifaces"}, 0, strings.Join(hostIfaces, "\n") + "\nifaces: ok\n", ""},
		{"a write to / stays in the job", []string{"tools", "--", "sh", "-c", "echo x > /rtool-e2e-root-write && cat /rtool-e2e-root-write"}, 0, "x\n", ""},
		{"exit code", []string{"tools", "--", "escape", "exit", "77"}, 77, "", ""},
		{"mount target through a runtime symlink", []string{"evil", "--", "sh", "-c", "true"}, 1, "",
			`runtime.yml mounts[5]: target /x/l/proc goes through /x/l, a symbolic link to ".." in runtime.yml mounts[4]`},
		{"--user 0", []string{"tools", "--user", "0", "--", "sh"}, 2, "", "jobs never run as root"},
		{"--network bogus", []string{"tools", "--network", "bridge", "--", "sh"}, 2, "", `--network "bridge": use none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rtool(t, append([]string{"runtime", "run", "--root", root}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantStdout) || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("got %s\nwant exit %d, stdout containing %q, stderr containing %q", r, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if _, err := os.Lstat(marker); err == nil {
		t.Errorf("a job wrote %s on the host", marker)
	}
	if _, err := os.Lstat("/rtool-e2e-root-write"); err == nil {
		os.Remove("/rtool-e2e-root-write")
		t.Error("a job's write to / reached the host's /")
	}
}

// When rtool is killed, its job dies with it.
func TestRunJobDiesWithRtool(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd", "bwrap", "go")
	rel := newRelease(t)
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, "tools", "1.0.0")
	jobsandboxtest.BuildEscape(t, filepath.Join(tree, "isolated", "bin"))
	rel.addTree(t, "tools", "1.0.0", plat, tree)
	root := filepath.Join(t.TempDir(), "runtimes")
	jobsandboxtest.OpenDirs(t, filepath.Dir(root))
	if r := rtool(t, "runtime", "install", "tools", "--registry", rel.url(), "--root", root, "--platform", plat); r.code != 0 {
		t.Fatalf("install: %s", r)
	}
	token := fmt.Sprintf("rtool-e2e-kill-%d", time.Now().UnixNano())
	cmd := exec.Command(rtoolBin, "runtime", "run", "--root", root, "tools", "--", "escape", "pause", token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !jobRunning(token) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the job never started: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); jobRunning(token); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job outlived rtool")
		}
	}
}

// jobRunning reports whether a process other than rtool and bwrap has
// token on its command line (the job itself).
func jobRunning(token string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.HasPrefix(b, []byte("escape\x00pause\x00"+token)) {
			return true
		}
	}
	return false
}
