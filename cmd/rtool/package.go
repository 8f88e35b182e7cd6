package main

import "github.com/urfave/cli/v2"

// packageCommands returns the package commands. Filled in by the package work.
func packageCommands() []*cli.Command { return nil }
