package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// TestRegistryVerifyDirMirror: registry verify --artifacts on the tree the
// dir publisher wrote (PATH/<tag>/<file>, PATH/registry.json) re-hashes
// its files and says how many; a directory holding none of them fails
// instead of saying ok (issue 11).
func TestRegistryVerifyDirMirror(t *testing.T) {
	work, _ := releaseRepo(t)
	root := filepath.Join(work, "runtimes")
	artifacts, tree := t.TempDir(), t.TempDir()
	writeT(t, filepath.Join(tree, "runtime.yml"), "name: hello\nversion: \"1.2.0\"\ndescription: Hello\nlanguage: shell\n", 0o644)
	if _, err := archive.PackFile(context.Background(), tree, filepath.Join(artifacts, schema.ArtifactName("hello", "1.2.0", "debian-amd64")), archive.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	mirror := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()
	if code, out, errOut := rtoolRun(t, "publish", "--tag", "hello@1.2.0", "--root", root, "--artifacts", artifacts,
		"--publisher", "dir", "--dir", mirror, "--base-url", srv.URL); code != exitOK {
		t.Fatalf("publish: %d\n%s\n%s", code, out, errOut)
	}
	published, _ := filepath.Glob(filepath.Join(mirror, "hello@1.2.0", "*.tar.gz"))
	if len(published) == 0 {
		t.Fatalf("the dir publisher wrote no hello@1.2.0/*.tar.gz under %s", mirror)
	}
	tampered := t.TempDir()
	if err := os.CopyFS(tampered, os.DirFS(mirror)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tampered, "hello@1.2.0", filepath.Base(published[0])), []byte("swapped"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(mirror, "registry.json")
	tests := []struct {
		name           string
		dir            string
		code           int
		stdout, stderr string
	}{
		{"the mirror as published", mirror, exitOK, "ok: " + reg, "re-hashed 2 file(s); 0 named in the registry are not in " + mirror},
		{"a tampered file in the mirror", tampered, exitFindings, filepath.Join(tampered, "hello@1.2.0", filepath.Base(published[0])) + " has checksum", ""},
		{"a directory without the files", t.TempDir(), exitFindings, "holds none of the 2 files the registry's download URLs name, so nothing was re-hashed", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := rtoolRegistry(t, "verify", "--registry", reg, "--artifacts", tc.dir)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.code, tc.stdout, out, tc.stderr, errOut)
			}
		})
	}
}
