package consumer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// runtimeYML returns a runtime.yml for name@version with the given mounts
// (source:target[:ro]).
func runtimeYML(name, version string, mounts ...string) string {
	var b strings.Builder
	b.WriteString("name: " + name + "\nversion: \"" + version + "\"\ndescription: test runtime\nmounts:\n")
	for _, m := range mounts {
		parts := strings.Split(m, ":")
		ro := len(parts) > 2 && parts[2] == "ro"
		b.WriteString("  - source: " + parts[0] + "\n    target: " + parts[1] + "\n")
		if ro {
			b.WriteString("    readonly: true\n")
		} else {
			b.WriteString("    readonly: false\n")
		}
	}
	b.WriteString("environment:\n  GREETING: hello-from-runtime\n")
	return b.String()
}

// writeTree creates files under dir: path → content; a content starting
// with "->" makes a symlink, a path ending in "/" a directory.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(dir, k)
		if strings.HasSuffix(k, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		v := files[k]
		if target, ok := strings.CutPrefix(v, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// simpleTree is a runtime tree for name@version with a data directory.
func simpleTree(t testing.TB, name, version string) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"runtime.yml":             runtimeYML(name, version, "isolated/data:/opt/data:ro"),
		"isolated/data/hello.txt": "hello " + version + "\n",
		"isolated/data/sub/":      "",
	})
	return dir
}

// pack packs dir to <out>/<file> and returns its stats.
func pack(t testing.TB, dir, out, file string) archive.Stats {
	t.Helper()
	st, err := archive.PackFile(context.Background(), dir, filepath.Join(out, file), archive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// artifactEntry makes a registry entry with one artifact for platform.
func artifactEntry(version, url, platform string, st archive.Stats) *schema.RegistryEntry {
	return &schema.RegistryEntry{
		Version: version, Description: "test", DownloadURL: url,
		Checksum: "sha256:" + st.SHA256, Size: st.Size, Platforms: []string{platform},
		Artifacts: map[string]*schema.Artifact{platform: {
			DownloadURL: url, Checksum: "sha256:" + st.SHA256, Size: st.Size,
			UnpackedSize: st.UnpackedSize, Entries: st.Entries,
		}},
	}
}

func writeRegistry(t testing.TB, path string, reg *schema.Registry) {
	t.Helper()
	data, err := schema.EncodeRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newRegistry() *schema.Registry {
	return &schema.Registry{Version: "1", UpdatedAt: "2026-01-01T00:00:00Z", Runtimes: map[string]map[string]*schema.RegistryEntry{}}
}

// faultyServer serves dir over HTTP on 127.0.0.1; fail(path, n) may
// replace the n-th request for a path (counting from 1) with its own
// response by returning true.
type faultyServer struct {
	*httptest.Server
	hits atomic.Int64
}

func serveDir(t testing.TB, dir string, fail func(w http.ResponseWriter, r *http.Request, n int64) bool) *faultyServer {
	t.Helper()
	fs := &faultyServer{}
	files := http.FileServer(http.Dir(dir))
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fs.hits.Add(1)
		if fail != nil && fail(w, r, n) {
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// rootEntries lists the names under an install root: a runtime name
// directory (no runtime.yml of its own) as its versions, "demo/1.0.0"
// ("demo/" when empty), a flat install as "demo-1.0.0", the lock files as
// ".locks/KEY.lock".
func rootEntries(t testing.TB, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != locksDir {
			dir := filepath.Join(root, e.Name())
			if strings.HasPrefix(e.Name(), ".") || !e.IsDir() || hasRuntimeConfig(dir) {
				out = append(out, e.Name())
				continue
			}
			subs, _ := os.ReadDir(dir)
			if len(subs) == 0 {
				out = append(out, e.Name()+"/")
			}
			for _, s := range subs {
				out = append(out, e.Name()+"/"+s.Name())
			}
			continue
		}
		// lock files count: a finished installer leaves none behind
		locks, _ := os.ReadDir(filepath.Join(root, locksDir))
		for _, l := range locks {
			out = append(out, locksDir+"/"+l.Name())
		}
	}
	return out
}

func quickRetry() Retry { return Retry{Attempts: 3, Initial: 5e6, Max: 2e7} }
