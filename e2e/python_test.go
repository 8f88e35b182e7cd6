package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/jobsandbox/jobsandboxtest"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// registryAdd runs `rtool registry add` for one platform artifact.
func registryAdd(t *testing.T, regFile, name, version, platform, artifact, baseURL string) {
	t.Helper()
	r := rtool(t, "registry", "add", "--registry", regFile, "--name", name, "--version", version,
		"--description", name+" built by the end-to-end test", "--platform", platform, "--artifact", artifact, "--url", baseURL)
	if r.code != 0 {
		t.Fatalf("registry add %s@%s: %s", name, version, r)
	}
}

// Test 1: validate → build python-3.11 for debian-amd64 → registry add →
// serve over HTTP on 127.0.0.1 → install @latest → run python3 -c →
// a read-only mount refuses writes → a second version is released and
// @latest moves to it while the first stays installed beside it.
func TestPythonReleaseInstallRun(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireSlow(t)
	testenv.RequireCommands(t, "debootstrap")
	repo := repoRoot()
	const name, platform = "python-3.11", "debian-amd64"

	if r := rtool(t, "validate", name, "--root", filepath.Join(repo, "runtimes")); r.code != 0 {
		t.Fatalf("validate: %s", r)
	}
	// The build shares the builder's base cache ($RTOOL_CACHE or /var/cache/rtool).
	out := t.TempDir()
	r := rtool(t, "build", name, "--platform", platform, "--out", out,
		"--runtimes", filepath.Join(repo, "runtimes"), "--config", filepath.Join(repo, "rtool.yaml"))
	if r.code != 0 {
		t.Fatalf("build: %s", r)
	}
	data, err := os.ReadFile(filepath.Join(repo, "runtimes", name, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := schema.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	v1 := m.Version
	art1 := filepath.Join(out, schema.ArtifactName(name, v1, platform))

	// rtool test: the manifest's smoke commands against this artifact.
	if len(m.Smoke) > 0 {
		r := rtool(t, "test", name, "--artifact", art1, "--runtimes", filepath.Join(repo, "runtimes"), "--platform", platform)
		if r.code != 0 || strings.Count(r.stdout, "PASS ") != len(m.Smoke) {
			t.Fatalf("rtool test: %s", r)
		}
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	regFile := filepath.Join(out, "registry.json")
	registryAdd(t, regFile, name, v1, platform, art1, srv.URL)

	root := filepath.Join(t.TempDir(), "runtimes")
	jobsandboxtest.OpenDirs(t, filepath.Dir(root)) // jobs reach the runtime as uid 65534
	install := func(spec string) result {
		t.Helper()
		r := rtool(t, "runtime", "install", spec, "--registry", srv.URL+"/registry.json", "--root", root, "--platform", platform)
		if r.code != 0 {
			t.Fatalf("install %s: %s", spec, r)
		}
		return r
	}
	install(name + "@latest")
	if got := entriesOf(t, filepath.Join(root, name)); !reflect.DeepEqual(got, []string{v1}) {
		t.Fatalf("root holds %v", got)
	}
	run := func(spec string, args ...string) result {
		t.Helper()
		return rtool(t, append([]string{"runtime", "run", spec, "--root", root, "--"}, args...)...)
	}
	r = run(name, "python3", "-c", `import sys, ssl, json; print("hello from", sys.version.split()[0])`)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hello from 3.11.") {
		t.Fatalf("python3 -c: %s", r)
	}
	// Every mount of this runtime is read-only: writing there fails.
	r = run(name, "python3", "-c", `open("/usr/lib/python3.11/owned.py", "w").write("x")`)
	if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Fatalf("write to a read-only mount: %s", r)
	}
	if _, err := os.Stat(filepath.Join(root, name, v1, "isolated/usr/lib/python3.11/owned.py")); err == nil {
		t.Fatal("the runtime was written through its read-only mount")
	}

	// Release a second version: the same tree with runtime.yml saying v2.
	v2sem, err := schema.ParseVersion(v1)
	if err != nil {
		t.Fatal(err)
	}
	v2 := v2sem.IncPatch().String()
	tree := t.TempDir()
	f, err := os.Open(art1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = archive.Extract(context.Background(), f, tree, archive.ExtractOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	yml, _ := os.ReadFile(filepath.Join(tree, "runtime.yml"))
	newYML := strings.Replace(string(yml), `version: "`+v1+`"`, `version: "`+v2+`"`, 1)
	if newYML == string(yml) {
		t.Fatalf("runtime.yml has no version %q line:\n%s", v1, yml)
	}
	os.WriteFile(filepath.Join(tree, "runtime.yml"), []byte(newYML), 0o644)
	os.WriteFile(filepath.Join(tree, "isolated/usr/share/rtool-e2e-version"), []byte(v2+"\n"), 0o644)
	art2 := filepath.Join(out, schema.ArtifactName(name, v2, platform))
	if r := rtool(t, "package", tree, "-o", art2); r.code != 0 {
		t.Fatalf("package %s: %s", v2, r)
	}
	registryAdd(t, regFile, name, v2, platform, art2, srv.URL)

	install(name + "@latest")
	if got := entriesOf(t, filepath.Join(root, name)); !reflect.DeepEqual(got, []string{v1, v2}) {
		t.Fatalf("after the second release the root holds %v, want both versions", got)
	}
	r = rtool(t, "runtime", "info", name, "--registry", srv.URL+"/registry.json", "--root", root, "--platform", platform, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"version": "`+v2+`"`) {
		t.Fatalf("info: %s", r)
	}
	// The job of each version sees that version's tree.
	for spec, want := range map[string]string{name: v2 + "\n42\n", name + "@" + v1: "none\n42\n"} {
		r = run(spec, "python3", "-c", `import os
p = "/usr/share/rtool-e2e-version"
print(open(p).read().strip() if os.path.exists(p) else "none")
print(42)`)
		if r.code != 0 || r.stdout != want {
			t.Errorf("run %s: %s\nwant stdout %q", spec, r, want)
		}
	}
}
