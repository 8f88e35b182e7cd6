package registrygen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/joblet/rtool/internal/flock"
	"github.com/joblet/rtool/schema"
)

// Encode returns the canonical bytes of r (see schema.EncodeRegistry),
// refusing a registry over MaxRegistrySize: every reader refuses it, so
// neither merge nor a release may write it.
func Encode(r *schema.Registry) ([]byte, error) {
	data, err := encodeAny(r)
	if err == nil && len(data) > MaxRegistrySize {
		return nil, fmt.Errorf("the registry would be %d bytes; the limit is %d bytes (%d MiB), which every reader applies (registry verify, merge, runtime install); split the runtimes between registries (rtool runtime install searches several in order)", len(data), MaxRegistrySize, MaxRegistrySize>>20)
	}
	return data, err
}

// encodeAny is Encode without the size limit.
func encodeAny(r *schema.Registry) ([]byte, error) {
	return schema.AppendRegistry(make([]byte, 0, encodedSizeHint(r)), r)
}

// encodedSizeHint estimates the encoded size so the output buffer is
// allocated once for typical registries instead of doubling its way up:
// each runtime's first entry (in map order) stands for all of its entries.
func encodedSizeHint(r *schema.Registry) int {
	n := 256
	for name, versions := range r.Runtimes {
		n += len(name) + 16
		for _, e := range versions {
			if e != nil {
				n += len(versions) * entrySizeHint(e)
			}
			break
		}
	}
	return n + n/8
}

func entrySizeHint(e *schema.RegistryEntry) int {
	n := 240 + 2*len(e.Version) + len(e.Description) + len(e.DownloadURL) + len(e.Checksum) + len(e.ReleasedAt)
	n += len(e.Platforms) * 30
	for p, a := range e.Artifacts {
		if a != nil {
			n += 160 + len(p) + len(a.DownloadURL) + len(a.Checksum)
		}
	}
	return n
}

// Write writes r canonically to path, atomically: a temporary file in the
// same directory is written, synced and renamed over path, so a reader sees
// the old or the new registry, never a mix. An existing file keeps its
// permissions.
func Write(path string, r *schema.Registry) error {
	data, err := Encode(r)
	if err != nil {
		return fmt.Errorf("registry %s: encode: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

func writeFileAtomic(path string, data []byte) (err error) {
	mode := os.FileMode(0o644)
	if fi, statErr := os.Stat(path); statErr == nil {
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		if err = f.Chmod(mode); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("registry %s: write: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Lock takes an exclusive advisory lock (flock) on the directory holding
// path, so that load–merge–write cycles of rtool processes on one machine
// run one at a time instead of overwriting each other's additions (Write
// replaces the file, so the file itself cannot carry the lock, and a lock
// file would be left behind). It waits until the lock is free or ctx is
// done. Across machines, package release serializes with git pushes.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	l, err := flock.Acquire(ctx, filepath.Dir(path), flock.Exclusive, nil)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
