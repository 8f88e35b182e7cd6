package release

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

func newTestPublisher(t *testing.T, f *fakeGitHub) *GitHubPublisher {
	t.Helper()
	p, err := NewGitHubPublisher(GitHubOptions{Repo: f.owner + "/" + f.repo, Token: f.token, APIURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p.PerPage = 2 // force pagination
	return p
}

func testAssets(t *testing.T, n int, tag string) []Asset {
	t.Helper()
	dir := t.TempDir()
	var out []Asset
	for i := 0; i < n; i++ {
		out = append(out, newTestAsset(t, dir, fmt.Sprintf("rt-1.0.0-platform%d.tar.gz", i), fmt.Sprintf("payload %d of %s %s", i, tag, strings.Repeat("x", i*100))))
	}
	return out
}

func checkPublished(t *testing.T, f *fakeGitHub, tag string, assets []Asset, got []PublishedAsset) {
	t.Helper()
	rel := f.release(tag)
	if rel == nil || rel.Draft {
		t.Fatalf("release %s: %+v, want a published release", tag, rel)
	}
	if len(rel.Assets) != len(assets) {
		t.Fatalf("release has %d assets, want %d", len(rel.Assets), len(assets))
	}
	for i, a := range assets {
		want, _ := os.ReadFile(a.Path)
		var found bool
		for _, ra := range rel.Assets {
			if ra.Name == a.Name {
				found = true
				if string(ra.Data) != string(want) {
					t.Errorf("asset %s has different bytes on the server", a.Name)
				}
			}
		}
		if !found {
			t.Errorf("asset %s missing", a.Name)
		}
		wantURL := fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", f.srv.URL, f.owner, f.repo, tag, a.Name)
		if got[i].URL != wantURL {
			t.Errorf("url %s, want %s (the published, not the draft, URL)", got[i].URL, wantURL)
		}
	}
}

func TestGitHubPublishCreatesDraftUploadsVerifiesPublishes(t *testing.T) {
	for _, noDigest := range []bool{false, true} {
		t.Run(fmt.Sprintf("noDigest=%v", noDigest), func(t *testing.T) {
			f := newFakeGitHub(t)
			f.noDigest = noDigest
			p := newTestPublisher(t, f)
			tag := "python-3.11@1.3.4"
			assets := testAssets(t, 5, tag)
			req := ReleaseRequest{Tag: tag, Title: "python-3.11 1.3.4", Notes: "notes", Assets: assets, Target: "0123abcd"}
			got, err := p.Publish(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkPublished(t, f, tag, assets, got)
			for _, g := range got {
				if g.State != StateUploaded {
					t.Errorf("%s: state %s, want uploaded", g.Name, g.State)
				}
			}
			if n := f.count("POST releases"); n != 1 {
				t.Errorf("created %d releases, want 1", n)
			}
			if n := f.count("POST upload"); n != 5 {
				t.Errorf("%d uploads, want 5", n)
			}
			if n := f.count("PATCH release"); n != 1 {
				t.Errorf("%d PATCHes, want 1 (publish the draft)", n)
			}
			if rel := f.release(tag); rel.Name != "python-3.11 1.3.4" || rel.Body != "notes" || rel.Target != "0123abcd" {
				t.Errorf("release title/body/target %q/%q/%q", rel.Name, rel.Body, rel.Target)
			}
			downloads := f.count("GET storage")
			if noDigest && downloads != 5 {
				t.Errorf("without a digest field every upload must be downloaded back: %d downloads", downloads)
			}
			if !noDigest && downloads != 0 {
				t.Errorf("with a digest field nothing needs downloading: %d downloads", downloads)
			}

			// a re-run finds the published release and uploads nothing
			got, err = p.Publish(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkPublished(t, f, tag, assets, got)
			for _, g := range got {
				if g.State != StateUnchanged {
					t.Errorf("re-run: %s state %s, want unchanged", g.Name, g.State)
				}
			}
			if n := f.count("POST upload"); n != 5 {
				t.Errorf("re-run uploaded again: %d uploads", n)
			}
			if n := f.count("POST releases"); n != 1 {
				t.Errorf("re-run created another release")
			}
		})
	}
}

func TestGitHubPublishResumesDraft(t *testing.T) {
	f := newFakeGitHub(t)
	p := newTestPublisher(t, f)
	tag := "openjdk-21@2.0.0"
	assets := testAssets(t, 4, tag)
	// other releases, so finding the draft needs more than one page
	for i := 0; i < 5; i++ {
		f.releases = append(f.releases, &fakeRelease{ID: f.nextID, Tag: fmt.Sprintf("other@1.0.%d", i)})
		f.nextID++
	}
	// an interrupted run left a draft with one good asset and one broken upload
	data0, _ := os.ReadFile(assets[0].Path)
	data1, _ := os.ReadFile(assets[1].Path)
	f.releases = append(f.releases, &fakeRelease{ID: f.nextID, Tag: tag, Draft: true, Assets: []*fakeAsset{
		{ID: f.nextID + 1, Name: assets[0].Name, State: "uploaded", Data: data0},
		{ID: f.nextID + 2, Name: assets[1].Name, State: "new", Data: data1[:3]},
	}})
	f.nextID += 3
	got, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, f, tag, assets, got)
	if n := f.count("POST releases"); n != 0 {
		t.Errorf("created a release although a draft existed")
	}
	if n := f.count("POST upload"); n != 3 {
		t.Errorf("%d uploads, want 3 (the broken one and two missing)", n)
	}
	wantStates := []string{StateUnchanged, StateReplaced, StateUploaded, StateUploaded}
	for i, g := range got {
		if g.State != wantStates[i] {
			t.Errorf("%s: state %s, want %s", g.Name, g.State, wantStates[i])
		}
	}
}

func TestGitHubPublishDifferingAsset(t *testing.T) {
	f := newFakeGitHub(t)
	p := newTestPublisher(t, f)
	tag := "node-18@1.0.0"
	assets := testAssets(t, 3, tag)
	if _, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: assets}); err != nil {
		t.Fatal(err)
	}
	rebuilt := append([]Asset(nil), assets...)
	rebuilt[1] = newTestAsset(t, t.TempDir(), assets[1].Name, "different bytes")
	extra := newTestAsset(t, t.TempDir(), "rt-1.0.0-extra.tar.gz", "extra")
	rebuilt = append(rebuilt, extra)

	_, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: rebuilt})
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), assets[1].Name) {
		t.Fatalf("err = %v, want a refusal naming the asset and --force", err)
	}
	if f.count("DELETE asset") != 0 || f.count("POST upload") != 3 {
		t.Fatalf("a refused publish changed the release: %d deletes, %d uploads", f.count("DELETE asset"), f.count("POST upload"))
	}
	got, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: rebuilt, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, f, tag, rebuilt, got)
	if got[1].State != StateReplaced || got[3].State != StateUploaded || got[0].State != StateUnchanged {
		t.Fatalf("states %s %s %s", got[0].State, got[1].State, got[3].State)
	}
}

func TestGitHubPublishDuplicateUploadRace(t *testing.T) {
	f := newFakeGitHub(t)
	p := newTestPublisher(t, f)
	tag := "go-1.22@1.0.0"
	assets := testAssets(t, 2, tag)
	data, _ := os.ReadFile(assets[0].Path)
	// another run uploads the same file just before ours
	f.beforeUpload = func(rel *fakeRelease, name string) {
		if name == assets[0].Name {
			f.beforeUpload = nil
			rel.Assets = append(rel.Assets, &fakeAsset{ID: 999, Name: name, State: "uploaded", Data: data})
		}
	}
	got, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, f, tag, assets, got)
	if got[0].State != StateUnchanged {
		t.Fatalf("state %s after a 422 already_exists for an identical asset, want unchanged", got[0].State)
	}
}

func TestGitHubPublishDetectsCorruptUpload(t *testing.T) {
	for _, noDigest := range []bool{false, true} {
		t.Run(fmt.Sprintf("noDigest=%v", noDigest), func(t *testing.T) {
			f := newFakeGitHub(t)
			f.noDigest = noDigest
			p := newTestPublisher(t, f)
			tag := "ruby-3@3.0.0"
			assets := testAssets(t, 2, tag)
			f.corruptUpload = assets[1].Name
			_, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: assets})
			if err == nil || !strings.Contains(err.Error(), "does not match") {
				t.Fatalf("err = %v, want a verification failure", err)
			}
			if rel := f.release(tag); rel == nil || !rel.Draft {
				t.Fatalf("release %+v must stay a draft after a failed verification", rel)
			}
		})
	}
}

func TestGitHubPublisherAuthAndConfig(t *testing.T) {
	f := newFakeGitHub(t)
	p, err := NewGitHubPublisher(GitHubOptions{Repo: "joblet/runtimes", Token: "wrong", APIURL: f.srv.URL + "/api/v3/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Publish(context.Background(), ReleaseRequest{Tag: "x@1.0.0", Assets: testAssets(t, 1, "x")})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want 401 Bad credentials", err)
	}
	for _, o := range []GitHubOptions{{Repo: "joblet", Token: "t"}, {Repo: "a/b/c", Token: "t"}, {Repo: "a/b"}, {Repo: "a/b", Token: "t", APIURL: "not a url"}} {
		if _, err := NewGitHubPublisher(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	p, err = NewGitHubPublisher(GitHubOptions{Repo: "joblet/runtimes", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.DownloadURL("python-3.11@1.3.4", "python-3.11-1.3.4.tar.gz"),
		"https://github.com/joblet/runtimes/releases/download/python-3.11@1.3.4/python-3.11-1.3.4.tar.gz"; got != want {
		t.Errorf("DownloadURL %s, want %s", got, want)
	}
	p, _ = NewGitHubPublisher(GitHubOptions{Repo: "joblet/runtimes", Token: "t", APIURL: "https://ghe.example.test/api/v3/"})
	if got := p.DownloadURL("a@1.0.0", "a.tar.gz"); got != "https://ghe.example.test/joblet/runtimes/releases/download/a@1.0.0/a.tar.gz" {
		t.Errorf("enterprise DownloadURL %s", got)
	}
}

func TestGitHubPublishCreateRace(t *testing.T) {
	f := newFakeGitHub(t)
	p := newTestPublisher(t, f)
	tag := "race@1.0.0"
	// another run creates the draft after our lookup, before our create
	inner := f.srv.Config.Handler
	raced := false
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/releases") && !raced {
			raced = true
			f.mu.Lock()
			f.releases = append(f.releases, &fakeRelease{ID: 500, Tag: tag, Draft: true})
			f.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	})
	assets := testAssets(t, 1, tag)
	got, err := p.Publish(context.Background(), ReleaseRequest{Tag: tag, Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, f, tag, assets, got)
	if rel := f.release(tag); rel.ID != 500 {
		t.Fatalf("published release %d, want the one the other run created", rel.ID)
	}
}
