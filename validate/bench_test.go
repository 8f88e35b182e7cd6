package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// genRuntimes writes n runtimes under root, each with a manifest (two
// platforms, packages, smoke tests), setup.sh and one setup script per
// platform; every script's content differs.
func genRuntimes(tb testing.TB, root string, n int) {
	tb.Helper()
	for i := range n {
		name := fmt.Sprintf("runtime-%04d", i)
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		files := map[string]string{
			"manifest.yaml": fmt.Sprintf(`# Joblet Runtime: %[1]s
name: %[1]s
version: 1.%[2]d.0
description: Generated runtime number %[2]d
python_version: 3.11.7
platforms:
  - ubuntu-amd64
  - ubuntu-arm64
packages:
  - numpy==1.26.%[2]d
  - pandas==2.1.3
smoke:
  - name: version
    command: [python3, --version]
    expect: Python 3.11
build:
  timeout: 20m
`, name, i),
			"setup.sh": fmt.Sprintf("#!/usr/bin/env bash\n# %s\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\nexec \"./setup-${RTOOL_PLATFORM:?}.sh\"\n", name),
		}
		for _, p := range []string{"ubuntu-amd64", "ubuntu-arm64"} {
			files["setup-"+p+".sh"] = fmt.Sprintf(`#!/usr/bin/env bash
set -euo pipefail
RUNTIME_DIR=/opt/joblet/runtimes/%[1]s
mkdir -p "$RUNTIME_DIR/isolated"
install_packages() {
  for pkg in "$@"; do
    echo "installing $pkg for %[2]s"
  done
}
install_packages python3 python3-venv
cat > "$RUNTIME_DIR/runtime.yml" <<EOF
name: %[1]s
version: "1.%[3]d.0"
EOF
if [ -x /usr/bin/python3 ]; then
  echo ok
fi
`, name, p, i)
		}
		for f, data := range files {
			mode := os.FileMode(0o644)
			if f != "manifest.yaml" {
				mode = 0o755
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(data), mode); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkValidate1000 validates 1,000 generated runtimes (3,000 setup
// scripts) with every check except shellcheck.
func BenchmarkValidate1000(b *testing.B) {
	root := b.TempDir()
	genRuntimes(b, root, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := Root(ctx, root, nil, Options{NoShellcheck: true})
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary != (Summary{Runtimes: 1000}) {
			b.Fatalf("summary %+v:\n%s", r.Summary, dumpReport(r))
		}
	}
}

// BenchmarkValidate1000PerScriptBashN is the baseline the batched syntax
// check is measured against: the same checks, but one bash -n process per
// script.
func BenchmarkValidate1000PerScriptBashN(b *testing.B) {
	root := b.TempDir()
	genRuntimes(b, root, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := Root(ctx, root, nil, Options{ManifestOnly: true})
		if err != nil || r.Summary.Errors != 0 {
			b.Fatal(err, r.Summary)
		}
		paths, _ := filepath.Glob(filepath.Join(root, "*", "setup*.sh"))
		c := &syntaxChecker{bash: "bash"}
		err = parallel(ctx, len(paths), Options{}.concurrency(), func(i int) error {
			f := &scriptFile{path: paths[i]}
			if err := c.one(ctx, f); err != nil {
				return err
			}
			if !f.syntaxOK {
				return fmt.Errorf("%s: %v", f.path, f.ds)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestGeneratedRuntimesAreValid keeps the benchmark honest: the generated
// runtimes pass every check (shellcheck included when installed), so the
// benchmark measures a full, clean run.
func TestGeneratedRuntimesAreValid(t *testing.T) {
	root := t.TempDir()
	genRuntimes(t, root, 3)
	r, err := Root(context.Background(), root, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary != (Summary{Runtimes: 3}) {
		t.Fatalf("summary %+v:\n%s", r.Summary, dumpReport(r))
	}
}
