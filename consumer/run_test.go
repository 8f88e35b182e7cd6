package consumer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// installHostRuntime installs a host-tools runtime name@version into root
// through the real install path (pack, local registry, Install).
func installHostRuntime(t *testing.T, root, name, version string) *Installed {
	t.Helper()
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, name, version)
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
		{"tmp is writable, job root is private", "tools", nil,
			`echo hi > /tmp/f && cat /tmp/f; ls /; id -u`, 0, "hi\nbin\ndev\nlib\nlib64\nopt\nproc\ntmp\n0\n"},
		{"pid namespace: pid 1 is the sandbox's init, not the host's", "tools", nil, `cat /proc/1/comm`, 0, "consumer.test\n"},
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

func TestRemoveJobRootRefusesMounts(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "mountpoint"), nil, 0o644)
	if err := removeJobRoot(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("job root not removed: %v", err)
	}
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "data"), []byte("keep"), 0o644)
	if err := removeJobRoot(dir); err == nil || !strings.Contains(err.Error(), "unexpected files") {
		t.Errorf("non-empty file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Errorf("non-empty file removed: %v", err)
	}
	if got := unescapeMountinfo(`/tmp/a\040b`); got != "/tmp/a b" {
		t.Errorf("unescape = %q", got)
	}
}
