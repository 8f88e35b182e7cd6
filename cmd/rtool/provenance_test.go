package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/provenance/provenancetest"
	"github.com/joblet/rtool/schema"
)

// rtool runtime install verifies the bundle the registry names, with the
// flags before or after the spec; registry, artifact and bundle are served
// on 127.0.0.1.
func TestInstallProvenanceFlags(t *testing.T) {
	ss, err := provenancetest.New()
	if err != nil {
		t.Fatal(err)
	}
	js, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	trusted := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(trusted, js, 0o644)

	dir := t.TempDir()
	localRegistry(t, dir, "1.0.0", "1.1.0", "1.2.0")
	reg, err := schema.ParseRegistry(mustRead(t, filepath.Join(dir, "registry.json")))
	if err != nil {
		t.Fatal(err)
	}
	// 1.0.0 is signed at its tag, 1.1.0 at another tag, 1.2.0 not at all.
	for v, ref := range map[string]string{"1.0.0": "refs/tags/demo@1.0.0", "1.1.0": "refs/tags/demo@1.0.9"} {
		a := reg.Runtimes["demo"][v].Artifacts["debian-amd64"]
		data, err := ss.Bundle(provenancetest.Signing{Repository: "joblet/rtool", Workflow: ".github/workflows/release-runtime.yml", Ref: ref,
			Subjects: []provenancetest.Subject{{Name: a.DownloadURL, SHA256: strings.TrimPrefix(a.Checksum, "sha256:")}}})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, a.DownloadURL+".sigstore.json"), data, 0o644)
		sum := sha256.Sum256(data)
		a.Attestation = &schema.Artifact{DownloadURL: a.DownloadURL + ".sigstore.json", Checksum: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
	}
	data, err := schema.EncodeRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "registry.json"), data, 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	root := filepath.Join(t.TempDir(), "rt")
	common := []string{"--registry", srv.URL + "/registry.json", "--root", root, "--platform", "debian-amd64", "--trusted-root", trusted}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"verified, flags before the spec",
			append([]string{"runtime", "install", "--require-provenance", "--provenance-repository", "joblet/rtool"}, append(common, "demo@1.0.0")...),
			0, filepath.Join(root, "demo", "1.0.0"), "rtool: provenance verified: sha256:"},
		{"json", append(append([]string{"runtime", "install", "demo@1.0.0", "--force", "--json"}, common...), "--provenance-repository", "joblet/rtool"),
			0, `"status": "verified"`, ""},
		{"wrong tag", append(append([]string{"runtime", "install", "demo@1.1.0"}, common...), "--provenance-repository", "joblet/rtool"),
			1, "", "tag does not match: the workflow did not run for the release tag demo@1.1.0 (expected refs/tags/demo@1.1.0, bundle has refs/tags/demo@1.0.9)"},
		{"wrong repository", append(append([]string{"runtime", "install", "demo@1.0.0", "--force"}, common...), "--provenance-repository", "joblet/other"),
			1, "", "repository does not match"},
		{"missing, required", append(append([]string{"runtime", "install", "demo@1.2.0", "--require-provenance"}, common...), "--provenance-repository", "joblet/rtool"),
			1, "", "has no provenance bundle"},
		{"missing, warned", append(append([]string{"runtime", "install", "demo@1.2.0"}, common...), "--provenance-repository", "joblet/rtool"),
			0, "", "rtool: warning: demo@1.2.0 for debian-amd64 in registry " + srv.URL + "/registry.json has no provenance bundle"},
		{"no repository for a plain URL", append([]string{"runtime", "install", "demo@1.0.0", "--force"}, common...),
			1, "", "pass --provenance-repository OWNER/REPO"},
		{"bad repository flag", append(append([]string{"runtime", "install", "demo@1.0.0"}, common...), "--provenance-repository", "joblet"),
			2, "", "--provenance-repository: repository \"joblet\" is not OWNER/REPO"},
		{"bad trusted root", []string{"runtime", "install", "demo@1.0.0", "--registry", dir, "--root", root, "--trusted-root", filepath.Join(dir, "registry.json")},
			2, "", "--trusted-root: trusted root " + filepath.Join(dir, "registry.json") + ": not a Sigstore trusted_root.json"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"rtool"}, tt.args...), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				tt.name, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
		if tt.name == "json" {
			var got struct {
				Provenance struct {
					Status   string
					Verified struct{ Repository, Ref, Digest string }
				}
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got.Provenance.Verified.Ref != "refs/tags/demo@1.0.0" {
				t.Errorf("json: %+v (%v)", got, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "demo", "1.1.0")); !os.IsNotExist(err) {
		t.Errorf("demo@1.1.0 was installed: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
