package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

// want is one expected diagnostic of a rule case. File is relative to the
// case's root directory. Message must match exactly unless MessagePrefix is
// set (for messages that depend on the environment, such as whether git
// tracks the file).
type want struct {
	File          string
	Line, Column  int
	Rule          string
	Message       string
	MessagePrefix bool
}

// ruleCase is one broken runtime under testdata/rules/<name>/ (a root with
// one runtime directory) and every diagnostic it must produce.
type ruleCase struct {
	name string
	want []want
	// shellcheck runs the case with shellcheck (the test needs it installed).
	shellcheck bool
	// noRuntime: the case's root holds no runtime (findings about the root
	// itself come first in want).
	noRuntime bool
	// bases is the build configuration the case validates against (nil:
	// none found, so build.base is checked for its form only).
	bases *Bases
}

// ruleBases is the build configuration of the build.base cases.
var ruleBases = &Bases{File: "/repo/rtool.yaml", Named: map[string][]string{"trixie": {"ubuntu-amd64"}, "noble": {"ubuntu-amd64", "ubuntu-arm64"}}}

var ruleCases = []ruleCase{
	{name: "valid"},
	{name: "manifest-missing", want: []want{
		{"demo/manifest.yaml", 0, 0, RuleManifestMissing, "runtime demo has no manifest.yaml", false},
	}},
	{name: "manifest-yaml", want: []want{
		{"demo/manifest.yaml", 3, 0, RuleManifestYAML, "invalid YAML: found unexpected end of stream", false},
	}},
	{name: "manifest-documents", want: []want{
		{"demo/manifest.yaml", 6, 1, RuleManifestDocuments, "manifest.yaml has more than one YAML document; a manifest is a single document", false},
	}},
	{name: "manifest-not-mapping", want: []want{
		{"demo/manifest.yaml", 1, 1, RuleManifestNotMapping, "manifest.yaml is a list; it must be a mapping with name, version, description and platforms", false},
	}},
	{name: "manifest-empty", want: []want{
		{"demo/manifest.yaml", 1, 1, RuleManifestNotMapping, "manifest.yaml is empty; it must be a mapping with name, version, description and platforms", false},
	}},
	{name: "manifest-duplicate-key", want: []want{
		{"demo/manifest.yaml", 5, 1, RuleManifestDuplicateKey, `key "version" is defined twice (first at line 2)`, false},
	}},
	{name: "manifest-required", want: []want{
		{"demo/manifest.yaml", 1, 1, RuleManifestRequired, `manifest has no "description"`, false},
	}},
	{name: "manifest-required-empty", want: []want{
		{"demo/manifest.yaml", 3, 14, RuleManifestRequired, `"description" is empty`, false},
		{"demo/manifest.yaml", 4, 12, RuleManifestRequired, `"platforms" is empty; a runtime builds for at least one platform`, false},
	}},
	{name: "manifest-type", want: []want{
		{"demo/manifest.yaml", 4, 12, RuleManifestType, `"platforms" must be a list of platforms, not a string`, false},
	}},
	{name: "name-format", want: []want{
		{"demo_X/manifest.yaml", 1, 7, RuleNameFormat, `runtime name "demo_X" has uppercase letters; names are lowercase letters, digits, dots and hyphens, starting with a letter or digit; use "demo-x"`, false},
	}},
	{name: "name-dir-mismatch", want: []want{
		{"demo/manifest.yaml", 1, 7, RuleNameDirMismatch, `name "demo2" differs from the directory name "demo"`, false},
	}},
	{name: "version-format", want: []want{
		{"demo/manifest.yaml", 2, 10, RuleVersionFormat, `version "v1.0.0" has a "v" prefix; write "1.0.0"`, false},
	}},
	{name: "version-float", want: []want{
		{"demo/manifest.yaml", 2, 10, RuleVersionFormat, `version 1.0 is read by YAML as a number and lacks a patch number; write 1.0.0`, false},
	}},
	{name: "platform-unknown", want: []want{
		{"demo/manifest.yaml", 7, 5, RulePlatformUnknown, `platform "ubuntu-x86_64" is not <os>-<arch> with os one of ubuntu, debian, rhel, amzn and arch one of amd64, arm64 (for example debian-amd64)`, false},
	}},
	{name: "platform-duplicate", want: []want{
		{"demo/manifest.yaml", 7, 5, RulePlatformDuplicate, `platform "ubuntu-amd64" is listed twice (first at line 5)`, false},
	}},
	{name: "platform-setup-missing", want: []want{
		{"demo/manifest.yaml", 7, 5, RulePlatformSetupMissing, "platform debian-amd64 is declared but setup-debian-amd64.sh is missing", false},
	}},
	{name: "platform-setup-undeclared", want: []want{
		{"demo/setup-centos.sh", 1, 1, RulePlatformSetupUndeclared, `setup-centos.sh is for "centos", which is not a known platform`, false},
		{"demo/setup-rhel-arm64.sh", 1, 1, RulePlatformSetupUndeclared, "setup-rhel-arm64.sh is for platform rhel-arm64, which platforms does not declare", false},
	}},
	{name: "setup-missing", want: []want{
		{"demo/setup.sh", 0, 0, RuleSetupMissing, "runtime demo has no setup.sh", false},
	}},
	{name: "script-shebang", want: []want{
		{"demo/setup-ubuntu-arm64.sh", 1, 20, RuleScriptShebang, "setup-ubuntu-arm64.sh has Windows (CRLF) line endings; the kernel would look for an interpreter whose name ends in a carriage return", false},
		{"demo/setup.sh", 1, 1, RuleScriptShebang, "setup.sh does not start with a #! line", false},
	}},
	// In a clone git tracks the file with mode 100644 ("not executable in
	// git (index mode 100644)"); outside git the disk mode is 0644.
	{name: "script-executable", want: []want{
		{"demo/setup-ubuntu-amd64.sh", 1, 1, RuleScriptExecutable, "setup-ubuntu-amd64.sh is not executable ", true},
	}},
	{name: "script-syntax", want: []want{
		{"demo/setup-ubuntu-amd64.sh", 7, 0, RuleScriptSyntax, "bash -n: syntax error: unexpected end of file", false},
	}},
	{name: "script-shellcheck", shellcheck: true, want: []want{
		{"demo/setup-ubuntu-amd64.sh", 3, 1, RuleScriptShellcheck, "shellcheck SC2034 (warning): unused_var appears unused.", true},
	}},
	{name: "script-line-endings", want: []want{
		{"demo/setup-ubuntu-amd64.sh", 2, 0, RuleScriptLineEndings, `setup-ubuntu-amd64.sh has Windows (CRLF) line endings (3 lines, the first at line 2); bash reads each carriage return as part of its line, so then\r is no keyword and arguments end in \r`, false},
	}},
	// Every shell script of the runtime directory, not only setup*.sh,
	// gets the script rules (but the executable bit): build-debian.sh, a
	// sourced helper without #! and a script without .sh found by its #!
	// line; a .sh file naming python, other files and dot-directories are
	// left alone.
	{name: "script-other", want: []want{
		{"demo/build-debian.sh", 6, 0, RuleScriptSyntax, "bash -n: syntax error: unexpected end of file", false},
		{"demo/lib/helper.sh", 1, 0, RuleScriptLineEndings, `helper.sh has Windows (CRLF) line endings (4 lines, the first at line 1); bash reads each carriage return as part of its line, so then\r is no keyword and arguments end in \r`, false},
		{"demo/lib/helper.sh", 1, 1, RuleScriptShebang, "helper.sh does not start with a #! line", false},
		{"demo/lib/helper.sh", 2, 0, RuleScriptSyntax, "bash -n: syntax error near unexpected token `$'{\\r''", false},
		{"demo/tools/run", 2, 0, RuleScriptSyntax, "bash -n: unexpected EOF while looking for matching `\"'", false},
	}},
	{name: "root-no-runtimes", noRuntime: true, want: []want{
		{"", 0, 0, RuleRootNoRuntimes, "no runtime in testdata/rules/root-no-runtimes (", true},
	}},
	{name: "root-hidden-runtime", want: []want{
		{".old-demo/manifest.yaml", 0, 0, RuleRootHiddenRuntime, `directory .old-demo holds a manifest.yaml but validate skips directories starting with "." (rtool build --all and rtool plan do not), so it would be built and released unchecked`, false},
	}},
	{name: "packages-format", want: []want{
		{"demo/manifest.yaml", 9, 5, RulePackagesFormat, `package "pandas>=2.0" is not pinned to one version; write name==version or name@version`, false},
		{"demo/manifest.yaml", 10, 5, RulePackagesFormat, `package "scipy" has no version; write name==version (pip style) or name@version (npm style)`, false},
		{"demo/manifest.yaml", 11, 5, RulePackagesFormat, `package "ok==1.0 extra" is not name==version: the name is letters, digits, ., _ and -, the version has no spaces`, false},
	}},
	{name: "packages-mixed-style", want: []want{
		{"demo/manifest.yaml", 9, 5, RulePackagesMixedStyle, `package "lodash@4.17.21" is npm style (name@version) but this manifest's packages use pip style (name==version) (line 8)`, false},
	}},
	{name: "packages-duplicate", want: []want{
		{"demo/manifest.yaml", 9, 5, RulePackagesDuplicate, `package "numpy" is listed twice (first at line 8)`, false},
	}},
	{name: "smoke-name", want: []want{
		{"demo/manifest.yaml", 10, 5, RuleSmokeName, "smoke test 1 has no name", false},
		{"demo/manifest.yaml", 13, 11, RuleSmokeName, `smoke test name "v" is used twice (first at line 11)`, false},
	}},
	{name: "smoke-command", want: []want{
		{"demo/manifest.yaml", 10, 5, RuleSmokeCommand, `smoke test "a" has no command`, false},
		{"demo/manifest.yaml", 12, 14, RuleSmokeCommand, `smoke test "b": command must be a list of strings, not a string`, false},
		{"demo/manifest.yaml", 14, 14, RuleSmokeCommand, `smoke test "c": command is empty`, false},
	}},
	{name: "smoke-exit-code", want: []want{
		{"demo/manifest.yaml", 12, 16, RuleSmokeExitCode, `smoke test "a": exit_code must be an integer from 0 to 255, not "256"`, false},
		{"demo/manifest.yaml", 15, 16, RuleSmokeExitCode, `smoke test "b": exit_code must be an integer from 0 to 255, not "1"`, false},
	}},
	{name: "smoke-unknown-key", want: []want{
		{"demo/manifest.yaml", 12, 5, RuleSmokeUnknownKey, `smoke test "a" has unknown key "exitcode"`, false},
	}},
	{name: "build-timeout", want: []want{
		{"demo/manifest.yaml", 10, 12, RuleBuildTimeout, `build.timeout must be a duration string such as 20m, not "20"`, false},
	}},
	{name: "build-timeout-bad", want: []want{
		{"demo/manifest.yaml", 10, 12, RuleBuildTimeout, `build.timeout "soon" is not a Go duration`, false},
	}},
	{name: "build-unknown-key", want: []want{
		{"demo/manifest.yaml", 11, 3, RuleBuildUnknownKey, `build has unknown key "time_limit"`, false},
	}},
	{name: "build-base", bases: ruleBases, want: []want{
		{"demo/manifest.yaml", 11, 9, RuleBuildBase, `build.base "Trixie" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie; use "trixie"`, false},
	}},
	{name: "build-base-unknown", bases: ruleBases, want: []want{
		{"demo/manifest.yaml", 11, 9, RuleBuildBase, `no named base "sid" in /repo/rtool.yaml (named_bases: noble, trixie)`, false},
	}},
	{name: "build-base-platform", bases: ruleBases, want: []want{
		{"demo/manifest.yaml", 11, 9, RuleBuildBase, "named base trixie has no base for platform ubuntu-arm64 in /repo/rtool.yaml (named_bases.trixie has ubuntu-amd64)", false},
	}},
}

// Without a build configuration, build.base is checked for its form only:
// a name rtool.yaml may have is no finding.
func TestBuildBaseWithoutConfig(t *testing.T) {
	for _, c := range []string{"build-base-unknown", "build-base-platform"} {
		report, err := Root(context.Background(), filepath.Join("testdata", "rules", c), nil, Options{NoShellcheck: true})
		if err != nil {
			t.Fatal(err)
		}
		if ds := report.Runtimes[0].Diagnostics; len(ds) != 0 {
			t.Errorf("%s without rtool.yaml:\n%s", c, dump(ds))
		}
	}
}

func TestRuleCases(t *testing.T) {
	ctx := context.Background()
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{NoShellcheck: !c.shellcheck, Bases: c.bases}
			if c.shellcheck {
				testenv.RequireCommands(t, "shellcheck")
			}
			root := filepath.Join("testdata", "rules", c.name)
			report, err := Root(ctx, root, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			wantRuntimes := 1
			if c.noRuntime {
				wantRuntimes = 0
			}
			if len(report.Runtimes) != wantRuntimes {
				t.Fatalf("want %d runtime under %s, got %d", wantRuntimes, root, len(report.Runtimes))
			}
			got := report.Diagnostics
			if wantRuntimes == 1 {
				got = append(got, report.Runtimes[0].Diagnostics...)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(c.want), dump(got))
			}
			for i, w := range c.want {
				g := got[i]
				file := filepath.Join(root, w.File)
				msgOK := g.Message == w.Message || (w.MessagePrefix && strings.HasPrefix(g.Message, w.Message))
				if g.File != file || g.Line != w.Line || g.Column != w.Column || g.Rule != w.Rule || !msgOK {
					t.Errorf("diagnostic %d:\n got  %s:%d:%d [%s] %q\n want %s:%d:%d [%s] %q", i,
						g.File, g.Line, g.Column, g.Rule, g.Message, file, w.Line, w.Column, w.Rule, w.Message)
				}
				if g.Severity != severityOf(w.Rule) {
					t.Errorf("diagnostic %d: severity %s, want %s", i, g.Severity, severityOf(w.Rule))
				}
				if g.Hint == "" {
					t.Errorf("diagnostic %d (%s) has no hint", i, g.Rule)
				}
			}
		})
	}
}

// TestEveryRuleHasACase keeps the rule list and the failing-input cases in
// step: a new rule without a broken runtime under testdata/rules fails here.
func TestEveryRuleHasACase(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range ruleCases {
		for _, w := range c.want {
			covered[w.Rule] = true
		}
	}
	for _, r := range Rules() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no case under testdata/rules", r.ID)
		}
		if r.Severity != SeverityError && r.Severity != SeverityWarning {
			t.Errorf("rule %s has severity %q", r.ID, r.Severity)
		}
	}
	for rule := range covered {
		if severityOf(rule) == "" || !known(rule) {
			t.Errorf("case expects rule %s, which Rules does not list", rule)
		}
	}
}

func known(rule string) bool {
	for _, r := range Rules() {
		if r.ID == rule {
			return true
		}
	}
	return false
}

func dump(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + position(d) + " [" + d.Rule + "] " + d.Message + "\n")
	}
	return b.String()
}

// TestDocsListEveryRule keeps the rule table of rtool validate's
// reference (docs/commands.md, linked from README.md) complete.
func TestDocsListEveryRule(t *testing.T) {
	const doc = "docs/commands.md"
	data, err := os.ReadFile(filepath.Join("..", doc))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## rtool validate\n")
	if !ok {
		t.Fatalf("%s has no ## rtool validate section", doc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, r := range Rules() {
		if !strings.Contains(section, "`"+r.ID+"`") {
			t.Errorf("%s's rtool validate section does not list rule %s", doc, r.ID)
		}
	}
}
