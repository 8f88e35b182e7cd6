package main

import (
	"bytes"
	"os"
	"slices"
	"strings"

	"github.com/joblet/rtool/builder"
	"github.com/joblet/rtool/validate"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// validateCommands returns the validate command.
func validateCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "validate",
		Usage:     "check runtime manifests, naming and shell scripts",
		ArgsUsage: "[NAME...]",
		Description: "Checks every runtime under the root (default: the repository's runtimes/), or the named ones.\n" +
			"Exit status: 0 no errors, 1 errors (or warnings with --strict), 2 usage or I/O errors.",
		Flags: append(runtimesFlags(),
			&cli.StringFlag{Name: "format", Value: validate.FormatText, Usage: "output format: " + strings.Join(validate.Formats(), ", ")},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout (--format json)"},
			&cli.BoolFlag{Name: "strict", Usage: "fail (exit 1) on warnings too"},
			&cli.BoolFlag{Name: "manifest-only", Usage: "check manifest.yaml only, not the setup scripts"},
			&cli.BoolFlag{Name: "no-shellcheck", Usage: "do not run shellcheck even when it is installed"},
			&cli.StringFlag{Name: "config", Usage: "build configuration `FILE` whose named_bases a manifest's build.base must name", DefaultText: "rtool.yaml beside the runtimes directory, else at the git top level; without one build.base is checked for its form only"},
		),
		Action: runValidate,
	}}
}

func runValidate(c *cli.Context) error {
	format := c.String("format")
	if c.Bool("json") {
		if c.IsSet("format") && format != validate.FormatJSON {
			return usageError("validate: --json and --format %s exclude each other", format)
		}
		format = validate.FormatJSON
	}
	if !slices.Contains(validate.Formats(), format) {
		return usageError("validate: unknown --format %q; choose one of %s", format, strings.Join(validate.Formats(), ", "))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return usageError("validate: %v", err)
	}
	root := flagString(c, "runtimes", "root")
	if root == "" {
		root = validate.DefaultRoot(c.Context, cwd)
	}
	bases, err := validateBases(c, root)
	if err != nil {
		return usageError("validate: %v", err)
	}
	opts := validate.Options{ManifestOnly: c.Bool("manifest-only"), NoShellcheck: c.Bool("no-shellcheck"), Bases: bases}
	report, err := validate.Root(c.Context, root, c.Args().Slice(), opts)
	if err != nil {
		// an unknown runtime name, a missing root or an I/O failure
		return usageError("validate: %v", err)
	}

	out := c.App.Writer
	switch format {
	case validate.FormatJSON:
		err = validate.WriteJSON(out, report)
	case validate.FormatGitHub:
		// Annotations need paths relative to the repository root.
		if top := validate.GitTopLevel(c.Context, root); top != "" {
			report = report.RelativeTo(top)
		}
		err = validate.WriteGitHub(out, report)
		if path := os.Getenv("GITHUB_STEP_SUMMARY"); err == nil && path != "" {
			var md bytes.Buffer
			if err = validate.WriteMarkdownSummary(&md, report); err == nil {
				err = validate.AppendFile(path, md.Bytes())
			}
		}
	default:
		err = validate.WriteText(out, report, validate.TextOptions{Color: colorOK(out)})
	}
	if err != nil {
		return usageError("validate: write output: %v", err)
	}
	if report.Failed(c.Bool("strict")) {
		return cli.Exit("", exitFindings)
	}
	return nil
}

// validateBases reads the build configuration build.base is checked
// against: --config, else the one builder.FindConfig finds for root; nil
// when there is none.
func validateBases(c *cli.Context, root string) (*validate.Bases, error) {
	path := c.String("config")
	if path == "" {
		path = builder.FindConfig(root, validate.GitTopLevel(c.Context, root))
	}
	if path == "" {
		return nil, nil
	}
	cfg, err := builder.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return &validate.Bases{File: path, Named: cfg.NamedBasePlatforms()}, nil
}

// colorOK reports whether w is a terminal and NO_COLOR is unset.
func colorOK(w any) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
