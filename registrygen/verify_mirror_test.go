package registrygen

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

// TestVerifyArtifactsLayouts: --artifacts finds release files in a flat
// directory and in the tree the dir publisher writes (DIR/<tag>/<file>),
// says which it re-hashed, and re-hashing nothing while the registry names
// downloads is a problem, not "ok" (issue 11).
func TestVerifyArtifactsLayouts(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	art, _, _ := makeTarGz(t, src, "rt-1.0.0-ubuntu-amd64.tar.gz", map[string]string{"runtime.yml": "name: rt\n"})
	a, err := InspectArtifact(ctx, art)
	if err != nil {
		t.Fatal(err)
	}
	srcPkg, _, _ := makeTarGz(t, src, "rt-1.0.0.tar.gz", map[string]string{"rt/manifest.yaml": "name: rt\n"})
	s, err := HashFile(ctx, srcPkg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-amd64"}, Source: s,
		Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: a}}, URL: "https://mirror.example/{tag}/{file}", ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"rt-1.0.0-ubuntu-amd64.tar.gz", "rt-1.0.0.tar.gz"}
	put := func(t *testing.T, dir string, names ...string) {
		for _, n := range names {
			data, err := os.ReadFile(filepath.Join(src, filepath.Base(strings.TrimSuffix(n, "!"))))
			switch {
			case strings.HasSuffix(n, "!"):
				data = []byte("tampered")
			case n == "registry.json":
				data = []byte("{}")
			case err != nil:
				t.Fatal(err)
			}
			p := filepath.Join(dir, strings.TrimSuffix(n, "!"))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		layout  []string // files under DIR ("!" suffix: tampered content)
		checked []string // relative to DIR
		missing []string
		problem string // "" = OK
	}{
		{"flat", files, files, nil, ""},
		{"dir publisher mirror", []string{"rt@1.0.0/" + files[0], "rt@1.0.0/" + files[1], "registry.json"},
			[]string{"rt@1.0.0/" + files[0], "rt@1.0.0/" + files[1]}, nil, ""},
		{"mirror missing one file", []string{"rt@1.0.0/" + files[0]}, []string{"rt@1.0.0/" + files[0]}, []string{"rt@1.0.0/" + files[1]}, ""},
		{"mirror with a tampered file", []string{"rt@1.0.0/" + files[0] + "!", "rt@1.0.0/" + files[1]},
			[]string{"rt@1.0.0/" + files[0], "rt@1.0.0/" + files[1]}, nil, "rt@1.0.0/" + files[0] + " has checksum"},
		{"nothing there", nil, nil, files, "holds none of the 2 files the registry's download URLs name, so nothing was re-hashed"},
		{"another layout", []string{"1.0.0/" + files[0]}, nil, files, "holds none of the 2 files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			put(t, dir, tc.layout...)
			rep, err := Verify(ctx, r, VerifyOptions{ArtifactsDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			rel := func(ps []string) []string {
				var out []string
				for _, p := range ps {
					out = append(out, strings.TrimPrefix(p, dir+"/"))
				}
				slices.Sort(out)
				return out
			}
			if got := rel(rep.Checked); !slices.Equal(got, tc.checked) {
				t.Errorf("checked %v, want %v", got, tc.checked)
			}
			if got := rel(rep.Missing); !slices.Equal(got, tc.missing) {
				t.Errorf("missing %v, want %v", got, tc.missing)
			}
			all := rep.Problems.Error()
			switch {
			case tc.problem == "" && !rep.OK():
				t.Errorf("problems: %s", all)
			case tc.problem != "" && !strings.Contains(all, tc.problem):
				t.Errorf("problems lack %q:\n%s", tc.problem, all)
			}
		})
	}
	// A registry naming no download has nothing to re-hash: no problem.
	none := &schema.Registry{Version: schema.RegistryFormatVersion, UpdatedAt: "2026-01-01T00:00:00Z", Runtimes: map[string]map[string]*schema.RegistryEntry{}}
	if rep, err := Verify(ctx, none, VerifyOptions{ArtifactsDir: t.TempDir()}); err != nil || !rep.OK() {
		t.Errorf("empty registry: %v %v", err, rep.Problems)
	}
}
