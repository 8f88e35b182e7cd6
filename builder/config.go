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
	// Bases maps a platform (<os>-<arch>) to its default base.
	Bases map[string]*BaseConfig `yaml:"bases"`
	// NamedBases maps a base name (schema.CheckBaseName) to platform →
	// base: what a runtime builds on when its manifest says build.base:
	// NAME, instead of its platforms' default bases.
	NamedBases map[string]map[string]*BaseConfig `yaml:"named_bases,omitempty"`

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
	if len(cfg.Bases) == 0 && len(cfg.NamedBases) == 0 {
		return nil, fmt.Errorf("%s: bases: no platform configured; add for example\n  bases:\n    debian-amd64:\n      debootstrap: {suite: bookworm, variant: minbase, arch: amd64}", source)
	}
	for _, p := range cfg.Platforms() {
		if err := cfg.Bases[p].check(p); err != nil {
			return nil, fmt.Errorf("%s: bases.%s: %w", source, p, err)
		}
	}
	for _, name := range cfg.Names() {
		if err := schema.CheckBaseName(name); err != nil {
			return nil, fmt.Errorf("%s: named_bases.%s: the name %w", source, name, err)
		}
		if len(cfg.NamedBases[name]) == 0 {
			return nil, fmt.Errorf("%s: named_bases.%s: no platform configured; add for example\n  named_bases:\n    %s:\n      debian-amd64:\n        debootstrap: {suite: trixie, variant: minbase, arch: amd64}", source, name, name)
		}
		for _, p := range sortedKeys(cfg.NamedBases[name]) {
			if err := cfg.NamedBases[name][p].check(p); err != nil {
				return nil, fmt.Errorf("%s: named_bases.%s.%s: %w", source, name, p, err)
			}
		}
	}
	return &cfg, nil
}

// Platforms returns the platforms with a default base (bases), sorted.
func (c *Config) Platforms() []string { return sortedKeys(c.Bases) }

// AllPlatforms returns every platform with a base, default or named,
// sorted.
func (c *Config) AllPlatforms() []string {
	set := map[string]bool{}
	for p := range c.Bases {
		set[p] = true
	}
	for _, m := range c.NamedBases {
		for p := range m {
			set[p] = true
		}
	}
	return sortedKeys(set)
}

// Names returns the names of the named bases, sorted.
func (c *Config) Names() []string { return sortedKeys(c.NamedBases) }

// BaseNames returns the bases platform has: schema.DefaultBaseName first
// when it has a default base, then its named bases, sorted.
func (c *Config) BaseNames(platform string) []string {
	var out []string
	if _, ok := c.Bases[platform]; ok {
		out = append(out, schema.DefaultBaseName)
	}
	for _, n := range c.Names() {
		if _, ok := c.NamedBases[n][platform]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Base returns the default base of platform or an error naming the fix.
func (c *Config) Base(platform string) (*BaseConfig, error) {
	b, ok := c.Bases[platform]
	if !ok {
		if named := c.BaseNames(platform); len(named) > 0 {
			return nil, fmt.Errorf("platform %s has no default base in %s, only the named bases %s; add bases.%s to it, or build on a named base (build.base in the manifest, --base NAME for rtool base)", platform, c.Path, strings.Join(named, ", "), platform)
		}
		return nil, fmt.Errorf("platform %s has no base in %s (configured: %s); add bases.%s to it", platform, c.Path, orNone(c.AllPlatforms()), platform)
	}
	return b, nil
}

// NamedBase returns the base called name (schema.DefaultBaseName or ""
// for the default) of platform, or an error naming the fix.
func (c *Config) NamedBase(name, platform string) (*BaseConfig, error) {
	if name == "" || name == schema.DefaultBaseName {
		return c.Base(platform)
	}
	m, ok := c.NamedBases[name]
	if !ok {
		return nil, fmt.Errorf("no named base %q in %s (named_bases: %s); add named_bases.%s to it, or use one of those", name, c.Path, orNone(c.Names()), name)
	}
	b, ok := m[platform]
	if !ok {
		return nil, fmt.Errorf("named base %s has no base for platform %s in %s (named_bases.%s has %s); add named_bases.%s.%s to it", name, platform, c.Path, name, strings.Join(sortedKeys(m), ", "), name, platform)
	}
	return b, nil
}

// field is where the base called name of platform is in rtool.yaml, for
// messages: bases.PLATFORM or named_bases.NAME.PLATFORM.
func field(platform, name string) string {
	if name == "" || name == schema.DefaultBaseName {
		return "bases." + platform
	}
	return "named_bases." + name + "." + platform
}

// RuntimeBase is the name of the base the runtime whose manifest m was
// read from manifestPath builds on: its build.base, else
// schema.DefaultBaseName. A build.base must be a named base with a base
// for every platform the manifest lists; the error names the manifest's
// field, rtool.yaml, what it configures and the fix. (Whether a platform
// has a default base is the build's question, asked per platform.)
func (c *Config) RuntimeBase(manifestPath string, m *schema.Manifest) (string, error) {
	if m.Build == nil || m.Build.Base == "" {
		return schema.DefaultBaseName, nil
	}
	name := m.Build.Base
	if err := schema.CheckBaseName(name); err != nil {
		if name == schema.DefaultBaseName {
			return "", fmt.Errorf("%s: build.base: %w; remove build.base to build on the platforms' default bases", manifestPath, err)
		}
		return "", fmt.Errorf("%s: build.base: %w", manifestPath, err)
	}
	if problem, fix := schema.BuildBaseProblem(name, m.Platforms, c.NamedBasePlatforms(), c.Path); problem != "" {
		return "", fmt.Errorf("%s: build.base: %s; %s", manifestPath, problem, fix)
	}
	return name, nil
}

// BaseSel is one base of rtool.yaml: a platform and the base's name
// (schema.DefaultBaseName or a key of named_bases).
type BaseSel struct {
	Platform string
	Name     string
}

// SelectBases lists the bases of platforms (every platform with a base
// when empty) called names (every base of each platform when empty;
// schema.DefaultBaseName is the default base): a platform's default base
// first, then its named bases by name. A platform, or a name, given
// explicitly that selects no base is an error naming the fix; with
// platforms and names both given, every pair must have a base.
func (c *Config) SelectBases(platforms, names []string) ([]BaseSel, error) {
	for _, n := range names {
		if n == schema.DefaultBaseName {
			continue
		}
		if _, ok := c.NamedBases[n]; !ok {
			return nil, fmt.Errorf("no named base %q in %s (named_bases: %s); add named_bases.%s to it, or use %s or one of those", n, c.Path, orNone(c.Names()), n, schema.DefaultBaseName)
		}
	}
	explicit := len(platforms) > 0
	if !explicit {
		platforms = c.AllPlatforms()
	}
	var out []BaseSel
	for _, p := range platforms {
		have := c.BaseNames(p)
		if explicit && len(have) == 0 {
			_, err := c.Base(p)
			return nil, err
		}
		for _, n := range have {
			if len(names) > 0 && !slices.Contains(names, n) {
				continue
			}
			if s := (BaseSel{p, n}); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		if explicit {
			for _, n := range names {
				if !slices.Contains(have, n) {
					_, err := c.NamedBase(n, p)
					return nil, err
				}
			}
		}
	}
	if len(out) == 0 && len(names) > 0 {
		return nil, fmt.Errorf("no platform has the base %s in %s; add bases.PLATFORM to it", strings.Join(names, ", "), c.Path)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
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
// its key is computed from. Name is empty for a platform's default base,
// so the keys of default bases are what they were before named bases
// existed (and their cache directories are reused); a named base's name is
// part of its key.
type resolvedBase struct {
	Format      int                `json:"format"`
	Platform    string             `json:"platform"`
	Name        string             `json:"name,omitempty"` // a named base's name; "" for the default
	Debootstrap *DebootstrapConfig `json:"debootstrap,omitempty"`
	RootfsFile  string             `json:"rootfs_file,omitempty"`   // absolute path of a tarball
	RootfsSHA   string             `json:"rootfs_sha256,omitempty"` // its content hash
	RootfsDir   string             `json:"rootfs_dir,omitempty"`    // absolute path of a directory
	RootfsTree  string             `json:"rootfs_tree,omitempty"`   // its TreeHash
}

// baseName is the name of r: schema.DefaultBaseName or a named base's.
func (r *resolvedBase) baseName() string {
	if r.Name == "" {
		return schema.DefaultBaseName
	}
	return r.Name
}

// resolve fills defaults (the mirror from the host's apt sources, sorted
// package lists) and hashes user-supplied root filesystems, for the base
// called name ("" or schema.DefaultBaseName: the default) of platform.
func (c *Config) resolve(platform, name string) (*resolvedBase, error) {
	b, err := c.NamedBase(name, platform)
	if err != nil {
		return nil, err
	}
	if name == schema.DefaultBaseName {
		name = ""
	}
	at := c.Path + ": " + field(platform, name)
	r := &resolvedBase{Format: baseFormat, Platform: platform, Name: name}
	if b.Debootstrap != nil {
		d := *b.Debootstrap
		d.Components = sortedUnique(d.Components)
		d.Include = sortedUnique(d.Include)
		if d.Mirror == "" {
			m, err := HostMirror(c.SourcesFiles, d.Suite, d.Arch)
			if err != nil {
				return nil, fmt.Errorf("%s.debootstrap.mirror: %w", at, err)
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
		return nil, fmt.Errorf("%s.rootfs: %w", at, err)
	}
	if st.IsDir() {
		h, err := TreeHash(p)
		if err != nil {
			return nil, fmt.Errorf("%s.rootfs: %w", at, err)
		}
		r.RootfsDir, r.RootfsTree = p, h
		return r, nil
	}
	h, err := fileSHA256(p)
	if err != nil {
		return nil, fmt.Errorf("%s.rootfs: %w", at, err)
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

// FindConfig returns the build configuration of the repository whose
// runtimes directory is runtimesDir: rtool.yaml in runtimesDir's parent,
// else in gitTop (the top of its git work tree; "" for none), else "".
func FindConfig(runtimesDir, gitTop string) string {
	cands := []string{filepath.Join(filepath.Dir(filepath.Clean(runtimesDir)), ConfigFile)}
	if gitTop != "" {
		cands = append(cands, filepath.Join(gitTop, ConfigFile))
	}
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// NamedBasePlatforms maps each named base to the platforms it has a base
// for, sorted: what rtool validate checks a manifest's build.base against.
func (c *Config) NamedBasePlatforms() map[string][]string {
	out := make(map[string][]string, len(c.NamedBases))
	for n, m := range c.NamedBases {
		out[n] = sortedKeys(m)
	}
	return out
}
