package main

import "github.com/urfave/cli/v2"

// validateCommands returns the validate commands. Filled in by the validate work.
func validateCommands() []*cli.Command { return nil }
