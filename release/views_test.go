package release

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// TestPublishViewRepos publishes two versions for two platforms with a
// view repository per platform (one of them new and empty), yanks one
// version on the main branch, and checks what each view repository's root
// registry.json holds: the platform's artifacts only, the yanked version
// gone after the next publish, nothing else lost.
func TestPublishViewRepos(t *testing.T) {
	ctx := context.Background()
	r := newPublishRepo(t)
	platforms := []string{"debian-amd64", "debian-arm64"}
	env := r.Env
	base := t.TempDir()
	viewRemote := map[string]string{}
	for _, p := range platforms {
		remote := filepath.Join(base, p+".git")
		mustGit(t, Git{Dir: base, Env: env}, "init", "-q", "--bare", "-b", "main", remote)
		viewRemote[p] = remote
	}
	// the arm64 view repository already has a commit (a README), the
	// amd64 one is empty: both must work
	seed := filepath.Join(base, "seed")
	mustGit(t, Git{Dir: base, Env: env}, "clone", "-q", viewRemote["debian-arm64"], seed)
	writeFile(t, filepath.Join(seed, "README.md"), "arm64 runtimes for Joblet\n")
	mustGit(t, Git{Dir: seed, Env: env}, "add", "README.md")
	mustGit(t, Git{Dir: seed, Env: env}, "commit", "-q", "-m", "readme")
	mustGit(t, Git{Dir: seed, Env: env}, "push", "-q", "origin", "HEAD:main")

	pub, _ := dirPublisher(t)
	publish := func(version string) *PublishResult {
		t.Helper()
		mustGit(t, r.Work, "pull", "-q", "--rebase", "origin", "main")
		addRuntime(t, r.Work, "rt", version, platforms...)
		res, err := Publish(ctx, PublishOptions{Tag: "rt@" + version, RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
			ArtifactsDir: buildArtifacts(t, "rt", version, platforms...), Publisher: pub, Repo: r.Work,
			ViewRepos: viewRemote, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	viewOf := func(p string) *schema.Registry {
		t.Helper()
		data := mustGit(t, Git{Dir: viewRemote[p], Env: env}, "show", "main:registry.json")
		v, err := registrygen.Parse([]byte(data+"\n"), p+" view")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	publish("1.0.0")
	publish("1.1.0")
	for _, p := range platforms {
		v := viewOf(p)
		if got := schema.SortedVersions(v.Runtimes["rt"]); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
			t.Fatalf("%s view has %v", p, got)
		}
		if _, ok := v.Runtimes["python-3.11-ml"]; ok {
			t.Fatalf("%s view holds an upstream runtime without a %s artifact", p, p)
		}
		for ver, e := range v.Runtimes["rt"] {
			if !strings.HasSuffix(e.DownloadURL, "rt-"+ver+"-"+p+".tar.gz") {
				t.Fatalf("%s view: rt@%s downloads %s", p, ver, e.DownloadURL)
			}
		}
	}
	if readme := mustGit(t, Git{Dir: viewRemote["debian-arm64"], Env: env}, "show", "main:README.md"); readme != "arm64 runtimes for Joblet" {
		t.Fatalf("the view commit lost the repository's README: %q", readme)
	}

	// yank 1.1.0 on the main branch, then publish 1.2.0: the views drop
	// 1.1.0 (Joblet's @latest cannot skip it) and add 1.2.0
	mustGit(t, r.Work, "pull", "-q", "--rebase", "origin", "main")
	reg, err := registrygen.Load(filepath.Join(r.Work.Dir, "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	yanked, err := registrygen.Yank(reg, "rt", "1.1.0", "broken", time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := registrygen.WriteWithViews(filepath.Join(r.Work.Dir, "registry.json"), yanked); err != nil {
		t.Fatal(err)
	}
	mustGit(t, r.Work, "commit", "-q", "-am", "yank rt 1.1.0")
	mustGit(t, r.Work, "push", "-q", "origin", "main")
	res := publish("1.2.0")
	for _, p := range platforms {
		if got := schema.SortedVersions(viewOf(p).Runtimes["rt"]); !slices.Equal(got, []string{"1.0.0", "1.2.0"}) {
			t.Fatalf("%s view after the yank has %v", p, got)
		}
		if res.ViewCommits[p] == nil || res.ViewCommits[p].Commit == "" {
			t.Fatalf("no %s view commit: %+v", p, res.ViewCommits)
		}
	}

	// a view repository that holds a version the main registry does not
	// (someone pushed by hand) is not overwritten: the guard refuses
	amd := viewOf("debian-amd64")
	extra := *amd.Runtimes["rt"]["1.0.0"]
	extra.Version = "9.0.0"
	amd.Runtimes["rt"]["9.0.0"] = &extra
	tampered := filepath.Join(base, "tamper")
	mustGit(t, Git{Dir: base, Env: env}, "clone", "-q", viewRemote["debian-amd64"], tampered)
	if err := registrygen.Write(filepath.Join(tampered, "registry.json"), amd); err != nil {
		t.Fatal(err)
	}
	mustGit(t, Git{Dir: tampered, Env: env}, "commit", "-q", "-am", "by hand")
	mustGit(t, Git{Dir: tampered, Env: env}, "push", "-q", "origin", "main")
	mustGit(t, r.Work, "pull", "-q", "--rebase", "origin", "main")
	addRuntime(t, r.Work, "rt", "1.3.0", platforms...)
	_, err = Publish(ctx, PublishOptions{Tag: "rt@1.3.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, "rt", "1.3.0", platforms...), Publisher: pub, Repo: r.Work,
		ViewRepos: viewRemote, Backoff: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "lost rt@9.0.0") || !strings.Contains(err.Error(), "debian-amd64 view repository") {
		t.Fatalf("a view holding more than the registry: err = %v", err)
	}
}

// TestDirMirrorOnlyMovesForward: a publish whose registry is older than
// the mirror's (its push reply was slow, another publish wrote the mirror
// first) must not take the newer version away from the mirror.
func TestDirMirrorOnlyMovesForward(t *testing.T) {
	ctx := context.Background()
	pub, _ := dirPublisher(t)
	frag := func(version string) *schema.Registry {
		t.Helper()
		dir := buildArtifacts(t, "rt", version, "debian-amd64")
		ef, err := registrygen.InspectArtifact(ctx, filepath.Join(dir, schema.ArtifactName("rt", version, "debian-amd64")))
		if err != nil {
			t.Fatal(err)
		}
		f, err := registrygen.Fragment(registrygen.FragmentSpec{Name: "rt", Version: version, Platforms: []string{"debian-amd64"},
			Artifacts: []registrygen.PlatformFile{{Platform: "debian-amd64", File: ef}}, URL: "https://e.com/{file}"})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	older, _, err := registrygen.Merge(registrygen.New(), frag("1.0.0"), registrygen.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newer, _, err := registrygen.Merge(older, frag("1.1.0"), registrygen.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(r *schema.Registry) []byte {
		b, err := registrygen.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := pub.WriteRegistry(ctx, encode(newer)); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteRegistry(ctx, encode(older)); err != nil {
		t.Fatal(err)
	}
	mirror, err := registrygen.Load(filepath.Join(pub.Dir, "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := schema.SortedVersions(mirror.Runtimes["rt"]); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("the mirror went back: %v", got)
	}
	problems, err := registrygen.CheckViews(filepath.Join(pub.Dir, "registry.json"), mirror)
	if err != nil || len(problems) > 0 {
		t.Fatalf("mirror views: %v %v", err, problems)
	}
	// a registry that contradicts the mirror is refused, the mirror kept
	bad := frag("1.1.0")
	bad.Runtimes["rt"]["1.1.0"].Checksum = schema.ChecksumPrefix + strings.Repeat("0", 64)
	bad.Runtimes["rt"]["1.1.0"].Artifacts["debian-amd64"].Checksum = bad.Runtimes["rt"]["1.1.0"].Checksum
	before, _ := os.ReadFile(filepath.Join(pub.Dir, "registry.json"))
	if err := pub.WriteRegistry(ctx, encode(bad)); err == nil {
		t.Fatal("a contradicting registry replaced the mirror's")
	}
	if after, _ := os.ReadFile(filepath.Join(pub.Dir, "registry.json")); string(after) != string(before) {
		t.Fatal("a refused write changed the mirror")
	}
}
