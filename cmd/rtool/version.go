package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Set at link time by release builds (.goreleaser.yaml:
// -X main.version=vX.Y.Z -X main.commit=SHA -X main.date=RFC3339); empty in
// go install and go build, where the module and VCS build information
// speak instead. Nothing assigns them at run time.
var (
	version string
	commit  string
	date    string
)

// toolVersion reports rtool's version: the release build's, else the module
// version when installed with go install, else the VCS revision.
func toolVersion() string {
	return currentVersionInfo().Version
}

// currentVersionInfo is this binary's versionInfo.
func currentVersionInfo() versionInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return readVersionInfo(ldVersion{version, commit, date}, info)
}

// ldVersion is what the linker was told (all empty outside release builds).
type ldVersion struct{ version, commit, date string }

// versionInfo is what rtool version prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	// Source says where Version came from: "release" (the release build's
	// link flags), "module" (go install of a module version), "vcs" (a
	// build in a git checkout) or "none".
	Source string `json:"source"`
}

// pseudoVersionRE matches the tail of a Go pseudo-version
// (v0.0.0-20261127125837-976ae20abcd1): the commit time and revision.
var pseudoVersionRE = regexp.MustCompile(`[.-](\d{14})-([0-9a-f]{12})$`)

// readVersionInfo decides rtool's version from the link flags, else the
// build information (nil: none).
func readVersionInfo(ld ldVersion, info *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: "devel", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Source: "none"}
	if info != nil && info.GoVersion != "" {
		v.GoVersion = info.GoVersion
	}
	if ld.version != "" {
		v.Version, v.Commit, v.Date, v.Source = ld.version, ld.commit, ld.date, "release"
		return v
	}
	if info == nil {
		return v
	}
	rev, when, dirty := "", "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if mv := info.Main.Version; mv != "" && mv != "(devel)" {
		v.Version, v.Commit, v.Date, v.Source = mv, rev, when, "module"
		if rev != "" {
			v.Source = "vcs" // Go stamps a checkout's tag or pseudo-version as the module version
		}
		// go install of a module version records no VCS settings; a
		// pseudo-version still names its commit and time
		if m := pseudoVersionRE.FindStringSubmatch(mv); m != nil && rev == "" {
			v.Commit = m[2]
			if t, err := time.Parse("20060102150405", m[1]); err == nil {
				v.Date = t.UTC().Format(time.RFC3339)
			}
		}
		return v
	}
	if rev == "" {
		return v
	}
	v.Commit, v.Date, v.Source = rev, when, "vcs"
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	v.Version = "devel-" + rev
	return v
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

// versionCommands returns rtool version.
func versionCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "version",
		Usage: "print rtool's version, commit, build date and Go version",
		Description: "A release archive's rtool carries the version, commit and date it was built with; one from\n" +
			"go install ...@vX.Y.Z says that module version (the Go module proxy records no commit); a\n" +
			"build in a git checkout says devel-<commit> (-dirty with uncommitted changes).",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("version: unexpected argument %q", c.Args().First())
			}
			v := currentVersionInfo()
			if c.Bool("json") {
				return writeJSON(c.App.Writer, v)
			}
			unknown := func(s string) string {
				if s == "" {
					return "unknown"
				}
				return s
			}
			_, err := fmt.Fprintf(c.App.Writer, "rtool %s\ncommit:   %s\ndate:     %s\ngo:       %s\nplatform: %s\n",
				v.Version, unknown(v.Commit), unknown(v.Date), v.GoVersion, v.Platform)
			return err
		},
	}}
}
