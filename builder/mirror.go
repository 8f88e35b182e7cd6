package builder

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// AptSource is one apt repository line (one-line format) or stanza (deb822).
type AptSource struct {
	File       string
	Types      []string // deb, deb-src
	URIs       []string
	Suites     []string
	Components []string
	Archs      []string // empty: every architecture
	Enabled    bool
}

// DefaultSourcesFiles lists the host's apt source files in the order apt
// reads them.
func DefaultSourcesFiles() []string {
	files := []string{"/etc/apt/sources.list"}
	var more []string
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		more = append(more, m...)
	}
	sort.Strings(more)
	return append(files, more...)
}

// ReadSources parses apt source files; missing files are skipped. Files
// ending in .sources are deb822, everything else one-line format.
func ReadSources(files []string) ([]AptSource, error) {
	var out []AptSource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
		if strings.HasSuffix(f, ".sources") {
			out = append(out, ParseDeb822Sources(f, data)...)
		} else {
			out = append(out, ParseOneLineSources(f, data)...)
		}
	}
	return out, nil
}

// ParseOneLineSources parses the classic sources.list format:
//
//	deb [arch=amd64 signed-by=...] http://deb.debian.org/debian bookworm main
func ParseOneLineSources(file string, data []byte) []AptSource {
	var out []AptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		s := AptSource{File: file, Types: []string{f[0]}, Enabled: true}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options run up to the token that ends with "]".
			var opts []string
			for len(f) > 0 {
				tok := f[0]
				f = f[1:]
				opts = append(opts, strings.Trim(tok, "[]"))
				if strings.HasSuffix(tok, "]") {
					break
				}
			}
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "arch="); ok {
					s.Archs = strings.Split(v, ",")
				}
			}
		}
		if len(f) < 2 {
			continue
		}
		s.URIs = []string{f[0]}
		s.Suites = []string{f[1]}
		s.Components = f[2:]
		out = append(out, s)
	}
	return out
}

// ParseDeb822Sources parses the deb822 .sources format (stanzas separated by
// blank lines; Types, URIs, Suites, Components, Architectures, Enabled).
func ParseDeb822Sources(file string, data []byte) []AptSource {
	var out []AptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) == 0 {
			return
		}
		s := AptSource{
			File:       file,
			Types:      words(fields["types"]),
			URIs:       words(fields["uris"]),
			Suites:     words(fields["suites"]),
			Components: words(fields["components"]),
			Archs:      words(fields["architectures"]),
			Enabled:    !strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no"),
		}
		out = append(out, s)
		fields = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" { // continuation line
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// HostMirror returns the URI of the first enabled binary ("deb") apt source
// of the host that serves suite for arch, read from files (nil: the host's
// default files). When the host has none (a Debian base built on an Ubuntu
// CI runner) a Debian or Ubuntu release name gets its project's official
// mirror; anything else fails, naming the fix.
func HostMirror(files []string, suite, arch string) (string, error) {
	if files == nil {
		files = DefaultSourcesFiles()
	}
	srcs, err := ReadSources(files)
	if err != nil {
		return "", err
	}
	if m, ok := pickMirror(srcs, suite, arch); ok {
		return m, nil
	}
	if m, ok := wellKnownMirror(suite, arch); ok {
		return m, nil
	}
	return "", fmt.Errorf("no apt source on this host serves suite %q for %s (searched %s); set mirror: to a URL such as http://deb.debian.org/debian", suite, arch, strings.Join(files, ", "))
}

func pickMirror(srcs []AptSource, suite, arch string) (string, bool) {
	for _, s := range srcs {
		if !s.Enabled || !slices.Contains(s.Types, "deb") || !slices.Contains(s.Suites, suite) {
			continue
		}
		if len(s.Archs) > 0 && !slices.Contains(s.Archs, arch) {
			continue
		}
		for _, u := range s.URIs {
			if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "file:") {
				return strings.TrimRight(u, "/"), true
			}
		}
	}
	return "", false
}

// words splits s at white space; nil when there is nothing.
func words(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

var (
	debianSuites = []string{"buster", "bullseye", "bookworm", "trixie", "forky", "sid", "oldstable", "stable", "testing", "unstable"}
	ubuntuSuites = []string{"focal", "jammy", "noble", "oracular", "plucky"}
)

// wellKnownMirror is the official mirror of a Debian or Ubuntu release.
func wellKnownMirror(suite, arch string) (string, bool) {
	switch {
	case slices.Contains(debianSuites, suite):
		return "http://deb.debian.org/debian", true
	case slices.Contains(ubuntuSuites, suite) && (arch == "amd64" || arch == "i386"):
		return "http://archive.ubuntu.com/ubuntu", true
	case slices.Contains(ubuntuSuites, suite):
		return "http://ports.ubuntu.com/ubuntu-ports", true
	}
	return "", false
}
