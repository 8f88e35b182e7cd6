package release

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/joblet/rtool/consumer"
)

// TestRoundTripTagPublishInstall is the whole release path on one machine:
// rtool release tags and pushes, CI checks out the tag and publishes the
// built artifacts to a static directory served over HTTP on 127.0.0.1 and
// commits registry.json, and a consumer installs from that registry.
func TestRoundTripTagPublishInstall(t *testing.T) {
	ctx := context.Background()
	r := newPublishRepo(t)
	const name, version, platform = "hello-rt", "1.0.0", "debian-amd64"
	dir := addRuntime(t, r.Work, name, version, platform, "debian-arm64")
	mustGit(t, r.Work, "push", "-q", "origin", "main")

	// a person releases
	tagged, err := CreateTag(ctx, TagOptions{Git: r.Work, RuntimeDir: dir, Name: name})
	if err != nil {
		t.Fatal(err)
	}

	// CI checks out the tag and publishes what the build jobs made
	ci := r.clone(t)
	mustGit(t, ci, "checkout", "-q", tagged.Tag)
	artifacts := buildArtifacts(t, name, version, platform, "debian-arm64")
	pub, srv := dirPublisher(t)
	res, err := Publish(ctx, PublishOptions{Tag: tagged.Tag, RuntimesDir: filepath.Join(ci.Dir, "runtimes"),
		ArtifactsDir: artifacts, Publisher: pub, Repo: ci})
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit.Commit == "" {
		t.Fatal("registry.json was not committed")
	}

	// the dir publisher serves the committed registry next to the files
	if served, _ := os.ReadFile(filepath.Join(pub.Dir, "registry.json")); string(served) != remoteFile(t, r, "registry.json") {
		t.Fatal("the mirror's registry.json is not the committed one")
	}
	root := t.TempDir()
	opts := consumer.InstallOptions{Root: root, Platform: platform,
		Registries: []consumer.Source{{Name: "test", Location: srv.URL + "/registry.json"}}}
	inst, err := consumer.Install(ctx, name+"@latest", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := remoteRegistry(t, r).Runtimes[name][version].Artifacts[platform]
	if inst.Version != version || inst.Checksum != want.Checksum || inst.URL != want.DownloadURL {
		t.Fatalf("installed %+v, registry artifact %+v", inst, want)
	}
	if inst.Dir != filepath.Join(root, name, version) {
		t.Fatalf("installed into %s", inst.Dir)
	}
	hello, err := os.ReadFile(filepath.Join(inst.Dir, "isolated", "bin", "hello"))
	if err != nil || string(hello) != "#!/bin/sh\necho hello from "+name+" on "+platform+"\n" {
		t.Fatalf("installed file: %q, %v", hello, err)
	}
	// the exact version resolves to the same install
	again, err := consumer.Install(ctx, name+"@"+version, opts)
	if err != nil || !again.AlreadyInstalled {
		t.Fatalf("second install %+v, %v", again, err)
	}
}

// TestRoundTripGitHubPublishInstall publishes through the GitHub publisher
// (against the fake GitHub API on 127.0.0.1) and installs from the
// committed registry, whose URLs are the release's download URLs.
func TestRoundTripGitHubPublishInstall(t *testing.T) {
	ctx := context.Background()
	r := newPublishRepo(t)
	const name, version, platform = "gh-rt", "2.0.0", "ubuntu-arm64"
	addRuntime(t, r.Work, name, version, platform)
	f := newFakeGitHub(t)
	pub := newTestPublisher(t, f)
	res, err := Publish(ctx, PublishOptions{Tag: name + "@" + version, RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, name, version, platform), Publisher: pub, Repo: r.Work})
	if err != nil {
		t.Fatal(err)
	}
	head := mustGit(t, r.Work, "rev-parse", "HEAD")
	if rel := f.release(name + "@" + version); rel == nil || rel.Draft || rel.Target != head || len(rel.Assets) != 2 {
		t.Fatalf("release %+v, want published at %s with 2 assets", rel, head)
	}
	regFile := filepath.Join(t.TempDir(), "registry.json")
	writeFile(t, regFile, remoteFile(t, r, "registry.json"))
	inst, err := consumer.Install(ctx, name, consumer.InstallOptions{Root: t.TempDir(), Platform: platform,
		Registries: []consumer.Source{{Name: "test", Location: regFile}}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Version != version || inst.URL != res.Assets[1].URL || f.count("GET download") == 0 {
		t.Fatalf("installed %+v from %s (%d downloads)", inst, res.Assets[1].URL, f.count("GET download"))
	}
}

// TestPublishFromShallowTagCheckout publishes from what actions/checkout
// makes of a tag push: a depth-1 clone with the tag checked out (detached).
func TestPublishFromShallowTagCheckout(t *testing.T) {
	ctx := context.Background()
	r := newPublishRepo(t)
	const name, version, platform = "shallow-rt", "0.3.0", "debian-amd64"
	addRuntime(t, r.Work, name, version, platform)
	mustGit(t, r.Work, "tag", "-a", "-m", "release", name+"@"+version)
	mustGit(t, r.Work, "push", "-q", "origin", "main", name+"@"+version)
	// main moves on before the publish job runs
	addRuntime(t, r.Work, "other-rt", "1.0.0", platform)
	mustGit(t, r.Work, "push", "-q", "origin", "main")

	dir := filepath.Join(t.TempDir(), "checkout")
	mustGit(t, Git{Dir: filepath.Dir(dir), Env: r.Env}, "clone", "-q", "--depth", "1", "--branch", name+"@"+version, "file://"+r.Remote, dir)
	ci := Git{Dir: dir, Env: r.Env}
	if shallow := mustGit(t, ci, "rev-parse", "--is-shallow-repository"); shallow != "true" {
		t.Fatalf("clone is not shallow: %s", shallow)
	}
	pub, _ := dirPublisher(t)
	if _, err := Publish(ctx, PublishOptions{Tag: name + "@" + version, RuntimesDir: filepath.Join(dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, name, version, platform), Publisher: pub, Repo: ci}); err != nil {
		t.Fatal(err)
	}
	reg := remoteRegistry(t, r)
	if reg.Runtimes[name][version] == nil {
		t.Fatalf("%s@%s not in the registry", name, version)
	}
	// the commit went on top of the moved main, not on the tag
	bare := Git{Dir: r.Remote, Env: r.Env}
	if parent := mustGit(t, bare, "rev-parse", "main~1"); parent != mustGit(t, r.Work, "rev-parse", "HEAD") {
		t.Fatalf("registry commit's parent %s is not main's previous head", parent)
	}
}
