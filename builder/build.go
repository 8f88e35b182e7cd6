package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/schema"
)

// DefaultTimeout bounds one setup script run when neither the manifest's
// build.timeout nor Options.Timeout says otherwise.
const DefaultTimeout = 30 * time.Minute

// InstallRoot is where setup scripts install runtimes inside the chroot.
const InstallRoot = "/opt/joblet/runtimes"

// RuntimeMount is where the runtime's directory is bound read-only inside
// the sandbox; setup scripts run with it as their working directory.
const RuntimeMount = "/build/runtime"

// DefaultCacheDir is $RTOOL_CACHE, else /var/cache/rtool.
func DefaultCacheDir() string {
	if d := os.Getenv("RTOOL_CACHE"); d != "" {
		return d
	}
	return "/var/cache/rtool"
}

// Options configure a Builder.
type Options struct {
	// CacheDir holds bases and build work directories (default
	// DefaultCacheDir()). Work directories live here so the overlay's upper
	// layer is on the same filesystem as the base.
	CacheDir string
	// ToolVersion is rtool's version; it is one of a build's inputs.
	ToolVersion string
	// Stderr receives every build's live output, each line prefixed with
	// [name/platform]; nil discards it (the log files still get it).
	Stderr io.Writer
	// Output is how much of it goes to Stderr (zero: everything).
	Output Output
	// Timeout overrides the manifest's build.timeout when positive.
	Timeout time.Duration
	// Concurrency is passed to archive.PackOptions (0: GOMAXPROCS).
	Concurrency int
	// SourceDateEpoch, when not empty, is used instead of the last git
	// commit time of the runtime directory (the value of $SOURCE_DATE_EPOCH).
	SourceDateEpoch string
	// BuilderID is the provenance's builder.id (intoto.BuilderID of the
	// environment; empty: intoto.LocalBuilder).
	BuilderID string
	// Repository is the provenance's source repository
	// (git+https://HOST/OWNER/REPO); empty: the origin remote of the
	// runtime directory's git work tree.
	Repository string
}

// Request is one runtime × platform build.
type Request struct {
	RuntimeDir string // runtimes/<name>
	Platform   string // <os>-<arch>
	OutDir     string // artifacts, .sha256, stamps and logs/ (default "out")
	Rebuild    bool   // build even when the inputs did not change
}

// Result describes a finished (or skipped) build.
type Result struct {
	Name         string        `json:"name"`
	Version      string        `json:"version"`
	Platform     string        `json:"platform"`
	ArtifactPath string        `json:"artifact"`
	Stats        archive.Stats `json:"stats"`
	SourcePath   string        `json:"source_package,omitempty"`
	// SBOMPath and ProvenancePath are the artifact's SPDX document and
	// in-toto statement, written beside it.
	SBOMPath       string        `json:"sbom,omitempty"`
	ProvenancePath string        `json:"provenance,omitempty"`
	Skipped        bool          `json:"skipped"`
	LogPath        string        `json:"log,omitempty"`
	Duration       time.Duration `json:"duration_ns"`
}

// Builder builds runtimes on the bases of a Config.
type Builder struct {
	cfg  *Config
	opts Options
	mux  *mux
}

// New returns a Builder for cfg.
func New(cfg *Config, opts Options) *Builder {
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if abs, err := filepath.Abs(opts.CacheDir); err == nil {
		opts.CacheDir = abs
	}
	if opts.ToolVersion == "" {
		opts.ToolVersion = "devel"
	}
	return &Builder{cfg: cfg, opts: opts, mux: &mux{w: opts.Stderr, level: opts.Output}}
}

// CacheDir is the cache directory in use.
func (b *Builder) CacheDir() string { return b.opts.CacheDir }

// StepError is a failed build or bootstrap step: it names the log and shows
// the last lines of output.
type StepError struct {
	What    string // "build python-3.11/debian-amd64"
	LogPath string
	Tail    []string
	Err     error
}

func (e *StepError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %v", e.What, e.Err)
	if len(e.Tail) > 0 {
		fmt.Fprintf(&sb, "\n--- last %d lines ---\n%s\n---", len(e.Tail), strings.Join(e.Tail, "\n"))
	}
	if e.LogPath != "" {
		fmt.Fprintf(&sb, "\nfull log: %s", e.LogPath)
	}
	return sb.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// runtimeInfo is what a build needs from a runtime directory.
type runtimeInfo struct {
	dir      string
	manifest *schema.Manifest
	script   string // setup-<platform>.sh
	timeout  time.Duration
	base     string // the base it builds on: schema.DefaultBaseName or build.base
}

// runtimeBaseOf reads the manifest of the runtime directory dir and
// returns it with the name of the base the runtime builds on (see
// RuntimeBase).
func (c *Config) runtimeBaseOf(dir string) (*schema.Manifest, string, error) {
	m, err := schema.ReadManifest(dir)
	if err != nil {
		return nil, "", err
	}
	name, err := c.RuntimeBase(filepath.Join(dir, schema.ManifestFile), m)
	if err != nil {
		return nil, "", err
	}
	return m, name, nil
}

func (b *Builder) loadRuntime(dir, platform string) (*runtimeInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	mpath := filepath.Join(abs, schema.ManifestFile)
	m, base, err := b.cfg.runtimeBaseOf(abs)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(m.Platforms, platform) {
		return nil, fmt.Errorf("%s: platforms does not list %s (it lists %s); add it or pick one of those", mpath, platform, strings.Join(m.Platforms, ", "))
	}
	script := "setup-" + platform + ".sh"
	if st, err := os.Stat(filepath.Join(abs, script)); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("runtime %s: %s is missing; every platform in manifest.yaml needs its setup script", dir, script)
	}
	ri := &runtimeInfo{dir: abs, manifest: m, script: script, timeout: DefaultTimeout, base: base}
	if m.Build != nil && m.Build.Timeout != "" {
		d, err := time.ParseDuration(m.Build.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: build.timeout %q is not a positive Go duration such as 20m", mpath, m.Build.Timeout)
		}
		ri.timeout = d
	}
	if b.opts.Timeout > 0 {
		ri.timeout = b.opts.Timeout
	}
	return ri, nil
}

// Build builds one runtime for one platform (or reuses the artifact when
// its inputs did not change and req.Rebuild is false).
func (b *Builder) Build(ctx context.Context, req Request) (*Result, error) {
	return b.build(ctx, req, b.opts.SourceDateEpoch)
}

// build is Build with SOURCE_DATE_EPOCH given ("" = last git commit time).
func (b *Builder) build(ctx context.Context, req Request, sdeEnv string) (res *Result, err error) {
	start := time.Now()
	if req.OutDir == "" {
		req.OutDir = "out"
	}
	pl, err := b.plan(ctx, req, sdeEnv)
	if err != nil {
		return nil, err
	}
	ri, r, sde, artifact, inputs := pl.ri, pl.base, pl.sde, pl.artifact, pl.inputs
	name, version := ri.manifest.Name, ri.manifest.Version
	label := name + "/" + req.Platform
	baseKey := r.key()
	if err := os.MkdirAll(filepath.Join(req.OutDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("build %s: output directory: %w", label, err)
	}
	res = &Result{Name: name, Version: version, Platform: req.Platform, ArtifactPath: artifact,
		SourcePath: filepath.Join(req.OutDir, schema.SourcePackageName(name, version)),
		SBOMPath:   sbomPath(artifact), ProvenancePath: provenancePath(artifact)}
	if !req.Rebuild {
		if st, ok := reusable(artifact, inputs); ok {
			if _, err := os.Stat(res.SourcePath); err != nil {
				if err := b.packSource(ctx, ri, res.SourcePath, sde); err != nil {
					return nil, fmt.Errorf("build %s: %w", label, err)
				}
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("build %s: interrupted: %w", label, err)
			}
			res.Stats, res.Skipped, res.Duration = st, true, time.Since(start)
			return res, nil
		}
	}

	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("build %s: building needs root (overlayfs, mount and PID namespaces, chroot); run it with sudo", label)
	}

	// From here on an existing artifact no longer matches its inputs (or
	// is being rebuilt): drop it with its .sha256 and stamp, so a failed or
	// killed build never leaves one for a later build to reuse or a
	// release to publish.
	removeArtifact(artifact)

	// The log lives next to the artifacts; the live copy goes to Stderr.
	res.LogPath = filepath.Join(req.OutDir, "logs", strings.TrimSuffix(filepath.Base(artifact), ".tar.gz")+".log")
	logf, err := os.Create(res.LogPath)
	if err != nil {
		return nil, fmt.Errorf("build %s: log: %w", label, err)
	}
	defer logf.Close()
	out := b.mux.stream(label, logf)
	defer out.Close()
	fail := func(err error) (*Result, error) {
		out.Close()
		removeArtifact(artifact)
		var se *StepError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("build %s: %w", label, err)
		}
		return nil, &StepError{What: "build " + label, LogPath: res.LogPath, Tail: out.Tail(), Err: err}
	}

	if HostArch() != r.arch() && r.arch() != "" {
		if err := CheckBinfmt(r.arch()); err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "warning: %s runs emulated through qemu-user-static; expect the build to be several times slower\n", r.arch())
	}
	fmt.Fprintf(out, "base: %s\n", r.describe(b.cfg.Path))
	lower, releaseBase, err := b.ensureBase(ctx, r)
	if err != nil {
		return fail(err)
	}
	defer releaseBase()

	work, releaseWork, err := b.newWorkDir(label)
	if err != nil {
		return fail(err)
	}
	defer releaseWork()

	buildID := name + "-" + version + "-" + req.Platform + "-" + inputs[:12]
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive",
		"RUNTIME_NAME=" + name,
		"RUNTIME_VERSION=" + version,
		"RUNTIME_SPEC=" + name + "@" + version,
		"BUILD_ID=" + buildID,
		"SOURCE_DATE_EPOCH=" + strconv.FormatInt(sde.Unix(), 10),
		"PLATFORM=" + req.Platform,
	}
	resolv, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil {
		return fail(fmt.Errorf("host /etc/resolv.conf (needed for network in the build): %w", err))
	}
	spec := sandbox.Spec{
		Root:    filepath.Join(work, "root"),
		Overlay: &sandbox.Overlay{Lower: lower, Upper: filepath.Join(work, "upper"), Work: filepath.Join(work, "work")},
		Proc:    true,
		Dev:     true,
		Mounts: []sandbox.Mount{
			{Source: resolv, Target: "/etc/resolv.conf", ReadOnly: true},
			{Source: ri.dir, Target: RuntimeMount, ReadOnly: true},
			{Type: "tmpfs", Target: "/tmp", Data: "mode=1777"},
		},
		Hostname: "rtool-build",
		Args:     []string{"/bin/bash", "./" + ri.script},
		Env:      env,
		Dir:      RuntimeMount,
		Stdout:   toolOutput(out),
		Stderr:   toolOutput(out),
	}
	if ca := hostCABundle(HostCABundles()); ca != "" {
		spec.Mounts = append(spec.Mounts, sandbox.Mount{Source: ca, Target: HostCAMount, ReadOnly: true})
		spec.Env = append(spec.Env, HostCAEnv+"="+HostCAMount)
	}
	fmt.Fprintf(out, "building %s@%s for %s (build id %s, SOURCE_DATE_EPOCH=%d, timeout %s)\n", name, version, req.Platform, buildID, sde.Unix(), ri.timeout)
	runCtx, cancel := context.WithTimeout(ctx, ri.timeout)
	defer cancel()
	code, err := sandbox.Run(runCtx, spec)
	switch {
	case ctx.Err() != nil:
		return fail(fmt.Errorf("interrupted: %w", ctx.Err()))
	case runCtx.Err() != nil:
		return fail(fmt.Errorf("%s did not finish within %s (raise build.timeout in manifest.yaml or pass --timeout)", ri.script, ri.timeout))
	case err != nil:
		return fail(err)
	case code != 0:
		return fail(fmt.Errorf("%s exited with status %d", ri.script, code))
	}

	// Collect the runtime from the merged view of the overlay.
	fakeRoot := filepath.Join(work, "collect")
	tree := filepath.Join(fakeRoot, InstallRoot, name)
	spec.Args = collectArgs(name)
	spec.Dir = "/"
	if err := collect(ctx, spec, tree, out); err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("interrupted: %w", ctx.Err()))
		}
		return fail(err)
	}
	rc, err := CheckTree(tree, name, version)
	if err != nil {
		return fail(err)
	}
	// The SBOM needs the chroot's package database: copy it out while the
	// overlay is still there.
	fmt.Fprintf(out, "reading the package database for the SBOM\n")
	dpkg, err := readChrootDpkg(ctx, spec, filepath.Join(work, "sbom"), out)
	if err != nil {
		return fail(interrupted(ctx, err))
	}

	fmt.Fprintf(out, "packaging %s\n", artifact)
	st, err := archive.PackFile(ctx, tree, artifact, archive.PackOptions{
		SourceDateEpoch: sde,
		Concurrency:     b.opts.Concurrency,
		LinkRoot:        fakeRoot,
		Warn:            func(msg string) { fmt.Fprintln(out, "warning:", msg) },
	})
	if err != nil {
		return fail(interrupted(ctx, err))
	}
	fmt.Fprintf(out, "writing %s and %s\n", res.SBOMPath, res.ProvenancePath)
	sbomSHA, err := b.writeSBOM(artifact, st.SHA256, name, version, req.Platform, tree, sde.Unix(), rc, dpkg)
	if err != nil {
		return fail(err)
	}
	if err := b.writeProvenance(ctx, artifact, st.SHA256, ri, req.Platform, r, baseKey, inputs, buildID, sde.Unix(), sbomSHA, out); err != nil {
		return fail(interrupted(ctx, err))
	}
	fmt.Fprintf(out, "packaging source package %s\n", res.SourcePath)
	if err := b.packSource(ctx, ri, res.SourcePath, sde); err != nil {
		return fail(interrupted(ctx, err))
	}
	// A cancel (Ctrl-C) at any point fails the build, however little was
	// left to do: no stamp is written, and one written already goes again
	// with the artifact (fail), so nothing claims a build that was
	// interrupted.
	fmt.Fprintf(out, "writing build stamp %s\n", stampPath(artifact))
	if err := ctx.Err(); err != nil {
		return fail(interrupted(ctx, err))
	}
	if err := writeStamp(artifact, stamp{Inputs: inputs, ToolVersion: b.opts.ToolVersion, BaseKey: baseKey, BaseName: r.Name,
		SourceDateEpoch: sde.Unix(), Stats: st}); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(interrupted(ctx, err))
	}
	res.Stats, res.Duration = st, time.Since(start)
	fmt.Fprintf(out, "built %s (%d bytes, sha256 %s) in %s\n", artifact, st.Size, st.SHA256, res.Duration.Round(time.Second))
	return res, nil
}

// interrupted marks err as an interruption when ctx was cancelled, so a
// Ctrl-C during packaging reads as one rather than as a packing error.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("interrupted: %w (%v)", ctx.Err(), err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// removeArtifact removes an artifact, its .sha256, its build stamp, its
// SBOM and its provenance statement (whichever exist).
func removeArtifact(artifact string) {
	for _, p := range []string{artifact, artifact + ".sha256", stampPath(artifact), sbomPath(artifact), provenancePath(artifact)} {
		os.Remove(p)
	}
}

// packSource writes the source package upstream publishes: the runtime's
// directory under a top-level <name>/.
func (b *Builder) packSource(ctx context.Context, ri *runtimeInfo, path string, sde time.Time) error {
	_, err := archive.PackFile(ctx, ri.dir, path, archive.PackOptions{
		SourceDateEpoch: sde, Concurrency: b.opts.Concurrency, Prefix: ri.manifest.Name + "/",
	})
	if err != nil {
		return fmt.Errorf("source package: %w", err)
	}
	return nil
}

// describe says which base r is, for the build log: its name, where
// rtool.yaml (configPath) configures it, its key and what it is made from.
func (r *resolvedBase) describe(configPath string) string {
	var src string
	if d := r.Debootstrap; d != nil {
		src = fmt.Sprintf("debootstrap %s/%s/%s from %s", d.Suite, orDefault(d.Variant, "default"), d.Arch, d.Mirror)
	} else if r.RootfsFile != "" {
		src = "rootfs " + r.RootfsFile
	} else {
		src = "rootfs directory " + r.RootfsDir
	}
	name := "default"
	if r.Name != "" {
		name = "named base " + r.Name
	}
	return fmt.Sprintf("%s of %s (%s in %s), key %s, %s", name, r.Platform, field(r.Platform, r.Name), configPath, r.key()[:16], src)
}

// arch is the Debian architecture a resolved base runs.
func (r *resolvedBase) arch() string {
	if r.Debootstrap != nil {
		return r.Debootstrap.Arch
	}
	if p, err := schema.ParsePlatform(r.Platform); err == nil {
		return p.Arch
	}
	return ""
}

// newWorkDir makes a fresh build directory (root, upper, work, collect) in
// the cache, on the same filesystem as the bases, locked while the build
// runs so rtool base prune leaves it alone. release removes it.
func (b *Builder) newWorkDir(label string) (string, func(), error) {
	if err := os.MkdirAll(b.workDir(), 0o755); err != nil {
		return "", nil, fmt.Errorf("work directory: %w", err)
	}
	dir, err := os.MkdirTemp(b.workDir(), strings.ReplaceAll(label, "/", "_")+"-")
	if err != nil {
		return "", nil, fmt.Errorf("work directory: %w", err)
	}
	unlock, ok, err := tryLock(dir + ".lock")
	if err != nil || !ok {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("work directory %s: cannot lock it: %v", dir, err)
	}
	for _, d := range []string{"root", "upper", "work", "collect"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			unlock()
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("work directory: %w", err)
		}
	}
	return dir, func() {
		os.RemoveAll(dir)
		os.Remove(dir + ".lock")
		unlock()
	}, nil
}

// BuildAll runs reqs with at most jobs builds at a time (each with its own
// overlay) and returns the results in request order; failed builds leave a
// nil result and their errors are joined.
func (b *Builder) BuildAll(ctx context.Context, reqs []Request, jobs int) ([]*Result, error) {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]*Result, len(reqs))
	errs := make([]error, len(reqs))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A cancelled context wins even when a slot is free (select
			// picks at random among ready cases).
			if ctx.Err() == nil {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
				}
			}
			if err := ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("build %s for %s: not started: %w", req.RuntimeDir, req.Platform, err)
				return
			}
			results[i], errs[i] = b.Build(ctx, req)
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}
