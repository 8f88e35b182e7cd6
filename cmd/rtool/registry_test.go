package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/sbom"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

const upstreamRegistryJSON = "../../testdata/joblet-runtimes-upstream/registry.json"

func rtoolRegistry(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"rtool", "registry"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// writeTarGz writes a small gzip tar holding runtime.yml with content.
func writeTarGz(t *testing.T, path, content string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "runtime.yml", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	gz.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func expectExit(t *testing.T, what string, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, code, want, stdout, stderr)
	}
}

func TestRegistryCommandsLifecycle(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	src := filepath.Join(dir, "rt-1.0.0.tar.gz")
	art := filepath.Join(dir, "rt-1.0.0-debian-amd64.tar.gz")
	writeTarGz(t, src, "name: rt\n")
	writeTarGz(t, art, "name: rt\nversion: \"1.0.0\"\n")
	add := []string{"add", "--registry", reg, "--name", "rt", "--version", "1.0.0", "--description", "a runtime",
		"--platforms", "debian-amd64,debian-arm64", "--source", src, "--platform", "debian-amd64", "--artifact", art,
		"--url", "https://github.com/o/r/releases/download/{tag}/{file}", "--time", "2026-02-03T04:05:06Z"}

	code, out, errOut := rtoolRegistry(t, add...)
	expectExit(t, "first add", code, exitOK, out, errOut)
	if out != "added rt@1.0.0\n" || !strings.Contains(errOut, "created "+reg) {
		t.Errorf("first add output %q / %q", out, errOut)
	}
	first := readFile(t, reg)
	r, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := r.Runtimes["rt"]["1.0.0"]
	if e.DownloadURL != "https://github.com/o/r/releases/download/rt@1.0.0/rt-1.0.0-debian-amd64.tar.gz" || e.ReleasedAt != "2026-02-03T04:05:06Z" ||
		e.SourcePackage == nil || e.SourcePackage.DownloadURL != "https://github.com/o/r/releases/download/rt@1.0.0/rt-1.0.0.tar.gz" ||
		e.Artifacts["debian-amd64"] == nil || e.Artifacts["debian-amd64"].Entries != 1 || e.Artifacts["debian-amd64"].UnpackedSize != 26 {
		t.Errorf("entry %+v / %+v", e, e.Artifacts["debian-amd64"])
	}

	// A re-run (later) is a no-op: same bytes.
	rerun := append(append([]string{}, add[:len(add)-2]...), "--time", "2026-05-05T00:00:00Z")
	code, out, errOut = rtoolRegistry(t, rerun...)
	expectExit(t, "re-run", code, exitOK, out, errOut)
	if !bytes.Equal(readFile(t, reg), first) || !strings.Contains(errOut, "no change") {
		t.Errorf("re-run changed the file or said %q", errOut)
	}

	// A different build of the same version is refused; the file stays.
	writeTarGz(t, src, "name: rt\n# rebuilt\n")
	code, out, errOut = rtoolRegistry(t, add...)
	expectExit(t, "conflicting add", code, exitFindings, out, errOut)
	if !bytes.Equal(readFile(t, reg), first) {
		t.Errorf("conflict modified the registry")
	}
	if !strings.Contains(errOut, e.SourcePackage.Checksum) || !strings.Contains(errOut, "source_package") || !strings.Contains(errOut, "left unchanged") || !strings.Contains(errOut, "--force") {
		t.Errorf("conflict message: %s", errOut)
	}
	before := filepath.Join(dir, "before.json")
	os.WriteFile(before, first, 0o644)

	// --force replaces it and records the change; the history guard accepts it.
	code, out, errOut = rtoolRegistry(t, append(add, "--force", "--json")...)
	expectExit(t, "forced add", code, exitOK, out, errOut)
	var res struct {
		Changed bool
		Changes []registrygen.Change
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Changed || res.Changes[0].Kind != registrygen.ChangeForced {
		t.Errorf("--json output %s (%v)", out, err)
	}
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg, "--previous", before, "--artifacts", dir)
	expectExit(t, "verify after force", code, exitOK, out, errOut)
	if !strings.Contains(out, "ok: "+reg+" (1 runtimes, 1 versions; 1 platform view(s) up to date)") || !strings.Contains(errOut, "re-hashed 2 file(s)") {
		t.Errorf("verify output %q %q", out, errOut)
	}

	// Yank, then yank again.
	code, out, errOut = rtoolRegistry(t, "yank", "rt@1.0.0", "--reason", "broken", "--registry", reg, "--time", "2026-06-01T00:00:00Z")
	expectExit(t, "yank", code, exitOK, out, errOut)
	if out != "yanked rt@1.0.0: broken\n" {
		t.Errorf("yank output %q", out)
	}
	yanked := readFile(t, reg)
	code, out, errOut = rtoolRegistry(t, "yank", "rt@1.0.0", "--reason", "again", "--registry", reg)
	expectExit(t, "re-yank", code, exitOK, out, errOut)
	if !strings.Contains(out, "already yanked on 2026-06-01T00:00:00Z: broken") || !bytes.Equal(readFile(t, reg), yanked) {
		t.Errorf("re-yank: %q", out)
	}

	// Diff shows the yank and the forced checksum.
	code, out, errOut = rtoolRegistry(t, "diff", before, reg, "--json")
	expectExit(t, "diff", code, exitOK, out, errOut)
	var d registrygen.DiffResult
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Yanked) != 1 || d.Yanked[0].Detail != "broken" || len(d.Changed) != 2 || !d.Changed[0].Forced {
		t.Errorf("diff %+v", d)
	}
	code, out, _ = rtoolRegistry(t, "diff", reg, reg)
	if code != exitOK || out != "no differences\n" {
		t.Errorf("diff of a file with itself: %d %q", code, out)
	}
}

// TestRegistryMatrixFragments builds one fragment per platform, as matrix
// jobs do, and merges them in two orders into identical registries.
func TestRegistryMatrixFragments(t *testing.T) {
	dir := t.TempDir()
	platforms := []string{"ubuntu-amd64", "ubuntu-arm64", "debian-amd64"}
	var frags []string
	for i, p := range platforms {
		art := filepath.Join(dir, schema.ArtifactName("rt", "2.0.0", p))
		writeTarGz(t, art, "built for "+p)
		frag := filepath.Join(dir, "fragment-"+p+".json")
		// The platform comes from the canonical artifact name.
		code, out, errOut := rtoolRegistry(t, "add", "--registry", frag, "--name", "rt", "--version", "2.0.0",
			"--platforms", strings.Join(platforms, ","), "--artifact", art,
			"--url", "http://127.0.0.1:8080/{tag}/{file}", "--time", "2026-02-0"+string(rune('1'+i))+"T00:00:00Z")
		expectExit(t, "fragment "+p, code, exitOK, out, errOut)
		if pending := strings.Contains(errOut, "warning: rt@2.0.0 has no top-level download yet (waiting for the ubuntu-amd64 artifact)"); pending != (i > 0) {
			t.Errorf("fragment %s: pending warning %v: %s", p, pending, errOut)
		}
		frags = append(frags, frag)
	}
	// A fragment without the primary platform is pending: verify says so.
	code, out, _ := rtoolRegistry(t, "verify", "--registry", frags[1])
	if code != exitFindings || !strings.Contains(out, "no top-level download yet") {
		t.Errorf("pending fragment verify: %d %s", code, out)
	}
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	code, out, errOut := rtoolRegistry(t, "merge", "--registry", a, frags[0], frags[1], frags[2], "--time", "2026-03-01T00:00:00Z")
	expectExit(t, "merge a", code, exitOK, out, errOut)
	code, out, errOut = rtoolRegistry(t, "merge", "--registry", b, frags[2], frags[1], "--time", "2026-03-02T00:00:00Z")
	expectExit(t, "merge b", code, exitOK, out, errOut)
	code, out, errOut = rtoolRegistry(t, "merge", "--registry", b, frags[0], "--time", "2026-03-03T00:00:00Z")
	expectExit(t, "merge b primary", code, exitOK, out, errOut)
	if !bytes.Equal(readFile(t, a), readFile(t, b)) {
		t.Errorf("merge order changed the result:\n%s\n---\n%s", readFile(t, a), readFile(t, b))
	}
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", a, "--artifacts", dir, "--json")
	expectExit(t, "verify merged", code, exitOK, out, errOut)
	var v struct {
		OK      bool
		Checked []string
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !v.OK || len(v.Checked) != 3 {
		t.Errorf("verify --json: %s", out)
	}
}

// TestRegistryMergeReplaysUpstreamStates replays upstream-style registry
// states through `rtool registry merge`: the upstream fixture, that
// registry grown to 26 versions, the release that rewrote it to 5 (plus
// its own new version), and a later one. The union keeps all 27 and
// passes the history guard against every state; the guard run on the
// rewritten state itself lists the 21 versions it lost.
func TestRegistryMergeReplaysUpstreamStates(t *testing.T) {
	dir := t.TempDir()
	up, err := registrygen.Load(upstreamRegistryJSON)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(name, version string) *schema.RegistryEntry {
		e := *up.Runtimes["python-3.11"]["1.3.1"]
		e.Version, e.Description = version, "Runtime "+name
		e.DownloadURL = "https://github.com/ehsaniara/joblet-runtimes/releases/download/" + name + "@" + version + "/" + schema.SourcePackageName(name, version)
		e.Checksum = schema.ChecksumPrefix + fmt.Sprintf("%064x", len(name)*1000+len(version)*10+int(version[len(version)-1]))
		return &e
	}
	state := func(file string, updated string, add map[string][]string, keep func(name, version string) bool) string {
		r := registrygen.New()
		r.Extra, r.UpdatedAt = up.Extra, updated
		for name, versions := range up.Runtimes {
			for v, e := range versions {
				if keep(name, v) {
					if r.Runtimes[name] == nil {
						r.Runtimes[name] = map[string]*schema.RegistryEntry{}
					}
					r.Runtimes[name][v] = e
				}
			}
		}
		for name, versions := range add {
			if r.Runtimes[name] == nil {
				r.Runtimes[name] = map[string]*schema.RegistryEntry{}
			}
			for _, v := range versions {
				r.Runtimes[name][v] = entry(name, v)
			}
		}
		path := filepath.Join(dir, file)
		if err := registrygen.Write(path, r); err != nil {
			t.Fatal(err)
		}
		return path
	}
	all := func(string, string) bool { return true }
	first131 := func(_, v string) bool { return v == "1.3.1" }
	grown := map[string][]string{"python-3.11": {"1.3.5", "1.3.6"}, "graalvmjdk-21": {"1.3.2", "1.3.3"},
		"openjdk-21": {"1.3.2", "1.3.3", "1.3.4"}, "python-3.11-ml": {"1.3.4", "1.3.5"}, "node-20": {"1.3.1", "1.3.2", "1.3.3"}}
	states := []string{
		upstreamRegistryJSON,
		state("26.json", "2025-12-10T00:00:00Z", grown, all),
		state("rewritten.json", "2025-12-11T00:00:00Z", map[string][]string{}, first131),
		state("later.json", "2025-12-12T00:00:00Z", map[string][]string{"go-1.22": {"1.0.0"}}, first131),
	}
	union := filepath.Join(dir, "union.json")
	code, out, errOut := rtoolRegistry(t, append([]string{"merge", "--registry", union, "--json"}, states...)...)
	expectExit(t, "replay", code, exitOK, out, errOut)
	for _, s := range states {
		code, out, errOut = rtoolRegistry(t, "verify", "--registry", union, "--previous", s)
		expectExit(t, "union contains "+s, code, exitOK, out, errOut)
	}
	if !strings.Contains(out, "(7 runtimes, 27 versions;") {
		t.Errorf("union: %s", out)
	}
	// The rewritten state fails the guard against the 26-version one,
	// listing every lost version.
	code, out, _ = rtoolRegistry(t, "verify", "--registry", states[2], "--previous", states[1], "--json")
	if code != exitFindings {
		t.Fatalf("guard passed a registry that lost versions: %s", out)
	}
	var v struct{ History []registrygen.HistoryProblem }
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.History) != 21 {
		t.Errorf("history lists %d problems, want 21: %s", len(v.History), out)
	}
}

func TestRegistryCommandErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{\n  \"version\": \"1\",\n  \"updated_at\": \"2026-01-01T00:00:00Z\",\n  \"runtimes\": {\"a\": {\"1.0\": {}}}\n}\n"), 0o644)
	art := filepath.Join(dir, "a.tar.gz")
	writeTarGz(t, art, "x")
	reg := filepath.Join(dir, "r.json")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unpaired artifact", []string{"add", "--registry", reg, "--name", "a", "--version", "1.0.0", "--platform", "debian-amd64", "--platform", "debian-arm64", "--artifact", art, "--url", "https://e.com/"}, exitUsage, "2 --platform but 1 --artifact"},
		{"artifact name without platform", []string{"add", "--registry", reg, "--name", "a", "--version", "1.0.0", "--artifact", art, "--url", "https://e.com/"}, exitUsage, "is not named a-1.0.0-<platform>.tar.gz"},
		{"missing registry flag", []string{"add", "--name", "a", "--version", "1.0.0", "--url", "https://e.com/"}, exitUsage, "--registry is required"},
		{"missing reason", []string{"yank", "a@1.0.0", "--registry", reg}, exitUsage, "--reason is required"},
		{"missing artifact file", []string{"add", "--registry", reg, "--name", "a", "--version", "1.0.0", "--platform", "debian-amd64", "--artifact", filepath.Join(dir, "nope.tar.gz"), "--url", "https://e.com/"}, exitUsage, "nope.tar.gz"},
		{"bad version", []string{"add", "--registry", reg, "--name", "a", "--version", "1.0", "--source", art, "--url", "https://e.com/"}, exitUsage, "lacks a patch number"},
		{"bad time", []string{"merge", "--registry", reg, broken, "--time", "yesterday"}, exitUsage, "--time"},
		{"broken fragment", []string{"merge", "--registry", reg, broken}, exitFindings, "broken.json:4:22"},
		{"missing fragment", []string{"merge", "--registry", reg, filepath.Join(dir, "nope.json")}, exitUsage, "nope.json"},
		{"no fragments", []string{"merge", "--registry", reg}, exitUsage, "at least one FRAGMENT"},
		{"broken registry verify", []string{"verify", "--registry", broken}, exitFindings, ""},
		{"diff one argument", []string{"diff", broken}, exitUsage, "want OLD NEW"},
		{"diff broken", []string{"diff", broken, broken}, exitFindings, "broken.json:4:22"},
		{"yank bad tag", []string{"yank", "a-1.0.0", "--reason", "x", "--registry", broken}, exitUsage, "not name@version"},
		{"yank unknown version", []string{"yank", "python-3.11@9.9.9", "--reason", "x", "--registry", upstreamRegistryJSON}, exitFindings, `version "9.9.9" of python-3.11 is not in the registry`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := rtoolRegistry(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, errOut, tc.stderr, out)
			}
		})
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("a failed command created the registry")
	}
	code, out, _ := rtoolRegistry(t, "verify", "--registry", broken)
	if code != exitFindings || !strings.Contains(out, "broken.json:4:22: .runtimes.a[\"1.0\"]: version key") {
		t.Errorf("verify of a broken registry: %q", out)
	}
}

// TestRegistryHelperProcess is not a test: TestRegistryConcurrentAdds
// runs the test binary through it as separate rtool processes.
func TestRegistryHelperProcess(t *testing.T) {
	if os.Getenv("RTOOL_REGISTRY_HELPER") != "1" {
		t.Skip("helper process for TestRegistryConcurrentAdds")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(context.Background(), append([]string{"rtool"}, args...), os.Stdout, os.Stderr))
}

// TestRegistryConcurrentAdds runs eight `rtool registry add` processes of
// different versions into one registry at once: the directory lock
// serializes them, so none of the versions is lost to another's write.
func TestRegistryConcurrentAdds(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	src := filepath.Join(dir, "src.tar.gz")
	writeTarGz(t, src, "x")
	const n = 8
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range n {
		art := filepath.Join(dir, fmt.Sprintf("rt-1.0.%d-debian-amd64.tar.gz", i))
		writeTarGz(t, art, fmt.Sprintf("name: rt\nversion: \"1.0.%d\"\n", i))
		cmd := exec.Command(os.Args[0], "-test.run=^TestRegistryHelperProcess$", "--", "registry", "add", "--registry", reg,
			"--name", "rt", "--version", fmt.Sprintf("1.0.%d", i), "--source", src, "--artifact", art, "--url", "https://e.com/")
		cmd.Env = append(os.Environ(), "RTOOL_REGISTRY_HELPER=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("add %d: %v\n%s", i, err, outs[i])
		}
	}
	r, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.Runtimes["rt"]); got != n {
		t.Errorf("%d of %d versions survived concurrent adds", got, n)
	}
}

// TestRegistryVerifyTamperedArtifact: an artifact replaced by bytes that
// are not gzip is a finding (exit 1) naming the file and both checksums.
func TestRegistryVerifyTamperedArtifact(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	src := filepath.Join(dir, "rt-1.0.0.tar.gz")
	art := filepath.Join(dir, "rt-1.0.0-debian-amd64.tar.gz")
	writeTarGz(t, src, "name: rt\n")
	writeTarGz(t, art, "name: rt\nversion: \"1.0.0\"\n")
	code, out, errOut := rtoolRegistry(t, "add", "--registry", reg, "--name", "rt", "--version", "1.0.0",
		"--source", src, "--artifact", art, "--url", "https://e.com/{tag}/{file}", "--time", "2026-02-03T04:05:06Z")
	expectExit(t, "add", code, exitOK, out, errOut)
	r, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	expected := r.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].Checksum
	if err := os.WriteFile(art, []byte("tamper"), 0o644); err != nil {
		t.Fatal(err)
	}
	actual := "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("tamper")))
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg, "--artifacts", dir)
	expectExit(t, "verify tampered", code, exitFindings, out, errOut)
	for _, want := range []string{art, expected, actual} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
		}
	}
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg, "--artifacts", dir, "--json")
	expectExit(t, "verify tampered --json", code, exitFindings, out, errOut)
	var v struct {
		OK       bool
		Problems []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.OK || len(v.Problems) == 0 {
		t.Errorf("verify --json: %v\n%s", err, out)
	}
}

// TestRegistryVerifyPreviousReleasedAt: verify --previous fails on a
// published released_at that was rewritten.
func TestRegistryVerifyPreviousReleasedAt(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	src := filepath.Join(dir, "rt-1.0.0.tar.gz")
	art := filepath.Join(dir, "rt-1.0.0-debian-amd64.tar.gz")
	writeTarGz(t, src, "name: rt\n")
	writeTarGz(t, art, "name: rt\nversion: \"1.0.0\"\n")
	code, out, errOut := rtoolRegistry(t, "add", "--registry", reg, "--name", "rt", "--version", "1.0.0",
		"--source", src, "--artifact", art, "--url", "https://e.com/{tag}/{file}", "--time", "2026-02-03T04:05:06Z")
	expectExit(t, "add", code, exitOK, out, errOut)
	prev := filepath.Join(dir, "previous.json")
	data := readFile(t, reg)
	if err := os.WriteFile(prev, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reg, bytes.Replace(data, []byte(`"released_at": "2026-02-03T04:05:06Z"`), []byte(`"released_at": "2026-01-01T00:00:00Z"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg, "--previous", prev)
	expectExit(t, "verify rewritten released_at", code, exitFindings, out, errOut)
	if !strings.Contains(out, "changed rt@1.0.0: released_at 2026-02-03T04:05:06Z → 2026-01-01T00:00:00Z") {
		t.Errorf("verify output:\n%s", out)
	}
}

// TestRegistryJSONOnRefusal: add and merge with --json print one document
// on stdout also when the merge is refused; the message stays on stderr.
func TestRegistryJSONOnRefusal(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	src := filepath.Join(dir, "rt-1.0.0.tar.gz")
	art := filepath.Join(dir, "rt-1.0.0-debian-amd64.tar.gz")
	writeTarGz(t, src, "name: rt\n")
	writeTarGz(t, art, "name: rt\nversion: \"1.0.0\"\n")
	add := []string{"add", "--registry", reg, "--name", "rt", "--version", "1.0.0", "--source", src, "--artifact", art,
		"--url", "https://e.com/{tag}/{file}", "--time", "2026-02-03T04:05:06Z", "--json"}
	code, out, errOut := rtoolRegistry(t, add...)
	expectExit(t, "add", code, exitOK, out, errOut)
	var ok struct {
		OK        *bool
		Registry  string
		Conflicts []registrygen.Conflict
	}
	if err := json.Unmarshal([]byte(out), &ok); err != nil || ok.OK == nil || !*ok.OK || ok.Registry != reg || ok.Conflicts == nil {
		t.Errorf("add --json: %v\n%s", err, out)
	}
	published := readFile(t, reg)
	old, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	oldSum := old.Runtimes["rt"]["1.0.0"].SourcePackage.Checksum

	// A rebuilt source package with the same version: refused.
	rebuilt := filepath.Join(dir, "rebuilt", "rt-1.0.0.tar.gz")
	os.MkdirAll(filepath.Dir(rebuilt), 0o755)
	writeTarGz(t, rebuilt, "name: rt\n# rebuilt\n")
	frag := filepath.Join(dir, "fragment.json")
	fragAdd := append([]string{}, add...)
	fragAdd[2], fragAdd[8] = frag, rebuilt
	code, out, errOut = rtoolRegistry(t, fragAdd...)
	expectExit(t, "fragment", code, exitOK, out, errOut)

	type refusal struct {
		OK        *bool
		Registry  string
		Conflicts []registrygen.Conflict
	}
	check := func(what string, args []string) {
		t.Helper()
		code, out, errOut := rtoolRegistry(t, args...)
		expectExit(t, what, code, exitFindings, out, errOut)
		var res refusal
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s --json: stdout is not one JSON document (%v):\n%q", what, err, out)
		}
		if res.OK == nil || *res.OK || res.Registry != reg || len(res.Conflicts) != 1 ||
			res.Conflicts[0].Field != "checksum" || res.Conflicts[0].Existing != oldSum {
			t.Errorf("%s --json: %+v\n%s", what, res, out)
		}
		if !strings.Contains(errOut, "left unchanged") || !strings.Contains(errOut, oldSum) {
			t.Errorf("%s: stderr %q", what, errOut)
		}
		if !bytes.Equal(readFile(t, reg), published) {
			t.Errorf("%s: refused merge modified the registry", what)
		}
	}
	addRebuilt := append([]string{}, add...)
	addRebuilt[8] = rebuilt
	check("add", addRebuilt)
	check("merge", []string{"merge", "--registry", reg, frag, "--json"})

	// Other refusals (exit 1) give a document too: a broken fragment, a
	// yank of a version that is not there.
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{\n  \"version\": \"1\",\n  \"updated_at\": \"2026-01-01T00:00:00Z\",\n  \"runtimes\": {\"a\": {\"1.0\": {}}}\n}\n"), 0o644)
	code, out, errOut = rtoolRegistry(t, "merge", "--registry", reg, broken, "--json")
	expectExit(t, "merge broken", code, exitFindings, out, errOut)
	var b struct {
		OK       *bool
		Problems []registrygen.Error
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.OK == nil || *b.OK || len(b.Problems) == 0 || b.Problems[0].Line != 4 {
		t.Errorf("merge broken --json: %v\n%q", err, out)
	}
	code, out, errOut = rtoolRegistry(t, "yank", "rt@9.9.9", "--reason", "x", "--registry", reg, "--json")
	expectExit(t, "yank unknown", code, exitFindings, out, errOut)
	var y struct {
		OK    *bool
		Error string
	}
	if err := json.Unmarshal([]byte(out), &y); err != nil || y.OK == nil || *y.OK || !strings.Contains(y.Error, "9.9.9") || !strings.Contains(errOut, "9.9.9") {
		t.Errorf("yank unknown --json: %v\n%q\n%q", err, out, errOut)
	}
	code, out, errOut = rtoolRegistry(t, "yank", "rt@1.0.0", "--reason", "x", "--registry", reg, "--json")
	expectExit(t, "yank", code, exitOK, out, errOut)
	if err := json.Unmarshal([]byte(out), &y); err != nil || y.OK == nil || !*y.OK {
		t.Errorf("yank --json: %v\n%q", err, out)
	}
}

// TestRegistryAddManifestAndViews: add --manifest takes the name, version,
// description and platforms from the manifest; add and yank write the
// per-platform views with the registry; verify fails on a stale or
// missing view and a later merge repairs it.
func TestRegistryAddManifestAndViews(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "out", "registry.json")
	rt := filepath.Join(dir, "runtimes", "rt")
	os.MkdirAll(rt, 0o755)
	os.WriteFile(filepath.Join(rt, "manifest.yaml"), []byte("name: rt\nversion: 1.2.0\ndescription: From the manifest\nplatforms:\n  - debian-amd64\n  - debian-arm64\n"), 0o644)
	os.MkdirAll(filepath.Dir(reg), 0o755)
	var args []string
	for _, p := range []string{"debian-amd64", "debian-arm64"} {
		art := filepath.Join(dir, "out", "rt-1.2.0-"+p+".tar.gz")
		writeTarGz(t, art, "name: rt\nversion: \"1.2.0\"\n# "+p+"\n")
		args = append(args, "--artifact", art)
	}
	code, out, errOut := rtoolRegistry(t, append([]string{"add", "--registry", reg, "--manifest", rt, "--url", "{file}"}, args...)...)
	expectExit(t, "add --manifest", code, exitOK, out, errOut)
	r, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := r.Runtimes["rt"]["1.2.0"]
	if e == nil || e.Description != "From the manifest" || strings.Join(e.Platforms, ",") != "debian-amd64,debian-arm64" || e.DownloadURL != "rt-1.2.0-debian-amd64.tar.gz" {
		t.Fatalf("entry %+v", e)
	}
	view := filepath.Join(dir, "out", "platforms", "debian-arm64", "registry.json")
	v, err := registrygen.Load(view)
	if err != nil {
		t.Fatalf("the arm64 view was not written: %v", err)
	}
	if got := v.Runtimes["rt"]["1.2.0"]; got == nil || got.DownloadURL != "../../rt-1.2.0-debian-arm64.tar.gz" || got.Checksum != e.Artifacts["debian-arm64"].Checksum {
		t.Fatalf("arm64 view entry %+v", got)
	}
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg, "--artifacts", filepath.Join(dir, "out"))
	expectExit(t, "verify", code, exitOK, out, errOut)
	if !strings.Contains(out, "2 platform view(s) up to date") || !strings.Contains(errOut, "re-hashed 2 file(s)") {
		t.Errorf("verify: %q %q", out, errOut)
	}
	// a contradicting --name is refused
	code, out, errOut = rtoolRegistry(t, "add", "--registry", reg, "--manifest", rt, "--name", "other", "--url", "{file}")
	expectExit(t, "contradicting --name", code, exitUsage, out, errOut)
	if !strings.Contains(errOut, "contradicts") {
		t.Errorf("contradiction: %q", errOut)
	}

	// yank: the views drop the version at once
	code, out, errOut = rtoolRegistry(t, "yank", "rt@1.2.0", "--reason", "broken", "--registry", reg)
	expectExit(t, "yank", code, exitOK, out, errOut)
	if v, err = registrygen.Load(view); err != nil || len(v.Runtimes["rt"]) != 0 {
		t.Fatalf("the arm64 view still offers the yanked version: %v %+v", err, v.Runtimes)
	}
	// a stale view (an old copy put back) and a missing one are findings
	stale, _ := json.Marshal(map[string]any{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "runtimes": map[string]any{}})
	os.WriteFile(view, stale, 0o644)
	os.Remove(filepath.Join(dir, "out", "platforms", "debian-amd64", "registry.json"))
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg)
	expectExit(t, "verify stale views", code, exitFindings, out, errOut)
	if !strings.Contains(out, "view for debian-arm64 is stale") || !strings.Contains(out, "view for debian-amd64 is missing") {
		t.Errorf("verify stale views: %q", out)
	}
	// a merge with nothing new rewrites the views
	code, out, errOut = rtoolRegistry(t, "merge", "--registry", reg, reg)
	expectExit(t, "merge repairs views", code, exitOK, out, errOut)
	code, out, errOut = rtoolRegistry(t, "verify", "--registry", reg)
	expectExit(t, "verify repaired views", code, exitOK, out, errOut)
}

// TestRegistryAddRecordsSBOM: registry add records the SBOM found beside
// an artifact (as publish does), with a URL from the same template, and
// refuses an SBOM made for another artifact.
func TestRegistryAddRecordsSBOM(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.json")
	art := filepath.Join(dir, "rt-1.0.0-debian-amd64.tar.gz")
	writeTarGz(t, art, "name: rt\nversion: \"1.0.0\"\n")
	sum := sha256.Sum256(readFile(t, art))
	writeSBOM := func(sha string) {
		t.Helper()
		doc, err := sbom.Build(sbom.Spec{Artifact: filepath.Base(art), SHA256: sha, Name: "rt", Version: "1.0.0",
			Platform: "debian-amd64", Created: time.Unix(0, 0), Tree: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		data, err := sbom.Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(art+sbom.Suffix, data, 0o644)
	}
	add := []string{"add", "--registry", reg, "--name", "rt", "--version", "1.0.0", "--artifact", art, "--url", "https://e.com/{tag}/{file}"}
	writeSBOM(fmt.Sprintf("%x", sha256.Sum256([]byte("another artifact"))))
	code, out, errOut := rtoolRegistry(t, add...)
	expectExit(t, "sbom of another artifact", code, exitUsage, out, errOut)
	if !strings.Contains(errOut, "does not belong to rt-1.0.0-debian-amd64.tar.gz") {
		t.Errorf("refusal: %q", errOut)
	}
	writeSBOM(fmt.Sprintf("%x", sum))
	code, out, errOut = rtoolRegistry(t, add...)
	expectExit(t, "add with sbom", code, exitOK, out, errOut)
	r, err := registrygen.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Runtimes["rt"]["1.0.0"].Artifacts["debian-amd64"].SBOM
	if s == nil || s.DownloadURL != "https://e.com/rt@1.0.0/rt-1.0.0-debian-amd64.tar.gz.spdx.json" || s.Size == 0 {
		t.Fatalf("sbom %+v", s)
	}
}
