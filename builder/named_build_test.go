package builder

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/intoto"
)

// tinyBaseReport is a setup script that records which base it ran on (the
// marker a test base carries, else "default") and installs tinyOK.
const tinyBaseReport = `mkdir -p "$d/isolated"
cat /etc/rtool-test-base 2>/dev/null > "$d/isolated/base" || echo default > "$d/isolated/base"
` + tinyOK

// A runtime with build.base builds on that named base while another in the
// same run builds on the platform's default base, which stays untouched;
// the named base is cached on its own as <platform>-<name>-<key16>; the
// stamp, the provenance and the log name the base used; moving the runtime
// back to the default base rebuilds it. The named base is the cached
// default base plus a marker file, packed as a rootfs tarball, so no second
// debootstrap runs.
func TestBuildOnNamedBase(t *testing.T) {
	watch := newWatch("")
	b := rootBuilder(t, watch)
	ctx := t.Context()
	def, _, err := b.EnsureBase(ctx, "debian-amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	tarball := filepath.Join(tmp, "marked.tar")
	marker := filepath.Join(tmp, "marker")
	writeTree(t, marker, map[string]string{"etc/rtool-test-base": "marked\n"})
	for _, args := range [][]string{
		{"--numeric-owner", "--xattrs", "-C", def, "-cf", tarball, "."},
		{"--numeric-owner", "-C", marker, "-rf", tarball, "./etc/rtool-test-base"},
	} {
		if out, err := exec.CommandContext(ctx, "tar", args...).CombinedOutput(); err != nil {
			t.Fatalf("tar %v: %v\n%s", args, err, out)
		}
	}
	// (tinyRuntime lists debian-arm64 too, so the named base must have it;
	// only debian-amd64 is built)
	b.cfg.NamedBases = map[string]map[string]*BaseConfig{"marked": {"debian-amd64": {Rootfs: tarball}, "debian-arm64": {Rootfs: tarball}}}
	named, err := b.cfg.resolve("debian-amd64", "marked")
	if err != nil {
		t.Fatal(err)
	}
	namedDir := filepath.Join(b.basesDir(), named.id())
	if !strings.HasPrefix(filepath.Base(namedDir), "debian-amd64-marked-") {
		t.Fatalf("named base id %s", filepath.Base(namedDir))
	}
	t.Cleanup(func() {
		// a test base in the shared cache: remove it (its key changes every run)
		os.RemoveAll(namedDir)
		os.Remove(namedDir + ".log")
		os.Remove(namedDir + ".lock")
	})
	before := snapshot(t, b, def)

	onNamed := tinyRuntime(t, "tiny-named", "build:\n  base: marked\n", tinyBaseReport)
	onDefault := tinyRuntime(t, "tiny-default", "", tinyBaseReport)
	out := t.TempDir()
	reqs := []Request{{RuntimeDir: onNamed, Platform: "debian-amd64", OutDir: out}, {RuntimeDir: onDefault, Platform: "debian-amd64", OutDir: out}}
	res, err := b.BuildAll(ctx, reqs, 2)
	if err != nil {
		t.Fatal(err)
	}
	before.check(t, b, def, "builds on a named and on the default base")

	for i, want := range []string{"marked\n", "default\n"} {
		if got := readMember(t, res[i].ArtifactPath, "isolated/base"); string(got) != want {
			t.Errorf("%s built on %q, want %q", res[i].Name, got, want)
		}
	}
	// the named base is cached on its own, with its name
	var meta baseMeta
	data, err := os.ReadFile(filepath.Join(namedDir, "base.json"))
	if err != nil || json.Unmarshal(data, &meta) != nil || meta.Config.Name != "marked" || meta.Key != named.key() {
		t.Fatalf("named base %s: base.json %s, %v", namedDir, data, err)
	}
	// stamps, provenance and logs name the base each build used
	defKey := mustResolve(t, b, "debian-amd64", "").key()
	for i, w := range []struct{ name, key, logLine string }{
		{"marked", named.key(), "base: named base marked of debian-amd64 (named_bases.marked.debian-amd64 in ../rtool.yaml), key " + named.key()[:16] + ", rootfs " + tarball},
		{"default", defKey, "base: default of debian-amd64 (bases.debian-amd64 in ../rtool.yaml), key " + defKey[:16] + ", debootstrap bookworm/minbase/amd64"},
	} {
		st, err := readStamp(res[i].ArtifactPath)
		if err != nil {
			t.Fatal(err)
		}
		wantName := w.name
		if wantName == "default" {
			wantName = ""
		}
		if st.BaseKey != w.key || st.BaseName != wantName {
			t.Errorf("%s: stamp base %s %q, want %s %q", res[i].Name, st.BaseKey, st.BaseName, w.key, wantName)
		}
		prov, err := os.ReadFile(res[i].ProvenancePath)
		if err != nil {
			t.Fatal(err)
		}
		_, pred, err := intoto.Decode(prov)
		if err != nil {
			t.Fatal(err)
		}
		base := pred.GetBuildDefinition().GetInternalParameters().GetFields()["base"].GetStructValue().GetFields()
		if base["name"].GetStringValue() != w.name || base["key"].GetStringValue() != w.key {
			t.Errorf("%s: provenance base %v, want name %s key %s", res[i].Name, base, w.name, w.key)
		}
		log, err := os.ReadFile(res[i].LogPath)
		if err != nil || !bytes.Contains(log, []byte(w.logLine)) {
			t.Errorf("%s: log lacks %q:\n%s", res[i].Name, w.logLine, log)
		}
	}

	// build.base is an input: moving the runtime to the default base rebuilds it there
	if err := os.WriteFile(filepath.Join(onNamed, "manifest.yaml"), []byte("name: tiny-named\nversion: 1.0.0\ndescription: test runtime\nplatforms: [debian-amd64, debian-arm64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved, err := b.Build(ctx, reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if moved.Skipped || string(readMember(t, moved.ArtifactPath, "isolated/base")) != "default\n" {
		t.Errorf("after dropping build.base: skipped=%v, built on %q", moved.Skipped, readMember(t, moved.ArtifactPath, "isolated/base"))
	}
	before.check(t, b, def, "the rebuild")
}

func mustResolve(t *testing.T, b *Builder, platform, name string) *resolvedBase {
	t.Helper()
	r, err := b.cfg.resolve(platform, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
