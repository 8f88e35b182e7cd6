package consumer

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	regFile := filepath.Join(dir, "registry.json")
	os.WriteFile(regFile, []byte(`{"version":"1","updated_at":"","runtimes":{}}`), 0o644)
	s := Sources{GitHubRawBase: "http://127.0.0.1:9/raw"}
	tests := []struct {
		in, want string
		isURL    bool
		wantErr  string
	}{
		{"http://127.0.0.1:8080/reg/registry.json", "http://127.0.0.1:8080/reg/registry.json", true, ""},
		{"http://127.0.0.1:8080/reg/other.json", "http://127.0.0.1:8080/reg/other.json", true, ""},
		{"http://127.0.0.1:8080/reg/", "http://127.0.0.1:8080/reg/registry.json", true, ""},
		{"https://127.0.0.1/reg", "https://127.0.0.1/reg/registry.json", true, ""},
		{"ehsaniara/joblet-runtimes", "http://127.0.0.1:9/raw/ehsaniara/joblet-runtimes/main/registry.json", true, ""},
		{"https://github.com/mycompany/joblet-runtimes", "http://127.0.0.1:9/raw/mycompany/joblet-runtimes/main/registry.json", true, ""},
		{"https://github.com/mycompany/joblet-runtimes.git", "http://127.0.0.1:9/raw/mycompany/joblet-runtimes/main/registry.json", true, ""},
		{regFile, regFile, false, ""},
		{dir, regFile, false, ""},
		{"file://" + dir, regFile, false, ""},
		{filepath.Join(dir, "missing.json"), "", false, "no such file"},
		{"", "", false, "empty"},
	}
	for _, tt := range tests {
		got, isURL, err := s.Locate(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Locate(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || isURL != tt.isURL {
			t.Errorf("Locate(%q) = %q, %v, %v; want %q, %v", tt.in, got, isURL, err, tt.want, tt.isURL)
		}
	}
	// An existing relative path that looks like owner/repo is a path.
	t.Chdir(dir)
	os.MkdirAll("acme/runtimes", 0o755)
	os.WriteFile("acme/runtimes/registry.json", []byte("{}"), 0o644)
	got, isURL, err := s.Locate("acme/runtimes")
	if err != nil || isURL || got != filepath.Join(dir, "acme/runtimes/registry.json") {
		t.Errorf("Locate(existing acme/runtimes) = %q, %v, %v", got, isURL, err)
	}
}

func TestConfigAndPickSources(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(`runtimes:
  registries:
    - name: company
      url: https://github.com/mycompany/joblet-runtimes
      enabled: true
    - name: off
      url: acme/off
      enabled: false
    - name: local
      url: /srv/registry.json
`), 0o644)
	srcs, err := PickSources(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[0].Name != "company" || srcs[1].Location != "/srv/registry.json" {
		t.Errorf("PickSources(config) = %+v", srcs)
	}
	srcs, err = PickSources([]string{"a/b", "/x"}, cfg)
	if err != nil || len(srcs) != 2 || srcs[0].Location != "a/b" {
		t.Errorf("--registry must win over the config: %+v, %v", srcs, err)
	}
	t.Setenv("HOME", dir) // no ~/.rnx/config.yaml there
	srcs, err = PickSources(nil, "")
	if err != nil || len(srcs) != 1 || srcs[0].Location != DefaultRegistry {
		t.Errorf("default = %+v, %v", srcs, err)
	}
	os.MkdirAll(filepath.Join(dir, ".rnx"), 0o755)
	os.WriteFile(filepath.Join(dir, ".rnx", "config.yaml"), []byte("runtimes:\n  registries:\n    - name: home\n      url: home/reg\n"), 0o644)
	srcs, err = PickSources(nil, "")
	if err != nil || len(srcs) != 1 || srcs[0].Name != "home" {
		t.Errorf("~/.rnx/config.yaml = %+v, %v", srcs, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("runtimes:\n  registries:\n    - name: nourl\n"), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "registries[0]") {
		t.Errorf("config without url: %v", err)
	}
}

func TestFetchOverHTTPAndOwnerRepo(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "acme/runtimes/main"), 0o755)
	upstream, err := os.ReadFile("../testdata/joblet-runtimes-upstream/registry.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "acme/runtimes/main/registry.json"), upstream, 0o644)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"version": 1}`), 0o644)
	srv := serveDir(t, dir, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if r.URL.Path == "/down/registry.json" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	s := Sources{GitHubRawBase: srv.URL, Retry: quickRetry()}
	ctx := context.Background()
	l, err := s.Fetch(ctx, Source{Name: "acme", Location: "acme/runtimes"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Registry.Runtimes["python-3.11-ml"]; !ok || !l.IsURL {
		t.Errorf("owner/repo registry lacks python-3.11-ml: %+v", l)
	}
	if _, err := s.Fetch(ctx, Source{Location: srv.URL + "/bad.json"}); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad registry: %v", err)
	}
	if _, err := s.Fetch(ctx, Source{Location: srv.URL + "/missing/"}); err == nil || !strings.Contains(err.Error(), "failed to fetch registry") || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing registry: %v", err)
	}
	var warned []string
	regs, err := s.FetchAll(ctx, []Source{{Location: srv.URL + "/down/"}, {Location: "acme/runtimes"}}, func(m string) { warned = append(warned, m) })
	if err != nil || len(regs) != 1 || len(warned) != 1 || !strings.Contains(warned[0], "503") {
		t.Errorf("FetchAll with one registry down = %d registries, %v, warnings %q", len(regs), err, warned)
	}
	warned = nil
	if _, err := s.FetchAll(ctx, []Source{{Location: srv.URL + "/down/"}}, func(m string) { warned = append(warned, m) }); err == nil || len(warned) != 0 {
		t.Errorf("FetchAll with every registry down = %v, warnings %q; want one error and no warning repeating it", err, warned)
	}
}

func TestResolveURL(t *testing.T) {
	remote := &Loaded{Where: "http://127.0.0.1:1/r/registry.json", IsURL: true}
	local := &Loaded{Where: "/srv/reg/registry.json"}
	tests := []struct {
		l       *Loaded
		ref     string
		want    string
		wantErr bool
	}{
		{remote, "a/b.tar.gz", "http://127.0.0.1:1/r/a/b.tar.gz", false},
		{remote, "https://example.invalid/x.tar.gz", "https://example.invalid/x.tar.gz", false},
		{remote, "/etc/shadow", "", true},
		{remote, "file:///etc/shadow", "", true},
		{local, "x.tar.gz", "/srv/reg/x.tar.gz", false},
		{local, "/abs/x.tar.gz", "/abs/x.tar.gz", false},
		{local, "file:///abs/x.tar.gz", "/abs/x.tar.gz", false},
		{local, "", "", true},
	}
	for _, tt := range tests {
		got, err := tt.l.resolveURL(tt.ref)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("resolveURL(%s, %q) = %q, %v; want %q", tt.l.Where, tt.ref, got, err, tt.want)
		}
	}
}
