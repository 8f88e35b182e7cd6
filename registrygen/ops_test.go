package registrygen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

func TestYank(t *testing.T) {
	base := loadUpstream(t)
	before := encode(t, base)
	out, err := Yank(base, "python-3.11", "1.3.4", "  segfaults on import  ", t0)
	if err != nil {
		t.Fatal(err)
	}
	e := out.Runtimes["python-3.11"]["1.3.4"]
	if e.Yanked == nil || e.Yanked.Reason != "segfaults on import" || e.Yanked.Date != FormatTime(t0) {
		t.Errorf("yank = %+v", e.Yanked)
	}
	if e.Available() || e.Checksum != base.Runtimes["python-3.11"]["1.3.4"].Checksum {
		t.Errorf("yanked entry must stay, unavailable for @latest")
	}
	if out.UpdatedAt != FormatTime(t0) {
		t.Errorf("updated_at = %s", out.UpdatedAt)
	}
	if !bytes.Equal(encode(t, base), before) {
		t.Errorf("Yank modified its input")
	}
	if err := CheckHistory(base, out); err != nil {
		t.Errorf("a yank is not a loss: %v", err)
	}
	// Yanking again keeps the first reason and date.
	again, err := Yank(out, "python-3.11", "1.3.4", "other", t0.Add(time.Hour))
	if err != nil || !bytes.Equal(encode(t, again), encode(t, out)) {
		t.Errorf("re-yank changed the registry: %v", err)
	}
	for _, c := range []struct{ name, version, reason, want string }{
		{"python-3.11", "1.3.4", " ", "give a reason"},
		{"nope", "1.0.0", "r", `runtime "nope" is not in the registry (it has graalvmjdk-21, openjdk-21, python-3.11`},
		{"python-3.11", "9.9.9", "r", `version "9.9.9" of python-3.11 is not in the registry (it has 1.3.1, 1.3.2, 1.3.3, 1.3.4)`},
	} {
		if _, err := Yank(base, c.name, c.version, c.reason, t0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Yank(%s@%s) error %v, want %q", c.name, c.version, err, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	old := upstream26(t)
	neu, _ := mustMerge(t, old, New(), MergeOptions{})
	// lose two versions, add one, yank one, change a checksum (forced and not), add an artifact.
	neu.Runtimes = cloneRuntimes(neu.Runtimes)
	delete(neu.Runtimes["node-20"], "1.3.1")
	delete(neu.Runtimes["python-3.11"], "1.3.6")
	neu.Runtimes["python-3.11"]["1.4.0"] = upstreamEntry("python-3.11", "1.4.0")
	y := cloneEntry(neu.Runtimes["openjdk-21"]["1.3.1"])
	y.Yanked = &schema.Yank{Reason: "CVE-1", Date: FormatTime(t0)}
	neu.Runtimes["openjdk-21"]["1.3.1"] = y
	f := cloneEntry(neu.Runtimes["graalvmjdk-21"]["1.3.1"])
	f.Forced = []schema.ForcedChange{{Date: FormatTime(t0), OldChecksum: f.Checksum, NewChecksum: fakeChecksum("g2")}}
	f.Checksum = fakeChecksum("g2")
	f.Artifacts = map[string]*schema.Artifact{"ubuntu-amd64": {DownloadURL: "https://e.com/a", Checksum: fakeChecksum("a"), Size: 1}}
	neu.Runtimes["graalvmjdk-21"]["1.3.1"] = f
	c := cloneEntry(neu.Runtimes["python-3.11-ml"]["1.3.1"])
	c.Checksum = fakeChecksum("ml")
	c.Description = "new words"
	neu.Runtimes["python-3.11-ml"]["1.3.1"] = c

	d := Diff(old, neu)
	var text bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.txt", text.Bytes())
	golden(t, "diff.json", append(js, '\n'))
	if len(d.Lost) != 2 || len(d.Added) != 2 || len(d.Yanked) != 1 || len(d.Changed) != 3 {
		t.Errorf("diff = %+v", d)
	}
	if e := Diff(old, old); !e.Empty() {
		t.Errorf("diff of a registry with itself: %+v", e)
	}
	var empty bytes.Buffer
	Diff(old, old).WriteText(&empty)
	if empty.String() != "no differences\n" {
		t.Errorf("empty diff text %q", empty.String())
	}
}

func cloneRuntimes(m map[string]map[string]*schema.RegistryEntry) map[string]map[string]*schema.RegistryEntry {
	out := map[string]map[string]*schema.RegistryEntry{}
	for k, v := range m {
		out[k] = cloneVersions(v)
	}
	return out
}

// makeTarGz writes a gzip tar with the given regular files and one
// directory, returning its path, sha256 checksum and size.
func makeTarGz(t *testing.T, dir, name string, files map[string]string) (string, string, int64) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "isolated/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, schema.ChecksumPrefix + hex.EncodeToString(sum[:]), int64(buf.Len())
}

func TestHashAndInspect(t *testing.T) {
	dir := t.TempDir()
	path, sum, size := makeTarGz(t, dir, "rt-1.0.0-debian-amd64.tar.gz", map[string]string{"runtime.yml": "name: rt\n", "isolated/bin/x": "0123456789"})
	ctx := context.Background()
	h, err := HashFile(ctx, path)
	if err != nil || h.Checksum != sum || h.Size != size {
		t.Fatalf("HashFile = %+v, %v; want %s %d", h, err, sum, size)
	}
	a, err := InspectArtifact(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Checksum != sum || a.Size != size || a.UnpackedSize != 19 || a.Entries != 3 {
		t.Errorf("InspectArtifact = %+v", a)
	}
	notTar := filepath.Join(dir, "x.tar.gz")
	os.WriteFile(notTar, []byte("plain text"), 0o644)
	if _, err := InspectArtifact(ctx, notTar); err == nil || !strings.Contains(err.Error(), "not a readable .tar.gz") {
		t.Errorf("InspectArtifact on a non-gzip: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := HashFile(cancelled, path); err == nil {
		t.Errorf("HashFile ignores a cancelled context")
	}
}

func TestExpandURL(t *testing.T) {
	v := URLVars{Name: "python-3.11", Version: "1.3.2", Platform: "debian-amd64", File: "python-3.11-1.3.2-debian-amd64.tar.gz"}
	for tmpl, want := range map[string]string{
		"https://github.com/o/r/releases/download/{tag}/{file}": "https://github.com/o/r/releases/download/python-3.11@1.3.2/python-3.11-1.3.2-debian-amd64.tar.gz",
		"http://127.0.0.1:8080/{name}/{version}/{platform}.tgz": "http://127.0.0.1:8080/python-3.11/1.3.2/debian-amd64.tgz",
		"ftp://e.com/{file}":   "must be an absolute http:// or https:// URL",
		"https://e.com/{nope}": "unknown placeholder {nope}",
		"https://e.com/{file":  "unclosed",
		"/absolute/{file}":     "must be an absolute",
		"x:{file}":             "must be an absolute",
	} {
		got, err := ExpandURL(tmpl, v)
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("ExpandURL(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if _, err := ExpandURL("https://e.com/{platform}/{file}", URLVars{Name: "a", Version: "1.0.0", File: "a-1.0.0.tar.gz"}); err == nil || !strings.Contains(err.Error(), "source package has no platform") {
		t.Errorf("{platform} for the source package: %v", err)
	}
}

func TestFragment(t *testing.T) {
	src := file("rt-1.0.0.tar.gz", 10)
	amd, arm := file("rt-1.0.0-ubuntu-amd64.tar.gz", 20), file("rt-1.0.0-ubuntu-arm64.tar.gz", 30)
	amd.UnpackedSize, amd.Entries = 200, 5
	spec := FragmentSpec{Name: "rt", Version: "1.0.0", Description: "d", Platforms: []string{"ubuntu-amd64", "ubuntu-arm64"},
		Source: src, Artifacts: []PlatformFile{{Platform: "ubuntu-arm64", File: arm}, {Platform: "ubuntu-amd64", File: amd}},
		URL: "https://e.com/dl/{tag}/{file}", ReleasedAt: t0}
	r, err := Fragment(spec)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fragment.json", encode(t, r))
	// The top-level download is the primary platform's artifact (what
	// Joblet installs), never the source package, which has its own key.
	if e := r.Runtimes["rt"]["1.0.0"]; e.Checksum != amd.Checksum || e.SourcePackage == nil || e.SourcePackage.Checksum != src.Checksum ||
		e.SourcePackage.DownloadURL != "https://e.com/dl/rt@1.0.0/rt-1.0.0.tar.gz" || e.SourcePackage.Size != 10 {
		t.Errorf("top-level with a source package = %+v, source_package %+v", e, e.SourcePackage)
	}
	// Without a source package the top-level download is the same;
	// without the primary artifact it stays empty.
	spec.Source = nil
	r, err = Fragment(spec)
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Runtimes["rt"]["1.0.0"]; e.Checksum != amd.Checksum || e.DownloadURL != "https://e.com/dl/rt@1.0.0/rt-1.0.0-ubuntu-amd64.tar.gz" || e.Size != 20 {
		t.Errorf("top-level without source = %+v", e)
	}
	spec.Artifacts = spec.Artifacts[:1]
	r, err = Fragment(spec)
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Runtimes["rt"]["1.0.0"]; e.Checksum != "" || e.DownloadURL != "" {
		t.Errorf("non-primary fragment claims the top-level download: %+v", e)
	}
	// The fragment of a pending entry still loads (it is written to disk
	// between matrix jobs and the merge).
	if _, err := Parse(encode(t, r), "fragment"); err != nil {
		t.Errorf("pending fragment does not load: %v", err)
	}
	// Platforms default to the artifacts' platforms in the order given.
	spec.Platforms = nil
	r, _ = Fragment(spec)
	if got := r.Runtimes["rt"]["1.0.0"].Platforms; !slices.Equal(got, []string{"ubuntu-arm64"}) {
		t.Errorf("default platforms %v", got)
	}
	// A plain base URL gets /{file}; a single .tar.gz URL is used as is.
	spec = FragmentSpec{Name: "rt", Version: "1.0.0", Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}}, URL: "https://e.com/files/", ReleasedAt: t0}
	r, _ = Fragment(spec)
	if got := r.Runtimes["rt"]["1.0.0"].DownloadURL; got != "https://e.com/files/rt-1.0.0-ubuntu-amd64.tar.gz" {
		t.Errorf("base URL: %s", got)
	}
	spec.URL = "https://e.com/exact.tar.gz"
	r, _ = Fragment(spec)
	if got := r.Runtimes["rt"]["1.0.0"].DownloadURL; got != "https://e.com/exact.tar.gz" {
		t.Errorf("exact URL: %s", got)
	}

	for name, c := range map[string]struct {
		spec FragmentSpec
		want string
	}{
		"bad name":           {FragmentSpec{Name: "Rt", Version: "1.0.0", Source: src, URL: urlTemplate}, "uppercase"},
		"bad version":        {FragmentSpec{Name: "rt", Version: "v1.0.0", Source: src, URL: urlTemplate}, `"v" prefix`},
		"source alone":       {FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-arm64"}, Source: src, URL: urlTemplate}, "--artifact rt-1.0.0-ubuntu-arm64.tar.gz"},
		"nothing":            {FragmentSpec{Name: "rt", Version: "1.0.0", URL: urlTemplate}, "nothing to register"},
		"bad platform":       {FragmentSpec{Name: "rt", Version: "1.0.0", Artifacts: []PlatformFile{{Platform: "windows-amd64", File: amd}}, URL: urlTemplate}, "not <os>-<arch>"},
		"undeclared":         {FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-arm64"}, Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}}, URL: urlTemplate}, "not among the version's platforms"},
		"twice":              {FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-amd64"}, Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}, {Platform: "ubuntu-amd64", File: arm}}, URL: urlTemplate}, "two artifacts"},
		"no url":             {FragmentSpec{Name: "rt", Version: "1.0.0", Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}}}, "no download URL"},
		"bad checksum":       {FragmentSpec{Name: "rt", Version: "1.0.0", Source: &EntryFile{Path: "x", Checksum: "sha256:zz"}, Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}}, URL: urlTemplate}, "must have 64 hex digits"},
		"platform in source": {FragmentSpec{Name: "rt", Version: "1.0.0", Source: src, Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: amd}}, URL: "https://e.com/{platform}/{file}"}, "no platform"},
	} {
		if _, err := Fragment(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	up := loadUpstream(t)
	rep, err := Verify(ctx, up, VerifyOptions{Source: "upstream"})
	if err != nil || !rep.OK() {
		t.Fatalf("upstream registry fails verify: %v %v", err, rep.Problems)
	}
	bad := `{
  "version": "1",
  "updated_at": "2026-01-01T00:00:00Z",
  "runtimes": {
    "Bad_Name": {},
    "rt": {
      "1.0.0": {
        "version": "1.0.0",
        "description": "d",
        "download_url": "ftp://e.com/rt.tar.gz",
        "checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "size": -1,
        "platforms": ["ubuntu-amd64", "windows-x86", "ubuntu-amd64"],
        "artifacts": {
          "debian-amd64": {"download_url": "https://e.com/a.tar.gz", "checksum": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "size": 1, "entries": -2}
        },
        "yanked": {"reason": "", "date": "2026-01-01T00:00:00Z"},
        "forced": [{"date": "2026-01-01T00:00:00Z", "platform": "rhel-amd64", "old_checksum": "x", "new_checksum": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]
      },
      "2.0.0": {
        "version": "2.0.0",
        "description": "pending",
        "download_url": "",
        "checksum": "",
        "size": 0,
        "platforms": ["ubuntu-amd64", "ubuntu-arm64"],
        "artifacts": {
          "ubuntu-arm64": {"download_url": "x:relative.tar.gz", "checksum": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", "size": 1}
        }
      }
    }
  }
}
`
	// Verify of the registry built in memory (not through Parse, which
	// refuses it) finds every problem, each located through the Document.
	doc := unchecked(t, bad, "bad.json")
	rep, err = Verify(ctx, doc.Registry, VerifyOptions{Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "verify_problems.txt", []byte(rep.Problems.Error()+"\n"))
	// Parse (so registry verify, merge and the consumer) refuses the file
	// with the same problems, but for the entry still waiting for its
	// top-level download, which only Verify refuses (not publishable yet).
	_, perr := ParseDocument([]byte(bad), "bad.json")
	var want []string
	for _, p := range rep.Problems {
		if !strings.Contains(p.Msg, "no top-level download yet") {
			want = append(want, p.Error())
		}
	}
	if perr == nil || perr.Error() != strings.Join(want, "\n") {
		t.Errorf("Parse: %v\nwant the problems Verify found but the pending entry:\n%s", perr, strings.Join(want, "\n"))
	}
}

// unchecked parses data without the rules Check applies, as a registry
// built in memory can be.
func unchecked(t *testing.T, data, source string) *Document {
	t.Helper()
	p := newParser([]byte(data), source, false)
	p.rules = false
	r, err := p.run()
	if err != nil {
		t.Fatal(err)
	}
	return &Document{Registry: r, Source: source, data: []byte(data)}
}

func TestVerifyRehashesArtifacts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, _, _ := makeTarGz(t, dir, "rt-1.0.0-ubuntu-amd64.tar.gz", map[string]string{"runtime.yml": "name: rt\n"})
	a, err := InspectArtifact(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	srcPath, _, _ := makeTarGz(t, dir, "rt-1.0.0.tar.gz", map[string]string{"rt/manifest.yaml": "name: rt\n"})
	src, err := HashFile(ctx, srcPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-amd64"}, Source: src,
		Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: a}}, URL: urlTemplate, ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	other := upstreamEntry("rt", "0.9.0") // its file is not in dir: reported missing, not a problem
	r.Runtimes["rt"]["0.9.0"] = other
	rep, err := Verify(ctx, r, VerifyOptions{ArtifactsDir: dir})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
	if len(rep.Checked) != 2 || len(rep.Missing) != 1 || filepath.Base(rep.Missing[0]) != "rt-0.9.0.tar.gz" {
		t.Errorf("checked %v missing %v", rep.Checked, rep.Missing)
	}
	// Replace the artifact with different content: checksum, size and
	// contents are all reported.
	makeTarGz(t, dir, "rt-1.0.0-ubuntu-amd64.tar.gz", map[string]string{"runtime.yml": "name: rt\nversion: \"1.0.0\"\n", "extra": "x"})
	rep, err = Verify(ctx, r, VerifyOptions{ArtifactsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range rep.Problems {
		fields = append(fields, p.Path[strings.LastIndexByte(p.Path, '.')+1:])
	}
	// The top-level download is the same file as the primary artifact, so
	// both places that name it are reported.
	if !slices.Equal(fields, []string{"checksum", "size", "checksum", "size", "unpacked_size", "entries"}) {
		t.Errorf("problems %v", rep.Problems)
	}
}

func TestWriteIsAtomicAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.json")
	r := loadUpstream(t)
	if err := Write(path, r); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r2, _ := Yank(r, "python-3.11", "1.3.1", "x", t0)
	if err := Write(path, r2); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	got, _ := Load(path)
	if got.Runtimes["python-3.11"]["1.3.1"].Yanked == nil {
		t.Errorf("write lost the yank")
	}
	// Writing into a missing directory fails without leaving anything.
	if err := Write(filepath.Join(dir, "no", "registry.json"), r); err == nil {
		t.Errorf("write into a missing directory succeeded")
	}
}

func TestLockWaitsAndHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.json")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("second lock while held: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Error("lock not handed over after unlock")
	}
}

func TestVerifyCapsProblems(t *testing.T) {
	r := generateRegistry(3, 60) // 180 entries
	for _, versions := range r.Runtimes {
		for _, e := range versions {
			e.Size = -1
		}
	}
	data := encode(t, r)
	doc := unchecked(t, string(data), "big.json")
	rep, err := Verify(context.Background(), doc.Registry, VerifyOptions{Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != maxErrors+1 || rep.Problems[maxErrors].Msg != "and 80 more problems" {
		t.Fatalf("%d problems, last %v", len(rep.Problems), rep.Problems[len(rep.Problems)-1])
	}
	for i, p := range rep.Problems[:maxErrors] {
		if p.Line == 0 || i > 0 && p.Line < rep.Problems[i-1].Line {
			t.Fatalf("problem %d not located in file order: %v", i, p)
		}
	}
	// Parse refuses the file with the same capped, located list.
	if _, err := Parse(data, "big.json"); err == nil || err.Error() != rep.Problems.Error() {
		t.Errorf("Parse: %v\nwant what Verify found", err)
	}
}

func TestPlatformFromArtifactName(t *testing.T) {
	for file, want := range map[string]string{
		"python-3.11-1.3.2-debian-amd64.tar.gz": "debian-amd64",
		"python-3.11-1.3.2-ubuntu-arm64.tar.gz": "ubuntu-arm64",
		"python-3.11-1.3.2.tar.gz":              "error: is not named python-3.11-1.3.2-<platform>.tar.gz",
		"python-3.11-1.3.3-debian-amd64.tar.gz": "error: is not named",
		"python-3.11-1.3.2-debian-x86.tar.gz":   "error: not <os>-<arch>",
		"python-3.11-1.3.2-debian-amd64.tgz":    "error: is not named",
	} {
		got, err := PlatformFromArtifactName(file, "python-3.11", "1.3.2")
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.Contains(got, strings.TrimPrefix(want, "error: ")) || strings.HasPrefix(want, "error") != (err != nil) {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
	}
}
