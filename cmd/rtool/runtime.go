package main

import "github.com/urfave/cli/v2"

// runtimeCommands returns the runtime commands. Filled in by the runtime work.
func runtimeCommands() []*cli.Command { return nil }
