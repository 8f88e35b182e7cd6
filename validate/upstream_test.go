package validate

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// upstreamRoot is the upstream joblet-runtimes fixture: five manifests, no
// setup scripts.
const upstreamRoot = "../testdata/joblet-runtimes-upstream/runtimes"

func TestUpstreamFixtureManifestOnly(t *testing.T) {
	r, err := Root(context.Background(), upstreamRoot, nil, Options{ManifestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary != (Summary{Runtimes: 5}) || r.Failed(true) {
		t.Fatalf("summary %+v, findings:\n%s", r.Summary, dumpReport(r))
	}
}

// Without --manifest-only every upstream runtime lacks setup.sh and one
// setup-<platform>.sh per declared platform, and nothing else is wrong.
func TestUpstreamFixtureFull(t *testing.T) {
	r, err := Root(context.Background(), upstreamRoot, nil, Options{NoShellcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	platforms := []string{"ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64", "amzn-amd64", "amzn-arm64"}
	firstLine := map[string]int{ // line of the first platform in each manifest
		"graalvmjdk-21": 11, "openjdk-21": 10, "python-3.11": 10, "python-3.11-ml": 10, "python-3.11-pytorch-cuda": 11,
	}
	var want, got []string
	for _, name := range []string{"graalvmjdk-21", "openjdk-21", "python-3.11", "python-3.11-ml", "python-3.11-pytorch-cuda"} {
		m := filepath.Join(upstreamRoot, name, "manifest.yaml")
		for i, p := range platforms {
			want = append(want, fmt.Sprintf("%s:%d:5 error platform.setup-missing platform %s is declared but setup-%s.sh is missing", m, firstLine[name]+i, p, p))
		}
		want = append(want, fmt.Sprintf("%s error setup.missing runtime %s has no setup.sh", filepath.Join(upstreamRoot, name, "setup.sh"), name))
	}
	for _, rt := range r.Runtimes {
		for _, d := range rt.Diagnostics {
			got = append(got, fmt.Sprintf("%s %s %s %s", position(d), d.Severity, d.Rule, d.Message))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Summary != (Summary{Runtimes: 5, Errors: 35}) {
		t.Errorf("summary %+v", r.Summary)
	}
}

func dumpReport(r Report) string {
	var b strings.Builder
	for _, rt := range r.Runtimes {
		b.WriteString(dump(rt.Diagnostics))
	}
	return b.String()
}
