package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// baseKeyCommand returns rtool base key: what a CI cache of bases is keyed
// by, known before any base is built (base list shows only cached ones).
func baseKeyCommand(configFlag, cacheFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "key",
		Usage:     "print the configuration hash of each platform's base, built or not (a CI cache key)",
		ArgsUsage: "[PLATFORM...]",
		Description: "For each platform (default: every platform in rtool.yaml) prints PLATFORM, KEY (the hash of the\n" +
			"resolved base configuration, which names the base in the cache), ID (its directory under\n" +
			"CACHE/bases/) and whether it is cached. A base is rebuilt exactly when its key changes.",
		Flags: []cli.Flag{configFlag, cacheFlag, &cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}},
		Action: func(c *cli.Context) error {
			b, err := newBuilder(c)
			if err != nil {
				return err
			}
			refs, err := b.BaseRefs(c.Args().Slice())
			if err != nil {
				return usageError("base key: %v", err)
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, refs)
			}
			for _, r := range refs {
				state := "absent"
				if r.Cached {
					state = "cached"
				}
				fmt.Fprintf(c.App.Writer, "%s\t%s\t%s\t%s\n", r.Platform, r.Key, r.ID, state)
			}
			return nil
		},
	}
}
