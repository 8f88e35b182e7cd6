package jobsandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runtimeTree makes a small runtime tree: isolated/{bin,data/file},
// isolated/l -> .. (inside the tree, so an install accepts it, but in a job
// that mounts isolated at /x, /x/l is the job's /), isolated/abs -> /,
// isolated/etc -> data.
func runtimeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	iso := filepath.Join(dir, "isolated")
	for _, d := range []string{"bin", "data/sub", "usr/lib"} {
		if err := os.MkdirAll(filepath.Join(iso, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(iso, "data", "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(iso, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"l": "..", "abs": "/", "etc": "data", "lib": "usr/lib"} {
		if err := os.Symlink(to, filepath.Join(iso, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("tool", filepath.Join(iso, "bin", "alias")); err != nil {
		t.Fatal(err)
	}
	return iso
}

func TestCheckMounts(t *testing.T) {
	iso := runtimeTree(t)
	src := func(rel string) string { return filepath.Join(iso, rel) }
	x := Mount{Source: iso, Target: "/x", ReadOnly: true, Origin: "runtime.yml mounts[0]"}
	xrw := Mount{Source: iso, Target: "/x", Origin: "runtime.yml mounts[0]"}
	tests := []struct {
		name    string
		mounts  []Mount
		wantErr string // "" = accepted
	}{
		{"plain targets", []Mount{{Source: src("bin"), Target: "/bin"}, {Source: src("usr/lib"), Target: "/usr/lib"}, {Source: src("data"), Target: "/opt/data"}}, ""},
		{"nested under a real directory of an earlier mount", []Mount{x, {Source: src("data"), Target: "/x/data/sub"}}, ""},
		{"a target below /tmp", []Mount{{Source: src("data"), Target: "/tmp/data"}}, ""},
		{"the root", []Mount{{Source: iso, Target: "/"}}, "would replace the job's root"},
		{"/proc", []Mount{{Source: src("data"), Target: "/proc"}}, "at or below /proc"},
		{"below /proc", []Mount{{Source: src("data"), Target: "/proc/sys"}}, "at or below /proc"},
		{"/dev", []Mount{{Source: src("data"), Target: "/dev"}}, "at or below /dev"},
		{"below /dev", []Mount{{Source: src("data"), Target: "/dev/shm"}}, "at or below /dev"},
		{"/sys", []Mount{{Source: src("data"), Target: "/sys/fs"}}, "at or below /sys"},
		{"relative target", []Mount{{Source: src("data"), Target: "opt/data"}}, "clean absolute path"},
		{"unclean target", []Mount{{Source: src("data"), Target: "/opt/../proc"}}, "clean absolute path"},
		{"relative source", []Mount{{Source: "isolated/data", Target: "/opt/data"}}, "not an absolute host path"},
		{"through a link to the job's root, onto /proc", []Mount{x, {Source: src("data"), Target: "/x/l/proc"}},
			`goes through /x/l, a symbolic link to ".." in runtime.yml mounts[0] (` + iso + `), and would land on /proc`},
		{"through a link to the job's root, onto /etc", []Mount{xrw, {Source: src("data"), Target: "/x/l/etc"}},
			`goes through /x/l, a symbolic link to ".."`},
		{"through an absolute link", []Mount{x, {Source: src("data"), Target: "/x/abs/dev/x"}},
			`a symbolic link to "/" in runtime.yml mounts[0] (` + iso + `), and would land on /dev/x`},
		{"the last component is a link", []Mount{x, {Source: src("data"), Target: "/x/etc"}},
			`goes through /x/etc, a symbolic link to "data"`},
		{"through a link inside the runtime that stays inside", []Mount{x, {Source: src("data"), Target: "/x/lib/extra"}},
			`a symbolic link to "usr/lib"`},
		{"through a file", []Mount{x, {Source: src("data"), Target: "/x/data/file/y"}}, "goes through /x/data/file, which is a file"},
		{"a missing directory in a read-only mount", []Mount{x, {Source: src("data"), Target: "/x/none/y"}},
			"needs /x/none, which does not exist in the read-only mount"},
		{"a later mount hides the link", []Mount{x, {Source: src("data"), Target: "/x/l"}, {Source: src("bin"), Target: "/x/l/sub"}}, "goes through /x/l, a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMounts(tt.mounts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			var me *MountError
			if !errors.As(err, &me) || me.Target != tt.mounts[me.Index].Target {
				t.Errorf("error %v is not a *MountError naming the mount", err)
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	iso := runtimeTree(t)
	v := view{mounts: []Mount{{Source: filepath.Join(iso, "bin"), Target: "/bin"}, {Source: iso, Target: "/x"}}}
	tests := []struct {
		cmd, path, dir string
		want           bool
	}{
		{"tool", "/usr/bin:/bin", "/", true},
		{"alias", "/bin", "/", true}, // a relative link inside the mount
		{"missing", "/usr/bin:/bin", "/", false},
		{"/bin/tool", "", "/", true},
		{"/x/bin/tool", "", "/", true},
		{"bin/tool", "", "/x", true},
		{"/x/l/bin/tool", "", "/", true},  // /x/l is the job's /, where /bin is mounted
		{"/x/data/file", "", "/", false},  // not executable
		{"/proc/self/exe", "", "/", true}, // not modelled: left to bwrap
		{"tool", "/x/bin", "/", true},
	}
	for _, tt := range tests {
		if got := v.lookPath(tt.cmd, tt.path, tt.dir); got != tt.want {
			t.Errorf("lookPath(%q, PATH=%q, dir %q) = %v, want %v", tt.cmd, tt.path, tt.dir, got, tt.want)
		}
	}
}

func TestCheckReachable(t *testing.T) {
	base := t.TempDir() // 0700, owned by the test's user
	src := filepath.Join(base, "rt", "data")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	m := Mount{Source: src, Target: "/opt/data", Origin: "runtime.yml mounts[0]"}
	uid, gid := uint32(DefaultID), uint32(DefaultID)
	if os.Geteuid() == DefaultID {
		t.Skip("the test runs as the job's default uid")
	}
	err := checkReachable(m, uid, gid)
	if err == nil || !strings.Contains(err.Error(), "out of reach of the job's user 65534:65534: "+filepath.Dir(base)+" is mode 0700") {
		t.Fatalf("a source under a 0700 directory: %v", err)
	}
	for d := base; d != "/"; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				t.Skipf("cannot open %s for the test: %v", d, err)
			}
		}
	}
	if err := checkReachable(m, uid, gid); err != nil {
		t.Fatalf("a source others can reach: %v", err)
	}
}
