package consumer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// LocalArtifact describes an artifact on local disk as a resolved install,
// using stats the packer or builder reported for it.
func LocalArtifact(path, name, version, platform string, st archive.Stats) *Resolved {
	return &Resolved{
		Name: name, Version: version, Platform: platform, URL: path,
		Checksum: schema.ChecksumPrefix + st.SHA256, Size: st.Size,
		UnpackedSize: st.UnpackedSize, Entries: st.Entries, Registry: "(local artifact)",
	}
}

// SmokeResult is the outcome of one smoke test.
type SmokeResult struct {
	Name     string   `json:"name"`
	Command  []string `json:"command"`
	Passed   bool     `json:"passed"`
	ExitCode int      `json:"exit_code"`
	Reason   string   `json:"reason,omitempty"`
	Stdout   string   `json:"stdout,omitempty"`
	Stderr   string   `json:"stderr,omitempty"`
}

// RunSmoke runs each smoke test inside the installed runtime spec (through
// Run, as `rtool runtime run` does) and checks its exit code and that its
// standard output contains Expect. A test that cannot be run at all counts
// as failed; the error is only for problems before any test ran.
func RunSmoke(ctx context.Context, root, spec string, tests []schema.SmokeTest) ([]SmokeResult, error) {
	if _, err := PrepareJob(RunOptions{Root: root, Spec: spec}); err != nil {
		return nil, err
	}
	var out []SmokeResult
	for i, t := range tests {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("smoke[%d]", i)
		}
		var stdout, stderr bytes.Buffer
		code, err := Run(ctx, RunOptions{
			Root: root, Spec: spec, Args: t.Command,
			Stdin:  strings.NewReader(""),
			Stdout: &capped{w: &stdout, n: 1 << 20}, Stderr: &capped{w: &stderr, n: 1 << 20},
		})
		res := SmokeResult{Name: name, Command: t.Command, ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
		switch {
		case err != nil:
			res.Reason = err.Error()
		case code != t.ExitCode:
			res.Reason = fmt.Sprintf("exit code %d, expected %d", code, t.ExitCode)
		case t.Expect != "" && !strings.Contains(stdout.String(), t.Expect):
			res.Reason = fmt.Sprintf("standard output does not contain %q", t.Expect)
		default:
			res.Passed = true
		}
		out = append(out, res)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// capped writes at most n bytes to w and silently drops the rest.
type capped struct {
	w io.Writer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.n > 0 {
		k := min(len(p), c.n)
		c.w.Write(p[:k])
		c.n -= k
	}
	return len(p), nil
}
