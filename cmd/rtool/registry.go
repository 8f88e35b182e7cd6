package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/release"
	"github.com/joblet/rtool/schema"
	"github.com/urfave/cli/v2"
)

// registryCommands returns `rtool registry add|merge|verify|diff|yank`.
func registryCommands() []*cli.Command {
	registryFlag := &cli.StringFlag{Name: "registry", Usage: "registry.json to work on (required)"}
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "machine-readable output on stdout"}
	timeFlag := &cli.StringFlag{Name: "time", Usage: "time to record, RFC 3339 (default: now)"}
	forceFlag := &cli.BoolFlag{Name: "force", Usage: "replace a differing checksum of a published version (recorded in the entry's \"forced\" list)"}
	return []*cli.Command{{
		Name:  "registry",
		Usage: "add to, merge, verify, diff and yank in registry.json without ever losing history",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "measure release files and merge one version into the registry",
				Description: "Computes sha256 and size of each file (and, for artifacts, unpacked size and entry count)\n" +
					"and merges the version into --registry (created if missing), then rewrites the per-platform\n" +
					"views beside it (platforms/<platform>/registry.json, what Joblet nodes of that platform read).\n\n" +
					"The top-level download_url/checksum/size (what Joblet's installer downloads) point at the\n" +
					"prebuilt artifact of the first of --supports (the primary platform); --source is recorded under\n" +
					"source_package. A per-platform fragment without the primary artifact leaves the top level empty\n" +
					"until the primary's fragment is merged.\n\n" +
					"--url is a template: {name}, {version}, {platform}, {file}, {tag} (= name@version), e.g.\n" +
					"https://github.com/OWNER/REPO/releases/download/{tag}/{file}; a URL without placeholders is a\n" +
					"base to which /{file} is appended; '{file}' alone names files beside the registry (relative\n" +
					"URLs: rtool resolves them, Joblet nodes need absolute ones). The same version with a different\n" +
					"checksum is refused (the file is left untouched) unless --force.\n" +
					"Exit status: 0 ok, 1 refused, 2 usage or I/O errors.",
				Flags: []cli.Flag{
					registryFlag,
					&cli.StringFlag{Name: "manifest", Usage: "runtime `DIR` (or its manifest.yaml) to take --name, --version, --description and --supports from"},
					&cli.StringFlag{Name: "name", Usage: "runtime name (required unless --manifest)"},
					&cli.StringFlag{Name: "version", Usage: "version X.Y.Z (required unless --manifest)"},
					&cli.StringFlag{Name: "description", Usage: "description of the version"},
					&cli.StringSliceFlag{Name: "supports", Usage: "`PLATFORMS` the version supports, in the manifest's order", DefaultText: "the --platform values"},
					deprecatedSliceFlag("platforms", "supports"),
					&cli.StringFlag{Name: "source", Usage: "the source package <name>-<version>.tar.gz (upstream's download)"},
					&cli.StringSliceFlag{Name: "platform", Usage: "platform of the following --artifact (repeatable, paired in order; default: read from canonical artifact names)"},
					&cli.StringSliceFlag{Name: "artifact", Usage: "prebuilt artifact .tar.gz for the matching --platform (repeatable); <name>-<version>-<platform>.tar.gz needs no --platform"},
					&cli.StringFlag{Name: "url", Usage: "download URL or URL template (required)"},
					forceFlag, timeFlag, jsonFlag,
				},
				Action: runRegistryAdd,
			},
			{
				Name:      "merge",
				Usage:     "merge registry fragments (what matrix jobs produce) into the registry",
				ArgsUsage: "FRAGMENT...",
				Description: "Merges every fragment, in order, into --registry (created if missing). Nothing is ever removed;\n" +
					"fragments merge to the same bytes in any order. A conflict leaves the file untouched.\n" +
					"Exit status: 0 ok, 1 conflict or broken input, 2 usage or I/O errors.",
				Flags:  []cli.Flag{registryFlag, forceFlag, timeFlag, jsonFlag},
				Action: runRegistryMerge,
			},
			{
				Name:  "verify",
				Usage: "check the registry's schema and consistency, and that it kept its history",
				Description: "With --previous (e.g. the base branch's registry.json) fails listing every version or artifact\n" +
					"that disappeared or changed checksum, and every released_at that changed. With --artifacts re-hashes\n" +
					"the files in DIR named by the download URLs' base names; a file that differs or is no readable .tar.gz\n" +
					"is a problem. Exit status: 0 ok, 1 problems, 2 usage or I/O errors.",
				Flags: []cli.Flag{
					registryFlag,
					&cli.StringFlag{Name: "previous", Usage: "an older registry.json whose versions must all still be there, unchanged"},
					&cli.StringFlag{Name: "artifacts", Usage: "directory of release files to re-hash"},
					jsonFlag,
				},
				Action: runRegistryVerify,
			},
			{
				Name:        "diff",
				Usage:       "show versions added, yanked, lost and changed between two registries",
				ArgsUsage:   "OLD NEW",
				Description: "Exit status: 0 (whatever the differences), 1 unreadable registry, 2 usage errors.",
				Flags:       []cli.Flag{jsonFlag},
				Action:      runRegistryDiff,
			},
			{
				Name:      "yank",
				Usage:     "withdraw a version from @latest and ranges (it stays installable by exact version)",
				ArgsUsage: "NAME@VERSION",
				Flags: []cli.Flag{
					registryFlag,
					&cli.StringFlag{Name: "reason", Usage: "why (kept in the registry; required)"},
					timeFlag, jsonFlag,
				},
				Action: runRegistryYank,
			},
		},
	}}
}

// requireFlags returns a usage error (exit 2) naming the first missing flag.
func requireFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if c.String(n) == "" {
			return usageError("registry %s: --%s is required (see --help)", c.Command.Name, n)
		}
	}
	return nil
}

// registryTime reads --time, defaulting to now.
func registryTime(c *cli.Context) (time.Time, error) {
	s := c.String("time")
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError("--time %q: want RFC 3339 such as 2025-12-02T17:41:44Z", s)
	}
	return t.UTC(), nil
}

// loadOrNew loads path, or returns an empty registry when it does not
// exist yet. A broken registry is a finding (exit 1).
func loadOrNew(path string) (*schema.Registry, bool, error) {
	r, err := registrygen.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return registrygen.New(), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// mergeResult is the --json output of add and merge, also when the merge
// is refused (ok false, exit 1): then conflicts lists what a published
// version would have changed, problems what is broken in the registry or a
// fragment, and error is the message that also goes to stderr.
type mergeResult struct {
	OK        bool                   `json:"ok"`
	Registry  string                 `json:"registry"`
	Created   bool                   `json:"created"`
	Changed   bool                   `json:"changed"`
	Changes   registrygen.Changes    `json:"changes"`
	Conflicts []registrygen.Conflict `json:"conflicts"`
	Problems  registrygen.Errors     `json:"problems"`
	Error     string                 `json:"error,omitempty"`
}

// refuseMerge returns err, the reason add or merge refused to merge (exit
// 1); with --json it first writes the refusal as the command's one
// document on stdout.
func refuseMerge(c *cli.Context, path string, err error) error {
	if !c.Bool("json") {
		return err
	}
	res := mergeResult{Registry: path, Changes: registrygen.Changes{}, Conflicts: []registrygen.Conflict{}, Problems: registrygen.Errors{}, Error: err.Error()}
	var ce *registrygen.ConflictError
	var perrs registrygen.Errors
	var perr *registrygen.Error
	switch {
	case errors.As(err, &ce):
		res.Conflicts = ce.Conflicts
	case errors.As(err, &perrs):
		res.Problems = perrs
	case errors.As(err, &perr):
		res.Problems = registrygen.Errors{perr}
	}
	if werr := writeJSON(c.App.Writer, res); werr != nil {
		return werr
	}
	return err
}

// mergeAndWrite merges fragments into the registry at path and writes it
// when something changed or it did not exist. On any error the file is
// left untouched.
func mergeAndWrite(c *cli.Context, path string, fragments []*schema.Registry, opts registrygen.MergeOptions) error {
	unlock, err := registrygen.Lock(c.Context, path)
	if err != nil {
		return usageError("%v", err)
	}
	defer unlock()
	base, existed, err := loadOrNew(path)
	if err != nil {
		return refuseMerge(c, path, err)
	}
	r := base
	var all registrygen.Changes
	for _, f := range fragments {
		var changes registrygen.Changes
		r, changes, err = registrygen.Merge(r, f, opts)
		if err != nil {
			return refuseMerge(c, path, fmt.Errorf("%w\nregistry %s left unchanged", err, path))
		}
		all = append(all, changes...)
	}
	if len(all) > 0 || !existed {
		if err := registrygen.WriteWithViews(path, r); err != nil {
			return usageError("%v", err)
		}
	} else if err := registrygen.WriteViews(path, r); err != nil {
		// nothing to merge, but views missing or stale are rewritten
		return usageError("%v", err)
	}
	res := mergeResult{OK: true, Registry: path, Created: !existed, Changed: len(all) > 0, Changes: all,
		Conflicts: []registrygen.Conflict{}, Problems: registrygen.Errors{}}
	if res.Changes == nil {
		res.Changes = registrygen.Changes{}
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, res)
	}
	for _, ch := range all {
		fmt.Fprintln(c.App.Writer, ch)
	}
	for _, ref := range registrygen.Pending(r, all) {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s has no top-level download yet (%s); merge it before publishing this registry\n", ref.Name+"@"+ref.Version, ref.Detail)
	}
	switch {
	case !existed:
		fmt.Fprintf(c.App.ErrWriter, "created %s\n", path)
	case len(all) == 0:
		fmt.Fprintf(c.App.ErrWriter, "no change: %s already has all of it\n", path)
	default:
		fmt.Fprintf(c.App.ErrWriter, "updated %s (%d change(s))\n", path, len(all))
	}
	return nil
}

func runRegistryAdd(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("registry add: unexpected arguments %v", c.Args().Slice())
	}
	name, version, description, versionPlatforms := c.String("name"), c.String("version"), c.String("description"), sliceFlag(c, "supports", "platforms")
	if dir := c.String("manifest"); dir != "" {
		if filepath.Base(dir) == schema.ManifestFile {
			dir = filepath.Dir(dir)
		}
		m, err := schema.ReadManifest(dir)
		if err != nil {
			return usageError("registry add: --manifest: %v", err)
		}
		for _, f := range []struct {
			flag string
			val  *string
			from string
		}{{"name", &name, m.Name}, {"version", &version, m.Version}, {"description", &description, m.Description}} {
			switch {
			case *f.val == "":
				*f.val = f.from
			case *f.val != f.from:
				return usageError("registry add: --%s %q contradicts %s (%q); drop one", f.flag, *f.val, filepath.Join(dir, schema.ManifestFile), f.from)
			}
		}
		if len(versionPlatforms) == 0 {
			versionPlatforms = m.Platforms
		}
	}
	if name == "" || version == "" {
		return usageError("registry add: give --manifest DIR, or --name and --version (see --help)")
	}
	if err := requireFlags(c, "registry", "url"); err != nil {
		return err
	}
	now, err := registryTime(c)
	if err != nil {
		return err
	}
	platforms, files := c.StringSlice("platform"), c.StringSlice("artifact")
	if len(platforms) == 0 && len(files) > 0 {
		// Canonical artifact names say their platform.
		for _, f := range files {
			p, err := registrygen.PlatformFromArtifactName(filepath.Base(f), name, version)
			if err != nil {
				return usageError("registry add: %v; or give --platform P before --artifact FILE", err)
			}
			platforms = append(platforms, p)
		}
	}
	if len(platforms) != len(files) {
		return usageError("registry add: %d --platform but %d --artifact; give them in pairs (--platform P --artifact FILE)", len(platforms), len(files))
	}
	spec := registrygen.FragmentSpec{
		Name: name, Version: version, Description: description,
		Platforms: versionPlatforms, URL: c.String("url"), ReleasedAt: now,
	}
	if src := c.String("source"); src != "" {
		if spec.Source, err = registrygen.HashFile(c.Context, src); err != nil {
			return usageError("registry add: source package: %v", err)
		}
	}
	for i, p := range platforms {
		ef, err := registrygen.InspectArtifact(c.Context, files[i])
		if err != nil {
			return usageError("registry add: %s artifact: %v", p, err)
		}
		pf := registrygen.PlatformFile{Platform: p, File: ef}
		// the SBOM and Sigstore bundle beside it, recorded as publish does
		if pf.SBOM, pf.Bundle, err = release.ArtifactSideFiles(c.Context, files[i], ef.Checksum); err != nil {
			return usageError("registry add: %s artifact: %v", p, err)
		}
		spec.Artifacts = append(spec.Artifacts, pf)
	}
	frag, err := registrygen.Fragment(spec)
	if err != nil {
		return usageError("registry add: %v", err)
	}
	return mergeAndWrite(c, c.String("registry"), []*schema.Registry{frag}, registrygen.MergeOptions{Now: now, Force: c.Bool("force")})
}

func runRegistryMerge(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("registry merge: name at least one FRAGMENT file")
	}
	if err := requireFlags(c, "registry"); err != nil {
		return err
	}
	now, err := registryTime(c)
	if err != nil {
		return err
	}
	var fragments []*schema.Registry
	for _, path := range c.Args().Slice() {
		f, err := registrygen.Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			return usageError("registry merge: %v", err)
		}
		if err != nil {
			return refuseMerge(c, c.String("registry"), err)
		}
		fragments = append(fragments, f)
	}
	return mergeAndWrite(c, c.String("registry"), fragments, registrygen.MergeOptions{Now: now, Force: c.Bool("force")})
}

// verifyResult is the --json output of verify.
type verifyResult struct {
	Registry string                       `json:"registry"`
	OK       bool                         `json:"ok"`
	Problems registrygen.Errors           `json:"problems"`
	History  []registrygen.HistoryProblem `json:"history"`
	Checked  []string                     `json:"checked"`
	Missing  []string                     `json:"missing"`
	Views    []string                     `json:"views"` // the per-platform views checked
}

func runRegistryVerify(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("registry verify: unexpected arguments %v", c.Args().Slice())
	}
	if err := requireFlags(c, "registry"); err != nil {
		return err
	}
	path := c.String("registry")
	res := verifyResult{Registry: path, Problems: registrygen.Errors{}, History: []registrygen.HistoryProblem{}, Checked: []string{}, Missing: []string{}, Views: []string{}}
	doc, err := registrygen.LoadDocument(path)
	var perrs registrygen.Errors
	var perr *registrygen.Error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageError("registry verify: %v", err)
	case errors.As(err, &perrs):
		res.Problems = perrs
	case errors.As(err, &perr):
		res.Problems = registrygen.Errors{perr}
	case err != nil:
		return usageError("registry verify: %v", err)
	}
	if doc != nil {
		if dir := c.String("artifacts"); dir != "" {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return usageError("registry verify: --artifacts %s is not a directory", dir)
			}
		}
		rep, err := registrygen.Verify(c.Context, doc.Registry, registrygen.VerifyOptions{ArtifactsDir: c.String("artifacts"), Document: doc})
		if err != nil {
			return usageError("registry verify: %v", err)
		}
		res.Problems, res.Checked, res.Missing = rep.Problems, rep.Checked, rep.Missing
		// Views are derived data: missing or stale ones are findings.
		viewProblems, err := registrygen.CheckViews(path, doc.Registry)
		if err != nil {
			return usageError("registry verify: %v", err)
		}
		res.Problems = append(res.Problems, viewProblems...)
		for _, p := range registrygen.ViewPlatforms(doc.Registry) {
			res.Views = append(res.Views, filepath.Join(filepath.Dir(path), filepath.FromSlash(registrygen.ViewPath("registry.json", p))))
		}
		if prev := c.String("previous"); prev != "" {
			old, err := registrygen.Load(prev)
			if errors.Is(err, fs.ErrNotExist) {
				return usageError("registry verify: --previous: %v", err)
			}
			if err != nil {
				return fmt.Errorf("registry verify: --previous: %w", err)
			}
			var he *registrygen.HistoryError
			if errors.As(registrygen.CheckHistory(old, doc.Registry), &he) {
				res.History = he.Problems
			}
		}
	}
	res.OK = len(res.Problems) == 0 && len(res.History) == 0
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		w := c.App.Writer
		for _, p := range res.Problems {
			fmt.Fprintln(w, p)
		}
		if len(res.History) > 0 {
			fmt.Fprintln(w, (&registrygen.HistoryError{Problems: res.History}).Error())
		}
		if len(res.Checked)+len(res.Missing) > 0 {
			fmt.Fprintf(c.App.ErrWriter, "re-hashed %d file(s); %d named in the registry are not in %s\n", len(res.Checked), len(res.Missing), c.String("artifacts"))
		}
		if res.OK {
			n := 0
			for _, vs := range doc.Registry.Runtimes {
				n += len(vs)
			}
			fmt.Fprintf(w, "ok: %s (%d runtimes, %d versions; %d platform view(s) up to date)\n", path, len(doc.Registry.Runtimes), n, len(res.Views))
		}
	}
	if !res.OK {
		return cli.Exit("", exitFindings)
	}
	return nil
}

func runRegistryDiff(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageError("registry diff: want OLD NEW, got %d argument(s)", c.NArg())
	}
	var regs [2]*schema.Registry
	for i, path := range c.Args().Slice() {
		r, err := registrygen.Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			return usageError("registry diff: %v", err)
		}
		if err != nil {
			return err
		}
		regs[i] = r
	}
	d := registrygen.Diff(regs[0], regs[1])
	if c.Bool("json") {
		return writeJSON(c.App.Writer, d)
	}
	return d.WriteText(c.App.Writer)
}

// yankResult is the --json output of yank, also when it is refused (ok
// false, exit 1; error is the message that also goes to stderr).
type yankResult struct {
	OK       bool         `json:"ok"`
	Registry string       `json:"registry"`
	Name     string       `json:"name"`
	Version  string       `json:"version"`
	Changed  bool         `json:"changed"`
	Yanked   *schema.Yank `json:"yanked"`
	Error    string       `json:"error,omitempty"`
}

func runRegistryYank(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("registry yank: want one NAME@VERSION, got %d argument(s)", c.NArg())
	}
	if err := requireFlags(c, "registry", "reason"); err != nil {
		return err
	}
	tag, err := schema.ParseTag(c.Args().First())
	if err != nil {
		return usageError("registry yank: %v", err)
	}
	now, err := registryTime(c)
	if err != nil {
		return err
	}
	path := c.String("registry")
	unlock, err := registrygen.Lock(c.Context, path)
	if err != nil {
		return usageError("registry yank: %v", err)
	}
	defer unlock()
	refuse := func(err error) error {
		if c.Bool("json") {
			if werr := writeJSON(c.App.Writer, yankResult{Registry: path, Name: tag.Name, Version: tag.Version, Error: err.Error()}); werr != nil {
				return werr
			}
		}
		return err
	}
	r, err := registrygen.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usageError("registry yank: %v", err)
	}
	if err != nil {
		return refuse(err)
	}
	out, err := registrygen.Yank(r, tag.Name, tag.Version, c.String("reason"), now)
	if err != nil {
		return refuse(err)
	}
	e := out.Runtimes[tag.Name][tag.Version]
	changed := out != r
	if changed {
		if err := registrygen.WriteWithViews(path, out); err != nil {
			return usageError("%v", err)
		}
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, yankResult{OK: true, Registry: path, Name: tag.Name, Version: tag.Version, Changed: changed, Yanked: e.Yanked})
	}
	if changed {
		fmt.Fprintf(c.App.Writer, "yanked %s: %s\n", tag, e.Yanked.Reason)
	} else {
		fmt.Fprintf(c.App.Writer, "%s was already yanked on %s: %s\n", tag, e.Yanked.Date, e.Yanked.Reason)
	}
	return nil
}
