package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/joblet/rtool/internal/flock"
	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/schema"
	"golang.org/x/sys/unix"
)

// baseMeta is <cache>/bases/<id>/base.json, written last: a base directory
// without it is incomplete and never used.
type baseMeta struct {
	Platform    string        `json:"platform"`
	Key         string        `json:"key"`
	Config      *resolvedBase `json:"config"`
	CreatedAt   time.Time     `json:"created_at"`
	ToolVersion string        `json:"tool_version,omitempty"`
}

// BaseInfo describes one cached base for rtool base list.
type BaseInfo struct {
	ID        string    `json:"id"`
	Platform  string    `json:"platform"`
	Base      string    `json:"base"` // schema.DefaultBaseName or the named base's name
	Key       string    `json:"key"`
	Dir       string    `json:"dir"` // the root filesystem
	CreatedAt time.Time `json:"created_at"`
	Size      int64     `json:"size"`
	Source    string    `json:"source"`  // debootstrap suite/variant/arch from mirror, or the rootfs
	Current   bool      `json:"current"` // rtool.yaml still selects it
}

// BaseRef names a base rtool.yaml configures, whether or not it is in the
// cache: what a CI cache of bases is keyed by.
type BaseRef struct {
	Platform string `json:"platform"`
	Base     string `json:"base"` // schema.DefaultBaseName or the named base's name
	Key      string `json:"key"`  // the hash of the resolved configuration
	ID       string `json:"id"`   // its directory under the cache's bases/ ("" for a rootfs directory, used in place)
	Cached   bool   `json:"cached"`
}

// BaseRefs resolves, without building any, the bases of platforms (every
// platform with a base when none) called names (every base of each
// platform when none; schema.DefaultBaseName is the default base); see
// Config.SelectBases.
func (b *Builder) BaseRefs(platforms, names []string) ([]BaseRef, error) {
	sels, err := b.cfg.SelectBases(platforms, names)
	if err != nil {
		return nil, err
	}
	out := []BaseRef{}
	for _, s := range sels {
		ref, err := b.baseRef(s.Platform, s.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// RuntimeBaseRefs resolves the bases the builds reqs (from Config.Plan)
// run on, each once, in the order of reqs.
func (b *Builder) RuntimeBaseRefs(reqs []Request) ([]BaseRef, error) {
	out := []BaseRef{}
	seen := map[BaseSel]bool{}
	for _, req := range reqs {
		_, name, err := b.cfg.runtimeBaseOf(req.RuntimeDir)
		if err != nil {
			return nil, err
		}
		s := BaseSel{req.Platform, name}
		if seen[s] {
			continue
		}
		seen[s] = true
		ref, err := b.baseRef(s.Platform, s.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

func (b *Builder) baseRef(platform, name string) (BaseRef, error) {
	r, err := b.cfg.resolve(platform, name)
	if err != nil {
		return BaseRef{}, err
	}
	ref := BaseRef{Platform: platform, Base: r.baseName(), Key: r.key()}
	if r.RootfsDir == "" {
		ref.ID = r.id()
		ref.Cached = b.baseCached(ref.ID)
	} else {
		ref.Cached = true
	}
	return ref, nil
}

func (b *Builder) basesDir() string { return filepath.Join(b.opts.CacheDir, "bases") }
func (b *Builder) workDir() string  { return filepath.Join(b.opts.CacheDir, "work") }

// baseID is a cached base's directory under bases/: <platform>-<key16>
// for a default base (as before named bases existed), else
// <platform>-<name>-<key16>.
func baseID(platform, name, key string) string {
	if name == "" || name == schema.DefaultBaseName {
		return platform + "-" + key[:16]
	}
	return platform + "-" + name + "-" + key[:16]
}

func (r *resolvedBase) id() string { return baseID(r.Platform, r.Name, r.key()) }

// label names the base in messages: the platform for a default base,
// <platform>/<name> for a named one.
func (r *resolvedBase) label() string {
	if r.Name == "" {
		return r.Platform
	}
	return r.Platform + "/" + r.Name
}

// EnsureBase returns the root filesystem of the base called name
// (schema.DefaultBaseName or "" for the default) of platform, bootstrapping
// it into the cache first if needed, and its hash (the key of its resolved
// configuration, which names it in the cache). A user-supplied rootfs
// directory is returned as it is.
func (b *Builder) EnsureBase(ctx context.Context, platform, name string) (dir, hash string, err error) {
	r, err := b.cfg.resolve(platform, name)
	if err != nil {
		return "", "", err
	}
	dir, release, err := b.ensureBase(ctx, r)
	if err != nil {
		return "", "", err
	}
	release()
	return dir, r.key(), nil
}

// ensureBase is EnsureBase of a resolved base that keeps a shared lock on
// the base until release is called, so rtool base prune cannot remove it
// mid-build.
func (b *Builder) ensureBase(ctx context.Context, r *resolvedBase) (dir string, release func(), err error) {
	if r.RootfsDir != "" {
		return r.RootfsDir, func() {}, nil
	}
	if err := os.MkdirAll(b.basesDir(), 0o755); err != nil {
		return "", nil, fmt.Errorf("base cache: %w", err)
	}
	id := r.id()
	final := filepath.Join(b.basesDir(), id)
	lockPath := final + ".lock"
	for {
		if _, err := os.Stat(filepath.Join(final, "base.json")); err == nil {
			unlock, err := lockFile(ctx, lockPath, unix.LOCK_SH)
			if err != nil {
				return "", nil, err
			}
			if _, err := os.Stat(filepath.Join(final, "base.json")); err == nil {
				return filepath.Join(final, "rootfs"), unlock, nil
			}
			unlock() // pruned meanwhile: build it again
		}
		if err := b.createBase(ctx, r, final, lockPath); err != nil {
			return "", nil, err
		}
	}
}

// createBase builds the base into a temporary directory and renames it into
// place, under an exclusive lock so that concurrent builds bootstrap it once.
func (b *Builder) createBase(ctx context.Context, r *resolvedBase, final, lockPath string) (err error) {
	platform, label := r.Platform, r.label()
	unlock, err := lockFile(ctx, lockPath, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, "base.json")); err == nil {
		return nil // another build made it while we waited
	}
	if err := os.RemoveAll(final); err != nil { // an incomplete leftover
		return fmt.Errorf("base %s: remove incomplete %s: %w", label, final, err)
	}
	tmp, err := os.MkdirTemp(b.basesDir(), ".tmp-"+filepath.Base(final)+"-")
	if err != nil {
		return fmt.Errorf("base %s: %w", label, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return fmt.Errorf("base %s: %w", label, err)
	}
	logPath := filepath.Join(b.basesDir(), filepath.Base(final)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("base %s: log: %w", label, err)
	}
	defer logf.Close()
	out := b.mux.stream("base/"+label, logf)
	defer out.Close()
	start := time.Now()
	if r.Name != "" {
		fmt.Fprintf(out, "named base %s of %s (named_bases.%s.%s in %s)\n", r.Name, platform, r.Name, platform, b.cfg.Path)
	}
	if r.Debootstrap != nil {
		err = b.debootstrap(ctx, r.Debootstrap, rootfs, out)
	} else {
		fmt.Fprintf(out, "extracting %s\n", r.RootfsFile)
		err = runHost(ctx, out, "tar", "--numeric-owner", "--xattrs", "-xpf", r.RootfsFile, "-C", rootfs)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return &StepError{What: "bootstrap base " + label, LogPath: logPath, Tail: out.Tail(), Err: err}
	}
	meta := baseMeta{Platform: platform, Key: r.key(), Config: r, CreatedAt: time.Now().UTC(), ToolVersion: b.opts.ToolVersion}
	data, _ := json.MarshalIndent(meta, "", "  ")
	if err := writeFileAtomic(filepath.Join(tmp, "base.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("base %s: %w", label, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("base %s: %w", label, err)
	}
	fmt.Fprintf(out, "base ready in %s: %s\n", time.Since(start).Round(time.Second), final)
	return nil
}

// debootstrap runs debootstrap's first stage on the host and its second
// stage inside the new root through the sandbox (so its /proc and /sys
// mounts die with the namespace). A foreign architecture needs a
// qemu-user-static binfmt handler; its static interpreter is copied into
// the root so the base also works with handlers registered without the F
// (fix binary) flag.
func (b *Builder) debootstrap(ctx context.Context, d *DebootstrapConfig, rootfs string, out io.Writer) error {
	foreign := d.Arch != HostArch()
	if foreign {
		if err := CheckBinfmt(d.Arch); err != nil {
			return err
		}
		fmt.Fprintf(out, "warning: %s runs emulated through qemu-user-static on this %s host; expect it to be several times slower\n", d.Arch, HostArch())
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("debootstrap is not installed: run sudo scripts/setup-host.sh or apt-get install debootstrap")
	}
	args := []string{"--foreign", "--arch=" + d.Arch}
	if d.Variant != "" {
		args = append(args, "--variant="+d.Variant)
	}
	if len(d.Components) > 0 {
		args = append(args, "--components="+strings.Join(d.Components, ","))
	}
	if len(d.Include) > 0 {
		args = append(args, "--include="+strings.Join(d.Include, ","))
	}
	args = append(args, d.Suite, rootfs, d.Mirror)
	fmt.Fprintf(out, "debootstrap %s\n", strings.Join(args, " "))
	if err := runHost(ctx, out, "debootstrap", args...); err != nil {
		return err
	}
	if foreign {
		q := qemuName(d.Arch)
		src, err := exec.LookPath("qemu-" + q + "-static")
		if err == nil {
			if err := copyFile(src, filepath.Join(rootfs, "usr/bin", filepath.Base(src)), 0o755); err != nil {
				return fmt.Errorf("copy %s into the base: %w", src, err)
			}
		}
	}
	// The first stage leaves proc as a symlink to the host's /proc; the
	// second stage wants a directory to mount its own /proc on.
	procDir := filepath.Join(rootfs, "proc")
	if fi, err := os.Lstat(procDir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := os.Remove(procDir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(procDir, 0o555); err != nil {
		return err
	}
	fmt.Fprintln(out, "debootstrap --second-stage (inside the new root)")
	code, err := sandbox.Run(ctx, sandbox.Spec{
		Root:   rootfs,
		Proc:   true,
		Dev:    true,
		Args:   []string{"/debootstrap/debootstrap", "--second-stage"},
		Env:    []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"},
		Stdout: toolOutput(out),
		Stderr: toolOutput(out),
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("debootstrap --second-stage exited with status %d", code)
	}
	// Downloaded packages are not part of the base.
	debs, _ := filepath.Glob(filepath.Join(rootfs, "var/cache/apt/archives/*.deb"))
	for _, f := range debs {
		os.Remove(f)
	}
	return nil
}

// HostArch is the Debian architecture name of this machine.
func HostArch() string {
	switch runtime.GOARCH {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return runtime.GOARCH
}

func qemuName(debArch string) string {
	switch debArch {
	case "arm64":
		return "aarch64"
	case "armhf", "armel":
		return "arm"
	case "ppc64el":
		return "ppc64le"
	case "i386":
		return "i386"
	case "amd64":
		return "x86_64"
	}
	return debArch
}

// binfmtDir is where the kernel lists binfmt_misc handlers.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// CheckBinfmt reports, with the fix, when this host cannot run binaries of
// the Debian architecture arch through a qemu-user-static binfmt handler.
func CheckBinfmt(arch string) error {
	return checkBinfmtIn(binfmtDir, arch)
}

func checkBinfmtIn(dir, arch string) error {
	if arch == HostArch() || (HostArch() == "amd64" && arch == "i386") {
		return nil
	}
	q := qemuName(arch)
	fix := fmt.Sprintf("run sudo scripts/setup-host.sh, or: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-%s (and mount -t binfmt_misc binfmt_misc %s if it is not mounted)", q, binfmtDir)
	data, err := os.ReadFile(filepath.Join(dir, "qemu-"+q))
	if err != nil {
		return fmt.Errorf("cannot run %s binaries on this %s host: no binfmt_misc handler %s/qemu-%s; %s", arch, HostArch(), dir, q, fix)
	}
	if !strings.HasPrefix(string(data), "enabled") {
		return fmt.Errorf("cannot run %s binaries on this %s host: binfmt_misc handler qemu-%s is disabled; %s", arch, HostArch(), q, fix)
	}
	return nil
}

// runHost runs a host command with output to out, in a private mount
// namespace (anything it mounts dies with it) and its own process group,
// which is killed when ctx ends.
func runHost(ctx context.Context, out io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = toolOutput(out), toolOutput(out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lockFile takes a flock on path (created if missing) of kind how
// (unix.LOCK_SH or unix.LOCK_EX), waiting until ctx is done.
func lockFile(ctx context.Context, path string, how int) (unlock func(), err error) {
	l, err := flock.Acquire(ctx, path, flock.Mode(how), nil)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// tryLock takes an exclusive flock without waiting; ok is false when
// someone else holds it.
func tryLock(path string) (unlock func(), ok bool, err error) {
	l, ok, err := flock.TryAcquire(path, flock.Exclusive)
	if !ok {
		return nil, false, err
	}
	return l.Release, true, nil
}

// ListBases lists the bases in the cache, marking those rtool.yaml still
// configures (a platform's default base or a named base) as current.
func (b *Builder) ListBases() ([]BaseInfo, error) {
	current := map[string]bool{}
	for _, p := range b.cfg.AllPlatforms() {
		for _, n := range b.cfg.BaseNames(p) {
			if r, err := b.cfg.resolve(p, n); err == nil {
				current[r.key()] = true
			}
		}
	}
	entries, err := os.ReadDir(b.basesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("base cache: %w", err)
	}
	var out []BaseInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(b.basesDir(), e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "base.json"))
		if err != nil {
			continue // incomplete
		}
		var m baseMeta
		if err := json.Unmarshal(data, &m); err != nil || m.Config == nil {
			continue
		}
		info := BaseInfo{ID: e.Name(), Platform: m.Platform, Base: m.Config.baseName(), Key: m.Key, Dir: filepath.Join(dir, "rootfs"), CreatedAt: m.CreatedAt, Current: current[m.Key]}
		if d := m.Config.Debootstrap; d != nil {
			info.Source = fmt.Sprintf("debootstrap %s/%s/%s from %s", d.Suite, orDefault(d.Variant, "default"), d.Arch, d.Mirror)
		} else {
			info.Source = "rootfs " + m.Config.RootfsFile
		}
		info.Size = duSize(info.Dir)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PruneBases removes cached bases rtool.yaml no longer configures as a
// default or a named base (all of them with all), incomplete bases and
// work directories of builds that died, skipping anything a running build
// holds. It returns the removed paths.
func (b *Builder) PruneBases(all bool) ([]string, error) {
	infos, err := b.ListBases()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, info := range infos {
		if info.Current && !all {
			continue
		}
		dir := filepath.Join(b.basesDir(), info.ID)
		unlock, ok, err := tryLock(dir + ".lock")
		if err != nil || !ok {
			continue // in use
		}
		err = os.RemoveAll(dir)
		if err == nil {
			// The .lock file stays: removing it could let a waiter lock a
			// file that is no longer the one others open.
			os.Remove(dir + ".log")
			removed = append(removed, dir)
		}
		unlock()
		if err != nil {
			return removed, fmt.Errorf("prune %s: %w", dir, err)
		}
	}
	// Leftovers of interrupted bootstraps and builds.
	for _, pat := range []string{filepath.Join(b.basesDir(), ".tmp-*"), filepath.Join(b.workDir(), "*")} {
		matches, _ := filepath.Glob(pat)
		for _, m := range matches {
			if strings.HasSuffix(m, ".lock") {
				continue
			}
			lock := m + ".lock"
			if strings.HasPrefix(filepath.Base(m), ".tmp-") {
				// .tmp-<id>-XXXX is guarded by <id>.lock
				id := strings.TrimPrefix(filepath.Base(m), ".tmp-")
				if i := strings.LastIndexByte(id, '-'); i > 0 {
					id = id[:i]
				}
				lock = filepath.Join(b.basesDir(), id+".lock")
			}
			unlock, ok, err := tryLock(lock)
			if err != nil || !ok {
				continue
			}
			if err := os.RemoveAll(m); err == nil {
				removed = append(removed, m)
			}
			if filepath.Dir(lock) == b.workDir() {
				os.Remove(lock)
			}
			unlock()
		}
	}
	return removed, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func duSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// baseCached reports whether the base directory id holds a finished base.
func (b *Builder) baseCached(id string) bool {
	_, err := os.Stat(filepath.Join(b.basesDir(), id, "base.json"))
	return err == nil
}
