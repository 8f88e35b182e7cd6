package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
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
