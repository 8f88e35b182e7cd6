package validate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	// A root without runtimes is a finding, not "no problems".
	emptyRoot := t.TempDir()
	empty, err := Root(ctx, emptyRoot, nil, opts)
	if err != nil || empty.Summary != (Summary{Errors: 1}) || empty.Runtimes == nil || !empty.Failed(false) ||
		len(empty.Diagnostics) != 1 || empty.Diagnostics[0].Rule != RuleRootNoRuntimes || empty.Diagnostics[0].File != emptyRoot ||
		!strings.Contains(empty.Diagnostics[0].Message, filepath.Join(emptyRoot, "<name>", ManifestFile)) {
		t.Errorf("empty root: %+v, %v", empty, err)
	}
	// Root findings only when the whole root is validated.
	if r, err := Root(ctx, root, []string{"a"}, opts); err != nil || len(r.Diagnostics) != 0 {
		t.Errorf("named runtimes: root findings %v, %v", r.Diagnostics, err)
	}
}

// TestRootFindings: the root's own findings in every output format and
// their hints for the usual mistakes.
func TestRootFindings(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		// rules of the root findings (sorted by file), and words their
		// messages and hints must hold
		rules []string
		words []string
	}{
		{"empty root", func(*testing.T, string) {}, []string{RuleRootNoRuntimes}, []string{"<name>/manifest.yaml", "pass --root"}},
		{"only files", func(t *testing.T, root string) { mkwrite(t, filepath.Join(root, "README.md"), "x", 0o644) },
			[]string{RuleRootNoRuntimes}, []string{"expected one directory per runtime"}},
		{"root is itself a runtime", func(t *testing.T, root string) { mkwrite(t, filepath.Join(root, ManifestFile), "name: x\n", 0o644) },
			[]string{RuleRootNoRuntimes}, []string{"is itself a runtime directory: validate it as rtool validate --root "}},
		{"only a hidden runtime", func(t *testing.T, root string) {
			mkwrite(t, filepath.Join(root, ".x", ManifestFile), "name: x\n", 0o644)
		},
			[]string{RuleRootNoRuntimes, RuleRootHiddenRuntime}, []string{"directory .x holds a manifest.yaml", "the only manifests here are in dot-directories"}},
		{"hidden runtime beside a runtime", func(t *testing.T, root string) {
			mkwrite(t, filepath.Join(root, ".wip", ManifestFile), "name: x\n", 0o644)
			mkwrite(t, filepath.Join(root, "a", ManifestFile), "name: a\n", 0o644)
			mkwrite(t, filepath.Join(root, ".git", "config"), "not a runtime", 0o644)
		}, []string{RuleRootHiddenRuntime}, []string{".wip/manifest.yaml", "rtool build --all and rtool plan do not"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			r, err := Root(ctx, root, nil, Options{ManifestOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			var text strings.Builder
			for _, d := range r.Diagnostics {
				rules = append(rules, d.Rule)
				text.WriteString(d.File + " " + d.Message + " " + d.Hint + "\n")
			}
			if strings.Join(rules, ",") != strings.Join(tc.rules, ",") {
				t.Fatalf("root findings %v, want %v:\n%s", rules, tc.rules, text.String())
			}
			for _, w := range tc.words {
				if !strings.Contains(text.String(), w) {
					t.Errorf("findings lack %q:\n%s", w, text.String())
				}
			}
			if !r.Failed(false) {
				t.Error("report does not fail")
			}
			var out bytes.Buffer
			for _, write := range []func() error{
				func() error { return WriteText(&out, r, TextOptions{}) },
				func() error { return WriteGitHub(&out, r) },
				func() error { return WriteMarkdownSummary(&out, r) },
			} {
				out.Reset()
				if err := write(); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out.String(), "["+tc.rules[0]+"]") && !strings.Contains(out.String(), tc.rules[0]) {
					t.Errorf("output lacks %s:\n%s", tc.rules[0], out.String())
				}
			}
			if rel := r.RelativeTo(root); rel.Diagnostics[0].File == r.Diagnostics[0].File && r.Diagnostics[0].File != root {
				t.Errorf("RelativeTo left %s", rel.Diagnostics[0].File)
			}
		})
	}
}

// mkwrite writes a file, creating its directories.
func mkwrite(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, data, mode)
}
