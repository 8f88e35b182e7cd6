package validate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RuntimesDir is the directory of runtime definitions in a repository.
const RuntimesDir = "runtimes"

// GitTopLevel returns the top directory of the git work tree holding dir,
// or "" when dir is not in one (or git is not installed).
func GitTopLevel(ctx context.Context, dir string) string {
	git, err := exec.LookPath("git")
	if err != nil {
		return ""
	}
	out, err := exec.CommandContext(ctx, git, "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// DefaultRoot returns the runtimes directory for a command run in cwd: the
// repository's runtimes/ when cwd is in a git work tree, else
// cwd/runtimes. The result is relative to cwd (runtimes, ../.., ...), so
// diagnostics show short paths.
func DefaultRoot(ctx context.Context, cwd string) string {
	top := GitTopLevel(ctx, cwd)
	if top == "" {
		return RuntimesDir
	}
	root := filepath.Join(top, RuntimesDir)
	real, err := filepath.EvalSymlinks(cwd) // git prints the resolved path
	if err != nil {
		return root
	}
	rel, err := filepath.Rel(real, root)
	if err != nil {
		return root
	}
	return rel
}

// shorten makes p relative to base when p lies inside base.
func shorten(base, p string) string {
	absBase, err1 := filepath.Abs(base)
	absP, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return p
	}
	rel, err := filepath.Rel(absBase, absP)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// RelativeTo returns a copy of r whose file and directory paths are relative
// to base where they lie inside it (GitHub annotations need paths relative
// to the repository root). Paths outside base stay as they are.
func (r Report) RelativeTo(base string) Report {
	out := r
	out.Root = shorten(base, r.Root)
	if r.Diagnostics != nil {
		out.Diagnostics = make([]Diagnostic, len(r.Diagnostics))
		for i, d := range r.Diagnostics {
			d.File = shorten(base, d.File)
			out.Diagnostics[i] = d
		}
	}
	out.Runtimes = make([]RuntimeReport, len(r.Runtimes))
	for i, rt := range r.Runtimes {
		rt.Dir = shorten(base, rt.Dir)
		ds := make([]Diagnostic, len(rt.Diagnostics))
		for j, d := range rt.Diagnostics {
			d.File = shorten(base, d.File)
			ds[j] = d
		}
		rt.Diagnostics = ds
		out.Runtimes[i] = rt
	}
	return out
}

// AppendFile appends data to the file at path, creating it if needed (as
// GitHub's $GITHUB_STEP_SUMMARY expects).
func AppendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return nil
}
