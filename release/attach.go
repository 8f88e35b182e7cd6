package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/internal/intoto"
	"github.com/joblet/rtool/internal/sbom"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// attachments are the files published beside one artifact that describe
// it; each is nil when it is not there.
type attachments struct {
	SBOM       *registrygen.EntryFile // <artifact>.spdx.json, written by rtool build
	Provenance *registrygen.EntryFile // <artifact>.intoto.json, written by rtool build
	Bundle     *registrygen.EntryFile // <artifact>.sigstore.json, the release workflow's attestation
}

func (a attachments) files() []*registrygen.EntryFile {
	var out []*registrygen.EntryFile
	for _, f := range []*registrygen.EntryFile{a.SBOM, a.Provenance, a.Bundle} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// findAttachments looks for the SBOM, the provenance statement and the
// Sigstore bundle beside an artifact and checks that each is about that
// artifact (its sha256; the bundle's signature is not checked here, the
// consumer verifies it): a file made for another artifact is refused
// rather than published. A missing one is no error.
func findAttachments(ctx context.Context, artifact, checksum string) (attachments, error) {
	sha := strings.TrimPrefix(checksum, schema.ChecksumPrefix)
	name := filepath.Base(artifact)
	var a attachments
	for _, c := range []struct {
		suffix string
		dst    **registrygen.EntryFile
		check  func([]byte) error
	}{
		{sbom.Suffix, &a.SBOM, func(data []byte) error {
			_, err := sbom.Summarize(data, sha)
			return err
		}},
		{intoto.Suffix, &a.Provenance, func(data []byte) error {
			st, _, err := intoto.Decode(data)
			if err == nil && !intoto.HasSubject(st, name, sha) {
				err = fmt.Errorf("its subject is not %s with sha256 %s", name, sha)
			}
			return err
		}},
		{intoto.BundleSuffix, &a.Bundle, func(data []byte) error {
			st, err := intoto.BundleStatement(data)
			if err == nil && !intoto.HasSubject(st, "", sha) {
				err = fmt.Errorf("the statement it signs has no subject with sha256 %s (it was made for another file)", sha)
			}
			return err
		}},
	} {
		path := artifact + c.suffix
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return a, err
		}
		if err := c.check(data); err != nil {
			return a, fmt.Errorf("%s does not belong to %s: %w", path, name, err)
		}
		ef, err := registrygen.HashFile(ctx, path)
		if err != nil {
			return a, err
		}
		*c.dst = ef
	}
	return a, nil
}

// recordAttachments sets the sbom and attestation keys of each platform's
// artifact in the fragment's entry to the published files (urls by file
// name).
func recordAttachments(frag *schema.Registry, tag schema.Tag, attached map[string]attachments, urls map[string]string) {
	entry := frag.Runtimes[tag.Name][tag.Version]
	if entry == nil {
		return
	}
	ref := func(f *registrygen.EntryFile) *schema.Artifact {
		if f == nil || urls[filepath.Base(f.Path)] == "" {
			return nil
		}
		return &schema.Artifact{DownloadURL: urls[filepath.Base(f.Path)], Checksum: f.Checksum, Size: f.Size}
	}
	for p, at := range attached {
		if a := entry.Artifacts[p]; a != nil {
			a.SBOM, a.Attestation = ref(at.SBOM), ref(at.Bundle)
		}
	}
}

// missingAttachments names what an artifact lacks of its SBOM and bundle.
func missingAttachments(a attachments) []string {
	var out []string
	if a.SBOM == nil {
		out = append(out, "SBOM ("+sbom.Suffix+")")
	}
	if a.Bundle == nil {
		out = append(out, "Sigstore bundle ("+intoto.BundleSuffix+")")
	}
	return out
}

// ArtifactSideFiles returns the SBOM and the Sigstore bundle beside an
// artifact (nil when absent), each checked to describe the artifact whose
// checksum is given, for `rtool registry add` to record as publish does.
func ArtifactSideFiles(ctx context.Context, artifact, checksum string) (sbomFile, bundle *registrygen.EntryFile, err error) {
	a, err := findAttachments(ctx, artifact, checksum)
	if err != nil {
		return nil, nil, err
	}
	return a.SBOM, a.Bundle, nil
}
