package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Main turns this process into the sandbox's init when it was started by
// Run, or into the holder of a user namespace started by UserNamespace,
// and never returns in those cases. In any other process it returns at
// once. Call it first thing in main() and in TestMain.
func Main() {
	if os.Getenv(usernsHolderEnv) == "1" {
		holdUserNamespace()
	}
	if os.Getenv(childEnv) != "1" {
		return
	}
	status := os.NewFile(4, "status")
	code, err := child()
	if err != nil {
		fmt.Fprint(status, err.Error())
		os.Exit(setupFailedCode)
	}
	os.Exit(code)
}

// child runs inside the new namespaces: it assembles the root, chroots and
// runs the command as the child of this init.
func child() (int, error) {
	specFile := os.NewFile(3, "spec")
	data, err := io.ReadAll(specFile)
	specFile.Close()
	if err != nil {
		return 0, fmt.Errorf("read spec: %w", err)
	}
	syscall.CloseOnExec(4)
	var spec Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return 0, fmt.Errorf("decode spec: %w", err)
	}
	if err := assemble(&spec); err != nil {
		return 0, err
	}
	return initProcess(&spec)
}

// assemble performs every mount of spec inside the private mount namespace
// and chroots into the root.
func assemble(spec *Spec) error {
	// Nothing done here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = "rtool-sandbox"
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	root, err := filepath.Abs(spec.Root)
	if err != nil {
		return fmt.Errorf("root %s: %w", spec.Root, err)
	}
	if spec.Overlay != nil {
		if err := mountOverlay(root, spec.Overlay); err != nil {
			return err
		}
	}
	if spec.RootTmpfs != "" {
		if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, spec.RootTmpfs); err != nil {
			return fmt.Errorf("mount tmpfs (%s) at the root %s: %w", spec.RootTmpfs, root, err)
		}
	}
	if spec.Proc {
		if err := mountOne(root, Mount{Type: "proc", Target: "/proc", NoSuid: true, NoDev: true}); err != nil {
			return err
		}
	}
	if spec.Dev {
		if err := mountDev(root); err != nil {
			return err
		}
	}
	for _, m := range spec.Mounts {
		if err := mountOne(root, m); err != nil {
			return err
		}
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s inside the root: %w", dir, err)
	}
	return nil
}

func mountOverlay(root string, o *Overlay) error {
	for _, p := range []string{o.Lower, o.Upper, o.Work, root} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("overlay path %q contains one of , : \\ which overlayfs options cannot carry", p)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", o.Lower, o.Upper, o.Work)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay (%s) at %s: %w", opts, root, err)
	}
	return nil
}

// devNodes are bound from the host into the minimal /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

func mountDev(root string) error {
	if err := mountOne(root, Mount{Type: "tmpfs", Target: "/dev", NoSuid: true, Data: "mode=755,size=1m"}); err != nil {
		return err
	}
	dev := filepath.Join(root, "dev")
	for _, n := range devNodes {
		if err := mountOne(root, Mount{Source: "/dev/" + n, Target: "/dev/" + n, NoSuid: true}); err != nil {
			return err
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return fmt.Errorf("create /dev/%s: %w", d, err)
		}
	}
	if err := mountOne(root, Mount{Type: "tmpfs", Target: "/dev/shm", NoSuid: true, NoDev: true, Data: "mode=1777,size=64m"}); err != nil {
		return err
	}
	// A private devpts instance: the sandbox sees only its own terminals.
	if err := unix.Mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mount devpts at /dev/pts: %w", err)
	}
	links := map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
	}
	return nil
}

// mountOne performs one mount at m.Target inside root, creating the target.
func mountOne(root string, m Mount) error {
	if !filepath.IsAbs(m.Target) {
		return fmt.Errorf("mount target %q must be absolute", m.Target)
	}
	dst, err := resolveIn(root, m.Target)
	if err != nil {
		return fmt.Errorf("mount target %s: %w", m.Target, err)
	}
	var flags uintptr
	if m.NoSuid {
		flags |= unix.MS_NOSUID
	}
	if m.NoDev {
		flags |= unix.MS_NODEV
	}
	switch m.Type {
	case "proc", "tmpfs":
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("create mount point %s: %w", m.Target, err)
		}
		if m.ReadOnly {
			flags |= unix.MS_RDONLY
		}
		if err := unix.Mount(m.Type, dst, m.Type, flags, m.Data); err != nil {
			return fmt.Errorf("mount %s at %s: %w", m.Type, m.Target, err)
		}
		return nil
	case "", "bind":
	default:
		return fmt.Errorf("mount %s: unknown type %q (use bind, proc or tmpfs)", m.Target, m.Type)
	}

	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind source for %s: %w", m.Target, err)
	}
	if st.IsDir() {
		err = os.MkdirAll(dst, 0o755)
	} else {
		err = createFile(dst)
	}
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Target, err)
	}
	if err := unix.Mount(m.Source, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", m.Source, m.Target, err)
	}
	if !m.ReadOnly && flags == 0 {
		return nil
	}
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	// A bind mount takes its flags only through a remount. If this fails the
	// mount would stay writable: fail instead of running the job.
	if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only/nosuid/nodev: %w (refusing to run with a writable runtime)", m.Target, err)
	}
	if m.ReadOnly {
		var sfs unix.Statfs_t
		if err := unix.Statfs(dst, &sfs); err != nil {
			return fmt.Errorf("check %s is read-only: %w", m.Target, err)
		}
		if sfs.Flags&unix.ST_RDONLY == 0 {
			return fmt.Errorf("mount %s is still writable after the read-only remount; refusing to run", m.Target)
		}
	}
	return nil
}

func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// resolveIn returns the host path of target inside root, resolving
// symlinks as if root were / so that no component can lead outside root.
// Components that do not exist yet are appended as they are.
func resolveIn(root, target string) (string, error) {
	const maxLinks = 40
	links := 0
	current := ""                                      // resolved path relative to root, "" = root
	rest := strings.Split(filepath.Clean(target), "/") // pending components
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			current = filepath.Dir(current)
			if current == "." || current == "/" {
				current = ""
			}
			continue
		}
		next := filepath.Join(current, part)
		fi, err := os.Lstat(filepath.Join(root, next))
		if errors.Is(err, os.ErrNotExist) {
			current = next
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			current = next
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("too many symbolic links")
		}
		dest, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(dest) {
			current = ""
		}
		rest = append(strings.Split(dest, "/"), rest...)
	}
	return filepath.Join(root, current), nil
}

// initProcess runs the command as PID 1's child, forwards signals to it,
// reaps every orphan, and returns the command's exit code.
func initProcess(spec *Spec) (int, error) {
	env := spec.Env
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	os.Setenv("PATH", path)
	bin, err := exec.LookPath(spec.Args[0])
	if err != nil {
		return 0, fmt.Errorf("command %q not found in the sandbox (PATH=%s): %w", spec.Args[0], path, err)
	}
	cmd := exec.Command(bin, spec.Args[1:]...)
	cmd.Args[0] = spec.Args[0]
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", spec.Args[0], err)
	}
	pid := cmd.Process.Pid
	go func() {
		for s := range signals {
			unix.Kill(pid, s.(unix.Signal))
		}
	}()
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait for %s: %w", spec.Args[0], err)
		}
		if got != pid {
			continue // an orphan re-parented to this init
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		}
	}
}
