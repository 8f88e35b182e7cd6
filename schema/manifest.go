package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Manifest is runtimes/<name>/manifest.yaml. Keys rtool does not know
// (upstream writes python_version, cuda_version, components, features, ...)
// are kept in Extra and allowed.
type Manifest struct {
	Name        string   `yaml:"name" json:"name" jsonschema_description:"Runtime name: lowercase letters, digits, dots and hyphens (for example python-3.11-ml). Must equal the directory name."`
	Version     string   `yaml:"version" json:"version" jsonschema_description:"Semantic version without a v prefix (for example 1.3.2)."`
	Description string   `yaml:"description" json:"description" jsonschema:"minLength=1" jsonschema_description:"One-line human-readable description."`
	Platforms   []string `yaml:"platforms" json:"platforms" jsonschema:"minItems=1" jsonschema_description:"Platforms this runtime builds for: <os>-<arch>; each needs setup-<os>-<arch>.sh."`
	Packages    []string `yaml:"packages,omitempty" json:"packages,omitempty" jsonschema_description:"Key packages as name==version (pip style) or name@version (npm style); one style per manifest."`
	// Smoke lists commands run inside the installed, mounted runtime by
	// rtool test and the end-to-end tests. An rtool extension.
	Smoke []SmokeTest `yaml:"smoke,omitempty" json:"smoke,omitempty" jsonschema_description:"Smoke commands run inside the installed and mounted runtime (rtool test)."`
	// Build holds optional build settings. An rtool extension.
	Build *BuildSettings `yaml:"build,omitempty" json:"build,omitempty" jsonschema_description:"Build settings used by rtool build."`
	// Extra holds every key rtool does not know, kept as written.
	Extra map[string]any `yaml:",inline" json:"-"`
}

// SmokeTest is one command run inside an installed runtime.
type SmokeTest struct {
	Name    string   `yaml:"name" json:"name" jsonschema_description:"Short label shown in test output."`
	Command []string `yaml:"command" json:"command" jsonschema:"minItems=1" jsonschema_description:"argv of the command; the first element is looked up on the runtime's PATH."`
	// Expect, when set, must occur in the command's standard output.
	Expect string `yaml:"expect,omitempty" json:"expect,omitempty" jsonschema_description:"Text that must appear in standard output."`
	// ExitCode is the expected exit status (default 0).
	ExitCode int `yaml:"exit_code,omitempty" json:"exit_code,omitempty" jsonschema_description:"Expected exit status (default 0)."`
}

// BuildSettings are optional knobs for rtool build.
type BuildSettings struct {
	// Timeout bounds one setup script run, as a Go duration (default 30m).
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema_description:"Time limit for one setup script run as a Go duration such as 20m (default 30m)."`
	// Base names a base of rtool.yaml's named_bases that every platform of
	// the runtime builds on instead of the platform's default base (bases).
	// The platforms stay what they are: Joblet nodes select by platform,
	// the base is a build detail.
	Base string `yaml:"base,omitempty" json:"base,omitempty" jsonschema_description:"Build every platform on this named base of rtool.yaml (named_bases.<base>.<platform>, for example trixie) instead of the platform's default base; it must have a base for each platform listed here."`
}

// DefaultBaseName names a platform's default base (rtool.yaml's bases) in
// rtool's output and flags; it is reserved, never a named base's name.
const DefaultBaseName = "default"

// MaxBaseNameLength bounds a named base's name.
const MaxBaseNameLength = 32

// BaseNamePattern is a named base's name (a key of rtool.yaml's
// named_bases, a manifest's build.base): a lowercase word of letters and
// digits starting with a letter, such as trixie.
const BaseNamePattern = `^[a-z][a-z0-9]{0,31}$`

var baseNameRE = regexp.MustCompile(BaseNamePattern)

// CheckBaseName reports why name cannot name a named base. The error says
// what is wrong, not where; callers name the file and field.
func CheckBaseName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty; name a base such as trixie")
	case name == DefaultBaseName:
		return fmt.Errorf("%q is reserved for the platform's default base (rtool.yaml's bases)", name)
	case baseNameRE.MatchString(name):
		return nil
	case len(name) > MaxBaseNameLength:
		return fmt.Errorf("%q is longer than %d characters", name, MaxBaseNameLength)
	}
	msg := fmt.Sprintf("%q is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie", name)
	if l := strings.ToLower(name); l != name && baseNameRE.MatchString(l) && l != DefaultBaseName {
		msg += fmt.Sprintf("; use %q", l)
	}
	return errors.New(msg)
}

// BuildBaseProblem says what is wrong with a manifest's build.base name
// (of the right form: CheckBaseName) given the named bases of the build
// configuration configFile (named: each named base's platforms, sorted):
// the problem and its fix, or "", "" when the named base has a base for
// every platform the manifest lists. rtool validate reports it at the
// field's line; a build stops on it.
func BuildBaseProblem(name string, platforms []string, named map[string][]string, configFile string) (problem, fix string) {
	have, ok := named[name]
	if !ok {
		known := make([]string, 0, len(named))
		for n := range named {
			known = append(known, n)
		}
		slices.Sort(known)
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return fmt.Sprintf("no named base %q in %s (named_bases: %s)", name, configFile, list),
			fmt.Sprintf("add named_bases.%s with a base for each of %s to %s, or use one of those", name, strings.Join(platforms, ", "), configFile)
	}
	var missing []string
	for _, p := range platforms {
		if !slices.Contains(have, p) && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return "", ""
	}
	return fmt.Sprintf("named base %s has no base for platform %s in %s (named_bases.%s has %s)", name, strings.Join(missing, ", "), configFile, name, strings.Join(have, ", ")),
		fmt.Sprintf("add named_bases.%s.%s to %s, or remove %s from platforms", name, missing[0], configFile, strings.Join(missing, ", "))
}

// ManifestFile is the name of a runtime's manifest inside its directory.
const ManifestFile = "manifest.yaml"

// ReadManifest reads dir/manifest.yaml and checks what every command that
// acts on a runtime relies on: a valid name and version and at least one
// valid platform. Errors name the file and the field; the full rule set
// with line numbers is package validate's.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", dir, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := CheckName(m.Name); err != nil {
		return nil, fmt.Errorf("%s: name: %w", path, err)
	}
	if err := CheckVersion(m.Version); err != nil {
		return nil, fmt.Errorf("%s: version: %w", path, err)
	}
	if len(m.Platforms) == 0 {
		return nil, fmt.Errorf("%s: platforms: list at least one platform such as debian-amd64", path)
	}
	for _, p := range m.Platforms {
		if _, err := ParsePlatform(p); err != nil {
			return nil, fmt.Errorf("%s: platforms: %w", path, err)
		}
	}
	return m, nil
}

// ParseManifest decodes manifest YAML into a Manifest. Structural problems
// (bad YAML, wrong types) are returned as errors with yaml.v3's line
// information; rule checks belong to package validate.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	return &m, nil
}

// RuntimeNames lists the runtime directories under root: the
// subdirectories holding a manifest.yaml, sorted, skipping dot-directories
// (validate reports a manifest hidden in one; nothing builds or releases
// it).
func RuntimeNames(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), ManifestFile)); err == nil {
			names = append(names, e.Name())
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return names, nil
}
