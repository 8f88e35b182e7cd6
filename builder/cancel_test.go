package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

// cancelOn cancels a context, from the build's own goroutine, when the
// live output shows a line containing want: the build is interrupted at
// exactly that point.
type cancelOn struct {
	mu     sync.Mutex
	want   string
	cancel context.CancelFunc
	fired  bool
	buf    bytes.Buffer
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if !c.fired && bytes.Contains(p, []byte(c.want)) {
		c.fired = true
		c.cancel()
	}
	return len(p), nil
}

// TestBuildInterruptedLate: a Ctrl-C at any point of the packaging stage
// (artifact, source package, stamp) fails the build, and no artifact,
// .sha256 or stamp is left to claim it succeeded (issue 11: a Ctrl-C in
// the last seconds was ignored and the build exited 0).
func TestBuildInterruptedLate(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "debootstrap", "tar")
	testenv.RequireSlow(t)
	cfg, err := LoadConfig("../rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A world-writable file makes the packer warn (mode normalised) while
	// it writes the artifact.
	dir := tinyRuntime(t, "tiny-late", "", tinyOK+"touch \"$d/isolated/shared\"; chmod 0666 \"$d/isolated/shared\"\n")
	artifactName := schema.ArtifactName("tiny-late", "1.0.0", "debian-amd64")
	tests := []struct {
		name, line string // cancel when the live output shows line
	}{
		{"before packing the artifact", "] packaging "},
		{"while packing the artifact", "] warning: isolated/shared: mode 0666 packed as 0644"},
		{"before packing the source package", "] packaging source package "},
		{"before writing the stamp", "] writing build stamp "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			live := &cancelOn{want: tc.line, cancel: cancel}
			b := New(cfg, Options{CacheDir: DefaultCacheDir(), ToolVersion: "test", Stderr: live})
			base, _, err := b.EnsureBase(t.Context(), "debian-amd64", "")
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, b, base)
			out := t.TempDir()
			res, err := b.Build(ctx, Request{RuntimeDir: dir, Platform: "debian-amd64", OutDir: out, Rebuild: true})
			if !live.fired {
				t.Fatalf("the build never printed %q:\n%s", tc.line, live.buf.String())
			}
			if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("interrupted build: result %+v, error %v; want an interruption", res, err)
			}
			artifact := filepath.Join(out, artifactName)
			for _, p := range []string{artifact, artifact + ".sha256", stampPath(artifact)} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s left behind", p)
				}
			}
			before.check(t, b, base, "a build interrupted "+tc.name)
		})
	}
}
