package main

import (
	"github.com/joblet/rtool/builder"
	"github.com/urfave/cli/v2"
)

// quietFlag and verboseFlag narrow or widen a build's live output; the log
// in OUT/logs/ keeps every line either way.
func quietFlag() cli.Flag {
	return &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "show no build output while building (OUT/logs/ keeps all of it; a failure still shows its last lines)"}
}

func verboseFlag() cli.Flag {
	return &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "also show every line the setup scripts and tools print (otherwise rtool's own steps only)"}
}

// buildOutput is the builder's live output from -q/-v: rtool's own steps
// unless asked; a command without these flags shows everything, as it did
// before they existed.
func buildOutput(c *cli.Context) (builder.Output, error) {
	if c.Command == nil || !hasFlag(c.Command.Flags, "quiet") {
		return builder.OutputAll, nil
	}
	q, v := c.Bool("quiet"), c.Bool("verbose")
	switch {
	case q && v:
		return 0, usageError("%s: -q and -v exclude each other", c.Command.Name)
	case q:
		return builder.OutputNone, nil
	case v:
		return builder.OutputAll, nil
	}
	return builder.OutputSteps, nil
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
