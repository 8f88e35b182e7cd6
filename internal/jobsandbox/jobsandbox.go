package jobsandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/joblet/rtool/internal/sandbox"
)

// DefaultID is the uid and gid a job runs as unless Spec says otherwise:
// 65534, nobody and nogroup on Debian and Ubuntu.
const DefaultID = 65534

// Default tmpfs sizes.
const (
	DefaultRootSize = 64 << 20  // the job's /
	DefaultTmpSize  = 256 << 20 // /tmp
	DefaultShmSize  = 64 << 20  // /dev/shm
)

// MinBwrapVersion is the oldest bubblewrap Run accepts: --size (tmpfs
// bounds) came in 0.7.0.
const MinBwrapVersion = "0.7.0"

// Mount binds a host path into the job.
type Mount struct {
	Source   string // absolute host path
	Target   string // absolute, clean path inside the job
	ReadOnly bool
	// Origin says where the mount comes from ("runtime.yml mounts[2]"),
	// for error messages.
	Origin string
}

// Spec is one job.
type Spec struct {
	// Mounts are bound in order after the job's /, /proc, /dev and /tmp
	// exist; put parents before children.
	Mounts []Mount
	Args   []string // command and arguments; looked up in Env's PATH
	Env    []string // the job's whole environment, KEY=VALUE
	Dir    string   // working directory in the job ("" = /)
	// Hostname in the job's UTS namespace ("" = "job").
	Hostname string
	// UID and GID the job runs as, the same numbers inside and on the
	// host; 0 means DefaultID. The job never runs as root.
	UID, GID uint32
	// HostNetwork shares the host's network namespace; by default the job
	// has its own with only a loopback interface.
	HostNetwork bool
	// Tmpfs sizes in bytes; 0 means the default.
	RootSize, TmpSize, ShmSize int64

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// SetupError reports that the job did not start: the sandbox could not be
// set up or the command could not be executed.
type SetupError struct{ Reason string }

func (e *SetupError) Error() string { return "job sandbox: " + e.Reason }

// Run runs spec.Args confined (see the package comment) and returns its
// exit code (128+signal when a signal ended it). err is non-nil when the
// job did not start (*SetupError, or a *MountError from CheckMounts) or
// ctx ended first; then every process of the job is killed.
func Run(ctx context.Context, spec Spec) (int, error) {
	if len(spec.Args) == 0 {
		return -1, errors.New("job sandbox: no command given")
	}
	if os.Geteuid() != 0 {
		return -1, errors.New("job sandbox: running a job needs root (it maps the job's uid into a new user namespace); run rtool as root")
	}
	spec = withDefaults(spec)
	if err := CheckMounts(spec.Mounts); err != nil {
		return -1, err
	}
	for _, m := range spec.Mounts {
		if err := checkReachable(m, spec.UID, spec.GID); err != nil {
			return -1, &SetupError{Reason: err.Error()}
		}
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin" // what execvp falls back to without PATH
	for _, kv := range spec.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	if !(view{mounts: spec.Mounts}).lookPath(spec.Args[0], pathEnv, spec.Dir) {
		return -1, &SetupError{Reason: fmt.Sprintf("command %q not found in the job (PATH=%s)", spec.Args[0], pathEnv)}
	}
	bwrap, err := FindBwrap()
	if err != nil {
		return -1, err
	}
	filter, err := Filter()
	if err != nil {
		return -1, err
	}
	return run(ctx, bwrap, spec, filter)
}

func withDefaults(spec Spec) Spec {
	if spec.UID == 0 {
		spec.UID = DefaultID
	}
	if spec.GID == 0 {
		spec.GID = DefaultID
	}
	if spec.Dir == "" {
		spec.Dir = "/"
	}
	if spec.Hostname == "" {
		spec.Hostname = "job"
	}
	if spec.RootSize == 0 {
		spec.RootSize = DefaultRootSize
	}
	if spec.TmpSize == 0 {
		spec.TmpSize = DefaultTmpSize
	}
	if spec.ShmSize == 0 {
		spec.ShmSize = DefaultShmSize
	}
	return spec
}

// The file descriptors bwrap is given (ExtraFiles start at 3).
const (
	fdArgs    = 3
	fdUserns  = 4
	fdSeccomp = 5
	fdStatus  = 6
)

// devNodes are the host devices bound into the job's /dev, as bwrap's own
// --dev does.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// bwrapOptions returns bubblewrap's options for spec, passed through
// --args so that environment values do not show in the host's process
// list. The command follows on bwrap's own command line.
func bwrapOptions(spec Spec) []string {
	o := []string{
		"--userns", strconv.Itoa(fdUserns),
		"--uid", strconv.FormatUint(uint64(spec.UID), 10),
		"--gid", strconv.FormatUint(uint64(spec.GID), 10),
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
	}
	if !spec.HostNetwork {
		o = append(o, "--unshare-net")
	}
	o = append(o,
		"--hostname", spec.Hostname,
		"--die-with-parent", "--new-session", "--cap-drop", "ALL",
		"--seccomp", strconv.Itoa(fdSeccomp),
		"--json-status-fd", strconv.Itoa(fdStatus),
		"--clearenv",
	)
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		o = append(o, "--setenv", k, v)
	}
	o = append(o, "--chdir", spec.Dir,
		// The root: a bounded tmpfs (bwrap pivots into it).
		"--size", strconv.FormatInt(spec.RootSize, 10), "--perms", "0755", "--tmpfs", "/",
		"--proc", "/proc",
		// The rest of /proc is the job's PID namespace; these are
		// system-wide and bound read-only over it.
		"--ro-bind", "/proc/sys", "/proc/sys",
		"--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
		"--ro-bind-try", "/proc/irq", "/proc/irq",
		"--ro-bind-try", "/proc/bus", "/proc/bus",
		"--perms", "0755", "--tmpfs", "/dev",
	)
	for _, n := range devNodes {
		o = append(o, "--dev-bind", "/dev/"+n, "/dev/"+n)
	}
	o = append(o,
		"--symlink", "/proc/self/fd", "/dev/fd",
		"--symlink", "/proc/self/fd/0", "/dev/stdin",
		"--symlink", "/proc/self/fd/1", "/dev/stdout",
		"--symlink", "/proc/self/fd/2", "/dev/stderr",
		"--size", strconv.FormatInt(spec.ShmSize, 10), "--perms", "01777", "--tmpfs", "/dev/shm",
		"--remount-ro", "/dev",
		"--size", strconv.FormatInt(spec.TmpSize, 10), "--perms", "01777", "--tmpfs", "/tmp",
	)
	for _, m := range spec.Mounts {
		op := "--bind"
		if m.ReadOnly {
			op = "--ro-bind"
		}
		o = append(o, op, m.Source, m.Target)
	}
	return o
}

func run(ctx context.Context, bwrap string, spec Spec, filter []byte) (int, error) {
	var args bytes.Buffer
	for _, a := range bwrapOptions(spec) {
		if strings.IndexByte(a, 0) >= 0 {
			return -1, &SetupError{Reason: fmt.Sprintf("%q contains a NUL byte", a)}
		}
		args.WriteString(a)
		args.WriteByte(0)
	}
	ns, err := sandbox.UserNamespace(
		[]syscall.SysProcIDMap{{ContainerID: int(spec.UID), HostID: int(spec.UID), Size: 1}},
		[]syscall.SysProcIDMap{{ContainerID: int(spec.GID), HostID: int(spec.GID), Size: 1}})
	if err != nil {
		return -1, &SetupError{Reason: err.Error()}
	}
	defer ns.Close()
	argsR, err := pipeWith(args.Bytes())
	if err != nil {
		return -1, err
	}
	defer argsR.Close()
	seccompR, err := pipeWith(filter)
	if err != nil {
		return -1, err
	}
	defer seccompR.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("job sandbox: %w", err)
	}
	defer statusR.Close()

	cmd := exec.Command(bwrap, append([]string{"--args", strconv.Itoa(fdArgs), "--"}, spec.Args...)...)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.ExtraFiles = []*os.File{argsR, ns, seccompR, statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// bwrap starts as root without supplementary groups; it joins the
		// job's user namespace and becomes spec.UID before it mounts.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}},
		// bwrap is the init of a PID namespace of its own, so that when it
		// dies (killed here, or by Pdeathsig when rtool dies) the kernel
		// kills every process below it. Its --die-with-parent cannot do
		// that here: its sandbox init runs as the job's uid, which bwrap,
		// without capabilities, may not signal.
		Cloneflags: syscall.CLONE_NEWPID,
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return -1, &SetupError{Reason: fmt.Sprintf("start %s: %v", bwrap, err)}
	}
	argsR.Close()
	seccompR.Close()
	ns.Close()

	statusDone := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(statusR, 64<<10))
		statusDone <- b
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waitDone:
	case <-ctx.Done():
		// bwrap is the init of the PID namespace holding the job's.
		cmd.Process.Kill()
		select {
		case <-waitDone:
		case <-time.After(10 * time.Second):
		}
		return -1, fmt.Errorf("job sandbox: %s: %w", spec.Args[0], ctx.Err())
	}
	status := <-statusDone
	code := -1
	if waitErr == nil {
		code = 0
	} else {
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) {
			return -1, fmt.Errorf("job sandbox: wait for bwrap: %w", waitErr)
		}
		code = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	started, jobCode := parseStatus(status)
	if !started {
		return -1, &SetupError{Reason: fmt.Sprintf("bubblewrap could not start %q (exit %d; its message is on the job's standard error)", spec.Args[0], code)}
	}
	return jobCode, nil
}

// pipeWith returns the read end of a pipe holding data (at most the pipe
// buffer, 64 KiB) and closed for writing.
func pipeWith(data []byte) (*os.File, error) {
	if len(data) > 60<<10 {
		return nil, fmt.Errorf("job sandbox: %d bytes of options or filter; the limit is 60 KiB", len(data))
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("job sandbox: %w", err)
	}
	_, err = w.Write(data)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("job sandbox: %w", err)
	}
	return r, nil
}

// parseStatus reads bwrap's --json-status-fd stream. bwrap writes
// {"exit-code": N} only when the command was executed, so without it the
// job never started.
func parseStatus(b []byte) (started bool, code int) {
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]json.RawMessage
		if err := dec.Decode(&doc); err != nil {
			return started, code
		}
		if raw, ok := doc["exit-code"]; ok {
			if err := json.Unmarshal(raw, &code); err == nil {
				started = true
			}
		}
	}
}

var versionRE = regexp.MustCompile(`^bubblewrap (\d+)\.(\d+)\.(\d+)`)

// FindBwrap returns the path of a bwrap new enough for Run, or an error
// saying how to install one.
func FindBwrap() (string, error) {
	p, err := exec.LookPath("bwrap")
	if err != nil {
		return "", &SetupError{Reason: "bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap, dnf install bubblewrap) to run jobs"}
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		return "", &SetupError{Reason: fmt.Sprintf("%s --version: %v", p, err)}
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", &SetupError{Reason: fmt.Sprintf("%s --version printed %q, not a bubblewrap version", p, strings.TrimSpace(string(out)))}
	}
	if !atLeast(m[1:], strings.Split(MinBwrapVersion, ".")) {
		return "", &SetupError{Reason: fmt.Sprintf("%s is bubblewrap %s.%s.%s; jobs need %s or newer (Debian 12, Ubuntu 24.04)", p, m[1], m[2], m[3], MinBwrapVersion)}
	}
	return p, nil
}

func atLeast(have, want []string) bool {
	for i := range want {
		h, _ := strconv.Atoi(have[i])
		w, _ := strconv.Atoi(want[i])
		if h != w {
			return h > w
		}
	}
	return true
}
