package registrygen

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// twoPlatformRegistry is a registry as rtool publishes it: rt 1.0.0 and
// 1.1.0 for debian-amd64 and debian-arm64 with source packages, 1.2.0 for
// amd64 only, 1.1.0 yanked, and an upstream-shaped 0.9.0 (source package
// as its top-level download, no artifacts).
func twoPlatformRegistry(t *testing.T) *schema.Registry {
	t.Helper()
	platforms := []string{"debian-amd64", "debian-arm64"}
	r := New()
	for _, c := range []struct {
		version   string
		platforms []string
	}{{"1.0.0", platforms}, {"1.1.0", platforms}, {"1.2.0", platforms[:1]}} {
		spec := FragmentSpec{Name: "rt", Version: c.version, Description: "rt " + c.version, Platforms: c.platforms,
			Source: file(schema.SourcePackageName("rt", c.version), 10), URL: urlTemplate, ReleasedAt: t0}
		for _, p := range c.platforms {
			f := file(schema.ArtifactName("rt", c.version, p), 100)
			f.UnpackedSize, f.Entries = 1000, 7
			spec.Artifacts = append(spec.Artifacts, PlatformFile{Platform: p, File: f})
		}
		frag, err := Fragment(spec)
		if err != nil {
			t.Fatal(err)
		}
		r, _ = mustMerge(t, r, frag, MergeOptions{Now: t0})
	}
	r.Runtimes["rt"]["0.9.0"] = upstreamEntry("rt", "0.9.0")
	r, err := Yank(r, "rt", "1.1.0", "broken", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestViewPerPlatform(t *testing.T) {
	r := twoPlatformRegistry(t)
	if got := ViewPlatforms(r); !slices.Equal(got, []string{"debian-amd64", "debian-arm64"}) {
		t.Fatalf("ViewPlatforms = %v", got)
	}
	for _, c := range []struct {
		platform string
		versions []string
	}{
		{"debian-amd64", []string{"1.0.0", "1.2.0"}}, // 1.1.0 yanked, 0.9.0 has no artifact
		{"debian-arm64", []string{"1.0.0"}},          // 1.2.0 has no arm64 artifact
		{"rhel-amd64", nil},
	} {
		t.Run(c.platform, func(t *testing.T) {
			v := View(r, c.platform)
			if got := schema.SortedVersions(v.Runtimes["rt"]); !slices.Equal(got, c.versions) && len(got)+len(c.versions) > 0 {
				t.Fatalf("versions %v, want %v", got, c.versions)
			}
			for ver, e := range v.Runtimes["rt"] {
				a := r.Runtimes["rt"][ver].Artifacts[c.platform]
				if e.DownloadURL != a.DownloadURL || e.Checksum != a.Checksum || e.Size != a.Size {
					t.Errorf("%s: top-level %s %s %d, want the %s artifact %s %s %d", ver, e.DownloadURL, e.Checksum, e.Size, c.platform, a.DownloadURL, a.Checksum, a.Size)
				}
				if !strings.HasSuffix(e.DownloadURL, "-"+c.platform+".tar.gz") {
					t.Errorf("%s: %s is not the %s artifact", ver, e.DownloadURL, c.platform)
				}
				if !slices.Equal(e.Platforms, []string{c.platform}) || len(e.Artifacts) != 1 || e.Yanked != nil || e.SourcePackage != nil || e.ReleasedAt != FormatTime(t0) {
					t.Errorf("%s: entry %+v", ver, e)
				}
			}
			// What Joblet's client decodes: a strict encoding/json
			// decode into its shape must succeed.
			var joblet struct {
				Version   string    `json:"version"`
				UpdatedAt time.Time `json:"updated_at"`
				Runtimes  map[string]map[string]struct {
					Version     string   `json:"version"`
					DownloadURL string   `json:"download_url"`
					Checksum    string   `json:"checksum"`
					Size        int64    `json:"size"`
					Platforms   []string `json:"platforms"`
					Description string   `json:"description"`
				} `json:"runtimes"`
			}
			if err := json.Unmarshal(encode(t, v), &joblet); err != nil || joblet.Version != "1" {
				t.Fatalf("Joblet's decoder refuses the view: %v", err)
			}
			// The view parses and verifies as a registry of its own.
			if _, err := Parse(encode(t, v), "view"); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The view shares nothing with the registry.
	v := View(r, "debian-amd64")
	v.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].Size = -1
	if r.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].Size != 100 {
		t.Error("View shares artifacts with its registry")
	}
}

func TestViewRewritesRelativeURLs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"rt-1.0.0-debian-amd64.tar.gz", "../../rt-1.0.0-debian-amd64.tar.gz"},
		{"files/rt.tar.gz", "../../files/rt.tar.gz"},
		{"https://e.com/rt.tar.gz", "https://e.com/rt.tar.gz"},
		{"/srv/rt.tar.gz", "/srv/rt.tar.gz"},
		{"file:///srv/rt.tar.gz", "file:///srv/rt.tar.gz"},
	} {
		if got := viewURL(c.in); got != c.want {
			t.Errorf("viewURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriteWithViewsAndCheckViews(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.json")
	r := twoPlatformRegistry(t)
	if err := WriteWithViews(path, r); err != nil {
		t.Fatal(err)
	}
	if problems, err := CheckViews(path, r); err != nil || len(problems) != 0 {
		t.Fatalf("fresh views: %v %v", err, problems)
	}
	view := filepath.Join(dir, "platforms", "debian-arm64", "registry.json")
	data, err := os.ReadFile(view)
	if err != nil {
		t.Fatal(err)
	}
	if want := encode(t, View(r, "debian-arm64")); string(data) != string(want) {
		t.Fatal("view on disk differs from View")
	}

	// A registry that moved on without its views: the arm64 view is stale.
	r2 := cloneRegistry(r)
	frag, err := Fragment(FragmentSpec{Name: "rt", Version: "2.0.0", Platforms: []string{"debian-arm64"},
		Artifacts: []PlatformFile{{Platform: "debian-arm64", File: file("rt-2.0.0-debian-arm64.tar.gz", 5)}}, URL: urlTemplate, ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ = mustMerge(t, r2, frag, MergeOptions{Now: t0})
	if err := Write(path, r2); err != nil {
		t.Fatal(err)
	}
	// in order: each case builds on the one before
	for _, c := range []struct {
		name    string
		prepare func()
		want    string
	}{
		{"stale", func() {}, "debian-arm64 is stale"},
		{"missing", func() { os.Remove(view) }, "debian-arm64 is missing"},
		{"extra", func() {
			os.MkdirAll(filepath.Join(dir, "platforms", "rhel-amd64"), 0o755)
			os.WriteFile(filepath.Join(dir, "platforms", "rhel-amd64", "registry.json"), []byte("{}"), 0o644)
		}, "rhel-amd64, a platform with no artifact"},
	} {
		name := c.name
		c.prepare()
		problems, err := CheckViews(path, r2)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, p := range problems {
			msgs = append(msgs, p.Error())
		}
		if !strings.Contains(strings.Join(msgs, "\n"), c.want) {
			t.Errorf("%s: problems %q, want one with %q", name, msgs, c.want)
		}
	}
}

func TestCheckViewHistory(t *testing.T) {
	r := twoPlatformRegistry(t)
	prev := View(r, "debian-amd64")

	unyanked := cloneRegistry(r)
	e := *unyanked.Runtimes["rt"]["1.1.0"]
	e.Yanked = nil
	unyanked.Runtimes["rt"]["1.1.0"] = &e
	withYanked := View(unyanked, "debian-amd64") // a view from before the yank

	yankMore, err := Yank(r, "rt", "1.2.0", "also broken", t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	forced := cloneRegistry(r)
	fe := *forced.Runtimes["rt"]["1.0.0"]
	fa := *fe.Artifacts["debian-amd64"]
	fe.Artifacts = map[string]*schema.Artifact{"debian-amd64": &fa, "debian-arm64": fe.Artifacts["debian-arm64"]}
	fa.Checksum = fakeChecksum("rebuilt")
	fe.Forced = []schema.ForcedChange{{Date: FormatTime(t0), Platform: "debian-amd64", OldChecksum: r.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].Checksum, NewChecksum: fa.Checksum}}
	forced.Runtimes["rt"]["1.0.0"] = &fe

	tampered := View(r, "debian-amd64")
	tampered.Runtimes["rt"]["1.0.0"].Checksum = fakeChecksum("evil")

	dropped := View(r, "debian-amd64")
	delete(dropped.Runtimes["rt"], "1.2.0")

	for _, c := range []struct {
		name          string
		prev, current *schema.Registry
		main          *schema.Registry
		want          string // "" = no problem
	}{
		{"same", prev, View(r, "debian-amd64"), r, ""},
		{"first publish", New(), prev, r, ""},
		{"yanked version leaves the view", withYanked, prev, r, ""},
		{"newly yanked leaves the view", prev, View(yankMore, "debian-amd64"), yankMore, ""},
		{"forced change recorded in main", prev, View(forced, "debian-amd64"), forced, ""},
		{"lost version", prev, dropped, r, "lost rt@1.2.0"},
		{"changed checksum", prev, tampered, r, "changed rt@1.0.0"},
		{"older main than the view", View(yankMore, "debian-arm64"), View(New(), "debian-arm64"), New(), "lost rt@1.0.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckViewHistory(c.prev, c.current, c.main, "debian-amd64")
			var he *HistoryError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case c.want != "" && (!errors.As(err, &he) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestMergeSourcePackageAndLegacyTopLevel(t *testing.T) {
	src := file("rt-1.0.0.tar.gz", 10)
	amd := file("rt-1.0.0-debian-amd64.tar.gz", 100)
	frag, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"debian-amd64"}, Source: src,
		Artifacts: []PlatformFile{{Platform: "debian-amd64", File: amd}}, URL: urlTemplate, ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	// A version published before source_package existed: its top-level
	// download is the source package. Re-publishing it keeps those bytes
	// (history) and only fills source_package; no conflict.
	legacy := New()
	le := cloneEntry(frag.Runtimes["rt"]["1.0.0"])
	le.DownloadURL, le.Checksum, le.Size, le.SourcePackage = le.SourcePackage.DownloadURL, src.Checksum, src.Size, nil
	legacy.Runtimes["rt"] = map[string]*schema.RegistryEntry{"1.0.0": le}
	merged, _ := mustMerge(t, legacy, frag, MergeOptions{Now: t0})
	got := merged.Runtimes["rt"]["1.0.0"]
	if got.Checksum != src.Checksum || got.SourcePackage == nil || got.SourcePackage.Checksum != src.Checksum {
		t.Fatalf("legacy entry: top-level %s, source_package %+v", got.Checksum, got.SourcePackage)
	}
	if err := CheckHistory(legacy, merged); err != nil {
		t.Fatal(err)
	}

	// A new entry: the source package is guarded like an artifact.
	fresh, _ := mustMerge(t, New(), frag, MergeOptions{Now: t0})
	other := file("rt-1.0.0.tar.gz-rebuilt", 11)
	frag2, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"debian-amd64"}, Source: other,
		Artifacts: []PlatformFile{{Platform: "debian-amd64", File: amd}}, URL: urlTemplate, ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	var ce *ConflictError
	if _, _, err := Merge(fresh, frag2, MergeOptions{Now: t0}); !errors.As(err, &ce) || !strings.Contains(err.Error(), schema.SourcePackageForced) {
		t.Fatalf("a different source package merged without --force: %v", err)
	}
	forced, _ := mustMerge(t, fresh, frag2, MergeOptions{Now: t0, Force: true})
	if err := CheckHistory(fresh, forced); err != nil {
		t.Fatalf("forced source package change not accepted by the guard: %v", err)
	}
	if rep, err := Verify(t.Context(), forced, VerifyOptions{}); err != nil || !rep.OK() {
		t.Fatalf("verify after forced source package: %v %v", err, rep.Problems)
	}
	lost := cloneRegistry(fresh)
	le2 := cloneEntry(lost.Runtimes["rt"]["1.0.0"])
	le2.SourcePackage = nil
	lost.Runtimes["rt"]["1.0.0"] = le2
	if err := CheckHistory(fresh, lost); err == nil || !strings.Contains(err.Error(), "lost rt@1.0.0 [source_package]") {
		t.Fatalf("lost source package: %v", err)
	}
}

func cloneRegistry(r *schema.Registry) *schema.Registry {
	out := New()
	out.UpdatedAt = r.UpdatedAt
	for name, versions := range r.Runtimes {
		out.Runtimes[name] = map[string]*schema.RegistryEntry{}
		for v, e := range versions {
			out.Runtimes[name][v] = e
		}
	}
	return out
}

// TestMergeArtifactSideFiles: a re-publish that brings an artifact's SBOM
// or Sigstore bundle the registry lacks fills it; a different one is a
// conflict unless forced; views rewrite their relative URLs too.
func TestMergeArtifactSideFiles(t *testing.T) {
	amd := file("rt-1.0.0-debian-amd64.tar.gz", 100)
	frag := func(sbom string) *schema.Registry {
		t.Helper()
		r, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"debian-amd64"},
			Artifacts: []PlatformFile{{Platform: "debian-amd64", File: amd}}, URL: "{file}", ReleasedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if sbom != "" {
			r.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM = &schema.Artifact{DownloadURL: "rt-1.0.0-debian-amd64.tar.gz.spdx.json", Checksum: fakeChecksum(sbom), Size: 10}
		}
		return r
	}
	base, _ := mustMerge(t, New(), frag(""), MergeOptions{Now: t0})
	filled, changes := mustMerge(t, base, frag("sbom-1"), MergeOptions{Now: t0})
	if s := filled.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM; s == nil || s.Checksum != fakeChecksum("sbom-1") || len(changes) != 1 {
		t.Fatalf("sbom not filled: %+v %v", s, changes)
	}
	if base.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM != nil {
		t.Fatal("merge modified its base")
	}
	if _, _, err := Merge(filled, frag("sbom-2"), MergeOptions{Now: t0}); err == nil || !strings.Contains(err.Error(), "sbom") {
		t.Fatalf("a different SBOM merged without --force: %v", err)
	}
	forced, _ := mustMerge(t, filled, frag("sbom-2"), MergeOptions{Now: t0, Force: true})
	if s := forced.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM; s.Checksum != fakeChecksum("sbom-2") {
		t.Fatalf("forced SBOM %+v", s)
	}
	v := View(filled, "debian-amd64").Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"]
	if v.SBOM.DownloadURL != "../../rt-1.0.0-debian-amd64.tar.gz.spdx.json" || filled.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM.DownloadURL != "rt-1.0.0-debian-amd64.tar.gz.spdx.json" {
		t.Fatalf("view sbom URL %s", v.SBOM.DownloadURL)
	}
}

// TestVerifyTopLevelOfAnotherPlatform: a top-level download that is not
// the primary platform's artifact but another platform's is a finding
// (every Joblet node would install that build); the primary's or a
// legacy source package is fine.
func TestVerifyTopLevelOfAnotherPlatform(t *testing.T) {
	r := twoPlatformRegistry(t)
	rep, err := Verify(t.Context(), r, VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("a registry rtool wrote: %v %v", err, rep.Problems)
	}
	e := cloneEntry(r.Runtimes["rt"]["1.0.0"])
	arm := e.Artifacts["debian-arm64"]
	e.DownloadURL, e.Checksum, e.Size = arm.DownloadURL, arm.Checksum, arm.Size
	bad := cloneRegistry(r)
	bad.Runtimes["rt"]["1.0.0"] = e
	rep, err = Verify(t.Context(), bad, VerifyOptions{})
	if err != nil || rep.OK() || !strings.Contains(rep.Problems.Error(), "the top-level download is the debian-arm64 artifact, but the primary platform is debian-amd64") {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
}
