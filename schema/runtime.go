package schema

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// RuntimeConfigFile is the name of the file at the root of every built runtime.
const RuntimeConfigFile = "runtime.yml"

// RuntimeConfig is runtime.yml, the file at the root of a built runtime
// that tells Joblet what to mount and which environment to set.
type RuntimeConfig struct {
	Name         string            `yaml:"name" json:"name" jsonschema_description:"Must equal the manifest name."`
	Version      string            `yaml:"version" json:"version" jsonschema_description:"Must equal the release version (a quoted string)."`
	Description  string            `yaml:"description,omitempty" json:"description,omitempty"`
	Language     string            `yaml:"language,omitempty" json:"language,omitempty"`
	Mounts       []Mount           `yaml:"mounts" json:"mounts" jsonschema:"minItems=1"`
	Environment  map[string]string `yaml:"environment,omitempty" json:"environment,omitempty"`
	Requirements *Requirements     `yaml:"requirements,omitempty" json:"requirements,omitempty"`
	Packages     []string          `yaml:"packages,omitempty" json:"packages,omitempty"`
	Extra        map[string]any    `yaml:",inline" json:"-"`
}

// Mount is one bind mount of a runtime directory into a job.
type Mount struct {
	Source   string `yaml:"source" json:"source" jsonschema_description:"Path relative to the runtime directory."`
	Target   string `yaml:"target" json:"target" jsonschema_description:"Absolute path inside the job."`
	ReadOnly bool   `yaml:"readonly" json:"readonly"`
}

// Requirements lists what a host must offer to run the runtime.
type Requirements struct {
	Architectures []string `yaml:"architectures,omitempty" json:"architectures,omitempty"`
}

// ParseRuntimeConfig decodes runtime.yml and checks the rules Joblet's own
// consumer relies on: name and version present, mount sources relative and
// inside the runtime, targets absolute.
func ParseRuntimeConfig(data []byte) (*RuntimeConfig, error) {
	var rc RuntimeConfig
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&rc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", RuntimeConfigFile, err)
	}
	if err := rc.Check(); err != nil {
		return nil, err
	}
	return &rc, nil
}

// Check verifies the fields every consumer relies on.
func (rc *RuntimeConfig) Check() error {
	if err := CheckName(rc.Name); err != nil {
		return fmt.Errorf("%s: name: %w", RuntimeConfigFile, err)
	}
	if err := CheckVersion(rc.Version); err != nil {
		return fmt.Errorf("%s: version: %w", RuntimeConfigFile, err)
	}
	if len(rc.Mounts) == 0 {
		return fmt.Errorf("%s: mounts: at least one mount is required (source relative to the runtime, absolute target)", RuntimeConfigFile)
	}
	for i, m := range rc.Mounts {
		if err := CheckMountSource(m.Source); err != nil {
			return fmt.Errorf("%s: mounts[%d].source: %w", RuntimeConfigFile, i, err)
		}
		if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target {
			return fmt.Errorf("%s: mounts[%d].target %q must be a clean absolute path such as /usr/lib", RuntimeConfigFile, i, m.Target)
		}
	}
	return nil
}

// CheckMountSource verifies that a mount source is a clean relative path
// that stays inside the runtime directory.
func CheckMountSource(src string) error {
	switch {
	case src == "":
		return fmt.Errorf("source is empty")
	case path.IsAbs(src):
		return fmt.Errorf("source %q is absolute; make it relative to the runtime directory (for example isolated/usr/bin)", src)
	case path.Clean(src) == ".." || strings.HasPrefix(path.Clean(src), "../"):
		return fmt.Errorf("source %q leaves the runtime directory", src)
	}
	return nil
}
