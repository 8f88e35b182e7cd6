package main

import "github.com/urfave/cli/v2"

// registryCommands returns the registry commands. Filled in by the registry work.
func registryCommands() []*cli.Command { return nil }
