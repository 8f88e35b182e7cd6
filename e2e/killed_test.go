package e2e

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// A killed installer leaves its staging directory behind and no install;
// the next run (the lock is free once the process is gone) removes the
// leftover and installs.
func TestKilledInstallerLeftoverCleaned(t *testing.T) {
	rel := newRelease(t)
	tree := goodTree(t, "demo", "1.0.0")
	noise := make([]byte, 8<<20) // incompressible, so the artifact is large
	rand.Read(noise)
	os.WriteFile(filepath.Join(tree, "isolated/share/noise.bin"), noise, 0o644)
	rel.addTree(t, "demo", "1.0.0", plat, tree)
	artPath := "/" + schema.ArtifactName("demo", "1.0.0", plat)
	data, err := os.ReadFile(filepath.Join(rel.dir, artPath))
	if err != nil {
		t.Fatal(err)
	}
	// The first artifact download sends half and then stalls.
	var stalled atomic.Bool
	release := make(chan struct{})
	files := http.FileServer(http.Dir(rel.dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artPath && stalled.CompareAndSwap(false, true) {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer close(release)

	root := filepath.Join(t.TempDir(), "runtimes")
	args := []string{"runtime", "install", "demo@1.0.0", "--registry", srv.URL + "/", "--root", root, "--platform", plat}
	cmd := exec.Command(rtoolBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the installer is extracting into its staging directory.
	var staging string
	deadline := time.Now().Add(30 * time.Second)
	for staging == "" && time.Now().Before(deadline) {
		for _, e := range entriesOf(t, root) {
			if strings.HasPrefix(e, ".staging-demo-1.0.0-") {
				if ents, _ := os.ReadDir(filepath.Join(root, e, "tree")); len(ents) > 0 {
					staging = e
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if staging == "" {
		t.Fatalf("installer never started extracting; stderr: %s", stderr.String())
	}
	if got := entriesOf(t, root); !reflect.DeepEqual(got, []string{staging}) {
		t.Fatalf("after the kill the root holds %v, want only the leftover %s", got, staging)
	}
	r := rtool(t, args...)
	if r.code != 0 {
		t.Fatalf("install after the kill: %s", r)
	}
	if got := entriesOf(t, root); !reflect.DeepEqual(got, []string{"demo"}) {
		t.Errorf("root holds %v, want only demo/ (leftover cleaned)", got)
	}
	got, err := os.ReadFile(filepath.Join(root, "demo", "1.0.0", "isolated/share/noise.bin"))
	if err != nil || !bytes.Equal(got, noise) {
		t.Errorf("installed content differs (%v)", err)
	}
}
