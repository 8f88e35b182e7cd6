package builder

// Root-only tests that bootstrap real bases and run real builds. They share
// the machine's cache ($RTOOL_CACHE or /var/cache/rtool), so each base is
// bootstrapped once per machine and every later run (and CI's later steps)
// reuses it.

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// watchWriter collects live output and closes seen when a line contains
// want.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func newWatch(want string) *watchWriter {
	return &watchWriter{want: want, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && bytes.Contains(w.buf.Bytes(), []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// rootBuilder returns a Builder on the repository's rtool.yaml and the
// shared cache, or skips (fails in CI) without root and debootstrap.
func rootBuilder(t *testing.T, stderr *watchWriter) *Builder {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "debootstrap", "tar")
	testenv.RequireSlow(t)
	cfg, err := LoadConfig("../rtool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: DefaultCacheDir(), ToolVersion: "test"}
	if stderr != nil {
		opts.Stderr = stderr
	}
	return New(cfg, opts)
}

// hostState is what a build must leave unchanged on the host.
type hostState struct {
	mounts []string // mountinfo lines that mention the cache or overlayfs
	base   string   // TreeHash of the base
}

// snapshot records the host state around builds on base. Only mountinfo
// lines about the cache directory or overlayfs are compared, so mounts that
// other test packages running in parallel make elsewhere cannot make this
// test flaky; a mount leaked by a build is always one of those.
func snapshot(t *testing.T, b *Builder, base string) hostState {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var s hostState
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, b.CacheDir()) || strings.Contains(l, " overlay ") {
			s.mounts = append(s.mounts, l)
		}
	}
	if s.base, err = TreeHash(base); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s hostState) check(t *testing.T, b *Builder, base, after string) {
	t.Helper()
	now := snapshot(t, b, base)
	if !slices.Equal(now.mounts, s.mounts) {
		t.Errorf("after %s: mounts changed:\nbefore %q\nafter  %q", after, s.mounts, now.mounts)
	}
	if now.base != s.base {
		t.Errorf("after %s: the base %s changed (tree hash %s → %s)", after, base, s.base, now.base)
	}
	left, _ := filepath.Glob(filepath.Join(b.workDir(), "tiny-*"))
	if len(left) > 0 {
		t.Errorf("after %s: work directories left behind: %v", after, left)
	}
}

// tinyRuntime writes a runtime directory whose setup script for every
// platform is body (after a bash preamble).
func tinyRuntime(t *testing.T, name, manifestExtra, body string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	script := "#!/bin/bash\nset -euo pipefail\nd=/opt/joblet/runtimes/$RUNTIME_NAME\n" + body
	writeTree(t, dir, map[string]string{
		"manifest.yaml": fmt.Sprintf("name: %s\nversion: 1.0.0\ndescription: test runtime\nplatforms: [debian-amd64, debian-arm64]\n%s", name, manifestExtra),
		"setup.sh":      "#!/bin/bash\nexec bash ./setup-$PLATFORM.sh\n",
	})
	for _, p := range []string{"debian-amd64", "debian-arm64"} {
		if err := os.WriteFile(filepath.Join(dir, "setup-"+p+".sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tinyOK installs dash and the machine name, and a valid runtime.yml.
const tinyOK = `mkdir -p "$d/isolated/usr/bin"
cp /usr/bin/dash "$d/isolated/usr/bin/"
uname -m > "$d/isolated/machine"
echo "$RUNTIME_SPEC $PLATFORM $BUILD_ID $SOURCE_DATE_EPOCH" > "$d/isolated/env"
cat > "$d/runtime.yml" <<EOT
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
mounts:
  - source: isolated/usr/bin
    target: /usr/bin
    readonly: true
EOT
`

func readMember(t *testing.T, artifact, name string) []byte {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(artifact)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := archive.Extract(t.Context(), f, dir, archive.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBuildPythonReproducibleAndSelfContained(t *testing.T) {
	b := rootBuilder(t, nil)
	ctx := t.Context()
	base, _, err := b.EnsureBase(ctx, "debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, b, base)
	out := t.TempDir()
	start := time.Now()
	res, err := b.CheckReproducible(ctx, Request{RuntimeDir: "../runtimes/python-3.11", Platform: "debian-amd64", OutDir: out})
	if err != nil {
		t.Fatalf("python-3.11 is not reproducible: %v", err)
	}
	t.Logf("two python-3.11 builds in %s: %s (%d bytes)", time.Since(start).Round(time.Second), res.Stats.SHA256, res.Stats.Size)
	before.check(t, b, base, "two passing builds")

	if got, _ := fileSHA256(res.ArtifactPath); got != res.Stats.SHA256 {
		t.Fatalf("artifact hash %s, result says %s", got, res.Stats.SHA256)
	}
	if res.ArtifactPath != filepath.Join(out, schema.ArtifactName("python-3.11", "1.0.0", "debian-amd64")) {
		t.Fatalf("artifact at %s", res.ArtifactPath)
	}
	sum, err := os.ReadFile(res.ArtifactPath + ".sha256")
	if err != nil || !strings.HasPrefix(string(sum), res.Stats.SHA256+"  ") {
		t.Fatalf(".sha256 = %q, %v", sum, err)
	}
	src, err := os.Open(filepath.Join(out, schema.SourcePackageName("python-3.11", "1.0.0")))
	if err != nil {
		t.Fatal(err)
	}
	srcDir := t.TempDir()
	_, err = archive.Extract(ctx, src, srcDir, archive.ExtractOptions{})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(srcDir, "python-3.11", "setup-debian-amd64.sh")); err != nil {
		t.Fatalf("source package lacks python-3.11/setup-debian-amd64.sh: %v", err)
	}

	// The runtime runs in an empty root with only its own mounts.
	rt := t.TempDir()
	f, _ := os.Open(res.ArtifactPath)
	_, err = archive.Extract(ctx, f, rt, archive.ExtractOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rcData, err := os.ReadFile(filepath.Join(rt, "runtime.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := schema.ParseRuntimeConfig(rcData)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("../runtimes/python-3.11/manifest.yaml")
	m, err := schema.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	var mounts []sandbox.Mount
	for _, mt := range rc.Mounts {
		mounts = append(mounts, sandbox.Mount{Source: filepath.Join(rt, mt.Source), Target: mt.Target, ReadOnly: mt.ReadOnly})
	}
	var env []string
	for k, v := range rc.Environment {
		env = append(env, k+"="+v)
	}
	if len(m.Smoke) == 0 {
		t.Fatal("manifest has no smoke commands")
	}
	for _, s := range m.Smoke {
		var stdout, stderr bytes.Buffer
		code, err := sandbox.Run(ctx, sandbox.Spec{Root: t.TempDir(), Mounts: mounts, Proc: true, Dev: true, NoNetwork: true,
			Args: s.Command, Env: env, Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != s.ExitCode || !strings.Contains(stdout.String(), s.Expect) {
			t.Errorf("smoke %q in an empty root: code %d, err %v, stdout %q, stderr %q", s.Name, code, err, stdout.String(), stderr.String())
		}
	}
}

func TestBuildFailureInterruptTimeout(t *testing.T) {
	watch := newWatch("tiny-sleep/debian-amd64] ready")
	b := rootBuilder(t, watch)
	base, _, err := b.EnsureBase(t.Context(), "debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, b, base)
	out := t.TempDir()

	// A failing script: its last lines and the log's path are in the error.
	failing := tinyRuntime(t, "tiny-fail", "", `for i in $(seq 1 30); do echo "output line $i"; done
mkdir -p /opt/joblet/runtimes/x /etc/changed-by-build && rm -rf /usr/share/doc
echo "about to fail" >&2
exit 7
`)
	_, err = b.Build(t.Context(), Request{RuntimeDir: failing, Platform: "debian-amd64", OutDir: out})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("failing build: %v; want a *StepError", err)
	}
	if len(se.Tail) != tailLines || se.Tail[len(se.Tail)-1] != "about to fail" || se.Tail[len(se.Tail)-2] != "output line 30" {
		t.Errorf("tail = %q", se.Tail)
	}
	msg := err.Error()
	for _, want := range []string{"exited with status 7", "output line 30", "full log: " + se.LogPath} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if log, err := os.ReadFile(se.LogPath); err != nil || !strings.Contains(string(log), "output line 1\n") {
		t.Errorf("log %s: %v, %q", se.LogPath, err, log)
	}
	if !strings.Contains(watch.String(), "[tiny-fail/debian-amd64] output line 1\n") {
		t.Errorf("live output lacks the prefixed line")
	}
	if _, err := os.Stat(filepath.Join(out, schema.ArtifactName("tiny-fail", "1.0.0", "debian-amd64"))); err == nil {
		t.Errorf("a failed build left an artifact")
	}
	before.check(t, b, base, "a failing build")

	// An interrupted build (context cancelled while the script runs).
	sleeper := tinyRuntime(t, "tiny-sleep", "", "touch /etc/changed-by-build; echo ready; sleep 600\n")
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-watch.seen:
		case <-time.After(2 * time.Minute):
		}
		cancel()
	}()
	start := time.Now()
	_, err = b.Build(ctx, Request{RuntimeDir: sleeper, Platform: "debian-amd64", OutDir: out})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted build: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("interrupted build took %s to return", d)
	}
	before.check(t, b, base, "an interrupted build")

	// The manifest's time limit.
	slow := tinyRuntime(t, "tiny-slow", "build:\n  timeout: 2s\n", "sleep 600\n")
	_, err = b.Build(t.Context(), Request{RuntimeDir: slow, Platform: "debian-amd64", OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 2s") {
		t.Fatalf("timed-out build: %v", err)
	}
	before.check(t, b, base, "a timed-out build")
}

func TestBuildChecksTreeConcurrently(t *testing.T) {
	b := rootBuilder(t, newWatch(""))
	base, _, err := b.EnsureBase(t.Context(), "debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, b, base)
	cases := []struct {
		name, body, wantErr string
	}{
		{"tiny-ok", tinyOK, ""},
		{"tiny-nodir", "echo nothing installed\n", "did not create /opt/joblet/runtimes/tiny-nodir/"},
		{"tiny-noyml", "mkdir -p \"$d/isolated\"\n", "/opt/joblet/runtimes/tiny-noyml/runtime.yml is missing"},
		{"tiny-badversion", strings.Replace(tinyOK, `version: "$RUNTIME_VERSION"`, `version: "2.0.0"`, 1), `version is "2.0.0" but the release version in manifest.yaml is "1.0.0"`},
		{"tiny-nosource", strings.Replace(tinyOK, "source: isolated/usr/bin", "source: isolated/bin", 1), `mounts[0].source "isolated/bin" does not exist in the built tree`},
		{"tiny-device", tinyOK + "mknod \"$d/isolated/null\" c 1 3\n", "isolated/null is a character device"},
	}
	var reqs []Request
	out := t.TempDir()
	for _, c := range cases {
		reqs = append(reqs, Request{RuntimeDir: tinyRuntime(t, c.name, "", c.body), Platform: "debian-amd64", OutDir: out})
	}
	results, err := b.BuildAll(t.Context(), reqs, 3)
	for i, c := range cases {
		if c.wantErr == "" {
			if results[i] == nil {
				t.Errorf("%s: no result", c.name)
			}
			continue
		}
		if results[i] != nil {
			t.Errorf("%s: built, want error %q", c.name, c.wantErr)
		}
		if err == nil || !strings.Contains(err.Error(), "build "+c.name+"/debian-amd64: ") || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: joined errors lack %q:\n%v", c.name, c.wantErr, err)
		}
	}
	env := readMember(t, results[0].ArtifactPath, "isolated/env")
	wantEnv := "tiny-ok@1.0.0 debian-amd64 tiny-ok-1.0.0-debian-amd64-"
	if !strings.HasPrefix(string(env), wantEnv) || !strings.HasSuffix(string(env), " 0\n") {
		t.Errorf("setup environment %q, want %q... 0", env, wantEnv)
	}
	before.check(t, b, base, "concurrent builds")
}

func TestBuildSkipsUnchangedInputs(t *testing.T) {
	b := rootBuilder(t, nil)
	dir := tinyRuntime(t, "tiny-skip", "", tinyOK)
	out := t.TempDir()
	req := Request{RuntimeDir: dir, Platform: "debian-amd64", OutDir: out}
	// rtool build --dry-run tells, without building, what Build then does.
	preview := func(want bool) {
		t.Helper()
		p, err := b.Preview(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if p.Reuse != want || !p.BaseCached || p.Base != "default" || p.Name != "tiny-skip" || p.Artifact != filepath.Join(out, "tiny-skip-1.0.0-debian-amd64.tar.gz") {
			t.Fatalf("preview: %+v, want reuse=%v on the cached default base", p, want)
		}
	}
	preview(false)
	first, err := b.Build(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Skipped || first.LogPath == "" {
		t.Fatalf("first build skipped: %+v", first)
	}
	preview(true)
	again, err := b.Build(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped || again.Stats != first.Stats {
		t.Fatalf("unchanged inputs rebuilt: %+v", again)
	}
	// A skipped build still provides the source package.
	os.Remove(first.SourcePath)
	if again, err = b.Build(t.Context(), req); err != nil || !again.Skipped {
		t.Fatalf("second skip: %+v, %v", again, err)
	}
	if _, err := os.Stat(first.SourcePath); err != nil {
		t.Fatalf("skipped build did not restore the source package: %v", err)
	}
	req.Rebuild = true
	forced, err := b.Build(t.Context(), req)
	if err != nil || forced.Skipped {
		t.Fatalf("--rebuild skipped: %+v, %v", forced, err)
	}
	if forced.Stats.SHA256 != first.Stats.SHA256 {
		t.Errorf("rebuild of the same inputs differs: %s vs %s", forced.Stats.SHA256, first.Stats.SHA256)
	}
	req.Rebuild = false
	f, _ := os.OpenFile(filepath.Join(dir, "setup-debian-amd64.sh"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("echo changed > \"$d/isolated/changed\"\n")
	f.Close()
	preview(false)
	changed, err := b.Build(t.Context(), req)
	if err != nil || changed.Skipped || changed.Stats.SHA256 == first.Stats.SHA256 {
		t.Fatalf("changed script did not rebuild: %+v, %v", changed, err)
	}
}

func TestBuildArm64ThroughQemu(t *testing.T) {
	b := rootBuilder(t, nil)
	testenv.Require(t, CheckBinfmt("arm64") == nil, fmt.Sprint("arm64 binfmt handler: ", CheckBinfmt("arm64")))
	dir := tinyRuntime(t, "tiny-arm", "", tinyOK)
	start := time.Now()
	res, err := b.Build(t.Context(), Request{RuntimeDir: dir, Platform: "debian-arm64", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 base + tiny build in %s", time.Since(start).Round(time.Second))
	if m := readMember(t, res.ArtifactPath, "isolated/machine"); string(m) != "aarch64\n" {
		t.Errorf("uname -m in the arm64 build said %q", m)
	}
	dash := readMember(t, res.ArtifactPath, "isolated/usr/bin/dash")
	ef, err := elf.NewFile(bytes.NewReader(dash))
	if err != nil {
		t.Fatal(err)
	}
	if ef.Machine != elf.EM_AARCH64 {
		t.Errorf("dash in the arm64 artifact is for %v", ef.Machine)
	}
}

// onlyLogs fails t unless dir holds nothing but logs/ and the names in
// allowed.
func onlyLogs(t *testing.T, dir, after string, allowed ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "logs" && !slices.Contains(allowed, e.Name()) {
			t.Errorf("after %s: %s left in the output directory", after, e.Name())
		}
	}
}

// A runtime whose setup writes the time into a file is not reproducible:
// the check names the file, leaves nothing in the output directory but
// logs/ (where both builds' tarballs are kept), and is not reported as
// built, so the next plain build builds again instead of reusing an
// artifact nobody could rebuild. A failing --rebuild of a good artifact
// likewise leaves no artifact, and the next build is not skipped.
func TestCheckReproducibleFailureLeavesNoArtifact(t *testing.T) {
	b := rootBuilder(t, nil)
	ctx := t.Context()
	base, _, err := b.EnsureBase(ctx, "debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, b, base)
	dir := tinyRuntime(t, "tiny-clock", "", tinyOK+`mkdir -p "$d/isolated/bin"
date +%N > "$d/isolated/bin/stamp"
sleep 2
`)
	out := t.TempDir()
	req := Request{RuntimeDir: dir, Platform: "debian-amd64", OutDir: out}
	artifact := filepath.Join(out, schema.ArtifactName("tiny-clock", "1.0.0", "debian-amd64"))

	res, err := b.CheckReproducible(ctx, req)
	var nr *NotReproducibleError
	if !errors.As(err, &nr) {
		t.Fatalf("check of a non-reproducible runtime: %v; want a *NotReproducibleError", err)
	}
	if !strings.Contains(err.Error(), "isolated/bin/stamp: content differs") {
		t.Errorf("error does not name the differing file:\n%v", err)
	}
	if res != nil {
		t.Errorf("a failed check returned a result, which rtool build would print as built: %+v", res)
	}
	onlyLogs(t, out, "a failed reproducibility check")
	for _, a := range nr.Artifacts {
		if filepath.Dir(a) != filepath.Join(out, "logs") {
			t.Errorf("candidate artifact kept at %q, want it under %s/logs", a, out)
		} else if _, err := os.Stat(a); err != nil {
			t.Errorf("candidate artifact for inspection: %v", err)
		}
	}
	before.check(t, b, base, "a failed reproducibility check")

	again, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Skipped {
		t.Fatalf("the build after a failed check reused an artifact: %+v", again)
	}
	if _, err := os.Stat(stampPath(artifact)); err != nil {
		t.Fatalf("a good build left no stamp: %v", err)
	}

	// --rebuild of that good artifact, failing (a time limit the first
	// build did not have; the inputs are the same).
	strict := New(b.cfg, Options{CacheDir: b.opts.CacheDir, ToolVersion: b.opts.ToolVersion, Timeout: time.Second})
	rreq := req
	rreq.Rebuild = true
	if res, err := strict.Build(ctx, rreq); err == nil || !strings.Contains(err.Error(), "did not finish within 1s") {
		t.Fatalf("failing --rebuild: %+v, %v", res, err)
	}
	// The source package is of the runtime directory, not of the build,
	// and other platforms share it: a failed build leaves it.
	src := schema.SourcePackageName("tiny-clock", "1.0.0")
	onlyLogs(t, out, "a failed --rebuild", src, src+".sha256")
	before.check(t, b, base, "a failed --rebuild")
	next, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if next.Skipped {
		t.Fatalf("the build after a failed --rebuild reused an artifact: %+v", next)
	}
}
