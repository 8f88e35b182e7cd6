package main

import "github.com/urfave/cli/v2"

// buildCommands returns the build commands. Filled in by the build work.
func buildCommands() []*cli.Command { return nil }
