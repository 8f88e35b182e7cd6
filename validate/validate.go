package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/joblet/rtool/schema"
)

// SetupScript is the platform-independent setup script every runtime has.
const SetupScript = "setup.sh"

// Options configure a validation run. The zero value runs every check,
// with shellcheck when it is on PATH.
type Options struct {
	// ManifestOnly checks manifest.yaml only: no setup scripts are looked
	// for or checked (for definitions that ship without scripts, such as
	// the upstream fixture).
	ManifestOnly bool
	// NoShellcheck turns the shellcheck rule off even when it is installed.
	NoShellcheck bool
	// Shellcheck is the shellcheck binary; "" looks it up on PATH and skips
	// the rule when it is not installed.
	Shellcheck string
	// ShellcheckSeverity is the lowest shellcheck level reported: error,
	// warning (default), info or style.
	ShellcheckSeverity string
	// Bash is the bash used for bash -n; "" looks it up on PATH.
	Bash string
	// Concurrency bounds parallel work and child processes; 0 means
	// runtime.GOMAXPROCS(0).
	Concurrency int
	// Bases is the build configuration's named bases; nil checks only that
	// a manifest's build.base is a well-formed name, not that it exists.
	Bases *Bases
}

// Bases is what a build configuration (rtool.yaml) offers build.base. The
// caller reads the file (package builder owns its format).
type Bases struct {
	// File names the configuration in findings.
	File string
	// Named maps each named base to the platforms it has a base for.
	Named map[string][]string
}

func (o Options) concurrency() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return runtime.GOMAXPROCS(0)
}

// UnknownRuntimeError is returned by Root when a requested runtime has no
// directory under the root.
type UnknownRuntimeError struct {
	Name, Root string
	Known      []string
}

func (e *UnknownRuntimeError) Error() string {
	return fmt.Sprintf("no runtime %q under %s (runtimes there: %s)", e.Name, e.Root, strings.Join(e.Known, ", "))
}

// Runtime validates one runtime directory. Diagnostics name files as
// filepath.Join(dir, <file>). The error is for I/O problems only (dir
// missing or unreadable, bash or shellcheck failing to run).
func Runtime(ctx context.Context, dir string, opts Options) ([]Diagnostic, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("runtime directory %s is not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime directory %s: %w", dir, err)
	}
	var idx *gitIndex
	if !opts.ManifestOnly {
		idx = readGitIndex(ctx, dir)
	}
	rts, err := validateDirs(ctx, []runtimeDir{{name: filepath.Base(abs), dir: dir}}, idx, opts)
	if err != nil {
		return nil, err
	}
	return rts[0].Diagnostics, nil
}

// Root validates the runtimes under root: every directory not starting with
// "." or, when names is not empty, just those. An unknown name is an
// *UnknownRuntimeError. Without names, findings about the root itself are
// in Report.Diagnostics: a root with no runtime directory (RuleRootNoRuntimes)
// and a dot-directory holding a manifest.yaml (RuleRootHiddenRuntime).
func Root(ctx context.Context, root string, names []string, opts Options) (Report, error) {
	info, err := os.Stat(root)
	if err != nil {
		return Report{}, fmt.Errorf("runtimes root: %w", err)
	}
	if !info.IsDir() {
		return Report{}, fmt.Errorf("runtimes root %s is not a directory", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return Report{}, fmt.Errorf("runtimes root: %w", err)
	}
	var all, hidden []string
	for _, e := range entries {
		if !e.IsDir() && !(e.Type()&fs.ModeSymlink != 0 && isDir(filepath.Join(root, e.Name()))) {
			continue
		}
		if strings.HasPrefix(e.Name(), ".") {
			if isFile(filepath.Join(root, e.Name(), ManifestFile)) {
				hidden = append(hidden, e.Name())
			}
			continue
		}
		all = append(all, e.Name())
	}
	var rootDs []Diagnostic
	if len(names) == 0 {
		rootDs = rootFindings(root, all, hidden)
	}
	selected := all
	if len(names) > 0 {
		selected = nil
		for _, n := range names {
			n = strings.TrimSuffix(n, "/")
			if !slices.Contains(all, n) {
				return Report{}, &UnknownRuntimeError{Name: n, Root: root, Known: all}
			}
			if !slices.Contains(selected, n) {
				selected = append(selected, n)
			}
		}
		slices.Sort(selected)
	}
	dirs := make([]runtimeDir, len(selected))
	for i, n := range selected {
		dirs[i] = runtimeDir{name: n, dir: filepath.Join(root, n)}
	}
	var idx *gitIndex
	if !opts.ManifestOnly && len(dirs) > 0 {
		idx = readGitIndex(ctx, root)
	}
	rts, err := validateDirs(ctx, dirs, idx, opts)
	if err != nil {
		return Report{}, err
	}
	return newReport(root, rootDs, rts), nil
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// rootFindings reports a root without runtimes and runtimes hidden in
// dot-directories. A hidden runtime is an error: validate skips it, but
// rtool build --all and rtool plan take every directory holding a
// manifest.yaml, so it would be built and released unchecked (and its
// name, starting with ".", is not a valid runtime name anyway).
func rootFindings(root string, runtimes, hidden []string) []Diagnostic {
	var ds []Diagnostic
	for _, h := range hidden {
		m := filepath.Join(root, h, ManifestFile)
		ds = append(ds, diag(m, 0, 0, RuleRootHiddenRuntime,
			fmt.Sprintf("directory %s holds a %s but validate skips directories starting with \".\" (rtool build --all and rtool plan do not), so it would be built and released unchecked", h, ManifestFile),
			fmt.Sprintf("rename %s to the runtime's name (lowercase letters, digits, dots and hyphens) to have it checked, or remove or rename %s if it is not a runtime", filepath.Join(root, h), m)))
	}
	if len(runtimes) > 0 {
		return ds
	}
	where := root
	if abs, err := filepath.Abs(root); err == nil && abs != root {
		where += " (" + abs + ")"
	}
	hint := fmt.Sprintf("add a runtime as %s, or pass --root the directory that holds one directory per runtime (default: <git top level>/%s)",
		filepath.Join(root, "<name>", ManifestFile), RuntimesDir)
	switch {
	case isFile(filepath.Join(root, ManifestFile)):
		hint = fmt.Sprintf("%s is itself a runtime directory: validate it as rtool validate --root %s %s",
			root, filepath.Dir(filepath.Clean(root)), filepath.Base(filepath.Clean(root)))
	case len(hidden) > 0:
		hint = "the only manifests here are in dot-directories, which are skipped; " + hint
	}
	ds = append(ds, diag(root, 0, 0, RuleRootNoRuntimes,
		fmt.Sprintf("no runtime in %s: expected one directory per runtime, %s", where, filepath.Join(root, "<name>", ManifestFile)), hint))
	return ds
}

type runtimeDir struct {
	name, dir string
}

// dirResult is the outcome of the per-directory checks before the checks
// that run external programs over all scripts at once.
type dirResult struct {
	ds      []Diagnostic
	scripts []*scriptFile
}

// validateDirs checks every directory (in parallel, bounded by the
// concurrency option), then runs bash -n and shellcheck over all their
// scripts together.
func validateDirs(ctx context.Context, dirs []runtimeDir, idx *gitIndex, opts Options) ([]RuntimeReport, error) {
	conc := opts.concurrency()
	results := make([]dirResult, len(dirs))
	err := parallel(ctx, len(dirs), conc, func(i int) error {
		r, err := checkDir(dirs[i], idx, opts)
		results[i] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	if !opts.ManifestOnly {
		var scripts []*scriptFile
		for _, r := range results {
			scripts = append(scripts, r.scripts...)
		}
		if err := checkScripts(ctx, scripts, opts, conc); err != nil {
			return nil, err
		}
	}
	out := make([]RuntimeReport, len(dirs))
	for i, d := range dirs {
		ds := results[i].ds
		for _, s := range results[i].scripts {
			ds = append(ds, s.ds...)
		}
		out[i] = newRuntimeReport(d.name, d.dir, ds)
	}
	return out, nil
}

// checkScripts runs bash -n over every script and shellcheck over those
// that parse.
func checkScripts(ctx context.Context, scripts []*scriptFile, opts Options, conc int) error {
	if len(scripts) == 0 {
		return nil
	}
	bash := opts.Bash
	if bash == "" {
		var err error
		if bash, err = exec.LookPath("bash"); err != nil {
			return fmt.Errorf("bash is needed for the %s rule (or use manifest-only validation): %w", RuleScriptSyntax, err)
		}
	}
	if err := (&syntaxChecker{bash: bash}).check(ctx, scripts, conc); err != nil {
		return err
	}
	if opts.NoShellcheck {
		return nil
	}
	sc := opts.Shellcheck
	if sc == "" {
		var err error
		if sc, err = exec.LookPath("shellcheck"); err != nil {
			return nil // not installed: the rule is skipped
		}
	}
	sev := opts.ShellcheckSeverity
	if sev == "" {
		sev = "warning"
	}
	var ok []*scriptFile
	for _, s := range scripts {
		if s.syntaxOK {
			ok = append(ok, s)
		}
	}
	return runShellcheck(ctx, sc, sev, ok, conc)
}

// checkDir runs the checks that need no external program on one runtime
// directory and reads its scripts for the ones that do.
func checkDir(d runtimeDir, idx *gitIndex, opts Options) (dirResult, error) {
	var r dirResult
	mpath := filepath.Join(d.dir, ManifestFile)
	data, err := os.ReadFile(mpath)
	hasManifest := err == nil
	var res manifestResult
	switch {
	case err == nil:
		r.ds, res = checkManifest(mpath, data, d.name)
		if res.buildBase != nil && opts.Bases != nil && res.platformsOK {
			r.ds = append(r.ds, checkBuildBaseExists(mpath, res.buildBase, res.platforms, opts.Bases)...)
		}
	case errors.Is(err, fs.ErrNotExist):
		hint := "create " + mpath + " with name, version, description and platforms"
		if _, err := os.Stat(filepath.Join(d.dir, "manifest.yml")); err == nil {
			hint = "rename manifest.yml to manifest.yaml"
		}
		r.ds = append(r.ds, diag(mpath, 0, 0, RuleManifestMissing, "runtime "+d.name+" has no manifest.yaml", hint))
	case errors.Is(err, syscall.EISDIR):
		r.ds = append(r.ds, diag(mpath, 0, 0, RuleManifestMissing, "manifest.yaml is a directory, not a file",
			"replace it with a manifest.yaml file"))
	default:
		return r, fmt.Errorf("runtime %s: %w", d.name, err)
	}
	if opts.ManifestOnly {
		return r, nil
	}

	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return r, fmt.Errorf("runtime %s: %w", d.name, err)
	}
	files := map[string]os.FileInfo{}
	var scripts []string
	for _, e := range entries {
		n := e.Name()
		if n != SetupScript && !(strings.HasPrefix(n, "setup-") && strings.HasSuffix(n, ".sh")) {
			continue
		}
		info, err := os.Stat(filepath.Join(d.dir, n))
		if err != nil || !info.Mode().IsRegular() {
			continue // a dangling link or a directory counts as missing
		}
		files[n] = info
		scripts = append(scripts, n)
	}
	if _, ok := files[SetupScript]; !ok {
		r.ds = append(r.ds, diag(filepath.Join(d.dir, SetupScript), 0, 0, RuleSetupMissing,
			"runtime "+d.name+" has no setup.sh",
			"add setup.sh, the entry point that runs setup-<os>-<arch>.sh for the build platform"))
	}
	if res.platformsOK {
		declared := map[string]bool{}
		for _, p := range res.platforms {
			declared[p.name] = true
			script := "setup-" + p.name + ".sh"
			if _, ok := files[script]; !ok {
				r.ds = append(r.ds, diag(mpath, p.node.Line, p.node.Column, RulePlatformSetupMissing,
					fmt.Sprintf("platform %s is declared but %s is missing", p.name, script),
					fmt.Sprintf("add %s next to manifest.yaml or remove %s from platforms", script, p.name)))
			}
		}
		for _, n := range scripts {
			if n == SetupScript {
				continue
			}
			p := strings.TrimSuffix(strings.TrimPrefix(n, "setup-"), ".sh")
			if declared[p] {
				continue
			}
			msg := fmt.Sprintf("%s is for platform %s, which platforms does not declare", n, p)
			hint := "add " + p + " to platforms or delete the script"
			if _, err := schema.ParsePlatform(p); err != nil {
				msg = fmt.Sprintf("%s is for %q, which is not a known platform", n, p)
				hint = "rename it to setup-<os>-<arch>.sh; " + platformHint(p)
			}
			r.ds = append(r.ds, diag(filepath.Join(d.dir, n), 1, 1, RulePlatformSetupUndeclared, msg, hint))
		}
	}
	for _, n := range scripts {
		p := filepath.Join(d.dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return r, fmt.Errorf("runtime %s: %w", d.name, err)
		}
		s := &sink{file: p}
		checkLineEndings(s, data, checkShebang(s, data))
		checkExecutable(s, idx, files[n])
		r.ds = append(r.ds, s.ds...)
		r.scripts = append(r.scripts, &scriptFile{path: p, data: data})
	}
	// Every other shell script of the directory (build helpers and the
	// like) gets the same rules but the executable bit: it may well be
	// run with bash FILE or sourced. A directory without manifest.yaml is
	// probably no runtime at all (a wrong --root): it is not walked.
	if !hasManifest {
		return r, nil
	}
	others, err := otherScripts(d.dir, files)
	if err != nil {
		return r, fmt.Errorf("runtime %s: %w", d.name, err)
	}
	for _, o := range others {
		s := &sink{file: o.path}
		checkLineEndings(s, o.data, checkShebang(s, o.data))
		r.ds = append(r.ds, s.ds...)
		r.scripts = append(r.scripts, o)
	}
	return r, nil
}

func diag(file string, line, col int, rule, msg, hint string) Diagnostic {
	return Diagnostic{File: file, Line: line, Column: col, Rule: rule, Severity: severityOf(rule), Message: msg, Hint: hint}
}
