package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/registrygen"
)

// DirPublisher publishes to a static directory tree that any web server
// can serve: <Dir>/<tag>/<file>, downloadable at <BaseURL>/<tag>/<file>.
// It is for air-gapped mirrors and for tests. Files are written atomically;
// an identical file is left alone and a differing one is replaced only with
// Force.
type DirPublisher struct {
	Dir     string
	BaseURL string // e.g. https://mirror.example.com/runtimes (no trailing slash needed)
}

// Kind returns "dir".
func (p *DirPublisher) Kind() string { return "dir" }

// DownloadURL returns <BaseURL>/<tag>/<name>.
func (p *DirPublisher) DownloadURL(tag, name string) string {
	return strings.TrimRight(p.BaseURL, "/") + "/" + url.PathEscape(tag) + "/" + url.PathEscape(name)
}

// Publish copies every asset to <Dir>/<tag>/<name>.
func (p *DirPublisher) Publish(ctx context.Context, req ReleaseRequest) ([]PublishedAsset, error) {
	if p.Dir == "" || p.BaseURL == "" {
		return nil, errors.New("dir publisher: needs a directory (--dir) and the URL it is served at (--base-url)")
	}
	if err := checkFileName(req.Tag); err != nil {
		return nil, fmt.Errorf("dir publisher: tag: %w", err)
	}
	tagDir := filepath.Join(p.Dir, req.Tag)
	if err := os.MkdirAll(tagDir, 0o755); err != nil {
		return nil, fmt.Errorf("dir publisher: %w", err)
	}
	// check every asset before writing any, so a conflict changes nothing
	states := make([]string, len(req.Assets))
	var replacing []Replacement
	for i, a := range req.Assets {
		if err := checkFileName(a.Name); err != nil {
			return nil, fmt.Errorf("dir publisher: asset: %w", err)
		}
		dest := filepath.Join(tagDir, a.Name)
		size, sum, err := hashFile(dest)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			states[i] = StateUploaded
		case err != nil:
			return nil, fmt.Errorf("dir publisher: %w", err)
		case size == a.Size && sum == a.SHA256:
			states[i] = StateUnchanged
		case !req.Force:
			return nil, fmt.Errorf("dir publisher: %s already exists with a different content (size %d sha256 %s, new: size %d sha256 %s); a published file is not replaced without --force",
				dest, size, sum, a.Size, a.SHA256)
		default:
			states[i] = StateReplaced
			replacing = append(replacing, Replacement{Name: a.Name, OldSize: size, OldSHA256: sum, NewSize: a.Size, NewSHA256: a.SHA256})
		}
	}
	if err := confirmReplacements(req, replacing); err != nil {
		return nil, fmt.Errorf("dir publisher: %w", err)
	}
	out := make([]PublishedAsset, 0, len(req.Assets))
	for i, a := range req.Assets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if states[i] != StateUnchanged {
			if err := copyAtomic(a, filepath.Join(tagDir, a.Name)); err != nil {
				return nil, fmt.Errorf("dir publisher: %w", err)
			}
		}
		out = append(out, PublishedAsset{Asset: a, URL: p.DownloadURL(req.Tag, a.Name), State: states[i]})
	}
	if err := syncDir(tagDir); err != nil {
		return nil, fmt.Errorf("dir publisher: %w", err)
	}
	return out, nil
}

// WriteRegistry makes <Dir>/registry.json hold data, and writes its
// per-platform views beside it (<Dir>/platforms/<platform>/registry.json),
// so the directory is a complete registry: rtool consumers use --registry
// <BaseURL>/registry.json, Joblet nodes <BaseURL> or
// <BaseURL>/platforms/<platform>. The mirror only ever moves forward:
// under a lock on the directory, data is merged into the registry already
// there (a publish whose push reply was slow must not overwrite a newer
// registry), the result must keep all of its history, and the views are
// written after registry.json (never ahead of it).
func (p *DirPublisher) WriteRegistry(ctx context.Context, data []byte) error {
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return fmt.Errorf("dir publisher: %w", err)
	}
	dest := filepath.Join(p.Dir, "registry.json")
	unlock, err := registrygen.Lock(ctx, dest)
	if err != nil {
		return fmt.Errorf("dir publisher: %w", err)
	}
	defer unlock()
	incoming, err := registrygen.Parse(data, "the committed registry.json")
	if err != nil {
		return fmt.Errorf("dir publisher: %w", err)
	}
	next := incoming
	existing, err := registrygen.Load(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("dir publisher: the mirror's registry is broken, not replacing it: %w", err)
	default:
		if registrygen.CheckHistory(existing, incoming) != nil {
			// The mirror has something the committed registry lacks (a
			// concurrent publish got here first): keep both.
			if next, _, err = registrygen.Merge(existing, incoming, registrygen.MergeOptions{}); err != nil {
				return fmt.Errorf("dir publisher: %s and the committed registry disagree: %w", dest, err)
			}
		}
		if err := registrygen.CheckHistory(existing, next); err != nil {
			return fmt.Errorf("dir publisher: %s: %w", dest, err)
		}
	}
	if err := registrygen.WriteWithViews(dest, next); err != nil {
		return fmt.Errorf("dir publisher: %w", err)
	}
	return syncDir(p.Dir)
}

// checkFileName refuses names that would leave the directory.
func checkFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("%q is not a plain file name", name)
	}
	return nil
}

// copyAtomic copies a.Path to dest through a temp file in dest's
// directory, checking the bytes copied against a's size and digest.
func copyAtomic(a Asset, dest string) error {
	src, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != a.Size || sum != a.SHA256 {
		return fmt.Errorf("%s changed while publishing: read size %d sha256 %s, expected size %d sha256 %s", a.Path, n, sum, a.Size, a.SHA256)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
