package validate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRootSelection(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	for _, d := range []string{"b", "a", ".hidden", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte("not a runtime\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	names := func(r Report) []string {
		var out []string
		for _, rt := range r.Runtimes {
			out = append(out, rt.Name)
		}
		return out
	}
	opts := Options{ManifestOnly: true}
	r, err := Root(ctx, root, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(r); len(got) != 4 || got[0] != "a" || got[1] != "b" || got[2] != "c" || got[3] != "linked" {
		t.Errorf("all runtimes: %v", got)
	}
	if r.Summary.Runtimes != 4 || r.Summary.Errors != 4 { // each lacks manifest.yaml
		t.Errorf("summary %+v", r.Summary)
	}
	r, err = Root(ctx, root, []string{"c", "a/", "c"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(r); len(got) != 2 || got[0] != "a" || got[1] != "c" {
		t.Errorf("selected runtimes: %v", got)
	}
	var unknown *UnknownRuntimeError
	if _, err := Root(ctx, root, []string{"a", "zz"}, opts); !errors.As(err, &unknown) || unknown.Name != "zz" {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Root(ctx, root, []string{".hidden"}, opts); !errors.As(err, &unknown) {
		t.Errorf("hidden directory selected: %v", err)
	}
	if _, err := Root(ctx, filepath.Join(root, "absent"), nil, opts); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	if _, err := Root(ctx, filepath.Join(root, "README.md"), nil, opts); err == nil {
		t.Error("a file as root: no error")
	}
	if _, err := Runtime(ctx, filepath.Join(root, "absent"), opts); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing runtime dir: %v", err)
	}
	empty, err := Root(ctx, t.TempDir(), nil, opts)
	if err != nil || empty.Summary != (Summary{}) || empty.Runtimes == nil {
		t.Errorf("empty root: %+v, %v", empty, err)
	}
}

func TestRootCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Root(ctx, filepath.Join("testdata", "mixed"), nil, Options{NoShellcheck: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// TestRuntimeMatchesRoot: validating one directory gives the same findings
// as validating it through its root.
func TestRuntimeMatchesRoot(t *testing.T) {
	ctx := context.Background()
	r, err := Root(ctx, filepath.Join("testdata", "mixed"), []string{"broken"}, Options{NoShellcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Runtime(ctx, filepath.Join("testdata", "mixed", "broken"), Options{NoShellcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(r.Runtimes[0].Diagnostics) || len(ds) == 0 {
		t.Fatalf("Runtime: %d findings, Root: %d", len(ds), len(r.Runtimes[0].Diagnostics))
	}
	for i := range ds {
		if ds[i] != r.Runtimes[0].Diagnostics[i] {
			t.Errorf("finding %d: %+v vs %+v", i, ds[i], r.Runtimes[0].Diagnostics[i])
		}
	}
}

func TestManifestYmlHint(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "x", "manifest.yml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := Runtime(context.Background(), filepath.Join(root, "x"), Options{ManifestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Rule != RuleManifestMissing || ds[0].Hint != "rename manifest.yml to manifest.yaml" {
		t.Errorf("got %+v", ds)
	}
}

// TestRepositoryRuntimes: rtool validate passes on this repository's own
// runtimes/ (as `make demo` and the pull-request workflow run it).
func TestRepositoryRuntimes(t *testing.T) {
	root := filepath.Join("..", RuntimesDir)
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no %s: %v", root, err)
	}
	r, err := Root(context.Background(), root, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Runtimes == 0 || r.Failed(false) {
		t.Errorf("%s: %s\n%s", root, r.SummaryLine(), dumpReport(r))
	}
}
