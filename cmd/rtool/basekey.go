package main

import (
	"fmt"

	"github.com/joblet/rtool/builder"
	"github.com/joblet/rtool/schema"
	"github.com/urfave/cli/v2"
)

// baseFlag selects bases by name in rtool base key and rtool base build.
func baseFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "base", Usage: "only the base called `NAME` (repeatable): " + schema.DefaultBaseName + " is the platform's own base (rtool.yaml's bases), any other NAME a key of named_bases"}
}

// baseKeyCommand returns rtool base key: what a CI cache of bases is keyed
// by, known before any base is built (base list shows only cached ones).
func baseKeyCommand(configFlag, cacheFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "key",
		Usage:     "print the configuration hash of each base, built or not (a CI cache key)",
		ArgsUsage: "[PLATFORM...]",
		Description: "For each base of the platforms (default: every platform in rtool.yaml), the platform's default\n" +
			"base first, then its named bases (named_bases), prints PLATFORM, BASE (default or the name),\n" +
			"KEY (the hash of the resolved base configuration, which names the base in the cache), ID (its\n" +
			"directory under CACHE/bases/) and whether it is cached. A base is rebuilt exactly when its key\n" +
			"changes. --base NAME keeps only those bases; --runtime NAME prints instead the base each of\n" +
			"those runtimes builds on (its manifest's build.base, else the default), for each platform it\n" +
			"would be built for, which is what a CI build job restores.",
		Flags: []cli.Flag{configFlag, cacheFlag, baseFlag(),
			&cli.StringSliceFlag{Name: "runtime", Usage: "the base runtime `NAME` (under --runtimes, or a path) builds on (repeatable)"},
			runtimesFlags()[0],
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}},
		Action: func(c *cli.Context) error {
			b, cfg, err := newBuilderConfig(c)
			if err != nil {
				return err
			}
			var refs []builder.BaseRef
			if rts := c.StringSlice("runtime"); len(rts) > 0 {
				if c.IsSet("base") {
					return usageError("base key: --runtime and --base exclude each other (a runtime's manifest names its base)")
				}
				rtDir, err := runtimesDir(c)
				if err != nil {
					return usageError("base key: %v", err)
				}
				reqs, _, err := cfg.Plan(builder.PlanOptions{RuntimesDir: rtDir, Names: rts, Platforms: c.Args().Slice()})
				if err != nil {
					return usageError("base key: %v", err)
				}
				refs, err = b.RuntimeBaseRefs(reqs)
				if err != nil {
					return usageError("base key: %v", err)
				}
			} else {
				refs, err = b.BaseRefs(c.Args().Slice(), c.StringSlice("base"))
				if err != nil {
					return usageError("base key: %v", err)
				}
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, refs)
			}
			for _, r := range refs {
				state := "absent"
				if r.Cached {
					state = "cached"
				}
				fmt.Fprintf(c.App.Writer, "%s\t%s\t%s\t%s\t%s\n", r.Platform, r.Base, r.Key, r.ID, state)
			}
			return nil
		},
	}
}

// baseBuildCommand returns rtool base build: bootstrap bases ahead of the
// builds that need them.
func baseBuildCommand(configFlag, cacheFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "bootstrap bases now (default: the default base of every platform in rtool.yaml)",
		ArgsUsage: "[PLATFORM...]",
		Description: "Bootstraps into the cache, unless it is there already, the default base of each platform\n" +
			"(default: every platform with one); --base NAME (repeatable) bootstraps the named base(s)\n" +
			"instead (" + schema.DefaultBaseName + " is the default base; without platforms, every platform the base has);\n" +
			"--all-bases every base of the platforms, default and named. Prints PLATFORM, BASE, the first\n" +
			"16 digits of its key and its root filesystem.",
		Flags: []cli.Flag{configFlag, cacheFlag, baseFlag(),
			&cli.BoolFlag{Name: "all-bases", Usage: "every base of the platforms: each platform's own base and its named bases"}},
		Action: func(c *cli.Context) error {
			b, cfg, err := newBuilderConfig(c)
			if err != nil {
				return err
			}
			names := c.StringSlice("base")
			switch {
			case c.Bool("all-bases") && len(names) > 0:
				return usageError("base build: --all-bases and --base exclude each other")
			case c.Bool("all-bases"):
				names = nil
			case len(names) == 0:
				names = []string{schema.DefaultBaseName}
			}
			sels, err := cfg.SelectBases(c.Args().Slice(), names)
			if err != nil {
				return usageError("base build: %v", err)
			}
			for _, s := range sels {
				dir, hash, err := b.EnsureBase(c.Context, s.Platform, s.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "%s\t%s\t%s\t%s\n", s.Platform, s.Name, hash[:16], dir)
			}
			return nil
		},
	}
}
