package consumer

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/joblet/rtool/consumer/consumertest"
	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

// runtimeDir writes a small runtime tree whose runtime.yml says
// name@version at dir (a mount source that exists, so it verifies).
func runtimeDir(t *testing.T, dir, name, version string) {
	t.Helper()
	writeTree(t, dir, map[string]string{
		"runtime.yml":             runtimeYML(name, version, "isolated/data:/opt/data:ro"),
		"isolated/data/hello.txt": "hello " + version + "\n",
	})
}

func TestListAndFindBothLayouts(t *testing.T) {
	root := t.TempDir()
	runtimeDir(t, filepath.Join(root, "demo", "1.0.0"), "demo", "1.0.0")                     // nested
	runtimeDir(t, filepath.Join(root, "demo-1.0.0"), "demo", "1.0.0")                        // flat, shadowed by the nested one
	runtimeDir(t, filepath.Join(root, "demo-0.9.0"), "demo", "0.9.0")                        // flat only
	runtimeDir(t, filepath.Join(root, "demo", "2.0.0"), "demo", "2.0.1")                     // nested, runtime.yml disagrees
	runtimeDir(t, filepath.Join(root, "other-1.0.0"), "other", "1.1.0")                      // flat, runtime.yml disagrees
	writeTree(t, filepath.Join(root, "tool", "1.0.0"), map[string]string{"isolated/x": "x"}) // nested, no runtime.yml
	writeTree(t, filepath.Join(root, "junk"), map[string]string{"x/y": "y"})                 // neither
	writeTree(t, root, map[string]string{
		"empty/": "", ".locks/": "", "README": "not a runtime",
		".staging-demo-3.0.0-0123456789ab/tree/runtime.yml": runtimeYML("demo", "3.0.0"),
	})
	list, err := ListInstalled(root)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ name, version, dir, layout, shadowedBy, problem string }
	want := []row{
		{"", "", "junk", "", "", "neither a runtime (no runtime.yml here) nor a runtime name"},
		{"", "", "tool/1.0.0", LayoutNested, "", "no runtime.yml at the top"},
		{"demo", "0.9.0", "demo-0.9.0", LayoutFlat, "", ""},
		{"demo", "1.0.0", "demo/1.0.0", LayoutNested, "", ""},
		{"demo", "1.0.0", "demo-1.0.0", LayoutFlat, "demo/1.0.0", ""},
		{"demo", "2.0.1", "demo/2.0.0", LayoutNested, "", "directory is demo/2.0.0 but runtime.yml says demo@2.0.1"},
		{"other", "1.1.0", "other-1.0.0", LayoutFlat, "", "directory is other-1.0.0 but runtime.yml says other-1.1.0"},
	}
	var got []row
	for _, ir := range list {
		rel := func(p string) string {
			if p == "" {
				return ""
			}
			r, _ := filepath.Rel(root, p)
			return r
		}
		got = append(got, row{ir.Name, ir.Version, rel(ir.Dir), ir.Layout, rel(ir.ShadowedBy), ir.Problem})
	}
	if len(got) != len(want) {
		t.Fatalf("ListInstalled = %+v\nwant %+v", got, want)
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.name != w.name || g.version != w.version || g.dir != w.dir || g.layout != w.layout || g.shadowedBy != w.shadowedBy ||
			(w.problem == "") != (g.problem == "") || !strings.Contains(g.problem, w.problem) {
			t.Errorf("ListInstalled[%d] = %+v\nwant %+v", i, g, w)
		}
	}

	tests := []struct{ spec, dir, err string }{
		{"demo", "demo/1.0.0", ""},       // 2.0.0 is broken; the nested 1.0.0 wins over the flat one
		{"demo@1.0.0", "demo/1.0.0", ""}, // nested before the shadowed flat copy
		{"demo@0.9.0", "demo-0.9.0", ""}, // flat fallback
		{"demo@~0.9", "demo-0.9.0", ""},  // ranges see both layouts
		{"demo@2.0.0", "", "installed: 0.9.0, 1.0.0"},
		{"other", "", "runtime 'other' is not installed"},
		{"tool", "", "runtime 'tool' is not installed"},
	}
	for _, tt := range tests {
		sp, err := ParseSpec(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		ir, err := FindInstalled(root, sp)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FindInstalled(%s) = %+v, %v; want error %q", tt.spec, ir, err, tt.err)
			}
			continue
		}
		if err != nil || ir.Dir != filepath.Join(root, tt.dir) {
			t.Errorf("FindInstalled(%s) = %+v, %v; want %s", tt.spec, ir, err, tt.dir)
		}
	}
}

// An intact flat install of the same version is not "already installed":
// Joblet's installer would install nested too. The flat copy stays,
// shadowed, and remove takes both.
func TestInstallNestedBesideFlat(t *testing.T) {
	f := newFixture(t, nil, "1.0.0")
	ctx := context.Background()
	runtimeDir(t, filepath.Join(f.root, "demo-1.0.0"), "demo", "1.0.0")
	var warnings []string
	o := f.opts()
	o.Warn = withoutMissingBundle(func(s string) { warnings = append(warnings, s) })
	got, err := Install(ctx, "demo@1.0.0", o)
	if err != nil {
		t.Fatal(err)
	}
	flat := filepath.Join(f.root, "demo-1.0.0")
	if got.AlreadyInstalled || got.Dir != InstallDir(f.root, "demo", "1.0.0") || got.ShadowedFlat != flat {
		t.Errorf("Install = %+v", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "old flat layout at "+flat) {
		t.Errorf("warnings = %q", warnings)
	}
	if diff := consumertest.DiffSnapshots(consumertest.Snapshot(t, f.trees["1.0.0"]), consumertest.Snapshot(t, got.Dir)); diff != "" {
		t.Errorf("installed tree differs:\n%s", diff)
	}
	list, _ := ListInstalled(f.root)
	if len(list) != 2 || list[0].Layout != LayoutNested || list[1].ShadowedBy != got.Dir {
		t.Errorf("ListInstalled = %+v", list)
	}
	// The second install finds the nested one and says nothing of the flat.
	warnings = nil
	if again, err := Install(ctx, "demo@1.0.0", o); err != nil || !again.AlreadyInstalled || len(warnings) != 0 {
		t.Errorf("second install = %+v, %v, warnings %q", again, err, warnings)
	}
	removed, err := Remove(ctx, f.root, "demo", "1.0.0")
	if err != nil || !reflect.DeepEqual(removed, []string{got.Dir, flat}) {
		t.Errorf("Remove = %q, %v", removed, err)
	}
	if got := rootEntries(t, f.root); len(got) != 0 {
		t.Errorf("after remove the root holds %v", got)
	}
}

func TestRemoveLayouts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	runtimeDir(t, filepath.Join(root, "demo", "1.0.0"), "demo", "1.0.0")
	runtimeDir(t, filepath.Join(root, "demo", "1.1.0"), "demo", "1.1.0")
	runtimeDir(t, filepath.Join(root, "demo-0.9.0"), "demo", "0.9.0")
	steps := []struct {
		version string
		removed []string
		left    []string
		err     string
	}{
		{"1.0.0", []string{"demo/1.0.0"}, []string{"demo/1.1.0", "demo-0.9.0"}, ""},
		{"0.9.0", []string{"demo-0.9.0"}, []string{"demo/1.1.0"}, ""},
		{"1.1.0", []string{"demo/1.1.0"}, nil, ""}, // the empty demo/ goes too
		{"1.1.0", nil, nil, "demo@1.1.0 is not installed"},
	}
	for _, s := range steps {
		removed, err := Remove(ctx, root, "demo", s.version)
		var rel []string
		for _, r := range removed {
			p, _ := filepath.Rel(root, r)
			rel = append(rel, p)
		}
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Errorf("Remove(%s) = %v, %v; want error %q", s.version, rel, err, s.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(rel, s.removed) {
			t.Errorf("Remove(%s) = %v, %v; want %v", s.version, rel, err, s.removed)
		}
		if got := rootEntries(t, root); !reflect.DeepEqual(got, s.left) {
			t.Errorf("after Remove(%s) the root holds %v, want %v", s.version, got, s.left)
		}
	}
}

// A runtime's name directory that is the flat install of another runtime
// (name "demo-1.0.0" vs demo@1.0.0 flat) is never installed into.
func TestInstallRefusesFlatInstallAsNameDir(t *testing.T) {
	root := t.TempDir()
	runtimeDir(t, filepath.Join(root, "demo-1.0.0"), "demo", "1.0.0")
	out := t.TempDir()
	tree := simpleTree(t, "demo-1.0.0", "2.0.0")
	st := pack(t, tree, out, "a.tar.gz")
	_, err := InstallResolved(context.Background(), LocalArtifact(filepath.Join(out, "a.tar.gz"), "demo-1.0.0", "2.0.0", plat, st), InstallOptions{Root: root})
	if err == nil || !strings.Contains(err.Error(), "a flat install of another runtime") {
		t.Fatalf("InstallResolved = %v", err)
	}
	if got := rootEntries(t, root); !reflect.DeepEqual(got, []string{"demo-1.0.0"}) {
		t.Errorf("root holds %v", got)
	}
}

// Removing the last other version (which removes the empty name
// directory) while a version is being installed never loses the install.
func TestInstallRacesRemoveOfNameDir(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	out := t.TempDir()
	arts := map[string]*Resolved{}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		file := schema.ArtifactName("demo", v, plat)
		st := pack(t, simpleTree(t, "demo", v), out, file)
		arts[v] = LocalArtifact(filepath.Join(out, file), "demo", v, plat, st)
	}
	for i := range 25 {
		if _, err := InstallResolved(ctx, arts["2.0.0"], InstallOptions{Root: root}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ierr, rerr error
		wg.Add(2)
		go func() { defer wg.Done(); _, ierr = InstallResolved(ctx, arts["1.0.0"], InstallOptions{Root: root}) }()
		go func() { defer wg.Done(); _, rerr = Remove(ctx, root, "demo", "2.0.0") }()
		wg.Wait()
		if ierr != nil || rerr != nil {
			t.Fatalf("round %d: install %v, remove %v", i, ierr, rerr)
		}
		if got := rootEntries(t, root); !reflect.DeepEqual(got, []string{"demo/1.0.0"}) {
			t.Fatalf("round %d: root holds %v", i, got)
		}
		if _, err := Remove(ctx, root, "demo", "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
}

// Jobs run from either layout; a flat copy shadowed by a nested one of the
// same version is never the one mounted.
func TestRunBothLayouts(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ldd")
	root := t.TempDir()
	old := installHostRuntime(t, root, "tools", "1.0.0")
	// Make 1.0.0 an install of the old flat layout.
	flat := FlatInstallDir(root, "tools", "1.0.0")
	if err := os.Rename(old.Dir, flat); err != nil {
		t.Fatal(err)
	}
	removeEmptyNameDir(root, "tools")
	installHostRuntime(t, root, "tools", "1.2.0")
	// A flat 1.2.0 that says so in its data, shadowed by the nested 1.2.0.
	shadowed := FlatInstallDir(root, "tools", "1.2.0")
	if err := os.CopyFS(shadowed, os.DirFS(InstallDir(root, "tools", "1.2.0"))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(shadowed, "isolated", "data", "version"), []byte("flat copy\n"), 0o644)
	for spec, want := range map[string]string{"tools": "1.2.0\n", "tools@1.2.0": "1.2.0\n", "tools@1.0.0": "1.0.0\n", "tools@~1.0": "1.0.0\n"} {
		var stdout, stderr strings.Builder
		code, err := Run(context.Background(), RunOptions{Root: root, Spec: spec, Args: []string{"cat", "/opt/data/version"}, Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != 0 || stdout.String() != want {
			t.Errorf("run %s: exit %d, %v, stdout %q stderr %q; want %q", spec, code, err, stdout.String(), stderr.String(), want)
		}
	}
}
