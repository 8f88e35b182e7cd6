package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childEnv marks a process started by Run as a sandbox child.
const childEnv = "RTOOL_SANDBOX_CHILD"

// setupFailedCode is the child's exit code when the sandbox could not be
// set up; the reason travels on the status pipe.
const setupFailedCode = 125

// Mount is one mount inside the sandbox root.
type Mount struct {
	Source   string `json:"source,omitempty"` // host path, for bind mounts
	Target   string `json:"target"`           // absolute path inside the root
	Type     string `json:"type,omitempty"`   // "bind" (default), "proc" or "tmpfs"
	ReadOnly bool   `json:"readonly,omitempty"`
	NoSuid   bool   `json:"nosuid,omitempty"`
	NoDev    bool   `json:"nodev,omitempty"`
	Data     string `json:"data,omitempty"` // filesystem options, e.g. "size=64m,mode=1777" for tmpfs
}

// Overlay is an overlayfs mounted at the sandbox root before anything
// else. Lower is read-only; changes land in Upper.
type Overlay struct {
	Lower string `json:"lower"`
	Upper string `json:"upper"`
	Work  string `json:"work"`
}

// Spec describes the process to run and the root it sees.
type Spec struct {
	Root    string   `json:"root"`
	Overlay *Overlay `json:"overlay,omitempty"`
	// RootTmpfs, when set, mounts a tmpfs with these options (for example
	// "mode=755,size=64m") at Root before anything else, so the process's
	// writes outside its mounts are bounded and vanish with the sandbox
	// instead of landing in the host directory. Not with Overlay.
	RootTmpfs string  `json:"root_tmpfs,omitempty"`
	Mounts    []Mount `json:"mounts,omitempty"`
	Proc      bool    `json:"proc,omitempty"`
	Dev       bool    `json:"dev,omitempty"`
	// NoNetwork gives the process a network namespace of its own with
	// nothing but a loopback interface that is down.
	NoNetwork bool     `json:"no_network,omitempty"`
	Hostname  string   `json:"hostname,omitempty"`
	Args      []string `json:"args"`
	Env       []string `json:"env,omitempty"`
	Dir       string   `json:"dir,omitempty"`

	Stdin  io.Reader `json:"-"`
	Stdout io.Writer `json:"-"`
	Stderr io.Writer `json:"-"`
}

// SetupError reports that the sandbox could not be assembled (a mount, the
// chroot or the command lookup failed); the command never ran.
type SetupError struct{ Reason string }

func (e *SetupError) Error() string { return "sandbox setup: " + e.Reason }

// Run runs spec.Args in a new sandbox and returns the command's exit code
// (128+signal when it was killed by a signal). err is non-nil when the
// sandbox could not be set up (*SetupError), the binary could not be
// re-executed, or ctx ended first (then the whole PID namespace is killed).
func Run(ctx context.Context, spec Spec) (int, error) {
	if len(spec.Args) == 0 {
		return -1, errors.New("sandbox: no command given")
	}
	if spec.Root == "" {
		return -1, errors.New("sandbox: no root directory given")
	}
	if spec.RootTmpfs != "" && spec.Overlay != nil {
		return -1, errors.New("sandbox: RootTmpfs and Overlay both set; choose one as the root")
	}
	payload, err := json.Marshal(spec)
	if err != nil {
		return -1, fmt.Errorf("sandbox: encode spec: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return -1, fmt.Errorf("sandbox: find own executable: %w", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("sandbox: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return -1, fmt.Errorf("sandbox: %w", err)
	}

	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC)
	if spec.NoNetwork {
		flags |= syscall.CLONE_NEWNET
	}
	cmd := exec.Command(self)
	cmd.Env = []string{childEnv + "=1"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.ExtraFiles = []*os.File{specR, statusW} // fd 3 and fd 4 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		specR.Close()
		specW.Close()
		statusR.Close()
		statusW.Close()
		return -1, fmt.Errorf("sandbox: start %s: %w", self, err)
	}
	specR.Close()
	statusW.Close()
	go func() {
		specW.Write(payload)
		specW.Close()
	}()
	var status bytes.Buffer
	statusDone := make(chan struct{})
	go func() {
		io.Copy(&status, io.LimitReader(statusR, 64<<10))
		statusR.Close()
		close(statusDone)
	}()

	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waitDone:
	case <-ctx.Done():
		// SIGKILL to the namespace's init kills every process in it.
		cmd.Process.Kill()
		select {
		case <-waitDone:
		case <-time.After(10 * time.Second):
		}
		<-statusDone
		return -1, fmt.Errorf("sandbox: %s: %w", spec.Args[0], ctx.Err())
	}
	<-statusDone
	if status.Len() > 0 {
		return -1, &SetupError{Reason: status.String()}
	}
	if waitErr == nil {
		return 0, nil
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	}
	return -1, fmt.Errorf("sandbox: wait: %w", waitErr)
}
