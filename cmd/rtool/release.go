package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/builder"
	"github.com/joblet/rtool/release"
	"github.com/joblet/rtool/validate"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// releaseCommands returns rtool release, rtool publish and rtool plan.
func releaseCommands() []*cli.Command {
	runtimesFlag, oldRootFlag := runtimesFlags()[0], runtimesFlags()[1]
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}
	return []*cli.Command{
		{
			Name:      "release",
			Usage:     "tag a runtime's current version (NAME@VERSION) and push the tag",
			ArgsUsage: "NAME",
			Description: "Validates the runtime, refuses uncommitted changes to its directory and an existing tag\n" +
				"(local or on the remote; shown with its commit, author and date), then creates the annotated\n" +
				"tag NAME@VERSION on HEAD listing runtime, version and platforms, and pushes it. The tag push\n" +
				"starts the release workflow. --force moves an existing tag after asking (--yes: no question;\n" +
				"without a terminal and without --yes it refuses).",
			Flags: []cli.Flag{
				runtimesFlag, oldRootFlag, jsonFlag,
				&cli.StringFlag{Name: "remote", Value: "origin", Usage: "git `REMOTE` to check and push the tag to"},
				&cli.BoolFlag{Name: "force", Usage: "recreate an existing tag (asks first)"},
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask before --force"},
				&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would happen, change nothing"},
			},
			Action: releaseAction,
		},
		{
			Name:  "publish",
			Usage: "publish a tagged release: files, registry.json commit (CI)",
			Description: "Checks the manifest version against --tag, takes the artifacts the build jobs made (--artifacts)\n" +
				"or builds them, packs the source package if it is not among them, publishes every file\n" +
				"(GitHub release, or a static directory with --publisher dir), merges them into the freshest\n" +
				"registry.json of --branch and pushes that commit without force, retrying when another\n" +
				"release got there first. A re-run is safe: identical files and entries count as done.",
			Flags: []cli.Flag{
				runtimesFlag, oldRootFlag, jsonFlag,
				&cli.StringFlag{Name: "tag", Usage: "release `TAG` NAME@X.Y.Z", EnvVars: []string{"GITHUB_REF_NAME"}},
				&cli.StringFlag{Name: "artifacts", Usage: "`DIR` with <name>-<version>-<platform>.tar.gz (+ source package) built earlier; default: build here"},
				&cli.StringFlag{Name: "publisher", Value: "github", Usage: "where files go: github or dir"},
				&cli.StringFlag{Name: "dir", Usage: "dir publisher: output `DIR` (<dir>/<tag>/<file>)"},
				&cli.StringFlag{Name: "base-url", Usage: "dir publisher: `URL` the directory is served at"},
				&cli.StringFlag{Name: "repo", Usage: "github publisher: `OWNER/REPO`", EnvVars: []string{"GITHUB_REPOSITORY"}},
				&cli.StringFlag{Name: "github-api", Usage: "github publisher: GitHub Enterprise API `URL`", EnvVars: []string{"GITHUB_API_URL"}},
				stallTimeoutFlag(), apiAttemptsFlag(),
				&cli.StringFlag{Name: "registry", Value: "registry.json", Usage: "registry `PATH` in the repository"},
				&cli.StringFlag{Name: "remote", Value: "origin", Usage: "git `REMOTE` to push registry.json to"},
				&cli.StringFlag{Name: "branch", Value: "main", Usage: "`BRANCH` registry.json is committed to"},
				&cli.StringSliceFlag{Name: "view-repo", Usage: "also push the `PLATFORM=GIT_URL` view as the root registry.json on --view-branch of that repository, for Joblet nodes whose rnx can only name owner/repo (repeatable; $RTOOL_VIEW_TOKEN authenticates https pushes there)"},
				&cli.StringFlag{Name: "view-branch", Value: "main", Usage: "`BRANCH` of the --view-repo repositories (Joblet reads main)"},
				&cli.IntFlag{Name: "attempts", Value: 10, Usage: "give up after `N` rejected pushes"},
				&cli.BoolFlag{Name: "force", Usage: "replace differing published files and checksums (recorded in registry.json); lists each replacement and asks"},
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "with --force: replace without asking (needed without a terminal)"},
				&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the release and the registry diff, change nothing"},
				&cli.StringFlag{Name: "config", Value: builder.ConfigFile, Usage: "build configuration `FILE` (without --artifacts)"},
				&cli.StringFlag{Name: "cache", Usage: "build cache `DIR` (without --artifacts)"},
			},
			Action: publishAction,
		},
		{
			Name:  "plan",
			Usage: "list the runtimes × platforms to build (GitHub Actions matrix)",
			Description: "--since REF: runtimes with files changed since REF; --tag NAME@X.Y.Z: that runtime\n" +
				"(runtimes-YYYY.MM.DD: every runtime); --all: every runtime. --format github-matrix prints\n" +
				`{"include":[{"runtime","version","platform","runner"},...]} on one line for $GITHUB_OUTPUT.`,
			Flags: []cli.Flag{
				runtimesFlag, oldRootFlag, jsonFlag,
				&cli.StringFlag{Name: "since", Usage: "plan runtimes changed since git `REF`"},
				&cli.StringFlag{Name: "tag", Usage: "plan the runtime of `TAG` NAME@X.Y.Z (runtimes-YYYY.MM.DD: every runtime)"},
				&cli.BoolFlag{Name: "all", Usage: "plan every runtime"},
				&cli.StringFlag{Name: "format", Value: "github-matrix", Usage: "github-matrix or json"},
				&cli.StringFlag{Name: "runner-amd64", Value: release.DefaultRunners()["amd64"], Usage: "runner `LABEL` for amd64 platforms"},
				&cli.StringFlag{Name: "runner-arm64", Value: release.DefaultRunners()["arm64"], Usage: "runner `LABEL` for arm64 platforms"},
			},
			Action: planAction,
		},
	}
}

// runtimesRoot is the runtimes directory (see runtimesDir).
func runtimesRoot(c *cli.Context) (string, error) {
	return runtimesDir(c)
}

// stepSummary appends markdown to $GITHUB_STEP_SUMMARY when it is set.
func stepSummary(c *cli.Context, markdown string) {
	if err := release.AppendSummary(os.Getenv("GITHUB_STEP_SUMMARY"), markdown); err != nil {
		fmt.Fprintln(c.App.ErrWriter, "rtool: warning:", err)
	}
}

func releaseAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("release: name exactly one runtime (rtool release NAME)")
	}
	name := c.Args().First()
	root, err := runtimesRoot(c)
	if err != nil {
		return usageError("release: %v", err)
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err != nil {
		return usageError("release: no runtime %q under %s", name, root)
	}
	stdin := os.Stdin
	res, err := release.CreateTag(c.Context, release.TagOptions{
		Git:         release.Git{Dir: dir},
		RuntimeDir:  dir,
		Name:        name,
		Remote:      c.String("remote"),
		Force:       c.Bool("force"),
		Yes:         c.Bool("yes"),
		DryRun:      c.Bool("dry-run"),
		Interactive: term.IsTerminal(int(stdin.Fd())),
		Confirm:     func(q string) (bool, error) { return confirm(c.App.ErrWriter, stdin, q) },
		Validate: func(ctx context.Context, d string) error {
			return validateForRelease(ctx, c.App.ErrWriter, filepath.Dir(d), filepath.Base(d))
		},
		Log: c.App.ErrWriter,
	})
	if err != nil {
		stepSummary(c, fmt.Sprintf("### rtool release %s failed\n\n```\n%v\n```\n", name, err))
		return err
	}
	var md strings.Builder
	if res.DryRun {
		fmt.Fprintf(&md, "### Dry run: would release %s\n\n", res.Tag)
	} else {
		fmt.Fprintf(&md, "### Released %s\n\n", res.Tag)
	}
	fmt.Fprintf(&md, "- commit `%s`\n- platforms: %s\n", res.Commit, strings.Join(res.Platforms, ", "))
	for _, r := range res.Replaced {
		fmt.Fprintf(&md, "- replaces %s\n", r)
	}
	stepSummary(c, md.String())
	if c.Bool("json") {
		return writeJSON(c.App.Writer, res)
	}
	out := c.App.Writer
	if res.DryRun {
		fmt.Fprintf(out, "dry run: would release %s at %s for %s\n", res.Tag, res.Commit, strings.Join(res.Platforms, ", "))
		for _, r := range res.Replaced {
			fmt.Fprintf(out, "  replacing the existing tag (%s)\n", r)
		}
		for _, a := range res.Actions {
			fmt.Fprintf(out, "  %s\n", a)
		}
		return nil
	}
	fmt.Fprintf(out, "%s\n", res.Tag)
	return nil
}

// validateForRelease runs every validate rule on one runtime and prints
// the findings; errors (not warnings) stop the release.
func validateForRelease(ctx context.Context, w io.Writer, root, name string) error {
	report, err := validate.Root(ctx, root, []string{name}, validate.Options{})
	if err != nil {
		return err
	}
	if report.Summary.Errors == 0 && report.Summary.Warnings == 0 {
		return nil
	}
	if err := validate.WriteText(w, report, validate.TextOptions{Color: colorOK(w)}); err != nil {
		return err
	}
	if report.Failed(false) {
		return fmt.Errorf("%s does not validate (%s); fix it before releasing", name, report.SummaryLine())
	}
	return nil
}

// confirm asks q on w and reads yes/no from r.
func confirm(w io.Writer, r io.Reader, q string) (bool, error) {
	fmt.Fprintf(w, "%s [y/N] ", q)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func publishAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError("publish: unexpected argument %q; the release is --tag NAME@VERSION", c.Args().First())
	}
	if c.String("tag") == "" {
		return usageError("publish: --tag NAME@VERSION is required")
	}
	if c.Int("attempts") < 1 {
		return usageError("publish: --attempts must be at least 1")
	}
	root, err := runtimesRoot(c)
	if err != nil {
		return usageError("publish: %v", err)
	}
	top := validate.GitTopLevel(c.Context, root)
	if top == "" {
		return usageError("publish: %s is not inside a git clone; registry.json is committed from one", root)
	}
	var pub release.Publisher
	switch c.String("publisher") {
	case "github":
		ghOpts, err := githubNetworkOptions(c, release.GitHubOptions{
			Repo: c.String("repo"), Token: os.Getenv("GITHUB_TOKEN"), APIURL: c.String("github-api"),
		})
		if err != nil {
			return err
		}
		gh, err := release.NewGitHubPublisher(ghOpts)
		if err != nil {
			if c.Bool("dry-run") && c.String("repo") != "" {
				// a dry run needs no token
				ghOpts.Token = "dry-run"
				gh, err = release.NewGitHubPublisher(ghOpts)
			}
			if err != nil {
				return usageError("publish: %v", err)
			}
		}
		gh.Log = c.App.ErrWriter
		pub = gh
	case "dir":
		if c.String("dir") == "" || c.String("base-url") == "" {
			return usageError("publish: --publisher dir needs --dir PATH and --base-url URL")
		}
		pub = &release.DirPublisher{Dir: c.String("dir"), BaseURL: c.String("base-url")}
	default:
		return usageError("publish: unknown --publisher %q; choose github or dir", c.String("publisher"))
	}
	opts := release.PublishOptions{
		Tag: c.String("tag"), RuntimesDir: root, ArtifactsDir: c.String("artifacts"), Publisher: pub,
		Repo: release.Git{Dir: top}, Remote: c.String("remote"), Branch: c.String("branch"),
		RegistryPath: c.String("registry"), MaxAttempts: c.Int("attempts"),
		Force: c.Bool("force"), DryRun: c.Bool("dry-run"), Log: c.App.ErrWriter,
		ViewBranch: c.String("view-branch"),
		ViewToken:  os.Getenv("RTOOL_VIEW_TOKEN"),
		ConfirmReplace: release.ConfirmReplacements(c.Bool("yes"), term.IsTerminal(int(os.Stdin.Fd())),
			func(q string) (bool, error) { return confirm(c.App.ErrWriter, os.Stdin, q) }, c.App.ErrWriter),
	}
	for _, kv := range c.StringSlice("view-repo") {
		platform, url, ok := strings.Cut(kv, "=")
		if !ok || platform == "" || url == "" {
			return usageError("publish: --view-repo %q: want PLATFORM=GIT_URL, e.g. debian-arm64=https://github.com/OWNER/REPO-arm64.git", kv)
		}
		if opts.ViewRepos == nil {
			opts.ViewRepos = map[string]string{}
		}
		if _, dup := opts.ViewRepos[platform]; dup {
			return usageError("publish: --view-repo names %s twice", platform)
		}
		opts.ViewRepos[platform] = url
	}
	if opts.ArtifactsDir == "" && opts.DryRun {
		return usageError("publish: --dry-run needs --artifacts DIR (building is not a dry run): rtool build NAME --out out, then rtool publish --artifacts out --dry-run")
	}
	if opts.ArtifactsDir == "" {
		b, err := newBuilder(c)
		if err != nil {
			return err
		}
		opts.Build = func(ctx context.Context, runtimeDir, platform, outDir string) (string, error) {
			r, err := b.Build(ctx, builder.Request{RuntimeDir: runtimeDir, Platform: platform, OutDir: outDir, Rebuild: true})
			if err != nil {
				return "", err
			}
			return r.ArtifactPath, nil
		}
	}
	res, err := release.Publish(c.Context, opts)
	if err != nil {
		stepSummary(c, fmt.Sprintf("### rtool publish %s failed\n\n```\n%v\n```\n", c.String("tag"), err))
		return err
	}
	stepSummary(c, release.PublishSummary(res))
	if c.Bool("json") {
		return writeJSON(c.App.Writer, res)
	}
	out := c.App.Writer
	verb := "published"
	if res.DryRun {
		verb = "dry run: would publish"
	}
	fmt.Fprintf(out, "%s %s with the %s publisher:\n", verb, res.Tag, res.Publisher)
	for _, a := range res.Assets {
		fmt.Fprintf(out, "  %-10s %s (%d bytes, sha256 %s)\n", a.State, a.URL, a.Size, a.SHA256)
	}
	switch {
	case res.Commit.Unchanged:
		fmt.Fprintf(out, "%s already lists %s\n", opts.RegistryPath, res.Tag)
	case res.DryRun:
		fmt.Fprintf(out, "%s would change:\n", opts.RegistryPath)
		return res.Diff.WriteText(out)
	default:
		fmt.Fprintf(out, "%s committed to %s as %s:\n", opts.RegistryPath, opts.Branch, res.Commit.Commit)
		return res.Diff.WriteText(out)
	}
	return nil
}

func planAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError("plan: unexpected argument %q", c.Args().First())
	}
	format := c.String("format")
	if c.Bool("json") {
		if c.IsSet("format") && format != "json" {
			return usageError("plan: --json and --format %s exclude each other", format)
		}
		format = "json"
	}
	if format != "github-matrix" && format != "json" {
		return usageError("plan: unknown --format %q; choose github-matrix or json", format)
	}
	n := 0
	for _, set := range []bool{c.String("since") != "", c.String("tag") != "", c.Bool("all")} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageError("plan: give exactly one of --since REF, --tag NAME@VERSION or --all")
	}
	root, err := runtimesRoot(c)
	if err != nil {
		return usageError("plan: %v", err)
	}
	items, err := release.Plan(c.Context, release.PlanOptions{
		RuntimesDir: root, Since: c.String("since"), Tag: c.String("tag"), All: c.Bool("all"),
		Runners: map[string]string{"amd64": c.String("runner-amd64"), "arm64": c.String("runner-arm64")},
	})
	if err != nil {
		stepSummary(c, fmt.Sprintf("### rtool plan failed\n\n```\n%v\n```\n", err))
		return err
	}
	stepSummary(c, release.PlanSummary(items))
	if format == "json" {
		if items == nil {
			items = []release.PlanItem{}
		}
		return writeJSON(c.App.Writer, items)
	}
	b, err := release.MatrixJSON(items)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
	return err
}
