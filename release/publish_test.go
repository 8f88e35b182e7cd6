package release

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

const upstreamRegistry = "../testdata/joblet-runtimes-upstream/registry.json"

// publishRepo is a bare remote whose main branch holds upstream's
// registry.json, and a clone of it.
func newPublishRepo(t *testing.T) *testRepo {
	t.Helper()
	data, err := os.ReadFile(upstreamRegistry)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	r := newTestRepo(t)
	writeFile(t, filepath.Join(r.Work.Dir, "registry.json"), string(data))
	mustGit(t, r.Work, "add", "registry.json")
	mustGit(t, r.Work, "commit", "-q", "-m", "upstream registry")
	mustGit(t, r.Work, "push", "-q", "origin", "main")
	return r
}

// buildArtifacts packs a small runtime tree (runtime.yml at the root) for
// every platform into a new directory, as the matrix build jobs would.
func buildArtifacts(t *testing.T, name, version string, platforms ...string) string {
	t.Helper()
	return buildArtifactsVariant(t, "", name, version, platforms...)
}

// buildArtifactsVariant builds artifacts whose bytes depend on variant,
// as a rebuild with other inputs would.
func buildArtifactsVariant(t *testing.T, variant, name, version string, platforms ...string) string {
	t.Helper()
	out := t.TempDir()
	for _, p := range platforms {
		tree := t.TempDir()
		writeFile(t, filepath.Join(tree, "runtime.yml"), fmt.Sprintf("name: %s\nversion: %q\ndescription: test\nlanguage: shell\nmounts:\n  - source: isolated/bin\n    target: /usr/local/bin\n    readonly: true\n", name, version))
		writeFile(t, filepath.Join(tree, "isolated", "bin", "hello"), "#!/bin/sh\necho hello from "+name+" on "+p+variant+"\n")
		if _, err := archive.PackFile(context.Background(), tree, filepath.Join(out, schema.ArtifactName(name, version, p)), archive.PackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func remoteRegistry(t *testing.T, r *testRepo) *schema.Registry {
	t.Helper()
	data := remoteFile(t, r, "registry.json")
	reg, err := registrygen.Parse([]byte(data), "remote registry.json")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func dirPublisher(t *testing.T) (*DirPublisher, *httptest.Server) {
	t.Helper()
	root := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return &DirPublisher{Dir: root, BaseURL: srv.URL}, srv
}

func TestPublishDirEndToEnd(t *testing.T) {
	r := newPublishRepo(t)
	platforms := []string{"ubuntu-amd64", "ubuntu-arm64"}
	addRuntime(t, r.Work, "node-18", "1.0.0", platforms...)
	artifacts := buildArtifacts(t, "node-18", "1.0.0", platforms...)
	pub, _ := dirPublisher(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	summary := filepath.Join(t.TempDir(), "summary.md")
	opts := PublishOptions{Tag: "node-18@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"), ArtifactsDir: artifacts,
		Publisher: pub, Repo: r.Work, Now: now}
	before := remoteRegistry(t, r)

	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := AppendSummary(summary, PublishSummary(res)); err != nil {
		t.Fatal(err)
	}
	// three files: the source package (packed here) and two artifacts
	if len(res.Assets) != 3 || res.Assets[0].Name != "node-18-1.0.0.tar.gz" {
		t.Fatalf("assets %+v", res.Assets)
	}
	after := remoteRegistry(t, r)
	if err := registrygen.CheckHistory(before, after); err != nil {
		t.Fatalf("history lost: %v", err)
	}
	e := after.Runtimes["node-18"]["1.0.0"]
	if e == nil {
		t.Fatalf("node-18@1.0.0 not in the registry")
	}
	// Joblet installs the top-level download: the primary platform's
	// prebuilt artifact, never the source package, which has its own key.
	if e.DownloadURL != pub.DownloadURL("node-18@1.0.0", "node-18-1.0.0-ubuntu-amd64.tar.gz") || e.Checksum != e.Artifacts["ubuntu-amd64"].Checksum ||
		e.Size != e.Artifacts["ubuntu-amd64"].Size || e.ReleasedAt != "2026-01-02T03:04:05Z" {
		t.Fatalf("entry %+v", e)
	}
	if sp := e.SourcePackage; sp == nil || sp.DownloadURL != pub.DownloadURL("node-18@1.0.0", "node-18-1.0.0.tar.gz") || sp.Checksum != schema.ChecksumPrefix+res.Assets[0].SHA256 {
		t.Fatalf("source_package %+v", sp)
	}
	// Views are committed with registry.json, in the same commit, and the
	// mirror serves them too.
	for _, p := range platforms {
		view := remoteFile(t, r, "platforms/"+p+"/registry.json")
		want, err := registrygen.Encode(registrygen.View(after, p))
		if err != nil {
			t.Fatal(err)
		}
		if view != string(want) {
			t.Fatalf("committed %s view differs from the registry's", p)
		}
		if served, _ := os.ReadFile(filepath.Join(pub.Dir, "platforms", p, "registry.json")); string(served) != view {
			t.Fatalf("the mirror's %s view is not the committed one", p)
		}
	}
	if files := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "show", "--name-only", "--format=", "main"); files != "platforms/ubuntu-amd64/registry.json\nplatforms/ubuntu-arm64/registry.json\nregistry.json" {
		t.Fatalf("the release commit holds %q", files)
	}
	for _, p := range platforms {
		a := e.Artifacts[p]
		name := schema.ArtifactName("node-18", "1.0.0", p)
		local, err := registrygen.InspectArtifact(context.Background(), filepath.Join(artifacts, name))
		if err != nil {
			t.Fatal(err)
		}
		if a == nil || a.Checksum != local.Checksum || a.Size != local.Size || a.Entries != local.Entries || a.Entries == 0 {
			t.Fatalf("artifact %s: %+v, local %+v", p, a, local)
		}
		code, body := httpGet(t, a.DownloadURL)
		data, _ := os.ReadFile(filepath.Join(artifacts, name))
		if code != 200 || body != string(data) {
			t.Fatalf("GET %s: %d, %d bytes", a.DownloadURL, code, len(body))
		}
	}
	if msg := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "log", "-1", "--format=%s", "main"); msg != "registry: add node-18 1.0.0" {
		t.Fatalf("commit message %q", msg)
	}
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(sum), "Published node-18@1.0.0 (dir)") || !strings.Contains(string(sum), "added node-18@1.0.0") {
		t.Fatalf("summary:\n%s", sum)
	}

	// a re-run (the job retried) publishes nothing new and commits nothing
	head := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main")
	res, err = Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.Unchanged || mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main") != head {
		t.Fatalf("re-run committed again: %+v", res.Commit)
	}
	for _, a := range res.Assets {
		if a.State != StateUnchanged {
			t.Fatalf("re-run: %s %s", a.Name, a.State)
		}
	}

	// a rebuilt artifact with different bytes is refused without --force
	opts.ArtifactsDir = buildArtifactsVariant(t, " (rebuilt)", "node-18", "1.0.0", platforms...)
	if _, err := Publish(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("differing rebuild: err = %v, want a refusal naming --force", err)
	}
	if mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main") != head {
		t.Fatal("a refused publish committed")
	}
	// with --force the files are replaced and the registry records the change
	opts.Force = true
	res, err = Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e = remoteRegistry(t, r).Runtimes["node-18"]["1.0.0"]
	// one record per artifact, and one for the top-level download (the
	// primary artifact); the source package is packed the same again
	if len(e.Forced) != len(platforms)+1 || res.Assets[1].State != StateReplaced {
		t.Fatalf("forced republish: forced records %+v, asset state %s", e.Forced, res.Assets[1].State)
	}
	if err := registrygen.CheckHistory(after, remoteRegistry(t, r)); err != nil {
		t.Fatalf("a recorded forced change must pass the history guard: %v", err)
	}
}

func TestPublishRefusals(t *testing.T) {
	r := newPublishRepo(t)
	addRuntime(t, r.Work, "java-21", "2.0.0", "rhel-amd64", "rhel-arm64")
	rt := filepath.Join(r.Work.Dir, "runtimes")
	full := buildArtifacts(t, "java-21", "2.0.0", "rhel-amd64", "rhel-arm64")
	partial := buildArtifacts(t, "java-21", "2.0.0", "rhel-amd64")
	corrupt := buildArtifacts(t, "java-21", "2.0.0", "rhel-amd64", "rhel-arm64")
	writeFile(t, filepath.Join(corrupt, "java-21-2.0.0-rhel-arm64.tar.gz.sha256"), strings.Repeat("0", 64)+"  java-21-2.0.0-rhel-arm64.tar.gz\n")
	addRuntime(t, r.Work, "moved-rt", "1.0.0", "rhel-amd64")
	mustGit(t, r.Work, "tag", "moved-rt@1.0.0", "HEAD~1")
	addRuntime(t, r.Work, "other-rt", "1.0.0", "rhel-amd64")
	moved := buildArtifacts(t, "moved-rt", "1.0.0", "rhel-amd64")
	pub, _ := dirPublisher(t)
	tests := []struct {
		name, tag, artifacts, want string
	}{
		{"the tag lacks the runtime", "moved-rt@1.0.0", moved, "has no directory runtimes/moved-rt"},
		{"version differs", "java-21@2.0.1", full, "says version 2.0.0"},
		{"bad tag", "java-21", full, "name@version"},
		{"unknown runtime", "nope@1.0.0", full, "nope"},
		{"missing platform", "java-21@2.0.0", partial, "java-21-2.0.0-rhel-arm64.tar.gz"},
		{"sidecar mismatch", "java-21@2.0.0", corrupt, "corrupted"},
	}
	head := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Publish(context.Background(), PublishOptions{Tag: tc.tag, RuntimesDir: rt, ArtifactsDir: tc.artifacts, Publisher: pub, Repo: r.Work})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(pub.Dir); len(entries) != 0 {
		t.Fatalf("refused publishes wrote files: %v", entries)
	}
	if mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main") != head {
		t.Fatal("a refused publish committed")
	}
}

func TestPublishDryRunChangesNothing(t *testing.T) {
	r := newPublishRepo(t)
	addRuntime(t, r.Work, "python-3.11", "1.4.0", "ubuntu-amd64")
	artifacts := buildArtifacts(t, "python-3.11", "1.4.0", "ubuntu-amd64")
	pub, _ := dirPublisher(t)
	bare := Git{Dir: r.Remote, Env: r.Env}
	beforeRemote, beforeLocal := refs(t, bare), refs(t, r.Work)
	res, err := Publish(context.Background(), PublishOptions{Tag: "python-3.11@1.4.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: artifacts, Publisher: pub, Repo: r.Work, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diff.Added) != 1 || res.Diff.Added[0].Name != "python-3.11" || res.Diff.Added[0].Version != "1.4.0" || len(res.Diff.Lost) != 0 {
		t.Fatalf("diff %+v", res.Diff)
	}
	for _, a := range res.Assets {
		if a.State != StatePlanned || !strings.HasPrefix(a.URL, pub.BaseURL+"/python-3.11@1.4.0/") {
			t.Fatalf("planned asset %+v", a)
		}
	}
	if !strings.Contains(string(res.Commit.After), `"1.4.0"`) || res.Commit.Commit != "" {
		t.Fatalf("dry run commit result %+v", res.Commit)
	}
	if a, b := refs(t, bare), refs(t, r.Work); a != beforeRemote || b != beforeLocal {
		t.Fatalf("dry run changed refs")
	}
	if entries, _ := os.ReadDir(pub.Dir); len(entries) != 0 {
		t.Fatalf("dry run published files: %v", entries)
	}
}

// TestPublishEightConcurrent runs eight publishes of different runtimes and
// versions at once, each from its own clone as separate CI runners would,
// against one bare remote: the final registry must hold all eight and every
// version it had before.
func TestPublishEightConcurrent(t *testing.T) {
	r := newPublishRepo(t)
	releases := []struct{ name, version string }{
		{"python-3.11", "1.4.0"}, {"python-3.11", "1.5.0"}, {"openjdk-21", "1.4.0"}, {"graalvmjdk-21", "1.3.2"},
		{"python-3.11-ml", "1.4.0"}, {"node-18", "1.0.0"}, {"node-18", "1.1.0"}, {"go-1.22", "0.1.0"},
	}
	for _, rel := range []string{"python-3.11", "openjdk-21", "graalvmjdk-21", "python-3.11-ml", "node-18", "go-1.22"} {
		addRuntime(t, r.Work, rel, "0.0.1", "ubuntu-amd64", "ubuntu-arm64")
	}
	mustGit(t, r.Work, "push", "-q", "origin", "main")
	before := remoteRegistry(t, r)
	pub, _ := dirPublisher(t)
	// every publish also pushes both platform views to their repositories
	viewRepos := map[string]string{}
	for _, p := range []string{"ubuntu-amd64", "ubuntu-arm64"} {
		viewRepos[p] = filepath.Join(t.TempDir(), p+".git")
		mustGit(t, Git{Dir: filepath.Dir(viewRepos[p]), Env: r.Env}, "init", "-q", "--bare", "-b", "main", viewRepos[p])
	}

	type job struct {
		opts PublishOptions
	}
	jobs := make([]job, len(releases))
	for i, rel := range releases {
		clone := r.clone(t)
		// the checkout of the tag: the manifest at the released version
		addRuntime(t, clone, rel.name, rel.version, "ubuntu-amd64", "ubuntu-arm64")
		jobs[i].opts = PublishOptions{Tag: rel.name + "@" + rel.version, RuntimesDir: filepath.Join(clone.Dir, "runtimes"),
			ArtifactsDir: buildArtifacts(t, rel.name, rel.version, "ubuntu-amd64", "ubuntu-arm64"),
			Publisher:    pub, Repo: clone, Backoff: 20 * time.Millisecond, MaxAttempts: 30, ViewRepos: viewRepos}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	attempts := make([]int, len(jobs))
	for i := range jobs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := Publish(context.Background(), jobs[i].opts)
			errs[i] = err
			if err == nil {
				attempts[i] = res.Commit.Attempts
			}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	after := remoteRegistry(t, r)
	if err := registrygen.CheckHistory(before, after); err != nil {
		t.Fatalf("an earlier version was lost: %v", err)
	}
	for _, rel := range releases {
		e := after.Runtimes[rel.name][rel.version]
		if e == nil || len(e.Artifacts) != 2 {
			t.Fatalf("%s@%s missing or incomplete: %+v", rel.name, rel.version, e)
		}
	}
	total := func(reg *schema.Registry) (n int) {
		for _, vs := range reg.Runtimes {
			n += len(vs)
		}
		return n
	}
	if got, want := total(after), total(before)+len(releases); got != want {
		t.Fatalf("registry has %d versions, want %d", got, want)
	}
	if count := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-list", "--count", "main"); count == "" {
		t.Fatal("no commits")
	}
	// the views on the branch, in each view repository and on the mirror
	// are all the final registry's: no publish left an older one behind
	mirror, err := registrygen.Load(filepath.Join(pub.Dir, "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := registrygen.CheckHistory(after, mirror); err != nil {
		t.Fatalf("the mirror lost what the branch has: %v", err)
	}
	if problems, err := registrygen.CheckViews(filepath.Join(pub.Dir, "registry.json"), mirror); err != nil || len(problems) > 0 {
		t.Fatalf("mirror views: %v %v", err, problems)
	}
	for p, remote := range viewRepos {
		want, err := registrygen.Encode(registrygen.View(after, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := remoteFile(t, r, "platforms/"+p+"/registry.json"); got != string(want) {
			t.Fatalf("the branch's %s view is stale", p)
		}
		if got := mustGit(t, Git{Dir: remote, Env: r.Env}, "show", "main:registry.json") + "\n"; got != string(want) {
			t.Fatalf("the %s view repository is stale:\n%s", p, got)
		}
	}
	t.Logf("commit attempts per publish: %v", attempts)
}

// TestPublishBuildsWithoutArtifacts covers publish without --artifacts: the
// build function is called once per platform of the manifest, and what it
// returns is published under the canonical artifact name.
func TestPublishBuildsWithoutArtifacts(t *testing.T) {
	r := newPublishRepo(t)
	platforms := []string{"debian-amd64", "debian-arm64"}
	addRuntime(t, r.Work, "built-rt", "1.1.0", platforms...)
	prebuilt := buildArtifacts(t, "built-rt", "1.1.0", platforms...)
	var mu sync.Mutex
	var built []string
	build := func(_ context.Context, runtimeDir, platform, outDir string) (string, error) {
		mu.Lock()
		built = append(built, platform)
		mu.Unlock()
		if filepath.Base(runtimeDir) != "built-rt" {
			return "", fmt.Errorf("runtime dir %s", runtimeDir)
		}
		data, err := os.ReadFile(filepath.Join(prebuilt, schema.ArtifactName("built-rt", "1.1.0", platform)))
		if err != nil {
			return "", err
		}
		out := filepath.Join(outDir, "whatever-the-builder-calls-it.tar.gz")
		return out, os.WriteFile(out, data, 0o644)
	}
	pub, _ := dirPublisher(t)
	res, err := Publish(context.Background(), PublishOptions{Tag: "built-rt@1.1.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		Build: build, Publisher: pub, Repo: r.Work})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(built, ",") != strings.Join(platforms, ",") {
		t.Fatalf("built %v, want %v", built, platforms)
	}
	if res.Assets[1].Name != "built-rt-1.1.0-debian-amd64.tar.gz" || res.Assets[2].Name != "built-rt-1.1.0-debian-arm64.tar.gz" {
		t.Fatalf("assets %+v", res.Assets)
	}
	if e := remoteRegistry(t, r).Runtimes["built-rt"]["1.1.0"]; e == nil || len(e.Artifacts) != 2 {
		t.Fatalf("registry entry %+v", e)
	}
	failing := func(context.Context, string, string, string) (string, error) {
		return "", errors.New("setup script exited 1")
	}
	_, err = Publish(context.Background(), PublishOptions{Tag: "built-rt@1.1.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		Build: failing, Publisher: pub, Repo: r.Work})
	if err == nil || !strings.Contains(err.Error(), "setup script exited 1") || !strings.Contains(err.Error(), "debian-amd64") {
		t.Fatalf("failing build: %v", err)
	}
}

// TestPublishReadsTheTag: publish reads the runtime from the tag, not from
// the checkout (which has moved on and says another version), so CI needs
// no checkout of the tag; building here without --artifacts still needs
// the tagged tree and says so (and no longer suggests --force).
func TestPublishReadsTheTag(t *testing.T) {
	r := newPublishRepo(t)
	addRuntime(t, r.Work, "rt", "1.0.0", "debian-amd64")
	mustGit(t, r.Work, "tag", "rt@1.0.0")
	addRuntime(t, r.Work, "rt", "1.1.0", "debian-amd64") // the checkout moves on
	pub, _ := dirPublisher(t)
	opts := PublishOptions{Tag: "rt@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, "rt", "1.0.0", "debian-amd64"), Publisher: pub, Repo: r.Work}
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := remoteRegistry(t, r).Runtimes["rt"]["1.0.0"]
	if e == nil || e.SourcePackage == nil {
		t.Fatalf("rt@1.0.0 not published from the tag: %+v", res)
	}
	// the source package holds the tagged manifest (version 1.0.0)
	src := filepath.Join(pub.Dir, "rt@1.0.0", "rt-1.0.0.tar.gz")
	entries := readTarGz(t, src)
	if got := entries["rt/manifest.yaml"]; !strings.Contains(got, "version: 1.0.0") {
		t.Fatalf("source package manifest: %q", got)
	}
	opts.ArtifactsDir = ""
	opts.Build = func(ctx context.Context, runtimeDir, platform, outDir string) (string, error) {
		t.Fatal("built from the wrong tree")
		return "", nil
	}
	if _, err := Publish(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "git checkout rt@1.0.0") || strings.Contains(err.Error(), "--force") {
		t.Fatalf("building here from a moved checkout: %v", err)
	}
}

// TestPublishForceAsks: --force lists every published file it would
// replace and goes ahead only when confirmed; refused, nothing changes.
func TestPublishForceAsks(t *testing.T) {
	r := newPublishRepo(t)
	addRuntime(t, r.Work, "rt", "1.0.0", "debian-amd64")
	pub, _ := dirPublisher(t)
	opts := PublishOptions{Tag: "rt@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, "rt", "1.0.0", "debian-amd64"), Publisher: pub, Repo: r.Work}
	if _, err := Publish(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	published := filepath.Join(pub.Dir, "rt@1.0.0", "rt-1.0.0-debian-amd64.tar.gz")
	before, _ := os.ReadFile(published)
	head := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main")

	opts.ArtifactsDir = buildArtifactsVariant(t, " (rebuilt)", "rt", "1.0.0", "debian-amd64")
	opts.Force = true
	var log strings.Builder
	var asked []Replacement
	for _, c := range []struct {
		name    string
		confirm func([]Replacement) error
		want    string
	}{
		{"no terminal, no --yes", ConfirmReplacements(false, false, nil, &log), "pass --yes"},
		{"answered no", ConfirmReplacements(false, true, func(string) (bool, error) { return false, nil }, &log), "answered no"},
		{"recorded", func(reps []Replacement) error { asked = reps; return errors.New("stop") }, "stop"},
	} {
		opts.ConfirmReplace = c.confirm
		if _, err := Publish(context.Background(), opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if after, _ := os.ReadFile(published); string(after) != string(before) {
			t.Fatalf("%s: the published file was replaced", c.name)
		}
		if mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main") != head {
			t.Fatalf("%s: registry.json was committed", c.name)
		}
	}
	if len(asked) != 1 || asked[0].Name != "rt-1.0.0-debian-amd64.tar.gz" || asked[0].OldSize != int64(len(before)) || asked[0].OldSHA256 == "" || asked[0].OldSHA256 == asked[0].NewSHA256 {
		t.Fatalf("replacements shown: %+v", asked)
	}
	if !strings.Contains(log.String(), "rt-1.0.0-debian-amd64.tar.gz: ") || !strings.Contains(log.String(), asked[0].OldSHA256) {
		t.Fatalf("the list of replacements: %q", log.String())
	}
	// --yes: replaced, and the registry records it
	opts.ConfirmReplace = ConfirmReplacements(true, false, nil, &log)
	if _, err := Publish(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(published); string(after) == string(before) {
		t.Fatal("--force --yes did not replace the file")
	}
	if e := remoteRegistry(t, r).Runtimes["rt"]["1.0.0"]; len(e.Forced) == 0 {
		t.Fatalf("no forced record: %+v", e)
	}
}

// readTarGz returns the regular files of a .tar.gz by name.
func readTarGz(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}
