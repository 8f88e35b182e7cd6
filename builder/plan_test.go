package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	rt := t.TempDir()
	writeTree(t, rt, map[string]string{
		"a/manifest.yaml":  "name: a\nversion: 1.0.0\ndescription: a\nplatforms: [debian-amd64, debian-arm64, rhel-amd64]\n",
		"b/manifest.yaml":  "name: b\nversion: 1.0.0\ndescription: b\nplatforms: [debian-amd64]\n",
		"notaruntime/x.sh": "",
	})
	cfg, err := ParseConfig([]byte("bases:\n  debian-amd64:\n    debootstrap: {suite: bookworm, arch: amd64}\n  debian-arm64:\n    debootstrap: {suite: bookworm, arch: arm64}\n"), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	list := func(reqs []Request) string {
		var s []string
		for _, r := range reqs {
			s = append(s, filepath.Base(r.RuntimeDir)+"/"+r.Platform)
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name      string
		opts      PlanOptions
		want      string
		wantNotes string
		wantErr   string
	}{
		{"all", PlanOptions{All: true}, "a/debian-amd64 a/debian-arm64 b/debian-amd64", "a: skipped for rhel-amd64 (no base for it in rtool.yaml)", ""},
		{"named", PlanOptions{Names: []string{"b"}}, "b/debian-amd64", "", ""},
		{"named with platform", PlanOptions{Names: []string{"a"}, Platforms: []string{"debian-arm64"}}, "a/debian-arm64", "", ""},
		{"all with platform", PlanOptions{All: true, Platforms: []string{"debian-arm64"}}, "a/debian-arm64", "b: skipped for debian-arm64 (not in its platforms)", ""},
		{"named runtime lacks platform", PlanOptions{Names: []string{"b"}, Platforms: []string{"debian-arm64"}}, "", "", "does not list platform debian-arm64"},
		{"platform without base", PlanOptions{Names: []string{"a"}, Platforms: []string{"rhel-amd64"}}, "", "", "bases.rhel-amd64"},
		{"unknown runtime", PlanOptions{Names: []string{"nope"}}, "", "", "no " + filepath.Join(rt, "nope", "manifest.yaml")},
		{"names and all", PlanOptions{Names: []string{"a"}, All: true}, "", "", "not both"},
		{"nothing", PlanOptions{}, "", "", "name one or more runtimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.RuntimesDir = rt
			reqs, notes, err := cfg.Plan(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Plan error = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := list(reqs); got != tt.want {
				t.Errorf("requests %q, want %q", got, tt.want)
			}
			if got := strings.Join(notes, "; "); got != tt.wantNotes {
				t.Errorf("notes %q, want %q", got, tt.wantNotes)
			}
		})
	}
}

// A runtime with build.base builds each platform on that named base, even
// a platform without a default base; an unknown name or one without a base
// for a platform the manifest lists stops the plan naming the manifest.
func TestPlanNamedBases(t *testing.T) {
	rt := t.TempDir()
	writeTree(t, rt, map[string]string{
		"jdk/manifest.yaml":     "name: jdk\nversion: 1.0.0\ndescription: j\nplatforms: [debian-amd64, ubuntu-amd64]\nbuild: {base: newer}\n",
		"py/manifest.yaml":      "name: py\nversion: 1.0.0\ndescription: p\nplatforms: [debian-amd64, ubuntu-amd64]\n",
		"typo/manifest.yaml":    "name: typo\nversion: 1.0.0\ndescription: t\nplatforms: [debian-amd64]\nbuild: {base: newr}\n",
		"partial/manifest.yaml": "name: partial\nversion: 1.0.0\ndescription: t\nplatforms: [debian-amd64, debian-arm64]\nbuild: {base: newer}\n",
	})
	cfg, err := ParseConfig([]byte(`bases:
  debian-amd64: {debootstrap: {suite: bookworm, arch: amd64}}
  debian-arm64: {debootstrap: {suite: bookworm, arch: arm64}}
named_bases:
  newer:
    debian-amd64: {debootstrap: {suite: trixie, arch: amd64}}
    ubuntu-amd64: {rootfs: noble.tar}
`), "rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      PlanOptions
		want      string
		wantNotes string
		wantErr   string
	}{
		{"named base covers a platform without a default", PlanOptions{Names: []string{"jdk"}}, "jdk/debian-amd64 jdk/ubuntu-amd64", "", ""},
		{"default-base runtime skips it", PlanOptions{Names: []string{"py"}}, "py/debian-amd64", "py: skipped for ubuntu-amd64 (no base for it in rtool.yaml)", ""},
		{"platform with only named bases, asked for", PlanOptions{Names: []string{"jdk"}, Platforms: []string{"ubuntu-amd64"}}, "jdk/ubuntu-amd64", "", ""},
		{"a default-base runtime asked for a platform without a default", PlanOptions{Names: []string{"jdk", "py"}, Platforms: []string{"ubuntu-amd64"}}, "", "",
			filepath.Join(rt, "py") + ": platform ubuntu-amd64 has no default base in rtool.yaml, only the named bases newer; add bases.ubuntu-amd64 to it, or build on a named base (build.base in the manifest, --base NAME for rtool base)"},
		{"unknown name", PlanOptions{Names: []string{"typo"}}, "", "",
			filepath.Join(rt, "typo", "manifest.yaml") + `: build.base: no named base "newr" in rtool.yaml (named_bases: newer); add named_bases.newr with a base for each of debian-amd64 to rtool.yaml, or use one of those`},
		{"named base lacks a listed platform", PlanOptions{Names: []string{"partial"}, Platforms: []string{"debian-amd64"}}, "", "",
			filepath.Join(rt, "partial", "manifest.yaml") + ": build.base: named base newer has no base for platform debian-arm64 in rtool.yaml (named_bases.newer has debian-amd64, ubuntu-amd64); add named_bases.newer.debian-arm64 to rtool.yaml, or remove debian-arm64 from platforms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.RuntimesDir = rt
			reqs, notes, err := cfg.Plan(tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Plan error:\n got  %v\n want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reqs {
				got = append(got, filepath.Base(r.RuntimeDir)+"/"+r.Platform)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("requests %q, want %q", strings.Join(got, " "), tt.want)
			}
			if g := strings.Join(notes, "; "); g != tt.wantNotes {
				t.Errorf("notes %q, want %q", g, tt.wantNotes)
			}
		})
	}
	// --all: the runtimes that can build there do, the others are noted.
	reqs, notes, err := cfg.Plan(PlanOptions{RuntimesDir: rt, All: true, Platforms: []string{"ubuntu-amd64"}})
	if err == nil {
		t.Fatalf("--all over a broken runtime planned %v %v", reqs, notes)
	}
	os.RemoveAll(filepath.Join(rt, "typo"))
	os.RemoveAll(filepath.Join(rt, "partial"))
	reqs, notes, err = cfg.Plan(PlanOptions{RuntimesDir: rt, All: true, Platforms: []string{"ubuntu-amd64"}})
	if err != nil || len(reqs) != 1 || filepath.Base(reqs[0].RuntimeDir) != "jdk" || strings.Join(notes, "; ") != "py: skipped for ubuntu-amd64 (no default base for it in rtool.yaml)" {
		t.Fatalf("--all -p ubuntu-amd64: %v %q %v", reqs, notes, err)
	}
}
