package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/builder"
	"github.com/joblet/rtool/consumer"
	"github.com/joblet/rtool/internal/provenance"
	"github.com/joblet/rtool/schema"
)

// runtimeCommands returns `rtool runtime ...` and `rtool test`.
func runtimeCommands() []*cli.Command {
	rootFlag := &cli.StringFlag{Name: "root", Value: consumer.DefaultRoot, Usage: "install root `DIR`", EnvVars: []string{"RTOOL_RUNTIMES_ROOT"}}
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}
	platformFlag := &cli.StringFlag{Name: "platform", Usage: "`PLATFORM` to install for (default: detected from /etc/os-release and uname -m)"}
	jobletFlag := &cli.BoolFlag{Name: "joblet", Usage: "read the one registry exactly as a Joblet node's client does (see the command's description)"}
	registryFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "registry", Usage: "registry `LOCATION`: a registry.json file or directory, an http(s) URL, or owner/repo on GitHub (repeatable, searched in order)"},
		rnxConfigFlags()[0], rnxConfigFlags()[1],
		&cli.StringFlag{Name: "github-raw-base", Hidden: true, EnvVars: []string{"RTOOL_GITHUB_RAW_BASE"}, Usage: "base URL for owner/repo registries"},
	}
	registryFlags = append(registryFlags, networkFlags()...)
	return []*cli.Command{
		{
			Name:  "runtime",
			Usage: "install, list, inspect, remove and run runtimes as Joblet does",
			Subcommands: []*cli.Command{
				{
					Name:      "install",
					Usage:     "download, verify and install a runtime",
					ArgsUsage: "NAME[@latest|@X.Y.Z|@RANGE]",
					Description: "Resolves the spec in the registries (highest stable non-yanked version with an artifact for\n" +
						"the platform for NAME and @latest; exact versions may be yanked; ranges like ^1.2, ~1.3.0,\n" +
						"\">=1.0 <2.0\"), streams the artifact through sha256, a size cap and the hardened extractor\n" +
						"into a staging directory, checks runtime.yml, and renames it to ROOT/NAME/VERSION/ (Joblet's\n" +
						"layout; an old flat ROOT/NAME-VERSION/ of the same version is left, shadowed).\n\n" +
						provenanceHelp + "\n\n" + jobletHelp,
					Flags: append([]cli.Flag{rootFlag, platformFlag, jsonFlag, jobletFlag,
						&cli.BoolFlag{Name: "force", Usage: "replace an existing install (atomically)"},
						&cli.BoolFlag{Name: "require-provenance", Usage: "refuse an artifact whose registry entry names no Sigstore bundle (a bundle that is named is always verified)"},
						&cli.StringFlag{Name: "provenance-repository", Usage: "`OWNER/REPO` whose release workflow must have signed (default: the registry config's provenance.repository, else the registry's own owner/repo)"},
						&cli.StringFlag{Name: "trusted-root", Usage: "Sigstore trusted_root.json `FILE` to verify bundles with (default: the config's provenance.trusted_root, else the embedded public-good root)"},
					}, registryFlags...),
					Action: runtimeInstall,
				},
				{
					Name:  "list",
					Usage: "list installed runtimes (or, with --available, the registry's)",
					Flags: append([]cli.Flag{rootFlag, platformFlag, jsonFlag, jobletFlag,
						&cli.BoolFlag{Name: "available", Usage: "list the versions in the registries instead"},
					}, registryFlags...),
					Action: runtimeList,
				},
				{
					Name:      "info",
					Usage:     "show a runtime's versions, what a spec resolves to, and what is installed",
					ArgsUsage: "NAME[@SPEC]",
					Flags:     append([]cli.Flag{rootFlag, platformFlag, jsonFlag, jobletFlag}, registryFlags...),
					Action:    runtimeInfo,
				},
				{
					Name:      "remove",
					Usage:     "remove an installed runtime version (ROOT/NAME/VERSION and an old flat ROOT/NAME-VERSION)",
					ArgsUsage: "NAME@X.Y.Z",
					Flags:     []cli.Flag{rootFlag, jsonFlag},
					Action:    runtimeRemove,
				},
				{
					Name:      "verify",
					Usage:     "re-hash installed runtimes against their install records (exit 1 on any difference)",
					ArgsUsage: "NAME[@SPEC] | --all",
					Description: "Every install rtool makes holds an install record, ROOT/NAME/VERSION/" + consumer.RecordFile + ": the\n" +
						"artifact's sha256 and size, the registry, the time, and each file's path, type, mode, size and sha256\n" +
						"(symlinks: target). verify reads every file again and lists each one missing, extra or different;\n" +
						"an install without a record (an older rtool, another installer) is reported unverified. Exit 1 when\n" +
						"any install is not exactly what its record says.",
					Flags: []cli.Flag{rootFlag, jsonFlag,
						&cli.BoolFlag{Name: "all", Usage: "verify every install under --root"},
					},
					Action: runtimeVerify,
				},
				{
					Name:      "run",
					Usage:     "run a command confined by bubblewrap with an installed runtime mounted (as root)",
					ArgsUsage: "NAME[@SPEC] -- CMD [ARG...]",
					Description: "bubblewrap (bwrap) pivots into a size-bounded tmpfs root with new mount, PID, IPC, UTS, cgroup\n" +
						"and network namespaces, /proc (with /proc/sys read-only), a minimal read-only /dev and a tmpfs /tmp;\n" +
						"each runtime.yml mount is bound at its target (nosuid, nodev, read-only when it says so). CMD runs\n" +
						"as uid:gid 65534 (--user), the same IDs on the host, with no capabilities, no_new_privs, a seccomp\n" +
						"filter and only runtime.yml's environment and --env. Exits with CMD's exit code.",
					Flags: []cli.Flag{rootFlag,
						&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `KEY=VALUE` in the job (repeatable)"},
						&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the job (default /)"},
						&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Value: "65534:65534", Usage: "run the job as `UID[:GID]` (numbers, not 0; the same IDs on the host)"},
						&cli.StringFlag{Name: "network", Value: "none", Usage: "`MODE`: none (only a loopback interface of the job's own) or host (share the host's network)"},
					},
					Action: runtimeRun,
				},
			},
		},
		{
			Name:      "test",
			Usage:     "build a runtime (or reuse its artifact), install it in a temporary root and run its smoke tests",
			ArgsUsage: "NAME",
			Flags: []cli.Flag{platformFlag, jsonFlag,
				runtimesFlags()[0],
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "out", Usage: "build output `DIR`"},
				&cli.StringFlag{Name: "artifact", Usage: "test this artifact `FILE` instead of building"},
				&cli.StringFlag{Name: "config", Value: builder.ConfigFile, Usage: "build configuration `FILE`"},
				&cli.StringFlag{Name: "cache", Usage: "build cache `DIR` (default $RTOOL_CACHE, else /var/cache/rtool)"},
				&cli.DurationFlag{Name: "timeout", Usage: "time limit `DURATION` for one setup script such as 45m", DefaultText: "the manifest's build.timeout, else 30m"},
				&cli.BoolFlag{Name: "rebuild", Usage: "build even when the inputs did not change"},
			},
			Action: runtimeTest,
		},
	}
}

// jobletHelp describes --joblet for install, info and list --available.
const jobletHelp = "--joblet reads the registry exactly as a Joblet node's client does, to prove what a node would\n" +
	"install: one registry; https://github.com/OWNER/REPO and OWNER/REPO mean\n" +
	"<raw>/OWNER/REPO/main/registry.json, any other http(s) URL means URL/registry.json (so give the\n" +
	"directory, e.g. http://HOST/platforms/debian-arm64, never .../registry.json); a local directory\n" +
	"or file is rtool's extension. Only the version key and the top-level download_url, checksum and\n" +
	"size are read: artifacts, platforms and yanked are ignored (@latest is the highest plain X.Y.Z key,\n" +
	"even a yanked one; no ranges). download_url must be absolute http(s) (a local registry may name\n" +
	"local files, with a note). The archive is read as Joblet's extractor reads it: an optional single\n" +
	"wrapper directory, runtime.yml at the root; a source package (setup.sh, which Joblet would run on\n" +
	"the node) and entries Joblet drops (hardlinks) are refused."

// provenanceHelp describes the bundle check of install.
const provenanceHelp = "Provenance: when the registry entry's artifact names a Sigstore bundle (attestation), it is verified\n" +
	"before anything is downloaded: the certificate must be issued to GitHub Actions for the repository\n" +
	"(--provenance-repository, the config's provenance.repository, else the registry's owner/repo) and its\n" +
	"release workflow at the tag refs/tags/NAME@VERSION (provenance.workflow, default\n" +
	".github/workflows/release-runtime.yml), or its bulk workflow at a tag with the subject named\n" +
	"NAME-VERSION-PLATFORM.tar.gz (provenance.bulk_workflow, default .github/workflows/release-all.yml), valid\n" +
	"when the signature was logged; the signed SLSA provenance must name the registry's sha256 of the artifact,\n" +
	"which the download must then match. A bundle that fails stops the install; a missing one is a warning,\n" +
	"or an error with --require-provenance or provenance.require in the config."

// installOptions builds consumer options from the shared flags.
func installOptions(c *cli.Context) (consumer.InstallOptions, error) {
	srcs, err := consumer.PickSources(c.StringSlice("registry"), flagString(c, "rnx-config", "config"))
	if err != nil {
		return consumer.InstallOptions{}, usageError("%v", err)
	}
	if c.Bool("joblet") && len(srcs) != 1 {
		return consumer.InstallOptions{}, usageError("--joblet reads exactly one registry, as a Joblet node does; got %d: pass one --registry", len(srcs))
	}
	platform := c.String("platform")
	if platform != "" {
		if _, err := schema.ParsePlatform(platform); err != nil {
			return consumer.InstallOptions{}, usageError("--platform: %v", err)
		}
	}
	o := consumer.InstallOptions{
		Root:       c.String("root"),
		Platform:   platform,
		Force:      c.Bool("force"),
		Registries: srcs,
		Sources:    consumer.Sources{GitHubRawBase: c.String("github-raw-base")},
		Mode:       jobletMode(c),
		Warn:       func(s string) { fmt.Fprintln(c.App.ErrWriter, "rtool: warning:", s) },
		Provenance: consumer.ProvenanceOptions{
			Require:     c.Bool("require-provenance"),
			Repository:  c.String("provenance-repository"),
			TrustedRoot: c.String("trusted-root"),
		},
	}
	if r := o.Provenance.Repository; r != "" {
		if err := (provenance.Policy{Repository: r}).WithDefaults().Check(); err != nil {
			return consumer.InstallOptions{}, usageError("--provenance-repository: %v", err)
		}
	}
	if f := o.Provenance.TrustedRoot; f != "" {
		if _, err := provenance.LoadTrustedRoot(f); err != nil {
			return consumer.InstallOptions{}, usageError("--trusted-root: %v", err)
		}
	}
	if err := applyNetworkFlags(c, &o); err != nil {
		return consumer.InstallOptions{}, err
	}
	if showProgress(c) {
		o.Progress = c.App.ErrWriter
	}
	return o, nil
}

func jobletMode(c *cli.Context) consumer.Mode {
	if c.Bool("joblet") {
		return consumer.ModeJoblet
	}
	return consumer.ModeRtool
}

// showProgress: only on a terminal stderr, and not with NO_COLOR.
func showProgress(c *cli.Context) bool {
	f, ok := c.App.ErrWriter.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageError("%s: want exactly one %s, got %d arguments", c.Command.FullName(), what, c.NArg())
	}
	return c.Args().First(), nil
}

func runtimeInstall(c *cli.Context) error {
	spec, err := oneArg(c, "NAME[@VERSION]")
	if err != nil {
		return err
	}
	if _, err := consumer.ParseSpec(spec); err != nil {
		return usageError("%v", err)
	}
	o, err := installOptions(c)
	if err != nil {
		return err
	}
	if o.Mode == consumer.ModeJoblet && o.Platform != "" {
		o.Warn("--platform is ignored with --joblet: a Joblet node installs the entry's top-level download_url whatever its platform")
	}
	warned := map[string]bool{}
	warn := o.Warn
	o.Warn = func(s string) { warned[s] = true; warn(s) }
	got, err := consumer.Install(c.Context, spec, o)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, got)
	}
	if p := got.Joblet; p != nil {
		fmt.Fprintf(c.App.ErrWriter, "rtool: Joblet's client picks %s@%s for %s from %s\n  download_url: %s\n  checksum:     %s\n  size:         %d\n",
			got.Name, p.Version, p.Spec, p.Registry, p.DownloadURL, p.Checksum, p.Size)
		for _, n := range p.Notes {
			if !warned[n] { // warnings were printed already
				fmt.Fprintf(c.App.ErrWriter, "  note: %s\n", n)
			}
		}
	}
	if p := got.Provenance; p != nil && p.Verified != nil {
		v := p.Verified
		fmt.Fprintf(c.App.ErrWriter, "rtool: provenance verified: %s signed by %s (commit %s, signed %s)\n",
			v.Digest, v.Signer, v.Commit, v.SignedAt.Format(time.RFC3339))
	}
	if got.ShadowedFlat != "" {
		fmt.Fprintf(c.App.ErrWriter, "rtool: the flat install %s is now shadowed by %s\n", got.ShadowedFlat, got.Dir)
	}
	how := got.Platform
	if got.Joblet != nil {
		how = "as a Joblet node would"
	}
	switch {
	case got.AlreadyInstalled:
		fmt.Fprintf(c.App.ErrWriter, "rtool: %s@%s is already installed (use --force to reinstall)\n", got.Name, got.Version)
	case got.Replaced:
		fmt.Fprintf(c.App.ErrWriter, "rtool: replaced %s@%s (%s, %d files)\n", got.Name, got.Version, how, got.Entries)
	default:
		fmt.Fprintf(c.App.ErrWriter, "rtool: installed %s@%s (%s, %d files)\n", got.Name, got.Version, how, got.Entries)
	}
	fmt.Fprintln(c.App.Writer, got.Dir)
	return nil
}

// fetchRegistries loads every registry the flags and config name, and the
// platform to resolve for (--platform, else the host's).
func fetchRegistries(c *cli.Context) ([]*consumer.Loaded, string, error) {
	o, err := installOptions(c)
	if err != nil {
		return nil, "", err
	}
	platform, err := detectOr(c)
	if err != nil {
		return nil, "", err
	}
	regs, err := o.Sources.FetchAll(c.Context, o.Registries, o.Warn)
	return regs, platform, err
}

func detectOr(c *cli.Context) (string, error) {
	if p := c.String("platform"); p != "" {
		if _, err := schema.ParsePlatform(p); err != nil {
			return "", usageError("--platform: %v", err)
		}
		return p, nil
	}
	return consumer.DetectPlatform()
}

func runtimeList(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError("runtime list takes no arguments")
	}
	if c.Bool("available") && c.Bool("joblet") {
		l, err := fetchJoblet(c)
		if err != nil {
			return err
		}
		av := consumer.AvailableJoblet(l, "")
		if c.Bool("json") {
			if av == nil {
				av = []consumer.AvailableVersion{}
			}
			return writeJSON(c.App.Writer, av)
		}
		printAvailableJoblet(c.App.Writer, av)
		return nil
	}
	if c.Bool("available") {
		regs, platform, err := fetchRegistries(c)
		if err != nil {
			return err
		}
		av := consumer.Available(regs, "", platform)
		if c.Bool("json") {
			if av == nil {
				av = []consumer.AvailableVersion{}
			}
			return writeJSON(c.App.Writer, av)
		}
		printAvailable(c.App.Writer, av, platform)
		return nil
	}
	list, err := consumer.ListInstalled(c.String("root"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if list == nil {
			list = []consumer.InstalledRuntime{}
		}
		return writeJSON(c.App.Writer, list)
	}
	root := c.String("root")
	for _, r := range list {
		if r.Problem != "" {
			rel, err := filepath.Rel(root, r.Dir)
			if err != nil {
				rel = r.Dir
			}
			fmt.Fprintf(c.App.Writer, "%s\tBROKEN: %s\n", rel, r.Problem)
			continue
		}
		line := fmt.Sprintf("%s\t%s\t%s", r.Name, r.Version, r.Dir)
		if r.Layout == consumer.LayoutFlat {
			line += "\t(old flat layout"
			if r.ShadowedBy != "" {
				line += "; shadowed by " + r.ShadowedBy + ", which rtool and Joblet use"
			}
			line += ")"
		}
		fmt.Fprintln(c.App.Writer, line)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "rtool: no runtimes installed in %s\n", c.String("root"))
	}
	return nil
}

// fetchJoblet loads the one registry of the flags or config as Joblet's
// client reads it.
func fetchJoblet(c *cli.Context) (*consumer.JobletLoaded, error) {
	o, err := installOptions(c)
	if err != nil {
		return nil, err
	}
	return o.Sources.FetchJoblet(c.Context, o.Registries[0])
}

// printAvailableJoblet prints versions as Joblet's client sees them.
func printAvailableJoblet(w io.Writer, av []consumer.AvailableVersion) {
	for _, v := range av {
		var notes []string
		if v.Latest {
			notes = append(notes, "Joblet's latest")
		}
		if !v.HasArtifact {
			notes = append(notes, "no download_url")
		}
		if v.Yanked != "" {
			notes = append(notes, "yanked, which Joblet ignores: "+v.Yanked)
		}
		line := v.Name + "\t" + v.Version
		if len(notes) > 0 {
			line += "\t(" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

func printAvailable(w io.Writer, av []consumer.AvailableVersion, platform string) {
	for _, v := range av {
		var notes []string
		if !v.HasArtifact {
			notes = append(notes, "no artifact for "+platform)
		}
		if v.Yanked != "" {
			notes = append(notes, "yanked: "+v.Yanked)
		}
		line := fmt.Sprintf("%s\t%s\t%s", v.Name, v.Version, strings.Join(v.Platforms, ","))
		if len(notes) > 0 {
			line += "\t(" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

func runtimeInfo(c *cli.Context) error {
	arg, err := oneArg(c, "NAME[@SPEC]")
	if err != nil {
		return err
	}
	spec, err := consumer.ParseSpec(arg)
	if err != nil {
		return usageError("%v", err)
	}
	info := struct {
		Name      string                      `json:"name"`
		Spec      string                      `json:"spec"`
		Platform  string                      `json:"platform"`
		Mode      consumer.Mode               `json:"mode,omitempty"`
		Resolved  *consumer.Resolved          `json:"resolved,omitempty"`
		Error     string                      `json:"error,omitempty"`
		SBOM      *consumer.SBOM              `json:"sbom,omitempty"`
		SBOMError string                      `json:"sbom_error,omitempty"`
		Versions  []consumer.AvailableVersion `json:"versions"`
		Installed []consumer.InstalledRuntime `json:"installed"`
	}{Name: spec.Name, Spec: spec.String(), Mode: jobletMode(c)}
	var platform string
	var r *consumer.Resolved
	var rerr error
	if info.Mode == consumer.ModeJoblet {
		l, err := fetchJoblet(c)
		if err != nil {
			return err
		}
		info.Versions = consumer.AvailableJoblet(l, spec.Name)
		r, rerr = consumer.ResolveJoblet(l, spec)
	} else {
		var regs []*consumer.Loaded
		if regs, platform, err = fetchRegistries(c); err != nil {
			return err
		}
		info.Platform, info.Versions = platform, consumer.Available(regs, spec.Name, platform)
		r, rerr = consumer.Resolve(regs, spec, platform)
	}
	if rerr != nil {
		info.Error = rerr.Error()
	} else {
		info.Resolved = r
	}
	var sbomErr error
	if r != nil && info.Mode != consumer.ModeJoblet {
		o, err := installOptions(c)
		if err != nil {
			return err
		}
		if info.SBOM, sbomErr = o.Sources.FetchSBOM(c.Context, r); sbomErr != nil {
			info.SBOMError = sbomErr.Error()
		}
	}
	all, err := consumer.ListInstalled(c.String("root"))
	if err != nil {
		return err
	}
	info.Installed = []consumer.InstalledRuntime{}
	for _, ir := range all {
		if ir.Name == spec.Name && ir.Problem == "" {
			info.Installed = append(info.Installed, ir)
		}
	}
	if info.Versions == nil {
		info.Versions = []consumer.AvailableVersion{}
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, info); err != nil {
			return err
		}
	} else {
		w := c.App.Writer
		switch {
		case r != nil && r.Joblet != nil:
			p := r.Joblet
			fmt.Fprintf(w, "%s resolves to %s as Joblet's client picks it\n  download_url: %s\n  checksum:     %s\n  size:         %d\n  registry:     %s\n",
				spec, p.Version, p.DownloadURL, p.Checksum, p.Size, p.Registry)
			for _, n := range p.Notes {
				fmt.Fprintf(w, "  note: %s\n", n)
			}
		case r != nil:
			fmt.Fprintf(w, "%s resolves to %s for %s\n  url:      %s\n  checksum: %s\n  size:     %d\n  registry: %s\n",
				spec, r.Version, platform, r.URL, r.Checksum, r.Size, r.Registry)
			if r.Entry != nil && r.Entry.Description != "" {
				fmt.Fprintf(w, "  description: %s\n", r.Entry.Description)
			}
			printSBOM(w, info.SBOM, sbomErr)
		}
		if len(info.Versions) > 0 {
			fmt.Fprintln(w, "versions:")
			if info.Mode == consumer.ModeJoblet {
				printAvailableJoblet(w, info.Versions)
			} else {
				printAvailable(w, info.Versions, platform)
			}
		}
		fmt.Fprintln(w, "installed:")
		for _, ir := range info.Installed {
			note := ""
			if ir.ShadowedBy != "" {
				note = "\t(old flat layout, shadowed)"
			} else if ir.Layout == consumer.LayoutFlat {
				note = "\t(old flat layout)"
			}
			fmt.Fprintf(w, "  %s\t%s%s\n", ir.Version, ir.Dir, note)
		}
	}
	if rerr != nil {
		return rerr
	}
	return sbomErr
}

// printSBOM shows a resolved version's SBOM: where it is, how many
// packages of each kind, and every package with its version and licence.
func printSBOM(w io.Writer, sb *consumer.SBOM, err error) {
	switch {
	case err != nil:
		fmt.Fprintf(w, "  sbom:     error: %v\n", err)
		return
	case sb == nil:
		fmt.Fprintln(w, "  sbom:     none (the registry names no sbom for this artifact)")
		return
	}
	s := sb.Summary
	var counts []string
	for _, t := range []string{"deb", "pypi", "npm"} {
		if n := s.Counts[t]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, t))
		}
	}
	fmt.Fprintf(w, "  sbom:     %s (%s; describes %s sha256:%s)\n", sb.URL, strings.Join(counts, ", "), s.Subject.File, s.Subject.SHA256)
	for _, p := range s.Packages {
		name := p.Name
		if p.Arch != "" {
			name += ":" + p.Arch
		}
		fmt.Fprintf(w, "    %s\t%s\t%s\t%s\n", p.Type, name, p.Version, p.License)
	}
}

func runtimeRemove(c *cli.Context) error {
	arg, err := oneArg(c, "NAME@X.Y.Z")
	if err != nil {
		return err
	}
	tag, err := schema.ParseTag(arg)
	if err != nil {
		return usageError("runtime remove: %q is not NAME@X.Y.Z: remove needs an exact version, for example %s@1.0.0 (see rtool runtime list)", arg, strings.SplitN(arg, "@", 2)[0])
	}
	dirs, err := consumer.Remove(c.Context, c.String("root"), tag.Name, tag.Version)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, map[string]any{"name": tag.Name, "version": tag.Version, "removed": dirs})
	}
	for _, d := range dirs {
		fmt.Fprintf(c.App.ErrWriter, "rtool: removed %s\n", d)
	}
	return nil
}

// verifyInstallsResult is the --json output of runtime verify.
type verifyInstallsResult struct {
	Root     string                  `json:"root"`
	OK       bool                    `json:"ok"`
	Installs []consumer.InstallCheck `json:"installs"`
}

func runtimeVerify(c *cli.Context) error {
	root := c.String("root")
	var checks []consumer.InstallCheck
	switch {
	case c.Bool("all") && c.NArg() > 0:
		return usageError("runtime verify: give NAME@VERSION or --all, not both")
	case c.Bool("all"):
		all, err := consumer.VerifyAllInstalls(c.Context, root)
		if err != nil {
			return err
		}
		checks = all
	default:
		arg, err := oneArg(c, "NAME@VERSION (or --all)")
		if err != nil {
			return err
		}
		spec, err := consumer.ParseSpec(arg)
		if err != nil {
			return usageError("runtime verify: %v", err)
		}
		one, err := consumer.VerifyInstall(c.Context, root, spec)
		if err != nil {
			return err
		}
		checks = []consumer.InstallCheck{*one}
	}
	res := verifyInstallsResult{Root: root, OK: true, Installs: checks}
	for i := range checks {
		res.OK = res.OK && checks[i].OK()
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		w := c.App.Writer
		for _, ch := range checks {
			head := fmt.Sprintf("%s@%s (%s): %s", ch.Name, ch.Version, ch.Dir, ch.Status)
			if ch.Name == "" {
				head = fmt.Sprintf("%s: %s", ch.Dir, ch.Status)
			}
			switch {
			case ch.OK():
				fmt.Fprintf(w, "%s: %d files match the install record (artifact %s from %s, installed %s)\n", head, ch.Files, ch.Checksum, ch.Registry, ch.InstalledAt)
			default:
				fmt.Fprintf(w, "%s: %s\n", head, ch.Message)
			}
			for _, d := range ch.Differences {
				fmt.Fprintf(w, "  %s\n", d)
			}
		}
		if len(checks) == 0 {
			fmt.Fprintf(c.App.ErrWriter, "rtool: no runtime is installed in %s\n", root)
		}
	}
	if !res.OK {
		return cli.Exit("", exitFindings)
	}
	return nil
}

func runtimeRun(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 || args[0] == "--" {
		return usageError("runtime run: want NAME[@SPEC] -- CMD [ARG...]")
	}
	spec, cmd := args[0], args[1:]
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 {
		return usageError("runtime run: no command; write it after --, for example: rtool runtime run %s -- sh -c 'echo hi'", spec)
	}
	if _, err := consumer.ParseSpec(spec); err != nil {
		return usageError("%v", err)
	}
	uid, gid, err := consumer.ParseUser(c.String("user"))
	if err != nil {
		return usageError("%v", err)
	}
	var hostNetwork bool
	switch c.String("network") {
	case "none":
	case "host":
		hostNetwork = true
	default:
		return usageError("--network %q: use none (the default: only a loopback interface) or host", c.String("network"))
	}
	code, err := consumer.Run(c.Context, consumer.RunOptions{
		Root: c.String("root"), Spec: spec, Args: cmd, Env: c.StringSlice("env"), Dir: c.String("workdir"),
		UID: uid, GID: gid, HostNetwork: hostNetwork,
		Stdin: os.Stdin, Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

func runtimeTest(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	if err := schema.CheckName(name); err != nil {
		return usageError("%v", err)
	}
	rtDir, err := runtimesDir(c)
	if err != nil {
		return usageError("test: %v", err)
	}
	rdir := filepath.Join(rtDir, name)
	m, err := schema.ReadManifest(rdir)
	if err != nil {
		return usageError("test: %v", err)
	}
	platform, err := detectOr(c)
	if err != nil {
		return err
	}
	var art *consumer.Resolved
	if p := c.String("artifact"); p != "" {
		st, err := fileStats(p)
		if err != nil {
			return usageError("--artifact: %v", err)
		}
		art = consumer.LocalArtifact(p, m.Name, m.Version, platform, st)
	} else {
		b, err := newBuilder(c)
		if err != nil {
			return err
		}
		res, err := b.Build(c.Context, builder.Request{RuntimeDir: rdir, Platform: platform, OutDir: c.String("out"), Rebuild: c.Bool("rebuild")})
		if err != nil {
			return err
		}
		if res.Skipped {
			fmt.Fprintf(c.App.ErrWriter, "rtool: reusing %s (inputs unchanged)\n", res.ArtifactPath)
		}
		art = consumer.LocalArtifact(res.ArtifactPath, res.Name, res.Version, platform, res.Stats)
	}
	root, err := os.MkdirTemp("", "rtool-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	// Jobs run as uid 65534, which must be able to enter the install root.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	if _, err := consumer.InstallResolved(c.Context, art, consumer.InstallOptions{Root: root, Platform: platform}); err != nil {
		return err
	}
	if len(m.Smoke) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "rtool: %s installs and verifies; its manifest has no smoke tests to run\n", name)
		return nil
	}
	results, err := consumer.RunSmoke(c.Context, root, art.Name+"@"+art.Version, m.Smoke)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Passed {
				fmt.Fprintf(c.App.Writer, "PASS %s\n", r.Name)
				continue
			}
			fmt.Fprintf(c.App.Writer, "FAIL %s: %s\n", r.Name, r.Reason)
			if s := strings.TrimSpace(r.Stderr); s != "" {
				fmt.Fprintf(c.App.Writer, "     stderr: %s\n", firstLines(s, 5))
			}
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "rtool: %s@%s on %s: %d passed, %d failed\n", art.Name, art.Version, platform, len(results)-failed, failed)
	if failed > 0 {
		return cli.Exit("", exitFindings)
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n             ")
}

// fileStats hashes an artifact on disk for --artifact (unpacked size and
// entries unknown: the extractor's absolute ceilings apply).
func fileStats(path string) (archive.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return archive.Stats{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return archive.Stats{}, err
	}
	if n == 0 {
		return archive.Stats{}, errors.New(path + " is empty")
	}
	return archive.Stats{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
