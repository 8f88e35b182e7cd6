package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/joblet/rtool/internal/provenance"
	"github.com/joblet/rtool/schema"
)

// Provenance on install
//
// A registry entry's artifact may name its Sigstore bundle
// (artifacts[PLATFORM].attestation: a GitHub artifact attestation that the
// release workflow signed). Install checks it BEFORE downloading the
// artifact, against the registry's checksum of the artifact: the bundle's
// in-toto statement must have a subject with that sha256. The download is
// then held to the same checksum as always, so what is unpacked hashes to
// the digest the workflow signed, and nothing is unpacked before the
// bundle is verified. (The digest of the download itself is known only
// once it has streamed through the extractor; checking the bundle against
// the registry's checksum first, and the download against that checksum
// after, is equivalent and needs no second pass.)
//
// A registry entry without a bundle is a warning, or an error when
// provenance is required (--require-provenance, or provenance.require for
// the registry in the config). A bundle the registry names is always
// checked, required or not: one that cannot be fetched or does not verify
// stops the install, because the registry promised it and a bundle that
// fails means the artifact, the bundle or the registry was changed.

// ProvenanceOptions are the command line's provenance settings; they apply
// to every registry, over the config file's.
type ProvenanceOptions struct {
	// Require makes a missing bundle fatal (--require-provenance).
	Require bool
	// Repository is the OWNER/REPO whose release workflow must have signed
	// (--provenance-repository).
	Repository string
	// TrustedRoot is a trusted_root.json (--trusted-root); "" means the
	// registry's provenance.trusted_root, else the embedded public-good
	// root.
	TrustedRoot string
}

// ProvenanceConfig is a registry's provenance block in the config file:
//
//	runtimes:
//	  registries:
//	    - name: ours
//	      url: joblet/rtool
//	      provenance:
//	        require: true
//	        repository: joblet/rtool   # default: the url's owner/repo
//	        workflow: .github/workflows/release-runtime.yml  # at refs/tags/NAME@VERSION
//	        bulk_workflow: .github/workflows/release-all.yml # at any tag; "none" refuses it
//	        issuer: https://token.actions.githubusercontent.com
//	        trusted_root: trusted_root.json  # relative to the config file
type ProvenanceConfig struct {
	Require      bool   `yaml:"require" json:"require"`
	Repository   string `yaml:"repository" json:"repository,omitempty"`
	Workflow     string `yaml:"workflow" json:"workflow,omitempty"`
	BulkWorkflow string `yaml:"bulk_workflow" json:"bulk_workflow,omitempty"`
	Issuer       string `yaml:"issuer" json:"issuer,omitempty"`
	TrustedRoot  string `yaml:"trusted_root" json:"trusted_root,omitempty"`
	// Where names the block in messages (config FILE
	// runtimes.registries[I].provenance).
	Where string `yaml:"-" json:"-"`
	line  int
}

var provenanceKeys = []string{"require", "repository", "workflow", "bulk_workflow", "issuer", "trusted_root"}

// UnmarshalYAML decodes the block strictly: a misspelt key (say
// "requre") must not silently turn verification off.
func (c *ProvenanceConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: provenance must be a mapping with the keys %s", n.Line, strings.Join(provenanceKeys, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		known := false
		for _, want := range provenanceKeys {
			known = known || k.Value == want
		}
		if !known {
			return fmt.Errorf("line %d: provenance has the unknown key %q; the keys are %s", k.Line, k.Value, strings.Join(provenanceKeys, ", "))
		}
	}
	type plain ProvenanceConfig
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = ProvenanceConfig(p)
	c.line = n.Line
	return nil
}

func (c *ProvenanceConfig) policy() provenance.Policy {
	return provenance.Policy{Repository: c.Repository, Workflow: c.Workflow, BulkWorkflow: c.BulkWorkflow, Issuer: c.Issuer}
}

// check validates the block read from config file path, entry i, and makes
// a relative trusted_root relative to the config file.
func (c *ProvenanceConfig) check(path string, i int) error {
	c.Where = fmt.Sprintf("config %s:%d: runtimes.registries[%d].provenance", path, c.line, i)
	p := c.policy().WithDefaults()
	if p.Repository == "" {
		p.Repository = "placeholder/placeholder" // may come from the url; checked at install
	}
	if err := p.Check(); err != nil {
		return fmt.Errorf("%s: %w", c.Where, err)
	}
	if c.TrustedRoot != "" && !filepath.IsAbs(c.TrustedRoot) {
		c.TrustedRoot = filepath.Join(filepath.Dir(path), c.TrustedRoot)
	}
	return nil
}

// ProvenanceReport says what Install found out about an artifact's
// provenance.
type ProvenanceReport struct {
	// Status is "verified", or "missing" (the registry names no bundle;
	// installed on the registry's checksum alone).
	Status   string               `json:"status"`
	Required bool                 `json:"required"`
	Bundle   string               `json:"bundle,omitempty"`
	Policy   *provenance.Policy   `json:"policy,omitempty"`
	Verified *provenance.Verified `json:"verified,omitempty"`
}

// checkProvenance verifies r's bundle before anything is downloaded (see
// the comment at the top of this file). It returns nil for ModeJoblet,
// which reads no bundle, as a Joblet node does.
func checkProvenance(ctx context.Context, r *Resolved, opts InstallOptions) (*ProvenanceReport, error) {
	src, cfg := opts.sourceOf(r)
	required, why := opts.Provenance.Require, "--require-provenance"
	if !required && cfg != nil && cfg.Require {
		required, why = true, cfg.Where+".require"
	}
	if r.Mode == ModeJoblet {
		if required {
			return nil, fmt.Errorf("provenance is required (%s), but --joblet installs as a Joblet node does, which reads no attestation; install without --joblet to verify it", why)
		}
		return nil, nil
	}
	rep := &ProvenanceReport{Required: required}
	var bundle *schema.Artifact
	if r.Entry != nil && !r.Universal {
		if a := r.Entry.Artifacts[r.Platform]; a != nil && a.Checksum == r.Checksum {
			bundle = a.Attestation
		}
	}
	if bundle == nil || bundle.DownloadURL == "" {
		what := fmt.Sprintf("%s@%s for %s in registry %s has no provenance bundle (its registry entry names no artifacts[%q].attestation)",
			r.Name, r.Version, r.Platform, r.Registry, r.Platform)
		if required {
			return nil, fmt.Errorf("%s, and provenance is required (%s)", what, why)
		}
		opts.warn("%s; installing on the registry's checksum alone (--require-provenance refuses this)", what)
		rep.Status = "missing"
		return rep, nil
	}

	where := (&Loaded{Where: r.Registry, IsURL: isHTTP(r.Registry)})
	u, err := where.resolveURL(bundle.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("provenance bundle of %s@%s for %s in registry %s: %w", r.Name, r.Version, r.Platform, r.Registry, err)
	}
	rep.Bundle = u
	policy, derived, err := opts.policyFor(src, cfg)
	if err != nil {
		return nil, fmt.Errorf("registry %s names a provenance bundle for %s@%s (%s), but %w", r.Registry, r.Name, r.Version, u, err)
	}
	rep.Policy = &policy
	trusted, from := opts.Provenance.TrustedRoot, "--trusted-root"
	if trusted == "" && cfg != nil && cfg.TrustedRoot != "" {
		trusted, from = cfg.TrustedRoot, cfg.Where+".trusted_root"
	}
	v, err := provenance.NewVerifierFor(trusted)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	data, err := opts.fetchBundle(ctx, u, bundle)
	if err != nil {
		return nil, fmt.Errorf("provenance bundle %s (named by registry %s for %s@%s): %w", u, r.Registry, r.Name, r.Version, err)
	}
	got, err := v.Verify(data, policy, provenance.Release{Name: r.Name, Version: r.Version, Platform: r.Platform, Checksum: r.Checksum})
	var me *provenance.MismatchError
	if derived && errors.As(err, &me) && me.Part == provenance.PartRepository {
		me.Hint = fmt.Sprintf("rtool expected %s because the registry location is %q; a view repository or a mirror of another repository's releases names that repository in provenance.repository (config) or --provenance-repository",
			policy.Repository, src.Location)
	}
	if err != nil {
		return nil, fmt.Errorf("provenance bundle %s refused for %s@%s (artifact %s): %w", u, r.Name, r.Version, r.Checksum, err)
	}
	rep.Status, rep.Verified = "verified", got
	return rep, nil
}

// sourceOf finds the registry r was resolved from among opts.Registries,
// and its provenance block.
func (o *InstallOptions) sourceOf(r *Resolved) (Source, *ProvenanceConfig) {
	for _, s := range o.Registries {
		if where, _, err := o.Sources.Locate(s.Location); err == nil && where == r.Registry {
			return s, s.Provenance
		}
	}
	return Source{Location: r.Registry}, nil
}

// policyFor is the expected identity for a registry: the flags, then its
// config block, then the owner/repo its location names (derived).
func (o *InstallOptions) policyFor(src Source, cfg *ProvenanceConfig) (p provenance.Policy, derived bool, err error) {
	if cfg != nil {
		p = cfg.policy()
	}
	if o.Provenance.Repository != "" {
		p.Repository = o.Provenance.Repository
	}
	if p.Repository == "" {
		p.Repository = repositoryOf(src.Location)
		derived = p.Repository != ""
	}
	p = p.WithDefaults()
	if p.Repository == "" {
		return p, false, fmt.Errorf("rtool cannot tell which repository's release workflow must have signed it (the registry location %q names no GitHub repository); set provenance.repository for this registry in the config file, or pass --provenance-repository OWNER/REPO", src.Location)
	}
	if err := p.Check(); err != nil {
		return p, false, fmt.Errorf("the expected identity is wrong: %w", err)
	}
	return p, derived, nil
}

// repositoryOf returns the GitHub OWNER/REPO a registry location names:
// owner/repo itself, https://github.com/OWNER/REPO, or a
// raw.githubusercontent.com/OWNER/REPO/... URL; "" for anything else.
func repositoryOf(location string) string {
	loc := strings.TrimSpace(location)
	if ownerRepoRE.MatchString(loc) {
		if _, err := os.Stat(loc); err != nil {
			return strings.TrimSuffix(loc, ".git")
		}
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch strings.ToLower(u.Host) {
	case "github.com", "www.github.com", "raw.githubusercontent.com":
		if len(parts) >= 2 && ownerRepoRE.MatchString(parts[0]+"/"+parts[1]) {
			return strings.TrimSuffix(parts[0]+"/"+parts[1], ".git")
		}
	}
	return ""
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// fetchBundle reads a bundle from an http(s) URL (retrying transient
// failures as downloads do) or a local path, at most
// provenance.MaxBundleSize bytes, and checks it against the registry's
// checksum and size of it when the registry gives them.
func (o *InstallOptions) fetchBundle(ctx context.Context, where string, a *schema.Artifact) ([]byte, error) {
	var data []byte
	var err error
	if isHTTP(where) {
		retry := o.Retry.orDefault()
		c := o.Sources.client()
		defer c.CloseIdleConnections()
		for attempt := 1; ; attempt++ {
			data, err = getLimited(ctx, c, where, provenance.MaxBundleSize)
			if err == nil || ctx.Err() != nil || !isTransient(err) || attempt >= retry.Attempts {
				break
			}
			if err := sleepCtx(ctx, retry.delay(attempt)); err != nil {
				return nil, err
			}
		}
	} else {
		data, err = readFileLimited(where, provenance.MaxBundleSize)
	}
	if err != nil {
		return nil, err
	}
	if a.Size > 0 && int64(len(data)) != a.Size {
		return nil, fmt.Errorf("size mismatch: registry says %d bytes, got %d (the bundle or the registry was changed)", a.Size, len(data))
	}
	if a.Checksum != "" {
		sum := sha256.Sum256(data)
		if got := schema.ChecksumPrefix + hex.EncodeToString(sum[:]); got != a.Checksum {
			return nil, fmt.Errorf("checksum mismatch: registry says %s, downloaded %s (the bundle or the registry was changed)", a.Checksum, got)
		}
	}
	return data, nil
}
