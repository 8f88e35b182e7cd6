package consumer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/joblet/rtool/schema"
)

// A registry fetched over http(s) may not make the installer read a local
// file, whatever the download_url's spelling.
func TestRemoteRegistryRefusesLocalFiles(t *testing.T) {
	// A valid artifact under names a local-path reading would find: in the
	// working directory (x:demo.tar.gz read as a relative path) and at an
	// absolute path.
	cwd := t.TempDir()
	t.Chdir(cwd)
	st := pack(t, simpleTree(t, "demo", "1.0.0"), cwd, "x:demo.tar.gz")
	abs := filepath.Join(cwd, "x:demo.tar.gz")
	for _, ref := range []string{
		"x:demo.tar.gz",
		"X:demo.tar.gz",
		"file://" + abs,
		"FILE://" + abs,
		"file:" + abs,
		abs,
		"/etc/passwd",
		"file:///etc/passwd",
		"//127.0.0.1" + abs,
		"ftp://127.0.0.1/demo.tar.gz",
		"data:application/gzip;base64,AAAA",
	} {
		t.Run(ref, func(t *testing.T) {
			dir := t.TempDir()
			reg := newRegistry()
			reg.Runtimes["demo"] = map[string]*schema.RegistryEntry{"1.0.0": artifactEntry("1.0.0", ref, plat, st)}
			writeRegistry(t, filepath.Join(dir, "registry.json"), reg)
			srv := serveDir(t, dir, nil)
			root := filepath.Join(t.TempDir(), "rt")
			_, err := Install(context.Background(), "demo@1.0.0", InstallOptions{
				Root: root, Platform: plat, Registries: []Source{{Location: srv.URL + "/"}}, Retry: quickRetry(),
			})
			if err == nil {
				t.Fatalf("download_url %q from a remote registry was installed", ref)
			}
			// Refused when the registry is read (registrygen.Check, as
			// registry verify does), at the value's line and column.
			for _, want := range []string{`.runtimes.demo["1.0.0"].download_url`, srv.URL + "/registry.json:", ref} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if got := rootEntries(t, root); len(got) != 0 {
				t.Errorf("left %v", got)
			}
		})
	}
}

func TestResolveURLSchemes(t *testing.T) {
	remote := &Loaded{Where: "https://127.0.0.1:1/r/registry.json", IsURL: true}
	local := &Loaded{Where: "/srv/reg/registry.json"}
	tests := []struct {
		l    *Loaded
		ref  string
		want string // "" = refused
	}{
		{remote, "a/b.tar.gz", "https://127.0.0.1:1/r/a/b.tar.gz"},
		{remote, "../up.tar.gz", "https://127.0.0.1:1/up.tar.gz"},
		{remote, "HTTPS://127.0.0.1:2/x.tar.gz", "https://127.0.0.1:2/x.tar.gz"},
		{remote, "http://127.0.0.1:2/x.tar.gz", "http://127.0.0.1:2/x.tar.gz"},
		{remote, "x:demo.tar.gz", ""},
		{remote, "file:///etc/passwd", ""},
		{remote, "/etc/passwd", ""},
		{remote, "//other.invalid/x.tar.gz", ""},
		{remote, "https:///no-host.tar.gz", ""},
		{remote, "%zz", ""},
		{local, "x:demo.tar.gz", "/srv/reg/x:demo.tar.gz"},
		{local, "FILE:///abs/x.tar.gz", "/abs/x.tar.gz"},
		{local, "file://localhost/abs/x.tar.gz", "/abs/x.tar.gz"},
		{local, "file://host/abs/x.tar.gz", ""},
		{local, "ftp://127.0.0.1/x.tar.gz", ""},
		{local, "HTTP://127.0.0.1/x.tar.gz", "http://127.0.0.1/x.tar.gz"},
	}
	for _, tt := range tests {
		got, err := tt.l.resolveURL(tt.ref)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("resolveURL(%s, %q) = %q, %v; want %q", tt.l.Where, tt.ref, got, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.ref) {
			t.Errorf("resolveURL(%q): error %q does not name the URL", tt.ref, err)
		}
	}
}

// redirectFixture serves a registry whose artifact URL is /art; redirect
// answers /art (and anything else it handles) and counts the requests.
func redirectFixture(t *testing.T, tlsServer bool, redirect func(w http.ResponseWriter, r *http.Request, base string) bool) (root string, o InstallOptions, hits *atomic.Int64, srv *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	st := pack(t, simpleTree(t, "demo", "1.0.0"), dir, "real.tar.gz")
	reg := newRegistry()
	reg.Runtimes["demo"] = map[string]*schema.RegistryEntry{"1.0.0": artifactEntry("1.0.0", "art", plat, st)}
	writeRegistry(t, filepath.Join(dir, "registry.json"), reg)
	hits = &atomic.Int64{}
	files := http.FileServer(http.Dir(dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/registry.json" {
			hits.Add(1)
		}
		if redirect(w, r, srv.URL) {
			return
		}
		files.ServeHTTP(w, r)
	})
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	root = filepath.Join(t.TempDir(), "rt")
	o = InstallOptions{Root: root, Platform: plat, Registries: []Source{{Location: srv.URL + "/"}}, Retry: quickRetry(),
		Sources: Sources{Transport: srv.Client().Transport}}
	return root, o, hits, srv
}

func TestArtifactRedirectPolicy(t *testing.T) {
	plain := serveDir(t, t.TempDir(), nil) // a plain http server for the downgrade
	tests := []struct {
		name     string
		tls      bool
		redirect func(w http.ResponseWriter, r *http.Request, base string) bool
		want     string // "" = installs
		wantHits int64
	}{
		{"to file://", false, func(w http.ResponseWriter, r *http.Request, base string) bool {
			if r.URL.Path == "/art" {
				w.Header().Set("Location", "file:///etc/passwd")
				w.WriteHeader(http.StatusFound)
				return true
			}
			return false
		}, `the "file" scheme is not allowed`, 1},
		{"loop", false, func(w http.ResponseWriter, r *http.Request, base string) bool {
			switch r.URL.Path {
			case "/art":
				http.Redirect(w, r, "/loop", http.StatusFound)
			case "/loop":
				http.Redirect(w, r, "/art", http.StatusFound)
			default:
				return false
			}
			return true
		}, "redirect loop", 2},
		{"endless chain", false, func(w http.ResponseWriter, r *http.Request, base string) bool {
			if r.URL.Path == "/art" || strings.HasPrefix(r.URL.Path, "/hop") {
				http.Redirect(w, r, "/hop"+r.URL.Path, http.StatusFound)
				return true
			}
			return false
		}, "more than 10 redirects", 11},
		{"https to http", true, func(w http.ResponseWriter, r *http.Request, base string) bool {
			if r.URL.Path == "/art" {
				http.Redirect(w, r, plain.URL+"/real.tar.gz", http.StatusFound)
				return true
			}
			return false
		}, "drops from https to plain http", 1},
		{"https to https", true, func(w http.ResponseWriter, r *http.Request, base string) bool {
			if r.URL.Path == "/art" {
				http.Redirect(w, r, base+"/real.tar.gz", http.StatusFound)
				return true
			}
			return false
		}, "", 2},
		{"http to http, 10 hops", false, func(w http.ResponseWriter, r *http.Request, base string) bool {
			if r.URL.Path == "/art" || strings.HasPrefix(r.URL.Path, "/hop") && len(r.URL.Path) < 4*10 {
				http.Redirect(w, r, "/hop"+r.URL.Path, http.StatusFound)
				return true
			}
			if strings.HasPrefix(r.URL.Path, "/hop") {
				http.Redirect(w, r, "/real.tar.gz", http.StatusFound)
				return true
			}
			return false
		}, "", 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, o, hits, _ := redirectFixture(t, tt.tls, tt.redirect)
			plainBefore := plain.hits.Load()
			got, err := Install(context.Background(), "demo@1.0.0", o)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := VerifyTree(got.Dir, "demo", "1.0.0"); err != nil {
					t.Error(err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "refused") {
					t.Fatalf("Install = %v; want a refusal saying %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "attempts") {
					t.Errorf("a refused redirect was retried: %v", err)
				}
				if got := rootEntries(t, root); len(got) != 0 {
					t.Errorf("left %v", got)
				}
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("the server saw %d artifact requests, want %d (a refused redirect is not retried)", n, tt.wantHits)
			}
			if n := plain.hits.Load() - plainBefore; n != 0 {
				t.Errorf("the plain http server was asked %d times after an https start", n)
			}
		})
	}
}

// The registry fetch follows the same redirect policy and does not retry a
// refused redirect.
func TestRegistryRedirectPolicy(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/file/registry.json":
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusMovedPermanently)
		case "/down/registry.json":
			http.Redirect(w, r, "http://127.0.0.1:1/registry.json", http.StatusFound)
		}
	}))
	defer srv.Close()
	s := Sources{Transport: srv.Client().Transport, Retry: quickRetry()}
	for path, want := range map[string]string{"/file/": `"file" scheme`, "/down/": "drops from https to plain http"} {
		hits.Store(0)
		_, err := s.Fetch(context.Background(), Source{Location: srv.URL + path})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+path+"registry.json") {
			t.Errorf("%s: Fetch = %v; want a refusal naming the registry and saying %q", path, err, want)
		}
		if hits.Load() != 1 {
			t.Errorf("%s: %d requests; a refused redirect must not be retried", path, hits.Load())
		}
	}
}
