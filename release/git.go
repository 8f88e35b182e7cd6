package release

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Git runs the real git binary in one repository. Env is added to the
// environment of every git process (tests use it for identities and
// GIT_CONFIG_GLOBAL); go-git is deliberately not used.
type Git struct {
	Dir string
	Env []string
}

// gitError is a failed git command with its stderr.
type gitError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *gitError) Unwrap() error { return e.Err }

// Run runs git with args and returns its stdout.
func (g Git) Run(ctx context.Context, args ...string) (string, error) {
	return g.RunInput(ctx, nil, args...)
}

// RunInput runs git with stdin and returns its stdout.
func (g Git) RunInput(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	return g.run(ctx, stdin, nil, args...)
}

func (g Git) run(ctx context.Context, stdin io.Reader, extraEnv []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.Dir
	cmd.Stdin = stdin
	env := append(cmd.Environ(), g.Env...)
	env = append(env, extraEnv...)
	// never ask for credentials on a terminal: CI has none, and a prompt
	// would hang a release
	cmd.Env = append(env, "GIT_TERMINAL_PROMPT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), ctx.Err())
		}
		return stdout.String(), &gitError{Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// line returns the first line of git's output, trimmed.
func (g Git) line(ctx context.Context, args ...string) (string, error) {
	out, err := g.Run(ctx, args...)
	if err != nil {
		return "", err
	}
	out = strings.TrimSpace(out)
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = out[:i]
	}
	return out, nil
}

// formatGitDate turns git's raw "<unix seconds> <+hhmm>" into RFC 3339.
func formatGitDate(raw string) string {
	secStr, zone, _ := strings.Cut(strings.TrimSpace(raw), " ")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return raw
	}
	loc := time.UTC
	if len(zone) == 5 {
		h, err1 := strconv.Atoi(zone[1:3])
		m, err2 := strconv.Atoi(zone[3:5])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if zone[0] == '-' {
				off = -off
			}
			loc = time.FixedZone(zone, off)
		}
	}
	return time.Unix(sec, 0).In(loc).Format(time.RFC3339)
}
