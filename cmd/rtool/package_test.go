package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackageCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "isolated/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runtime.yml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	outDir := t.TempDir()
	var results []map[string]any
	for _, j := range []string{"1", "4"} {
		out := filepath.Join(outDir, "x-"+j+".tar.gz")
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"rtool", "package", dir, "-o", out, "-j", j, "--source-date-epoch", "1700000000", "--json"}, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		var res map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("json: %v\n%s", err, stdout.String())
		}
		if res["path"] != out || res["entries"] != float64(3) || res["source_date_epoch"] != float64(1700000000) {
			t.Errorf("result %v", res)
		}
		side, err := os.ReadFile(out + ".sha256")
		if err != nil || !strings.HasPrefix(string(side), res["sha256"].(string)+"  ") {
			t.Errorf(".sha256 %q (%v) does not match %v", side, err, res["sha256"])
		}
		results = append(results, res)
	}
	if results[0]["sha256"] != results[1]["sha256"] {
		t.Errorf("-j 1 and -j 4 differ: %v vs %v", results[0]["sha256"], results[1]["sha256"])
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"rtool", "package", dir, "-o", filepath.Join(outDir, "h.tar.gz")}, &stdout, &stderr)
	if code != exitOK || !strings.Contains(stdout.String(), "sha256:") || !strings.Contains(stdout.String(), "entries:       3") {
		t.Errorf("text output (exit %d): %s%s", code, stdout.String(), stderr.String())
	}

	for _, args := range [][]string{
		{"rtool", "package", dir},
		{"rtool", "package", "-o", filepath.Join(outDir, "y.tar.gz")},
		{"rtool", "package", dir, "-o", filepath.Join(outDir, "y.tar.gz"), "--source-date-epoch", "yesterday"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr.String())
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "isolated/bin/escape")); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"rtool", "package", dir, "-o", filepath.Join(outDir, "z.tar.gz")}, &stdout, &stderr); code != exitFindings || !strings.Contains(stderr.String(), "isolated/bin/escape") {
		t.Errorf("escaping symlink: exit %d, stderr %s", code, stderr.String())
	}
}

// TestPackageSafety: issue 11's package traps, through the CLI.
func TestPackageSafety(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "0")
	tests := []struct {
		name string
		// tree fills DIR; out is the -o path (its directory is empty).
		tree func(t *testing.T, dir, out string)
		args []string
		code int
		// stdout/stderr must contain these ("" = nothing to check); a
		// stderr of "-" must be empty.
		stdout, stderr []string
		// check runs after the command.
		check func(t *testing.T, dir, out string)
	}{
		{
			name: "modes are normalised with a warning",
			tree: func(t *testing.T, dir, _ string) {
				writeT(t, filepath.Join(dir, "isolated/tmp/x"), "x", 0o644)
				os.Chmod(filepath.Join(dir, "isolated/tmp/x"), 0o666)
				os.Chmod(filepath.Join(dir, "isolated/tmp"), 0o777|os.ModeSticky)
			},
			code: exitOK,
			stderr: []string{"rtool: warning: isolated/tmp/: mode 1777 packed as 0755 (sticky bit stripped, was writable by group or others)\n",
				"rtool: warning: isolated/tmp/x: mode 0666 packed as 0644 (was writable by group or others)\n"},
		},
		{
			name: "--json is quiet on stderr and lists the warnings",
			tree: func(t *testing.T, dir, _ string) { writeT(t, filepath.Join(dir, "f"), "x", 0o600) },
			args: []string{"--json"},
			code: exitOK, stdout: []string{`"warnings": [`, `"f: mode 0600 packed as 0644 (was not readable by every user)"`}, stderr: []string{"-"},
		},
		{
			name: "a file registry add would refuse as a decompression bomb is refused here",
			tree: func(t *testing.T, dir, _ string) {
				writeT(t, filepath.Join(dir, "runtime.yml"), "name: z\n", 0o644)
				writeT(t, filepath.Join(dir, "isolated/zeros.img"), "", 0o644)
				os.Truncate(filepath.Join(dir, "isolated/zeros.img"), 100<<20)
			},
			code:   exitFindings,
			stderr: []string{`"isolated/zeros.img": rejected by rule compression-ratio`, "registry add and runtime install would refuse the archive as a decompression bomb"},
			check: func(t *testing.T, dir, out string) {
				if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
					t.Errorf("refused package left %v", left)
				}
				// registry add refuses the same tree packed by GNU tar.
				art := filepath.Join(t.TempDir(), "z-1.0.0-debian-amd64.tar.gz")
				if b, err := exec.Command("tar", "-czf", art, "-C", dir, ".").CombinedOutput(); err != nil {
					t.Fatalf("tar: %v %s", err, b)
				}
				code, _, errOut := rtoolRegistry(t, "add", "--registry", filepath.Join(t.TempDir(), "r.json"), "--name", "z", "--version", "1.0.0",
					"--platforms", "debian-amd64", "--platform", "debian-amd64", "--artifact", art, "--url", "https://e.com/{file}")
				if code == exitOK || !strings.Contains(errOut, "compression-ratio") {
					t.Errorf("registry add of the GNU tar archive: exit %d, %s", code, errOut)
				}
			},
		},
		{
			name: "what package accepts registry add accepts",
			tree: func(t *testing.T, dir, _ string) {
				writeT(t, filepath.Join(dir, "runtime.yml"), "name: z\n", 0o644)
				writeT(t, filepath.Join(dir, "isolated/zeros.img"), "", 0o644)
				os.Truncate(filepath.Join(dir, "isolated/zeros.img"), 63<<20)
			},
			code: exitOK,
			check: func(t *testing.T, dir, out string) {
				art := filepath.Join(filepath.Dir(out), "z-1.0.0-debian-amd64.tar.gz")
				if err := os.Rename(out, art); err != nil {
					t.Fatal(err)
				}
				code, _, errOut := rtoolRegistry(t, "add", "--registry", filepath.Join(t.TempDir(), "r.json"), "--name", "z", "--version", "1.0.0",
					"--platforms", "debian-amd64", "--platform", "debian-amd64", "--artifact", art, "--url", "https://e.com/{file}")
				if code != exitOK {
					t.Errorf("registry add of what package wrote: exit %d, %s", code, errOut)
				}
			},
		},
		{
			name: "a failed .sha256 keeps the previous archive",
			tree: func(t *testing.T, dir, out string) {
				writeT(t, filepath.Join(dir, "runtime.yml"), "name: new\n", 0o644)
				writeT(t, out, "previous archive", 0o644)
				writeT(t, filepath.Join(out+".sha256", "blocker"), "a directory where the .sha256 goes", 0o644)
			},
			code:   exitFindings,
			stderr: []string{".sha256: rename", "put the previous archive back"},
			check: func(t *testing.T, dir, out string) {
				if b, err := os.ReadFile(out); err != nil || string(b) != "previous archive" {
					t.Errorf("previous archive: %q, %v", b, err)
				}
				if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 2 {
					t.Errorf("output directory holds %v, want the previous archive and the .sha256 directory", left)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(t.TempDir(), "x.tar.gz")
			tc.tree(t, dir, out)
			var stdout, stderr bytes.Buffer
			args := append([]string{"rtool", "package", dir, "-o", out}, tc.args...)
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tc.stderr {
				if w == "-" && stderr.Len() != 0 {
					t.Errorf("stderr not empty: %s", stderr.String())
				} else if w != "-" && !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if tc.check != nil {
				tc.check(t, dir, out)
			}
		})
	}
}
