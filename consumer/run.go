package consumer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/joblet/rtool/internal/jobsandbox"
	"github.com/joblet/rtool/schema"
)

// DefaultPath is PATH inside a job unless runtime.yml or --env sets it.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// RunOptions configures Run.
type RunOptions struct {
	Root string   // install root; "" = DefaultRoot
	Spec string   // resolved among installed versions
	Args []string // command and arguments inside the job
	Env  []string // extra K=V, applied after runtime.yml's environment
	Dir  string   // working directory inside the job (default /)
	// UID and GID the job runs as, on the host too (0 = 65534, nobody);
	// see ParseUser.
	UID, GID uint32
	// HostNetwork shares the host's network with the job; by default it
	// has only a loopback interface of its own.
	HostNetwork bool
	// TmpSize bounds the job's /tmp tmpfs (default 256m).
	TmpSize string
	// RootSize bounds the tmpfs that is the job's / (default 64m).
	RootSize string
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
}

// Job is what Run would run: the install it picked and the mounts and
// environment it derived from runtime.yml.
type Job struct {
	Runtime *InstalledRuntime
	Mounts  []jobsandbox.Mount
	Env     []string
}

// PrepareJob resolves opts.Spec among the installs and derives the job's
// mounts and environment. Each runtime.yml mount is bound at its target,
// read-only when it says so, its source resolved without following
// symlinks out of the runtime; parents come before children. A target
// at or below /, /proc, /dev or /sys, or one that passes through a
// symbolic link in the job's tree (the runtime's own links included: with
// isolated at /x and isolated/l -> .., /x/l/proc is the job's /proc), is
// refused (jobsandbox.CheckMounts). The environment is PATH and HOME
// defaults, then runtime.yml's environment, then opts.Env.
func PrepareJob(opts RunOptions) (*Job, error) {
	spec, err := ParseSpec(opts.Spec)
	if err != nil {
		return nil, err
	}
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	ir, err := FindInstalled(root, spec)
	if err != nil {
		return nil, err
	}
	rc, err := VerifyTree(ir.Dir, ir.Name, ir.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ir.Dir, err)
	}
	var mounts []jobsandbox.Mount
	for i, m := range rc.Mounts {
		src, err := ResolveInside(ir.Dir, m.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: mounts[%d].source: %w", filepath.Join(ir.Dir, schema.RuntimeConfigFile), i, err)
		}
		mounts = append(mounts, jobsandbox.Mount{Source: src, Target: m.Target, ReadOnly: m.ReadOnly,
			Origin: fmt.Sprintf("%s mounts[%d]", schema.RuntimeConfigFile, i)})
	}
	// Parents before children, so a mount at /usr does not hide /usr/lib.
	sort.SliceStable(mounts, func(i, j int) bool { return depth(mounts[i].Target) < depth(mounts[j].Target) })
	if err := jobsandbox.CheckMounts(mounts); err != nil {
		return nil, fmt.Errorf("%s: %w", ir.Dir, err)
	}

	env := map[string]string{"PATH": DefaultPath, "HOME": "/tmp"}
	for k, v := range rc.Environment {
		env[k] = v
	}
	for _, kv := range opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--env %q is not KEY=VALUE", kv)
		}
		env[k] = v
	}
	keys := sortedKeys(env)
	envList := make([]string, 0, len(keys))
	for _, k := range keys {
		envList = append(envList, k+"="+env[k])
	}
	return &Job{Runtime: ir, Mounts: mounts, Env: envList}, nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

// ParseUser parses --user: UID or UID:GID, numbers, not root. The job
// runs as these IDs inside its sandbox and on the host (GID defaults to
// UID).
func ParseUser(s string) (uid, gid uint32, err error) {
	u, g, hasGID := strings.Cut(s, ":")
	parse := func(what, v string) (uint32, error) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || n == 1<<32-1 {
			return 0, fmt.Errorf("--user %q: the %s must be a number from 1 to 4294967294 (jobs never run as root), for example --user 1000:1000", s, what)
		}
		return uint32(n), nil
	}
	if uid, err = parse("uid", u); err != nil {
		return 0, 0, err
	}
	gid = uid
	if hasGID {
		if gid, err = parse("gid", g); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// parseSize reads a tmpfs size such as 64m, 1g or 1048576 (bytes).
func parseSize(what, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%s %q is not a size such as 64m, 1g or 1048576", what, s)
	}
	return n * mult, nil
}

// Run runs opts.Args as a job with the runtime's mounts, confined by
// bubblewrap (package internal/jobsandbox: pivot_root into a bounded
// tmpfs root, new mount, PID, IPC, UTS, cgroup and network namespaces, a
// non-root uid, no capabilities, no_new_privs, a seccomp filter, a
// read-only /proc/sys and a minimal /dev), and returns the command's exit
// code.
func Run(ctx context.Context, opts RunOptions) (int, error) {
	if len(opts.Args) == 0 {
		return -1, fmt.Errorf("no command to run; write it after --, for example: rtool runtime run python-3.11 -- python3 -V")
	}
	job, err := PrepareJob(opts)
	if err != nil {
		return -1, err
	}
	if os.Geteuid() != 0 {
		return -1, fmt.Errorf("running a job needs root (it maps the job's uid into a new user namespace for bubblewrap); run rtool as root")
	}
	rootSize, err := parseSize("root size", opts.RootSize)
	if err != nil {
		return -1, err
	}
	tmpSize, err := parseSize("/tmp size", opts.TmpSize)
	if err != nil {
		return -1, err
	}
	code, err := jobsandbox.Run(ctx, jobsandbox.Spec{
		Mounts: job.Mounts, Args: opts.Args, Env: job.Env, Dir: opts.Dir,
		Hostname: job.Runtime.Name, UID: opts.UID, GID: opts.GID, HostNetwork: opts.HostNetwork,
		RootSize: rootSize, TmpSize: tmpSize,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
	})
	if err != nil {
		return -1, fmt.Errorf("run %s@%s: %w", job.Runtime.Name, job.Runtime.Version, err)
	}
	return code, nil
}
