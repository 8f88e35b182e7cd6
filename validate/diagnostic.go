package validate

import (
	"cmp"
	"slices"
)

// Severities of a Diagnostic.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is one finding. Line and Column are 1-based; 0 means the
// finding is about a whole file that does not exist (or the position is not
// known).
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// Rule ids. They are stable: scripts and CI configuration may match on them.
const (
	RuleManifestMissing      = "manifest.missing"
	RuleManifestYAML         = "manifest.yaml"
	RuleManifestDocuments    = "manifest.documents"
	RuleManifestNotMapping   = "manifest.not-mapping"
	RuleManifestDuplicateKey = "manifest.duplicate-key"
	RuleManifestRequired     = "manifest.required"
	RuleManifestType         = "manifest.type"

	RuleNameFormat      = "name.format"
	RuleNameDirMismatch = "name.dir-mismatch"
	RuleVersionFormat   = "version.format"

	RulePlatformUnknown         = "platform.unknown"
	RulePlatformDuplicate       = "platform.duplicate"
	RulePlatformSetupMissing    = "platform.setup-missing"
	RulePlatformSetupUndeclared = "platform.setup-undeclared"
	RuleSetupMissing            = "setup.missing"

	RuleScriptShebang     = "script.shebang"
	RuleScriptExecutable  = "script.executable"
	RuleScriptSyntax      = "script.syntax"
	RuleScriptShellcheck  = "script.shellcheck"
	RuleScriptLineEndings = "script.line-endings"

	RuleRootNoRuntimes    = "root.no-runtimes"
	RuleRootHiddenRuntime = "root.hidden-runtime"

	RulePackagesFormat     = "packages.format"
	RulePackagesMixedStyle = "packages.mixed-style"
	RulePackagesDuplicate  = "packages.duplicate"

	RuleSmokeName       = "smoke.name"
	RuleSmokeCommand    = "smoke.command"
	RuleSmokeExitCode   = "smoke.exit-code"
	RuleSmokeUnknownKey = "smoke.unknown-key"

	RuleBuildTimeout    = "build.timeout"
	RuleBuildUnknownKey = "build.unknown-key"
	RuleBuildBase       = "build.base"
)

// RuleInfo describes one rule.
type RuleInfo struct {
	ID          string
	Severity    string
	Description string
}

// rules lists every rule validate applies, in a stable order. Read only.
var rules = [...]RuleInfo{
	{RuleManifestMissing, SeverityError, "the runtime directory has a manifest.yaml"},
	{RuleManifestYAML, SeverityError, "manifest.yaml is well-formed YAML that rtool's decoder reads"},
	{RuleManifestDocuments, SeverityError, "manifest.yaml holds exactly one YAML document"},
	{RuleManifestNotMapping, SeverityError, "the document is a mapping"},
	{RuleManifestDuplicateKey, SeverityError, "no mapping has the same key twice"},
	{RuleManifestRequired, SeverityError, "name, version, description and platforms are present and not empty"},
	{RuleManifestType, SeverityError, "known keys have the right YAML type"},
	{RuleNameFormat, SeverityError, "name follows the runtime name rule"},
	{RuleNameDirMismatch, SeverityError, "name equals the directory name"},
	{RuleVersionFormat, SeverityError, "version is semantic versioning without a v prefix"},
	{RulePlatformUnknown, SeverityError, "every platform is <os>-<arch> with a known os and arch"},
	{RulePlatformDuplicate, SeverityError, "no platform is listed twice"},
	{RulePlatformSetupMissing, SeverityError, "every declared platform has setup-<platform>.sh"},
	{RulePlatformSetupUndeclared, SeverityWarning, "every setup-<platform>.sh belongs to a declared platform"},
	{RuleSetupMissing, SeverityError, "setup.sh is present"},
	{RuleScriptShebang, SeverityError, "every shell script starts with a #! line"},
	{RuleScriptExecutable, SeverityError, "every setup script is executable (in the git index when tracked)"},
	{RuleScriptSyntax, SeverityError, "every shell script passes bash -n"},
	{RuleScriptShellcheck, SeverityWarning, "shellcheck findings on every shell script (when shellcheck is installed)"},
	{RuleScriptLineEndings, SeverityError, "no shell script has Windows (CRLF) line endings"},
	{RuleRootNoRuntimes, SeverityError, "the runtimes root holds at least one runtime directory"},
	{RuleRootHiddenRuntime, SeverityError, "no dot-directory of the root holds a manifest.yaml (validate would skip it, build --all would not)"},
	{RulePackagesFormat, SeverityError, "packages entries are name==version or name@version"},
	{RulePackagesMixedStyle, SeverityError, "packages use one style per manifest"},
	{RulePackagesDuplicate, SeverityError, "no package is listed twice"},
	{RuleSmokeName, SeverityError, "every smoke test has a unique, non-empty name"},
	{RuleSmokeCommand, SeverityError, "every smoke test has a non-empty command list of strings"},
	{RuleSmokeExitCode, SeverityError, "smoke exit_code is an integer from 0 to 255"},
	{RuleSmokeUnknownKey, SeverityError, "smoke tests only use name, command, expect and exit_code"},
	{RuleBuildTimeout, SeverityError, "build.timeout is a positive Go duration such as 20m"},
	{RuleBuildUnknownKey, SeverityError, "build only uses known keys (timeout, base)"},
	{RuleBuildBase, SeverityError, "build.base is a base name and, when the build configuration is known, one of its named_bases with a base for every platform the manifest lists"},
}

// Rules returns every rule validate applies, in a stable order.
func Rules() []RuleInfo { return slices.Clone(rules[:]) }

// severityOf returns the severity of a rule id.
func severityOf(rule string) string {
	for _, r := range rules {
		if r.ID == rule {
			return r.Severity
		}
	}
	return SeverityError
}

// sortDiagnostics orders diagnostics by file, line, column, rule, message.
func sortDiagnostics(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// RuntimeReport holds the findings for one runtime directory.
type RuntimeReport struct {
	Name        string       `json:"name"`
	Dir         string       `json:"dir"`
	Errors      int          `json:"errors"`
	Warnings    int          `json:"warnings"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Summary counts a report's runtimes and findings.
type Summary struct {
	Runtimes int `json:"runtimes"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is the result of validating a runtimes root.
type Report struct {
	Root string `json:"root"`
	// Diagnostics are findings about the root itself (no runtime in it, a
	// runtime hidden in a dot-directory), not about one runtime.
	Diagnostics []Diagnostic    `json:"diagnostics,omitempty"`
	Runtimes    []RuntimeReport `json:"runtimes"`
	Summary     Summary         `json:"summary"`
}

// all calls fn for every diagnostic: the root's, then each runtime's.
func (r Report) all(fn func(Diagnostic)) {
	for _, d := range r.Diagnostics {
		fn(d)
	}
	for _, rt := range r.Runtimes {
		for _, d := range rt.Diagnostics {
			fn(d)
		}
	}
}

// Failed reports whether the report should fail a run: any error, or under
// strict any warning.
func (r Report) Failed(strict bool) bool {
	return r.Summary.Errors > 0 || (strict && r.Summary.Warnings > 0)
}

func newRuntimeReport(name, dir string, ds []Diagnostic) RuntimeReport {
	if ds == nil {
		ds = []Diagnostic{}
	}
	sortDiagnostics(ds)
	rr := RuntimeReport{Name: name, Dir: dir, Diagnostics: ds}
	for _, d := range ds {
		if d.Severity == SeverityWarning {
			rr.Warnings++
		} else {
			rr.Errors++
		}
	}
	return rr
}

func newReport(root string, rootDs []Diagnostic, rts []RuntimeReport) Report {
	if rts == nil {
		rts = []RuntimeReport{}
	}
	sortDiagnostics(rootDs)
	r := Report{Root: root, Diagnostics: rootDs, Runtimes: rts, Summary: Summary{Runtimes: len(rts)}}
	for _, d := range rootDs {
		if d.Severity == SeverityWarning {
			r.Summary.Warnings++
		} else {
			r.Summary.Errors++
		}
	}
	for _, rt := range rts {
		r.Summary.Errors += rt.Errors
		r.Summary.Warnings += rt.Warnings
	}
	return r
}
