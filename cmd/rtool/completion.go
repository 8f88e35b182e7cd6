package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag ends a completion request, as urfave/cli spells it: the
// shell runs `rtool WORDS... --generate-bash-completion` and offers the
// lines printed. run answers it from the command tree (completeWords)
// before any flag parsing, so flags may sit anywhere and no command runs.
const completionFlag = "--generate-bash-completion"

// completionStyleEnv selects the candidate format: unset (bash: names),
// "zsh" (name:description) or "fish" (name<TAB>description).
const completionStyleEnv = "RTOOL_COMPLETE"

// staticArgs are the fixed positional arguments of the command at path.
func staticArgs(path string) []string {
	switch path {
	case "completion":
		return []string{"bash", "zsh", "fish"}
	case "schema":
		return []string{"manifest", "runtime", "registry"}
	}
	return nil
}

// completeWords prints the candidates for the last of words, the word
// being typed ("" for a new one), after the words before it (the command
// line without the program name). It prints nothing where a file name or a
// free value is expected, so the shell falls back to file names.
func completeWords(app *cli.App, words []string, w io.Writer, style string) {
	cmds, flags, path := app.Commands, app.Flags, ""
	var cur *cli.Command
	typed, walk := "", words
	if len(words) > 0 {
		typed, walk = words[len(words)-1], words[:len(words)-1]
	}
	typingFlag := strings.HasPrefix(typed, "-")
	positionals := 0
	for i := 0; i < len(walk); i++ {
		a := walk[i]
		if a == "--" {
			return // what follows is a command's own (rtool runtime run)
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			if f := findFlag(flags, strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")); f != nil && takesValue(f) && !strings.Contains(a, "=") {
				if i == len(walk)-1 && !typingFlag {
					return // the word typed is the flag's value: files or free text
				}
				i++
			}
			continue
		}
		if positionals == 0 {
			if c := findCommand(cmds, a); c != nil && !c.Hidden {
				cur, cmds, flags = c, c.Subcommands, c.Flags
				path = strings.TrimSpace(path + " " + c.Name)
				continue
			}
		}
		positionals++
	}
	line := func(name, desc string) {
		switch style {
		case "zsh":
			fmt.Fprintf(w, "%s:%s\n", strings.ReplaceAll(name, ":", `\:`), desc)
		case "fish":
			fmt.Fprintf(w, "%s\t%s\n", name, desc)
		default:
			fmt.Fprintln(w, name)
		}
	}
	if typingFlag {
		for _, f := range flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			desc := ""
			if df, ok := f.(cli.DocGenerationFlag); ok {
				desc = firstLine(df.GetUsage())
			}
			for _, n := range f.Names() {
				if len(n) > 1 {
					line("--"+n, desc)
				}
			}
		}
		line("--help", "show help")
		return
	}
	if positionals > 0 {
		return
	}
	if cur != nil && len(cur.Subcommands) == 0 {
		for _, a := range staticArgs(path) {
			line(a, "")
		}
		return
	}
	for _, c := range cmds {
		if !c.Hidden {
			line(c.Name, firstLine(c.Usage))
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "`", "")
}

// completionCommands returns rtool completion.
func completionCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: "The script asks rtool itself for the candidates (`rtool WORDS... WORD " + completionFlag + "`,\n" +
			"WORD being the word typed so far), so it completes every command, subcommand and flag of the\n" +
			"rtool that is installed; where a file or a value comes, the shell offers file names.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("completion: name one shell: bash, zsh or fish")
			}
			script := completionScript(c.Args().First())
			if script == "" {
				return usageError("completion: unknown shell %q; choose bash, zsh or fish", c.Args().First())
			}
			_, err := io.WriteString(c.App.Writer, script)
			return err
		},
	}}
}

// completionScript is the script for shell ("" for an unknown shell).
// Each calls rtool back for the candidates; none uses eval.
func completionScript(shell string) string {
	switch shell {
	case "bash":
		return bashCompletion
	case "zsh":
		return zshCompletion
	case "fish":
		return fishCompletion
	}
	return ""
}

const bashCompletion = `# bash completion for rtool. Load it with
#   source <(rtool completion bash)
# or save it as /etc/bash_completion.d/rtool (or ~/.local/share/bash-completion/completions/rtool).
_rtool_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}"
	local -a words=("${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur")
	local IFS=$'\n'
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${words[@]}" ` + completionFlag + ` 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _rtool_complete rtool
`

const zshCompletion = `#compdef rtool
# zsh completion for rtool. Load it with
#   source <(rtool completion zsh)
# after compinit, or save it as _rtool in a directory of $fpath.
_rtool() {
	local -a args opts
	args=("${(@)words[2,CURRENT-1]}" "${words[CURRENT]}")
	opts=("${(@f)$(` + completionStyleEnv + `=zsh "${words[1]}" "${args[@]}" ` + completionFlag + ` 2>/dev/null)}")
	if [[ -n "${opts[1]}" ]]; then
		_describe 'rtool' opts
	else
		_files
	fi
}
if [[ "$funcstack[1]" == _rtool ]]; then
	_rtool "$@"
else
	compdef _rtool rtool
fi
`

const fishCompletion = `# fish completion for rtool. Load it with
#   rtool completion fish | source
# or save it as ~/.config/fish/completions/rtool.fish.
function __rtool_candidates
	set -l line (commandline -opc)
	set -l cur (commandline -ct)
	set -l args $line[2..-1] $cur
	env ` + completionStyleEnv + `=fish $line[1] $args ` + completionFlag + ` 2>/dev/null
end
function __rtool_wants_files
	test (count (__rtool_candidates)) -eq 0
end
complete -c rtool -f -a '(__rtool_candidates)'
complete -c rtool -n __rtool_wants_files -F
`

// completionRequest reports whether args (with the program name) ask for
// completion candidates, and the words before the request: the complete
// words, then the word being typed ("" for a new one). After a "--" the
// words are a command's own (rtool runtime run), so nothing is offered.
func completionRequest(args []string) ([]string, bool) {
	if len(args) < 2 || args[len(args)-1] != completionFlag {
		return nil, false
	}
	words := args[1 : len(args)-1]
	for i, a := range words {
		if a == "--" && i < len(words)-1 {
			return []string{"--", ""}, true // completes nothing
		}
	}
	return words, true
}

// completionStyle is the candidate format the calling script asked for.
func completionStyle() string { return os.Getenv(completionStyleEnv) }
