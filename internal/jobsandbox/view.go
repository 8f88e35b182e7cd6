package jobsandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// forbiddenTargets may not be mount targets, nor may anything below them:
// a mount there would hide or replace the job's root, its /proc (and with
// it the read-only /proc/sys), its /dev, or put a host tree where /sys
// belongs.
var forbiddenTargets = []string{"/proc", "/dev", "/sys"}

// maxLinks bounds symbolic link resolution, as the kernel's 40.
const maxLinks = 40

// view answers questions about the job's file tree before it exists: a
// tmpfs root and /tmp holding nothing but mount points, /proc and /dev
// that rtool does not model, and the bind mounts in order (a later mount
// covers an earlier one at or below its target).
type view struct {
	mounts []Mount
}

// covering returns the index of the bind mount among v.mounts that
// provides p (the last one whose target is p or a parent of p), or -1.
func (v view) covering(p string) int {
	for i := len(v.mounts) - 1; i >= 0; i-- {
		if within(p, v.mounts[i].Target) {
			return i
		}
	}
	return -1
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// special reports whether p is in a part of the tree rtool does not model.
func special(p string) bool {
	return within(p, "/proc") || within(p, "/dev")
}

// hostPath returns the host path that provides job path p through the
// bind mount i.
func (v view) hostPath(i int, p string) string {
	m := v.mounts[i]
	return filepath.Join(m.Source, strings.TrimPrefix(p, m.Target))
}

// link is a symbolic link met while resolving a path in the job.
type link struct {
	at, to, in string // job path of the link, its target, the mount it is in
}

// resolve follows p through the job's tree as the kernel would inside the
// job and returns where it lands and the first symbolic link on the way
// (nil if none). Components that do not exist are taken as they are; the
// walk stops at /proc and /dev, which rtool does not model.
func (v view) resolve(p string) (string, *link, error) {
	var first *link
	links := 0
	cur := "/"
	rest := strings.Split(p, "/")
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		if special(next) {
			return path.Join(append([]string{next}, rest...)...), first, nil
		}
		i := v.covering(next)
		if i < 0 {
			cur = next // the tmpfs root or /tmp: nothing there but mount points
			continue
		}
		host := v.hostPath(i, next)
		fi, err := os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) {
			cur = next
			continue
		}
		if err != nil {
			return "", first, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		to, err := os.Readlink(host)
		if err != nil {
			return "", first, err
		}
		if first == nil {
			first = &link{at: next, to: to, in: v.mounts[i].describe()}
		}
		if links++; links > maxLinks {
			return "", first, fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		if path.IsAbs(to) {
			cur = "/"
		}
		rest = append(strings.Split(to, "/"), rest...)
	}
	return cur, first, nil
}

// describe names the mount for messages: its origin, else its source.
func (m Mount) describe() string {
	if m.Origin != "" {
		return m.Origin + " (" + m.Source + ")"
	}
	return m.Source
}

// MountError is a mount that CheckMounts refuses.
type MountError struct {
	Index  int    // position in the list given to CheckMounts
	Origin string // Mount.Origin
	Target string
	Reason string
}

func (e *MountError) Error() string {
	who := e.Origin
	if who == "" {
		who = fmt.Sprintf("mount %d", e.Index)
	}
	return fmt.Sprintf("%s: target %s %s", who, e.Target, e.Reason)
}

// CheckMounts refuses any mount whose target is not a clean absolute
// path, is /, is at or below /proc, /dev or /sys, or passes — in the job's
// tree as the earlier mounts build it — through a symbolic link or a file.
// Bubblewrap would follow such a link in its own view of the file system,
// which is not the job's, so a target through a link could land anywhere:
// on the job's /proc, or outside the job's root.
func CheckMounts(mounts []Mount) error {
	for i, m := range mounts {
		fail := func(format string, a ...any) error {
			return &MountError{Index: i, Origin: m.Origin, Target: m.Target, Reason: fmt.Sprintf(format, a...)}
		}
		if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target {
			return fail("must be a clean absolute path such as /usr/lib")
		}
		if m.Target == "/" {
			return fail("would replace the job's root; mount the runtime below a directory such as /usr or /opt")
		}
		for _, f := range forbiddenTargets {
			if within(m.Target, f) {
				return fail("is at or below %s, which the job sandbox provides; mount the runtime elsewhere", f)
			}
		}
		if !filepath.IsAbs(m.Source) {
			return fail("has source %q, which is not an absolute host path", m.Source)
		}
		v := view{mounts: mounts[:i]}
		// Every existing component of the target, the last one included,
		// must be a real directory (or, last, whatever the mount covers).
		cur := "/"
		for _, part := range strings.Split(m.Target, "/")[1:] {
			cur = path.Join(cur, part)
			j := v.covering(cur)
			if j < 0 {
				continue
			}
			fi, err := os.Lstat(v.hostPath(j, cur))
			if errors.Is(err, fs.ErrNotExist) {
				if mounts[j].ReadOnly {
					return fail("needs %s, which does not exist in the read-only mount of %s, so bubblewrap could not create it; create it in the runtime or mount elsewhere",
						cur, mounts[j].describe())
				}
				break
			}
			if err != nil {
				return fail("cannot be checked: %v", err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				landing, first, err := v.resolve(m.Target)
				if err != nil {
					return fail("goes through the symbolic link %s (%v); a mount target must be a path of real directories", cur, err)
				}
				return fail("goes through %s, a symbolic link to %q in %s, and would land on %s; bubblewrap follows links in mount targets outside the job's view, so a target must be a path of real directories (point the target at the real directory, or remove the link)",
					first.at, first.to, first.in, landing)
			}
			if cur != m.Target && !fi.IsDir() {
				return fail("goes through %s, which is a file in %s, not a directory", cur, mounts[j].describe())
			}
		}
	}
	return nil
}

// checkReachable refuses a mount source that the job's uid and gid could
// not reach: bubblewrap resolves sources as the job's user, so every
// directory above the source must let that user search it.
func checkReachable(m Mount, uid, gid uint32) error {
	real, err := filepath.EvalSymlinks(m.Source)
	if err != nil {
		return fmt.Errorf("%s: source %s: %w", m.describe(), m.Source, err)
	}
	var dirs []string // from / down to the source's parent, as the kernel walks
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		dirs = append([]string{dir}, dirs...)
		if dir == "/" {
			break
		}
	}
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("%s: source %s: %w", m.describe(), m.Source, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		var bit fs.FileMode = 0o001
		switch {
		case st.Uid == uid:
			bit = 0o100
		case st.Gid == gid:
			bit = 0o010
		}
		if fi.Mode().Perm()&bit == 0 {
			return fmt.Errorf("%s: source %s is out of reach of the job's user %d:%d: %s is mode %04o owned by %d:%d; let others enter it (chmod o+x %s) or install runtimes under a directory others can enter, such as /opt/joblet/runtimes",
				m.describe(), m.Source, uid, gid, dir, fi.Mode().Perm(), st.Uid, st.Gid, dir)
		}
	}
	return nil
}

// lookPath finds command as execvp would in the job (PATH from env, or
// relative to dir) and reports whether it may exist: true when found or
// when it would be under /proc or /dev, which rtool does not model.
func (v view) lookPath(command, pathEnv, dir string) bool {
	var candidates []string
	if strings.Contains(command, "/") {
		if !path.IsAbs(command) {
			command = path.Join(dir, command)
		}
		candidates = []string{command}
	} else {
		for _, d := range filepath.SplitList(pathEnv) {
			if d == "" {
				d = dir
			}
			if !path.IsAbs(d) {
				d = path.Join(dir, d)
			}
			candidates = append(candidates, path.Join(d, command))
		}
	}
	for _, c := range candidates {
		p, _, err := v.resolve(c)
		if err != nil {
			continue
		}
		if special(p) {
			return true
		}
		i := v.covering(p)
		if i < 0 {
			continue
		}
		fi, err := os.Stat(v.hostPath(i, p))
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}
