// Package provenance checks a runtime artifact's Sigstore bundle (a GitHub
// artifact attestation, as actions/attest-build-provenance writes it) with
// sigstore-go: the bundle verifies against a trusted root (certificate
// chain to Fulcio at the signing time, transparency log inclusion, signed
// certificate timestamps, the DSSE signature), its certificate names the
// expected repository's release workflow at the tag NAME@VERSION (issuer
// GitHub Actions), and its in-toto statement has a SLSA v1 provenance
// predicate and a subject whose sha256 is the artifact's.
//
// It owns the policy (what a bundle must show), the embedded public-good
// trusted root and the errors that say which part did not match. It does
// not fetch anything (package consumer fetches the bundle and decides when
// a missing one is fatal) and holds no state between calls.
package provenance

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

const (
	// GitHubIssuer is the OIDC issuer of GitHub Actions' tokens, which
	// Fulcio records in every certificate it issues to a workflow.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	// DefaultWorkflow is the workflow that releases one runtime on a
	// NAME@VERSION tag.
	DefaultWorkflow = ".github/workflows/release-runtime.yml"
	// DefaultBulkWorkflow is the workflow that releases every runtime on
	// one bulk tag; it runs for that tag, not for NAME@VERSION, so its
	// attestation binds the release by the subject's name instead (see
	// Verifier.Verify).
	DefaultBulkWorkflow = ".github/workflows/release-all.yml"
	// NoBulkWorkflow as Policy.BulkWorkflow accepts the tag workflow only.
	NoBulkWorkflow = "none"
	// SLSAProvenanceV1 is the predicate type actions/attest-build-provenance
	// signs.
	SLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	// GitHubServer is the host of every workflow identity this package
	// accepts.
	GitHubServer = "https://github.com"
)

// Policy is the identity a bundle's certificate must show. Repository is
// required; the others default to DefaultWorkflow, DefaultBulkWorkflow and
// GitHubIssuer.
type Policy struct {
	// Repository is OWNER/REPO, whose release workflow signed (compared
	// without regard to case, as GitHub does).
	Repository string `json:"repository"`
	// Workflow is the path of the workflow that releases one runtime at
	// the tag NAME@VERSION.
	Workflow string `json:"workflow"`
	// BulkWorkflow is the path of the workflow that releases every runtime
	// at one bulk tag, or NoBulkWorkflow.
	BulkWorkflow string `json:"bulk_workflow"`
	// Issuer is the certificate's OIDC issuer.
	Issuer string `json:"issuer"`
}

var (
	repoRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+$`)
	workflowRE = regexp.MustCompile(`^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$`)
)

// WithDefaults fills the empty fields of p.
func (p Policy) WithDefaults() Policy {
	if p.Workflow == "" {
		p.Workflow = DefaultWorkflow
	}
	if p.BulkWorkflow == "" {
		p.BulkWorkflow = DefaultBulkWorkflow
	}
	if p.Issuer == "" {
		p.Issuer = GitHubIssuer
	}
	return p
}

// Check reports what is wrong with p (after WithDefaults), naming the
// field.
func (p Policy) Check() error {
	if p.Repository == "" {
		return fmt.Errorf("repository is not set; give OWNER/REPO, the repository whose release workflow signs the artifacts")
	}
	if !repoRE.MatchString(p.Repository) || strings.HasSuffix(p.Repository, ".git") {
		return fmt.Errorf("repository %q is not OWNER/REPO (for example joblet/rtool)", p.Repository)
	}
	if !workflowRE.MatchString(p.Workflow) {
		return fmt.Errorf("workflow %q is not a workflow file's path in the repository (for example %s)", p.Workflow, DefaultWorkflow)
	}
	if p.BulkWorkflow != NoBulkWorkflow && !workflowRE.MatchString(p.BulkWorkflow) {
		return fmt.Errorf("bulk_workflow %q is not a workflow file's path in the repository (for example %s), nor %q", p.BulkWorkflow, DefaultBulkWorkflow, NoBulkWorkflow)
	}
	if p.BulkWorkflow == p.Workflow {
		return fmt.Errorf("bulk_workflow and workflow are both %q; the bulk workflow's attestations are bound to a release by the subject's name, the other's by the tag", p.Workflow)
	}
	if !strings.HasPrefix(p.Issuer, "https://") || strings.ContainsAny(p.Issuer, " \t\n") {
		return fmt.Errorf("issuer %q is not an https URL (GitHub Actions' is %s)", p.Issuer, GitHubIssuer)
	}
	return nil
}

// TagRef is the git ref of the release tag NAME@VERSION.
func TagRef(name, version string) string {
	return "refs/tags/" + name + "@" + version
}

// Identity is the certificate identity (subject alternative name) of
// workflow in repository at ref, as Fulcio writes it for GitHub Actions.
func Identity(repository, workflow, ref string) string {
	return GitHubServer + "/" + repository + "/" + workflow + "@" + ref
}

// Release is what the bundle must be about: the runtime NAME@VERSION, the
// platform and its artifact's checksum (sha256:<hex>, the registry's).
type Release struct {
	Name     string
	Version  string
	Platform string
	Checksum string
}

// Verified is what a verified bundle showed.
type Verified struct {
	// Signer is the certificate's identity: the workflow file at the tag.
	Signer     string `json:"signer"`
	Issuer     string `json:"issuer"`
	Repository string `json:"repository"`
	Workflow   string `json:"workflow"`
	Ref        string `json:"ref"`
	// Bulk is true when the bulk release workflow signed (at its own tag;
	// the subject's name then names the release).
	Bulk bool `json:"bulk,omitempty"`
	// Commit is the source commit the workflow ran on.
	Commit string `json:"commit,omitempty"`
	// Run is the workflow run that signed.
	Run           string `json:"run,omitempty"`
	RunnerEnv     string `json:"runner_environment,omitempty"`
	PredicateType string `json:"predicate_type"`
	// Subject is the statement's subject whose digest is the artifact's.
	Subject string `json:"subject"`
	Digest  string `json:"digest"`
	// SignedAt is the earliest verified time of the signature (transparency
	// log or timestamp authority).
	SignedAt time.Time `json:"signed_at"`
	// TrustedRoot names the trusted root the bundle verified against.
	TrustedRoot string `json:"trusted_root"`
}

// Part names what did not match.
type Part string

// The parts of a bundle that a MismatchError names.
const (
	PartBundle        Part = "bundle"           // not a bundle, or not an in-toto attestation signed with a certificate
	PartSignature     Part = "signature"        // chain, transparency log, SCT or signature do not verify
	PartCertTime      Part = "certificate time" // signed outside the certificate's validity
	PartIssuer        Part = "issuer"
	PartRepository    Part = "repository"
	PartWorkflow      Part = "workflow"
	PartTag           Part = "tag"
	PartPredicateType Part = "predicate type"
	PartDigest        Part = "digest"
)

// MismatchError says which part of a bundle did not match the policy, what
// was expected and what the bundle has.
type MismatchError struct {
	Part Part
	Want string
	Got  string
	// Detail explains; Hint says what would fix it when the expectation,
	// not the bundle, may be wrong.
	Detail string
	Hint   string
	Err    error
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s does not match", e.Part)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Want != "" || e.Got != "" {
		fmt.Fprintf(&b, " (expected %s, bundle has %s)", orNone(e.Want), orNone(e.Got))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

func (e *MismatchError) Unwrap() error { return e.Err }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
