package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

// gitE2E runs git in dir with a fixed identity.
func gitE2E(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestPublishedRuntimeInstallsAsJoblet is issue 10's proof, the way a
// Joblet node sees it: `rtool publish --publisher dir` releases tools
// 1.0.0 and 1.1.0 for debian-amd64 and debian-arm64 (each platform's
// artifact says which it is), 1.1.0 is yanked, the mirror is served on
// 127.0.0.1, and `rtool runtime install --joblet` (Joblet's client rules:
// top-level fields only, URL + /registry.json, no platform or yank logic)
// installs from registry.json and from each platforms/<platform> view:
// every view gives its own platform's artifact, its @latest never the
// yanked version, registry.json's top level is the primary platform's
// prebuilt artifact (never the source package), the install is nested
// ROOT/NAME/VERSION, and (as root) the installed runtime runs.
func TestPublishedRuntimeInstallsAsJoblet(t *testing.T) {
	testenv.RequireCommands(t, "git", "ldd")
	base := t.TempDir()
	// the job runs as an unprivileged user: it must be able to enter the
	// install root's parents, as it can /opt/joblet/runtimes
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	origin, work := filepath.Join(base, "origin.git"), filepath.Join(base, "work")
	gitE2E(t, base, "init", "-q", "--bare", "-b", "main", origin)
	gitE2E(t, base, "clone", "-q", origin, work)
	gitE2E(t, work, "checkout", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "README.md"), []byte("runtimes\n"), 0o644)
	gitE2E(t, work, "add", "README.md")
	gitE2E(t, work, "commit", "-q", "-m", "init")
	gitE2E(t, work, "push", "-q", "origin", "main")

	// the mirror's URL must be known before publishing: listen first
	mirror := filepath.Join(base, "mirror")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(mirror))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String()

	platforms := []string{"debian-amd64", "debian-arm64"}
	rt := filepath.Join(work, "runtimes", "tools")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		os.MkdirAll(rt, 0o755)
		manifest := fmt.Sprintf("name: tools\nversion: %s\ndescription: Host tools for the Joblet check\nplatforms:\n  - %s\n  - %s\n", v, platforms[0], platforms[1])
		os.WriteFile(filepath.Join(rt, "manifest.yaml"), []byte(manifest), 0o644)
		os.WriteFile(filepath.Join(rt, "setup.sh"), []byte("#!/bin/sh\necho this must never run on a node\nexit 1\n"), 0o755)
		gitE2E(t, work, "add", "-A")
		gitE2E(t, work, "commit", "-q", "-m", "tools "+v)
		gitE2E(t, work, "tag", "tools@"+v)
		arts := t.TempDir()
		for _, p := range platforms {
			tree := t.TempDir()
			consumertest.HostRuntime(t, tree, "tools", v)
			os.WriteFile(filepath.Join(tree, "isolated", "data", "platform"), []byte(p+"\n"), 0o644)
			if r := rtool(t, "package", tree, "-o", filepath.Join(arts, schema.ArtifactName("tools", v, p))); r.code != 0 {
				t.Fatalf("package: %s", r)
			}
		}
		r := rtool(t, "publish", "--tag", "tools@"+v, "--artifacts", arts, "--publisher", "dir", "--dir", mirror,
			"--base-url", url, "--root", filepath.Join(work, "runtimes"), "--json")
		if r.code != 0 {
			t.Fatalf("publish %s: %s", v, r)
		}
	}
	if r := rtool(t, "registry", "yank", "tools@1.1.0", "--reason", "broken on purpose", "--registry", filepath.Join(mirror, "registry.json")); r.code != 0 {
		t.Fatalf("yank: %s", r)
	}
	if r := rtool(t, "registry", "verify", "--registry", filepath.Join(mirror, "registry.json"), "--artifacts", mirror); r.code != 0 {
		t.Fatalf("verify the mirror: %s", r)
	}

	// registry.json: its top level is the primary platform's prebuilt
	// artifact, and Joblet (which ignores yanked) takes 1.1.0
	type installed struct {
		Version, URL, Checksum, Dir string
	}
	install := func(t *testing.T, registry, spec, root string) installed {
		t.Helper()
		r := rtool(t, "runtime", "install", spec, "--joblet", "--registry", registry, "--root", root, "--json")
		if r.code != 0 {
			t.Fatalf("install %s from %s: %s", spec, registry, r)
		}
		var got installed
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("install --json: %v\n%s", err, r.stdout)
		}
		return got
	}
	platformOf := func(t *testing.T, dir string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "isolated", "data", "platform"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	main := install(t, url, "tools@latest", filepath.Join(base, "node-main"))
	if main.Version != "1.1.0" || !strings.HasSuffix(main.URL, "tools-1.1.0-debian-amd64.tar.gz") || platformOf(t, main.Dir) != "debian-amd64" {
		t.Fatalf("registry.json: Joblet gets %+v (platform %s), want the debian-amd64 artifact of 1.1.0", main, platformOf(t, main.Dir))
	}
	if main.Dir != filepath.Join(base, "node-main", "tools", "1.1.0") {
		t.Fatalf("installed at %s, want Joblet's nested ROOT/tools/1.1.0", main.Dir)
	}
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			root := filepath.Join(base, "node-"+p)
			got := install(t, url+"/platforms/"+p, "tools@latest", root)
			if got.Version != "1.0.0" {
				t.Fatalf("the %s view's @latest is %s; the yanked 1.1.0 must be left out", p, got.Version)
			}
			if !strings.HasSuffix(got.URL, "tools-1.0.0-"+p+".tar.gz") || platformOf(t, got.Dir) != p {
				t.Fatalf("the %s view installs %s (platform %s)", p, got.URL, platformOf(t, got.Dir))
			}
			// the yanked version is not in the view at all
			r := rtool(t, "runtime", "install", "tools@1.1.0", "--joblet", "--registry", url+"/platforms/"+p, "--root", t.TempDir())
			if r.code == 0 || !strings.Contains(r.stderr, "1.1.0") {
				t.Fatalf("the yanked version installs from the %s view: %s", p, r)
			}
			if os.Geteuid() == 0 {
				r = rtool(t, "runtime", "run", "tools", "--root", root, "--", "cat", "/opt/data/platform")
				if r.code != 0 || r.stdout != p+"\n" {
					t.Fatalf("run the installed runtime: %s", r)
				}
			}
		})
	}
	// the source package is published and recorded, but no node gets it
	var reg schema.Registry
	data, _ := os.ReadFile(filepath.Join(mirror, "registry.json"))
	if err := json.Unmarshal(data, &reg); err != nil {
		t.Fatal(err)
	}
	for v, e := range reg.Runtimes["tools"] {
		if e.SourcePackage == nil || !strings.HasSuffix(e.SourcePackage.DownloadURL, "tools-"+v+".tar.gz") || e.DownloadURL == e.SourcePackage.DownloadURL {
			t.Fatalf("tools@%s: top level %s, source_package %+v", v, e.DownloadURL, e.SourcePackage)
		}
	}
}
