package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/joblet/rtool/builder"
	"github.com/joblet/rtool/internal/intoto"
	"github.com/urfave/cli/v2"
)

// buildCommands returns rtool build and rtool base.
func buildCommands() []*cli.Command {
	configFlag := &cli.StringFlag{Name: "config", Value: builder.ConfigFile, Usage: "build configuration `FILE` (bases per platform)"}
	cacheFlag := &cli.StringFlag{Name: "cache", Usage: "cache `DIR` for bases and build work (default $RTOOL_CACHE, else /var/cache/rtool)"}
	return []*cli.Command{
		{
			Name:      "build",
			Usage:     "build runtimes in a chroot over a cached base and package them (as root)",
			ArgsUsage: "NAME... | --all",
			Description: "For each runtime and platform: an overlay over the platform's base (rtool.yaml's bases, or\n" +
				"named_bases.NAME.<platform> when the manifest says build.base: NAME), new mount\n" +
				"and PID namespaces, setup-<platform>.sh run with RUNTIME_NAME, RUNTIME_VERSION, RUNTIME_SPEC,\n" +
				"BUILD_ID, SOURCE_DATE_EPOCH and PLATFORM; then /opt/joblet/runtimes/<name>/ is collected,\n" +
				"its runtime.yml checked, and packed into OUT/<name>-<version>-<platform>.tar.gz (+ .sha256)\n" +
				"plus the source package OUT/<name>-<version>.tar.gz. Beside each artifact go its SBOM\n" +
				"(<artifact>.spdx.json, SPDX 2.3: the Debian packages owning its files, pip and npm packages)\n" +
				"and its provenance (<artifact>.intoto.json, an in-toto statement with SLSA provenance v1).\n" +
				"Logs go to OUT/logs/. Builds whose inputs did not change are skipped (--rebuild forces them).",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "all", Usage: "build every runtime under --runtimes"},
				&cli.StringSliceFlag{Name: "platform", Aliases: []string{"p"}, Usage: "build only for `PLATFORM` (repeatable; default: every platform the manifest lists that has a base)"},
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "out", Usage: "output `DIR`"},
				&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "run up to `N` builds at once"},
				&cli.BoolFlag{Name: "rebuild", Usage: "build even when the inputs did not change"},
				&cli.BoolFlag{Name: "check-reproducible", Usage: "build twice and name every file that differs; then no artifact is left in OUT (both are kept in OUT/logs/)"},
				&cli.DurationFlag{Name: "timeout", Usage: "time limit `DURATION` for one setup script such as 45m", DefaultText: "the manifest's build.timeout, else 30m"},
				runtimesFlags()[0],
				&cli.BoolFlag{Name: "json", Usage: "print the results as JSON"},
				&cli.BoolFlag{Name: "dry-run", Usage: "build nothing: print, per runtime and platform, whether its artifact would be reused or built and whether its base is cached"},
				configFlag, cacheFlag, quietFlag(), verboseFlag(),
			},
			Action: buildAction,
		},
		{
			Name:  "base",
			Usage: "manage the cached base root filesystems",
			Subcommands: []*cli.Command{
				{
					Name:  "list",
					Usage: "list cached bases (current: rtool.yaml still configures it, as a default or a named base)",
					Flags: []cli.Flag{configFlag, cacheFlag, &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
					Action: func(c *cli.Context) error {
						b, err := newBuilder(c)
						if err != nil {
							return err
						}
						infos, err := b.ListBases()
						if err != nil {
							return err
						}
						if c.Bool("json") {
							if infos == nil {
								infos = []builder.BaseInfo{}
							}
							return writeJSON(c.App.Writer, infos)
						}
						for _, i := range infos {
							cur := "stale"
							if i.Current {
								cur = "current"
							}
							fmt.Fprintf(c.App.Writer, "%s\t%s\t%s\t%s\t%d MB\t%s\t%s\n", i.ID, i.Platform, i.Base, cur, i.Size>>20, i.CreatedAt.Format(time.RFC3339), i.Source)
						}
						if len(infos) == 0 {
							fmt.Fprintf(c.App.ErrWriter, "rtool: no bases in %s\n", b.CacheDir())
						}
						return nil
					},
				},
				baseBuildCommand(configFlag, cacheFlag),
				baseKeyCommand(configFlag, cacheFlag),
				{
					Name:  "prune",
					Usage: "remove bases rtool.yaml no longer configures (as a default or a named base) and leftovers of interrupted builds",
					Flags: []cli.Flag{configFlag, cacheFlag, &cli.BoolFlag{Name: "all", Usage: "remove every cached base"}},
					Action: func(c *cli.Context) error {
						b, err := newBuilder(c)
						if err != nil {
							return err
						}
						removed, err := b.PruneBases(c.Bool("all"))
						for _, r := range removed {
							fmt.Fprintln(c.App.Writer, "removed", r)
						}
						return err
					},
				},
			},
		},
	}
}

func newBuilder(c *cli.Context) (*builder.Builder, error) {
	b, _, err := newBuilderConfig(c)
	return b, err
}

func newBuilderConfig(c *cli.Context) (*builder.Builder, *builder.Config, error) {
	cfg, err := builder.LoadConfig(c.String("config"))
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	timeout := time.Duration(0)
	if c.IsSet("timeout") {
		timeout = c.Duration("timeout")
		if timeout <= 0 {
			return nil, nil, usageError("--timeout must be positive")
		}
	}
	output, err := buildOutput(c)
	if err != nil {
		return nil, nil, err
	}
	b := builder.New(cfg, builder.Options{
		Output:          output,
		CacheDir:        c.String("cache"),
		ToolVersion:     buildToolVersion(),
		Stderr:          c.App.ErrWriter,
		Timeout:         timeout,
		SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"),
		BuilderID:       intoto.BuilderID(os.Getenv),
		Repository:      intoto.RepositoryFromEnv(os.Getenv),
	})
	return b, cfg, nil
}

func buildAction(c *cli.Context) error {
	if c.Int("jobs") < 1 {
		return usageError("build: -j must be at least 1")
	}
	b, cfg, err := newBuilderConfig(c)
	if err != nil {
		return err
	}
	rtDir, err := runtimesDir(c)
	if err != nil {
		return usageError("build: %v", err)
	}
	reqs, notes, err := cfg.Plan(builder.PlanOptions{
		RuntimesDir: rtDir,
		Names:       c.Args().Slice(),
		All:         c.Bool("all"),
		Platforms:   c.StringSlice("platform"),
		OutDir:      c.String("out"),
		Rebuild:     c.Bool("rebuild"),
	})
	if err != nil {
		return usageError("build: %v", err)
	}
	for _, n := range notes {
		fmt.Fprintln(c.App.ErrWriter, "rtool: note:", n)
	}
	if len(reqs) == 0 {
		return usageError("build: nothing to build")
	}
	if c.Bool("dry-run") {
		return buildDryRun(c, b, reqs)
	}
	var results []*builder.Result
	failed := 0
	if c.Bool("check-reproducible") {
		// Sequential: each check is two builds already. A failed check
		// (builds that differ, or either build failing) leaves no artifact
		// and is not reported as built.
		var errs []error
		for _, r := range reqs {
			res, err := b.CheckReproducible(c.Context, r)
			if err != nil {
				failed++
				errs = append(errs, err)
				continue
			}
			results = append(results, res)
		}
		err = errors.Join(errs...)
	} else {
		results, err = b.BuildAll(c.Context, reqs, c.Int("jobs"))
		for _, r := range results {
			if r == nil {
				failed++
			}
		}
	}
	done := make([]*builder.Result, 0, len(results))
	for _, r := range results {
		if r != nil {
			done = append(done, r)
		}
	}
	if c.Bool("json") {
		if jerr := writeJSON(c.App.Writer, done); jerr != nil {
			return jerr
		}
	} else {
		for _, r := range done {
			state := "built"
			if r.Skipped {
				state = "unchanged"
			}
			fmt.Fprintf(c.App.Writer, "%s\t%s\tsha256:%s\t%d\n", state, r.ArtifactPath, r.Stats.SHA256, r.Stats.Size)
		}
	}
	if err != nil {
		return fmt.Errorf("%d of %d builds failed:\n%s", failed, len(reqs), buildIndent(err.Error()))
	}
	if cerr := c.Context.Err(); cerr != nil { // Ctrl-C after the last build returned
		return fmt.Errorf("build interrupted: %w", cerr)
	}
	return nil
}

func buildIndent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// buildDryRun prints what rtool build would do for reqs, building nothing.
func buildDryRun(c *cli.Context, b *builder.Builder, reqs []builder.Request) error {
	previews := make([]*builder.Preview, 0, len(reqs))
	for _, r := range reqs {
		p, err := b.Preview(c.Context, r)
		if err != nil {
			return usageError("build: %v", err)
		}
		previews = append(previews, p)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, previews)
	}
	for _, p := range previews {
		action, base := "build", "cached"
		if p.Reuse {
			action = "reuse"
		}
		if !p.BaseCached {
			base = "to bootstrap"
		}
		fmt.Fprintf(c.App.Writer, "%s\t%s@%s\t%s\tbase %s (%s)\t%s\n", action, p.Name, p.Version, p.Platform, p.Base, base, p.Artifact)
	}
	return nil
}
