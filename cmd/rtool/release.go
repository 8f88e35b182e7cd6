package main

import "github.com/urfave/cli/v2"

// releaseCommands returns the release commands. Filled in by the release work.
func releaseCommands() []*cli.Command { return nil }
