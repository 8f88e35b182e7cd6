package builder

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/joblet/rtool/internal/sandbox"
	"github.com/joblet/rtool/schema"
)

// missingTreeCode is the collect command's exit status when the setup
// script did not create the runtime's install directory.
const missingTreeCode = 3

// collectArgs is the command that streams the runtime's install directory
// as an uncompressed tar on stdout. It runs in a second sandbox over the
// same overlay after the setup script finished.
//
// Why this way: the kernel computes the merged view of the overlay
// (unchanged files of the base, whiteouts of deleted ones, opaque and
// redirected directories), so nothing is missed or resurrected the way a
// reader of the upper directory alone would; the overlay is only mounted in
// the sandbox's private namespace, so no mount ever appears on the host,
// even if rtool is killed; and the host side reads a plain tar stream with
// checks of its own instead of trusting paths inside the chroot. The tar
// used is the base's (tar is essential in every Debian-family system).
func collectArgs(name string) []string {
	dir := path.Join(InstallRoot, name)
	return []string{"/bin/sh", "-c", fmt.Sprintf(
		"cd %s 2>/dev/null || { echo 'rtool: %s does not exist after the setup script' >&2; exit %d; }; exec tar --numeric-owner -cf - .",
		dir, dir, missingTreeCode)}
}

// collect runs spec (whose Args are collectArgs) and extracts its stdout
// into tree, which it creates.
func collect(ctx context.Context, spec sandbox.Spec, tree string, log io.Writer) error {
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	code, err, xerr := runExtracting(ctx, spec, tree, log)
	switch {
	case err != nil:
		return fmt.Errorf("collect %s: %w", InstallRoot, err)
	case code == missingTreeCode:
		return fmt.Errorf("the setup script did not create %s/%s/; it must install the runtime there (with runtime.yml at its top)", InstallRoot, filepath.Base(tree))
	case code != 0:
		return fmt.Errorf("collect %s/%s: tar exited with status %d", InstallRoot, filepath.Base(tree), code)
	case xerr != nil:
		return fmt.Errorf("collect %s/%s: %w", InstallRoot, filepath.Base(tree), xerr)
	}
	return nil
}

// runExtracting runs spec in the sandbox with its stdout, a tar stream,
// extracted below dest as it comes (extractTar), and returns the
// command's exit code, the sandbox's error and the extraction's error.
func runExtracting(ctx context.Context, spec sandbox.Spec, dest string, log io.Writer) (code int, runErr, extractErr error) {
	pr, pw := io.Pipe()
	spec.Stdout = pw
	spec.Stderr = log
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := sandbox.Run(ctx, spec)
		pw.Close()
		done <- result{code, err}
	}()
	extractErr = extractTar(pr, dest)
	io.Copy(io.Discard, pr) // let the command finish whatever happened
	r := <-done
	return r.code, r.err, extractErr
}

// extractTar writes the tar stream r below dest through an os.Root, so no
// entry can land outside it. Only directories, regular files and symlinks
// are accepted; a hardlink becomes a copy of its target (artifacts carry
// no hardlinks). Modification times are kept.
func extractTar(r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	type dirTime struct {
		name string
		t    time.Time
	}
	var dirs []dirTime
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			dirs = append(dirs, dirTime{".", hdr.ModTime})
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("tar entry %q leaves the tree", hdr.Name)
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		perm := fs.FileMode(hdr.Mode) & fs.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, perm); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := root.Chmod(name, perm); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			dirs = append(dirs, dirTime{name, hdr.ModTime})
		case tar.TypeReg:
			if err := writeRootFile(root, name, tr, perm, hdr.ModTime); err != nil {
				return err
			}
		case tar.TypeLink:
			target := path.Clean(strings.TrimPrefix(hdr.Linkname, "./"))
			src, err := root.Open(target)
			if err != nil {
				return fmt.Errorf("%s: hardlink to %s: %w", name, hdr.Linkname, err)
			}
			err = writeRootFile(root, name, src, perm, hdr.ModTime)
			src.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			root.Remove(name)
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		default:
			return fmt.Errorf("%s is a %s; a runtime tree may hold only directories, regular files and symlinks (remove it in the setup script)", name, tarTypeName(hdr.Typeflag))
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chtimes(dirs[i].name, dirs[i].t, dirs[i].t); err != nil {
			return fmt.Errorf("%s: %w", dirs[i].name, err)
		}
	}
	return nil
}

func writeRootFile(root *os.Root, name string, src io.Reader, perm fs.FileMode, mtime time.Time) error {
	root.Remove(name)
	f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return root.Chtimes(name, mtime, mtime)
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}

// CheckTree checks a collected runtime tree: runtime.yml exists at its top,
// parses, names the runtime and the release version, and every mount
// source exists inside the tree (symlinks are followed without leaving it).
func CheckTree(tree, name, version string) (*schema.RuntimeConfig, error) {
	rcPath := filepath.Join(InstallRoot, name, schema.RuntimeConfigFile)
	data, err := os.ReadFile(filepath.Join(tree, schema.RuntimeConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: the setup script must write it (name, version, mounts, environment)", rcPath)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rcPath, err)
	}
	rc, err := schema.ParseRuntimeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s (written by the setup script): %w", rcPath, err)
	}
	if rc.Name != name {
		return nil, fmt.Errorf("%s: name is %q but manifest.yaml names the runtime %q; write name: %s (or \"$RUNTIME_NAME\")", rcPath, rc.Name, name, name)
	}
	if rc.Version != version {
		return nil, fmt.Errorf("%s: version is %q but the release version in manifest.yaml is %q; write version: \"%s\" (from $RUNTIME_VERSION, quoted)", rcPath, rc.Version, version, version)
	}
	root, err := os.OpenRoot(tree)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for i, m := range rc.Mounts {
		if _, err := root.Stat(m.Source); err != nil {
			return nil, fmt.Errorf("%s: mounts[%d].source %q does not exist in the built tree (%v); create it in the setup script or fix the path", rcPath, i, m.Source, err)
		}
	}
	return rc, nil
}
