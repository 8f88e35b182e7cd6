package release

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/intoto"
	"github.com/joblet/rtool/internal/sbom"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// attachTo writes beside artifact what a build and the release workflow
// put there: its SBOM and provenance statement (about sha, normally the
// artifact's own) and, with bundle, a Sigstore bundle whose DSSE envelope
// carries a statement about sha (unsigned: publish does not verify
// signatures, the consumer does).
func attachTo(t *testing.T, artifact, sha string, bundle bool) {
	t.Helper()
	doc, err := sbom.Build(sbom.Spec{Artifact: filepath.Base(artifact), SHA256: sha, Name: "node-18", Version: "1.0.0",
		Platform: "ubuntu-amd64", Created: time.Unix(0, 0), Tree: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := sbom.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, artifact+sbom.Suffix, string(data))
	st, err := intoto.Statement(intoto.Inputs{Artifact: filepath.Base(artifact), SHA256: sha, Runtime: "node-18", Version: "1.0.0",
		Platform: "ubuntu-amd64", RuntimeDir: "runtimes/node-18", ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := intoto.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, artifact+intoto.Suffix, string(stmt))
	if bundle {
		writeFile(t, artifact+intoto.BundleSuffix, `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {},
  "dsseEnvelope": {"payload": "`+base64.StdEncoding.EncodeToString(stmt)+`", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "AAAA"}]}}`)
	}
}

func artifactSHA(t *testing.T, path string) string {
	t.Helper()
	ef, err := registrygen.HashFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(ef.Checksum, schema.ChecksumPrefix)
}

// publish puts each artifact's SBOM, provenance and Sigstore bundle beside
// it and records the SBOM and the bundle in its registry entry.
func TestPublishAttachments(t *testing.T) {
	r := newPublishRepo(t)
	platforms := []string{"ubuntu-amd64", "ubuntu-arm64"}
	addRuntime(t, r.Work, "node-18", "1.0.0", platforms...)
	artifacts := buildArtifacts(t, "node-18", "1.0.0", platforms...)
	amd := filepath.Join(artifacts, schema.ArtifactName("node-18", "1.0.0", "ubuntu-amd64"))
	arm := filepath.Join(artifacts, schema.ArtifactName("node-18", "1.0.0", "ubuntu-arm64"))
	attachTo(t, amd, artifactSHA(t, amd), true)
	attachTo(t, arm, artifactSHA(t, arm), false) // built, not attested (a local publish)
	pub, _ := dirPublisher(t)
	var log strings.Builder
	res, err := Publish(context.Background(), PublishOptions{Tag: "node-18@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: artifacts, Publisher: pub, Repo: r.Work, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range res.Assets {
		names = append(names, a.Name)
	}
	want := []string{"node-18-1.0.0.tar.gz",
		"node-18-1.0.0-ubuntu-amd64.tar.gz", "node-18-1.0.0-ubuntu-amd64.tar.gz.spdx.json", "node-18-1.0.0-ubuntu-amd64.tar.gz.intoto.json", "node-18-1.0.0-ubuntu-amd64.tar.gz.sigstore.json",
		"node-18-1.0.0-ubuntu-arm64.tar.gz", "node-18-1.0.0-ubuntu-arm64.tar.gz.spdx.json", "node-18-1.0.0-ubuntu-arm64.tar.gz.intoto.json"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("assets %q\nwant   %q", names, want)
	}
	if !strings.Contains(log.String(), "node-18-1.0.0-ubuntu-arm64.tar.gz has no Sigstore bundle (.sigstore.json) beside it") {
		t.Errorf("no note about the missing bundle:\n%s", log.String())
	}
	e := remoteRegistry(t, r).Runtimes["node-18"]["1.0.0"]
	tests := []struct {
		platform, file string
		got            *schema.Artifact
	}{
		{"ubuntu-amd64", amd + sbom.Suffix, e.Artifacts["ubuntu-amd64"].SBOM},
		{"ubuntu-amd64", amd + intoto.BundleSuffix, e.Artifacts["ubuntu-amd64"].Attestation},
		{"ubuntu-arm64", arm + sbom.Suffix, e.Artifacts["ubuntu-arm64"].SBOM},
	}
	for _, tt := range tests {
		local, err := registrygen.HashFile(context.Background(), tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if tt.got == nil || tt.got.Checksum != local.Checksum || tt.got.Size != local.Size ||
			tt.got.DownloadURL != pub.DownloadURL("node-18@1.0.0", filepath.Base(tt.file)) {
			t.Fatalf("%s: registry names %+v for %s", tt.platform, tt.got, filepath.Base(tt.file))
		}
		data, _ := os.ReadFile(tt.file)
		if code, body := httpGet(t, tt.got.DownloadURL); code != 200 || body != string(data) {
			t.Fatalf("GET %s: %d", tt.got.DownloadURL, code)
		}
	}
	if e.Artifacts["ubuntu-arm64"].Attestation != nil {
		t.Errorf("arm64 has no bundle, yet the registry names %+v", e.Artifacts["ubuntu-arm64"].Attestation)
	}
	// the committed view carries them too (a consumer reading the view
	// finds the same bundle)
	view, err := registrygen.Parse([]byte(remoteFile(t, r, "platforms/ubuntu-amd64/registry.json")), "view")
	if err != nil {
		t.Fatal(err)
	}
	if va := view.Runtimes["node-18"]["1.0.0"].Artifacts["ubuntu-amd64"]; va.Attestation == nil || va.SBOM == nil {
		t.Errorf("the view's artifact lacks sbom or attestation: %+v", va)
	}
}

// A file beside an artifact that describes another one is refused before
// anything is published.
func TestPublishRefusesForeignAttachments(t *testing.T) {
	other := strings.Repeat("0", 64)
	tests := []struct {
		name  string
		setup func(t *testing.T, artifact, sha string)
		want  string
	}{
		{"sbom of another artifact", func(t *testing.T, a, sha string) {
			attachTo(t, a, sha, true)
			attachTo(t, a+".x", other, false)
			os.Rename(a+".x"+sbom.Suffix, a+sbom.Suffix)
		}, ".spdx.json does not belong to node-18-1.0.0-ubuntu-amd64.tar.gz: SPDX document"},
		{"statement of another artifact", func(t *testing.T, a, sha string) {
			attachTo(t, a, sha, true)
			attachTo(t, a+".x", other, false)
			os.Rename(a+".x"+intoto.Suffix, a+intoto.Suffix)
		}, ".intoto.json does not belong to node-18-1.0.0-ubuntu-amd64.tar.gz: its subject is not"},
		{"bundle for another file", func(t *testing.T, a, sha string) {
			attachTo(t, a, sha, false)
			attachTo(t, a+".x", other, true)
			os.Rename(a+".x"+intoto.BundleSuffix, a+intoto.BundleSuffix)
		}, ".sigstore.json does not belong to node-18-1.0.0-ubuntu-amd64.tar.gz: the statement it signs has no subject with sha256"},
		{"not a bundle", func(t *testing.T, a, sha string) {
			attachTo(t, a, sha, false)
			writeFile(t, a+intoto.BundleSuffix, `{"hello": "world"}`)
		}, "not a Sigstore bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newPublishRepo(t)
			addRuntime(t, r.Work, "node-18", "1.0.0", "ubuntu-amd64")
			artifacts := buildArtifacts(t, "node-18", "1.0.0", "ubuntu-amd64")
			a := filepath.Join(artifacts, schema.ArtifactName("node-18", "1.0.0", "ubuntu-amd64"))
			tt.setup(t, a, artifactSHA(t, a))
			pub, _ := dirPublisher(t)
			head := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main")
			_, err := Publish(context.Background(), PublishOptions{Tag: "node-18@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
				ArtifactsDir: artifacts, Publisher: pub, Repo: r.Work})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(pub.Dir); len(entries) != 0 {
				t.Errorf("something was published: %v", entries)
			}
			if mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main") != head {
				t.Error("a refused publish committed")
			}
		})
	}
}
