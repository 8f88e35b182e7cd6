package consumer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/registrygen"
)

// agreeEntry is one version entry of an agreement case: rt@1.0.0, the
// version every case resolves, built from a few fields that the cases
// change.
type agreeEntry struct {
	url       string // top-level download_url
	size      int64  // top-level size
	platforms string // JSON list
	artifacts string // JSON object, "" for none
	extra     string // more members, each starting with ","
	noTop     bool   // no top-level download (an entry still being merged)
}

func (e agreeEntry) json() string {
	sum := `"sha256:` + strings.Repeat("a", 64) + `"`
	top := fmt.Sprintf(`"download_url": %q, "checksum": %s, "size": %d,`, e.url, sum, e.size)
	if e.noTop {
		top = `"download_url": "", "checksum": "", "size": 0,`
	}
	arts := ""
	if e.artifacts != "" {
		arts = `, "artifacts": ` + e.artifacts
	}
	return fmt.Sprintf(`{"version": "1.0.0", "description": "d", %s "platforms": %s%s%s}`, top, e.platforms, arts, e.extra)
}

func agreeRegistry(runtimes, extra string) string {
	return `{"version": "1", "updated_at": "2026-01-02T03:04:05Z"` + extra + `, "runtimes": {` + runtimes + "}}\n"
}

func agreeArtifact(url string, size int64) string {
	return fmt.Sprintf(`{"download_url": %q, "checksum": "sha256:%s", "size": %d}`, url, strings.Repeat("b", 64), size)
}

// TestVerifyMergeInstallAgree feeds the same registries to `registry
// verify` (LoadDocument + Verify), `registry merge` (Load, as base and as
// fragment, + Merge + Encode) and `runtime install` (Fetch + Resolve) and
// checks that all three accept or refuse each one. The one deliberate
// difference: an entry whose top-level download is still missing (per
// platform fragments merged without the primary platform's) is accepted
// by merge, which exists to complete it, and by install, which installs
// the per-platform artifact; verify refuses to let it be published.
func TestVerifyMergeInstallAgree(t *testing.T) {
	const https = "https://127.0.0.1:1/rt-1.0.0-debian-amd64.tar.gz"
	good := agreeEntry{url: https, size: 10, platforms: `["debian-amd64"]`}
	rt := func(e agreeEntry) string { return `"rt": {"1.0.0": ` + e.json() + `}` }
	with := func(f func(*agreeEntry)) string { e := good; f(&e); return agreeRegistry(rt(e), "") }
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

	tests := []struct {
		name     string
		registry string
		refuse   string // "" accept everywhere; else a substring every refusal names
		pending  bool   // refused by verify only (see above)
	}{
		{"absolute https", agreeRegistry(rt(good), ""), "", false},
		{"relative download_url", with(func(e *agreeEntry) { e.url = "rt-1.0.0-debian-amd64.tar.gz" }), "", false},
		{"relative download_url up", with(func(e *agreeEntry) { e.url = "../files/rt-1.0.0.tar.gz" }), "", false},
		{"relative artifact url", with(func(e *agreeEntry) {
			e.artifacts = `{"debian-amd64": ` + agreeArtifact("rt-1.0.0-debian-amd64.tar.gz", 10) + `}`
		}), "", false},
		{"unknown keys nested 20 deep", agreeRegistry(rt(good), `, "_x": `+deep(20)), "", false},
		{"absolute path", with(func(e *agreeEntry) { e.url = "/srv/rt-1.0.0.tar.gz" }), "download_url", false},
		{"file URL", with(func(e *agreeEntry) { e.url = "file:///srv/rt-1.0.0.tar.gz" }), "download_url", false},
		{"opaque scheme", with(func(e *agreeEntry) { e.url = "x:demo.tar.gz" }), "download_url", false},
		{"ftp URL", with(func(e *agreeEntry) { e.url = "ftp://127.0.0.1/rt.tar.gz" }), "download_url", false},
		{"size 0", with(func(e *agreeEntry) { e.size = 0 }), `.runtimes.rt["1.0.0"].size`, false},
		{"negative size", with(func(e *agreeEntry) { e.size = -1 }), `.runtimes.rt["1.0.0"].size`, false},
		{"artifact size 0", with(func(e *agreeEntry) {
			e.artifacts = `{"debian-amd64": ` + agreeArtifact(https, 0) + `}`
		}), `.artifacts["debian-amd64"].size`, false},
		{"source package size 0", with(func(e *agreeEntry) {
			e.extra = `, "source_package": ` + agreeArtifact("https://127.0.0.1:1/rt-1.0.0.tar.gz", 0)
		}), `.source_package.size`, false},
		{"artifact for an unlisted platform", with(func(e *agreeEntry) {
			e.artifacts = `{"debian-amd64": ` + agreeArtifact(https, 10) + `, "ubuntu-arm64": ` + agreeArtifact(https, 10) + `}`
		}), `ubuntu-arm64`, false},
		{"bad platform", with(func(e *agreeEntry) { e.platforms = `["debian-amd64", "windows-x86"]` }), "windows-x86", false},
		{"platform twice", with(func(e *agreeEntry) { e.platforms = `["debian-amd64", "debian-amd64"]` }), "listed twice", false},
		{"yank without reason", with(func(e *agreeEntry) {
			e.extra = `, "yanked": {"reason": "", "date": "2026-01-03T00:00:00Z"}`
		}), "reason", false},
		{"forced with a bad checksum", with(func(e *agreeEntry) {
			e.extra = `, "forced": [{"date": "2026-01-03T00:00:00Z", "platform": "", "old_checksum": "x", "new_checksum": "sha256:` + strings.Repeat("a", 64) + `"}]`
		}), "forced[0]", false},
		{"bad runtime name", agreeRegistry(rt(good)+`, "Bad_Name": {}`, ""), "Bad_Name", false},
		{"unknown keys nested 40 deep", agreeRegistry(rt(good), `, "_x": `+deep(40)), "nested", false},
		{"key of 300 bytes", agreeRegistry(rt(good), `, "`+strings.Repeat("k", 300)+`": 1`), "key", false},
		{"string of 20 KiB", agreeRegistry(rt(good), `, "_c": "`+strings.Repeat("s", 20<<10)+`"`), "string", false},
		{"pending top-level download", with(func(e *agreeEntry) {
			e.noTop = true
			e.platforms = `["ubuntu-arm64", "debian-amd64"]`
			e.artifacts = `{"debian-amd64": ` + agreeArtifact(https, 10) + `}`
		}), "", true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "registry.json")
			if err := os.WriteFile(path, []byte(tt.registry), 0o644); err != nil {
				t.Fatal(err)
			}
			verdicts := map[string]error{
				"verify":              verifyVerdict(ctx, path),
				"merge (base)":        mergeVerdict(path, true),
				"merge (fragment)":    mergeVerdict(path, false),
				"install (load+pick)": installVerdict(ctx, path),
			}
			for who, err := range verdicts {
				wantRefuse := tt.refuse != "" || tt.pending && who == "verify"
				switch {
				case wantRefuse && err == nil:
					t.Errorf("%s accepted it; want it refused (%s)", who, tt.refuse)
				case !wantRefuse && err != nil:
					t.Errorf("%s refused it: %v", who, err)
				case err != nil && tt.refuse != "" && !strings.Contains(err.Error(), tt.refuse):
					t.Errorf("%s refused it with %q; want the message to name %q", who, err, tt.refuse)
				case err != nil && tt.refuse != "" && !strings.Contains(err.Error(), path+":"):
					t.Errorf("%s refused it with %q; want file:line:col", who, err)
				}
			}
		})
	}
}

func verifyVerdict(ctx context.Context, path string) error {
	doc, err := registrygen.LoadDocument(path)
	if err != nil {
		return err
	}
	rep, err := registrygen.Verify(ctx, doc.Registry, registrygen.VerifyOptions{Document: doc})
	if err != nil {
		return err
	}
	if !rep.OK() {
		return rep.Problems
	}
	return nil
}

// mergeVerdict merges a one-version fragment into the registry (asBase)
// or the registry into an empty one, as `registry merge` does, up to the
// bytes it would write.
func mergeVerdict(path string, asBase bool) error {
	r, err := registrygen.Load(path)
	if err != nil {
		return err
	}
	base, in := r, registrygen.New()
	if asBase {
		in.Runtimes["other"] = nil
	} else {
		base, in = registrygen.New(), r
	}
	merged, _, err := registrygen.Merge(base, in, registrygen.MergeOptions{})
	if err != nil {
		return err
	}
	_, err = registrygen.Encode(merged)
	return err
}

func installVerdict(ctx context.Context, path string) error {
	l, err := Sources{}.Fetch(ctx, Source{Name: path, Location: path})
	if err != nil {
		return err
	}
	sp, err := ParseSpec("rt@1.0.0")
	if err != nil {
		return err
	}
	_, err = Resolve([]*Loaded{l}, sp, "debian-amd64")
	return err
}
