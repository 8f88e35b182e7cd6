package release

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// BuildFunc builds one runtime for one platform into outDir and returns
// the artifact's path (the CLI wires builder.Builder.Build here).
type BuildFunc func(ctx context.Context, runtimeDir, platform, outDir string) (string, error)

// PublishOptions configures Publish (rtool publish).
type PublishOptions struct {
	// Tag is the release tag name@X.Y.Z.
	Tag string
	// RuntimesDir is runtimes/ in the checkout of the tag.
	RuntimesDir string
	// ArtifactsDir holds prebuilt artifacts (schema.ArtifactName) and,
	// optionally, the source package (schema.SourcePackageName). Empty:
	// Build is called for every platform.
	ArtifactsDir string
	// Build builds a platform when ArtifactsDir is empty.
	Build BuildFunc
	// SourceDateEpoch clamps mtimes when the source package is packed here
	// (it is not among the artifacts). Zero: the last commit touching the
	// runtime (archive.SourceDateEpoch), so a re-run packs the same bytes.
	SourceDateEpoch time.Time
	// Publisher makes the files downloadable.
	Publisher Publisher
	// Repo is the clone registry.json is committed from (the CI checkout;
	// its configuration has the push credentials). Remote and Branch
	// default to origin and main, RegistryPath to registry.json.
	Repo         Git
	Remote       string
	Branch       string
	RegistryPath string
	// ViewRepos maps a platform to a git remote (a URL or a remote name
	// of Repo) whose branch ViewBranch (default main) gets that
	// platform's view as its root registry.json, for Joblet nodes whose
	// stock CLI can only name owner/repo. Each is committed after
	// registry.json, with the same retries, under CheckViewHistory.
	ViewRepos  map[string]string
	ViewBranch string
	// ViewToken, when set, authenticates the pushes to http(s) view
	// repositories (as x-access-token, the way GitHub takes a token),
	// replacing any extra header the checkout configured for the host
	// (actions/checkout's GITHUB_TOKEN cannot push to another repository).
	ViewToken string
	// MaxAttempts and Backoff bound the registry commit retries (see CommitOptions).
	MaxAttempts int
	Backoff     time.Duration
	// Force replaces differing published assets and registry checksums
	// (recorded in the entry's forced list), after ConfirmReplace.
	Force bool
	// ConfirmReplace is shown every published file Force would replace
	// (name, old and new sha256 and size) before anything changes; an
	// error aborts with nothing replaced. The CLI asks on a terminal and
	// refuses without one unless --yes.
	ConfirmReplace func([]Replacement) error
	// DryRun prints the release and the registry diff and changes nothing.
	DryRun bool
	// Now stamps released_at (zero: time.Now()).
	Now time.Time
	// Log receives progress for people; nil discards it.
	Log io.Writer
}

// PublishResult is what Publish did (or would do).
type PublishResult struct {
	Tag       schema.Tag             `json:"-"`
	TagName   string                 `json:"tag"`
	Platforms []string               `json:"platforms"`
	Publisher string                 `json:"publisher"`
	Assets    []PublishedAsset       `json:"assets"`
	Changes   registrygen.Changes    `json:"changes"`
	Diff      registrygen.DiffResult `json:"diff"`
	Commit    *CommitResult          `json:"commit"`
	// ViewCommits are the per-platform view repositories' commits.
	ViewCommits map[string]*CommitResult `json:"view_commits,omitempty"`
	DryRun      bool                     `json:"dry_run"`
}

// Publish releases one tagged runtime: it checks the tag against the
// manifest, collects (or builds) the artifacts for every platform, packs
// the source package if it is not there, publishes them all, merges them
// into the freshest registry.json on the branch, checks that no history is
// lost, and commits and pushes it (see CommitFile).
func Publish(ctx context.Context, opts PublishOptions) (*PublishResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Publisher == nil {
		return nil, errors.New("publish: no publisher")
	}
	if opts.RegistryPath == "" {
		opts.RegistryPath = "registry.json"
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	tag, err := schema.ParseTag(opts.Tag)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	work, err := os.MkdirTemp("", "rtool-publish-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// The runtime comes from the tag itself when the tag exists: its
	// manifest and source package are what was tagged, whatever the
	// checkout holds. Building here needs the tagged tree checked out
	// (a build takes its inputs and timestamps from the work tree).
	runtimeDir := filepath.Join(opts.RuntimesDir, tag.Name)
	head, headErr := opts.Repo.line(ctx, "rev-parse", "--verify", "HEAD^{commit}")
	tagged, tagErr := opts.Repo.line(ctx, "rev-parse", "-q", "--verify", "refs/tags/"+tag.String()+"^{commit}")
	if tagErr == nil && (headErr != nil || tagged != head) {
		if opts.ArtifactsDir == "" {
			return nil, fmt.Errorf("publish %s: the tag points at %s but the checkout is at %s; building here needs the tagged tree: check out the tag (git checkout %s), or build the artifacts from it and pass --artifacts DIR",
				tag, short(tagged), short(head), tag)
		}
		dir, epoch, err := exportFromTag(ctx, opts.Repo, tagged, runtimeDir, work)
		if err != nil {
			return nil, fmt.Errorf("publish %s: read the runtime at the tag: %w", tag, err)
		}
		fmt.Fprintf(log, "reading %s from the tag %s (%s); the checkout is at %s\n", tag.Name, tag, short(tagged), short(head))
		runtimeDir = dir
		if opts.SourceDateEpoch.IsZero() {
			opts.SourceDateEpoch = epoch
		}
	}
	if tagErr == nil {
		head = tagged // the release's target
	}
	m, err := ReadManifest(runtimeDir)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", tag, err)
	}
	if m.Name != tag.Name {
		return nil, fmt.Errorf("publish %s: %s names the runtime %q; the tag, the directory and the manifest must agree",
			tag, filepath.Join(runtimeDir, "manifest.yaml"), m.Name)
	}
	if m.Version != tag.Version {
		return nil, fmt.Errorf("publish %s: %s says version %s, not %s; tag the commit whose manifest has version %s (or bump the manifest and tag again)",
			tag, filepath.Join(runtimeDir, "manifest.yaml"), m.Version, tag.Version, tag.Version)
	}
	res := &PublishResult{Tag: tag, TagName: tag.String(), Platforms: m.Platforms, Publisher: opts.Publisher.Kind(), DryRun: opts.DryRun}

	// the files: artifacts per platform, then the source package
	artifacts := make([]registrygen.PlatformFile, 0, len(m.Platforms))
	attached := map[string]attachments{}
	for _, p := range m.Platforms {
		path, err := artifactFor(ctx, opts, runtimeDir, tag, p, work)
		if err != nil {
			return nil, err
		}
		ef, err := registrygen.InspectArtifact(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", tag, err)
		}
		if err := checkSidecar(path, ef.Checksum); err != nil {
			return nil, fmt.Errorf("publish %s: %w", tag, err)
		}
		// its SBOM, provenance and Sigstore bundle go beside it
		at, err := findAttachments(ctx, path, ef.Checksum)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", tag, err)
		}
		if at.SBOM == nil || at.Bundle == nil {
			fmt.Fprintf(log, "note: %s has no %s beside it; its registry entry will not name one\n", filepath.Base(path),
				strings.Join(missingAttachments(at), " or "))
		}
		attached[p] = at
		artifacts = append(artifacts, registrygen.PlatformFile{Platform: p, File: ef})
	}
	srcPath, err := sourcePackage(ctx, opts, runtimeDir, tag, work)
	if err != nil {
		return nil, err
	}
	source, err := registrygen.HashFile(ctx, srcPath)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", tag, err)
	}
	if err := checkSidecar(srcPath, source.Checksum); err != nil {
		return nil, fmt.Errorf("publish %s: %w", tag, err)
	}
	files := []*registrygen.EntryFile{source}
	for _, a := range artifacts {
		files = append(files, a.File)
		files = append(files, attached[a.Platform].files()...)
	}
	var assets []Asset
	for _, f := range files {
		assets = append(assets, Asset{Name: filepath.Base(f.Path), Path: f.Path, Size: f.Size,
			SHA256: strings.TrimPrefix(f.Checksum, schema.ChecksumPrefix)})
	}

	// publish (or plan to)
	if opts.DryRun {
		for _, a := range assets {
			res.Assets = append(res.Assets, PublishedAsset{Asset: a, URL: opts.Publisher.DownloadURL(tag.String(), a.Name), State: StatePlanned})
		}
	} else {
		fmt.Fprintf(log, "publishing %d file(s) for %s with the %s publisher\n", len(assets), tag, opts.Publisher.Kind())
		published, err := opts.Publisher.Publish(ctx, ReleaseRequest{
			Tag: tag.String(), Target: head, Title: fmt.Sprintf("%s %s", tag.Name, tag.Version),
			Notes: ReleaseNotes(m, assets), Assets: assets, Force: opts.Force, Confirm: opts.ConfirmReplace,
		})
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", tag, err)
		}
		res.Assets = published
	}
	urls := map[string]string{}
	for _, a := range res.Assets {
		urls[a.Name] = a.URL
	}
	source.URL = urls[filepath.Base(source.Path)]
	for _, a := range artifacts {
		a.File.URL = urls[filepath.Base(a.File.Path)]
	}
	frag, err := registrygen.Fragment(registrygen.FragmentSpec{
		Name: tag.Name, Version: tag.Version, Description: m.Description, Platforms: m.Platforms,
		Source: source, Artifacts: artifacts, ReleasedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s: registry entry: %w", tag, err)
	}
	recordAttachments(frag, tag, attached, urls)

	// merge into the freshest registry.json and commit it
	update := func(current []byte) ([]byte, error) {
		base := registrygen.New()
		if current != nil {
			var err error
			if base, err = registrygen.Parse(current, opts.Remote+"/"+opts.Branch+":"+opts.RegistryPath); err != nil {
				return nil, fmt.Errorf("the registry on the branch is broken, not merging into it: %w", err)
			}
		}
		merged, changes, err := registrygen.Merge(base, frag, registrygen.MergeOptions{Now: now, Force: opts.Force})
		if err != nil {
			return nil, err
		}
		if err := registrygen.CheckHistory(base, merged); err != nil {
			return nil, err
		}
		res.Changes, res.Diff = changes, registrygen.Diff(base, merged)
		if current != nil && len(changes) == 0 {
			return current, nil // nothing to add: do not even canonicalize
		}
		return registrygen.Encode(merged)
	}
	for _, p := range sortedKeys(opts.ViewRepos) {
		if _, err := schema.ParsePlatform(p); err != nil {
			return nil, fmt.Errorf("publish %s: view repository for %q: %w", tag, p, err)
		}
		if opts.ViewRepos[p] == "" {
			return nil, fmt.Errorf("publish %s: view repository for %s: empty git URL", tag, p)
		}
	}
	commit, err := CommitFile(ctx, CommitOptions{
		Git: opts.Repo, Remote: opts.Remote, Branch: opts.Branch, Path: opts.RegistryPath,
		Message:     CommitMessage(tag, m.Platforms),
		Update:      update,
		Derived:     func(after []byte) (map[string][]byte, error) { return derivedViews(after, opts.RegistryPath) },
		MaxAttempts: opts.MaxAttempts, Backoff: opts.Backoff, DryRun: opts.DryRun, Log: log,
	})
	if err != nil {
		if opts.DryRun {
			return res, fmt.Errorf("publish %s (dry run, nothing was published): registry.json would not merge: %w", tag, err)
		}
		return res, fmt.Errorf("publish %s: files are published; registry.json not updated (rerun to retry, it is idempotent): %w", tag, err)
	}
	res.Commit = commit
	switch {
	case opts.DryRun:
	case commit.Unchanged:
		fmt.Fprintf(log, "%s already lists %s; nothing to commit\n", opts.RegistryPath, tag)
	default:
		fmt.Fprintf(log, "committed %s %s to %s (attempt %d)\n", strings.Join(commit.Files, ", "), short(commit.Commit), opts.Branch, commit.Attempts)
	}
	if mirror, ok := opts.Publisher.(RegistryMirror); ok && !opts.DryRun {
		// the registry as committed (or as it already was), next to the
		// files; the mirror merges it into what it has, so it only moves
		// forward whatever order concurrent publishes reach it in
		if err := mirror.WriteRegistry(ctx, commit.After); err != nil {
			return res, fmt.Errorf("publish %s: registry.json is committed; %w", tag, err)
		}
	}
	for _, p := range sortedKeys(opts.ViewRepos) {
		vc, err := commitView(ctx, opts, tag, p, log)
		if err != nil {
			return res, fmt.Errorf("publish %s: registry.json is committed; the %s view repository is not (rerun to retry, it is idempotent): %w", tag, p, err)
		}
		if res.ViewCommits == nil {
			res.ViewCommits = map[string]*CommitResult{}
		}
		res.ViewCommits[p] = vc
	}
	return res, nil
}

// derivedViews returns the per-platform views of the registry encoded in
// data, at their paths in the repository beside registryPath.
func derivedViews(data []byte, registryPath string) (map[string][]byte, error) {
	r, err := registrygen.Parse(data, registryPath)
	if err != nil {
		return nil, err
	}
	views, err := registrygen.ViewFiles(r)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(views))
	for rel, v := range views {
		out[path.Join(path.Dir(registryPath), rel)] = v
	}
	return out, nil
}

// commitView commits platform's view as the root registry.json of its
// view repository. Each attempt fetches that branch first and then the
// freshest registry.json of the main branch, so the view it derives is at
// least as new as whatever produced the view already there (the main
// registry is pushed before its views); CheckViewHistory refuses anything
// that would drop a version the view had, unless the main registry yanked
// it.
func commitView(ctx context.Context, opts PublishOptions, tag schema.Tag, platform string, log io.Writer) (*CommitResult, error) {
	remote := opts.ViewRepos[platform]
	branch := opts.ViewBranch
	if branch == "" {
		branch = "main"
	}
	mainRemote, mainBranch := opts.Remote, opts.Branch
	if mainRemote == "" {
		mainRemote = "origin"
	}
	if mainBranch == "" {
		mainBranch = "main"
	}
	update := func(current []byte) ([]byte, error) {
		mainData, err := fetchFile(ctx, opts.Repo, mainRemote, mainBranch, opts.RegistryPath)
		if err != nil {
			return nil, err
		}
		if mainData == nil {
			return nil, fmt.Errorf("%s/%s has no %s to derive the %s view from", mainRemote, mainBranch, opts.RegistryPath, platform)
		}
		main, err := registrygen.Parse(mainData, mainRemote+"/"+mainBranch+":"+opts.RegistryPath)
		if err != nil {
			return nil, err
		}
		view := registrygen.View(main, platform)
		if current != nil {
			prev, err := registrygen.Parse(current, remote+"/"+branch+":registry.json")
			if err != nil {
				return nil, fmt.Errorf("the %s view on %s is broken, not replacing it: %w", platform, remote, err)
			}
			if err := registrygen.CheckViewHistory(prev, view, main, platform); err != nil {
				return nil, err
			}
		}
		return registrygen.Encode(view)
	}
	g := opts.Repo
	if opts.ViewToken != "" && (strings.HasPrefix(remote, "https://") || strings.HasPrefix(remote, "http://")) {
		g.Env = append(append([]string(nil), g.Env...), tokenHeaderEnv(remote, opts.ViewToken)...)
	}
	res, err := CommitFile(ctx, CommitOptions{
		Git: g, Remote: remote, Branch: branch, Path: "registry.json", CreateBranch: true,
		Message:     fmt.Sprintf("registry: %s view after %s\n\nDerived by rtool from %s of %s.\n", platform, tag, opts.RegistryPath, mainRemote),
		Update:      update,
		MaxAttempts: opts.MaxAttempts, Backoff: opts.Backoff, DryRun: opts.DryRun, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if !opts.DryRun && !res.Unchanged {
		fmt.Fprintf(log, "committed the %s view %s to %s %s\n", platform, short(res.Commit), remote, branch)
	}
	return res, nil
}

// artifactFor returns the artifact of one platform: from ArtifactsDir, or
// built into work.
func artifactFor(ctx context.Context, opts PublishOptions, runtimeDir string, tag schema.Tag, platform, work string) (string, error) {
	name := schema.ArtifactName(tag.Name, tag.Version, platform)
	if opts.ArtifactsDir != "" {
		path := filepath.Join(opts.ArtifactsDir, name)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("publish %s: %s has no %s; every platform of the manifest needs its artifact (did its build job fail or upload under another name?)",
					tag, opts.ArtifactsDir, name)
			}
			return "", err
		}
		return path, nil
	}
	if opts.Build == nil {
		return "", fmt.Errorf("publish %s: no --artifacts directory and no builder", tag)
	}
	out := filepath.Join(work, "build-"+platform)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	path, err := opts.Build(ctx, runtimeDir, platform, out)
	if err != nil {
		return "", fmt.Errorf("publish %s: build %s: %w", tag, platform, err)
	}
	if filepath.Base(path) != name {
		// publish under the canonical name whatever the builder called it
		dst := filepath.Join(out, name)
		if err := os.Rename(path, dst); err != nil {
			return "", err
		}
		path = dst
	}
	return path, nil
}

// sourcePackage returns the source package from ArtifactsDir, or packs the
// runtime directory into work (top-level directory <name>/, as upstream).
func sourcePackage(ctx context.Context, opts PublishOptions, runtimeDir string, tag schema.Tag, work string) (string, error) {
	name := schema.SourcePackageName(tag.Name, tag.Version)
	if opts.ArtifactsDir != "" {
		path := filepath.Join(opts.ArtifactsDir, name)
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	epoch := opts.SourceDateEpoch
	if epoch.IsZero() {
		t, _, err := archive.SourceDateEpoch(ctx, runtimeDir, "")
		if err != nil {
			return "", err
		}
		epoch = t
	}
	path := filepath.Join(work, name)
	if _, err := archive.PackFile(ctx, runtimeDir, path, archive.PackOptions{SourceDateEpoch: epoch, Prefix: tag.Name + "/"}); err != nil {
		return "", fmt.Errorf("publish %s: pack the source package: %w", tag, err)
	}
	return path, nil
}

// checkSidecar compares a file with its "<file>.sha256" (sha256sum format)
// when there is one, so a corrupted download between jobs is caught.
func checkSidecar(path, checksum string) error {
	data, err := os.ReadFile(path + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return fmt.Errorf("%s.sha256 is empty", path)
	}
	if want := schema.ChecksumPrefix + strings.ToLower(fields[0]); want != checksum {
		return fmt.Errorf("%s does not match %s.sha256 (file %s, sidecar %s): the artifact was corrupted or replaced after it was built",
			path, path, checksum, want)
	}
	return nil
}

// CommitMessage is the registry commit message for a release.
func CommitMessage(tag schema.Tag, platforms []string) string {
	return fmt.Sprintf("registry: add %s %s\n\nReleased %s for %s.\n", tag.Name, tag.Version, tag, strings.Join(platforms, ", "))
}

// ReleaseNotes is the Markdown body of a release.
func ReleaseNotes(m *schema.Manifest, assets []Asset) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| file | size | sha256 |\n| --- | ---: | --- |\n", m.Description)
	for _, a := range assets {
		fmt.Fprintf(&b, "| %s | %d | `%s` |\n", mdEscape(a.Name), a.Size, a.SHA256)
	}
	fmt.Fprintf(&b, "\nInstall: `rtool runtime install %s@%s` or `rnx runtime install %s@%s`\n", m.Name, m.Version, m.Name, m.Version)
	return b.String()
}

// PublishSummary is the Markdown step summary of a publish.
func PublishSummary(res *PublishResult) string {
	var b strings.Builder
	verb := "Published"
	if res.DryRun {
		verb = "Dry run: would publish"
	}
	fmt.Fprintf(&b, "### %s %s (%s)\n\n| file | size | state | url |\n| --- | ---: | --- | --- |\n", verb, res.Tag, res.Publisher)
	for _, a := range res.Assets {
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", mdEscape(a.Name), a.Size, a.State, mdEscape(a.URL))
	}
	b.WriteString("\n")
	switch {
	case res.Commit == nil:
	case res.Commit.Unchanged:
		b.WriteString("registry.json already up to date.\n")
	case res.DryRun:
		b.WriteString("registry.json would change:\n\n")
	default:
		fmt.Fprintf(&b, "registry.json committed as `%s` after %d attempt(s):\n\n", short(res.Commit.Commit), res.Commit.Attempts)
	}
	if res.Commit != nil && !res.Commit.Unchanged {
		for _, c := range res.Changes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(c.String()))
		}
	}
	return b.String()
}

// exportFromTag writes the runtime directory as it is at commit into
// work (git archive, so no checkout is touched) and returns its path there
// and the time of the last commit that touched it at commit (what
// SOURCE_DATE_EPOCH would be in a checkout of the tag).
func exportFromTag(ctx context.Context, g Git, commit, runtimeDir, work string) (string, time.Time, error) {
	top, err := g.line(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", time.Time{}, err
	}
	abs, err := filepath.Abs(runtimeDir)
	if err != nil {
		return "", time.Time{}, err
	}
	if real, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(real, filepath.Base(abs))
	}
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", time.Time{}, fmt.Errorf("%s is not inside the repository %s", runtimeDir, top)
	}
	rel = filepath.ToSlash(rel)
	if out, err := g.Run(ctx, "ls-tree", "-d", commit, "--", rel); err != nil || strings.TrimSpace(out) == "" {
		return "", time.Time{}, fmt.Errorf("the tagged commit %s has no directory %s", short(commit), rel)
	}
	tarData, err := g.Run(ctx, "archive", "--format=tar", commit, "--", rel)
	if err != nil {
		return "", time.Time{}, err
	}
	dest := filepath.Join(work, "tag")
	if err := untarTrusted(strings.NewReader(tarData), dest); err != nil {
		return "", time.Time{}, err
	}
	ct, err := g.line(ctx, "log", "-1", "--format=%ct", commit, "--", rel)
	if err != nil {
		return "", time.Time{}, err
	}
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("commit time %q: %w", ct, err)
	}
	return filepath.Join(dest, filepath.FromSlash(rel)), time.Unix(secs, 0).UTC(), nil
}

// untarTrusted extracts git archive's output (directories, regular files,
// symlinks) under dest, refusing any name that leaves it.
func untarTrusted(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("git archive: %w", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("git archive: entry %q leaves the directory", h.Name)
		}
		p := filepath.Join(dest, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, os.FileMode(h.Mode).Perm()); err == nil {
					_, err = io.Copy(f, tr)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
			}
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(h.Linkname, p)
			}
		case tar.TypeXGlobalHeader:
		default:
			err = fmt.Errorf("git archive: unexpected entry %q (type %c)", h.Name, h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// tokenHeaderEnv is git configuration, through the environment (read after
// every config file), that sends token as HTTP basic auth for url only:
// an empty http.<url>.extraheader first resets the headers a checkout
// configured for the whole host.
func tokenHeaderEnv(url, token string) []string {
	auth := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
	return []string{
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=http." + url + ".extraheader", "GIT_CONFIG_VALUE_0=",
		"GIT_CONFIG_KEY_1=http." + url + ".extraheader", "GIT_CONFIG_VALUE_1=AUTHORIZATION: basic " + auth,
	}
}
