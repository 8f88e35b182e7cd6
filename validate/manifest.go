package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
	"gopkg.in/yaml.v3"
)

// ManifestFile is the manifest's file name inside a runtime directory.
const ManifestFile = "manifest.yaml"

// manifestResult is what the directory checks need from the manifest.
type manifestResult struct {
	// platformsOK: platforms is a non-empty list, so platforms below are
	// what the manifest declares (entries that are not known platforms are
	// left out and reported on their own).
	platformsOK bool
	platforms   []platformRef // declared, well-formed platforms, first occurrence only
	// buildBase is build.base when it is a well-formed base name: whether
	// the build configuration has it is checked with Options.Bases.
	buildBase *yaml.Node
}

type platformRef struct {
	name string
	node *yaml.Node
}

// sink collects diagnostics for one file.
type sink struct {
	file string
	ds   []Diagnostic
}

func (s *sink) add(line, col int, rule, msg, hint string) {
	s.ds = append(s.ds, Diagnostic{File: s.file, Line: line, Column: col, Rule: rule, Severity: severityOf(rule), Message: msg, Hint: hint})
}

func (s *sink) at(n *yaml.Node, rule, msg, hint string) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	s.add(line, col, rule, msg, hint)
}

func (s *sink) errors() int {
	n := 0
	for _, d := range s.ds {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// CheckManifest checks manifest YAML read from file, for a runtime whose
// directory is named dirName ("" skips the directory-name rule). It never
// panics on any input.
func CheckManifest(file string, data []byte, dirName string) []Diagnostic {
	ds, _ := checkManifest(file, data, dirName)
	sortDiagnostics(ds)
	return ds
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?:\s*`)

// yamlErrorPos extracts the first "line N[, column M]" of a yaml.v3 error
// and returns the message without the "yaml: " prefix and that position.
func yamlErrorPos(err error) (line, col int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		if m[4] >= 0 {
			col, _ = strconv.Atoi(msg[m[4]:m[5]])
		}
		if m[0] == 0 {
			msg = msg[m[1]:]
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	return line, col, msg
}

func checkManifest(file string, data []byte, dirName string) ([]Diagnostic, manifestResult) {
	s := &sink{file: file}
	var res manifestResult

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			s.add(1, 1, RuleManifestNotMapping, "manifest.yaml is empty; it must be a mapping with name, version, description and platforms",
				"see schema/manifest.schema.json or an existing runtime for the keys")
			return s.ds, res
		}
		line, col, msg := yamlErrorPos(err)
		s.add(line, col, RuleManifestYAML, "invalid YAML: "+msg, "fix the YAML syntax (indentation, quoting, a missing colon)")
		return s.ds, res
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		s.at(&next, RuleManifestDocuments, "manifest.yaml has more than one YAML document; a manifest is a single document",
			"remove the --- separator and merge or delete the extra document")
	case errors.Is(err, io.EOF):
	default:
		line, col, msg := yamlErrorPos(err)
		s.add(line, col, RuleManifestYAML, "invalid YAML: "+msg, "fix the YAML syntax (indentation, quoting, a missing colon)")
	}

	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	if root == nil || root.Kind != yaml.MappingNode {
		what := "empty"
		if root != nil && root.Kind != yaml.DocumentNode {
			what = describe(root)
		}
		s.at(positioned(root, &doc), RuleManifestNotMapping,
			fmt.Sprintf("manifest.yaml is %s; it must be a mapping with name, version, description and platforms", what),
			"write one key per line, for example name: python-3.11")
		return s.ds, res
	}
	checkDuplicates(s, root, 0)
	keys := topLevelKeys(root)

	checkName(s, root, keys, dirName)
	checkVersion(s, root, keys)
	checkDescription(s, root, keys)
	res.platforms, res.platformsOK = checkPlatforms(s, root, keys)
	checkPackages(s, keys)
	checkSmoke(s, keys)
	res.buildBase = checkBuild(s, keys)

	// Whatever the rules above do not cover (for example a bad !!binary or
	// an unreadable key in an extra field) still stops rtool's own decoder.
	if s.errors() == 0 {
		// Decoding the parsed node is what schema.ParseManifest does after
		// parsing (FuzzParseManifest holds the two to the same verdict).
		var m schema.Manifest
		if err := doc.Decode(&m); err != nil {
			line, col, msg := yamlErrorPos(err)
			if line == 0 {
				line, col = root.Line, root.Column
			}
			s.add(line, col, RuleManifestYAML, "rtool cannot decode manifest.yaml: "+msg, "use plain YAML scalars, lists and mappings")
		}
	}
	return s.ds, res
}

func positioned(n, fallback *yaml.Node) *yaml.Node {
	if n != nil && n.Line > 0 {
		return n
	}
	if fallback.Line > 0 {
		return fallback
	}
	return &yaml.Node{Line: 1, Column: 1}
}

// deref follows aliases (bounded, so a malformed graph cannot loop).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// describe names the YAML type of n for messages: "a string", "a list", ...
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "an unresolvable alias"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "empty (null)"
		case "!!timestamp":
			return "a timestamp"
		case "!!binary":
			return "binary data"
		default:
			return "a " + n.ShortTag() + " value"
		}
	}
	return "an unknown node"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isString(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
}

// checkDuplicates reports every key that repeats within a mapping, at any
// depth. Aliases are not followed (their target is checked where defined).
func checkDuplicates(s *sink, n *yaml.Node, depth int) {
	if n == nil || depth > 1000 {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				continue
			}
			if first, ok := seen[k.Value]; ok {
				s.at(k, RuleManifestDuplicateKey,
					fmt.Sprintf("key %q is defined twice (first at line %d)", k.Value, first.Line),
					"keep one of the two; YAML decoders disagree on which one wins")
				continue
			}
			seen[k.Value] = k
		}
	}
	for _, c := range n.Content {
		checkDuplicates(s, c, depth+1)
	}
}

// keyValue is one top-level entry.
type keyValue struct {
	key, value *yaml.Node
}

// topLevelKeys returns the first occurrence of every scalar key of m, with
// YAML merge keys (<<: *anchor) applied the way the decoder applies them:
// explicit keys win over merged ones.
func topLevelKeys(m *yaml.Node) map[string]keyValue {
	keys := map[string]keyValue{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, v)
			continue
		}
		if _, ok := keys[k.Value]; !ok {
			keys[k.Value] = keyValue{k, v}
		}
	}
	for _, v := range merged {
		v = deref(v)
		if v == nil {
			continue
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			src = deref(src)
			if src == nil || src.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				k := src.Content[i]
				if k.Kind != yaml.ScalarNode {
					continue
				}
				if _, ok := keys[k.Value]; !ok {
					keys[k.Value] = keyValue{k, src.Content[i+1]}
				}
			}
		}
	}
	return keys
}

// required returns the value of a required key, or reports it and returns nil.
func required(s *sink, root *yaml.Node, keys map[string]keyValue, key, example string) *keyValue {
	kv, ok := keys[key]
	if !ok {
		s.at(root, RuleManifestRequired, fmt.Sprintf("manifest has no %q", key), "add "+example)
		return nil
	}
	if isNull(kv.value) {
		s.at(kv.key, RuleManifestRequired, fmt.Sprintf("%q has no value", key), "write "+example)
		return nil
	}
	return &kv
}

// requiredString returns the trimmed string value of a required key, or
// reports what is wrong and returns false.
func requiredString(s *sink, root *yaml.Node, keys map[string]keyValue, key, example string) (string, *yaml.Node, bool) {
	kv := required(s, root, keys, key, example)
	if kv == nil {
		return "", nil, false
	}
	v := deref(kv.value)
	if !isString(v) {
		s.at(v, RuleManifestType, fmt.Sprintf("%q must be a string, not %s", key, describe(v)), "write "+example)
		return "", nil, false
	}
	if strings.TrimSpace(v.Value) == "" {
		s.at(v, RuleManifestRequired, fmt.Sprintf("%q is empty", key), "write "+example)
		return "", nil, false
	}
	return v.Value, v, true
}

func checkName(s *sink, root *yaml.Node, keys map[string]keyValue, dirName string) {
	name, n, ok := requiredString(s, root, keys, "name", "name: <directory name>, for example name: python-3.11")
	if !ok {
		return
	}
	if err := schema.CheckName(name); err != nil {
		s.at(n, RuleNameFormat, err.Error(), "a name is lowercase letters, digits, dots and hyphens, for example python-3.11-ml")
	}
	if dirName != "" && name != dirName {
		s.at(n, RuleNameDirMismatch, fmt.Sprintf("name %q differs from the directory name %q", name, dirName),
			fmt.Sprintf("rename the directory to %s or write name: %s", name, dirName))
	}
}

func checkVersion(s *sink, root *yaml.Node, keys map[string]keyValue) {
	kv := required(s, root, keys, "version", "version: 1.0.0")
	if kv == nil {
		return
	}
	v := deref(kv.value)
	if v == nil || v.Kind != yaml.ScalarNode {
		s.at(v, RuleManifestType, fmt.Sprintf("\"version\" must be a string, not %s", describe(v)), "write version: 1.0.0")
		return
	}
	switch v.ShortTag() {
	case "!!str":
		if err := schema.CheckVersion(v.Value); err != nil {
			s.at(v, RuleVersionFormat, err.Error(), "use semantic versioning MAJOR.MINOR.PATCH without a v prefix, for example 1.3.2")
		}
	case "!!int", "!!float":
		msg := fmt.Sprintf("version %s is read by YAML as a number", v.Value)
		fix := "1.0.0"
		if err := schema.CheckVersion(v.Value); err != nil {
			msg = fmt.Sprintf("version %s is read by YAML as a number and %s", v.Value, versionProblem(err, v.Value))
		}
		if p := strings.Split(v.Value, "."); len(p) == 2 && p[0] != "" && p[1] != "" {
			fix = v.Value + ".0"
		} else if len(p) == 1 && strings.Trim(v.Value, "0123456789") == "" {
			fix = v.Value + ".0.0"
		}
		s.at(v, RuleVersionFormat, msg, fmt.Sprintf("quote it and write the full version: version: %q", fix))
	default:
		s.at(v, RuleManifestType, fmt.Sprintf("\"version\" must be a string, not %s", describe(v)), "write version: 1.0.0")
	}
}

// versionProblem turns schema.CheckVersion's sentence about v into the part
// after the quoted version ("lacks a patch number; write 1.0.0").
func versionProblem(err error, v string) string {
	msg := err.Error()
	prefix := fmt.Sprintf("version %q ", v)
	if strings.HasPrefix(msg, prefix) {
		return msg[len(prefix):]
	}
	return "is not semantic versioning: " + msg
}

func checkDescription(s *sink, root *yaml.Node, keys map[string]keyValue) {
	requiredString(s, root, keys, "description", "description: <one line saying what the runtime holds>")
}

func allPlatforms() string {
	var ps []string
	for _, os := range schema.KnownOS {
		for _, arch := range schema.KnownArch {
			ps = append(ps, os+"-"+arch)
		}
	}
	return strings.Join(ps, ", ")
}

func checkPlatforms(s *sink, root *yaml.Node, keys map[string]keyValue) ([]platformRef, bool) {
	kv := required(s, root, keys, "platforms", "platforms: [ubuntu-amd64, ubuntu-arm64]")
	if kv == nil {
		return nil, false
	}
	v := deref(kv.value)
	if v == nil || v.Kind != yaml.SequenceNode {
		hint := "write a list, one platform per line: platforms:\\n  - ubuntu-amd64"
		if isString(v) {
			hint = fmt.Sprintf("write a list: platforms: [%s]", v.Value)
		}
		s.at(v, RuleManifestType, fmt.Sprintf("\"platforms\" must be a list of platforms, not %s", describe(v)), hint)
		return nil, false
	}
	if len(v.Content) == 0 {
		s.at(v, RuleManifestRequired, "\"platforms\" is empty; a runtime builds for at least one platform", "list platforms such as ubuntu-amd64")
		return nil, false
	}
	var out []platformRef
	seen := map[string]*yaml.Node{}
	for _, item := range v.Content {
		p := deref(item)
		if !isString(p) {
			s.at(positioned(p, item), RuleManifestType, fmt.Sprintf("platform must be a string, not %s", describe(p)), "write platforms as <os>-<arch>, for example ubuntu-amd64")
			continue
		}
		if _, err := schema.ParsePlatform(p.Value); err != nil {
			s.at(p, RulePlatformUnknown, err.Error(), platformHint(p.Value))
			continue
		}
		if first, ok := seen[p.Value]; ok {
			s.at(p, RulePlatformDuplicate, fmt.Sprintf("platform %q is listed twice (first at line %d)", p.Value, first.Line), "remove the repeated entry")
			continue
		}
		seen[p.Value] = p
		out = append(out, platformRef{p.Value, p})
	}
	return out, true
}

// platformAliases maps common spellings to rtool's os and arch names.
var platformAliases = map[string]string{
	"x86_64": "amd64", "x86-64": "amd64", "x64": "amd64", "aarch64": "arm64", "arm": "arm64", "armv8": "arm64",
	"centos": "rhel", "rocky": "rhel", "rockylinux": "rhel", "alma": "rhel", "almalinux": "rhel", "redhat": "rhel", "fedora": "rhel",
	"amazon": "amzn", "amazonlinux": "amzn", "al2": "amzn", "al2023": "amzn", "amzn2": "amzn",
}

// suggestPlatform guesses the platform a misspelt one means, or "".
func suggestPlatform(p string) string {
	p = strings.ToLower(p)
	i := strings.Index(p, "-")
	if i < 0 {
		return ""
	}
	os, arch := p[:i], p[i+1:]
	if a, ok := platformAliases[os]; ok {
		os = a
	}
	if a, ok := platformAliases[arch]; ok {
		arch = a
	}
	if _, err := schema.ParsePlatform(os + "-" + arch); err != nil {
		return ""
	}
	return os + "-" + arch
}

func platformHint(p string) string {
	if s := suggestPlatform(p); s != "" {
		return "did you mean " + s + "? known platforms: " + allPlatforms()
	}
	return "known platforms: " + allPlatforms()
}

const (
	stylePip = "pip style (name==version)"
	styleNpm = "npm style (name@version)"
)

var (
	pipPackageRE = regexp.MustCompile(schema.PipPackagePattern)
	npmPackageRE = regexp.MustCompile(schema.NpmPackagePattern)
	pipNormRE    = regexp.MustCompile(`[-_.]+`)
)

// packageStyle parses one packages entry. It returns the style and the
// normalised package name, or a reason why the entry is malformed.
func packageStyle(p string) (style, name, problem string) {
	switch {
	case strings.Contains(p, "=="):
		m := pipPackageRE.FindStringSubmatch(p)
		if m == nil {
			return "", "", fmt.Sprintf("package %q is not name==version: the name is letters, digits, ., _ and -, the version has no spaces", p)
		}
		return stylePip, strings.ToLower(pipNormRE.ReplaceAllString(m[1], "-")), ""
	case strings.LastIndex(p, "@") > 0:
		m := npmPackageRE.FindStringSubmatch(p)
		if m == nil {
			return "", "", fmt.Sprintf("package %q is not name@version: the name is letters, digits, ., _ and - (optionally @scope/), the version has no spaces", p)
		}
		return styleNpm, m[1], ""
	case strings.ContainsAny(p, "<>=~!"):
		return "", "", fmt.Sprintf("package %q is not pinned to one version; write name==version or name@version", p)
	default:
		return "", "", fmt.Sprintf("package %q has no version; write name==version (pip style) or name@version (npm style)", p)
	}
}

func checkPackages(s *sink, keys map[string]keyValue) {
	kv, ok := keys["packages"]
	if !ok || isNull(kv.value) {
		return
	}
	v := deref(kv.value)
	if v.Kind != yaml.SequenceNode {
		s.at(v, RuleManifestType, fmt.Sprintf("\"packages\" must be a list, not %s", describe(v)), "write packages:\\n  - numpy==1.26.2")
		return
	}
	var style string
	var styleNode *yaml.Node
	seen := map[string]*yaml.Node{}
	for _, item := range v.Content {
		p := deref(item)
		if !isString(p) {
			s.at(positioned(p, item), RuleManifestType, fmt.Sprintf("package must be a string, not %s", describe(p)), "write name==version or name@version")
			continue
		}
		st, name, problem := packageStyle(p.Value)
		if problem != "" {
			s.at(p, RulePackagesFormat, problem, "for example numpy==1.26.2 (pip) or typescript@5.3.3 (npm)")
			continue
		}
		if style == "" {
			style, styleNode = st, p
		} else if st != style {
			s.at(p, RulePackagesMixedStyle,
				fmt.Sprintf("package %q is %s but this manifest's packages use %s (line %d)", p.Value, st, style, styleNode.Line),
				"use one style for every entry of packages")
			continue
		}
		if first, ok := seen[name]; ok {
			s.at(p, RulePackagesDuplicate, fmt.Sprintf("package %q is listed twice (first at line %d)", name, first.Line), "keep one entry per package")
			continue
		}
		seen[name] = p
	}
}

var smokeKeys = map[string]bool{"name": true, "command": true, "expect": true, "exit_code": true}

var keySuggestions = map[string]string{
	"exitcode": "exit_code", "exit-code": "exit_code", "exit": "exit_code", "code": "exit_code", "status": "exit_code",
	"cmd": "command", "run": "command", "commands": "command", "args": "command",
	"expected": "expect", "output": "expect", "stdout": "expect",
	"label": "name", "title": "name",
	"time_limit": "timeout", "time-limit": "timeout",
}

func unknownKeyHint(key string, known []string) string {
	if s, ok := keySuggestions[strings.ToLower(key)]; ok {
		for _, k := range known {
			if k == s {
				return fmt.Sprintf("did you mean %s? known keys: %s", s, strings.Join(known, ", "))
			}
		}
	}
	return "known keys: " + strings.Join(known, ", ")
}

func checkSmoke(s *sink, keys map[string]keyValue) {
	kv, ok := keys["smoke"]
	if !ok || isNull(kv.value) {
		return
	}
	v := deref(kv.value)
	if v.Kind != yaml.SequenceNode {
		s.at(v, RuleManifestType, fmt.Sprintf("\"smoke\" must be a list of tests, not %s", describe(v)),
			"write smoke:\\n  - name: version\\n    command: [python3, --version]")
		return
	}
	names := map[string]*yaml.Node{}
	known := []string{"name", "command", "expect", "exit_code"}
	for i, item := range v.Content {
		t := deref(item)
		if t == nil || t.Kind != yaml.MappingNode {
			s.at(positioned(t, item), RuleManifestType, fmt.Sprintf("smoke test %d must be a mapping with name and command, not %s", i+1, describe(t)),
				"write - name: version\\n    command: [python3, --version]")
			continue
		}
		fields := topLevelKeys(t)
		label := fmt.Sprintf("smoke test %d", i+1)
		if f, ok := fields["name"]; !ok || isNull(f.value) {
			s.at(t, RuleSmokeName, label+" has no name", "add name: <short label>")
		} else if n := deref(f.value); !isString(n) {
			s.at(n, RuleManifestType, fmt.Sprintf("%s: name must be a string, not %s", label, describe(n)), "quote the name")
		} else if strings.TrimSpace(n.Value) == "" {
			s.at(n, RuleSmokeName, label+" has an empty name", "add name: <short label>")
		} else if first, ok := names[n.Value]; ok {
			s.at(n, RuleSmokeName, fmt.Sprintf("smoke test name %q is used twice (first at line %d)", n.Value, first.Line), "give every smoke test its own name")
		} else {
			names[n.Value] = n
			label = fmt.Sprintf("smoke test %q", n.Value)
		}
		for j := 0; j+1 < len(t.Content); j += 2 {
			k := t.Content[j]
			if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" && !smokeKeys[k.Value] {
				s.at(k, RuleSmokeUnknownKey, fmt.Sprintf("%s has unknown key %q", label, k.Value), unknownKeyHint(k.Value, known))
			}
		}
		checkSmokeCommand(s, t, fields, label)
		if f, ok := fields["expect"]; ok && !isNull(f.value) && !isString(f.value) {
			n := deref(f.value)
			s.at(positioned(n, f.key), RuleManifestType, fmt.Sprintf("%s: expect must be a string, not %s", label, describe(n)), "quote the expected text")
		}
		if f, ok := fields["exit_code"]; ok && !isNull(f.value) {
			n := deref(f.value)
			var code int64
			if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&code) != nil || code < 0 || code > 255 {
				s.at(positioned(n, f.key), RuleSmokeExitCode, fmt.Sprintf("%s: exit_code must be an integer from 0 to 255, not %s", label, scalarOrKind(n)), "write exit_code: 0")
			}
		}
	}
}

func scalarOrKind(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return describe(n)
}

func checkSmokeCommand(s *sink, t *yaml.Node, fields map[string]keyValue, label string) {
	f, ok := fields["command"]
	if !ok || isNull(f.value) {
		s.at(t, RuleSmokeCommand, label+" has no command", "add command: [python3, --version] (the argv; no shell)")
		return
	}
	c := deref(f.value)
	if c == nil || c.Kind != yaml.SequenceNode {
		hint := "write the argv as a list: command: [python3, --version]"
		if isString(c) {
			hint = fmt.Sprintf("write the argv as a list: command: [%s]", strings.Join(strings.Fields(c.Value), ", "))
		}
		s.at(positioned(c, f.key), RuleSmokeCommand, fmt.Sprintf("%s: command must be a list of strings, not %s", label, describe(c)), hint)
		return
	}
	if len(c.Content) == 0 {
		s.at(c, RuleSmokeCommand, label+": command is empty", "write command: [python3, --version]")
		return
	}
	for j, a := range c.Content {
		an := deref(a)
		if an == nil || an.Kind != yaml.ScalarNode || isNull(an) {
			s.at(positioned(an, a), RuleSmokeCommand, fmt.Sprintf("%s: command argument %d must be a string, not %s", label, j+1, describe(an)), "quote each argument")
			continue
		}
		if j == 0 && strings.TrimSpace(an.Value) == "" {
			s.at(an, RuleSmokeCommand, label+": the program (first command element) is empty", "name the program, for example python3")
		}
	}
}

// buildKeys are the keys of build rtool reads.
var buildKeys = []string{"timeout", "base"}

// checkBuild checks rtool's build settings and returns the build.base node
// when it is a well-formed base name.
func checkBuild(s *sink, keys map[string]keyValue) *yaml.Node {
	kv, ok := keys["build"]
	if !ok || isNull(kv.value) {
		return nil
	}
	b := deref(kv.value)
	if b.Kind != yaml.MappingNode {
		s.at(b, RuleManifestType, fmt.Sprintf("\"build\" must be a mapping, not %s", describe(b)), "write build:\\n  timeout: 20m")
		return nil
	}
	fields := topLevelKeys(b)
	for i := 0; i+1 < len(b.Content); i += 2 {
		k := b.Content[i]
		if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" && !slices.Contains(buildKeys, k.Value) {
			s.at(k, RuleBuildUnknownKey, fmt.Sprintf("build has unknown key %q", k.Value), unknownKeyHint(k.Value, buildKeys))
		}
	}
	checkBuildTimeout(s, fields)
	return checkBuildBase(s, fields)
}

func checkBuildTimeout(s *sink, fields map[string]keyValue) {
	f, ok := fields["timeout"]
	if !ok || isNull(f.value) {
		return
	}
	n := deref(f.value)
	if !isString(n) {
		s.at(positioned(n, f.key), RuleBuildTimeout, fmt.Sprintf("build.timeout must be a duration string such as 20m, not %s", scalarOrKind(n)), "write timeout: 20m (units: s, m, h)")
		return
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		s.at(n, RuleBuildTimeout, fmt.Sprintf("build.timeout %q is not a Go duration", n.Value), "write timeout: 20m (units: s, m, h)")
	case d <= 0:
		s.at(n, RuleBuildTimeout, fmt.Sprintf("build.timeout %q must be positive", n.Value), "write timeout: 20m (units: s, m, h)")
	}
}

// buildBaseHint is the fix of a build.base that is not a base name.
const buildBaseHint = "name a base of rtool.yaml's named_bases, such as base: trixie, or remove build.base to build on each platform's default base"

// checkBuildBase checks the form of build.base (a base name, see
// schema.CheckBaseName) and returns its node when it is well-formed.
func checkBuildBase(s *sink, fields map[string]keyValue) *yaml.Node {
	f, ok := fields["base"]
	if !ok || isNull(f.value) {
		return nil
	}
	n := deref(f.value)
	if !isString(n) {
		s.at(positioned(n, f.key), RuleBuildBase, fmt.Sprintf("build.base must be the name of a base, not %s", scalarOrKind(n)), buildBaseHint)
		return nil
	}
	if err := schema.CheckBaseName(n.Value); err != nil {
		hint := buildBaseHint
		if n.Value == schema.DefaultBaseName {
			hint = "remove build.base to build on each platform's default base (rtool.yaml's bases)"
		}
		s.at(n, RuleBuildBase, "build.base "+err.Error(), hint) // build.base "Trixie" is not ..., build.base is empty; ...
		return nil
	}
	return n
}

// checkBuildBaseExists reports a build.base (node) that the build
// configuration bases does not have, or that lacks a base for one of the
// manifest's platforms.
func checkBuildBaseExists(file string, node *yaml.Node, platforms []platformRef, bases *Bases) []Diagnostic {
	names := make([]string, len(platforms))
	for i, p := range platforms {
		names[i] = p.name
	}
	problem, fix := schema.BuildBaseProblem(node.Value, names, bases.Named, bases.File)
	if problem == "" {
		return nil
	}
	return []Diagnostic{diag(file, node.Line, node.Column, RuleBuildBase, problem, fix)}
}
