package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
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
