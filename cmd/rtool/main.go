// Command rtool validates, builds, packages, registers, releases and
// installs Joblet runtimes. This package only parses flags, wires packages
// together and formats output; all behaviour lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/joblet/rtool/internal/sandbox"
	"github.com/urfave/cli/v2"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFindings = 1 // the command ran and found problems (validation errors, failed build)
	exitUsage    = 2 // bad flags or arguments, or I/O errors before any work
)

func main() {
	// A sandbox child (builder setup scripts, runtime run) never returns from here.
	sandbox.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes rtool with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if words, ok := completionRequest(args); ok {
		completeWords(app, words, stdout, completionStyle())
		return exitOK
	}
	err := app.RunContext(ctx, permuteArgs(app, args))
	if err == nil {
		return exitOK
	}
	// A failed child process (git, bash) also satisfies cli.ExitCoder; its
	// exit status is not rtool's, and its message is the useful part.
	var ec cli.ExitCoder
	var childExit *exec.ExitError
	if errors.As(err, &ec) && !errors.As(err, &childExit) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(stderr, "rtool:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "rtool:", err)
	return exitFindings
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "rtool",
		Usage:   "validate, build, release and install Joblet runtimes",
		Version: toolVersion(),
		// --version without urfave's -v alias: -v is build's --verbose
		HideVersion: true,
		Flags:       []cli.Flag{&cli.BoolFlag{Name: "version", Usage: "print the version (rtool version says more)"}},
		Writer:      stdout,
		ErrWriter:   stderr,
		// completion requests (--generate-bash-completion) are answered
		// in run from the command tree; see completion.go
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {}, // exit codes are decided in run
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("usage: %v (see --help)", err), exitUsage)
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				_, err := fmt.Fprintf(c.App.Writer, "rtool version %s\n", c.App.Version)
				return err
			}
			return unknownCommand(c)
		},
	}
	for _, group := range [][]*cli.Command{
		validateCommands(),
		schemaCommands(),
		registryCommands(),
		packageCommands(),
		buildCommands(),
		runtimeCommands(),
		releaseCommands(),
		versionCommands(),
		completionCommands(),
	} {
		app.Commands = append(app.Commands, group...)
	}
	setUsageErrors(app.Commands)
	setUnknownCommands(app.Commands)
	setDeprecationNotes(app.Commands)
	setExamples(app, commandExamples())
	return app
}

// setUnknownCommands gives every command that has subcommands and no action
// of its own the unknown-command handler, so `rtool registry ad` exits 2
// with a suggestion instead of urfave's "No help topic" (exit 3).
func setUnknownCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		if len(c.Subcommands) > 0 && c.Action == nil {
			c.Action = unknownCommand
		}
		setUnknownCommands(c.Subcommands)
	}
}

// unknownCommand runs where a command was expected: with no argument it
// shows the help (exit 0); with one that names no command it exits 2,
// suggesting the closest command names.
func unknownCommand(c *cli.Context) error {
	cmds, path := c.App.Commands, c.App.Name
	if c.Command != nil && c.Command.HelpName != "" && c.Command.HelpName != c.App.HelpName {
		cmds, path = c.Command.Subcommands, c.Command.HelpName
	}
	if c.NArg() == 0 {
		if path == c.App.Name {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	name := c.Args().First()
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden && cmd.Name != "help" {
			names = append(names, cmd.Name)
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, path)
	if s := suggest(name, names); len(s) > 0 {
		msg += "; did you mean " + quoteJoin(s) + "?"
	}
	return usageError("%s (%s --help lists the commands)", msg, path)
}

// setUsageErrors makes flag errors of every command exit with exitUsage.
func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return cli.Exit(fmt.Sprintf("usage: %v (see --help)", err), exitUsage)
			}
		}
		setUsageErrors(c.Subcommands)
	}
}

// usageError returns an error that exits with exitUsage.
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), exitUsage)
}
