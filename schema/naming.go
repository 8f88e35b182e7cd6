package schema

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// NamePattern is the rule for runtime names: lowercase letters, digits, dots
// and hyphens, starting with a letter or digit.
const NamePattern = `^[a-z0-9][a-z0-9.-]*$`

// VersionPattern is strict semantic versioning 2.0.0 without a "v" prefix.
const VersionPattern = `^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`

// PlatformPattern is the rule for platform names: <os>-<arch>.
const PlatformPattern = `^(ubuntu|debian|rhel|amzn)-(amd64|arm64)$`

// NameStrictPattern is every rule of CheckName in one regular expression
// (NamePattern, and no "..", no trailing "-" or "."); the length limit is
// MaxNameLength. CheckName accepts exactly the names it matches and the
// generated schemas use it, so the two cannot drift.
const NameStrictPattern = `^[a-z0-9](?:(?:\.?[a-z0-9-])*\.?[a-z0-9])?$`

// MaxNameLength bounds a runtime name so that <name>-<version>.tar.gz and
// install directories stay well under common file-name limits.
const MaxNameLength = 100

var (
	nameRE     = regexp.MustCompile(NamePattern)
	strictRE   = regexp.MustCompile(NameStrictPattern)
	versionRE  = regexp.MustCompile(VersionPattern)
	platformRE = regexp.MustCompile(PlatformPattern)
)

// KnownOS lists the operating systems a platform may name.
var KnownOS = []string{"ubuntu", "debian", "rhel", "amzn"}

// KnownArch lists the architectures a platform may name.
var KnownArch = []string{"amd64", "arm64"}

// CheckName returns nil when name is a valid runtime name, or an error that
// says what is wrong with it and how to fix it.
func CheckName(name string) error {
	if len(name) <= MaxNameLength && strictRE.MatchString(name) {
		return nil
	}
	// The rest only explains why the name is not valid.
	switch {
	case name == "":
		return fmt.Errorf("runtime name is empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("runtime name %q is %d characters long; the limit is %d", name, len(name), MaxNameLength)
	case !nameRE.MatchString(name):
		msg := fmt.Sprintf("runtime name %q must be lowercase letters, digits, dots and hyphens, starting with a letter or digit", name)
		if name != strings.ToLower(name) {
			msg = fmt.Sprintf("runtime name %q has uppercase letters; names are lowercase letters, digits, dots and hyphens, starting with a letter or digit", name)
		}
		if s := SuggestName(name); s != "" {
			return fmt.Errorf("%s; use %q", msg, s)
		}
		return fmt.Errorf("%s (for example python-3.11-ml)", msg)
	case strings.HasSuffix(name, "-") || strings.HasSuffix(name, "."):
		return fmt.Errorf("runtime name %q must not end with %q", name, name[len(name)-1:])
	case strings.Contains(name, ".."):
		return fmt.Errorf("runtime name %q must not contain \"..\"", name)
	}
	return fmt.Errorf("runtime name %q must be lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit (for example python-3.11-ml)", name)
}

// SuggestName turns name into a valid runtime name (lowercase, every other
// character a hyphen, no leading, trailing or doubled separators), or
// returns "" when nothing valid is left.
func SuggestName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	for strings.Contains(s, "--") || strings.Contains(s, "..") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "--", "-"), "..", ".")
	}
	s = strings.Trim(s, "-.")
	if CheckName(s) != nil {
		return ""
	}
	return s
}

// CheckVersion returns nil when v is a semantic version without a "v"
// prefix, or an error that says what is wrong: a missing patch, a prefix,
// leading zeros, and so on.
func CheckVersion(v string) error {
	if versionRE.MatchString(v) {
		return nil
	}
	switch {
	case v == "":
		return fmt.Errorf("version is empty; use semantic versioning such as 1.0.0")
	case strings.HasPrefix(v, "v") || strings.HasPrefix(v, "V"):
		if versionRE.MatchString(v[1:]) {
			return fmt.Errorf("version %q has a %q prefix; write %q", v, v[:1], v[1:])
		}
	}
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	core = strings.TrimLeft(core, "vV")
	parts := strings.Split(core, ".")
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return fmt.Errorf("version %q is not semantic versioning MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (for example 1.3.2)", v)
		}
	}
	switch {
	case len(parts) == 1:
		return fmt.Errorf("version %q lacks a minor and patch number; write %s.0.0", v, parts[0])
	case len(parts) == 2:
		return fmt.Errorf("version %q lacks a patch number; write %s.0", v, core)
	case len(parts) > 3:
		return fmt.Errorf("version %q has %d numbers; semantic versioning has exactly three (MAJOR.MINOR.PATCH)", v, len(parts))
	}
	for _, p := range parts {
		if len(p) > 1 && p[0] == '0' {
			return fmt.Errorf("version %q has a leading zero in %q; write %s", v, p, strings.TrimLeft(p, "0"))
		}
	}
	return fmt.Errorf("version %q is not semantic versioning MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (for example 1.3.2)", v)
}

// ParseVersion checks v with CheckVersion and parses it.
func ParseVersion(v string) (*semver.Version, error) {
	if err := CheckVersion(v); err != nil {
		return nil, err
	}
	return semver.StrictNewVersion(v)
}

// Platform is a parsed <os>-<arch> pair.
type Platform struct {
	OS   string
	Arch string
}

// String returns the platform as <os>-<arch>.
func (p Platform) String() string { return p.OS + "-" + p.Arch }

// ParsePlatform parses and checks a platform name.
func ParsePlatform(s string) (Platform, error) {
	m := platformRE.FindStringSubmatch(s)
	if m == nil {
		return Platform{}, fmt.Errorf("platform %q is not <os>-<arch> with os one of %s and arch one of %s (for example debian-amd64)",
			s, strings.Join(KnownOS, ", "), strings.Join(KnownArch, ", "))
	}
	return Platform{OS: m[1], Arch: m[2]}, nil
}

// Tag is a parsed release tag name@version.
type Tag struct {
	Name    string
	Version string
}

// String returns the tag as name@version.
func (t Tag) String() string { return t.Name + "@" + t.Version }

// ParseTag parses a release tag of the form name@X.Y.Z.
func ParseTag(s string) (Tag, error) {
	i := strings.LastIndex(s, "@")
	if i < 0 {
		return Tag{}, fmt.Errorf("tag %q is not name@version (for example python-3.11@1.3.2)", s)
	}
	t := Tag{Name: s[:i], Version: s[i+1:]}
	if err := CheckName(t.Name); err != nil {
		return Tag{}, fmt.Errorf("tag %q: %w", s, err)
	}
	if err := CheckVersion(t.Version); err != nil {
		return Tag{}, fmt.Errorf("tag %q: %w", s, err)
	}
	return t, nil
}

// ArtifactName is the file name of a prebuilt per-platform artifact.
func ArtifactName(name, version, platform string) string {
	return fmt.Sprintf("%s-%s-%s.tar.gz", name, version, platform)
}

// SourcePackageName is the file name of upstream's source package.
func SourcePackageName(name, version string) string {
	return fmt.Sprintf("%s-%s.tar.gz", name, version)
}

// InstallDirName is <name>-<version>: the flat install layout older rtool
// versions (and Joblet's docs) used, still found as a fallback, and the key
// of install locks and staging directories. Installs now go to
// <root>/<name>/<version>/, where Joblet's installer writes and its
// resolver looks first.
func InstallDirName(name, version string) string {
	return name + "-" + version
}
