package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// rtoolBin is the rtool binary built once by TestMain.
var rtoolBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rtool-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rtoolBin = filepath.Join(dir, "rtool")
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", rtoolBin, "./cmd/rtool")
	build.Dir = repo
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building rtool:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one rtool invocation.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// rtool runs the built binary with args.
func rtool(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rtoolBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("rtool %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// release is a registry directory served over HTTP: registry.json and
// artifacts side by side, download_url relative to the registry.
type release struct {
	dir string
	srv *httptest.Server
	reg *schema.Registry
}

func newRelease(t testing.TB) *release {
	t.Helper()
	r := &release{dir: t.TempDir(), reg: &schema.Registry{Version: "1", UpdatedAt: "2026-01-01T00:00:00Z",
		Runtimes: map[string]map[string]*schema.RegistryEntry{}}}
	r.srv = httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(r.srv.Close)
	r.write(t)
	return r
}

func (r *release) url() string { return r.srv.URL + "/" }

func (r *release) write(t testing.TB) {
	t.Helper()
	data, err := schema.EncodeRegistry(r.reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "registry.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addFile registers an artifact file already in r.dir.
func (r *release) addFile(t testing.TB, name, version, platform, file string, unpacked, entries int64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	a := &schema.Artifact{DownloadURL: file, Checksum: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data)),
		UnpackedSize: unpacked, Entries: entries}
	if r.reg.Runtimes[name] == nil {
		r.reg.Runtimes[name] = map[string]*schema.RegistryEntry{}
	}
	e := r.reg.Runtimes[name][version]
	if e == nil {
		e = &schema.RegistryEntry{Version: version, Description: name + " for tests", DownloadURL: file,
			Checksum: a.Checksum, Size: a.Size, Artifacts: map[string]*schema.Artifact{}}
		r.reg.Runtimes[name][version] = e
	}
	e.Artifacts[platform] = a
	e.Platforms = append(e.Platforms, platform)
	sort.Strings(e.Platforms)
	r.write(t)
}

// addTree packs tree as name@version for platform and registers it.
func (r *release) addTree(t testing.TB, name, version, platform, tree string) archive.Stats {
	t.Helper()
	file := schema.ArtifactName(name, version, platform)
	st, err := archive.PackFile(context.Background(), tree, filepath.Join(r.dir, file), archive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.addFile(t, name, version, platform, file, st.UnpackedSize, st.Entries)
	return st
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}
func fileEntry(name, body string, mode int64) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))}, body: body}
}
func linkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}
func hardEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}

// makeTarGz writes entries as a .tar.gz, byte for byte as given.
func makeTarGz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = time.Unix(1700000000, 0)
		if h.Format == tar.FormatUnknown && len(h.PAXRecords) == 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("header %s: %v", h.Name, err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// runtimeYML is a minimal runtime.yml mounting isolated/ at /opt/rt.
func runtimeYML(name, version string) string {
	return fmt.Sprintf("name: %s\nversion: \"%s\"\nmounts:\n  - source: isolated\n    target: /opt/rt\n    readonly: true\n", name, version)
}

// entriesOf lists the names in dir (".locks" excluded).
func entriesOf(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != ".locks" {
			out = append(out, e.Name())
		}
	}
	return out
}
