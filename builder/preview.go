package builder

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/joblet/rtool/archive"
	"github.com/joblet/rtool/schema"
)

// buildPlan is what a build of one request is decided from, before
// anything is built: the runtime, the base it builds on, the artifact's
// path and the hash of its inputs.
type buildPlan struct {
	ri       *runtimeInfo
	base     *resolvedBase
	sde      time.Time
	artifact string
	inputs   string
}

// plan reads the runtime of req, resolves its base and hashes the inputs
// (sdeEnv: SOURCE_DATE_EPOCH, "" = the runtime's last commit time).
func (b *Builder) plan(ctx context.Context, req Request, sdeEnv string) (*buildPlan, error) {
	if req.OutDir == "" {
		req.OutDir = "out"
	}
	ri, err := b.loadRuntime(req.RuntimeDir, req.Platform)
	if err != nil {
		return nil, err
	}
	label := ri.manifest.Name + "/" + req.Platform
	sde, _, err := archive.SourceDateEpoch(ctx, ri.dir, sdeEnv)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", label, err)
	}
	// The base: the manifest's build.base, else the platform's default.
	r, err := b.cfg.resolve(req.Platform, ri.base)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", label, err)
	}
	inputs, err := b.inputsHash(ri, req.Platform, r.key(), sde)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", label, err)
	}
	artifact := filepath.Join(req.OutDir, schema.ArtifactName(ri.manifest.Name, ri.manifest.Version, req.Platform))
	return &buildPlan{ri: ri, base: r, sde: sde, artifact: artifact, inputs: inputs}, nil
}

// reusable reports whether artifact was built from inputs and has its SBOM
// and provenance beside it: then a build reuses it.
func reusable(artifact, inputs string) (archive.Stats, bool) {
	st, ok := reuseArtifact(artifact, inputs)
	return st, ok && haveAttachments(artifact)
}

// Preview is what Build would do for one request, found without building
// anything (rtool build --dry-run): reuse the artifact or build it, and on
// which base, cached or still to bootstrap.
type Preview struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Platform   string `json:"platform"`
	Base       string `json:"base"`    // "default" or the manifest's build.base
	BaseID     string `json:"base_id"` // its directory under the cache's bases/ ("" for a rootfs directory)
	BaseCached bool   `json:"base_cached"`
	Artifact   string `json:"artifact"`
	Reuse      bool   `json:"reuse"` // the artifact matches its inputs: no build
}

// Preview tells what Build would do for req.
func (b *Builder) Preview(ctx context.Context, req Request) (*Preview, error) {
	pl, err := b.plan(ctx, req, b.opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	ref, err := b.baseRef(req.Platform, pl.ri.base)
	if err != nil {
		return nil, err
	}
	_, reuse := reusable(pl.artifact, pl.inputs)
	return &Preview{
		Name: pl.ri.manifest.Name, Version: pl.ri.manifest.Version, Platform: req.Platform,
		Base: ref.Base, BaseID: ref.ID, BaseCached: ref.Cached,
		Artifact: pl.artifact, Reuse: reuse && !req.Rebuild,
	}, nil
}
