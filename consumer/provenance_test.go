package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/provenance"
	"github.com/joblet/rtool/internal/provenance/provenancetest"
	"github.com/joblet/rtool/schema"
)

// provFixture serves a registry on 127.0.0.1 as the owner/repo registry
// joblet/rtool (registry.json, artifacts and bundles under
// /joblet/rtool/main/), with bundles signed by a virtual Sigstore whose
// trusted root is in a file.
type provFixture struct {
	ss          *provenancetest.Sigstore
	trustedRoot string
	dir         string // the registry's directory
	srv         *faultyServer
	mu          sync.Mutex
	hits        map[string]int // request paths (base names) → count
}

const (
	provRepo     = "joblet/rtool"
	provWorkflow = ".github/workflows/release-runtime.yml"
)

func newProvFixture(t *testing.T) *provFixture {
	t.Helper()
	ss, err := provenancetest.New()
	if err != nil {
		t.Fatal(err)
	}
	js, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	f := &provFixture{ss: ss, trustedRoot: filepath.Join(t.TempDir(), "trusted_root.json"), hits: map[string]int{}}
	if err := os.WriteFile(f.trustedRoot, js, 0o644); err != nil {
		t.Fatal(err)
	}
	served := t.TempDir()
	f.dir = filepath.Join(served, "joblet", "rtool", "main")
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.srv = serveDir(t, served, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		f.mu.Lock()
		f.hits[path.Base(r.URL.Path)]++
		f.mu.Unlock()
		return false
	})
	return f
}

func (f *provFixture) hit(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[name]
}

// artifact packs demo@version (extra adds a file, for a different
// artifact of the same runtime) into the registry's directory.
func (f *provFixture) artifact(t *testing.T, file, version string, extra map[string]string) archive.Stats {
	t.Helper()
	dir := simpleTree(t, "demo", version)
	writeTree(t, dir, extra)
	return pack(t, dir, f.dir, file)
}

// bundle signs sg and writes it as file beside the registry; it returns
// the registry's record of it.
func (f *provFixture) bundle(t *testing.T, file string, sg provenancetest.Signing) *schema.Artifact {
	t.Helper()
	data, err := f.ss.Bundle(sg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, file), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return &schema.Artifact{DownloadURL: file, Checksum: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// release is the signing of demo@version's artifact st by this
// repository's release workflow.
func release(version string, st archive.Stats) provenancetest.Signing {
	return provenancetest.Signing{
		Repository: provRepo, Workflow: provWorkflow, Ref: "refs/tags/demo@" + version,
		Subjects: []provenancetest.Subject{{Name: "demo-" + version + "-" + plat + ".tar.gz", SHA256: st.SHA256}},
	}
}

func (f *provFixture) writeRegistry(t *testing.T, entries map[string]*schema.RegistryEntry) {
	t.Helper()
	reg := newRegistry()
	reg.Runtimes["demo"] = entries
	writeRegistry(t, filepath.Join(f.dir, "registry.json"), reg)
}

func (f *provFixture) options(root string, prov ProvenanceOptions) InstallOptions {
	if prov.TrustedRoot == "" {
		prov.TrustedRoot = f.trustedRoot
	}
	return InstallOptions{
		Root: root, Platform: plat, Retry: quickRetry(), Provenance: prov,
		Registries: []Source{{Name: provRepo, Location: provRepo}},
		Sources:    Sources{GitHubRawBase: f.srv.URL},
	}
}

// Install verifies the bundle before it downloads anything: the right
// identity installs, every wrong part is refused and named, and a refused
// artifact is never requested.
func TestInstallProvenance(t *testing.T) {
	const file = "demo-1.0.0-" + plat + ".tar.gz"
	tests := []struct {
		name string
		sign func(*provenancetest.Signing)
		want string // "" = installs; else in the error
	}{
		{name: "right identity"},
		{name: "wrong repository", sign: func(s *provenancetest.Signing) { s.Repository = "mallory/rtool" },
			want: "repository does not match: signed by another repository's workflow (expected joblet/rtool, bundle has mallory/rtool)"},
		{name: "wrong workflow", sign: func(s *provenancetest.Signing) { s.Workflow = ".github/workflows/validate.yml" },
			want: "workflow does not match: signed by another workflow of joblet/rtool (expected .github/workflows/release-runtime.yml or .github/workflows/release-all.yml, bundle has .github/workflows/validate.yml)"},
		{name: "bulk release", sign: func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/tags/runtimes-2026.11.27"
		}},
		{name: "bulk release of another platform", sign: func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/tags/runtimes-2026.11.27"
			s.Subjects[0].Name = "demo-1.0.0-debian-arm64.tar.gz"
		}, want: "tag does not match: the bulk release workflow (at refs/tags/runtimes-2026.11.27) attested this digest under another name than demo@1.0.0's artifact for debian-amd64"},
		{name: "wrong tag", sign: func(s *provenancetest.Signing) { s.Ref = "refs/tags/demo@0.9.0" },
			want: "tag does not match: the workflow did not run for the release tag demo@1.0.0 (expected refs/tags/demo@1.0.0, bundle has refs/tags/demo@0.9.0)"},
		{name: "wrong digest", sign: func(s *provenancetest.Signing) { s.Subjects[0].SHA256 = strings.Repeat("0", 64) },
			want: "digest does not match: the attestation is about another artifact than the registry's checksum names"},
		{name: "expired certificate", sign: func(s *provenancetest.Signing) { s.CertAt = time.Now().Add(-3 * time.Hour) },
			want: "certificate time does not match: the signing certificate had expired when the signature was made"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newProvFixture(t)
			st := f.artifact(t, file, "1.0.0", nil)
			sg := release("1.0.0", st)
			if tc.sign != nil {
				sg.Subjects = append([]provenancetest.Subject(nil), sg.Subjects...)
				tc.sign(&sg)
			}
			e := artifactEntry("1.0.0", file, plat, st)
			e.Artifacts[plat].Attestation = f.bundle(t, file+".sigstore.json", sg)
			f.writeRegistry(t, map[string]*schema.RegistryEntry{"1.0.0": e})
			root := filepath.Join(t.TempDir(), "rt")

			got, err := Install(context.Background(), "demo@1.0.0", f.options(root, ProvenanceOptions{Require: true}))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				p := got.Provenance
				if p == nil || p.Status != "verified" || p.Verified == nil || p.Verified.Repository != provRepo ||
					p.Verified.Ref != sg.Ref || p.Verified.Digest != "sha256:"+st.SHA256 ||
					p.Bundle != f.srv.URL+"/joblet/rtool/main/"+file+".sigstore.json" {
					t.Errorf("provenance %+v (verified %+v)", p, p.Verified)
				}
				if _, err := VerifyTree(got.Dir, "demo", "1.0.0"); err != nil {
					t.Error(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("installed; want %q", tc.want)
			}
			for _, w := range []string{"install demo-1.0.0", file + ".sigstore.json", tc.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			var me *provenance.MismatchError
			if !errors.As(err, &me) {
				t.Errorf("error is not a provenance mismatch: %T", err)
			}
			if n := f.hit(file); n != 0 {
				t.Errorf("the artifact was requested %d times before its bundle verified", n)
			}
			if left := rootEntries(t, root); len(left) != 0 {
				t.Errorf("left %v", left)
			}
		})
	}
}

// A registry changed after release cannot make nodes install another
// artifact: not one of its own (another build of the same version), not
// an older signed one (with its genuine bundle), not one behind the
// registry's checksum.
func TestInstallProvenanceTamperedRegistry(t *testing.T) {
	const file = "demo-1.0.0-" + plat + ".tar.gz"
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *provFixture, e *schema.RegistryEntry)
		want   string
		evil   string // the file the tampered registry points at, never downloaded
	}{
		{name: "another artifact with its checksum", evil: "evil.tar.gz",
			tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
				st := f.artifact(t, "evil.tar.gz", "1.0.0", map[string]string{"isolated/data/backdoor.sh": "#!/bin/sh\n"})
				a := e.Artifacts[plat]
				a.DownloadURL, a.Checksum, a.Size, a.UnpackedSize, a.Entries = "evil.tar.gz", "sha256:"+st.SHA256, st.Size, st.UnpackedSize, st.Entries
				e.DownloadURL, e.Checksum, e.Size = a.DownloadURL, a.Checksum, a.Size
			},
			want: "digest does not match"},
		{name: "an older release with its genuine bundle", evil: "demo-0.9.0-" + plat + ".tar.gz",
			tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
				old := "demo-0.9.0-" + plat + ".tar.gz"
				st := f.artifact(t, old, "0.9.0", nil)
				a := e.Artifacts[plat]
				a.DownloadURL, a.Checksum, a.Size, a.UnpackedSize, a.Entries = old, "sha256:"+st.SHA256, st.Size, st.UnpackedSize, st.Entries
				a.Attestation = f.bundle(t, old+".sigstore.json", release("0.9.0", st))
			},
			want: "tag does not match: the workflow did not run for the release tag demo@1.0.0 (expected refs/tags/demo@1.0.0, bundle has refs/tags/demo@0.9.0)"},
		{name: "the bundle left out",
			tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) { e.Artifacts[plat].Attestation = nil },
			want:   "has no provenance bundle (its registry entry names no artifacts[\"debian-amd64\"].attestation), and provenance is required (--require-provenance)"},
		{name: "the bundle replaced", tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
			os.WriteFile(filepath.Join(f.dir, file+".sigstore.json"), []byte(`{"mediaType":"x"}`), 0o644)
		}, want: "size mismatch: registry says"},
		{name: "the bundle deleted", tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
			os.Remove(filepath.Join(f.dir, file+".sigstore.json"))
		}, want: "HTTP 404"},
		{name: "the bundle's checksum changed", tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
			e.Artifacts[plat].Attestation.Checksum = "sha256:" + strings.Repeat("0", 64)
		}, want: "checksum mismatch: registry says sha256:" + strings.Repeat("0", 64)},
		// the download is refused as it streams (nothing is installed)
		{name: "another artifact behind the checksum",
			tamper: func(t *testing.T, f *provFixture, e *schema.RegistryEntry) {
				f.artifact(t, "evil.tar.gz", "1.0.0", map[string]string{"isolated/data/backdoor.sh": "#!/bin/sh\n"})
				e.Artifacts[plat].DownloadURL = "evil.tar.gz"
			},
			want: "(the artifact or the registry was changed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newProvFixture(t)
			st := f.artifact(t, file, "1.0.0", nil)
			e := artifactEntry("1.0.0", file, plat, st)
			e.Artifacts[plat].Attestation = f.bundle(t, file+".sigstore.json", release("1.0.0", st))
			tc.tamper(t, f, e)
			f.writeRegistry(t, map[string]*schema.RegistryEntry{"1.0.0": e})
			root := filepath.Join(t.TempDir(), "rt")
			_, err := Install(context.Background(), "demo@1.0.0", f.options(root, ProvenanceOptions{Require: true}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
			if tc.evil != "" && f.hit(tc.evil) != 0 {
				t.Errorf("%s was downloaded", tc.evil)
			}
			if left := rootEntries(t, root); len(left) != 0 {
				t.Errorf("left %v", left)
			}
		})
	}
}

// Without --require-provenance a missing bundle is a warning; the config
// file can require it per registry, set the expected identity for a fork,
// and a registry whose location names no repository needs one.
func TestInstallProvenancePolicy(t *testing.T) {
	const file = "demo-1.0.0-" + plat + ".tar.gz"
	setup := func(t *testing.T, sign func(*provenancetest.Signing), withBundle bool) *provFixture {
		f := newProvFixture(t)
		st := f.artifact(t, file, "1.0.0", nil)
		e := artifactEntry("1.0.0", file, plat, st)
		if withBundle {
			sg := release("1.0.0", st)
			if sign != nil {
				sign(&sg)
			}
			e.Artifacts[plat].Attestation = f.bundle(t, file+".sigstore.json", sg)
		}
		f.writeRegistry(t, map[string]*schema.RegistryEntry{"1.0.0": e})
		return f
	}
	config := func(t *testing.T, f *provFixture, url, block string) []Source {
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		text := "runtimes:\n  registries:\n    - name: ours\n      url: " + url + "\n"
		if block != "" {
			text += "      provenance:\n" + block
		}
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		srcs, err := LoadConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return srcs
	}

	t.Run("missing bundle warns", func(t *testing.T) {
		f := setup(t, nil, false)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{})
		var warnings []string
		o.Warn = func(s string) { warnings = append(warnings, s) }
		got, err := Install(context.Background(), "demo@1.0.0", o)
		if err != nil {
			t.Fatal(err)
		}
		if got.Provenance == nil || got.Provenance.Status != "missing" || got.Provenance.Required {
			t.Errorf("provenance %+v", got.Provenance)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "has no provenance bundle") || !strings.Contains(warnings[0], "--require-provenance refuses this") {
			t.Errorf("warnings %q", warnings)
		}
	})
	t.Run("config requires it", func(t *testing.T) {
		f := setup(t, nil, false)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{})
		o.Registries = config(t, f, provRepo, "        require: true\n")
		_, err := Install(context.Background(), "demo@1.0.0", o)
		if err == nil || !strings.Contains(err.Error(), "provenance is required (config ") || !strings.Contains(err.Error(), "runtimes.registries[0].provenance.require)") {
			t.Fatalf("got %v", err)
		}
		if f.hit(file) != 0 {
			t.Error("artifact downloaded")
		}
	})
	t.Run("a failing bundle is fatal without require", func(t *testing.T) {
		f := setup(t, func(s *provenancetest.Signing) { s.Repository = "mallory/rtool" }, true)
		_, err := Install(context.Background(), "demo@1.0.0", f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{}))
		if err == nil || !strings.Contains(err.Error(), "repository does not match") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("fork identity from the config", func(t *testing.T) {
		f := setup(t, func(s *provenancetest.Signing) {
			s.Repository, s.Workflow = "someone/rtool-fork", ".github/workflows/release.yaml"
		}, true)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{Require: true})
		o.Registries = config(t, f, provRepo, "        repository: someone/rtool-fork\n        workflow: .github/workflows/release.yaml\n")
		got, err := Install(context.Background(), "demo@1.0.0", o)
		if err != nil {
			t.Fatal(err)
		}
		if got.Provenance.Verified.Repository != "someone/rtool-fork" {
			t.Errorf("verified %+v", got.Provenance.Verified)
		}
	})
	t.Run("trusted root from the config", func(t *testing.T) {
		f := setup(t, nil, true)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{Require: true})
		o.Provenance.TrustedRoot = "" // not the flag: the config's, relative to the config file
		o.Registries = config(t, f, provRepo, "        trusted_root: "+f.trustedRoot+"\n")
		if _, err := Install(context.Background(), "demo@1.0.0", o); err != nil {
			t.Fatal(err)
		}
		// and the embedded public-good root does not know the test Sigstore
		o = f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{Require: true})
		o.Provenance.TrustedRoot = ""
		o.Registries = config(t, f, provRepo, "")
		_, err := Install(context.Background(), "demo@1.0.0", o)
		if err == nil || !strings.Contains(err.Error(), "signature does not match: the bundle does not verify against the trusted root "+provenance.PublicGoodName) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a location without a repository", func(t *testing.T) {
		f := setup(t, nil, true)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{})
		url := f.srv.URL + "/joblet/rtool/main/registry.json"
		o.Registries = []Source{{Name: url, Location: url}}
		_, err := Install(context.Background(), "demo@1.0.0", o)
		if err == nil || !strings.Contains(err.Error(), "set provenance.repository for this registry in the config file, or pass --provenance-repository OWNER/REPO") {
			t.Fatalf("got %v", err)
		}
		o.Provenance.Repository = provRepo
		if _, err := Install(context.Background(), "demo@1.0.0", o); err != nil {
			t.Fatalf("with --provenance-repository: %v", err)
		}
	})
	t.Run("a view repository names the releasing repository", func(t *testing.T) {
		f := setup(t, nil, true)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{})
		// the same registry, served as if it were the view repository's
		view := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(f.dir))), "joblet", "runtimes-debian-amd64")
		if err := os.Symlink(filepath.Join(f.dir, ".."), view); err != nil {
			t.Fatal(err)
		}
		o.Registries = []Source{{Name: "joblet/runtimes-debian-amd64", Location: "joblet/runtimes-debian-amd64"}}
		_, err := Install(context.Background(), "demo@1.0.0", o)
		if err == nil || !strings.Contains(err.Error(), "(expected joblet/runtimes-debian-amd64, bundle has joblet/rtool); rtool expected joblet/runtimes-debian-amd64 because the registry location is \"joblet/runtimes-debian-amd64\"; a view repository") {
			t.Fatalf("got %v", err)
		}
		o.Provenance.Repository = provRepo
		if _, err := Install(context.Background(), "demo@1.0.0", o); err != nil {
			t.Fatalf("with --provenance-repository: %v", err)
		}
	})
	t.Run("joblet mode cannot require it", func(t *testing.T) {
		f := setup(t, nil, true)
		o := f.options(filepath.Join(t.TempDir(), "rt"), ProvenanceOptions{Require: true})
		o.Mode = ModeJoblet
		o.Registries = []Source{{Location: f.dir}}
		_, err := Install(context.Background(), "demo@1.0.0", o)
		if err == nil || !strings.Contains(err.Error(), "--joblet installs as a Joblet node does, which reads no attestation") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestProvenanceConfig(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"unknown key", "        requre: true\n", `line 7: provenance has the unknown key "requre"; the keys are require, repository, workflow, bulk_workflow, issuer, trusted_root`},
		{"bad repository", "        repository: https://github.com/joblet/rtool\n", "runtimes.registries[0].provenance: repository \"https://github.com/joblet/rtool\" is not OWNER/REPO"},
		{"bad workflow", "        workflow: release.yml\n", "provenance: workflow \"release.yml\" is not a workflow file's path"},
		{"not a mapping", "        true\n", "provenance must be a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			text := "runtimes:\n  registries:\n    - name: ours\n      url: joblet/rtool\n      provenance:\n" + tc.block
			if tc.name == "unknown key" {
				text = "# a comment\nruntimes:\n  registries:\n    - name: ours\n      url: joblet/rtool\n      provenance:\n" + tc.block
			}
			os.WriteFile(cfg, []byte(text), 0o644)
			_, err := LoadConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), cfg) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("runtimes:\n  registries:\n    - url: joblet/rtool\n      provenance: {require: true, trusted_root: roots/tr.json}\n    - url: other/repo\n"), 0o644)
	srcs, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := srcs[0].Provenance
	if p == nil || !p.Require || p.TrustedRoot != filepath.Join(dir, "roots/tr.json") || srcs[1].Provenance != nil {
		t.Errorf("read %+v, %+v", p, srcs[1].Provenance)
	}
}

func TestRepositoryOf(t *testing.T) {
	t.Chdir(t.TempDir())
	os.MkdirAll("local/dir", 0o755)
	for in, want := range map[string]string{
		"joblet/rtool":                        "joblet/rtool",
		"joblet/rtool.git":                    "joblet/rtool",
		"https://github.com/Joblet/RTool":     "Joblet/RTool",
		"https://github.com/joblet/rtool.git": "joblet/rtool",
		"https://raw.githubusercontent.com/joblet/rtool/main/registry.json": "joblet/rtool",
		"https://example.com/joblet/rtool/registry.json":                    "",
		"http://127.0.0.1:8080/registry.json":                               "",
		"local/dir":                                                         "",
		"/srv/registry":                                                     "",
		"file:///srv/reg":                                                   "",
	} {
		if got := repositoryOf(in); got != want {
			t.Errorf("repositoryOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// withoutMissingBundle passes on every warning but the one about a missing
// provenance bundle, which every install from an unsigned test registry
// gives (for tests that count the other warnings).
func withoutMissingBundle(warn func(string)) func(string) {
	return func(s string) {
		if !strings.Contains(s, "has no provenance bundle") {
			warn(s)
		}
	}
}
