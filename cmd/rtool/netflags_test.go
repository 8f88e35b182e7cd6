package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// --stall-timeout and --attempts reach the download, before or after the
// spec; bad values are usage errors.
func TestRuntimeInstallNetworkFlags(t *testing.T) {
	dir := t.TempDir()
	localRegistry(t, dir, "1.0.0")
	files := http.FileServer(http.Dir(dir))
	var artifactHits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			artifactHits.Add(1)
			select { // never answers
			case <-r.Context().Done():
			case <-t.Context().Done():
			}
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	root := filepath.Join(t.TempDir(), "rt")
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		wantHits int64
	}{
		{"flags after the spec", []string{"runtime", "install", "demo", "--registry", srv.URL + "/", "--root", root, "--platform", "debian-amd64", "--stall-timeout", "1s", "--attempts", "2"},
			1, "giving up after 2 attempts", 2},
		{"flags before the spec", []string{"runtime", "install", "--stall-timeout", "1s", "--attempts", "1", "demo", "--registry", srv.URL + "/", "--root", root, "--platform", "debian-amd64"},
			1, "stalled while connecting or waiting for the response: no response within 1s (the limit --stall-timeout sets)", 1},
		{"zero stall timeout", []string{"runtime", "install", "demo", "--registry", srv.URL + "/", "--stall-timeout", "0s"}, 2, "--stall-timeout must be a positive duration", 0},
		{"zero attempts", []string{"runtime", "list", "--available", "--registry", srv.URL + "/", "--attempts", "0"}, 2, "--attempts must be at least 1", 0},
	}
	for _, tt := range tests {
		artifactHits.Store(0)
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(context.Background(), append([]string{"rtool"}, tt.args...), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) || artifactHits.Load() != tt.wantHits {
			t.Errorf("%s: exit %d after %s, %d artifact requests\nstderr: %s\nwant exit %d, %d requests, stderr with %q",
				tt.name, code, time.Since(start), artifactHits.Load(), stderr.String(), tt.code, tt.wantHits, tt.stderr)
		}
		if ents, _ := os.ReadDir(root); len(ents) > 1 {
			t.Errorf("%s: the root holds %d entries after a failed install", tt.name, len(ents))
		}
	}
}
