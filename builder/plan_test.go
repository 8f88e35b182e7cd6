package builder

import (
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
