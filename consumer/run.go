package consumer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/joblet/rtool/internal/sandbox"
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
	// JobBase is where the temporary job root is created ("" = the
	// system temporary directory).
	JobBase string
	// TmpSize bounds the job's /tmp tmpfs (default 256m).
	TmpSize string
	// RootSize bounds the tmpfs that is the job's / (default 64m).
	RootSize string
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
}

// Job is what Run would run: the install it picked and the sandbox mounts
// and environment it derived from runtime.yml.
type Job struct {
	Runtime *InstalledRuntime
	Mounts  []sandbox.Mount
	Env     []string
}

// PrepareJob resolves opts.Spec among the installs and derives the job's
// mounts (each runtime.yml mount bound at its target, nosuid and nodev,
// read-only when it says so, sources resolved without following symlinks
// out of the runtime) and environment (PATH and HOME defaults, then
// runtime.yml's environment, then opts.Env).
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
	tmpSize := opts.TmpSize
	if tmpSize == "" {
		tmpSize = "256m"
	}
	mounts := []sandbox.Mount{{Type: "tmpfs", Target: "/tmp", NoSuid: true, NoDev: true, Data: "mode=1777,size=" + tmpSize}}
	var rm []sandbox.Mount
	for i, m := range rc.Mounts {
		if m.Target == "/" || m.Target == "/proc" || m.Target == "/dev" || strings.HasPrefix(m.Target, "/proc/") || strings.HasPrefix(m.Target, "/dev/") {
			return nil, fmt.Errorf("%s: mounts[%d].target %s would hide the job's /, /proc or /dev; mount the runtime below another directory", filepath.Join(ir.Dir, schema.RuntimeConfigFile), i, m.Target)
		}
		src, err := ResolveInside(ir.Dir, m.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: mounts[%d].source: %w", filepath.Join(ir.Dir, schema.RuntimeConfigFile), i, err)
		}
		rm = append(rm, sandbox.Mount{Source: src, Target: m.Target, ReadOnly: m.ReadOnly, NoSuid: true, NoDev: true})
	}
	// Parents before children, so a mount at /usr does not hide /usr/lib.
	sort.SliceStable(rm, func(i, j int) bool { return depth(rm[i].Target) < depth(rm[j].Target) })
	mounts = append(mounts, rm...)

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

// Run runs opts.Args inside a fresh job root with the runtime's mounts, in
// new mount and PID namespaces (package sandbox), and returns the command's
// exit code. The job root is a size-bounded tmpfs on an empty temporary
// directory, with /proc, a minimal /dev, a tmpfs /tmp and the runtime
// mounts; the directory is removed afterwards.
func Run(ctx context.Context, opts RunOptions) (int, error) {
	if len(opts.Args) == 0 {
		return -1, fmt.Errorf("no command to run; write it after --, for example: rtool runtime run python-3.11 -- python3 -V")
	}
	job, err := PrepareJob(opts)
	if err != nil {
		return -1, err
	}
	if os.Geteuid() != 0 {
		return -1, fmt.Errorf("running a job needs root (new mount and PID namespaces, bind mounts, chroot); run rtool as root")
	}
	jobRoot, err := os.MkdirTemp(opts.JobBase, "rtool-job-")
	if err != nil {
		return -1, fmt.Errorf("create job root: %w", err)
	}
	if err := os.Chmod(jobRoot, 0o755); err != nil {
		return -1, err
	}
	rootSize := opts.RootSize
	if rootSize == "" {
		rootSize = "64m"
	}
	code, runErr := sandbox.Run(ctx, sandbox.Spec{
		// The job's / is a size-bounded tmpfs: what the job writes outside
		// its mounts never reaches the host and vanishes with the job.
		Root: jobRoot, RootTmpfs: "mode=755,size=" + rootSize, Mounts: job.Mounts, Proc: true, Dev: true,
		Hostname: job.Runtime.Name,
		Args:     opts.Args, Env: job.Env, Dir: opts.Dir,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
	})
	if err := removeJobRoot(jobRoot); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return -1, fmt.Errorf("run %s@%s: %w", job.Runtime.Name, job.Runtime.Version, runErr)
	}
	return code, nil
}

// removeJobRoot removes the skeleton of mount points a job root holds
// after its namespace is gone. It never removes through a mount: if any
// mount is still attached below dir it refuses, and it removes only empty
// directories and empty files.
func removeJobRoot(dir string) error {
	if mounted, err := mountsUnder(dir); err != nil {
		return err
	} else if len(mounted) > 0 {
		return fmt.Errorf("job root %s still has mounts (%s); left in place", dir, strings.Join(mounted, ", "))
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	var leftovers []string
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode().IsRegular() && fi.Size() > 0 {
			leftovers = append(leftovers, p)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			if fi.IsDir() {
				continue // not empty: something below was kept
			}
			leftovers = append(leftovers, p)
		}
	}
	if len(leftovers) > 0 {
		return fmt.Errorf("job root %s kept unexpected files: %s", dir, strings.Join(leftovers, ", "))
	}
	return nil
}

// mountsUnder lists mount points at or below dir in this mount namespace.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
