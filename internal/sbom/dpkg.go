package sbom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Files ReadDpkg reads below its directory (paths as in the chroot, without
// the leading slash).
const (
	StatusFile = "var/lib/dpkg/status"
	InfoDir    = "var/lib/dpkg/info"
	DocDir     = "usr/share/doc"
	// CanonicalDirsFile holds one line per directory named in a *.list file:
	// the directory, a tab, and its canonical path in the chroot (realpath
	// -m), so /lib/x86_64-linux-gnu/libc.so.6 of a merged-/usr system is
	// known to be /usr/lib/x86_64-linux-gnu/libc.so.6. Optional: a missing
	// directory is its own canonical form.
	CanonicalDirsFile = "canonical-dirs"
)

// OSReleaseFiles are where os-release is looked for, in order.
var OSReleaseFiles = []string{"etc/os-release", "usr/lib/os-release"}

// Distro is what os-release says about the chroot's distribution.
type Distro struct {
	ID        string // debian, ubuntu
	VersionID string // 12, 22.04
	Codename  string // bookworm
}

// Qualifier is the purl "distro" qualifier: ID-VERSION_ID (debian-12), or
// ID-CODENAME when there is no VERSION_ID (testing, sid), or "".
func (d Distro) Qualifier() string {
	switch {
	case d.ID == "":
		return ""
	case d.VersionID != "":
		return d.ID + "-" + d.VersionID
	case d.Codename != "":
		return d.ID + "-" + d.Codename
	}
	return ""
}

// DebPackage is one installed Debian package.
type DebPackage struct {
	Name          string
	Version       string
	Arch          string
	Source        string // source package (the package's own name when the status has no Source)
	SourceVersion string // the source package's version (the package's own when not given)
	Maintainer    string
	Homepage      string
	// Licenses are the distinct "License:" names of a machine-readable
	// (DEP-5) copyright file, in the order they first appear; nil when the
	// copyright file is missing or not machine-readable.
	Licenses []string
	// LicenseTexts maps a licence name to the text of its stand-alone
	// License paragraph in the copyright file, when there is one.
	LicenseTexts map[string]string
}

func (p *DebPackage) key() string { return p.Name + ":" + p.Arch }

// Dpkg is a chroot's package database: the installed packages and which
// package owns each path.
type Dpkg struct {
	Distro   Distro
	Packages []*DebPackage // sorted by name, then architecture
	owners   map[string][]*DebPackage
	canon    map[string]string
}

// ReadDpkg reads the copy of a chroot's package database below dir (see
// the constants for the files). The status file is required; a package
// without a *.list file owns nothing.
func ReadDpkg(dir string) (*Dpkg, error) {
	statusPath := filepath.Join(dir, filepath.FromSlash(StatusFile))
	data, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, fmt.Errorf("dpkg status: %w", err)
	}
	pkgs, err := parseStatus(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", statusPath, err)
	}
	d := &Dpkg{owners: map[string][]*DebPackage{}, canon: map[string]string{}}
	byKey := map[string]*DebPackage{}
	byName := map[string][]*DebPackage{}
	for _, p := range pkgs {
		byKey[p.key()] = p
		byName[p.Name] = append(byName[p.Name], p)
	}
	d.Packages = pkgs

	for _, name := range OSReleaseFiles {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err == nil {
			d.Distro = parseOSRelease(data)
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("os-release: %w", err)
		}
	}

	canonPath := filepath.Join(dir, CanonicalDirsFile)
	if data, err := os.ReadFile(canonPath); err == nil {
		for i, line := range strings.Split(string(data), "\n") {
			if line == "" {
				continue
			}
			from, to, ok := strings.Cut(line, "\t")
			if !ok || !path.IsAbs(from) || !path.IsAbs(to) {
				return nil, fmt.Errorf("%s:%d: want DIRECTORY<tab>CANONICAL, both absolute, got %q", canonPath, i+1, line)
			}
			d.canon[from] = path.Clean(to)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("canonical directories: %w", err)
	}

	lists, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(InfoDir), "*.list"))
	if err != nil {
		return nil, err
	}
	sort.Strings(lists)
	for _, lp := range lists {
		base := strings.TrimSuffix(filepath.Base(lp), ".list")
		var p *DebPackage
		if name, arch, ok := strings.Cut(base, ":"); ok {
			p = byKey[name+":"+arch]
		} else if c := byName[base]; len(c) == 1 {
			p = c[0]
		}
		if p == nil {
			continue // a list left by a removed package (status config-files)
		}
		data, err := os.ReadFile(lp)
		if err != nil {
			return nil, fmt.Errorf("dpkg file list: %w", err)
		}
		for _, f := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(f, "/") || f == "/." || f == "/" {
				continue
			}
			f = path.Clean(f)
			d.own(f, p)
			if c := d.Canonical(f); c != f {
				d.own(c, p)
			}
		}
	}

	for _, p := range pkgs {
		cp := filepath.Join(dir, filepath.FromSlash(DocDir), p.Name, "copyright")
		data, err := os.ReadFile(cp)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("copyright of %s: %w", p.Name, err)
		}
		p.Licenses, p.LicenseTexts = parseCopyright(data)
	}
	return d, nil
}

func (d *Dpkg) own(f string, p *DebPackage) {
	for _, q := range d.owners[f] {
		if q == p {
			return
		}
	}
	d.owners[f] = append(d.owners[f], p)
}

// Canonical returns p with its directory replaced by the directory's
// canonical form (the longest directory prefix the canonical-dirs file
// names), as the chroot resolves it.
func (d *Dpkg) Canonical(p string) string {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	for probe := dir; ; probe = path.Dir(probe) {
		if c, ok := d.canon[probe]; ok {
			return path.Join(c, strings.TrimPrefix(dir, probe), base)
		}
		if probe == "/" || probe == "." {
			return p
		}
	}
}

// Owners returns the packages whose file lists hold p (as written there or
// canonical).
func (d *Dpkg) Owners(p string) []*DebPackage {
	if o := d.owners[p]; o != nil {
		return o
	}
	return d.owners[d.Canonical(p)]
}

// paragraphs splits deb822 text (dpkg status, DEP-5 copyright files) into
// paragraphs of fields; a field's continuation lines are joined with "\n"
// after dropping their first space.
func paragraphs(data []byte) [][]field {
	var out [][]field
	var cur []field
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) > 0 {
				cur[len(cur)-1].cont = append(cur[len(cur)-1].cont, line[1:])
			}
		case line[0] == '#':
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			cur = append(cur, field{name: strings.ToLower(strings.TrimSpace(name)), value: strings.TrimSpace(value)})
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

type field struct {
	name  string // lower case
	value string // first line
	cont  []string
}

func get(par []field, name string) (field, bool) {
	for _, f := range par {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func value(par []field, name string) string {
	f, _ := get(par, name)
	return f.value
}

// parseStatus returns the installed packages of a dpkg status file
// (Status "... installed"), sorted by name and architecture.
func parseStatus(data []byte) ([]*DebPackage, error) {
	var out []*DebPackage
	for _, par := range paragraphs(data) {
		name := value(par, "package")
		if name == "" {
			continue
		}
		st := strings.Fields(value(par, "status"))
		if len(st) != 3 || st[2] != "installed" {
			continue
		}
		p := &DebPackage{Name: name, Version: value(par, "version"), Arch: value(par, "architecture"),
			Maintainer: value(par, "maintainer"), Homepage: value(par, "homepage")}
		if p.Version == "" || p.Arch == "" {
			return nil, fmt.Errorf("package %s has no Version or Architecture", name)
		}
		p.Source, p.SourceVersion = p.Name, p.Version
		if src := value(par, "source"); src != "" {
			s, v, ok := strings.Cut(src, " ")
			p.Source = s
			if ok {
				p.SourceVersion = strings.Trim(strings.TrimSpace(v), "()")
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Arch < out[j].Arch
	})
	return out, nil
}

// parseOSRelease reads ID, VERSION_ID and VERSION_CODENAME.
func parseOSRelease(data []byte) Distro {
	var d Distro
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.ID = strings.ToLower(v)
		case "VERSION_ID":
			d.VersionID = v
		case "VERSION_CODENAME":
			d.Codename = v
		}
	}
	return d
}

// parseCopyright returns the licence names of a machine-readable (DEP-5)
// copyright file (the first line of every License field, distinct, in
// order of appearance) and the texts of its stand-alone License
// paragraphs. A file whose first paragraph has no Format field is not
// machine-readable: nil, nil.
func parseCopyright(data []byte) ([]string, map[string]string) {
	pars := paragraphs(data)
	if len(pars) == 0 {
		return nil, nil
	}
	if _, ok := get(pars[0], "format"); !ok {
		if _, ok := get(pars[0], "format-specification"); !ok {
			return nil, nil
		}
	}
	var names []string
	seen := map[string]bool{}
	texts := map[string]string{}
	for i, par := range pars {
		f, ok := get(par, "license")
		if !ok || f.value == "" {
			continue
		}
		if !seen[f.value] {
			seen[f.value] = true
			names = append(names, f.value)
		}
		_, hasFiles := get(par, "files")
		if i > 0 && !hasFiles && len(f.cont) > 0 {
			if _, dup := texts[f.value]; !dup {
				lines := make([]string, len(f.cont))
				for j, l := range f.cont {
					if strings.TrimSpace(l) == "." {
						l = ""
					}
					lines[j] = l
				}
				texts[f.value] = strings.TrimSpace(strings.Join(lines, "\n"))
			}
		}
	}
	return names, texts
}
