package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permuteArgs lets flags follow positional arguments, as people type them
// (rtool runtime install python-3.11@latest --root /tmp/rt). urfave/cli v2
// stops reading flags at the first positional argument, so this moves every
// flag in front of the positional arguments of the command it belongs to,
// keeping flag values with their flags. Everything after "--" is left as is.
func permuteArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	type level struct {
		name  string // "" for the app itself
		flags []cli.Flag
		out   []string // flags for this level
	}
	levels := []*level{{flags: app.Flags}}
	commands := app.Commands
	var positionals, tail []string

	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			tail = args[i:]
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			name, hasValue := strings.TrimLeft(a, "-"), false
			if j := strings.IndexByte(name, '='); j >= 0 {
				name, hasValue = name[:j], true
			}
			// the innermost level that knows the flag owns it
			owner := levels[len(levels)-1]
			var flag cli.Flag
			for k := len(levels) - 1; k >= 0; k-- {
				if f := findFlag(levels[k].flags, name); f != nil {
					owner, flag = levels[k], f
					break
				}
			}
			owner.out = append(owner.out, a)
			if flag != nil && !hasValue && takesValue(flag) && i+1 < len(args) {
				i++
				owner.out = append(owner.out, args[i])
			}
			continue
		}
		if len(positionals) == 0 {
			if c := findCommand(commands, a); c != nil {
				levels = append(levels, &level{name: a, flags: c.Flags})
				commands = c.Subcommands
				continue
			}
		}
		positionals = append(positionals, a)
	}

	out := []string{args[0]}
	for _, l := range levels {
		if l.name != "" {
			out = append(out, l.name)
		}
		out = append(out, l.out...)
	}
	out = append(out, positionals...)
	return append(out, tail...)
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	if name == "help" || name == "h" {
		return cli.HelpFlag
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		for _, n := range c.Names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if dg, ok := f.(cli.DocGenerationFlag); ok {
		return dg.TakesValue()
	}
	return false
}
