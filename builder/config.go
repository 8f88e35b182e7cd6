package builder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/joblet/rtool/schema"
	"gopkg.in/yaml.v3"
)

// ConfigFile is the name of the build configuration at the repository root.
const ConfigFile = "rtool.yaml"

// baseFormat is mixed into every base key; bump it when the way a base is
// built changes so old cached bases are not reused.
const baseFormat = 1

// Config is rtool.yaml: which base root filesystem each platform builds on.
type Config struct {
	// Bases maps a platform (<os>-<arch>) to its base.
	Bases map[string]*BaseConfig `yaml:"bases"`

	// Dir is the directory of the configuration file; relative rootfs
	// paths are resolved against it. Not part of the file.
	Dir string `yaml:"-"`
	// Path is the file the configuration was read from, for messages.
	Path string `yaml:"-"`
	// SourcesFiles are the host apt source files searched for a default
	// mirror; nil means the host's /etc/apt/sources.list and
	// /etc/apt/sources.list.d/*.{list,sources}. Not part of the file.
	SourcesFiles []string `yaml:"-"`
}

// BaseConfig is one base: exactly one of Debootstrap and Rootfs.
type BaseConfig struct {
	Debootstrap *DebootstrapConfig `yaml:"debootstrap,omitempty" json:"debootstrap,omitempty"`
	// Rootfs is a root filesystem the user supplies: a tarball (.tar,
	// .tar.gz, .tgz, .tar.xz, .tar.zst; extracted once into the cache) or a
	// directory (used in place as the read-only lower layer). Relative
	// paths are relative to rtool.yaml.
	Rootfs string `yaml:"rootfs,omitempty" json:"rootfs,omitempty"`
}

// DebootstrapConfig describes a Debian-family base made by debootstrap.
type DebootstrapConfig struct {
	Suite      string   `yaml:"suite" json:"suite"`
	Variant    string   `yaml:"variant,omitempty" json:"variant,omitempty"`
	Arch       string   `yaml:"arch" json:"arch"`
	Components []string `yaml:"components,omitempty" json:"components,omitempty"`
	// Include lists extra packages installed into the base.
	Include []string `yaml:"include,omitempty" json:"include,omitempty"`
	// Mirror defaults to the host's apt source for Suite.
	Mirror string `yaml:"mirror,omitempty" json:"mirror,omitempty"`
}

var (
	debWord    = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)
	variantSet = []string{"", "minbase", "buildd", "fakechroot"}
)

// LoadConfig reads and checks rtool.yaml.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("build config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("build config %s: %w", path, err)
	}
	cfg, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	cfg.Dir = filepath.Dir(abs)
	return cfg, nil
}

// ParseConfig decodes rtool.yaml from data; source names it in errors.
// Unknown keys are errors (a typo would otherwise silently change a base).
func ParseConfig(data []byte, source string) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	cfg.Path = source
	if len(cfg.Bases) == 0 {
		return nil, fmt.Errorf("%s: bases: no platform configured; add for example\n  bases:\n    debian-amd64:\n      debootstrap: {suite: bookworm, variant: minbase, arch: amd64}", source)
	}
	for _, p := range cfg.Platforms() {
		if err := cfg.Bases[p].check(p); err != nil {
			return nil, fmt.Errorf("%s: bases.%s: %w", source, p, err)
		}
	}
	return &cfg, nil
}

// Platforms returns the configured platforms, sorted.
func (c *Config) Platforms() []string {
	ps := make([]string, 0, len(c.Bases))
	for p := range c.Bases {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Base returns the base of platform or an error naming the fix.
func (c *Config) Base(platform string) (*BaseConfig, error) {
	b, ok := c.Bases[platform]
	if !ok {
		return nil, fmt.Errorf("platform %s has no base in %s (configured: %s); add bases.%s to it", platform, c.Path, strings.Join(c.Platforms(), ", "), platform)
	}
	return b, nil
}

func (b *BaseConfig) check(platform string) error {
	p, err := schema.ParsePlatform(platform)
	if err != nil {
		return err
	}
	if b == nil {
		return errors.New("empty; set debootstrap or rootfs")
	}
	switch {
	case b.Debootstrap != nil && b.Rootfs != "":
		return errors.New("set either debootstrap or rootfs, not both")
	case b.Debootstrap == nil && b.Rootfs == "":
		return errors.New("set debootstrap (suite, variant, arch) or rootfs (a tarball or directory)")
	case b.Rootfs != "":
		return nil
	}
	d := b.Debootstrap
	if !debWord.MatchString(d.Suite) {
		return fmt.Errorf("debootstrap.suite %q is not a suite name such as bookworm", d.Suite)
	}
	if !slices.Contains(variantSet, d.Variant) {
		return fmt.Errorf("debootstrap.variant %q: use minbase, buildd, fakechroot or leave it empty", d.Variant)
	}
	if d.Arch == "" {
		return fmt.Errorf("debootstrap.arch is empty; set it to %s", p.Arch)
	}
	if d.Arch != p.Arch {
		return fmt.Errorf("debootstrap.arch %q does not match the platform's architecture %q", d.Arch, p.Arch)
	}
	for _, w := range append(slices.Clone(d.Components), d.Include...) {
		if !debWord.MatchString(w) {
			return fmt.Errorf("debootstrap: %q is not a valid component or package name", w)
		}
	}
	if d.Mirror != "" && !strings.Contains(d.Mirror, "://") {
		return fmt.Errorf("debootstrap.mirror %q is not a URL such as http://deb.debian.org/debian", d.Mirror)
	}
	return nil
}

// resolvedBase is a base configuration with every default filled in: what
// its key is computed from.
type resolvedBase struct {
	Format      int                `json:"format"`
	Platform    string             `json:"platform"`
	Debootstrap *DebootstrapConfig `json:"debootstrap,omitempty"`
	RootfsFile  string             `json:"rootfs_file,omitempty"`   // absolute path of a tarball
	RootfsSHA   string             `json:"rootfs_sha256,omitempty"` // its content hash
	RootfsDir   string             `json:"rootfs_dir,omitempty"`    // absolute path of a directory
	RootfsTree  string             `json:"rootfs_tree,omitempty"`   // its TreeHash
}

// resolve fills defaults (the mirror from the host's apt sources, sorted
// package lists) and hashes user-supplied root filesystems.
func (c *Config) resolve(platform string) (*resolvedBase, error) {
	b, err := c.Base(platform)
	if err != nil {
		return nil, err
	}
	r := &resolvedBase{Format: baseFormat, Platform: platform}
	if b.Debootstrap != nil {
		d := *b.Debootstrap
		d.Components = sortedUnique(d.Components)
		d.Include = sortedUnique(d.Include)
		if d.Mirror == "" {
			m, err := HostMirror(c.SourcesFiles, d.Suite, d.Arch)
			if err != nil {
				return nil, fmt.Errorf("%s: bases.%s.debootstrap.mirror: %w", c.Path, platform, err)
			}
			d.Mirror = m
		}
		d.Mirror = strings.TrimRight(d.Mirror, "/")
		r.Debootstrap = &d
		return r, nil
	}
	p := b.Rootfs
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.Dir, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: bases.%s.rootfs: %w", c.Path, platform, err)
	}
	if st.IsDir() {
		h, err := TreeHash(p)
		if err != nil {
			return nil, fmt.Errorf("%s: bases.%s.rootfs: %w", c.Path, platform, err)
		}
		r.RootfsDir, r.RootfsTree = p, h
		return r, nil
	}
	h, err := fileSHA256(p)
	if err != nil {
		return nil, fmt.Errorf("%s: bases.%s.rootfs: %w", c.Path, platform, err)
	}
	r.RootfsFile, r.RootfsSHA = p, h
	return r, nil
}

// key is the hex SHA-256 of the canonical JSON of the resolved base.
func (r *resolvedBase) key() string {
	data, _ := json.Marshal(r) // struct of strings: cannot fail
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}
