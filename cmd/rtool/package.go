package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/urfave/cli/v2"
)

// packageCommands returns the package command.
func packageCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "package",
		Usage:     "pack a directory into a reproducible .tar.gz (+ .sha256)",
		ArgsUsage: "DIR",
		Description: "Packs DIR the way artifacts are packed: sorted entries, owner 0:0, mtimes clamped to\n" +
			"SOURCE_DATE_EPOCH (default: $SOURCE_DATE_EPOCH, else the last git commit touching DIR,\n" +
			"else 0), modes normalised (directories 0755, files 0644 or 0755 when any execute bit is set;\n" +
			"each change is a warning on stderr, or in \"warnings\" with --json), parallel gzip with\n" +
			"output identical for every -j. FILE and FILE.sha256 are replaced together or not at all.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `FILE.tar.gz` (required)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "compression blocks in flight (0 = number of CPUs); does not change the output"},
			&cli.StringFlag{Name: "source-date-epoch", Usage: "clamp mtimes to `SECONDS` since 1970"},
			&cli.StringFlag{Name: "prefix", Usage: "top-level directory `NAME/` for every entry (source packages)"},
			&cli.StringFlag{Name: "link-root", Usage: "resolve absolute symlinks against `DIR` (a chroot) instead of /"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("package: want exactly one DIR, got %d arguments", c.NArg())
			}
			dir := c.Args().First()
			out := c.String("output")
			if out == "" {
				return usageError("package: -o FILE.tar.gz is required")
			}
			env := os.Getenv("SOURCE_DATE_EPOCH")
			if c.IsSet("source-date-epoch") {
				env = c.String("source-date-epoch")
				if _, err := strconv.ParseInt(env, 10, 64); err != nil {
					return usageError("--source-date-epoch %q: want seconds since 1970", env)
				}
			}
			epoch, _, err := archive.SourceDateEpoch(c.Context, dir, env)
			if err != nil {
				return usageError("%v", err)
			}
			warnings := []string{}
			warn := func(msg string) { fmt.Fprintln(c.App.ErrWriter, "rtool: warning:", msg) }
			if c.Bool("json") {
				warn = func(msg string) { warnings = append(warnings, msg) }
			}
			st, err := archive.PackFile(c.Context, dir, out, archive.PackOptions{
				SourceDateEpoch: epoch,
				Concurrency:     c.Int("jobs"),
				Prefix:          c.String("prefix"),
				LinkRoot:        c.String("link-root"),
				Warn:            warn,
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, struct {
					Path            string `json:"path"`
					SourceDateEpoch int64  `json:"source_date_epoch"`
					archive.Stats
					Warnings []string `json:"warnings"`
				}{out, epoch.Unix(), st, warnings})
			}
			fmt.Fprintf(c.App.Writer, "path:          %s\nsha256:        %s\nsize:          %d\nunpacked_size: %d\nentries:       %d\nmtime clamp:   %s\n",
				out, st.SHA256, st.Size, st.UnpackedSize, st.Entries, epoch.UTC().Format(time.RFC3339))
			return nil
		},
	}}
}
