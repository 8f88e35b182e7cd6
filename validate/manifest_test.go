package validate

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

// TestCheckManifest covers manifest shapes the directory cases do not: each
// input yields exactly the listed "line:col rule message" findings.
func TestCheckManifest(t *testing.T) {
	const head = "name: demo\nversion: 1.0.0\ndescription: d\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"minimal", head + "platforms: [ubuntu-amd64]\n", nil},
		{"extra keys kept", head + "platforms: [ubuntu-amd64]\npython_version: 3.11.7\ncuda_version: 11.8.0\ncomponents: [a]\nfeatures: {x: 1}\n", nil},
		{"anchors and merge keys", "base: &b\n  version: 1.0.0\n  description: d\n<<: *b\nname: demo\nplatforms: &p [ubuntu-amd64]\nother: *p\n", nil},
		{"version integer", "name: demo\nversion: 2\ndescription: d\nplatforms: [ubuntu-amd64]\n",
			[]string{`2:10 version.format version 2 is read by YAML as a number and lacks a minor and patch number; write 2.0.0`}},
		{"version list", "name: demo\nversion: [1]\ndescription: d\nplatforms: [ubuntu-amd64]\n",
			[]string{`2:10 manifest.type "version" must be a string, not a list`}},
		{"version leading zero", "name: demo\nversion: 1.02.0\ndescription: d\nplatforms: [ubuntu-amd64]\n",
			[]string{`2:10 version.format version "1.02.0" has a leading zero in "02"; write 2`}},
		{"name integer", "name: 7\nversion: 1.0.0\ndescription: d\nplatforms: [ubuntu-amd64]\n",
			[]string{`1:7 manifest.type "name" must be a string, not an integer`}},
		{"name null", "name:\nversion: 1.0.0\ndescription: d\nplatforms: [ubuntu-amd64]\n",
			[]string{`1:1 manifest.required "name" has no value`}},
		{"all missing", "python_version: 3.11.7\n", []string{
			`1:1 manifest.required manifest has no "description"`,
			`1:1 manifest.required manifest has no "name"`,
			`1:1 manifest.required manifest has no "platforms"`,
			`1:1 manifest.required manifest has no "version"`,
		}},
		{"scalar document", "just text\n", []string{`1:1 manifest.not-mapping manifest.yaml is a string; it must be a mapping with name, version, description and platforms`}},
		{"platform entry not a string", head + "platforms:\n  - [ubuntu-amd64]\n  - ubuntu-arm64\n",
			[]string{`5:5 manifest.type platform must be a string, not a list`}},
		{"duplicate nested key", head + "platforms: [ubuntu-amd64]\nfeatures:\n  a: 1\n  a: 2\n",
			[]string{`7:3 manifest.duplicate-key key "a" is defined twice (first at line 6)`}},
		{"packages not a list", head + "platforms: [ubuntu-amd64]\npackages: numpy==1.0\n",
			[]string{`5:11 manifest.type "packages" must be a list, not a string`}},
		{"packages npm scoped", head + "platforms: [ubuntu-amd64]\npackages: ['@types/node@20.1.0', typescript@5.3.3]\n", nil},
		{"smoke not a list", head + "platforms: [ubuntu-amd64]\nsmoke: {name: a}\n",
			[]string{`5:8 manifest.type "smoke" must be a list of tests, not a mapping`}},
		{"smoke entry not a mapping", head + "platforms: [ubuntu-amd64]\nsmoke:\n  - python3 --version\n",
			[]string{`6:5 manifest.type smoke test 1 must be a mapping with name and command, not a string`}},
		{"smoke expect not a string", head + "platforms: [ubuntu-amd64]\nsmoke:\n  - name: a\n    command: [x]\n    expect: [x]\n",
			[]string{`8:13 manifest.type smoke test "a": expect must be a string, not a list`}},
		{"smoke command argument", head + "platforms: [ubuntu-amd64]\nsmoke:\n  - name: a\n    command: [\"\", {a: 1}]\n",
			[]string{
				`7:15 smoke.command smoke test "a": the program (first command element) is empty`,
				`7:19 smoke.command smoke test "a": command argument 2 must be a string, not a mapping`,
			}},
		{"build not a mapping", head + "platforms: [ubuntu-amd64]\nbuild: 20m\n",
			[]string{`5:8 manifest.type "build" must be a mapping, not a string`}},
		{"build timeout negative", head + "platforms: [ubuntu-amd64]\nbuild:\n  timeout: -5m\n",
			[]string{`6:12 build.timeout build.timeout "-5m" must be positive`}},
		{"undecodable extra value", head + "platforms: [ubuntu-amd64]\nblob: !!binary not*base64\n",
			[]string{`1:1 manifest.yaml rtool cannot decode manifest.yaml: !!binary value contains invalid base64 data`}},
		{"trailing document marker", head + "platforms: [ubuntu-amd64]\n...\n", nil},
		{"tab indentation", "name: demo\n\tversion: 1.0.0\n",
			[]string{`2:0 manifest.yaml invalid YAML: found a tab character that violates indentation`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := CheckManifest("m.yaml", []byte(tc.yaml), "demo")
			var got []string
			for _, d := range ds {
				got = append(got, strings.Join([]string{itoa(d.Line) + ":" + itoa(d.Column), d.Rule, d.Message}, " "))
				if d.File != "m.yaml" || d.Hint == "" || d.Severity != severityOf(d.Rule) {
					t.Errorf("malformed diagnostic %+v", d)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestUpstreamManifestsDecode checks that what validate accepts, rtool's
// decoder reads, for the five upstream manifests.
func TestUpstreamManifestsDecode(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(upstreamRoot, "*", ManifestFile))
	if err != nil || len(paths) != 5 {
		t.Fatalf("upstream fixture: %d manifests, %v", len(paths), err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if ds := CheckManifest(p, data, filepath.Base(filepath.Dir(p))); len(ds) != 0 {
			t.Errorf("%s: %v", p, ds)
		}
		m, err := schema.ParseManifest(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Extra) == 0 {
			t.Errorf("%s: extra keys (python_version, java_version, ...) were not kept", p)
		}
	}
}
