package validate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/joblet/rtool/schema"
)

// FuzzParseManifest feeds arbitrary bytes to the manifest checks. They must
// never panic, every finding must be well formed, and a manifest with no
// errors must be one that rtool's decoder reads and whose name, version and
// platforms follow the rules.
func FuzzParseManifest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "*", ManifestFile))
	up, _ := filepath.Glob(filepath.Join(upstreamRoot, "*", ManifestFile))
	for _, p := range append(seeds, up...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: demo\nversion: 1.0.0\ndescription: d\nplatforms: [ubuntu-amd64]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("<<: [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds := CheckManifest("manifest.yaml", data, "demo")
		errs := 0
		for _, d := range ds {
			if d.File != "manifest.yaml" || d.Line < 0 || d.Column < 0 || d.Message == "" || d.Hint == "" || !known(d.Rule) || d.Severity != severityOf(d.Rule) {
				t.Fatalf("malformed diagnostic %+v", d)
			}
			if d.Severity == SeverityError {
				errs++
			}
		}
		if errs > 0 {
			return
		}
		m, err := schema.ParseManifest(data)
		if err != nil {
			t.Fatalf("no findings, but rtool cannot decode it: %v", err)
		}
		if m.Name != "demo" || schema.CheckName(m.Name) != nil || schema.CheckVersion(m.Version) != nil || m.Description == "" || len(m.Platforms) == 0 {
			t.Fatalf("no findings, but the manifest breaks a rule: %+v", m)
		}
		for _, p := range m.Platforms {
			if _, err := schema.ParsePlatform(p); err != nil {
				t.Fatalf("no findings, but platform %q: %v", p, err)
			}
		}
	})
}
