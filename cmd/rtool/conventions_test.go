package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// Values the release build is stamped with.
const (
	stampVersion = "1.2.3"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stampDate    = "2026-11-27T12:00:00Z"
)

// goreleaserLdflags renders the ldflags of .goreleaser.yaml's build with
// the stamp values, failing on any template it does not know.
func goreleaserLdflags(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Builds []struct {
			Main    string   `yaml:"main"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Builds) != 1 || cfg.Builds[0].Main != "./cmd/rtool" {
		t.Fatalf(".goreleaser.yaml: want one build of ./cmd/rtool, got %+v", cfg.Builds)
	}
	flags := strings.Join(cfg.Builds[0].Ldflags, " ")
	flags = regexp.MustCompile(`\{\{\s*\.Version\s*\}\}`).ReplaceAllString(flags, stampVersion)
	flags = regexp.MustCompile(`\{\{\s*\.FullCommit\s*\}\}`).ReplaceAllString(flags, stampCommit)
	flags = regexp.MustCompile(`\{\{\s*\.CommitDate\s*\}\}`).ReplaceAllString(flags, stampDate)
	if strings.Contains(flags, "{{") {
		t.Fatalf(".goreleaser.yaml ldflags use a template this test does not render: %s", flags)
	}
	return flags
}

// buildRelease builds rtool with the link flags of .goreleaser.yaml, as a
// release archive's rtool is, into a temporary directory.
func buildRelease(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rtool")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", goreleaserLdflags(t), "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestVersionFromGoreleaserLdflags(t *testing.T) {
	bin := buildRelease(t)
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("rtool version --json: %v", err)
	}
	var v versionInfo
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// the tag's "v" is kept, as go install ...@v1.2.3 reports it
	want := versionInfo{Version: "v" + stampVersion, Commit: stampCommit, Date: stampDate, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Source: "release"}
	if v != want {
		t.Errorf("version --json = %+v\nwant %+v", v, want)
	}
	out, err = exec.Command(bin, "--version").Output()
	if err != nil || string(out) != "rtool version v"+stampVersion+"\n" {
		t.Errorf("rtool --version = %q, %v", out, err)
	}
}

func TestVersionInfoSources(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	rev := "976ae20abcd1976ae20abcd1976ae20abcd19999"
	tests := []struct {
		name string
		ld   ldVersion
		info *debug.BuildInfo
		want versionInfo
	}{
		{"release build", ldVersion{"v1.2.3", rev, "2026-11-27T12:00:00Z"}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			versionInfo{Version: "v1.2.3", Commit: rev, Date: "2026-11-27T12:00:00Z", GoVersion: "go1.26.8", Source: "release"}},
		{"go install of a tag", ldVersion{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			versionInfo{Version: "v1.2.3", GoVersion: "go1.26.8", Source: "module"}},
		{"go install of a pseudo-version", ldVersion{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.4-0.20261127125837-976ae20abcd1"}},
			versionInfo{Version: "v1.2.4-0.20261127125837-976ae20abcd1", Commit: "976ae20abcd1", Date: "2026-11-27T12:58:37Z", GoVersion: "go1.26.8", Source: "module"}},
		{"checkout build stamped by Go", ldVersion{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261127125837-976ae20abcd1+dirty"}, Settings: settings("vcs.revision", rev, "vcs.time", "2026-11-27T12:58:37Z", "vcs.modified", "true")},
			versionInfo{Version: "v0.0.0-20261127125837-976ae20abcd1+dirty", Commit: rev, Date: "2026-11-27T12:58:37Z", GoVersion: "go1.26.8", Source: "vcs"}},
		{"checkout build, VCS only", ldVersion{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", rev, "vcs.time", "2026-11-27T12:58:37Z", "vcs.modified", "true")},
			versionInfo{Version: "devel-976ae20abcd1-dirty", Commit: rev, Date: "2026-11-27T12:58:37Z", GoVersion: "go1.26.8", Source: "vcs"}},
		{"nothing known", ldVersion{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			versionInfo{Version: "devel", GoVersion: "go1.26.8", Source: "none"}},
		{"no build information", ldVersion{}, nil,
			versionInfo{Version: "devel", GoVersion: runtime.Version(), Source: "none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got := readVersionInfo(tc.ld, tc.info); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, errOut := rtoolRun(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "rtool "+toolVersion()+"\n") || !strings.Contains(out, "\ngo:       "+runtime.Version()+"\n") {
		t.Errorf("rtool version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = rtoolRun(t, "version", "--json")
	var v versionInfo
	if code != exitOK || json.Unmarshal([]byte(out), &v) != nil || v.Version != toolVersion() || v.GoVersion != runtime.Version() {
		t.Errorf("rtool version --json: exit %d, %q", code, out)
	}
	if code, _, errOut := rtoolRun(t, "version", "extra"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("rtool version extra: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := rtoolRun(t, "--version"); code != exitOK || out != "rtool version "+toolVersion()+"\n" {
		t.Errorf("rtool --version: exit %d, %q", code, out)
	}
}

func TestUnknownCommandExitsTwoWithSuggestion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"valdate"}, `unknown command "valdate" for "rtool"; did you mean "validate"? (rtool --help lists the commands)`},
		{[]string{"regsitry", "add"}, `did you mean "registry"?`},
		{[]string{"reg"}, `did you mean "registry"?`},
		{[]string{"registry", "ad"}, `unknown command "ad" for "rtool registry"; did you mean "add"? (rtool registry --help lists the commands)`},
		{[]string{"base", "lst"}, `unknown command "lst" for "rtool base"; did you mean "list"?`},
		{[]string{"runtime", "instal", "python@latest"}, `did you mean "install"?`},
		{[]string{"nonsense"}, `unknown command "nonsense" for "rtool" (rtool --help lists the commands)`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := rtoolRun(t, tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
	// no command at all is a request for help, not an error
	for _, args := range [][]string{nil, {"registry"}} {
		if code, out, _ := rtoolRun(t, args...); code != exitOK || !strings.Contains(out, "COMMANDS:") {
			t.Errorf("rtool %v: exit %d, stdout %q", args, code, out)
		}
	}
}

func TestUnknownCommandSuggest(t *testing.T) {
	names := []string{"install", "info", "list", "remove", "run"}
	tests := []struct {
		typed string
		want  string
	}{
		{"isntall", "install"},
		{"in", "info install"},
		{"rn", "run"},
		{"lsit", "list"},
		{"xyz", ""},
		{"delete", ""},
	}
	for _, tc := range tests {
		if got := strings.Join(suggest(tc.typed, names), " "); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

// commandPaths lists every command of the tree as "registry add" etc.
func commandPaths(cmds []*cli.Command, prefix string) map[string]*cli.Command {
	out := map[string]*cli.Command{}
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		path := strings.TrimSpace(prefix + " " + c.Name)
		out[path] = c
		for p, sub := range commandPaths(c.Subcommands, path) {
			out[p] = sub
		}
	}
	return out
}

// shellWords splits an example command line like a shell would, enough
// for the examples: quotes; "<(" and "$(" before a word and ")" after it
// are dropped, so source <(rtool completion bash) yields rtool's words.
func shellWords(line string) []string {
	line = strings.NewReplacer("<(", "", "$(", "", ")", " )").Replace(line)
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestHelpEveryCommand: every command's --help works, has examples that
// name that command and only its flags, and no flag line shows two
// defaults.
func TestHelpEveryCommand(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	paths := commandPaths(app.Commands, "")
	paths[""] = nil
	examples := commandExamples()
	for path := range examples {
		if _, ok := paths[path]; !ok {
			t.Errorf("examples for %q, which is no command", path)
		}
	}
	for path := range paths {
		t.Run("rtool "+path, func(t *testing.T) {
			args := append(strings.Fields(path), "--help")
			code, out, errOut := rtoolRun(t, args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.Contains(out, "\nEXAMPLES:\n   ") {
				t.Errorf("no EXAMPLES section:\n%s", out)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "-") && strings.Count(strings.ToLower(l), "default") > 1 {
					t.Errorf("help line shows two defaults: %s", strings.TrimSpace(l))
				}
			}
			if len(examples[path]) == 0 {
				t.Fatalf("no examples: add them to commandExamples")
			}
			for _, ex := range examples[path] {
				words := shellWords(ex)
				i := 0
				for i < len(words) && words[i] != "rtool" {
					i++
				}
				if i == len(words) {
					t.Errorf("example %q does not run rtool", ex)
					continue
				}
				// the command the example runs: rtool's own examples run
				// any, a command's run it or one of its subcommands
				i++
				cmds, flags, ran := app.Commands, app.Flags, []string{}
				for ; i < len(words); i++ {
					c := findCommand(cmds, words[i])
					if c == nil || strings.HasPrefix(words[i], "-") {
						break
					}
					cmds, flags, ran = c.Subcommands, c.Flags, append(ran, c.Name)
				}
				if got := strings.Join(ran, " "); len(ran) == 0 || (path != "" && got != path && !strings.HasPrefix(got, path+" ")) {
					t.Errorf("example %q runs %q, not rtool %s", ex, "rtool "+got, path)
					continue
				}
				for _, w := range words[i:] {
					if w == "--" || w == ">" || w == ")" {
						break
					}
					if strings.HasPrefix(w, "-") && findFlag(flags, strings.TrimLeft(strings.SplitN(w, "=", 2)[0], "-")) == nil {
						t.Errorf("example %q: rtool %s has no flag %s", ex, strings.Join(ran, " "), w)
					}
				}
			}
		})
	}
}

// completeRun asks rtool for completion candidates as a shell script does.
func completeRun(t *testing.T, style string, words ...string) []string {
	t.Helper()
	t.Setenv(completionStyleEnv, style)
	args := append(append([]string{"rtool"}, words...), completionFlag)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK || stderr.Len() > 0 {
		t.Fatalf("completion of %q: exit %d, stderr %q", words, code, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
}

func TestCompletionCandidates(t *testing.T) {
	tests := []struct {
		name    string
		words   []string
		want    []string // among the candidates
		notWant []string
	}{
		{"commands", []string{""}, []string{"validate", "registry", "version", "completion"}, []string{"help", "--help"}},
		{"commands without a word typed", nil, []string{"validate", "registry"}, nil},
		{"subcommands", []string{"registry", "y"}, []string{"add", "merge", "verify", "diff", "yank"}, []string{"validate"}},
		{"flags after a flag's value", []string{"runtime", "install", "--root", "/tmp/rt", "--"}, []string{"--registry", "--joblet"}, []string{"--reason"}},
		{"flags of a command", []string{"build", "-"}, []string{"--platform", "--quiet", "--verbose", "--json", "--help"}, []string{"-p", "--root"}},
		{"flags after a positional", []string{"build", "python-3.11", "--"}, []string{"--rebuild"}, nil},
		{"flags of a subcommand", []string{"registry", "add", "--"}, []string{"--manifest", "--url"}, []string{"--reason"}},
		{"fixed arguments", []string{"completion", ""}, []string{"bash", "zsh", "fish"}, nil},
		{"a value is expected", []string{"build", "--platform", ""}, []string{""}, []string{"--platform"}},
		{"the flag typed in full", []string{"build", "--platform"}, []string{"--platform"}, nil},
		{"a file is expected", []string{"package", "bu"}, []string{""}, []string{"validate"}},
		{"after the positional", []string{"registry", "diff", "old.json", ""}, []string{""}, []string{"add"}},
		{"a command's own arguments", []string{"runtime", "run", "py@1.0.0", "--", "-"}, []string{""}, []string{"--env"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := completeRun(t, "", tc.words...)
			for _, w := range tc.want {
				if !contains(got, w) {
					t.Errorf("candidates %q lack %q", got, w)
				}
			}
			for _, w := range tc.notWant {
				if contains(got, w) {
					t.Errorf("candidates %q include %q", got, w)
				}
			}
		})
	}
	// zsh and fish get descriptions
	if got := completeRun(t, "zsh", "registry", ""); !contains(got, "yank:withdraw a version from @latest and ranges (it stays installable by exact version)") {
		t.Errorf("zsh candidates %q", got)
	}
	if got := completeRun(t, "fish", "build", "--j"); !contains(got, "--jobs\trun up to N builds at once") {
		t.Errorf("fish candidates %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestCompletionCommand(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, _ := rtoolRun(t, "completion", shell)
		if code != exitOK || !strings.Contains(out, completionFlag) {
			t.Errorf("completion %s: exit %d, %q", shell, code, out)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if code, _, errOut := rtoolRun(t, args...); code != exitUsage || !strings.Contains(errOut, "bash, zsh or fish") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestCompletionScriptsInShells loads each script into its real shell and
// completes through the release build of rtool.
func TestCompletionScriptsInShells(t *testing.T) {
	bin := buildRelease(t)
	dir := filepath.Dir(bin)
	path := dir + string(os.PathListSeparator) + os.Getenv("PATH")
	tests := []struct {
		shell  string
		script string
		want   string
	}{
		{"bash", `source <(rtool completion bash)
COMP_WORDS=(rtool registry a); COMP_CWORD=2; _rtool_complete; echo "${COMPREPLY[*]}"
COMP_WORDS=(rtool build x --reb); COMP_CWORD=3; _rtool_complete; echo "${COMPREPLY[*]}"
COMP_WORDS=(rtool completion f); COMP_CWORD=2; _rtool_complete; echo "${COMPREPLY[*]}"`,
			"add\n--rebuild\nfish\n"},
		// zsh's completion system needs a terminal; _describe and _files
		// stand in for it and print what they would offer
		{"zsh", `compdef() { :; }; _describe() { print -l -- "${(@P)2}"; }; _files() { print '<files>'; }
source <(rtool completion zsh)
words=(rtool registry y); CURRENT=3; _rtool
words=(rtool package ''); CURRENT=3; _rtool`,
			"add:measure release files and merge one version into the registry\nmerge:merge registry fragments (what matrix jobs produce) into the registry\nverify:check the registry's schema and consistency, and that it kept its history\ndiff:show versions added, yanked, lost and changed between two registries\nyank:withdraw a version from @latest and ranges (it stays installable by exact version)\n<files>\n"},
		{"fish", `rtool completion fish | source
complete -C 'rtool registry y'
complete -C 'rtool version --j'`,
			"yank\twithdraw a version from @latest and ranges (it stays installable by exact version)\n--json\tprint the result as JSON on stdout\n"},
	}
	for _, tc := range tests {
		t.Run(tc.shell, func(t *testing.T) {
			testenv.RequireCommands(t, tc.shell)
			cmd := exec.Command(tc.shell, "-c", tc.script)
			cmd.Env = append(os.Environ(), "PATH="+path, "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != tc.want {
				t.Errorf("%s: %v\ngot:\n%s\nwant:\n%s", tc.shell, err, out, tc.want)
			}
		})
	}
}
