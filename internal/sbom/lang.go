package sbom

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"path"
	"regexp"
	"strings"
)

// LangPackage is a pip or npm package found in the tree.
type LangPackage struct {
	Type    string // "pypi" or "npm"
	Name    string // as its metadata spells it (npm: with @scope/)
	Version string
	License string // SPDX expression or NoAssertion
	Path    string // its metadata file, relative to the tree
}

// isPythonMetadata reports whether rel is a Python distribution's metadata:
// NAME.dist-info/METADATA, NAME.egg-info/PKG-INFO or a NAME.egg-info file.
func isPythonMetadata(rel string) bool {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == "METADATA":
		return strings.HasSuffix(dir, ".dist-info")
	case base == "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info")
	}
	return strings.HasSuffix(base, ".egg-info")
}

// isNPMManifest reports whether rel is node_modules/NAME/package.json or
// node_modules/@SCOPE/NAME/package.json (at any depth).
func isNPMManifest(rel string) bool {
	parts := strings.Split(rel, "/")
	n := len(parts)
	if n < 3 || parts[n-1] != "package.json" {
		return false
	}
	if parts[n-3] == "node_modules" && !strings.HasPrefix(parts[n-2], "@") && !strings.HasPrefix(parts[n-2], ".") {
		return true
	}
	return n >= 4 && parts[n-4] == "node_modules" && strings.HasPrefix(parts[n-3], "@")
}

var classifierLicense = map[string]string{
	"License :: OSI Approved :: MIT License":                                         "MIT",
	"License :: OSI Approved :: MIT No Attribution License (MIT-0)":                  "MIT-0",
	"License :: OSI Approved :: BSD License":                                         "", // which BSD is not said
	"License :: OSI Approved :: Apache Software License":                             "Apache-2.0",
	"License :: OSI Approved :: ISC License (ISCL)":                                  "ISC",
	"License :: OSI Approved :: Python Software Foundation License":                  "PSF-2.0",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)":                "MPL-2.0",
	"License :: OSI Approved :: GNU General Public License v2 (GPLv2)":               "GPL-2.0-only",
	"License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)":     "GPL-2.0-or-later",
	"License :: OSI Approved :: GNU General Public License v3 (GPLv3)":               "GPL-3.0-only",
	"License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)":     "GPL-3.0-or-later",
	"License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)":       "LGPL-2.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)":       "LGPL-3.0-only",
	"License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)": "",
	"License :: OSI Approved :: The Unlicense (Unlicense)":                           "Unlicense",
	"License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication":                "CC0-1.0",
}

var pypiNameRE = regexp.MustCompile(`[-_.]+`)

// parsePythonMetadata reads Name, Version and the licence of a METADATA or
// PKG-INFO file: License-Expression (PEP 639), else the licence
// classifiers, else a one-line License field.
func parsePythonMetadata(data []byte, rel string, r refs) (*LangPackage, error) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(data))).ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	p := &LangPackage{Type: "pypi", Name: strings.TrimSpace(h.Get("Name")), Version: strings.TrimSpace(h.Get("Version")), Path: rel}
	if p.Name == "" || p.Version == "" {
		return nil, fmt.Errorf("%s: no Name or Version field", rel)
	}
	p.License = NoAssertion
	if e := strings.TrimSpace(h.Get("License-Expression")); e != "" {
		p.License = expression(e, r)
		return p, nil
	}
	var fromClassifiers []string
	for _, c := range h.Values("Classifier") {
		if id := classifierLicense[strings.TrimSpace(c)]; id != "" {
			fromClassifiers = append(fromClassifiers, id)
		}
	}
	if len(fromClassifiers) > 0 {
		// several licence classifiers mean a choice
		exprs := map[string]bool{}
		var list []string
		for _, id := range fromClassifiers {
			if !exprs[id] {
				exprs[id] = true
				list = append(list, id)
			}
		}
		if len(list) == 1 {
			p.License = list[0]
		} else {
			p.License = strings.Join(list, " OR ")
		}
		return p, nil
	}
	// a License field that holds a whole licence text says nothing usable
	if l := strings.TrimSpace(h.Get("License")); l != "" && len(l) <= 80 && !strings.ContainsAny(l, "\n\r") {
		p.License = expression(l, r)
	}
	return p, nil
}

// parseNPMManifest reads name, version and license ("MIT", an SPDX
// expression; or the old {"type": ...} and "licenses": [...] forms).
func parseNPMManifest(data []byte, rel string, r refs) (*LangPackage, error) {
	var m struct {
		Name     string          `json:"name"`
		Version  string          `json:"version"`
		License  json.RawMessage `json:"license"`
		Licenses []struct {
			Type string `json:"type"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if m.Name == "" || m.Version == "" {
		return nil, fmt.Errorf("%s: no name or version", rel)
	}
	p := &LangPackage{Type: "npm", Name: m.Name, Version: m.Version, License: NoAssertion, Path: rel}
	var lic string
	var obj struct {
		Type string `json:"type"`
	}
	switch {
	case len(m.License) == 0:
	case json.Unmarshal(m.License, &lic) == nil:
	case json.Unmarshal(m.License, &obj) == nil:
		lic = obj.Type
	}
	if lic == "" && len(m.Licenses) > 0 {
		var alts []string
		for _, l := range m.Licenses {
			if l.Type != "" {
				alts = append(alts, paren(expression(l.Type, r)))
			}
		}
		lic = strings.Join(alts, " OR ")
	}
	if lic != "" && !strings.HasPrefix(strings.ToUpper(lic), "SEE LICENSE IN") && !strings.EqualFold(lic, "UNLICENSED") {
		p.License = expression(lic, r)
	}
	return p, nil
}

// pypiName is the normalized PyPI name (PEP 503) purls use.
func pypiName(name string) string {
	return strings.ToLower(pypiNameRE.ReplaceAllString(name, "-"))
}
