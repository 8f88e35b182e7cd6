package consumer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/internal/flock"
	"github.com/joblet/rtool/schema"
)

// DefaultRoot is where Joblet keeps installed runtimes.
const DefaultRoot = "/opt/joblet/runtimes"

const (
	stagingPrefix = ".staging-"
	locksDir      = ".locks"
)

// InstallOptions configures Install.
type InstallOptions struct {
	Root     string // install root; "" = DefaultRoot
	Platform string // "" = DetectPlatform
	Force    bool   // replace an existing install atomically
	// Registries are searched in order (see PickSources).
	Registries []Source
	Sources    Sources
	// Progress receives a progress bar (pass a terminal's stderr, or nil).
	Progress io.Writer
	// Warn receives warnings (yanked version, retries, skipped registries).
	Warn        func(string)
	Retry       Retry
	Concurrency int // decompression readahead; 0 = archive's default
	// Mode ModeJoblet reads the one registry exactly as Joblet's client
	// does (see ResolveJoblet); Platform is then ignored, as Joblet does.
	Mode Mode
	// Provenance: checking the artifact's Sigstore bundle before the
	// download (see provenance.go).
	Provenance ProvenanceOptions
}

func (o *InstallOptions) root() string {
	if o.Root == "" {
		return DefaultRoot
	}
	return o.Root
}

func (o *InstallOptions) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

// Installed describes an install that Install made or found.
type Installed struct {
	Name             string `json:"name"`
	Version          string `json:"version"`
	Platform         string `json:"platform,omitempty"`
	Dir              string `json:"dir"`
	URL              string `json:"url,omitempty"`
	Registry         string `json:"registry,omitempty"`
	Checksum         string `json:"checksum,omitempty"`
	Size             int64  `json:"size,omitempty"`
	UnpackedSize     int64  `json:"unpacked_size,omitempty"`
	Entries          int64  `json:"entries,omitempty"`
	AlreadyInstalled bool   `json:"already_installed"`
	Replaced         bool   `json:"replaced"`
	Attempts         int    `json:"attempts,omitempty"`
	// Unverified: the install found has no install record (RecordFile),
	// so nothing says what it holds (see checkExisting).
	Unverified bool `json:"unverified,omitempty"`
	// Repaired says why an install found was damaged and installed again.
	Repaired string `json:"repaired,omitempty"`
	// TreeDigest is the installed tree's digest in its install record.
	TreeDigest string `json:"tree_digest,omitempty"`
	// ShadowedFlat is an intact flat install (root/name-version) of the
	// same version that this nested install now shadows.
	ShadowedFlat string `json:"shadowed_flat,omitempty"`
	// Joblet is what Joblet's client picked (ModeJoblet only).
	Joblet *JobletPick `json:"joblet,omitempty"`
	// Provenance is what the artifact's bundle showed (not ModeJoblet).
	Provenance *ProvenanceReport `json:"provenance,omitempty"`
}

// Install resolves spec in opts.Registries for the platform and installs it.
func Install(ctx context.Context, spec string, opts InstallOptions) (*Installed, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if opts.Mode == ModeJoblet {
		r, err := opts.Sources.ResolveJobletSources(ctx, opts.Registries, sp)
		if err != nil {
			return nil, err
		}
		for _, w := range r.Warnings {
			opts.warn("%s", w)
		}
		return InstallResolved(ctx, r, opts)
	}
	platform := opts.Platform
	if platform == "" {
		if platform, err = DetectPlatform(); err != nil {
			return nil, err
		}
	}
	regs, err := opts.Sources.FetchAll(ctx, opts.Registries, opts.Warn)
	if err != nil {
		return nil, err
	}
	r, err := Resolve(regs, sp, platform)
	if err != nil {
		return nil, err
	}
	for _, w := range r.Warnings {
		opts.warn("%s", w)
	}
	return InstallResolved(ctx, r, opts)
}

// InstallResolved downloads, verifies and installs r into
// <root>/<name>/<version>/ (Joblet's nested layout). Under a per-version
// lock: an existing valid install is kept (or replaced atomically with
// Force); the artifact is streamed once through sha256, a byte counter
// capped at r.Size and archive.Extract into a staging directory
// <root>/.staging-<name>-<version>-<random>/; the checksum, size and
// runtime.yml are checked; every file is hashed into the install record
// (RecordFile) and, with every directory, fsynced; then the staging tree is
// renamed into place and its parent directory synced. Any failure removes
// the staging directory. An install found in place is checked against its
// record (see checkExisting). An intact flat install
// (<root>/<name>-<version>/) of the same version does not count as
// installed: Joblet's installer looks only at the nested directory, and its
// resolver then prefers the nested one; the flat one is reported as
// shadowed. With r.Mode ModeJoblet the download is also read as Joblet's
// extractor reads it (see ResolveJoblet).
func InstallResolved(ctx context.Context, r *Resolved, opts InstallOptions) (*Installed, error) {
	if err := schema.CheckName(r.Name); err != nil {
		return nil, err
	}
	if err := schema.CheckVersion(r.Version); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(opts.root())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, locksDir), 0o755); err != nil {
		return nil, fmt.Errorf("install root %s: %w", root, err)
	}
	key := schema.InstallDirName(r.Name, r.Version) // locks and staging
	final := InstallDir(root, r.Name, r.Version)
	if err := checkNameDir(root, r.Name); err != nil {
		return nil, fmt.Errorf("install %s@%s: %w", r.Name, r.Version, err)
	}
	cleanStale(root, key)

	unlock, err := lockKey(ctx, root, key, opts.Warn)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeStaging(root, key) // ours now: any left is from a killed installer

	out := &Installed{
		Name: r.Name, Version: r.Version, Platform: r.Platform, Dir: final, URL: r.URL, Registry: r.Registry,
		Checksum: r.Checksum, Size: r.Size, Joblet: r.Joblet,
	}
	exists := false
	if _, err := os.Lstat(final); err == nil {
		exists = true
		if !opts.Force {
			keep, err := checkExisting(ctx, final, key, r, out, opts)
			if err != nil {
				return nil, err
			}
			if keep {
				out.AlreadyInstalled = true
				return out, nil
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	} else if flat := FlatInstallDir(root, r.Name, r.Version); hasRuntimeConfig(flat) {
		if _, err := VerifyTree(flat, r.Name, r.Version); err == nil {
			out.ShadowedFlat = flat
			opts.warn("%s@%s is installed in the old flat layout at %s; installing it into %s, where Joblet looks first (the flat copy stays, shadowed; rtool runtime remove %s@%s removes both)",
				r.Name, r.Version, flat, final, r.Name, r.Version)
		}
	}

	// The bundle is checked against the registry's checksum before the
	// download, which is then held to that checksum (provenance.go).
	if out.Provenance, err = checkProvenance(ctx, r, opts); err != nil {
		return nil, fmt.Errorf("install %s: %w", key, err)
	}

	retry := opts.Retry.orDefault()
	var staging, tree string
	var stats archive.Stats
	var written writtenDigests // what the extractor wrote, for the install record
	for attempt := 1; ; attempt++ {
		out.Attempts = attempt
		staging, err = newStaging(root, key)
		if err != nil {
			return nil, err
		}
		tree, stats, err = fetchInto(ctx, r, staging, &written, opts)
		if err == nil {
			break
		}
		os.RemoveAll(staging)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("install %s: %w", key, ctx.Err())
		}
		if !isTransient(err) || attempt >= retry.Attempts {
			if isTransient(err) {
				return nil, fmt.Errorf("install %s: giving up after %d attempts: %w", key, attempt, err)
			}
			return nil, fmt.Errorf("install %s: %w", key, err)
		}
		d := retry.delay(attempt)
		opts.warn("download of %s failed (attempt %d of %d): %v; retrying in %s", key, attempt, retry.Attempts, err, d.Round(time.Millisecond))
		if err := sleepCtx(ctx, d); err != nil {
			return nil, fmt.Errorf("install %s: %w", key, err)
		}
	}
	defer os.RemoveAll(staging)

	if _, err := VerifyTree(tree, r.Name, r.Version); err != nil {
		return nil, fmt.Errorf("install %s from %s: %w", key, r.URL, err)
	}
	if err := os.Chmod(tree, 0o755); err != nil {
		return nil, err
	}
	// Durable before it is visible: files and directories synced, the
	// install record written (record.go); a crash leaves the old state or
	// the whole new tree, never a renamed tree whose data is not on disk.
	rec, err := makeDurable(ctx, tree, &written, r, time.Now())
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", key, err)
	}
	out.TreeDigest = rec.Digest
	if exists {
		if err := exchange(tree, final, staging); err != nil {
			return nil, fmt.Errorf("replace %s: %w", final, err)
		}
		out.Replaced = true
	} else if err := placeInstall(tree, final); err != nil {
		removeEmptyNameDir(root, r.Name)
		return nil, fmt.Errorf("move %s@%s into place at %s: %w", r.Name, r.Version, final, err)
	}
	syncDir(filepath.Dir(final))
	syncDir(root)
	out.UnpackedSize, out.Entries = stats.UnpackedSize, stats.Entries
	return out, nil
}

// fetchInto makes one download-and-extract attempt into staging and
// returns the directory holding runtime.yml (staging/tree, or its single
// wrapper directory).
func fetchInto(ctx context.Context, r *Resolved, staging string, written *writtenDigests, opts InstallOptions) (tree string, stats archive.Stats, err error) {
	tree, err = fetchOnce(ctx, r, staging, written, opts, &stats)
	return tree, stats, err
}

func fetchOnce(ctx context.Context, r *Resolved, staging string, written *writtenDigests, opts InstallOptions, statsOut *archive.Stats) (string, error) {
	body, err := opts.Sources.openArtifact(ctx, r.URL)
	if err != nil {
		return "", err
	}
	defer body.Close()
	tree := filepath.Join(staging, "tree")
	if err := os.Mkdir(tree, 0o700); err != nil {
		return "", err
	}
	joblet := r.Mode == ModeJoblet
	limit := r.Size
	if joblet {
		// Joblet's downloader never checks size (it only shows it).
		limit = archive.CeilingUnpackedSize
	}
	m := &meteredReader{r: body, h: sha256.New(), limit: limit,
		progress: newProgress(opts.Progress, r.Name+"@"+r.Version, r.Size)}
	var src io.Reader = m
	var scan *jobletScan
	if joblet {
		// Joblet's extractor sees the same bytes: what it would skip and
		// which wrapper directory it would strip.
		scan = startJobletScan()
		defer scan.finish()
		src = io.TeeReader(m, scan)
	}
	stats, xerr := archive.Extract(ctx, src, tree, archive.ExtractOptions{
		MaxUnpackedSize: r.UnpackedSize, MaxEntries: r.Entries, Concurrency: opts.Concurrency,
		// m hashes every byte itself (and the rest after Extract returns).
		SkipHash:   true,
		FileDigest: written.recorder(tree),
	})
	// Hash whatever the extractor left unread (the gzip trailer's padding,
	// or the rest of a rejected archive) so the checksum covers every byte.
	_, derr := io.Copy(io.Discard, src)
	if scan != nil {
		scan.finish()
	}
	m.progress.done()
	if m.readErr != nil {
		return "", &transientError{fmt.Errorf("download %s: %w", r.URL, m.readErr)}
	}
	if m.tooLarge || errors.Is(derr, errTooLarge) || errors.Is(xerr, errTooLarge) {
		return "", fmt.Errorf("%s: more bytes than the registry's size of %d; refusing (the artifact or the registry was changed)", r.URL, r.Size)
	}
	if derr != nil && ctx.Err() == nil {
		return "", &transientError{fmt.Errorf("download %s: %w", r.URL, derr)}
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	got := schema.ChecksumPrefix + hex.EncodeToString(m.h.Sum(nil))
	if m.n != r.Size {
		if !joblet {
			return "", fmt.Errorf("%s: size mismatch: registry says %d bytes, got %d (checksum %s)", r.URL, r.Size, m.n, got)
		}
		opts.warn("%s: the registry's size is %d bytes but the download has %d; Joblet does not check size, so a node would go on (rtool registry verify reports it)", r.URL, r.Size, m.n)
	}
	if got != r.Checksum {
		msg := fmt.Sprintf("checksum mismatch for %s: registry says %s, downloaded %s", r.URL, r.Checksum, got)
		if joblet {
			msg += " (Joblet's downloader refuses it too)"
		}
		if xerr != nil {
			msg += fmt.Sprintf(" (and the archive was rejected: %v)", xerr)
		}
		return "", errors.New(msg)
	}
	if joblet {
		if err := scan.droppedError(r.URL); err != nil {
			return "", err
		}
	}
	if xerr != nil {
		return "", fmt.Errorf("artifact %s: %w", r.URL, xerr)
	}
	*statsOut = stats
	if joblet {
		return jobletTree(tree, scan.prefix, r)
	}
	return unwrapTree(tree)
}

// unwrapTree returns tree, or its single top-level directory when tree has
// no runtime.yml and exactly one entry that is a directory holding one (the
// optional wrapper directory Joblet accepts).
func unwrapTree(tree string) (string, error) {
	if _, err := os.Lstat(filepath.Join(tree, schema.RuntimeConfigFile)); err == nil {
		return tree, nil
	}
	ents, err := os.ReadDir(tree)
	if err != nil {
		return "", err
	}
	if len(ents) == 1 && ents[0].Type().IsDir() {
		inner := filepath.Join(tree, ents[0].Name())
		if fi, err := os.Lstat(filepath.Join(inner, schema.RuntimeConfigFile)); err == nil && fi.Mode().IsRegular() {
			return inner, nil
		}
	}
	return tree, nil
}

// VerifyTree checks an extracted or installed runtime: runtime.yml is a
// regular file at its root, parses, names exactly name and version, and
// every mount source exists inside the tree (symlinks are followed only
// while they stay inside it).
func VerifyTree(dir, name, version string) (*schema.RuntimeConfig, error) {
	rc, err := readRuntimeConfig(dir)
	if err != nil {
		return nil, err
	}
	if rc.Name != name || rc.Version != version {
		return nil, fmt.Errorf("%s says name %q version %q, but the registry entry is %s@%s; the artifact does not belong to this entry",
			schema.RuntimeConfigFile, rc.Name, rc.Version, name, version)
	}
	for i, m := range rc.Mounts {
		if _, err := ResolveInside(dir, m.Source); err != nil {
			return nil, fmt.Errorf("%s: mounts[%d].source %q: %w", schema.RuntimeConfigFile, i, m.Source, err)
		}
	}
	return rc, nil
}

func readRuntimeConfig(dir string) (*schema.RuntimeConfig, error) {
	fi, err := os.Lstat(filepath.Join(dir, schema.RuntimeConfigFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no %s at the top of the runtime (an upstream source package must be built first: rtool build)", schema.RuntimeConfigFile)
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a %s, not a regular file", schema.RuntimeConfigFile, fi.Mode().Type())
	}
	if fi.Size() > 1<<20 {
		return nil, fmt.Errorf("%s is %d bytes; the limit is 1 MiB", schema.RuntimeConfigFile, fi.Size())
	}
	data, err := os.ReadFile(filepath.Join(dir, schema.RuntimeConfigFile))
	if err != nil {
		return nil, err
	}
	return schema.ParseRuntimeConfig(data)
}

// ResolveInside returns the real path of rel inside base, following
// symlinks only while they stay inside base: a symlink with an absolute
// target, or any path that climbs out of base, is an error. It never
// touches anything outside base.
func ResolveInside(base, rel string) (string, error) {
	if err := schema.CheckMountSource(rel); err != nil {
		return "", err
	}
	const maxLinks = 40
	links := 0
	cur := "" // resolved, symlink-free, relative to base
	parts := strings.Split(rel, "/")
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return "", fmt.Errorf("%q leads outside the runtime directory", rel)
			}
			cur = filepath.Dir(cur)
			if cur == "." {
				cur = ""
			}
			continue
		}
		next := filepath.Join(cur, p)
		fi, err := os.Lstat(filepath.Join(base, next))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%q does not exist in the runtime (missing %s)", rel, next)
			}
			return "", err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			links++
			if links > maxLinks {
				return "", fmt.Errorf("%q: too many symlinks", rel)
			}
			target, err := os.Readlink(filepath.Join(base, next))
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				return "", fmt.Errorf("%q: %s is a symlink to the absolute path %s, which is not followed out of the runtime directory", rel, next, target)
			}
			parts = append(strings.Split(target, "/"), parts...)
			continue
		}
		if !fi.IsDir() && len(parts) > 0 && strings.Trim(strings.Join(parts, "/"), "/.") != "" {
			return "", fmt.Errorf("%q: %s is not a directory", rel, next)
		}
		cur = next
	}
	return filepath.Join(base, cur), nil
}

// newStaging creates <root>/.staging-<key>-<random>.
func newStaging(root, key string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir := filepath.Join(root, stagingPrefix+key+"-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create staging directory: %w", err)
	}
	return dir, nil
}

// stagingKey returns the install key of a staging directory name.
func stagingKey(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, stagingPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "-")
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

// removeStaging removes every staging directory of key; the caller holds
// key's lock, so they are leftovers of a killed installer.
func removeStaging(root, key string) {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if k, ok := stagingKey(e.Name()); ok && k == key {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// cleanStale removes staging directories of other versions whose lock is
// free (their installer is gone).
func cleanStale(root, except string) {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		k, ok := stagingKey(e.Name())
		if !ok || k == except {
			continue
		}
		unlock, ok := tryLock(root, k)
		if !ok {
			continue
		}
		os.RemoveAll(filepath.Join(root, e.Name()))
		unlock()
	}
}

func lockPath(root, key string) string {
	return filepath.Join(root, locksDir, key+".lock")
}

func tryLock(root, key string) (func(), bool) {
	l, ok, err := flock.TryAcquire(lockPath(root, key), flock.Exclusive)
	if err != nil || !ok {
		return nil, false
	}
	return func() { l.ReleaseAndRemove() }, true
}

// lockKey takes the exclusive lock of one runtime version, waiting (and
// saying so once) while another installer holds it.
func lockKey(ctx context.Context, root, key string, warn func(string)) (func(), error) {
	var onWait func()
	if warn != nil {
		onWait = func() { warn(fmt.Sprintf("waiting for another installer of %s", key)) }
	}
	l, err := flock.Acquire(ctx, lockPath(root, key), flock.Exclusive, onWait)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	// the lock file goes with the lock, so failed installs leave nothing
	return func() { l.ReleaseAndRemove() }, nil
}

// exchange atomically swaps tree into final; the old install ends up at
// tree's path (inside staging) and is removed with it.
func exchange(tree, final, staging string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tree, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	// The filesystem cannot exchange: move the old one aside, then the
	// new one in (a short window with no install, never a partial one).
	old := filepath.Join(staging, "old")
	if err := os.Rename(final, old); err != nil {
		return err
	}
	if err := os.Rename(tree, final); err != nil {
		os.Rename(old, final)
		return err
	}
	return nil
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
