// Package consumertest builds small runnable runtime trees for the tests of
// package consumer and the end-to-end tests: host binaries plus the shared
// libraries ldd names, with a runtime.yml that mounts them read-only.
// Test code only; it must not be imported by non-test code.
package consumertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Commands are the host commands copied into a HostRuntime tree.
var Commands = []string{"sh", "cat", "ls", "touch", "id"}

// HostRuntime writes into dir a runtime tree for name@version holding the
// host's sh, cat, ls, touch and id with their libraries under isolated/,
// and a runtime.yml mounting isolated/bin at /bin, isolated/lib at /lib,
// isolated/lib64 at /lib64 and isolated/data at /opt/data, all read-only,
// plus environment GREETING=hello-from-<name>. isolated/data/version holds
// the version.
func HostRuntime(t testing.TB, dir, name, version string) {
	t.Helper()
	iso := filepath.Join(dir, "isolated")
	for _, d := range []string{"bin", "lib", "lib64", "data"} {
		if err := os.MkdirAll(filepath.Join(iso, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	libs := map[string]bool{}
	for _, c := range Commands {
		p, err := exec.LookPath(c)
		if err != nil {
			t.Fatalf("host command %s: %v", c, err)
		}
		if err := copyFile(p, filepath.Join(iso, "bin", c), 0o755); err != nil {
			t.Fatal(err)
		}
		deps, err := lddPaths(p)
		if err != nil {
			t.Fatalf("ldd %s: %v", p, err)
		}
		for _, l := range deps {
			libs[l] = true
		}
	}
	for l := range libs {
		var dst string
		switch {
		case strings.HasPrefix(l, "/lib64/"), strings.HasPrefix(l, "/lib/"):
			dst = filepath.Join(iso, l)
		case strings.HasPrefix(l, "/usr/lib64/"), strings.HasPrefix(l, "/usr/lib/"):
			dst = filepath.Join(iso, strings.TrimPrefix(l, "/usr"))
		default:
			t.Fatalf("library %s is outside /lib, /lib64, /usr/lib", l)
		}
		if err := copyFile(l, dst, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(iso, "data", "version"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	yml := fmt.Sprintf(`name: %s
version: "%s"
description: host tools for tests
language: shell
mounts:
  - source: isolated/bin
    target: /bin
    readonly: true
  - source: isolated/lib
    target: /lib
    readonly: true
  - source: isolated/lib64
    target: /lib64
    readonly: true
  - source: isolated/data
    target: /opt/data
    readonly: true
environment:
  GREETING: hello-from-%s
`, name, version, name)
	if err := os.WriteFile(filepath.Join(dir, "runtime.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lddPaths returns the absolute library paths ldd prints for bin.
func lddPaths(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, err
	}
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i, w := range f {
			if strings.HasPrefix(w, "/") && (i == 0 || f[i-1] == "=>") {
				paths = append(paths, w)
				break
			}
		}
	}
	return paths, sc.Err()
}

// copyFile copies the content src resolves to into dst as a regular file.
func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Snapshot describes every path under dir: type, permissions, content or
// link target. The install record at dir's root (consumer.RecordFile,
// which rtool adds to every install) is not part of the runtime and is
// left out.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".rtool-install.json":
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "symlink " + l
		case fi.IsDir():
			out[rel] = "dir " + fi.Mode().Perm().String()
		default:
			data, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("file %s %s", fi.Mode().String(), data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// DiffSnapshots lists, sorted, every path missing from got, unexpected in
// it, or described differently; "" when the two snapshots are equal.
func DiffSnapshots(want, got map[string]string) string {
	var lines []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			lines = append(lines, fmt.Sprintf("missing %s (%s)", k, v))
		} else if g != v {
			lines = append(lines, fmt.Sprintf("%s: got %q, want %q", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("unexpected %s (%s)", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
