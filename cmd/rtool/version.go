package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// toolVersion reports rtool's version from the module build information:
// the module version when installed with go install, else the VCS revision.
func toolVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// buildToolVersion is rtool's version as a build input: toolVersion, plus
// a hash of the executable when that is all a development build can say
// (no module version, no VCS stamp, or uncommitted changes), so that a
// changed rtool never reuses artifacts an older one built.
func buildToolVersion() string {
	v := toolVersion()
	if !needsExeHash(v) {
		return v
	}
	exe, err := os.Executable()
	if err != nil {
		return v
	}
	f, err := os.Open(exe)
	if err != nil {
		return v
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return v
	}
	return v + "+exe." + hex.EncodeToString(h.Sum(nil))[:12]
}

// needsExeHash reports whether version v does not pin rtool's code: a bare
// development build or one with uncommitted changes.
func needsExeHash(v string) bool {
	return v == "devel" || strings.HasSuffix(v, "-dirty") || strings.HasSuffix(v, "+dirty")
}
