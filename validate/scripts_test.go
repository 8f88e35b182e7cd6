package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

// trickyScripts are scripts whose bash -n verdict the batched check must
// reproduce exactly: the wrapper puts each inside a function body, so
// anything that behaves differently there must fall back to a single run.
var trickyScripts = []struct{ name, body string }{
	{"ok-simple", "#!/bin/bash\necho hi\n"},
	{"ok-empty", ""},
	{"ok-comment-only", "#!/bin/bash\n# nothing\n"},
	{"ok-no-newline", "#!/bin/bash\necho hi"},
	{"ok-trailing-backslash", "#!/bin/bash\necho hi \\"},
	{"ok-heredoc-eof", "#!/bin/bash\ncat <<EOF\nunterminated heredoc\n"},
	{"ok-heredoc", "#!/bin/bash\ncat <<'EOF'\n}\n)\nfi\nEOF\n"},
	{"ok-functions", "#!/bin/bash\nf() { echo f; }\nfunction g { return 0; }\nh() ( echo h )\nf; g; h\nexit 0\n"},
	{"ok-case", "#!/bin/bash\ncase $1 in\n  a) echo a ;;\n  (b) echo b ;;\n  *) echo other ;;\nesac\n"},
	{"bad-nul", "#!/bin/bash\necho a\x00b\n"},
	{"bad-unclosed-if", "#!/bin/bash\nif true; then\n  echo x\n"},
	{"bad-quote", "#!/bin/bash\necho \"open\n"},
	{"bad-stray-fi", "#!/bin/bash\necho x\nfi\n"},
	{"bad-stray-brace", "#!/bin/bash\necho x\n}\n"},
	{"bad-stray-paren", "#!/bin/bash\necho x\n)\n"},
	// crafted to close the wrapper and reopen it
	{"bad-escape-brace", "}\n__other() {\n"},
	{"bad-escape-paren", ")\n__other() (\n"},
	// a here-document left open swallows the next script's stray brace
	{"ok-heredoc-open", "cat <<X\n"},
	{"bad-heredoc-partner", "X\n}\n__again() {\n"},
	{"bad-done", "#!/bin/bash\nfor i in 1 2; do echo $i\n"},
	{"bad-paren", "#!/bin/bash\necho $(date\n"},
}

// bashVerdict runs bash -n on one file, the reference the checker must match.
func bashVerdict(t *testing.T, path string) bool {
	t.Helper()
	err := exec.Command("bash", "-n", path).Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return err == nil
}

func TestSyntaxCheckMatchesBashN(t *testing.T) {
	testenv.RequireCommands(t, "bash")
	dir := t.TempDir()
	var files []*scriptFile
	want := map[string]bool{}
	// several copies so batches hold good and bad scripts side by side
	for round := range 3 {
		for _, sc := range trickyScripts {
			name, body := sc.name, sc.body
			p := filepath.Join(dir, fmt.Sprintf("%s-%d.sh", name, round))
			if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			files = append(files, &scriptFile{path: p, data: []byte(body)})
			want[p] = bashVerdict(t, p)
			if strings.HasPrefix(name, "ok-") != want[p] {
				t.Fatalf("fixture %s: bash -n says ok=%v", name, want[p])
			}
		}
	}
	for _, conc := range []int{1, 2, 5} {
		for _, f := range files {
			f.syntaxOK, f.ds = false, nil
		}
		c := &syntaxChecker{bash: "bash"}
		if err := c.check(context.Background(), files, conc); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.syntaxOK != want[f.path] {
				t.Errorf("conc %d: %s: checker ok=%v, bash -n ok=%v", conc, filepath.Base(f.path), f.syntaxOK, want[f.path])
			}
			if f.syntaxOK != (len(f.ds) == 0) {
				t.Errorf("conc %d: %s: ok=%v with %d diagnostics", conc, filepath.Base(f.path), f.syntaxOK, len(f.ds))
			}
			for _, d := range f.ds {
				if d.Rule != RuleScriptSyntax || d.Line < 1 || !strings.HasPrefix(d.Message, "bash -n: ") {
					t.Errorf("conc %d: %s: bad diagnostic %+v", conc, filepath.Base(f.path), d)
				}
			}
		}
	}
}

func TestSyntaxErrorLine(t *testing.T) {
	testenv.RequireCommands(t, "bash")
	dir := t.TempDir()
	var files []*scriptFile
	for i := range 40 {
		body := "#!/bin/bash\necho ok\n"
		if i == 17 {
			body = "#!/bin/bash\necho one\necho two\nfi\n"
		}
		p := filepath.Join(dir, fmt.Sprintf("s%02d.sh", i))
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		files = append(files, &scriptFile{path: p, data: []byte(body)})
	}
	if err := (&syntaxChecker{bash: "bash"}).check(context.Background(), files, 2); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if i != 17 {
			if !f.syntaxOK || len(f.ds) != 0 {
				t.Errorf("%s: unexpected findings %v", f.path, f.ds)
			}
			continue
		}
		if len(f.ds) != 1 {
			t.Fatalf("bad script: %d diagnostics, want 1: %v", len(f.ds), f.ds)
		}
		d := f.ds[0]
		if d.Line != 4 || d.Message != "bash -n: syntax error near unexpected token `fi'" || d.File != f.path {
			t.Errorf("got %+v", d)
		}
	}
}

func TestExecutableGitIndexAndDisk(t *testing.T) {
	testenv.RequireCommands(t, "git", "bash")
	ctx := context.Background()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	for _, tc := range []struct {
		name      string
		inGit     bool
		diskMode  os.FileMode
		indexMode string // git update-index --chmod value, "" = as on disk
		want      string // message, "" for no finding
	}{
		{"disk-executable", false, 0o755, "", ""},
		{"disk-not-executable", false, 0o644, "", "setup.sh is not executable (mode 0644)"},
		{"git-executable", true, 0o755, "", ""},
		{"git-index-not-executable", true, 0o755, "-x", "setup.sh is not executable in git (index mode 100644)"},
		{"git-index-executable-disk-not", true, 0o644, "+x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "runtimes", "demo")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "manifest.yaml"), "name: demo\nversion: 1.0.0\ndescription: d\nplatforms: [ubuntu-amd64]\n", 0o644)
			write(t, filepath.Join(dir, "setup-ubuntu-amd64.sh"), "#!/bin/bash\necho x\n", 0o755)
			write(t, filepath.Join(dir, "setup.sh"), "#!/bin/bash\necho x\n", tc.diskMode)
			if tc.inGit {
				git(root, "init", "-q")
				git(root, "add", ".")
				if tc.indexMode != "" {
					git(root, "update-index", "--chmod="+tc.indexMode, "runtimes/demo/setup.sh")
				}
			}
			for _, run := range []string{"Root", "Runtime"} {
				var ds []Diagnostic
				var err error
				if run == "Root" {
					var r Report
					r, err = Root(ctx, filepath.Join(root, "runtimes"), nil, Options{NoShellcheck: true})
					if err == nil {
						ds = r.Runtimes[0].Diagnostics
					}
				} else {
					ds, err = Runtime(ctx, dir, Options{NoShellcheck: true})
				}
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range ds {
					got = append(got, d.Rule+": "+d.Message)
				}
				var want []string
				if tc.want != "" {
					want = []string{RuleScriptExecutable + ": " + tc.want}
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: got %q, want %q", run, got, want)
				}
			}
		})
	}
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
