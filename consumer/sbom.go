package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/joblet/rtool/internal/sbom"
	"github.com/joblet/rtool/schema"
)

// SBOM is a resolved version's software bill of materials, as `rtool
// runtime info` shows it: where the registry says it is and what it lists.
type SBOM struct {
	URL      string        `json:"url"`
	Checksum string        `json:"checksum"`
	Summary  *sbom.Summary `json:"summary"`
}

// FetchSBOM downloads the SBOM the registry names for r's artifact
// (artifacts[PLATFORM].sbom, resolved like download_url against the
// registry r came from), checks it against the registry's checksum and
// size, and checks that it describes r's artifact (its sha256). It returns
// nil and no error when the entry names no SBOM (an upstream entry, a
// version published before SBOMs, or a Joblet-mode pick).
func (s Sources) FetchSBOM(ctx context.Context, r *Resolved) (*SBOM, error) {
	if r == nil || r.Entry == nil || r.Universal || r.Mode == ModeJoblet {
		return nil, nil
	}
	a := r.Entry.Artifacts[r.Platform]
	if a == nil || a.SBOM == nil || a.Checksum != r.Checksum {
		return nil, nil
	}
	what := fmt.Sprintf("SBOM of %s@%s for %s (registry %s)", r.Name, r.Version, r.Platform, r.Registry)
	l := &Loaded{Where: r.Registry, IsURL: strings.HasPrefix(r.Registry, "http://") || strings.HasPrefix(r.Registry, "https://")}
	u, err := l.resolveURL(a.SBOM.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("%s: sbom.%w", what, err)
	}
	var data []byte
	if l.IsURL {
		data, err = s.get(ctx, u)
	} else {
		data, err = readFileLimited(u, MaxRegistrySize)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: fetch %s: %w", what, u, err)
	}
	if a.SBOM.Size > 0 && int64(len(data)) != a.SBOM.Size {
		return nil, fmt.Errorf("%s: %s is %d bytes, the registry says %d (the file or the registry was changed)", what, u, len(data), a.SBOM.Size)
	}
	sum := sha256.Sum256(data)
	if got := schema.ChecksumPrefix + hex.EncodeToString(sum[:]); a.SBOM.Checksum != "" && got != a.SBOM.Checksum {
		return nil, fmt.Errorf("%s: %s has checksum %s, the registry says %s (the file or the registry was changed)", what, u, got, a.SBOM.Checksum)
	}
	summary, err := sbom.Summarize(data, strings.TrimPrefix(r.Checksum, schema.ChecksumPrefix))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, u, err)
	}
	return &SBOM{URL: u, Checksum: a.SBOM.Checksum, Summary: summary}, nil
}
