package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

// cancelWriter cancels the command's context when its stderr (the builds'
// live output) shows want: Ctrl-C at exactly that point.
type cancelWriter struct {
	mu     sync.Mutex
	want   string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && bytes.Contains(w.buf.Bytes(), []byte(w.want)) {
		w.cancel()
	}
	return len(p), nil
}

// TestBuildCommandInterrupted: rtool build exits non-zero after a Ctrl-C
// at any point, also in the last step and when the build was reused
// (issue 11: it exited 0).
func TestBuildCommandInterrupted(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "debootstrap", "tar")
	testenv.RequireSlow(t)
	runtimes := t.TempDir()
	dir := filepath.Join(runtimes, "tiny")
	writeT(t, filepath.Join(dir, "manifest.yaml"), "name: tiny\nversion: 1.0.0\ndescription: tiny\nplatforms: [debian-amd64]\n", 0o644)
	writeT(t, filepath.Join(dir, "setup.sh"), "#!/bin/bash\nexec bash ./setup-$PLATFORM.sh\n", 0o755)
	writeT(t, filepath.Join(dir, "setup-debian-amd64.sh"), `#!/bin/bash
set -euo pipefail
d=/opt/joblet/runtimes/$RUNTIME_NAME
mkdir -p "$d/isolated/bin"
cat > "$d/runtime.yml" <<EOT
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
mounts:
  - source: isolated/bin
    target: /usr/local/bin
    readonly: true
EOT
`, 0o755)
	out := t.TempDir()
	artifact := filepath.Join(out, "tiny-1.0.0-debian-amd64.tar.gz")
	build := func(ctx context.Context, stderr *cancelWriter, extra ...string) (int, string) {
		var stdout bytes.Buffer
		args := append([]string{"rtool", "build", "tiny", "-p", "debian-amd64", "--out", out, "--config", "../../rtool.yaml", "--runtimes", runtimes}, extra...)
		return run(ctx, args, &stdout, stderr), stdout.String()
	}

	// Ctrl-C in the very last step of a fresh build.
	ctx, cancel := context.WithCancel(t.Context())
	live := &cancelWriter{want: "writing build stamp", cancel: cancel}
	code, stdout := build(ctx, live, "--rebuild")
	cancel()
	if code == exitOK || strings.Contains(stdout, "built\t") || !strings.Contains(live.buf.String(), "interrupted") {
		t.Fatalf("build interrupted before its stamp: exit %d, stdout %q, stderr:\n%s", code, stdout, live.buf.String())
	}
	for _, p := range []string{artifact, artifact + ".sha256", artifact + ".build.json"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind by an interrupted build", p)
		}
	}

	// A reused build under a cancelled context: still interrupted.
	if code, stdout := build(t.Context(), &cancelWriter{}); code != exitOK || !strings.HasPrefix(stdout, "built\t"+artifact) {
		t.Fatalf("plain build: exit %d, stdout %q", code, stdout)
	}
	for range 4 { // BuildAll's select once picked a free slot over a cancelled context half the time
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		stderr := &cancelWriter{}
		if code, stdout := build(ctx, stderr); code == exitOK || !strings.Contains(stderr.buf.String(), "context canceled") {
			t.Fatalf("cancelled run over an unchanged build: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr.buf.String())
		}
	}
	if _, err := os.Stat(artifact); err != nil {
		t.Errorf("the earlier complete artifact went away: %v", err)
	}
}
