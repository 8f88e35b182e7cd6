package release

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestAsset(t *testing.T, dir, name, content string) Asset {
	t.Helper()
	path := filepath.Join(dir, name)
	writeFile(t, path, content)
	a, err := NewAsset(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestDirPublisher(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer srv.Close()
	p := &DirPublisher{Dir: root, BaseURL: srv.URL + "/"}
	src := t.TempDir()
	a := newTestAsset(t, src, "node-18-1.0.0-debian-amd64.tar.gz", "artifact bytes")
	b := newTestAsset(t, src, "node-18-1.0.0.tar.gz", "source bytes")
	req := ReleaseRequest{Tag: "node-18@1.0.0", Assets: []Asset{a, b}}

	got, err := p.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].State != StateUploaded || got[1].State != StateUploaded {
		t.Fatalf("first publish: %+v", got)
	}
	wantURL := srv.URL + "/node-18@1.0.0/node-18-1.0.0-debian-amd64.tar.gz"
	if got[0].URL != wantURL {
		t.Fatalf("url %s, want %s", got[0].URL, wantURL)
	}
	if code, body := httpGet(t, got[0].URL); code != 200 || body != "artifact bytes" {
		t.Fatalf("GET %s: %d %q", got[0].URL, code, body)
	}

	// a re-run finds identical files and leaves them alone
	st, _ := os.Stat(filepath.Join(root, "node-18@1.0.0", a.Name))
	got, err = p.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].State != StateUnchanged || got[1].State != StateUnchanged {
		t.Fatalf("re-run: %+v", got)
	}
	st2, _ := os.Stat(filepath.Join(root, "node-18@1.0.0", a.Name))
	if !os.SameFile(st, st2) {
		t.Fatal("re-run rewrote an identical file")
	}

	// a differing file is refused without force, and nothing is written
	changed := newTestAsset(t, t.TempDir(), a.Name, "rebuilt bytes")
	c := newTestAsset(t, src, "node-18-1.0.0-debian-arm64.tar.gz", "arm bytes")
	_, err = p.Publish(ctx, ReleaseRequest{Tag: req.Tag, Assets: []Asset{c, changed}})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("conflict: err = %v, want refusal naming --force", err)
	}
	if _, err := os.Stat(filepath.Join(root, req.Tag, c.Name)); !os.IsNotExist(err) {
		t.Fatalf("a refused publish wrote %s: %v", c.Name, err)
	}
	if _, body := httpGet(t, wantURL); body != "artifact bytes" {
		t.Fatalf("refused publish replaced the file: %q", body)
	}
	got, err = p.Publish(ctx, ReleaseRequest{Tag: req.Tag, Assets: []Asset{changed}, Force: true})
	if err != nil || got[0].State != StateReplaced {
		t.Fatalf("force: %+v, %v", got, err)
	}
	if _, body := httpGet(t, wantURL); body != "rebuilt bytes" {
		t.Fatalf("after force: %q", body)
	}
	// no temp files are left behind
	entries, _ := os.ReadDir(filepath.Join(root, req.Tag))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover %s", e.Name())
		}
	}
}

func TestDirPublisherRejectsBadNames(t *testing.T) {
	p := &DirPublisher{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1"}
	a := newTestAsset(t, t.TempDir(), "x.tar.gz", "x")
	for _, tc := range []struct{ tag, name string }{{"../up@1.0.0", "x.tar.gz"}, {"x@1.0.0", "../x.tar.gz"}, {"x@1.0.0", ".."}} {
		a.Name = tc.name
		if _, err := p.Publish(context.Background(), ReleaseRequest{Tag: tc.tag, Assets: []Asset{a}}); err == nil {
			t.Errorf("tag %q name %q: accepted", tc.tag, tc.name)
		}
	}
	if _, err := (&DirPublisher{Dir: t.TempDir()}).Publish(context.Background(), ReleaseRequest{Tag: "x@1.0.0"}); err == nil {
		t.Error("publisher without a base URL accepted")
	}
}
