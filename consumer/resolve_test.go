package consumer

import (
	"os"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

func testRegistry() *Loaded {
	sum := "sha256:" + strings.Repeat("a", 64)
	art := func(ps ...string) map[string]*schema.Artifact {
		m := map[string]*schema.Artifact{}
		for _, p := range ps {
			m[p] = &schema.Artifact{DownloadURL: "py-" + p + ".tar.gz", Checksum: sum, Size: 10}
		}
		return m
	}
	e := func(v string, a map[string]*schema.Artifact) *schema.RegistryEntry {
		return &schema.RegistryEntry{Version: v, DownloadURL: "src-" + v + ".tar.gz", Checksum: sum, Size: 5, Platforms: []string{"ubuntu-amd64"}, Artifacts: a}
	}
	yanked := e("1.4.0", art("debian-amd64"))
	yanked.Yanked = &schema.Yank{Reason: "broken pip", Date: "2026-01-02T00:00:00Z"}
	reg := &schema.Registry{Version: "1", Runtimes: map[string]map[string]*schema.RegistryEntry{
		"python-3.11": {
			"1.2.0":       e("1.2.0", art("debian-amd64", "ubuntu-amd64")),
			"1.2.5":       e("1.2.5", art("debian-amd64")),
			"1.3.0":       e("1.3.0", art("debian-amd64", "rhel-arm64")),
			"1.3.2":       e("1.3.2", art("ubuntu-amd64")),
			"1.4.0":       yanked,
			"2.0.0-rc.1":  e("2.0.0-rc.1", art("debian-amd64")),
			"0.9.0":       e("0.9.0", art("debian-amd64")),
			"1.10.0-beta": e("1.10.0-beta", art("debian-amd64")),
		},
		"python-3.11-ml": {"1.0.0": e("1.0.0", art("debian-amd64"))},
		"openjdk-21":     {"1.0.0": e("1.0.0", art("debian-amd64"))},
		"nodejs-20":      {"1.0.0": e("1.0.0", nil)}, // upstream entry: no artifacts
		"pre-only":       {"1.0.0-rc.1": e("1.0.0-rc.1", art("debian-amd64"))},
	}}
	return &Loaded{Where: "/srv/registry.json", Registry: reg}
}

func TestResolve(t *testing.T) {
	regs := []*Loaded{testRegistry()}
	tests := []struct {
		spec, platform string
		want           string // version, or "error: substring"
		universal      bool
		warn           bool
	}{
		{"python-3.11", "debian-amd64", "1.3.0", false, false},                   // 1.4.0 yanked, 1.3.2 not for debian, rc skipped
		{"python-3.11@latest", "ubuntu-amd64", "1.3.2", false, false},            // highest for ubuntu
		{"python-3.11@latest", "rhel-arm64", "1.3.0", false, false},              // only 1.3.0 has rhel-arm64
		{"python-3.11@1.4.0", "debian-amd64", "1.4.0", false, true},              // yanked allowed exactly, with a warning
		{"python-3.11@1.2.0", "debian-amd64", "1.2.0", false, false},             // exact
		{"python-3.11@^1.2", "debian-amd64", "1.3.0", false, false},              // range skips yanked 1.4.0
		{"python-3.11@~1.2.0", "debian-amd64", "1.2.5", false, false},            // tilde
		{"python-3.11@>=1.0 <1.3", "debian-amd64", "1.2.5", false, false},        // AND range
		{"python-3.11@<1.0", "debian-amd64", "0.9.0", false, false},              // below 1
		{"python-3.11@>=2.0.0-rc.0", "debian-amd64", "2.0.0-rc.1", false, false}, // range naming a pre-release admits them
		{"python-3.11@2.0.0-rc.1", "debian-amd64", "2.0.0-rc.1", false, false},   // exact pre-release
		{"nodejs-20", "ubuntu-amd64", "1.0.0", true, false},                      // upstream entry, listed platform
		{"nodejs-20", "debian-amd64", "error: nodejs-20", false, false},          // upstream entry, platform not listed
		{"python-3.11@1.3.2", "debian-amd64", "error: platforms with one: ubuntu-amd64", false, false},
		{"python-3.11@9.9.9", "debian-amd64", "error: version '9.9.9' not found for runtime 'python-3.11'", false, false},
		{"python-3.11@9.9.9", "debian-amd64", "error: 1.4.0 (yanked)", false, false},
		{"python-3.11@^3", "debian-amd64", "error: no version matches \"^3\"", false, false},
		{"python-3.11", "amzn-arm64", "error: no artifact for platform amzn-arm64", false, false},
		{"python-3.11", "amzn-arm64", "error: 1.3.0 (debian-amd64, rhel-arm64)", false, false},
		{"pyhton-3.11", "debian-amd64", "error: did you mean python-3.11", false, false},
		{"python3", "debian-amd64", "error: did you mean python-3.11", false, false},
		{"python-3.12", "debian-amd64", "error: runtime 'python-3.12' not found", false, false},
		{"pre-only", "debian-amd64", "error: no stable version", false, false},
		{"python-3.11", "windows-amd64", "error: platform \"windows-amd64\"", false, false},
	}
	for _, tt := range tests {
		sp, err := ParseSpec(tt.spec)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.spec, err)
			continue
		}
		r, err := Resolve(regs, sp, tt.platform)
		if want, isErr := strings.CutPrefix(tt.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Resolve(%q, %s) error = %v, want it to contain %q", tt.spec, tt.platform, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q, %s): %v", tt.spec, tt.platform, err)
			continue
		}
		if r.Version != tt.want || r.Universal != tt.universal || (len(r.Warnings) > 0) != tt.warn {
			t.Errorf("Resolve(%q, %s) = %s universal=%v warnings=%q; want %s universal=%v warn=%v",
				tt.spec, tt.platform, r.Version, r.Universal, r.Warnings, tt.want, tt.universal, tt.warn)
		}
		wantURL := "/srv/py-" + tt.platform + ".tar.gz"
		if tt.universal {
			wantURL = "/srv/src-" + r.Version + ".tar.gz"
		}
		if r.URL != wantURL {
			t.Errorf("Resolve(%q).URL = %q, want %q", tt.spec, r.URL, wantURL)
		}
	}
}

func TestResolveSearchesRegistriesInOrder(t *testing.T) {
	a := testRegistry()
	b := testRegistry()
	b.Where = "/other/registry.json"
	b.Registry.Runtimes["only-in-b"] = map[string]*schema.RegistryEntry{"3.0.0": b.Registry.Runtimes["openjdk-21"]["1.0.0"]}
	b.Registry.Runtimes["only-in-b"]["3.0.0"] = &schema.RegistryEntry{Version: "3.0.0", Checksum: "sha256:" + strings.Repeat("b", 64), Size: 1,
		Artifacts: map[string]*schema.Artifact{"debian-amd64": {DownloadURL: "b.tar.gz", Checksum: "sha256:" + strings.Repeat("b", 64), Size: 1}}}
	delete(a.Registry.Runtimes["python-3.11"], "1.2.0")
	for _, tt := range []struct{ spec, where string }{
		{"python-3.11@1.3.0", "/srv/registry.json"},   // first registry wins
		{"python-3.11@1.2.0", "/other/registry.json"}, // only the second has it
		{"only-in-b", "/other/registry.json"},
	} {
		sp, _ := ParseSpec(tt.spec)
		r, err := Resolve([]*Loaded{a, b}, sp, "debian-amd64")
		if err != nil || r.Registry != tt.where {
			t.Errorf("Resolve(%s) = %+v, %v; want from %s", tt.spec, r, err, tt.where)
		}
	}
}

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		in   string
		kind SpecKind
		bad  bool
	}{
		{"python-3.11", Latest, false},
		{"python-3.11@latest", Latest, false},
		{"python-3.11@1.2.3", Exact, false},
		{"python-3.11@1.2.3-rc.1", Exact, false},
		{"python-3.11@^1.2", Range, false},
		{"python-3.11@1.2", Range, false},
		{"python-3.11@>=1.0 <2.0", Range, false},
		{"python-3.11@", Latest, true},
		{"Python@1.0.0", Latest, true},
		{"python@not a version!", Latest, true},
		{"", Latest, true},
	} {
		sp, err := ParseSpec(tt.in)
		if (err != nil) != tt.bad || (err == nil && sp.Kind != tt.kind) {
			t.Errorf("ParseSpec(%q) = %+v, %v", tt.in, sp, err)
		}
	}
}

func TestResolveUpstreamRegistry(t *testing.T) {
	data, err := os.ReadFile("../testdata/joblet-runtimes-upstream/registry.json")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := schema.ParseRegistry(data)
	if err != nil {
		t.Fatal(err)
	}
	l := &Loaded{Where: "https://raw.githubusercontent.com/ehsaniara/joblet-runtimes/main/registry.json", IsURL: true, Registry: reg}
	keys := schema.SortedVersions(reg.Runtimes["python-3.11"])
	sp, _ := ParseSpec("python-3.11")
	r, err := Resolve([]*Loaded{l}, sp, "ubuntu-amd64")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != keys[len(keys)-1] || !r.Universal || r.URL != reg.Runtimes["python-3.11"][r.Version].DownloadURL {
		t.Errorf("upstream python-3.11@latest = %s %s universal=%v, want %s", r.Version, r.URL, r.Universal, keys[len(keys)-1])
	}
	if _, err := Resolve([]*Loaded{l}, sp, "debian-amd64"); err == nil || !strings.Contains(err.Error(), "ubuntu-amd64") {
		t.Errorf("upstream has no debian entries; error should list the platforms: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"pyhton", "python", 2}, {"kitten", "sitting", 3}, {"", "ab", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestAvailable(t *testing.T) {
	a := testRegistry()
	b := testRegistry()
	b.Where = "/b/registry.json"
	b.Registry.Runtimes["zz-only-b"] = b.Registry.Runtimes["openjdk-21"]
	all := Available([]*Loaded{a, b}, "", "debian-amd64")
	var names []string
	for _, v := range all {
		if len(names) == 0 || names[len(names)-1] != v.Name {
			names = append(names, v.Name)
		}
		if v.Name == "python-3.11" && v.Registry != a.Where {
			t.Errorf("python-3.11 listed from %s; the first registry hides later ones", v.Registry)
		}
	}
	if want := "nodejs-20 openjdk-21 pre-only python-3.11 python-3.11-ml zz-only-b"; strings.Join(names, " ") != want {
		t.Errorf("names = %v, want %s", names, want)
	}
	py := Available([]*Loaded{a}, "python-3.11", "debian-amd64")
	var got []string
	for _, v := range py {
		s := v.Version
		if v.Yanked != "" {
			s += "(y)"
		}
		if !v.HasArtifact {
			s += "(-)"
		}
		got = append(got, s)
	}
	if want := "0.9.0 1.2.0 1.2.5 1.3.0 1.3.2(-) 1.4.0(y) 1.10.0-beta 2.0.0-rc.1"; strings.Join(got, " ") != want {
		t.Errorf("python-3.11 versions = %v, want %s", got, want)
	}
}
