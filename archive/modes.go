package archive

import (
	"fmt"
	"io/fs"
	"strings"
)

// MaxModeWarnings is how many entries whose mode the writer normalised are
// named one by one through PackOptions.Warn; past it one summary line gives
// the total.
const MaxModeWarnings = 20

// NormalMode returns the permission bits the format stores, and Extract
// installs, for an entry of mode's type: 0755 for directories; for regular
// files 0755 when any execute bit is set, else 0644; 0777 for symlinks
// (Linux ignores a symlink's mode). So nothing is group- or other-writable
// (no local user can swap a binary that a root job runs), everything is
// readable by every job's user, and no setuid, setgid or sticky bit
// survives.
func NormalMode(mode fs.FileMode) fs.FileMode {
	switch {
	case mode.IsDir():
		return 0o755
	case mode&fs.ModeSymlink != 0:
		return 0o777
	case mode&0o111 != 0:
		return 0o755
	default:
		return 0o644
	}
}

// UnixMode is mode's permission and setuid, setgid and sticky bits as the
// octal number chmod and tar use.
func UnixMode(mode fs.FileMode) int64 {
	m := int64(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// modeNote says why mode was normalised (mode is not normal already).
func modeNote(mode fs.FileMode) string {
	var why []string
	for _, b := range []struct {
		bit  fs.FileMode
		name string
	}{{fs.ModeSetuid, "setuid"}, {fs.ModeSetgid, "setgid"}, {fs.ModeSticky, "sticky"}} {
		if mode&b.bit != 0 {
			why = append(why, b.name+" bit stripped")
		}
	}
	perm := mode.Perm()
	if perm&0o022 != 0 {
		why = append(why, "was writable by group or others")
	}
	want := fs.FileMode(0o444)
	if mode.IsDir() {
		want = 0o555
	}
	if perm&want != want {
		why = append(why, "was not readable by every user")
	}
	if len(why) == 0 {
		why = append(why, "owner may write, everyone may read")
	}
	return strings.Join(why, ", ")
}

// modeWarnings emits, in entry order, the warnings about normalised modes.
type modeWarnings struct {
	warn func(string)
	n    int
}

func (m *modeWarnings) note(path string, from fs.FileMode, to int64) {
	m.n++
	if m.warn != nil && m.n <= MaxModeWarnings {
		m.warn(fmt.Sprintf("%s: mode %04o packed as %04o (%s)", path, UnixMode(from), to, modeNote(from)))
	}
}

func (m *modeWarnings) finish() {
	if m.warn != nil && m.n > MaxModeWarnings {
		m.warn(fmt.Sprintf("%d entries in all had their modes normalised (%d more not listed): directories are packed 0755, files 0644, or 0755 when any execute bit is set",
			m.n, m.n-MaxModeWarnings))
	}
}
