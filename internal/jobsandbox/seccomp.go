package jobsandbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
)

// deniedSyscalls fail with EPERM inside a job. The list is the set
// Docker's default seccomp profile refuses to a container without added
// capabilities (docs.docker.com/engine/security/seccomp, "Significant
// syscalls blocked by the default profile"), plus the new mount API and
// io_uring that later Docker releases also refuse. Names a platform does
// not have (umount, vm86 on arm64) are left out for that platform.
var deniedSyscalls = []string{
	// Mounts and root changes.
	"mount", "umount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "open_tree_attr", "mount_setattr",
	// Namespaces (clone and unshare with namespace flags are below).
	"setns",
	// Kernel code, kernel state and the machine.
	"kexec_load", "kexec_file_load", "reboot",
	"init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms",
	"bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"acct", "syslog", "swapon", "swapoff", "quotactl", "quotactl_fd", "nfsservctl",
	"uselib", "ustat", "sysfs", "_sysctl", "vhangup",
	"iopl", "ioperm", "vm86", "vm86old",
	"settimeofday", "stime", "clock_settime", "clock_adjtime",
	// Keys.
	"keyctl", "add_key", "request_key",
	// Other processes' memory.
	"ptrace", "process_vm_readv", "process_vm_writev",
	// File handles bypass path permissions (the "shocker" escape).
	"open_by_handle_at", "name_to_handle_at",
}

// Namespace flags refused to clone(2) and unshare(2). CLONE_NEWTIME
// (0x80) shares its bit with the exit signal in clone's flags, so it is
// refused only to unshare; clone3, which could carry it, is refused whole.
const (
	cloneNamespaceFlags   = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
	unshareNamespaceFlags = cloneNamespaceFlags | 0x00000080
)

// allowedPersonalities are the personality(2) values Docker's profile
// admits: Linux, the 32-bit flavour, UNAME26, and the query 0xffffffff.
var allowedPersonalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

const (
	errnoENOSYS = 38
)

// policy is the job's seccomp policy for the running platform, assembled
// by github.com/elastic/go-seccomp-bpf: a deny list (anything not listed
// is allowed).
func policy() (*seccomp.Policy, *arch.Info, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, nil, fmt.Errorf("seccomp: %w", err)
	}
	var names []string
	for _, n := range deniedSyscalls {
		if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	var personality []seccomp.Condition
	for _, v := range allowedPersonalities {
		personality = append(personality, seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: v})
	}
	conditional := []seccomp.NameWithConditions{
		{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: cloneNamespaceFlags}}},
		{Name: "unshare", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: unshareNamespaceFlags}}},
		{Name: "personality", Conditions: personality},
	}
	p := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: names, Action: seccomp.ActionErrno}, // EPERM
			{NamesWithCondtions: conditional, Action: seccomp.ActionErrno},
			// clone3 passes its flags in memory a filter cannot read; C
			// libraries fall back to clone when it is not implemented.
			{Names: []string{"clone3"}, Action: seccomp.ActionErrno | errnoENOSYS},
		},
	}
	return p, info, nil
}

// Filter returns the job's seccomp filter as the array of struct
// sock_filter that bubblewrap's --seccomp reads, in native byte order.
// A system call made through another architecture's entry point (32-bit
// int 0x80 on x86_64) kills the process: the deny list is written in the
// native numbers, so it could not hold for another ABI.
func Filter() ([]byte, error) {
	p, info, err := policy()
	if err != nil {
		return nil, err
	}
	prog, err := p.Assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp: assemble the job's filter: %w", err)
	}
	const auditArchOffset = 4 // offsetof(struct seccomp_data, arch)
	head := []bpf.Instruction{
		bpf.LoadAbsolute{Off: auditArchOffset, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)},
	}
	raw, err := bpf.Assemble(append(head, prog...))
	if err != nil {
		return nil, fmt.Errorf("seccomp: encode the job's filter: %w", err)
	}
	if len(raw) > 4096 {
		return nil, fmt.Errorf("seccomp: the job's filter has %d instructions; the kernel takes at most 4096", len(raw))
	}
	var buf bytes.Buffer
	for _, ins := range raw {
		binary.Write(&buf, binary.NativeEndian, struct {
			Code   uint16
			Jt, Jf uint8
			K      uint32
		}{ins.Op, ins.Jt, ins.Jf, ins.K})
	}
	return buf.Bytes(), nil
}

// DeniedSyscalls lists, sorted, the system calls the job's filter refuses
// on this platform (unconditionally or for some arguments), for
// documentation and tests.
func DeniedSyscalls() ([]string, error) {
	p, _, err := policy()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range p.Syscalls {
		out = append(out, g.Names...)
		for _, c := range g.NamesWithCondtions {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
