package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // substring; "" means valid
	}{
		{"1.3.2", ""},
		{"0.0.1", ""},
		{"3.0.0-rc1", ""},
		{"1.0.0+build.5", ""},
		{"1.0", "lacks a patch number; write 1.0.0"},
		{"1", "lacks a minor and patch number"},
		{"v1.0.0", `has a "v" prefix; write "1.0.0"`},
		{"V2.1.0", `has a "V" prefix`},
		{"01.2.3", "leading zero"},
		{"1.2.3.4", "has 4 numbers"},
		{"", "version is empty"},
		{"latest", "not semantic versioning"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckVersion(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckVersion(%q) = %v, want nil", tc.in, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckVersion(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"python-3.11-ml", ""},
		{"openjdk-21", ""},
		{"9lives", ""},
		{"Python-3.11", `has uppercase letters; names are lowercase letters, digits, dots and hyphens, starting with a letter or digit; use "python-3.11"`},
		{"Bad_Name", `use "bad-name"`},
		{"__", "(for example python-3.11-ml)"},
		{"-python", `starting with a letter or digit; use "python"`},
		{"python_3", `lowercase letters, digits, dots and hyphens, starting with a letter or digit; use "python-3"`},
		{"python-", "must not end"},
		{"a..b", `must not contain ".."`},
		{"", "empty"},
		{strings.Repeat("a", 101), "limit is 100"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckName(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckName(%q) = %v, want nil", tc.in, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckName(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestParsePlatformAndTag(t *testing.T) {
	if p, err := ParsePlatform("debian-arm64"); err != nil || p.OS != "debian" || p.Arch != "arm64" {
		t.Fatalf("ParsePlatform(debian-arm64) = %v, %v", p, err)
	}
	for _, bad := range []string{"debian", "windows-amd64", "ubuntu-x86_64", "Ubuntu-amd64"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", bad)
		}
	}
	tag, err := ParseTag("python-3.11-ml@1.3.3")
	if err != nil || tag.Name != "python-3.11-ml" || tag.Version != "1.3.3" {
		t.Fatalf("ParseTag = %v, %v", tag, err)
	}
	for _, bad := range []string{"python-3.11", "python@v1.0.0", "@1.0.0", "Py@1.0.0"} {
		if _, err := ParseTag(bad); err == nil {
			t.Errorf("ParseTag(%q) accepted", bad)
		}
	}
}

func TestSortVersionStrings(t *testing.T) {
	in := []string{"1.10.0", "1.2.0", "1.2.0-rc1", "junk", "0.9.9"}
	SortVersionStrings(in)
	want := "0.9.9 1.2.0-rc1 1.2.0 1.10.0 junk"
	if got := strings.Join(in, " "); got != want {
		t.Fatalf("sorted = %s, want %s", got, want)
	}
}

func TestReadManifest(t *testing.T) {
	tests := []struct {
		name, manifest, wantErr string
	}{
		{"valid", "name: demo\nversion: 1.0.0\ndescription: d\nplatforms: [debian-amd64]\npython_version: 3.11.2\n", ""},
		{"bad version", "name: demo\nversion: v1.0.0\nplatforms: [debian-amd64]\n", `manifest.yaml: version: version "v1.0.0" has a "v" prefix`},
		{"bad name", "name: Demo\nversion: 1.0.0\nplatforms: [debian-amd64]\n", "manifest.yaml: name: runtime name \"Demo\" has uppercase letters"},
		{"no platforms", "name: demo\nversion: 1.0.0\n", "manifest.yaml: platforms: list at least one platform"},
		{"bad platform", "name: demo\nversion: 1.0.0\nplatforms: [windows-amd64]\n", "manifest.yaml: platforms: platform \"windows-amd64\""},
		{"not yaml", "name: [\n", "manifest.yaml: decode manifest"},
		{"missing", "", "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m, err := ReadManifest(dir)
			if tc.wantErr == "" {
				if err != nil || m.Name != "demo" || m.Extra["python_version"] != "3.11.2" {
					t.Fatalf("ReadManifest = %+v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ReadManifest error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestBuildBaseProblem(t *testing.T) {
	named := map[string][]string{"trixie": {"debian-amd64", "debian-arm64"}, "noble": {"ubuntu-amd64"}}
	tests := []struct {
		name, base string
		platforms  []string
		named      map[string][]string
		problem    string
		fix        string
	}{
		{"covers every platform", "trixie", []string{"debian-amd64", "debian-arm64"}, named, "", ""},
		{"unknown, others listed sorted", "sid", []string{"debian-amd64"}, named,
			`no named base "sid" in rtool.yaml (named_bases: noble, trixie)`,
			"add named_bases.sid with a base for each of debian-amd64 to rtool.yaml, or use one of those"},
		{"unknown, none configured", "sid", []string{"debian-amd64"}, nil,
			`no named base "sid" in rtool.yaml (named_bases: none)`,
			"add named_bases.sid with a base for each of debian-amd64 to rtool.yaml, or use one of those"},
		{"platforms missing, each once", "trixie", []string{"debian-amd64", "ubuntu-arm64", "rhel-amd64", "ubuntu-arm64"}, named,
			"named base trixie has no base for platform ubuntu-arm64, rhel-amd64 in rtool.yaml (named_bases.trixie has debian-amd64, debian-arm64)",
			"add named_bases.trixie.ubuntu-arm64 to rtool.yaml, or remove ubuntu-arm64, rhel-amd64 from platforms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problem, fix := BuildBaseProblem(tt.base, tt.platforms, tt.named, "rtool.yaml")
			if problem != tt.problem || fix != tt.fix {
				t.Errorf("BuildBaseProblem(%q, %q) =\n  %q, %q\nwant\n  %q, %q", tt.base, tt.platforms, problem, fix, tt.problem, tt.fix)
			}
		})
	}
}
