package sbom

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const demoSHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// demoSpec is the fixture build: testdata/bookworm is a trimmed copy of a
// Debian bookworm minbase chroot's package database (real status entries,
// file lists and copyright files, plus python3-six and a removed package
// made up for the test), testdata/tree a collected runtime tree laid out
// as this repository's runtimes are.
func demoSpec(t *testing.T) Spec {
	t.Helper()
	d, err := ReadDpkg("testdata/bookworm")
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Artifact: "demo-1.0.0-debian-amd64.tar.gz", SHA256: demoSHA,
		Name: "demo", Version: "1.0.0", Platform: "debian-amd64", Tool: "rtool-test",
		Created: time.Unix(1700000000, 0), Tree: "testdata/tree", InstallDir: "/opt/joblet/runtimes/demo",
		Mounts: []Mount{{"isolated/usr/bin", "/usr/bin"}, {"isolated/usr/bin", "/bin"}, {"isolated/usr/lib", "/usr/lib"},
			{"isolated/usr/lib64", "/lib64"}, {"isolated/etc/ssl", "/etc/ssl"}},
		Dpkg: d,
	}
}

func encode(t *testing.T, spec Spec) []byte {
	t.Helper()
	doc, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBuildGolden(t *testing.T) {
	got := encode(t, demoSpec(t))
	golden := filepath.Join("testdata", "demo.spdx.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/sbom -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("SBOM differs from %s (go test ./internal/sbom -update to accept):\n%s", golden, got)
	}
}

func TestBuildListsWhatTheTreeHolds(t *testing.T) {
	s, err := Summarize(encode(t, demoSpec(t)), demoSHA)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]PackageSummary{}
	for _, p := range s.Packages {
		got[p.Type+"/"+p.Name] = p
	}
	tests := []struct {
		pkg     string
		present bool
		why     string
		purl    string
		license string
	}{
		{"deb/dash", true, "isolated/usr/bin/dash is /bin/dash of dash.list (merged /usr)", "pkg:deb/debian/dash@0.5.12-2?arch=amd64&distro=debian-12",
			"BSD-3-Clause AND GPL-2.0-or-later AND LicenseRef-public-domain"},
		{"deb/zlib1g", true, "libz.so.1.2.13 is /lib/x86_64-linux-gnu/libz.so.1.2.13", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib", "Zlib"},
		{"deb/libc6", true, "the tree holds only the symlink /lib64/ld-linux-x86-64.so.2 (multi-arch list libc6:amd64.list)",
			"pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc", "NOASSERTION"},
		{"deb/libgcc-s1", true, "copyright not machine-readable", "pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=gcc-12", "NOASSERTION"},
		{"deb/python3-six", true, "architecture all, owns the egg-info", "pkg:deb/debian/python3-six@1.16.0-4?arch=all&distro=debian-12&upstream=six",
			"(MIT OR GPL-2.0-or-later WITH Autoconf-exception-2.0) AND LicenseRef-Sixish AND MIT"},
		{"deb/libzstd1", false, "installed but none of its files is in the tree", "", ""},
		{"deb/base-files", false, "installed but none of its files is in the tree", "", ""},
		{"deb/gcc-12-base", false, "installed but none of its files is in the tree", "", ""},
		{"deb/oldpkg", false, "removed (config-files); its left-over list names libold.so.1, which is in the tree", "", ""},
		{"pypi/six", false, "its metadata belongs to python3-six", "", ""},
		{"pypi/Flask_Cors", true, "License-Expression wins over classifiers; purl name normalized", "pkg:pypi/flask-cors@4.0.0", "MIT"},
		{"pypi/requests", true, "classifier wins over a free-form License", "pkg:pypi/requests@2.31.0", "Apache-2.0"},
		{"pypi/oldstyle", true, "egg-info PKG-INFO; a bare BSD is no SPDX id", "pkg:pypi/oldstyle@0.1", "LicenseRef-BSD"},
		{"npm/left-pad", true, "node_modules/NAME/package.json", "pkg:npm/left-pad@1.3.0", "WTFPL"},
		{"npm/@scope/pkg", true, "scoped; old {type} licence form; Expat is MIT", "pkg:npm/%40scope/pkg@0.1.0", "MIT"},
		{"npm/dep", true, "nested node_modules; old licenses list is a choice", "pkg:npm/dep@2.0.0", "MIT OR Apache-2.0"},
		{"npm/not-a-package", false, "package.json outside node_modules/NAME/", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			p, ok := got[tt.pkg]
			if ok != tt.present {
				t.Fatalf("present = %v, want %v (%s)", ok, tt.present, tt.why)
			}
			if !ok {
				return
			}
			if p.PURL != tt.purl {
				t.Errorf("purl = %s, want %s", p.PURL, tt.purl)
			}
			if p.License != tt.license {
				t.Errorf("license = %s, want %s", p.License, tt.license)
			}
		})
	}
	if want := map[string]int{"deb": 5, "pypi": 3, "npm": 3}; !reflect.DeepEqual(s.Counts, want) {
		t.Errorf("counts = %v, want %v", s.Counts, want)
	}
	if s.Subject.SHA256 != demoSHA || s.Subject.File != "demo-1.0.0-debian-amd64.tar.gz" || s.Subject.Name != "demo" {
		t.Errorf("subject = %+v", s.Subject)
	}
}

// The same inputs give the same bytes, wherever the tree is.
func TestBuildIsDeterministic(t *testing.T) {
	first := encode(t, demoSpec(t))
	copyDir := filepath.Join(t.TempDir(), "elsewhere")
	if out, err := exec.Command("cp", "-a", "testdata/tree", copyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	spec := demoSpec(t)
	spec.Tree = copyDir
	if second := encode(t, spec); !bytes.Equal(first, second) {
		t.Error("a second build of the same inputs (tree copied elsewhere) gave different bytes")
	}
	spec.SHA256 = strings.Repeat("f", 64)
	if third := encode(t, spec); bytes.Equal(first, third) {
		t.Error("another artifact's SBOM has the same bytes")
	} else if !bytes.Contains(third, []byte(Namespace(spec.Artifact, spec.SHA256))) {
		t.Error("the namespace does not follow the artifact's sha256")
	}
}

// The document reads back with the SPDX library and validates.
func TestBuildReadsBack(t *testing.T) {
	data := encode(t, demoSpec(t))
	doc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Fatal(err)
	}
	ids, err := spdxlib.GetDescribedPackageIDs(doc)
	if err != nil || len(ids) != 1 || ids[0] != ArtifactID {
		t.Errorf("described = %v, %v; want the artifact alone", ids, err)
	}
	if doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("created = %s, want SOURCE_DATE_EPOCH", doc.CreationInfo.Created)
	}
	refs := map[string]bool{}
	for _, l := range doc.OtherLicenses {
		refs[l.LicenseIdentifier] = l.ExtractedText != ""
	}
	for _, p := range doc.Packages {
		for _, tok := range licenseTokens(p.PackageLicenseDeclared) {
			if strings.HasPrefix(tok, "LicenseRef-") && !refs[tok] {
				t.Errorf("%s uses %s, which has no extracted licensing info with text", p.PackageName, tok)
			}
		}
	}
}

func TestBuildWithoutDpkg(t *testing.T) {
	spec := demoSpec(t)
	spec.Dpkg = nil
	s, err := Summarize(encode(t, spec), "")
	if err != nil {
		t.Fatal(err)
	}
	// without a package database nothing owns six's egg-info: it is listed
	if want := map[string]int{"pypi": 4, "npm": 3}; !reflect.DeepEqual(s.Counts, want) {
		t.Errorf("counts = %v, want %v", s.Counts, want)
	}
}

func TestBuildErrors(t *testing.T) {
	bad := t.TempDir()
	dist := filepath.Join(bad, "x", "broken-1.0.dist-info")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "METADATA"), []byte("Metadata-Version: 2.1\nSummary: no name\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	npm := filepath.Join(bad, "y", "node_modules", "z")
	if err := os.MkdirAll(npm, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*Spec)
		want   string
	}{
		{"short sha256", func(s *Spec) { s.SHA256 = "abc" }, `sha256 "abc" is not 64 lowercase hex digits`},
		{"no name", func(s *Spec) { s.Name = "" }, "runtime name and version are required"},
		{"no tree", func(s *Spec) { s.Tree = "" }, "no tree to scan"},
		{"missing tree", func(s *Spec) { s.Tree = filepath.Join(bad, "missing") }, "sbom: scan"},
		{"metadata without a name", func(s *Spec) { s.Tree = bad }, "python package metadata x/broken-1.0.dist-info/METADATA: no Name or Version field"},
		{"broken package.json", func(s *Spec) {
			os.RemoveAll(dist)
			os.WriteFile(filepath.Join(npm, "package.json"), []byte("{"), 0o644)
			s.Tree = bad
		}, "npm package manifest y/node_modules/z/package.json: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := demoSpec(t)
			tt.modify(&spec)
			_, err := Build(spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDebianExpression(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GPL-2", "GPL-2.0-only"},
		{"GPL-2+", "GPL-2.0-or-later"},
		{"GPLv3+", "GPL-3.0-or-later"},
		{"GPL-2.0+", "GPL-2.0-or-later"},
		{"LGPL-2.1+", "LGPL-2.1-or-later"},
		{"LGPL-2", "LGPL-2.0-only"},
		{"LGPLv2.1+", "LGPL-2.1-or-later"},
		{"AGPL-3+", "AGPL-3.0-or-later"},
		{"GPL-2.1", "LicenseRef-GPL-2.1"},
		{"GPL", "LicenseRef-GPL"},
		{"Expat", "MIT"},
		{"BSD-3-clause", "BSD-3-Clause"},
		{"zlib", "Zlib"},
		{"Artistic", "Artistic-1.0-Perl"},
		{"GPL-1+ or Artistic", "GPL-1.0-or-later OR Artistic-1.0-Perl"},
		{"LGPL-3+ or GPL-2+", "LGPL-3.0-or-later OR GPL-2.0-or-later"},
		{"Sleepycat and BSD-3-clause", "Sleepycat AND BSD-3-Clause"},
		{"GPL-3+ and ISC or MIT", "(GPL-3.0-or-later AND ISC) OR MIT"},
		{"BSD-3-clause or GPL-2, and MIT", "(BSD-3-Clause OR GPL-2.0-only) AND MIT"},
		{"GPL-3+ with Bison exception", "GPL-3.0-or-later WITH Bison-exception-2.2"},
		{"GPL-2+ with Autoconf exception", "GPL-2.0-or-later WITH Autoconf-exception-2.0"},
		{"GPL-3+ with Autoconf exception", "GPL-3.0-or-later WITH Autoconf-exception-3.0"},
		{"GPL-2 with Linux-syscall-note exception", "GPL-2.0-only WITH Linux-syscall-note"},
		{"GPL-2+ with Texinfo exception", "LicenseRef-GPL-2-with-Texinfo-exception"},
		{"Perl", "Artistic-1.0-Perl OR GPL-1.0-or-later"},
		{"Perl, and Zlib", "(Artistic-1.0-Perl OR GPL-1.0-or-later) AND Zlib"},
		{"public-domain", "LicenseRef-public-domain"},
		{"LGPLv3+_or_GPLv2+", "LicenseRef-LGPLv3-or-GPLv2"},
		{"MIT/X11", "LicenseRef-MIT-X11"},
		{"", "NOASSERTION"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := debianExpression(tt.in, refs{}); got != tt.want {
				t.Errorf("debianExpression(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpression(t *testing.T) {
	tests := []struct{ in, want string }{
		{"MIT", "MIT"},
		{"(MIT OR Apache-2.0)", "(MIT OR Apache-2.0)"},
		{"Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"},
		{"MIT OR GPL-2.0-or-later", "MIT OR GPL-2.0-or-later"},
		{"Expat OR GPL-2+", "MIT OR GPL-2.0-or-later"},
		{"BSD", "LicenseRef-BSD"},
		{"MIT OR BSD", "MIT OR LicenseRef-BSD"},
		{"Apache 2.0", "LicenseRef-Apache-2.0"},
		{"MIT AND", "LicenseRef-MIT-AND"},
		{"(MIT", "LicenseRef-MIT"},
		{"UNKNOWN", "NOASSERTION"},
		{" ", "NOASSERTION"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := expression(tt.in, refs{}); got != tt.want {
				t.Errorf("expression(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAllOf(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "NOASSERTION"},
		{[]string{"NOASSERTION"}, "NOASSERTION"},
		{[]string{"MIT"}, "MIT"},
		{[]string{"MIT", "Zlib", "MIT"}, "MIT AND Zlib"},
		{[]string{"MIT OR GPL-2.0-only"}, "MIT OR GPL-2.0-only"},
		{[]string{"Zlib", "MIT OR GPL-2.0-only"}, "(MIT OR GPL-2.0-only) AND Zlib"},
	}
	for _, tt := range tests {
		if got := allOf(tt.in); got != tt.want {
			t.Errorf("allOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCopyright(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		names []string
		texts map[string]string
	}{
		{"not machine-readable", "This is the Debian prepackaged version of X.\n\nLicense: GPL-2\n", nil, nil},
		{"empty", "", nil, nil},
		{"dep5", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: me\nLicense: GPL-2+\n\nFiles: a/*\nLicense: Expat\n text of\n .\n expat\n\nFiles: b/*\nLicense: GPL-2+\n\nLicense: GPL-2+\n On Debian systems ...\n",
			[]string{"GPL-2+", "Expat"}, map[string]string{"GPL-2+": "On Debian systems ..."}},
		{"old format field, CRLF, comments", "Format-Specification: http://svn.debian.org/wsvn/dep/web/deps/dep5.mdwn?op=file&rev=135\r\n\r\n# a comment\r\nFiles: *\r\nLicense: BSD-3-clause\r\n",
			[]string{"BSD-3-clause"}, map[string]string{}},
		{"license with empty first line", "Format: x\n\nFiles: *\nLicense:\n some text\n", nil, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, texts := parseCopyright([]byte(tt.in))
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("names = %q, want %q", names, tt.names)
			}
			if !reflect.DeepEqual(texts, tt.texts) {
				t.Errorf("texts = %q, want %q", texts, tt.texts)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	in := `Package: a
Status: install ok installed
Architecture: amd64
Version: 1.0-1

Package: b
Status: install ok installed
Architecture: all
Source: bsrc (2.0-3)
Version: 2.0-3+b1
Maintainer: Team <t@example.org>

Package: c
Status: deinstall ok config-files
Architecture: amd64
Version: 3

Package: a
Status: install ok installed
Architecture: i386
Version: 1.0-1
Source: asrc
`
	pkgs, err := parseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name+":"+p.Arch+" "+p.Version+" from "+p.Source+" "+p.SourceVersion)
	}
	want := []string{"a:amd64 1.0-1 from a 1.0-1", "a:i386 1.0-1 from asrc 1.0-1", "b:all 2.0-3+b1 from bsrc 2.0-3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := parseStatus([]byte("Package: x\nStatus: install ok installed\nArchitecture: amd64\n")); err == nil || !strings.Contains(err.Error(), "package x has no Version") {
		t.Errorf("missing Version: %v", err)
	}
}

func TestDistroQualifier(t *testing.T) {
	tests := []struct {
		osRelease, want string
	}{
		{"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n", "debian-12"},
		{"ID=ubuntu\nVERSION_ID=\"22.04\"\n", "ubuntu-22.04"},
		{"PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\nVERSION_CODENAME=trixie\n", "debian-trixie"},
		{"NAME=x\n", ""},
	}
	for _, tt := range tests {
		if got := parseOSRelease([]byte(tt.osRelease)).Qualifier(); got != tt.want {
			t.Errorf("%q: qualifier %q, want %q", tt.osRelease, got, tt.want)
		}
	}
}

func TestOwners(t *testing.T) {
	d, err := ReadDpkg("testdata/bookworm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/bin/dash", []string{"dash"}},
		{"/usr/bin/dash", []string{"dash"}},                    // canonical form of /bin/dash
		{"/usr/bin/sh", []string{"dash"}},                      // /bin/sh of dash.list
		{"/usr/lib64/ld-linux-x86-64.so.2", []string{"libc6"}}, // /lib64 → /usr/lib64
		{"/usr/lib/x86_64-linux-gnu/libz.so.1", []string{"zlib1g"}},
		{"/usr/lib/x86_64-linux-gnu/libold.so.1", nil}, // oldpkg is not installed
		{"/usr/share/doc/python3-six/copyright", []string{"python3-six"}},
		{"/nonexistent", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range d.Owners(tt.path) {
			got = append(got, p.Name)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: owners %q, want %q", tt.path, got, tt.want)
		}
	}
	if d.Distro.Qualifier() != "debian-12" {
		t.Errorf("distro %+v", d.Distro)
	}
}

func TestReadDpkgErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no status", map[string]string{}, "dpkg status: open"},
		{"bad canonical-dirs", map[string]string{StatusFile: "", CanonicalDirsFile: "/lib /usr/lib\n"}, "canonical-dirs:1: want DIRECTORY<tab>CANONICAL"},
		{"package without version", map[string]string{StatusFile: "Package: x\nStatus: install ok installed\nArchitecture: all\n"}, "status: package x has no Version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadDpkg(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMetadataPaths(t *testing.T) {
	tests := []struct {
		rel        string
		py, npmPkg bool
	}{
		{"usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA", true, false},
		{"usr/lib/python3/dist-packages/x-1.0.egg-info/PKG-INFO", true, false},
		{"usr/lib/python3/dist-packages/x-1.0.egg-info", true, false},
		{"usr/lib/python3/dist-packages/x/METADATA", false, false},
		{"lib/node_modules/a/package.json", false, true},
		{"lib/node_modules/@s/a/package.json", false, true},
		{"lib/node_modules/a/node_modules/b/package.json", false, true},
		{"lib/node_modules/a/lib/package.json", false, false},
		{"lib/node_modules/.bin/package.json", false, false},
		{"lib/node_modules/@s/package.json", false, false},
		{"package.json", false, false},
	}
	for _, tt := range tests {
		if got := isPythonMetadata(tt.rel); got != tt.py {
			t.Errorf("isPythonMetadata(%s) = %v", tt.rel, got)
		}
		if got := isNPMManifest(tt.rel); got != tt.npmPkg {
			t.Errorf("isNPMManifest(%s) = %v", tt.rel, got)
		}
	}
}

func TestSummarizeErrors(t *testing.T) {
	good := string(encode(t, demoSpec(t)))
	tests := []struct {
		name, data, sha, want string
	}{
		{"not json", "{", "", "not an SPDX JSON document"},
		{"no version", `{"name": "x"}`, "", "not an SPDX JSON document"},
		{"another artifact", good, strings.Repeat("a", 64), "describes an artifact with sha256 " + demoSHA + ", not this artifact's " + strings.Repeat("a", 64)},
		{"describes nothing", strings.Replace(good, `"relationshipType": "DESCRIBES"`, `"relationshipType": "OTHER"`, 1), "", "describes nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Summarize([]byte(tt.data), tt.sha)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
