// Package jobsandbox runs one job — a command with an installed runtime
// mounted — confined by bubblewrap (bwrap, the sandbox Flatpak and melange
// use), so that what the job runs cannot reach the host.
//
// The job gets: a fresh mount, PID, IPC, UTS and cgroup namespace and, unless
// HostNetwork is set, a network namespace with only a loopback interface;
// a root that is a size-bounded tmpfs entered with pivot_root (bubblewrap
// does the pivot); /proc of its own PID namespace with /proc/sys,
// /proc/sysrq-trigger, /proc/irq and /proc/bus bound read-only; a minimal
// /dev (null, zero, full, random, urandom, tty; a tmpfs /dev/shm; the /dev
// tmpfs itself read-only and nodev); a tmpfs /tmp; and each Mount bound
// nosuid and nodev, read-only when asked. It runs as a non-root uid and
// gid (65534 unless set) that are the same numbers on the host: rtool
// creates a user namespace mapping exactly that uid and gid (no root) and
// bubblewrap joins it (--userns), so the job never holds host uid 0 and a
// file it writes through a writable mount is owned by that uid. All
// capabilities are dropped (bounding set included), no_new_privs is set,
// the session is new (no TIOCSTI into the caller's terminal), the
// environment is exactly Spec.Env, the job dies with rtool, and a seccomp
// filter built with github.com/elastic/go-seccomp-bpf refuses mounts,
// root changes, namespaces, module and kexec loading, bpf, perf, keyrings,
// ptrace and the other calls listed in DeniedSyscalls.
//
// Bubblewrap follows symbolic links in mount targets in its own view of
// the file system, so CheckMounts refuses any target that passes through a
// symbolic link in the job's tree, and any target at or under /, /proc,
// /dev or /sys. Run checks the mounts again before starting bwrap.
//
// It is not a virtual machine: a kernel bug reachable through the allowed
// system calls can still be used to escape, and CPU, memory (outside the
// tmpfs sizes) and process count are not limited.
//
// Run needs root (to map the job's uid into a new user namespace) and,
// like package sandbox, re-executes the current binary for that, so
// sandbox.Main must be called first thing in main and in TestMain.
package jobsandbox
