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
		Name:                 "rtool",
		Usage:                "validate, build, release and install Joblet runtimes",
		Version:              toolVersion(),
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // exit codes are decided in run
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("usage: %v (see --help)", err), exitUsage)
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
	} {
		app.Commands = append(app.Commands, group...)
	}
	setUsageErrors(app.Commands)
	return app
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
