package consumer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/schema"
)

func TestDecodeJoblet(t *testing.T) {
	entry := `"download_url": "https://h/a.tar.gz", "checksum": "sha256:00", "size": 10`
	tests := []struct {
		name, json string
		err        string // "" = accepted
	}{
		{"minimal", `{"version": "1", "updated_at": "2026-01-02T03:04:05Z", "runtimes": {"a": {"1.0.0": {` + entry + `}}}}`, ""},
		{"unknown keys, artifacts, yanked of any type", `{"_comment": 1, "runtimes": {"a": {"1.0.0": {` + entry +
			`, "artifacts": {"x": 1}, "yanked": 5, "released_at": false}}}}`, ""},
		{"trailing data is never read", `{"runtimes": {}} garbage`, ""},
		{"null entry", `{"runtimes": {"a": {"1.0.0": null}}}`, ""},
		{"number version", "{\n  \"version\": 1,\n  \"runtimes\": {}\n}", `:2:14: Joblet's client rejects the whole registry: "version" is a JSON number, but Joblet decodes it as string (write "version": "1", a string)`},
		{"date without time", "{\n \"updated_at\": \"2026-01-02\"}", `:2:2: Joblet's client rejects the whole registry: updated_at "2026-01-02" is not RFC 3339`},
		{"fractional size", `{"runtimes": {"a": {"1.0.0": {"size": 1.5}}}}`, `"runtimes.size" is a JSON number 1.5, but Joblet decodes it as int64 (size must be an integer byte count)`},
		{"string size", `{"runtimes": {"a": {"1.0.0": {"size": "10"}}}}`, `"runtimes.size" is a JSON string`},
		{"platforms not a list", `{"runtimes": {"a": {"1.0.0": {"platforms": "debian-amd64"}}}}`, `platforms must be a list of strings`},
		{"number entry version", `{"runtimes": {"a": {"1.0.0": {"version": 1}}}}`, `"runtimes.version" is a JSON number`},
		{"syntax error", "{\n\"runtimes\": {,}}", `:2:14: Joblet's client rejects the whole registry: invalid character ','`},
	}
	for _, tt := range tests {
		reg, err := DecodeJoblet([]byte(tt.json), "reg.json")
		if tt.err == "" {
			if err != nil || reg == nil {
				t.Errorf("%s: DecodeJoblet = %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "registry reg.json") {
			t.Errorf("%s: DecodeJoblet error = %v\nwant it to contain %q", tt.name, err, tt.err)
		}
	}
}

func TestLocateJoblet(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "view.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	s := Sources{GitHubRawBase: "http://127.0.0.1:9/raw/"}
	tests := []struct {
		loc, want string
		isURL     bool
		err       string
	}{
		{"https://github.com/o/r", "http://127.0.0.1:9/raw/o/r/main/registry.json", true, ""},
		{"https://github.com/o/r/", "http://127.0.0.1:9/raw/o/r/main/registry.json", true, ""},
		{"https://github.com/o/r/tree/dev", "http://127.0.0.1:9/raw/o/r/tree/dev/main/registry.json", true, ""}, // kept, as Joblet keeps it
		{"http://github.com/o/r", "http://github.com/o/r/registry.json", true, ""},                              // only https://github.com/ is GitHub to Joblet
		{"http://127.0.0.1:8/platforms/debian-arm64", "http://127.0.0.1:8/platforms/debian-arm64/registry.json", true, ""},
		{"http://127.0.0.1:8/platforms/debian-arm64/", "http://127.0.0.1:8/platforms/debian-arm64/registry.json", true, ""},
		{"http://127.0.0.1:8/registry.json", "http://127.0.0.1:8/registry.json/registry.json", true, ""},
		{"o/r", "http://127.0.0.1:9/raw/o/r/main/registry.json", true, ""},
		{"o/r/extra/path", "http://127.0.0.1:9/raw/o/r/main/registry.json", true, ""}, // rnx drops extra segments
		{dir, filepath.Join(dir, "registry.json"), false, ""},
		{file, file, false, ""},
		{"file://" + file, file, false, ""},
		{"", "", false, "empty"},
		{"./missing", "", false, "no such file"},
	}
	for _, tt := range tests {
		got, isURL, err := s.LocateJoblet(tt.loc)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("LocateJoblet(%q) = %q, %v; want error %q", tt.loc, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || isURL != tt.isURL {
			t.Errorf("LocateJoblet(%q) = %q, %v, %v; want %q, %v", tt.loc, got, isURL, err, tt.want, tt.isURL)
		}
	}
}

func TestJobletLatest(t *testing.T) {
	tests := []struct {
		keys   []string
		latest string
		ties   []string
	}{
		{[]string{"1.2.0", "1.10.0", "1.9.9"}, "1.10.0", nil},
		{[]string{"1.0.0", "2.0.0-rc.1", "1.5.0+build"}, "1.0.0", nil}, // pre-release and build keys are never latest
		{[]string{"1.0.0", "v1.1.0"}, "v1.1.0", nil},                   // Joblet drops a "v"
		{[]string{"1.2.0", "01.2.0"}, "01.2.0", []string{"1.2.0"}},     // the same version to Joblet: a random pick
		{[]string{"1.0.0-rc.1", "latest", "1.0"}, "", nil},
	}
	for _, tt := range tests {
		versions := map[string]*JobletEntry{}
		for _, k := range tt.keys {
			versions[k] = &JobletEntry{}
		}
		latest, ties := jobletLatest(versions)
		if latest != tt.latest || !reflect.DeepEqual(ties, tt.ties) {
			t.Errorf("jobletLatest(%v) = %q, %v; want %q, %v", tt.keys, latest, ties, tt.latest, tt.ties)
		}
	}
}

// jobletRegistryFile writes dir/clean/registry.json, valid for both
// readers: demo 1.0.0, 1.1.0 and 1.2.0 (yanked), each with a per-platform
// artifact and a top-level download, a pre-release only runtime, and more;
// and dir/registry.json, the same with what rtool rejects but Joblet
// reads: an entry version that differs from its key, checksums without
// the prefix or with it in upper case.
func jobletRegistryFile(t *testing.T, dir string) (path, clean string) {
	t.Helper()
	sum := strings.Repeat("ab", 32)
	e := func(v, url, checksum string) *schema.RegistryEntry {
		return &schema.RegistryEntry{Version: v, Description: "d", DownloadURL: url, Checksum: checksum, Size: 10, Platforms: []string{plat},
			Artifacts: map[string]*schema.Artifact{plat: {DownloadURL: "https://h/art-" + v + ".tar.gz", Checksum: "sha256:" + sum, Size: 10}}}
	}
	yanked := e("1.2.0", "https://h/demo-1.2.0.tar.gz", "sha256:"+sum)
	yanked.Yanked = &schema.Yank{Reason: "broken", Date: "2026-01-03T00:00:00Z"}
	reg := &schema.Registry{Version: "1", UpdatedAt: "2026-01-01T00:00:00Z", Runtimes: map[string]map[string]*schema.RegistryEntry{
		"demo": {
			"1.0.0":      e("1.0.0", "https://h/demo-1.0.0.tar.gz", "sha256:"+sum),
			"1.1.0":      e("1.1.0", "https://h/demo-1.1.0.tar.gz", "sha256:"+sum),
			"1.2.0":      yanked,
			"2.0.0-rc.1": e("2.0.0-rc.1", "https://h/demo-2.0.0-rc.1.tar.gz", "sha256:"+sum),
		},
		"pre":      {"1.0.0-rc.1": e("1.0.0-rc.1", "https://h/pre.tar.gz", "sha256:"+sum)},
		"relative": {"1.0.0": e("1.0.0", "relative-1.0.0.tar.gz", "sha256:"+sum)},
		"loud":     {"1.0.0": e("1.0.0", "https://h/loud.tar.gz", "sha256:"+sum)},
		"badsum":   {"1.0.0": e("1.0.0", "https://h/badsum.tar.gz", "sha256:"+sum)},
		"keyed":    {"1.1.0": e("1.1.0", "https://h/keyed.tar.gz", "sha256:"+sum)},
	}}
	clean = filepath.Join(dir, "clean", "registry.json")
	os.Mkdir(filepath.Dir(clean), 0o755)
	writeRegistry(t, clean, reg)
	path = filepath.Join(dir, "registry.json")
	// What rtool's writer would never write, but a registry may hold:
	// a checksum in upper case without the prefix, one with an upper-case
	// prefix, an entry version that differs from its key.
	data, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	s = replaceEntryField(t, s, "loud", `"checksum": "sha256:`+sum+`"`, `"checksum": "`+strings.ToUpper(sum)+`"`)
	s = replaceEntryField(t, s, "badsum", `"checksum": "sha256:`+sum+`"`, `"checksum": "SHA256:`+sum+`"`)
	s = replaceEntryField(t, s, "keyed", `"version": "1.1.0"`, `"version": "9.9.9"`)
	os.WriteFile(path, []byte(s), 0o644)
	return path, clean
}

// replaceEntryField replaces old with new once, inside the runtime name's
// object of the encoded registry.
func replaceEntryField(t *testing.T, s, name, old, new string) string {
	t.Helper()
	i := strings.Index(s, `"`+name+`": {`)
	if i < 0 {
		t.Fatalf("runtime %s not in the registry", name)
	}
	j := strings.Index(s[i:], old)
	if j < 0 {
		t.Fatalf("%s not in runtime %s", old, name)
	}
	return s[:i+j] + new + s[i+j+len(old):]
}

func TestResolveJoblet(t *testing.T) {
	dir := t.TempDir()
	path, clean := jobletRegistryFile(t, dir)
	ctx := context.Background()
	l, err := Sources{}.FetchJoblet(ctx, Source{Location: path})
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		spec     string
		version  string // or "error: substring"
		url      string
		note     string // substring of one note
		checksum string
	}{
		// yanked is never read: @latest is the yanked 1.2.0, with a note
		{"demo", "1.2.0", "https://h/demo-1.2.0.tar.gz", "yanked in this registry (broken), but Joblet's client never reads yanked", ""},
		{"demo@latest", "1.2.0", "https://h/demo-1.2.0.tar.gz", "per-platform artifacts (debian-amd64) that Joblet's client never reads", ""},
		{"demo@1.1.0", "1.1.0", "https://h/demo-1.1.0.tar.gz", "", ""},
		{"demo@2.0.0-rc.1", "2.0.0-rc.1", "https://h/demo-2.0.0-rc.1.tar.gz", "", ""}, // pre-release: exact only
		{"pre", "error: no version key is a plain X.Y.Z", "", "", ""},
		{"pre@1.0.0-rc.1", "1.0.0-rc.1", "https://h/pre.tar.gz", "", ""},
		{"keyed", "1.1.0", "https://h/keyed.tar.gz", `says version "9.9.9"; Joblet uses the key`, ""},
		{"loud", "1.0.0", "https://h/loud.tar.gz", "", "sha256:" + sum}, // no prefix, upper-case hex: Joblet accepts it
		{"badsum", "error: checksum \"SHA256:" + sum + "\" can never match", "", "", ""},
		{"relative", "1.0.0", filepath.Join(dir, "relative-1.0.0.tar.gz"), "a Joblet node needs an absolute http(s) URL", ""},
		{"demo@^1.0", "error: a range is rtool's extension", "", "", ""},
		{"demo@3.0.0", "error: version \"3.0.0\" not found for runtime \"demo\"", "", "", ""},
		{"demo@3.0.0", "error: available: 1.0.0, 1.1.0, 1.2.0, 2.0.0-rc.1", "", "", ""},
		{"dmeo", "error: did you mean demo", "", "", ""},
	}
	for _, tt := range tests {
		sp, err := ParseSpec(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ResolveJoblet(l, sp)
		if want, ok := strings.CutPrefix(tt.version, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ResolveJoblet(%s) = %+v, %v; want error %q", tt.spec, r, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ResolveJoblet(%s): %v", tt.spec, err)
			continue
		}
		if r.Version != tt.version || r.URL != tt.url || r.Mode != ModeJoblet || r.Joblet == nil || r.Joblet.Version != tt.version {
			t.Errorf("ResolveJoblet(%s) = %+v (%+v); want %s from %s", tt.spec, r, r.Joblet, tt.version, tt.url)
		}
		if tt.note != "" && !strings.Contains(strings.Join(r.Joblet.Notes, "\n"), tt.note) {
			t.Errorf("ResolveJoblet(%s) notes %q; want one with %q", tt.spec, r.Joblet.Notes, tt.note)
		}
		if tt.checksum != "" && r.Checksum != tt.checksum {
			t.Errorf("ResolveJoblet(%s) checksum %s, want %s", tt.spec, r.Checksum, tt.checksum)
		}
	}
	// rtool's own reading of the same file skips the yanked version and
	// installs the per-platform artifact.
	regs, err := Sources{}.FetchAll(ctx, []Source{{Location: clean}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ParseSpec("demo")
	if r, err := Resolve(regs, sp, plat); err != nil || r.Version != "1.1.0" || r.URL != "https://h/art-1.1.0.tar.gz" {
		t.Errorf("Resolve(demo) = %+v, %v; want 1.1.0's artifact", r, err)
	}
}

func TestResolveJobletURLRules(t *testing.T) {
	l := &JobletLoaded{Where: "http://127.0.0.1:1/registry.json", IsURL: true, Registry: &JobletRegistry{Runtimes: map[string]map[string]*JobletEntry{}}}
	sum := "sha256:" + strings.Repeat("0", 64)
	tests := []struct{ url, err string }{
		{"http://127.0.0.1:1/a.tar.gz", ""},
		{"https://example.invalid/a.tar.gz", ""},
		{"a.tar.gz", "cannot resolve it against the registry"},
		{"/srv/a.tar.gz", "not an absolute http(s) URL"},
		{"file:///srv/a.tar.gz", "not an absolute http(s) URL"},
		{"ftp://h/a.tar.gz", "not an absolute http(s) URL"},
		{"https:///a.tar.gz", "not a valid absolute URL"},
		{"", "download_url is empty"},
	}
	for _, tt := range tests {
		l.Registry.Runtimes["a"] = map[string]*JobletEntry{"1.0.0": {DownloadURL: tt.url, Checksum: sum, Size: 1}}
		r, err := ResolveJoblet(l, Spec{Name: "a", Kind: Latest})
		if tt.err == "" {
			if err != nil || r.URL != tt.url {
				t.Errorf("download_url %q: %+v, %v", tt.url, r, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("download_url %q: %v; want error %q", tt.url, err, tt.err)
		}
	}
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func tarFile(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}
func tarDir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func makeTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag != tar.TypeXGlobalHeader {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// jobletFixture serves a Joblet-style registry (absolute download URLs,
// top-level fields only) and its files on 127.0.0.1.
type jobletFixture struct {
	dir, root string
	srv       *faultyServer
	reg       *schema.Registry
}

func newJobletFixture(t *testing.T) *jobletFixture {
	f := &jobletFixture{dir: t.TempDir(), root: filepath.Join(t.TempDir(), "runtimes"), reg: newRegistry()}
	f.srv = serveDir(t, f.dir, nil)
	return f
}

// add serves data as name@version's top-level download.
func (f *jobletFixture) add(t *testing.T, name, version string, data []byte) *schema.RegistryEntry {
	t.Helper()
	file := name + "-" + version + ".tar.gz"
	if err := os.WriteFile(filepath.Join(f.dir, file), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	e := &schema.RegistryEntry{Version: version, Description: "d", DownloadURL: f.srv.URL + "/" + file,
		Checksum: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data)), Platforms: []string{plat}}
	if f.reg.Runtimes[name] == nil {
		f.reg.Runtimes[name] = map[string]*schema.RegistryEntry{}
	}
	f.reg.Runtimes[name][version] = e
	f.write(t)
	return e
}

func (f *jobletFixture) write(t *testing.T) {
	writeRegistry(t, filepath.Join(f.dir, "registry.json"), f.reg)
}

func (f *jobletFixture) opts(warn func(string)) InstallOptions {
	return InstallOptions{Root: f.root, Mode: ModeJoblet, Registries: []Source{{Location: f.srv.URL}}, Retry: quickRetry(), Warn: warn}
}

func TestInstallJoblet(t *testing.T) {
	ctx := context.Background()
	yml := runtimeYML("demo", "1.0.0", "isolated:/opt/demo:ro")
	prebuilt := []tarEntry{tarFile("runtime.yml", yml), tarDir("isolated/"), tarFile("isolated/a.txt", "a")}
	wrapped := []tarEntry{tarDir("demo/"), tarFile("demo/runtime.yml", yml), tarDir("demo/isolated/"), tarFile("demo/isolated/a.txt", "a")}
	want := map[string]string{
		".": "dir -rwxr-xr-x", "runtime.yml": "file -rw-r--r-- " + yml,
		"isolated": "dir -rwxr-xr-x", "isolated/a.txt": "file -rw-r--r-- a",
	}
	hardlink := tarEntry{hdr: tar.Header{Name: "isolated/b.txt", Typeflag: tar.TypeLink, Linkname: "isolated/a.txt"}}
	global := tarEntry{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "git"}}}
	tests := []struct {
		name    string
		entries []tarEntry
		mutate  func(e *schema.RegistryEntry)
		err     string // "" = installs want
		warn    string
	}{
		{"prebuilt", prebuilt, nil, "", ""},
		{"prebuilt in a wrapper directory", wrapped, nil, "", ""},
		{"prebuilt, checksum without prefix in upper case", prebuilt, func(e *schema.RegistryEntry) {
			e.Checksum = strings.ToUpper(strings.TrimPrefix(e.Checksum, "sha256:"))
		}, "", ""},
		{"wrong size is only a warning", prebuilt, func(e *schema.RegistryEntry) { e.Size += 7 }, "", "Joblet does not check size"},
		{"source package in a wrapper", []tarEntry{tarDir("demo/"), tarFile("demo/manifest.yaml", "name: demo\n"), tarFile("demo/setup.sh", "#!/bin/sh\n")}, nil,
			"is a SOURCE PACKAGE (setup.sh at its root, no runtime.yml), not a prebuilt runtime: a Joblet node would try to build it on the node by running setup.sh", ""},
		{"source package at the root", []tarEntry{tarFile("setup.sh", "#!/bin/sh\n"), tarFile("setup-ubuntu-amd64.sh", "#!/bin/sh\n")}, nil, "SOURCE PACKAGE", ""},
		{"hardlink", append(append([]tarEntry{}, prebuilt...), hardlink), nil,
			`entry "isolated/b.txt" (a hardlink to "isolated/a.txt"): Joblet's extractor silently drops hardlinks`, ""},
		{"neither runtime.yml nor setup.sh", []tarEntry{tarDir("isolated/"), tarFile("isolated/a.txt", "a"), tarFile("README", "x")}, nil,
			"Joblet would refuse it as an invalid runtime package: no runtime.yml or setup.sh at the root of the archive (after its optional single wrapper directory); the root holds: README, isolated/", ""},
		{"a global header first: Joblet strips no wrapper", append([]tarEntry{global}, wrapped...), nil, "the root holds: demo/", ""},
		{"runtime.yml of another version", []tarEntry{tarFile("runtime.yml", runtimeYML("demo", "1.0.1", "isolated:/opt/demo:ro")), tarDir("isolated/")}, nil,
			"its resolver, which matches runtime.yml's name and version, would never find it as demo@1.0.0", ""},
		{"checksum mismatch", prebuilt, func(e *schema.RegistryEntry) { e.Checksum = "sha256:" + strings.Repeat("0", 64) }, "Joblet's downloader refuses it too", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJobletFixture(t)
			e := f.add(t, "demo", "1.0.0", makeTarGz(t, tt.entries...))
			if tt.mutate != nil {
				tt.mutate(e)
				f.write(t)
			}
			var warnings []string
			got, err := Install(ctx, "demo", f.opts(func(s string) { warnings = append(warnings, s) }))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Install = %+v, %v; want error %q", got, err, tt.err)
				}
				if left := rootEntries(t, f.root); len(left) != 0 {
					t.Errorf("refused install left %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != InstallDir(f.root, "demo", "1.0.0") || got.Joblet == nil || got.Joblet.DownloadURL != e.DownloadURL ||
				got.Joblet.Checksum != e.Checksum || got.Joblet.Registry != f.srv.URL+"/registry.json" {
				t.Errorf("Install = %+v (%+v)", got, got.Joblet)
			}
			if diff := consumertest.DiffSnapshots(want, consumertest.Snapshot(t, got.Dir)); diff != "" {
				t.Errorf("installed tree differs:\n%s", diff)
			}
			if w := strings.Join(warnings, "\n"); (tt.warn == "") != (w == "") || !strings.Contains(w, tt.warn) {
				t.Errorf("warnings %q; want %q", warnings, tt.warn)
			}
			if left := rootEntries(t, f.root); !reflect.DeepEqual(left, []string{"demo/1.0.0"}) {
				t.Errorf("root holds %v", left)
			}
		})
	}
}

// Joblet mode installs a yanked version for @latest when the registry
// still lists it; rtool's mode does not.
func TestInstallJobletYankedLatest(t *testing.T) {
	ctx := context.Background()
	f := newJobletFixture(t)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		f.add(t, "demo", v, makeTarGz(t, tarFile("runtime.yml", runtimeYML("demo", v, "isolated:/opt/demo:ro")), tarDir("isolated/")))
	}
	f.reg.Runtimes["demo"]["1.1.0"].Yanked = &schema.Yank{Reason: "broken", Date: "2026-01-02T00:00:00Z"}
	f.write(t)
	var warnings []string
	got, err := Install(ctx, "demo@latest", f.opts(func(s string) { warnings = append(warnings, s) }))
	if err != nil || got.Version != "1.1.0" || !strings.Contains(strings.Join(warnings, "\n"), "yanked in this registry (broken)") {
		t.Errorf("joblet install = %+v, %v, warnings %q; want the yanked 1.1.0", got, err, warnings)
	}
	o := f.opts(nil)
	o.Mode, o.Platform = ModeRtool, plat
	if got, err := Install(ctx, "demo@latest", o); err != nil || got.Version != "1.0.0" {
		t.Errorf("rtool install = %+v, %v; want 1.0.0", got, err)
	}
	o = f.opts(nil)
	o.Registries = append(o.Registries, o.Registries[0])
	if _, err := Install(ctx, "demo", o); err == nil || !strings.Contains(err.Error(), "exactly one registry") {
		t.Errorf("two registries: %v", err)
	}
}

func TestFetchJobletRegistryJSONURL(t *testing.T) {
	f := newJobletFixture(t)
	f.write(t)
	_, err := Sources{}.FetchJoblet(context.Background(), Source{Location: f.srv.URL + "/registry.json"})
	want := "Joblet's client appends /registry.json to every registry URL except https://github.com/OWNER/REPO, so for \"" +
		f.srv.URL + "/registry.json\" it fetches " + f.srv.URL + "/registry.json/registry.json"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("FetchJoblet(.../registry.json) = %v\nwant it to contain %q", err, want)
	}
}
