package consumer

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/schema"
)

const plat = "debian-amd64"

// fixture is a registry with one runtime served over HTTP.
type fixture struct {
	dir, root string
	srv       *faultyServer
	reg       *schema.Registry
	trees     map[string]string // version → tree packed
}

func newFixture(t *testing.T, fail func(w http.ResponseWriter, r *http.Request, n int64) bool, versions ...string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), root: filepath.Join(t.TempDir(), "runtimes"), reg: newRegistry(), trees: map[string]string{}}
	f.srv = serveDir(t, f.dir, fail)
	for _, v := range versions {
		f.add(t, "demo", v, simpleTree(t, "demo", v))
	}
	return f
}

func (f *fixture) add(t *testing.T, name, version, tree string) {
	t.Helper()
	file := schema.ArtifactName(name, version, plat)
	st := pack(t, tree, f.dir, file)
	if f.reg.Runtimes[name] == nil {
		f.reg.Runtimes[name] = map[string]*schema.RegistryEntry{}
	}
	f.reg.Runtimes[name][version] = artifactEntry(version, file, plat, st)
	f.trees[version] = tree
	writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
}

func (f *fixture) opts() InstallOptions {
	return InstallOptions{Root: f.root, Platform: plat, Registries: []Source{{Location: f.srv.URL + "/"}}, Retry: quickRetry()}
}

func TestInstallLatestAndExact(t *testing.T) {
	f := newFixture(t, nil, "1.0.0", "1.1.0")
	ctx := context.Background()
	got, err := Install(ctx, "demo", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.1.0" || got.AlreadyInstalled || got.Dir != filepath.Join(f.root, "demo", "1.1.0") {
		t.Errorf("Install(demo) = %+v", got)
	}
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.1.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("installed tree differs from the packed tree:\n%s", diff)
	}
	if got.Entries == 0 || got.UnpackedSize == 0 {
		t.Errorf("stats missing: %+v", got)
	}
	// Second install: already there, nothing downloaded.
	hits := f.srv.hits.Load()
	again, err := Install(ctx, "demo@1.1.0", f.opts())
	if err != nil || !again.AlreadyInstalled {
		t.Fatalf("reinstall = %+v, %v", again, err)
	}
	if f.srv.hits.Load() != hits+1 { // the registry only
		t.Errorf("reinstall downloaded the artifact again (%d requests)", f.srv.hits.Load()-hits)
	}
	if _, err := Install(ctx, "demo@1.0.0", f.opts()); err != nil {
		t.Fatal(err)
	}
	if want, got := []string{"demo/1.0.0", "demo/1.1.0"}, rootEntries(t, f.root); !reflect.DeepEqual(want, got) {
		t.Errorf("root holds %v, want %v", got, want)
	}
	list, err := ListInstalled(f.root)
	if err != nil || len(list) != 2 || list[0].Version != "1.0.0" || list[1].Version != "1.1.0" || list[0].Problem != "" {
		t.Errorf("ListInstalled = %+v, %v", list, err)
	}
	for spec, want := range map[string]string{"demo": "1.1.0", "demo@1.0.0": "1.0.0", "demo@~1.0": "1.0.0", "demo@latest": "1.1.0"} {
		sp, _ := ParseSpec(spec)
		ir, err := FindInstalled(f.root, sp)
		if err != nil || ir.Version != want {
			t.Errorf("FindInstalled(%s) = %+v, %v; want %s", spec, ir, err, want)
		}
	}
	sp, _ := ParseSpec("demo@2.0.0")
	if _, err := FindInstalled(f.root, sp); err == nil || !strings.Contains(err.Error(), "installed: 1.0.0, 1.1.0") {
		t.Errorf("FindInstalled(missing version): %v", err)
	}
	sp, _ = ParseSpec("dem")
	if _, err := FindInstalled(f.root, sp); err == nil || !strings.Contains(err.Error(), "did you mean demo") {
		t.Errorf("FindInstalled(close name): %v", err)
	}
	// Remove one.
	if _, err := Remove(ctx, f.root, "demo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if want, got := []string{"demo/1.1.0"}, rootEntries(t, f.root); !reflect.DeepEqual(want, got) {
		t.Errorf("after remove root holds %v, want %v", got, want)
	}
	if _, err := Remove(ctx, f.root, "demo", "1.0.0"); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("second remove: %v", err)
	}
}

func TestInstallForceReplaces(t *testing.T) {
	f := newFixture(t, nil, "1.0.0")
	ctx := context.Background()
	first, err := Install(ctx, "demo@1.0.0", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	// Damage the install and drop its install record: a plain install
	// refuses what it cannot tell it made (a damaged install with a record
	// is installed again: see TestInstallChecksExisting).
	os.Remove(filepath.Join(first.Dir, "runtime.yml"))
	os.Remove(filepath.Join(first.Dir, RecordFile))
	if _, err := Install(ctx, "demo@1.0.0", f.opts()); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("damaged install accepted: %v", err)
	}
	o := f.opts()
	o.Force = true
	got, err := Install(ctx, "demo@1.0.0", o)
	if err != nil || !got.Replaced {
		t.Fatalf("force = %+v, %v", got, err)
	}
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("forced install differs:\n%s", diff)
	}
	if want, got := []string{"demo/1.0.0"}, rootEntries(t, f.root); !reflect.DeepEqual(want, got) {
		t.Errorf("root holds %v, want %v", got, want)
	}
}

func TestInstallRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mutate func(t *testing.T, f *fixture)
		want   string
	}{
		{"checksum mismatch", func(t *testing.T, f *fixture) {
			e := f.reg.Runtimes["demo"]["1.0.0"]
			e.Artifacts[plat].Checksum = "sha256:" + strings.Repeat("0", 64)
			writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
		}, "checksum mismatch"},
		{"tampered artifact", func(t *testing.T, f *fixture) {
			// Flip one byte of the artifact: same size, other content.
			p := filepath.Join(f.dir, schema.ArtifactName("demo", "1.0.0", plat))
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0xff
			os.WriteFile(p, data, 0o644)
		}, "checksum mismatch"},
		{"more bytes than size", func(t *testing.T, f *fixture) {
			e := f.reg.Runtimes["demo"]["1.0.0"]
			e.Artifacts[plat].Size -= 10
			writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
		}, "more bytes than the registry's size"},
		{"fewer bytes than size", func(t *testing.T, f *fixture) {
			e := f.reg.Runtimes["demo"]["1.0.0"]
			e.Artifacts[plat].Size += 10
			writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
		}, "size mismatch"},
		{"runtime.yml of another version", func(t *testing.T, f *fixture) {
			f.add(t, "demo", "1.0.0", simpleTree(t, "demo", "9.9.9"))
		}, `says name "demo" version "9.9.9"`},
		{"no runtime.yml", func(t *testing.T, f *fixture) {
			tree := t.TempDir()
			writeTree(t, tree, map[string]string{"isolated/x": "x"})
			f.add(t, "demo", "1.0.0", tree)
		}, "no runtime.yml"},
		{"runtime.yml is a symlink", func(t *testing.T, f *fixture) {
			tree := t.TempDir()
			writeTree(t, tree, map[string]string{"real.yml": runtimeYML("demo", "1.0.0", "isolated:/x"), "isolated/": "", "runtime.yml": "->real.yml"})
			f.add(t, "demo", "1.0.0", tree)
		}, "not a regular file"},
		{"mount source missing", func(t *testing.T, f *fixture) {
			tree := t.TempDir()
			writeTree(t, tree, map[string]string{"runtime.yml": runtimeYML("demo", "1.0.0", "isolated/nope:/x")})
			f.add(t, "demo", "1.0.0", tree)
		}, "does not exist in the runtime"},
		{"not found", func(t *testing.T, f *fixture) {
			delete(f.reg.Runtimes, "demo")
			f.reg.Runtimes["demo2"] = map[string]*schema.RegistryEntry{}
			writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
		}, "runtime 'demo' not found"},
		{"404 is not retried", func(t *testing.T, f *fixture) {
			os.Remove(filepath.Join(f.dir, schema.ArtifactName("demo", "1.0.0", plat)))
		}, "HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, "1.0.0")
			tt.mutate(t, f)
			hits := f.srv.hits.Load()
			_, err := Install(ctx, "demo@1.0.0", f.opts())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Install error = %v, want it to contain %q", err, tt.want)
			}
			if got := rootEntries(t, f.root); len(got) != 0 {
				t.Errorf("failed install left %v in the root", got)
			}
			if n := f.srv.hits.Load() - hits; n > 2 {
				t.Errorf("a permanent failure was retried: %d requests", n)
			}
		})
	}
}

func TestInstallRetriesTransientFailures(t *testing.T) {
	ctx := context.Background()
	art := "/" + schema.ArtifactName("demo", "1.0.0", plat)
	tests := []struct {
		name      string
		failTimes int
		fail      func(w http.ResponseWriter)
		wantErr   bool
	}{
		{"503 twice", 2, func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) }, false},
		{"429 once", 1, func(w http.ResponseWriter) { http.Error(w, "slow down", http.StatusTooManyRequests) }, false},
		{"truncated body once", 1, func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "100000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte{0x1f, 0x8b, 8, 0})
		}, false},
		{"dropped connection twice", 2, func(w http.ResponseWriter) {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		}, false},
		{"500 forever", 100, func(w http.ResponseWriter) { http.Error(w, "broken", http.StatusInternalServerError) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			failed := 0
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request, n int64) bool {
				mu.Lock()
				defer mu.Unlock()
				if r.URL.Path == art && failed < tt.failTimes {
					failed++
					tt.fail(w)
					return true
				}
				return false
			}, "1.0.0")
			var warnings []string
			o := f.opts()
			o.Warn = withoutMissingBundle(func(s string) { warnings = append(warnings, s) })
			got, err := Install(ctx, "demo@1.0.0", o)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
					t.Fatalf("Install = %v, want giving up", err)
				}
				if len(rootEntries(t, f.root)) != 0 {
					t.Errorf("left %v", rootEntries(t, f.root))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Go's transport may itself retry a GET on a dropped
			// connection, so one attempt can absorb two failures.
			if got.Attempts < 2 || got.Attempts > tt.failTimes+1 || len(warnings) != got.Attempts-1 {
				t.Errorf("attempts = %d, warnings = %q; want %d attempts", got.Attempts, warnings, tt.failTimes+1)
			}
			if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
				t.Errorf("installed tree differs:\n%s", diff)
			}
		})
	}
}

func TestInstallCleansLeftoversAndConcurrent(t *testing.T) {
	f := newFixture(t, nil, "1.0.0", "2.0.0")
	ctx := context.Background()
	os.MkdirAll(filepath.Join(f.root, ".staging-demo-1.0.0-0123456789ab", "tree", "half"), 0o755)
	os.MkdirAll(filepath.Join(f.root, ".staging-other-3.0.0-0123456789ab", "tree"), 0o755)
	// A leftover whose installer still holds the lock is kept.
	os.MkdirAll(filepath.Join(f.root, locksDir), 0o755)
	unlock, ok := tryLock(f.root, "busy-1.0.0")
	if !ok {
		t.Fatal("cannot take a free lock")
	}
	defer unlock()
	os.MkdirAll(filepath.Join(f.root, ".staging-busy-1.0.0-0123456789ab"), 0o755)

	const n = 8
	var wg sync.WaitGroup
	results := make([]*Installed, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Install(ctx, "demo@1.0.0", f.opts())
		}()
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("installer %d: %v", i, errs[i])
		}
		if !results[i].AlreadyInstalled {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d installers installed; want exactly 1 (the others find it installed)", fresh)
	}
	want := []string{locksDir + "/busy-1.0.0.lock", ".staging-busy-1.0.0-0123456789ab", "demo/1.0.0"}
	if got := rootEntries(t, f.root); !reflect.DeepEqual(got, want) {
		t.Errorf("root holds %v, want %v", got, want)
	}
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, filepath.Join(f.root, "demo", "1.0.0"))); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}
}

func TestInstallUpstreamWrapperDirectory(t *testing.T) {
	// An upstream-style entry (no artifacts map) whose tarball has a single
	// wrapper directory holding runtime.yml installs its content.
	f := newFixture(t, nil)
	tree := t.TempDir()
	inner := simpleTree(t, "legacy", "1.0.0")
	os.Rename(inner, filepath.Join(tree, "legacy"))
	file := "legacy-1.0.0.tar.gz"
	st := pack(t, tree, f.dir, file)
	f.reg.Runtimes["legacy"] = map[string]*schema.RegistryEntry{"1.0.0": {
		Version: "1.0.0", DownloadURL: f.srv.URL + "/" + file, Checksum: "sha256:" + st.SHA256, Size: st.Size, Platforms: []string{plat},
	}}
	writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
	got, err := Install(context.Background(), "legacy", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, filepath.Join(tree, "legacy")), consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}
}

func TestInstallUpstreamSourcePackageRefused(t *testing.T) {
	// Upstream's download_url is a source package (top-level <name>/ with
	// manifest.yaml and setup scripts, no runtime.yml): refused with the fix.
	f := newFixture(t, nil)
	tree := t.TempDir()
	writeTree(t, tree, map[string]string{"python-3.11/manifest.yaml": "name: python-3.11\n", "python-3.11/setup.sh": "#!/bin/sh\n"})
	st := pack(t, tree, f.dir, "python-3.11-1.3.1.tar.gz")
	f.reg.Runtimes["python-3.11"] = map[string]*schema.RegistryEntry{"1.3.1": {
		Version: "1.3.1", DownloadURL: "python-3.11-1.3.1.tar.gz", Checksum: "sha256:" + st.SHA256, Size: st.Size,
		Platforms: []string{"ubuntu-amd64", plat},
	}}
	writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
	_, err := Install(context.Background(), "python-3.11", f.opts())
	if err == nil || !strings.Contains(err.Error(), "must be built first") {
		t.Fatalf("source package install: %v", err)
	}
	if got := rootEntries(t, f.root); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

func TestInstallFromLocalRegistryFile(t *testing.T) {
	f := newFixture(t, nil, "1.0.0")
	o := f.opts()
	o.Registries = []Source{{Location: filepath.Join(f.dir, "registry.json")}}
	got, err := Install(context.Background(), "demo", o)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != filepath.Join(f.dir, schema.ArtifactName("demo", "1.0.0", plat)) {
		t.Errorf("URL = %s", got.URL)
	}
	if f.srv.hits.Load() != 0 {
		t.Errorf("a local registry made %d HTTP requests", f.srv.hits.Load())
	}
}

func TestResolveInside(t *testing.T) {
	base := t.TempDir()
	writeTree(t, base, map[string]string{
		"isolated/usr/lib/x.so": "x",
		"isolated/lib":          "->usr/lib",
		"isolated/up":           "->..",
		"isolated/out":          "->../..",
		"isolated/abs":          "->/usr",
		"isolated/loop":         "->loop",
		"isolated/file":         "f",
	})
	tests := []struct{ rel, want, err string }{
		{"isolated/usr/lib", "isolated/usr/lib", ""},
		{"isolated/lib", "isolated/usr/lib", ""},
		{"isolated/lib/x.so", "isolated/usr/lib/x.so", ""},
		{"isolated/up/isolated/lib", "isolated/usr/lib", ""},
		{"isolated/out/x", "", "outside"},
		{"isolated/abs", "", "absolute path"},
		{"isolated/loop", "", "too many symlinks"},
		{"isolated/file/x", "", "not a directory"},
		{"../x", "", "leaves the runtime"},
		{"/etc", "", "absolute"},
		{"isolated/missing", "", "does not exist"},
	}
	for _, tt := range tests {
		got, err := ResolveInside(base, tt.rel)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveInside(%q) = %q, %v; want error %q", tt.rel, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != filepath.Join(base, tt.want) {
			t.Errorf("ResolveInside(%q) = %q, %v; want %q", tt.rel, got, err, tt.want)
		}
	}
}
