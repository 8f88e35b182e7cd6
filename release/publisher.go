package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Asset is one file to publish under a release tag.
type Asset struct {
	Name   string `json:"name"` // file name in the release (schema.ArtifactName or schema.SourcePackageName)
	Path   string `json:"path"` // local file
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex of the file's bytes
}

// NewAsset hashes the file at path and names the asset after it.
func NewAsset(path string) (Asset, error) {
	f, err := os.Open(path)
	if err != nil {
		return Asset{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Asset{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return Asset{Name: filepath.Base(path), Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Asset states after Publish.
const (
	StateUploaded  = "uploaded"  // the asset was not there and was uploaded
	StateUnchanged = "unchanged" // an identical asset (name, size, digest) was already there
	StateReplaced  = "replaced"  // a differing asset was replaced (Force)
	StatePlanned   = "planned"   // dry run: would be uploaded
)

// PublishedAsset is an asset after Publish, with its download URL.
type PublishedAsset struct {
	Asset
	URL   string `json:"url"`
	State string `json:"state"`
}

// ReleaseRequest is a release to publish.
type ReleaseRequest struct {
	Tag string // name@X.Y.Z
	// Target is the commit the release's tag must point at; GitHub creates
	// the tag there when it does not exist yet (bulk vX.Y.Z releases).
	Target string
	Title  string
	Notes  string // Markdown body
	Assets []Asset
	// Force replaces an asset whose name exists with a different size or
	// digest; without it such a conflict is an error and nothing is replaced.
	Force bool
	// Confirm, when set, is called with every published asset Force would
	// replace, before anything changes; an error aborts the publish with
	// nothing replaced. Publish (rtool publish --force) asks the user here.
	Confirm func([]Replacement) error
}

// Replacement is a published asset that a forced publish would replace.
type Replacement struct {
	Name      string `json:"name"`
	OldSize   int64  `json:"old_size"`
	OldSHA256 string `json:"old_sha256,omitempty"` // "" when the server did not say
	NewSize   int64  `json:"new_size"`
	NewSHA256 string `json:"new_sha256"`
	Why       string `json:"why,omitempty"` // how they differ, as the publisher found it
}

func (r Replacement) String() string {
	old := r.OldSHA256
	if old == "" {
		old = "(unknown sha256)"
	}
	return fmt.Sprintf("%s: %d bytes sha256 %s → %d bytes sha256 %s", r.Name, r.OldSize, old, r.NewSize, r.NewSHA256)
}

// confirmReplacements calls req.Confirm when anything would be replaced.
func confirmReplacements(req ReleaseRequest, reps []Replacement) error {
	if len(reps) == 0 || req.Confirm == nil {
		return nil
	}
	return req.Confirm(reps)
}

// Publisher makes release assets downloadable. Publish is idempotent: a
// re-run with the same assets finds them there and changes nothing.
type Publisher interface {
	// Kind names the backend ("github", "dir").
	Kind() string
	// DownloadURL is the URL asset name will have under tag, without
	// contacting anything (for dry runs).
	DownloadURL(tag, name string) string
	// Publish uploads and verifies every asset, then makes the release
	// public, and returns each asset's final download URL.
	Publish(ctx context.Context, req ReleaseRequest) ([]PublishedAsset, error)
}

// RegistryMirror is implemented by publishers that also serve
// registry.json next to the files (the dir publisher), so a mirror is a
// complete registry consumers can point at.
type RegistryMirror interface {
	// WriteRegistry merges the committed registry.json into the mirror's
	// and writes it with its per-platform views; the mirror only moves
	// forward.
	WriteRegistry(ctx context.Context, data []byte) error
}

// hashFile returns the size and lowercase hex sha256 of a file.
func hashFile(path string) (int64, string, error) {
	a, err := NewAsset(path)
	return a.Size, a.SHA256, err
}

// ConfirmReplacements returns the ConfirmReplace of a forced publish: it
// lists every replacement on log, then goes ahead when yes is set, asks
// through ask when interactive, and otherwise refuses (a forced replace
// of published files is never done unattended by accident).
func ConfirmReplacements(yes, interactive bool, ask func(question string) (bool, error), log io.Writer) func([]Replacement) error {
	return func(reps []Replacement) error {
		fmt.Fprintf(log, "--force would replace %d published file(s):\n", len(reps))
		for _, r := range reps {
			fmt.Fprintf(log, "  %s\n", r)
		}
		switch {
		case yes:
			return nil
		case !interactive || ask == nil:
			return fmt.Errorf("refusing to replace %d published file(s) without a terminal to ask on; pass --yes to replace them (nodes that installed the old files keep them)", len(reps))
		}
		ok, err := ask(fmt.Sprintf("replace these %d published file(s)?", len(reps)))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("not replacing published files (answered no); nothing was changed")
		}
		return nil
	}
}
