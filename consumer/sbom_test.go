package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/sbom"
)

// sbomRegistry writes into dir an artifact, its SBOM (describing
// describedSHA, normally the artifact's own) and a registry.json naming
// both; sbomChecksum overrides the SBOM's recorded checksum when set.
func sbomRegistry(t *testing.T, dir string, withSBOM bool, describedSHA func(artifactSHA string) string, sbomChecksum string) {
	t.Helper()
	artifact := []byte("not really a tarball; resolve does not read it")
	asum := sha256.Sum256(artifact)
	aSHA := hex.EncodeToString(asum[:])
	name := "demo-1.0.0-debian-amd64.tar.gz"
	if err := os.WriteFile(filepath.Join(dir, name), artifact, 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := sbom.Build(sbom.Spec{Artifact: name, SHA256: describedSHA(aSHA), Name: "demo", Version: "1.0.0", Platform: "debian-amd64",
		Created: time.Unix(0, 0), Tree: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := sbom.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+sbom.Suffix), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ssum := sha256.Sum256(data)
	if sbomChecksum == "" {
		sbomChecksum = "sha256:" + hex.EncodeToString(ssum[:])
	}
	sbomKey := ""
	if withSBOM {
		sbomKey = fmt.Sprintf(`, "sbom": {"download_url": %q, "checksum": %q, "size": %d}`, name+sbom.Suffix, sbomChecksum, len(data))
	}
	reg := fmt.Sprintf(`{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "runtimes": {"demo": {"1.0.0": {
  "version": "1.0.0", "description": "demo", "download_url": %[1]q, "checksum": "sha256:%[2]s", "size": %[3]d,
  "platforms": ["debian-amd64"], "artifacts": {"debian-amd64": {"download_url": %[1]q, "checksum": "sha256:%[2]s", "size": %[3]d%[4]s}}}}}}`,
		name, aSHA, len(artifact), sbomKey)
	if err := os.WriteFile(filepath.Join(dir, "registry.json"), []byte(reg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFetchSBOM(t *testing.T) {
	own := func(sha string) string { return sha }
	other := func(string) string { return strings.Repeat("0", 64) }
	tests := []struct {
		name         string
		withSBOM     bool
		described    func(string) string
		sbomChecksum string
		overHTTP     bool
		want         string // "" ok, "none" no SBOM, else an error substring
	}{
		{"local registry", true, own, "", false, ""},
		{"over http on 127.0.0.1", true, own, "", true, ""},
		{"no sbom key", false, own, "", false, "none"},
		{"checksum differs", true, own, "sha256:" + strings.Repeat("1", 64), false, "the registry says sha256:1111"},
		{"describes another artifact", true, other, "", false, "describes an artifact with sha256 0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sbomRegistry(t, dir, tt.withSBOM, tt.described, tt.sbomChecksum)
			loc := dir
			if tt.overHTTP {
				srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
				defer srv.Close()
				loc = srv.URL + "/registry.json"
			}
			s := Sources{}
			ctx := context.Background()
			l, err := s.Fetch(ctx, Source{Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := ParseSpec("demo@1.0.0")
			r, err := Resolve([]*Loaded{l}, spec, "debian-amd64")
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.FetchSBOM(ctx, r)
			switch tt.want {
			case "":
				if err != nil {
					t.Fatal(err)
				}
				if got == nil || got.Summary.Subject.SHA256 != strings.TrimPrefix(r.Checksum, "sha256:") || !strings.HasSuffix(got.URL, ".spdx.json") {
					t.Fatalf("got %+v", got)
				}
			case "none":
				if err != nil || got != nil {
					t.Fatalf("got %+v, %v; want nothing", got, err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "SBOM of demo@1.0.0 for debian-amd64") {
					t.Fatalf("error = %v, want it to name the SBOM and contain %q", err, tt.want)
				}
			}
		})
	}
}
