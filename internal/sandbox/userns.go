package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// usernsHolderEnv marks a process started by UserNamespace: it only holds
// a new user namespace open until its standard input closes.
const usernsHolderEnv = "RTOOL_SANDBOX_USERNS_HOLDER"

// UserNamespace creates a user namespace with exactly the given uid and
// gid mappings (inside ID → host ID) and returns an open file for it
// (/proc/PID/ns/user), for example for bubblewrap's --userns. Only root
// may map arbitrary host IDs. setgroups(2) is denied in the namespace.
//
// A Go program cannot unshare(CLONE_NEWUSER) itself (it has threads), so a
// short-lived re-execution of the current binary (recognised by Main)
// creates the namespace and holds it until the file is open.
func UserNamespace(uids, gids []syscall.SysProcIDMap) (*os.File, error) {
	if len(uids) == 0 || len(gids) == 0 {
		return nil, errors.New("sandbox: a user namespace needs at least one uid and one gid mapping")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: find own executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer w.Close()
	cmd := exec.Command(self)
	cmd.Env = []string{usernsHolderEnv + "=1"}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: uids, GidMappings: gids,
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: create a user namespace (uid map %v, gid map %v): %w", uids, gids, err)
	}
	// The holder blocks reading its standard input until w is closed, so
	// its namespace file names the new namespace while it is opened here.
	ns, openErr := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	w.Close()
	waitErr := cmd.Wait()
	if openErr != nil {
		return nil, fmt.Errorf("sandbox: open the new user namespace: %w", openErr)
	}
	if waitErr != nil {
		ns.Close()
		return nil, fmt.Errorf("sandbox: user namespace holder: %w", waitErr)
	}
	var got, own syscall.Stat_t
	if err := syscall.Fstat(int(ns.Fd()), &got); err != nil {
		ns.Close()
		return nil, fmt.Errorf("sandbox: stat the new user namespace: %w", err)
	}
	if err := syscall.Stat("/proc/self/ns/user", &own); err != nil {
		ns.Close()
		return nil, fmt.Errorf("sandbox: stat own user namespace: %w", err)
	}
	if got.Dev == own.Dev && got.Ino == own.Ino {
		ns.Close()
		return nil, errors.New("sandbox: the holder process did not get a new user namespace")
	}
	return ns, nil
}

// holdUserNamespace is the holder's whole life: wait for standard input
// to close, then exit.
func holdUserNamespace() {
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
