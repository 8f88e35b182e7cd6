package jobsandbox

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bwrap-options.golden")

// The exact bubblewrap options for a job: a reviewer reads the sandbox
// here; a change to it shows in the diff of the golden file.
func TestBwrapOptionsGolden(t *testing.T) {
	spec := withDefaults(Spec{
		Mounts: []Mount{
			{Source: "/opt/joblet/runtimes/python-3.11/1.0.0/isolated/usr/bin", Target: "/usr/bin", ReadOnly: true},
			{Source: "/opt/joblet/runtimes/python-3.11/1.0.0/isolated/cache", Target: "/var/cache/x"},
		},
		Env:      []string{"HOME=/tmp", "PATH=/usr/bin:/bin", "EMPTY="},
		Hostname: "python-3.11",
	})
	var b strings.Builder
	for _, net := range []bool{false, true} {
		spec.HostNetwork = net
		if net {
			b.WriteString("# HostNetwork: true\n")
		} else {
			b.WriteString("# default\n")
		}
		for _, o := range bwrapOptions(spec) {
			if strings.HasPrefix(o, "--") {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
			if o == "" {
				o = `""`
			}
			b.WriteString(o)
		}
		b.WriteString("\n\n")
	}
	golden := filepath.Join("testdata", "bwrap-options.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("bwrap options differ from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
}

func TestDeniedSyscalls(t *testing.T) {
	got, err := DeniedSyscalls()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range got {
		have[n] = true
	}
	// The calls the issue names, on every platform.
	for _, n := range []string{
		"mount", "umount2", "pivot_root", "chroot", "kexec_load", "kexec_file_load",
		"init_module", "finit_module", "delete_module", "bpf", "perf_event_open",
		"keyctl", "add_key", "request_key", "ptrace", "unshare", "setns", "clone", "clone3",
		"open_by_handle_at", "reboot", "swapon", "swapoff", "acct", "syslog", "personality",
		"fsopen", "fsmount", "move_mount", "open_tree", "userfaultfd", "io_uring_setup",
	} {
		if !have[n] {
			t.Errorf("%s is not refused", n)
		}
	}
	// Allowed: what ordinary programs and language runtimes need.
	for _, n := range []string{"read", "execve", "openat", "mmap", "socket", "wait4", "futex"} {
		if have[n] {
			t.Errorf("%s is refused", n)
		}
	}
}

func TestFilterShape(t *testing.T) {
	b, err := Filter()
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%8 != 0 || len(b) < 8*10 {
		t.Fatalf("filter is %d bytes, not a list of 8-byte instructions", len(b))
	}
	// First instruction: load the architecture (BPF_LD|BPF_W|BPF_ABS, k=4);
	// third: kill the process for a foreign architecture.
	if op, k := binary.NativeEndian.Uint16(b[0:]), binary.NativeEndian.Uint32(b[4:]); op != 0x20 || k != 4 {
		t.Errorf("first instruction op %#x k %d; want a load of seccomp_data.arch", op, k)
	}
	if op, k := binary.NativeEndian.Uint16(b[16:]), binary.NativeEndian.Uint32(b[20:]); op != 0x06 || k != 0x80000000 {
		t.Errorf("third instruction op %#x k %#x; want return SECCOMP_RET_KILL_PROCESS", op, k)
	}
}
