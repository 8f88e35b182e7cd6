package builder

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/archive"
)

type tarEnt struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, ents []tarEnt) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: mt, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return &buf
}

func TestExtractTar(t *testing.T) {
	dest := t.TempDir()
	buf := makeTar(t, []tarEnt{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./isolated/", typ: tar.TypeDir, mode: 0o755},
		{name: "./isolated/usr/bin/tool", typ: tar.TypeReg, mode: 0o755, body: "#!/bin/sh\n"},
		{name: "./isolated/usr/bin/tool2", typ: tar.TypeLink, link: "./isolated/usr/bin/tool", mode: 0o755},
		{name: "./isolated/usr/bin/sh", typ: tar.TypeSymlink, link: "dash"},
		{name: "./runtime.yml", typ: tar.TypeReg, mode: 0o644, body: "name: x\n"},
	})
	if err := extractTar(buf, dest); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "isolated/usr/bin/tool2")); string(b) != "#!/bin/sh\n" {
		t.Fatalf("hardlink copy holds %q", b)
	}
	a, _ := os.Stat(filepath.Join(dest, "isolated/usr/bin/tool"))
	b, _ := os.Stat(filepath.Join(dest, "isolated/usr/bin/tool2"))
	if os.SameFile(a, b) {
		t.Fatal("hardlink was kept as a hardlink; artifacts must not carry any")
	}
	if b.Mode().Perm() != 0o755 || !b.ModTime().Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("mode/mtime not kept: %v %v", b.Mode(), b.ModTime())
	}
	if l, _ := os.Readlink(filepath.Join(dest, "isolated/usr/bin/sh")); l != "dash" {
		t.Fatalf("symlink = %q", l)
	}
	di, _ := os.Stat(filepath.Join(dest, "isolated"))
	if !di.ModTime().Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("directory mtime not kept: %v", di.ModTime())
	}

	bad := []struct {
		name string
		ents []tarEnt
		want string
	}{
		{"dotdot", []tarEnt{{name: "../evil", typ: tar.TypeReg, body: "x"}}, "leaves the tree"},
		{"absolute", []tarEnt{{name: "/etc/evil", typ: tar.TypeReg, body: "x"}}, "leaves the tree"},
		{"device", []tarEnt{{name: "./dev/null", typ: tar.TypeChar}}, "character device"},
		{"fifo", []tarEnt{{name: "./fifo", typ: tar.TypeFifo}}, "named pipe"},
		{"through a symlink", []tarEnt{{name: "./esc", typ: tar.TypeSymlink, link: "/"}, {name: "./esc/etc/x", typ: tar.TypeReg, body: "x"}}, "esc/etc/x"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := extractTar(makeTar(t, tt.ents), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("extract = %v; want error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckTree(t *testing.T) {
	good := "name: tiny\nversion: \"1.0.0\"\nmounts:\n  - source: isolated/usr/bin\n    target: /usr/bin\n    readonly: true\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"ok", map[string]string{"runtime.yml": good, "isolated/usr/bin/sh": ""}, ""},
		{"missing runtime.yml", map[string]string{"isolated/usr/bin/sh": ""}, "runtime.yml is missing"},
		{"unparsable", map[string]string{"runtime.yml": "name: [\n"}, "decode runtime.yml"},
		{"wrong name", map[string]string{"runtime.yml": strings.Replace(good, "tiny", "other", 1), "isolated/usr/bin/sh": ""}, `name is "other"`},
		{"wrong version", map[string]string{"runtime.yml": strings.Replace(good, "1.0.0", "1.0.1", 1), "isolated/usr/bin/sh": ""}, `version is "1.0.1" but the release version in manifest.yaml is "1.0.0"`},
		{"unquoted bad version", map[string]string{"runtime.yml": strings.Replace(good, `"1.0.0"`, "1.0", 1), "isolated/usr/bin/sh": ""}, "version"},
		{"mount source missing", map[string]string{"runtime.yml": good}, `mounts[0].source "isolated/usr/bin" does not exist`},
		{"relative target", map[string]string{"runtime.yml": strings.Replace(good, "target: /usr/bin", "target: usr/bin", 1), "isolated/usr/bin/sh": ""}, "absolute"},
		{"source leaves tree", map[string]string{"runtime.yml": strings.Replace(good, "source: isolated/usr/bin", "source: ../x", 1)}, "leaves the runtime directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			rc, err := CheckTree(dir, "tiny", "1.0.0")
			if tt.wantErr == "" {
				if err != nil || rc.Name != "tiny" {
					t.Fatalf("CheckTree = %v, %v", rc, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckTree error = %v; want it to contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "/opt/joblet/runtimes/tiny/runtime.yml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	// A mount source that is a symlink escaping the tree does not count as present.
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"runtime.yml": good})
	os.MkdirAll(filepath.Join(dir, "isolated/usr"), 0o755)
	os.Symlink("/usr/bin", filepath.Join(dir, "isolated/usr/bin"))
	if _, err := CheckTree(dir, "tiny", "1.0.0"); err == nil {
		t.Fatal("a mount source escaping the tree through a symlink passed")
	}
}

func TestDiffArtifacts(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, map[string]string{"runtime.yml": "x", "isolated/same": "s", "isolated/changed": "one", "isolated/only-a": ""})
	writeTree(t, b, map[string]string{"runtime.yml": "x", "isolated/same": "s", "isolated/changed": "two", "isolated/only-b": ""})
	os.Chmod(filepath.Join(b, "runtime.yml"), 0o755) // 0600 would pack as 0644 (archive.NormalMode)
	out := t.TempDir()
	pa, pb := filepath.Join(out, "a.tar.gz"), filepath.Join(out, "b.tar.gz")
	for dir, p := range map[string]string{a: pa, b: pb} {
		if _, err := archive.PackFile(t.Context(), dir, p, archive.PackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	diff, err := DiffArtifacts(pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"isolated/changed: content differs (3 vs 3 bytes)",
		"isolated/only-a: only in the first build",
		"isolated/only-b: only in the second build",
		"runtime.yml: mode 644 vs 755",
	}
	if strings.Join(diff, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant:\n%s", strings.Join(diff, "\n"), strings.Join(want, "\n"))
	}
	same, err := DiffArtifacts(pa, pa)
	if err != nil || len(same) != 0 {
		t.Fatalf("diff of a file with itself = %v, %v", same, err)
	}
	e := &NotReproducibleError{Label: "x/debian-amd64", Difference: diff}
	for _, w := range want {
		if !strings.Contains(e.Error(), w) {
			t.Errorf("error message misses %q", w)
		}
	}
}
