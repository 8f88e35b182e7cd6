package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/testenv"
)

// Every install carries a record of what was installed: the artifact and
// each entry of the tree, hashed together into a digest.
func TestInstallWritesRecord(t *testing.T) {
	f := newFixture(t, nil, "1.0.0")
	got, err := Install(context.Background(), "demo@1.0.0", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ReadInstallRecord(got.Dir)
	if err != nil {
		t.Fatal(err)
	}
	e := f.reg.Runtimes["demo"]["1.0.0"].Artifacts[plat]
	if rec.Name != "demo" || rec.Version != "1.0.0" || rec.Platform != plat || rec.Checksum != e.Checksum || rec.Size != e.Size ||
		rec.Registry != f.srv.URL+"/registry.json" || rec.URL != f.srv.URL+"/"+e.DownloadURL || rec.InstalledAt == "" {
		t.Errorf("record = %+v", rec)
	}
	scan, err := scanTree(context.Background(), got.Dir, scanOptions{hash: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := compareTree(rec.Entries, scan); len(d) > 0 || rec.Digest != treeDigest(scan) || got.TreeDigest != rec.Digest {
		t.Errorf("record does not describe the tree: %v, digest %s, tree %s, result %s", d, rec.Digest, treeDigest(scan), got.TreeDigest)
	}
	if rec.Files != 2 || len(rec.Entries) != 5 || rec.Entries[2].Path != "isolated/data/hello.txt" || rec.Entries[2].SHA256 == "" {
		t.Errorf("entries = %+v", rec.Entries)
	}
	// The record is not part of the runtime.
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}
}

// TestInstallHelperProcess is the install that TestInstallSyncsBeforeRename
// runs under strace (it does nothing otherwise).
func TestInstallHelperProcess(t *testing.T) {
	reg, root := os.Getenv("RTOOL_TEST_INSTALL_REGISTRY"), os.Getenv("RTOOL_TEST_INSTALL_ROOT")
	if reg == "" {
		t.Skip("helper of TestInstallSyncsBeforeRename")
	}
	o := InstallOptions{Root: root, Platform: plat, Registries: []Source{{Location: reg}}, Retry: quickRetry(),
		Force: os.Getenv("RTOOL_TEST_INSTALL_FORCE") != ""}
	if _, err := Install(context.Background(), "demo@1.0.0", o); err != nil {
		t.Fatal(err)
	}
}

// Before the staging tree is renamed into place, its filesystem has been
// synced (syncfs) after the last file and directory of the tree was
// created, and the install record and the tree's root were fsynced after
// being written; the directory it was renamed into is fsynced after the
// rename. Watched with strace on a real install, first and with --force
// (an exchange).
func TestInstallSyncsBeforeRename(t *testing.T) {
	testenv.RequireCommands(t, "strace")
	f := newFixture(t, nil, "1.0.0")
	final := filepath.Join(f.root, "demo", "1.0.0")
	// strace -f splits a call that another thread interrupts into
	// "... <unfinished ...>" and "<... NAME resumed>": calls are matched
	// at their start, results at their end.
	callRE := regexp.MustCompile(`^(\d+)\s+(\w+)\((.*)$`)
	resumedRE := regexp.MustCompile(`^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$`)
	fdRE := regexp.MustCompile(`^\d+<(.*?)>`)
	resultRE := regexp.MustCompile(`= \d+<(.*)>$`)
	for _, force := range []string{"", "1"} {
		out := filepath.Join(t.TempDir(), "strace.out")
		cmd := exec.Command("strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync,syncfs,sync,rename,renameat,renameat2,openat,mkdirat", "-o", out,
			os.Args[0], "-test.run", "^TestInstallHelperProcess$", "-test.count", "1")
		cmd.Env = append(os.Environ(), "RTOOL_TEST_INSTALL_REGISTRY="+f.srv.URL+"/", "RTOOL_TEST_INSTALL_ROOT="+f.root, "RTOOL_TEST_INSTALL_FORCE="+force)
		if b, err := cmd.CombinedOutput(); err != nil {
			testenv.Require(t, !strings.Contains(string(b), "PTRACE_TRACEME"), "strace cannot trace here: "+string(b))
			t.Fatalf("install under strace: %v\n%s", err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// Events in trace order; n is the line number.
		var lastCreate, syncfs, recordSynced, rootSynced, renamed, parentSynced = -1, -1, -1, -1, -1, -1
		var staging string // the staging tree renamed into place
		inTree := func(p string) bool { return staging != "" && (p == staging || strings.HasPrefix(p, staging+"/")) }
		type call struct{ name, args string }
		pending := map[string]call{} // pid → unfinished call
		var events []call
		var results []string
		for _, line := range strings.Split(string(data), "\n") {
			if m := callRE.FindStringSubmatch(line); m != nil {
				c := call{m[2], m[3]}
				if strings.HasSuffix(line, "<unfinished ...>") {
					pending[m[1]] = c
					continue
				}
				events, results = append(events, c), append(results, line)
			} else if m := resumedRE.FindStringSubmatch(line); m != nil {
				events, results = append(events, pending[m[1]]), append(results, m[3])
				delete(pending, m[1])
			}
		}
		// The staging tree is the source of the rename to final.
		for _, c := range events {
			if strings.HasPrefix(c.name, "rename") && strings.Contains(c.args, `"`+final+`"`) {
				if i := strings.Index(c.args, `/.staging-demo-1.0.0-`); i >= 0 {
					start := strings.LastIndex(c.args[:i], `"`) + 1
					staging = c.args[start : i+strings.Index(c.args[i:], `"`)]
				}
				break
			}
		}
		if !strings.HasSuffix(staging, "/tree") {
			t.Fatalf("force=%q: no rename of a staging tree to %s in the trace:\n%s", force, final, data)
		}
		for n, c := range events {
			fd := ""
			if m := fdRE.FindStringSubmatch(c.args); m != nil {
				fd = m[1]
			}
			switch {
			case c.name == "openat" && strings.Contains(c.args, "O_CREAT"):
				if m := resultRE.FindStringSubmatch(results[n]); m != nil && inTree(m[1]) && m[1] != staging+"/"+RecordFile {
					lastCreate = n
				}
			case c.name == "mkdirat" && inTree(fd):
				lastCreate = n
			case c.name == "syncfs" && inTree(fd) && renamed < 0:
				syncfs = n
			case c.name == "fsync" && fd == staging+"/"+RecordFile:
				recordSynced = n
			case c.name == "fsync" && fd == staging && recordSynced >= 0:
				rootSynced = n
			case strings.HasPrefix(c.name, "rename") && strings.Contains(c.args, `"`+staging+`"`):
				renamed = n
			case c.name == "fsync" && fd == filepath.Dir(final) && renamed >= 0:
				parentSynced = n
			}
		}
		if !(lastCreate >= 0 && lastCreate < syncfs && syncfs < renamed && recordSynced < rootSynced && rootSynced < renamed && renamed < parentSynced && recordSynced >= 0) {
			t.Errorf("force=%q: want last creation in the tree < syncfs < rename, record fsynced < tree root fsynced < rename < parent fsynced; got creation %d, syncfs %d, record %d, root %d, rename %d, parent %d",
				force, lastCreate, syncfs, recordSynced, rootSynced, renamed, parentSynced)
		}
	}
}

// An install that finds the version in place checks it against its
// record: a tree that differs from it (a crash before the data reached
// the disk leaves empty or missing files) is installed again, not called
// "already installed".
func TestInstallChecksExisting(t *testing.T) {
	hello := filepath.Join("isolated", "data", "hello.txt")
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// want: "kept", "kept unverified", "repaired: SUBSTRING", "error: SUBSTRING"
		want string
	}{
		{"intact", func(*testing.T, string) {}, "kept"},
		{"file emptied by a crash", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, hello), 0)) }, "repaired: size     isolated/data/hello.txt (recorded 12, found 0)"},
		{"file missing", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, hello))) }, "repaired: missing  isolated/data/hello.txt"},
		{"extra file", func(t *testing.T, dir string) { must(t, os.WriteFile(filepath.Join(dir, "isolated", "x"), nil, 0o644)) }, "repaired: extra    isolated/x"},
		{"mode changed", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, hello), 0o666)) }, "repaired: mode     isolated/data/hello.txt (recorded 0644, found 0666)"},
		{"runtime.yml missing", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "runtime.yml"))) }, "repaired: no runtime.yml"},
		{"record damaged", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, RecordFile), []byte("{"), 0o644))
		}, "repaired: install record"},
		{"record emptied by a crash", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, RecordFile), 0)) }, "repaired: install record"},
		// Content is compared by rtool runtime verify, which reads every
		// file; an install compares what lstat shows.
		{"same size, other content", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, hello), []byte("hello world?"), 0o644))
		}, "kept"},
		{"no record (older rtool)", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, RecordFile))) }, "kept unverified"},
		{"no record, no runtime.yml", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, RecordFile)))
			must(t, os.Remove(filepath.Join(dir, "runtime.yml")))
		}, "error: it has no install record, so it was not installed by this rtool: reinstall with --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, "1.0.0")
			ctx := context.Background()
			first, err := Install(ctx, "demo@1.0.0", f.opts())
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, first.Dir)
			var warnings []string
			o := f.opts()
			o.Warn = func(s string) { warnings = append(warnings, s) }
			got, err := Install(ctx, "demo@1.0.0", o)
			kind, detail, _ := strings.Cut(tt.want, ": ")
			switch kind {
			case "kept", "kept unverified":
				if err != nil || !got.AlreadyInstalled || got.Unverified != (kind == "kept unverified") || got.Repaired != "" {
					t.Fatalf("got %+v, %v; want %s", got, err, kind)
				}
				if w := matching(warnings, "has no install record"); got.Unverified != (len(w) == 1) {
					t.Errorf("warnings %q", warnings)
				}
			case "repaired":
				if err != nil || got.AlreadyInstalled || !got.Replaced || !strings.Contains(got.Repaired, detail) {
					t.Fatalf("got %+v, %v; want it installed again because of %q", got, err, detail)
				}
				if w := matching(warnings, "is damaged"); len(w) != 1 || !strings.Contains(w[0], detail) {
					t.Errorf("warnings %q", warnings)
				}
				if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
					t.Errorf("repaired tree differs:\n%s", diff)
				}
				if _, err := ReadInstallRecord(got.Dir); err != nil {
					t.Error(err)
				}
			case "error":
				if err == nil || !strings.Contains(err.Error(), detail) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, detail)
				}
			}
		})
	}
}

// A version republished with other bytes is not "already installed": the
// record names the artifact that was installed, and --force replaces it.
func TestInstallRefusesAnotherArtifact(t *testing.T) {
	f := newFixture(t, nil, "1.0.0")
	ctx := context.Background()
	first, err := Install(ctx, "demo@1.0.0", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	other := simpleTree(t, "demo", "1.0.0")
	must(t, os.WriteFile(filepath.Join(other, "isolated", "data", "hello.txt"), []byte("changed"), 0o644))
	f.add(t, "demo", "1.0.0", other)
	now := f.reg.Runtimes["demo"]["1.0.0"].Artifacts[plat].Checksum
	_, err = Install(ctx, "demo@1.0.0", f.opts())
	rec, _ := ReadInstallRecord(first.Dir)
	if err == nil || !strings.Contains(err.Error(), "from another artifact") || !strings.Contains(err.Error(), rec.Checksum) ||
		!strings.Contains(err.Error(), now) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("install of a changed artifact = %v", err)
	}
	o := f.opts()
	o.Force = true
	got, err := Install(ctx, "demo@1.0.0", o)
	if err != nil || !got.Replaced {
		t.Fatalf("--force: %+v, %v", got, err)
	}
	if rec, err := ReadInstallRecord(got.Dir); err != nil || rec.Checksum != now {
		t.Errorf("record after --force: %+v, %v", rec, err)
	}
}

// rtool runtime verify: every file re-hashed against the record, each
// difference listed.
func TestVerifyInstall(t *testing.T) {
	f := newFixture(t, nil, "1.0.0", "1.1.0")
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if _, err := Install(ctx, "demo@"+v, f.opts()); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(s string) Spec {
		sp, err := ParseSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	c, err := VerifyInstall(ctx, f.root, spec("demo@1.0.0"))
	if err != nil || !c.OK() || c.Files != 2 || len(c.Differences) != 0 || c.Checksum == "" || c.Layout != LayoutNested {
		t.Fatalf("intact: %+v, %v", c, err)
	}
	dir := filepath.Join(f.root, "demo", "1.0.0")
	must(t, os.WriteFile(filepath.Join(dir, "isolated", "data", "hello.txt"), []byte("hello world?"), 0o644)) // same size
	must(t, os.Chmod(filepath.Join(dir, "isolated", "data", "sub"), 0o777))
	must(t, os.WriteFile(filepath.Join(dir, "isolated", "evil"), []byte("x"), 0o755))
	must(t, os.Remove(filepath.Join(dir, "runtime.yml")))
	must(t, os.Symlink("/etc", filepath.Join(dir, "runtime.yml")))
	c, err = VerifyInstall(ctx, f.root, spec("demo@1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range c.Differences {
		got = append(got, d.String())
	}
	want := []string{
		"content  isolated/data/hello.txt (recorded sha256:",
		"mode     isolated/data/sub (recorded 0755, found 0777)",
		"extra    isolated/evil (recorded , found file)",
		"type     runtime.yml (recorded file, found symlink)",
	}
	if c.Status != CheckModified || len(got) != len(want) {
		t.Fatalf("status %s, differences:\n%s", c.Status, strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("difference %d = %q, want %q...", i, got[i], want[i])
		}
	}

	// --all: the modified one, the intact one, an old flat install
	// without a record, and a directory that is no install.
	runtimeDir(t, filepath.Join(f.root, "old-1.0.0"), "old", "1.0.0")
	must(t, os.MkdirAll(filepath.Join(f.root, "junk", "x"), 0o755))
	all, err := VerifyAllInstalls(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range all {
		status[filepath.Base(filepath.Dir(c.Dir))+"/"+filepath.Base(c.Dir)] = c.Status
	}
	wantStatus := map[string]string{"demo/1.0.0": CheckModified, "demo/1.1.0": CheckOK, "runtimes/old-1.0.0": CheckUnverified, "runtimes/junk": CheckDamaged}
	for k, v := range wantStatus {
		if status[k] != v {
			t.Errorf("%s: %s, want %s (all: %v)", k, status[k], v, status)
		}
	}
	if _, err := VerifyInstall(ctx, f.root, spec("demo@2.0.0")); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("verify of a version not installed: %v", err)
	}
}

// matching returns the warnings that contain s.
func matching(warnings []string, s string) []string {
	var out []string
	for _, w := range warnings {
		if strings.Contains(w, s) {
			out = append(out, w)
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The install record takes a file's sha256 from what the extractor wrote
// (writtenDigests) when the path and size match, and reads the file
// otherwise (a hardlink, or a file that changed size since).
func TestScanTreeUsesWrittenDigests(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"kept": "kept", "resized": "resized", "unknown": "unknown"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var written writtenDigests
	record := written.recorder(dir)
	// Sums that differ from the files' content show which ones were used.
	record("kept", 4, sha256.Sum256([]byte("as written")))
	record("resized", 3, sha256.Sum256([]byte("as written")))
	entries, err := scanTree(context.Background(), dir, scanOptions{hash: true, written: &written})
	if err != nil {
		t.Fatal(err)
	}
	hexOf := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	want := map[string]string{"kept": hexOf("as written"), "resized": hexOf("resized"), "unknown": hexOf("unknown")}
	for _, e := range entries {
		if e.SHA256 != want[e.Path] {
			t.Errorf("%s: sha256 %s, want %s", e.Path, e.SHA256, want[e.Path])
		}
	}
	if len(entries) != len(want) {
		t.Errorf("entries = %+v", entries)
	}
}
