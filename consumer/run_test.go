package consumer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/jobsandbox/jobsandboxtest"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// installHostRuntime installs a host-tools runtime name@version into root
// through the real install path (pack, local registry, Install). root is
// opened to others (a job runs as uid 65534 and bubblewrap reaches the
// runtime as that uid).
func installHostRuntime(t *testing.T, root, name, version string) *Installed {
	t.Helper()
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, name, version)
	return installTree(t, root, tree, name, version)
}

// installTree packs tree and installs it as name@version into root.
func installTree(t *testing.T, root, tree, name, version string) *Installed {
	t.Helper()
	jobsandboxtest.OpenDirs(t, root)
	out := t.TempDir()
	file := schema.ArtifactName(name, version, plat)
	st := pack(t, tree, out, file)
	got, err := InstallResolved(context.Background(), LocalArtifact(filepath.Join(out, file), name, version, plat, st), InstallOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRunInJob(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd")
	root := t.TempDir()
	installHostRuntime(t, root, "tools", "1.0.0")
	installHostRuntime(t, root, "tools", "1.2.0")
	ctx := context.Background()
	tests := []struct {
		name       string
		spec       string
		env        []string
		script     string
		wantCode   int
		wantStdout string
	}{
		{"latest installed, env from runtime.yml and --env", "tools", []string{"EXTRA=x1"},
			`cat /opt/data/version; echo "$GREETING $EXTRA $PATH"`, 0,
			"1.2.0\nhello-from-tools x1 " + DefaultPath + "\n"},
		{"exact version", "tools@1.0.0", nil, `cat /opt/data/version`, 0, "1.0.0\n"},
		{"exit code is returned", "tools", nil, `exit 7`, 7, ""},
		{"read-only mount refuses writes", "tools", nil,
			`touch /opt/data/new 2>/dev/null && echo wrote; touch /bin/new 2>/dev/null && echo wrote; echo done`, 0, "done\n"},
		{"writes to / stay in the job's tmpfs and the exit code is the job's", "tools", nil,
			`echo x > /x && echo y > /opt/f && cat /x /opt/f`, 0, "x\ny\n"},
		{"tmp is writable, job root is private, the job is not root", "tools", nil,
			`echo hi > /tmp/f && cat /tmp/f; ls /; id -u; id -g`, 0, "hi\nbin\ndev\nlib\nlib64\nopt\nproc\ntmp\n65534\n65534\n"},
		{"pid namespace: pid 1 is the sandbox's init, not the host's", "tools", nil, `cat /proc/1/comm`, 0, "bwrap\n"},
		{"hostname is the runtime's name", "tools", nil, `cat /proc/sys/kernel/hostname`, 0, "tools\n"},
		{"no capabilities, no_new_privs, seccomp", "tools", nil,
			`while read k v; do case $k in CapEff:|CapBnd:|NoNewPrivs:|Seccomp:) echo $k $v;; esac; done < /proc/self/status`, 0,
			"CapEff: 0000000000000000\nCapBnd: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"},
		{"environment is exactly runtime.yml's and --env", "tools", []string{"EXTRA=x1"},
			`for v in HOME PATH GREETING EXTRA USER TERM SUDO_USER; do eval echo "$v=\${$v-unset}"; done`, 0,
			"HOME=/tmp\nPATH=" + DefaultPath + "\nGREETING=hello-from-tools\nEXTRA=x1\nUSER=unset\nTERM=unset\nSUDO_USER=unset\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code, err := Run(ctx, RunOptions{Root: root, Spec: tt.spec, Env: tt.env, Args: []string{"sh", "-c", tt.script},
				Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				t.Fatalf("Run: %v (stderr %s)", err, stderr.String())
			}
			if code != tt.wantCode || stdout.String() != tt.wantStdout {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d stdout %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout)
			}
		})
	}
	// Nothing was written into the installs, and no job root is left.
	if _, err := os.Stat(filepath.Join(root, "tools", "1.2.0", "isolated", "data", "new")); err == nil {
		t.Error("a read-only mount was written")
	}
	if _, err := Run(ctx, RunOptions{Root: root, Spec: "tools@9.0.0", Args: []string{"sh"}}); err == nil || !strings.Contains(err.Error(), "installed: 1.0.0, 1.2.0") {
		t.Errorf("run of a version not installed: %v", err)
	}
}

func TestRunSmoke(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd")
	root := t.TempDir()
	installHostRuntime(t, root, "tools", "1.0.0")
	res, err := RunSmoke(context.Background(), root, "tools@1.0.0", []schema.SmokeTest{
		{Name: "version", Command: []string{"cat", "/opt/data/version"}, Expect: "1.0.0"},
		{Name: "exit", Command: []string{"sh", "-c", "exit 3"}, ExitCode: 3},
		{Name: "wrong output", Command: []string{"sh", "-c", "echo nope"}, Expect: "yes"},
		{Name: "wrong code", Command: []string{"sh", "-c", "exit 1"}},
		{Name: "missing command", Command: []string{"python3", "-V"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, false, false, false}
	for i, r := range res {
		if r.Passed != want[i] {
			t.Errorf("smoke %s passed=%v want %v (%s)", r.Name, r.Passed, want[i], r.Reason)
		}
	}
}

// A runtime's own symlink may not carry a mount target onto the job's
// /proc (or anywhere): isolated/l -> .. stays inside the runtime, so
// install accepts it, but with isolated mounted at /x, /x/l is the job's /.
func TestRunRefusesTargetsThroughSymlinks(t *testing.T) {
	testenv.RequireCommands(t, "ldd")
	tests := []struct {
		name, target, want string
	}{
		{"onto /proc", "/x/l/proc", `: runtime.yml mounts[5]: target /x/l/proc goes through /x/l, a symbolic link to ".." in runtime.yml mounts[4] (`},
		{"onto /dev/shm", "/x/l/dev/shm", "and would land on /dev/shm"},
		{"onto /etc", "/x/l/etc", "and would land on /etc"},
		{"onto the job's /", "/x/l", "goes through /x/l, a symbolic link"},
		{"plain /proc", "/proc", "target /proc is at or below /proc"},
		{"plain /sys", "/sys/kernel", "target /sys/kernel is at or below /sys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := t.TempDir()
			consumertest.HostRuntime(t, tree, "tools", "1.0.0")
			if err := os.Symlink("..", filepath.Join(tree, "isolated", "l")); err != nil {
				t.Fatal(err)
			}
			yml := filepath.Join(tree, schema.RuntimeConfigFile)
			b, err := os.ReadFile(yml)
			if err != nil {
				t.Fatal(err)
			}
			extra := "  - source: isolated\n    target: /x\n    readonly: true\n  - source: isolated/data\n    target: " + tt.target + "\n    readonly: true\nenvironment:"
			if err := os.WriteFile(yml, []byte(strings.Replace(string(b), "environment:", extra, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			installTree(t, root, tree, "tools", "1.0.0")
			_, err = PrepareJob(RunOptions{Root: root, Spec: "tools"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "runtime.yml mounts[5]: target "+tt.target) {
				t.Fatalf("PrepareJob: %v\nwant an error naming runtime.yml mounts[5] and containing %q", err, tt.want)
			}
			if os.Geteuid() == 0 {
				code, runErr := Run(context.Background(), RunOptions{Root: root, Spec: "tools", Args: []string{"sh", "-c", "true"}})
				if runErr == nil || code != -1 || runErr.Error() != err.Error() {
					t.Errorf("Run: exit %d, %v; want PrepareJob's error", code, runErr)
				}
			}
		})
	}
}

// The escapes a hostile runtime would try, through Run with an installed
// runtime: each fails and the host is untouched.
func TestRunContainsTheJob(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd", "bwrap", "go")
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, "tools", "1.0.0")
	jobsandboxtest.BuildEscape(t, filepath.Join(tree, "isolated", "bin"))
	root := t.TempDir()
	installTree(t, root, tree, "tools", "1.0.0")
	host := filepath.Join(t.TempDir(), "host")
	if err := os.Mkdir(host, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(host, 0o777)
	jobsandboxtest.OpenDirs(t, host)
	marker := filepath.Join(host, "escaped")
	tests := []struct {
		name     string
		args     []string
		network  bool
		wantCode int
		want     string
	}{
		{"chroot escape", []string{"escape", "chroot", marker}, false, 1, "chroot: chroot into a subdirectory: operation not permitted"},
		{"write a host path", []string{"escape", "write", marker}, false, 1, "no such file or directory"},
		{"write /proc/sys", []string{"escape", "sysctl", "kernel/pid_max"}, false, 1, "permission denied"},
		{"/proc/sys read-only", []string{"escape", "readonly", "/proc/sys"}, false, 0, "readonly: ok"},
		{"mknod in /dev", []string{"escape", "mknod", "/dev/x"}, false, 1, "mknod: read-only file system"},
		{"mount", []string{"escape", "mount", "/tmp"}, false, 1, "mount: operation not permitted"},
		{"only loopback", []string{"escape", "ifaces"}, false, 0, "lo\nifaces: ok\n"},
		{"exit code", []string{"escape", "exit", "9"}, false, 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code, err := Run(context.Background(), RunOptions{Root: root, Spec: "tools", Args: tt.args, HostNetwork: tt.network, Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				t.Fatalf("Run: %v (stderr %s)", err, stderr.String())
			}
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("exit %d stdout %q; want exit %d and %q", code, stdout.String(), tt.wantCode, tt.want)
			}
		})
	}
	if _, err := os.Lstat(marker); err == nil {
		t.Errorf("a job wrote %s on the host", marker)
	}
}

func TestParseUser(t *testing.T) {
	tests := []struct {
		in       string
		uid, gid uint32
		wantErr  bool
	}{
		{"1000", 1000, 1000, false},
		{"1000:2000", 1000, 2000, false},
		{"65534:65534", 65534, 65534, false},
		{"0", 0, 0, true},
		{"1000:0", 0, 0, true},
		{"root", 0, 0, true},
		{"-1", 0, 0, true},
		{"4294967295", 0, 0, true},
		{"", 0, 0, true},
		{"1000:", 0, 0, true},
	}
	for _, tt := range tests {
		uid, gid, err := ParseUser(tt.in)
		if (err != nil) != tt.wantErr || uid != tt.uid || gid != tt.gid {
			t.Errorf("ParseUser(%q) = %d, %d, %v", tt.in, uid, gid, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--user") {
			t.Errorf("ParseUser(%q) error %q does not name --user", tt.in, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"", 0, false}, {"64m", 64 << 20, false}, {"1G", 1 << 30, false}, {"512k", 512 << 10, false}, {"4096", 4096, false},
		{"m", 0, true}, {"-1m", 0, true}, {"0", 0, true}, {"1t", 0, true}, {"99999999999g", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize("/tmp size", tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}
