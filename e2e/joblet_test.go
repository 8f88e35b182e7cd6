package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/jobsandbox/jobsandboxtest"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

// absolute makes name@version's top-level download_url an absolute URL on
// the release's server (Joblet fetches download_url as it is), pointing at
// file, and sets its checksum and size.
func (r *release) absolute(t testing.TB, name, version, file string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	e := r.reg.Runtimes[name][version]
	e.DownloadURL = r.srv.URL + "/" + file
	e.Checksum, e.Size = sha256sum(data), int64(len(data))
	r.write(t)
}

func sha256sum(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// sourcePackage writes upstream's source package shape, <name>/ with
// manifest.yaml and setup scripts and no runtime.yml, as file in r.dir.
func (r *release) sourcePackage(t testing.TB, name, version, file string) {
	t.Helper()
	data := makeTarGz(t, []tarEntry{
		dirEntry(name + "/"),
		fileEntry(name+"/manifest.yaml", "name: "+name+"\nversion: "+version+"\n", 0o644),
		fileEntry(name+"/setup.sh", "#!/bin/bash\nexec ./setup-ubuntu-amd64.sh\n", 0o755),
		fileEntry(name+"/setup-ubuntu-amd64.sh", "#!/bin/bash\napt-get install -y something\n", 0o755),
	})
	if err := os.WriteFile(filepath.Join(r.dir, file), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// installed is the part of `runtime install --json` these tests read.
type installed struct {
	Version string `json:"version"`
	Dir     string `json:"dir"`
	Joblet  *struct {
		Registry    string `json:"registry"`
		Version     string `json:"version"`
		DownloadURL string `json:"download_url"`
		Checksum    string `json:"checksum"`
	} `json:"joblet"`
}

// A registry served on 127.0.0.1, read with `runtime install --joblet` as a
// Joblet node reads it: a prebuilt top-level download installs into
// ROOT/NAME/VERSION; a top-level source package (what rtool used to
// publish, with the prebuilt artifacts only under "artifacts") is refused
// although rtool's own reading installs its artifact.
func TestJobletModeInstall(t *testing.T) {
	rel := newRelease(t)
	tree := goodTree(t, "demo", "1.0.0")
	rel.addTree(t, "demo", "1.0.0", plat, tree)
	rel.absolute(t, "demo", "1.0.0", schema.ArtifactName("demo", "1.0.0", plat))
	rel.addTree(t, "src", "1.0.0", plat, goodTree(t, "src", "1.0.0"))
	rel.sourcePackage(t, "src", "1.0.0", schema.SourcePackageName("src", "1.0.0"))
	rel.absolute(t, "src", "1.0.0", schema.SourcePackageName("src", "1.0.0"))
	root := filepath.Join(t.TempDir(), "runtimes")

	r := rtool(t, "runtime", "install", "demo", "--joblet", "--registry", rel.srv.URL, "--root", root, "--json")
	if r.code != 0 {
		t.Fatalf("joblet install of a prebuilt entry: %s", r)
	}
	var got installed
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	e := rel.reg.Runtimes["demo"]["1.0.0"]
	if got.Dir != filepath.Join(root, "demo", "1.0.0") || got.Joblet == nil || got.Joblet.Version != "1.0.0" ||
		got.Joblet.DownloadURL != e.DownloadURL || got.Joblet.Checksum != e.Checksum || got.Joblet.Registry != rel.srv.URL+"/registry.json" {
		t.Errorf("install said %+v (joblet %+v); registry entry %+v", got, got.Joblet, e)
	}
	want := consumertest.Snapshot(t, tree)
	want["."] = "dir -rwxr-xr-x"
	if diff := consumertest.DiffSnapshots(want, consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}

	r = rtool(t, "runtime", "install", "src", "--joblet", "--registry", rel.srv.URL, "--root", root)
	if r.code != 1 || !strings.Contains(r.stderr, "is a SOURCE PACKAGE (setup.sh at its root, no runtime.yml), not a prebuilt runtime: a Joblet node would try to build it on the node by running setup.sh") ||
		!strings.Contains(r.stderr, rel.srv.URL+"/src-1.0.0.tar.gz") {
		t.Fatalf("joblet install of a source package entry: %s", r)
	}
	if got := entriesOf(t, root); !reflect.DeepEqual(got, []string{"demo"}) {
		t.Errorf("the refused install left %v in the root", got)
	}
	// rtool's own reading takes the per-platform artifact and installs.
	if r := rtool(t, "runtime", "install", "src", "--registry", rel.srv.URL, "--root", root, "--platform", plat); r.code != 0 {
		t.Errorf("rtool-mode install of the same entry: %s", r)
	}
}

// Joblet's URL rules: any URL but https://github.com/OWNER/REPO gets
// "/registry.json" appended, so a per-platform view is named by its
// directory; download_url must be absolute.
func TestJobletModeRegistryURLs(t *testing.T) {
	rel := newRelease(t)
	rel.addTree(t, "demo", "1.0.0", plat, goodTree(t, "demo", "1.0.0"))
	// The registry as it is (relative download_url) stays at the root; a
	// view with absolute URLs goes to platforms/debian-arm64/.
	view := *rel.reg.Runtimes["demo"]["1.0.0"]
	view.DownloadURL = rel.srv.URL + "/" + view.DownloadURL
	data, err := schema.EncodeRegistry(&schema.Registry{Version: "1", UpdatedAt: rel.reg.UpdatedAt,
		Runtimes: map[string]map[string]*schema.RegistryEntry{"demo": {"1.0.0": &view}}})
	if err != nil {
		t.Fatal(err)
	}
	viewDir := filepath.Join(rel.dir, "platforms", "debian-arm64")
	os.MkdirAll(viewDir, 0o755)
	os.WriteFile(filepath.Join(viewDir, "registry.json"), data, 0o644)
	root := filepath.Join(t.TempDir(), "runtimes")

	tests := []struct {
		name, registry string
		code           int
		stderr         string
	}{
		{"relative download_url", rel.srv.URL, 1, `download_url "demo-1.0.0-debian-amd64.tar.gz" is not an absolute http(s) URL: Joblet's downloader fetches download_url as it is and cannot resolve it`},
		{"the registry.json URL itself", rel.srv.URL + "/platforms/debian-arm64/registry.json", 1,
			"so for \"" + rel.srv.URL + "/platforms/debian-arm64/registry.json\" it fetches " + rel.srv.URL + "/platforms/debian-arm64/registry.json/registry.json"},
		{"the view's directory", rel.srv.URL + "/platforms/debian-arm64", 0, "Joblet's client picks demo@1.0.0 for demo@latest from " + rel.srv.URL + "/platforms/debian-arm64/registry.json"},
	}
	for _, tt := range tests {
		r := rtool(t, "runtime", "install", "demo", "--joblet", "--registry", tt.registry, "--root", root)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%s: %s\nwant exit %d, stderr with %q", tt.name, r, tt.code, tt.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "demo", "1.0.0", "runtime.yml")); err != nil {
		t.Errorf("not installed from the view: %v", err)
	}
}

// A runtime installed in Joblet mode runs.
func TestJobletModeInstallRuns(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd")
	rel := newRelease(t)
	tree := t.TempDir()
	consumertest.HostRuntime(t, tree, "tools", "1.0.0")
	rel.addTree(t, "tools", "1.0.0", plat, tree)
	rel.absolute(t, "tools", "1.0.0", schema.ArtifactName("tools", "1.0.0", plat))
	root := filepath.Join(t.TempDir(), "runtimes")
	jobsandboxtest.OpenDirs(t, filepath.Dir(root)) // jobs reach the runtime as uid 65534
	if r := rtool(t, "runtime", "install", "tools@1.0.0", "--joblet", "--registry", rel.srv.URL, "--root", root); r.code != 0 {
		t.Fatalf("install: %s", r)
	}
	r := rtool(t, "runtime", "run", "tools", "--root", root, "--", "cat", "/opt/data/version")
	if r.code != 0 || r.stdout != "1.0.0\n" {
		t.Errorf("run: %s", r)
	}
}
