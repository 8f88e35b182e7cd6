package provenance

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/joblet/rtool/schema"
)

// MaxBundleSize bounds a bundle; GitHub's are a few KiB.
const MaxBundleSize = 4 << 20

// Verifier checks bundles against one trusted root.
type Verifier struct {
	sv   *verify.Verifier
	tm   root.TrustedMaterial
	root string // names the trusted root in results and errors
}

// NewVerifier returns a verifier for the trusted material tm, named by
// rootName in errors (a file, or "the embedded public-good root").
//
// What a bundle must carry follows from the trusted root, as GitHub's own
// `gh attestation verify` does: a signing time observed by a transparency
// log or a timestamp authority (always); an entry in a transparency log
// when the root lists Rekor logs (Sigstore's public-good instance, which
// signs public repositories' attestations); a signed certificate timestamp
// when it lists CT logs. A root with only a timestamp authority (GitHub's
// instance for private repositories) needs a signed timestamp.
func NewVerifier(tm root.TrustedMaterial, rootName string) (*Verifier, error) {
	if len(tm.FulcioCertificateAuthorities()) == 0 {
		return nil, fmt.Errorf("trusted root %s has no certificate authority; it cannot verify a certificate", rootName)
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(tm.RekorLogs()) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	sv, err := verify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", rootName, err)
	}
	return &Verifier{sv: sv, tm: tm, root: rootName}, nil
}

// Verify checks that data is a Sigstore bundle for rel under policy p (see
// the package comment). The error is a *MismatchError naming the part that
// did not match.
//
// Every part is first verified cryptographically without a policy, so that
// identity and digest are then read from verified content and a mismatch
// names its part; finally sigstore-go's own policy (certificate identity
// and artifact digest) must accept the bundle too.
func (v *Verifier) Verify(data []byte, p Policy, rel Release) (*Verified, error) {
	p = p.WithDefaults()
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("provenance policy: %w", err)
	}
	wantHex, ok := strings.CutPrefix(rel.Checksum, schema.ChecksumPrefix)
	if err := schema.CheckChecksum(rel.Checksum); !ok || err != nil {
		return nil, fmt.Errorf("artifact checksum %q: want %s<64 hex digits>", rel.Checksum, schema.ChecksumPrefix)
	}
	if len(data) > MaxBundleSize {
		return nil, &MismatchError{Part: PartBundle, Detail: fmt.Sprintf("%d bytes; a bundle is at most %d", len(data), MaxBundleSize)}
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, &MismatchError{Part: PartBundle, Detail: "not a Sigstore bundle", Err: err}
	}
	if b.GetDsseEnvelope() == nil {
		return nil, &MismatchError{Part: PartBundle, Detail: "it holds a bare message signature, not an in-toto attestation (a DSSE envelope, as GitHub's artifact attestations are)"}
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, &MismatchError{Part: PartBundle, Err: err}
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return nil, &MismatchError{Part: PartBundle, Detail: "it is signed with a bare public key, not a Sigstore (Fulcio) certificate that names a workflow"}
	}

	res, err := v.sv.Verify(&b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, v.cryptoError(&b, leaf, err)
	}
	if res.Signature == nil || res.Signature.Certificate == nil || res.Statement == nil {
		return nil, &MismatchError{Part: PartBundle, Detail: "verified, but without a certificate and an in-toto statement"}
	}
	got, err := v.checkContent(res, p, rel, strings.ToLower(wantHex))
	if err != nil {
		return nil, err
	}

	// sigstore-go's policy has the last word on identity and digest: the
	// tag workflow at refs/tags/NAME@VERSION, or the bulk workflow at the
	// tag checkContent found (whose subject name it checked).
	repoRE := "^" + regexp.QuoteMeta(GitHubServer+"/") + "(?i:" + regexp.QuoteMeta(p.Repository) + ")"
	san := repoRE + regexp.QuoteMeta("/"+p.Workflow+"@"+TagRef(rel.Name, rel.Version)) + "$"
	if got.Bulk {
		san = repoRE + regexp.QuoteMeta("/"+p.BulkWorkflow+"@"+got.Ref) + "$"
	}
	id, err := verify.NewShortCertificateIdentity(p.Issuer, "", "", san)
	if err != nil {
		return nil, fmt.Errorf("provenance policy: %w", err)
	}
	digest, _ := hex.DecodeString(wantHex)
	if _, err := v.sv.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id))); err != nil {
		return nil, &MismatchError{Part: PartSignature, Detail: "sigstore-go's policy check refused the bundle", Err: err}
	}
	return got, nil
}

// cryptoError explains a failed cryptographic verification: a signing
// time outside the certificate's validity, as verified by the
// transparency log's signed entry timestamp or by the timestamp authority,
// is a certificate time mismatch; anything else is a signature that does
// not verify against the trusted root.
func (v *Verifier) cryptoError(b *bundle.Bundle, leaf *x509.Certificate, err error) error {
	type seen struct {
		kind string
		at   time.Time
	}
	var times []seen
	if entries, terr := b.TlogEntries(); terr == nil {
		for _, e := range entries {
			if e.HasInclusionPromise() && tlog.VerifySET(e, v.tm.RekorLogs()) == nil {
				times = append(times, seen{"logged by the transparency log at", e.IntegratedTime()})
			}
		}
	}
	if ts, _, terr := verify.VerifySignedTimestamp(b, v.tm); terr == nil {
		for _, t := range ts {
			times = append(times, seen{"timestamped by the timestamp authority at", t.Time})
		}
	}
	for _, t := range times {
		if t.at.Before(leaf.NotBefore) || t.at.After(leaf.NotAfter) {
			when := "had expired"
			if t.at.Before(leaf.NotBefore) {
				when = "was not yet valid"
			}
			return &MismatchError{Part: PartCertTime,
				Detail: fmt.Sprintf("the signing certificate %s when the signature was made (%s %s)", when, t.kind, t.at.UTC().Format(time.RFC3339)),
				Want:   "a signature within the certificate's validity " + leaf.NotBefore.UTC().Format(time.RFC3339) + " to " + leaf.NotAfter.UTC().Format(time.RFC3339),
				Got:    "a signature at " + t.at.UTC().Format(time.RFC3339),
				Err:    err,
			}
		}
	}
	return &MismatchError{Part: PartSignature,
		Detail: "the bundle does not verify against the trusted root " + v.root,
		Err:    err,
		Hint:   "either the bundle was altered, or it was signed by a Sigstore instance (or with keys newer than) that trusted root holds; pass --trusted-root with a current one if so",
	}
}

// checkContent compares the verified certificate and statement with the
// policy, part by part.
func (v *Verifier) checkContent(res *verify.VerificationResult, p Policy, rel Release, wantHex string) (*Verified, error) {
	cert := res.Signature.Certificate
	ref := TagRef(rel.Name, rel.Version)
	fork := "the expected identity is set per registry (provenance.repository, provenance.workflow in the config) for forks and mirrors"

	if cert.Issuer != p.Issuer {
		return nil, &MismatchError{Part: PartIssuer, Want: p.Issuer, Got: cert.Issuer,
			Detail: "the certificate was not issued to a GitHub Actions workflow"}
	}
	repo, workflow, gotRef, ok := splitIdentity(cert.SubjectAlternativeName)
	if !ok {
		return nil, &MismatchError{Part: PartRepository, Want: Identity(p.Repository, p.Workflow, ref), Got: cert.SubjectAlternativeName,
			Detail: "the certificate's identity is not a GitHub workflow of a repository"}
	}
	if !strings.EqualFold(repo, p.Repository) {
		return nil, &MismatchError{Part: PartRepository, Want: p.Repository, Got: repo,
			Detail: "signed by another repository's workflow", Hint: fork}
	}
	if src := strings.TrimPrefix(cert.SourceRepositoryURI, GitHubServer+"/"); !strings.EqualFold(src, p.Repository) {
		return nil, &MismatchError{Part: PartRepository, Want: GitHubServer + "/" + p.Repository, Got: orNone(cert.SourceRepositoryURI),
			Detail: "the workflow ran for another source repository (a call of this repository's workflow from elsewhere)"}
	}
	bulk := p.BulkWorkflow != NoBulkWorkflow && workflow == p.BulkWorkflow
	if workflow != p.Workflow && !bulk {
		want := p.Workflow
		if p.BulkWorkflow != NoBulkWorkflow {
			want += " or " + p.BulkWorkflow
		}
		return nil, &MismatchError{Part: PartWorkflow, Want: want, Got: workflow,
			Detail: "signed by another workflow of " + repo, Hint: fork}
	}
	switch {
	case !bulk && gotRef != ref:
		return nil, &MismatchError{Part: PartTag, Want: ref, Got: gotRef,
			Detail: fmt.Sprintf("the workflow did not run for the release tag %s@%s", rel.Name, rel.Version)}
	case bulk && !strings.HasPrefix(gotRef, "refs/tags/"):
		return nil, &MismatchError{Part: PartTag, Want: "a bulk release tag refs/tags/...", Got: gotRef,
			Detail: "the bulk release workflow did not run for a tag"}
	case cert.SourceRepositoryRef != gotRef:
		return nil, &MismatchError{Part: PartTag, Want: gotRef, Got: orNone(cert.SourceRepositoryRef),
			Detail: "the run's source ref is not the tag the workflow ran for"}
	}

	st := res.Statement
	if st.GetType() != "https://in-toto.io/Statement/v1" && st.GetType() != "https://in-toto.io/Statement/v0.1" {
		return nil, &MismatchError{Part: PartBundle, Detail: fmt.Sprintf("the envelope holds %q, not an in-toto statement", st.GetType())}
	}
	if st.GetPredicateType() != SLSAProvenanceV1 {
		return nil, &MismatchError{Part: PartPredicateType, Want: SLSAProvenanceV1, Got: st.GetPredicateType(),
			Detail: "the attestation is not SLSA build provenance (actions/attest-build-provenance)"}
	}
	subject, found := "", false
	var have []string
	for _, s := range st.GetSubject() {
		d := strings.ToLower(s.GetDigest()["sha256"])
		if d == wantHex {
			subject, found = s.GetName(), true
			break
		}
		if d == "" {
			d = "no sha256"
		} else {
			d = schema.ChecksumPrefix + d
		}
		have = append(have, fmt.Sprintf("%s (%s)", s.GetName(), d))
	}
	if !found {
		sort.Strings(have)
		return nil, &MismatchError{Part: PartDigest, Want: schema.ChecksumPrefix + wantHex, Got: strings.Join(have, ", "),
			Detail: "the attestation is about another artifact than the registry's checksum names"}
	}

	// The bulk workflow runs for a bulk tag, so the release it built is
	// named by the subject: NAME-VERSION-PLATFORM.tar.gz.
	if bulk {
		want := schema.ArtifactName(rel.Name, rel.Version, rel.Platform)
		if rel.Platform == "" || subject != want {
			return nil, &MismatchError{Part: PartTag, Want: want, Got: orNone(subject),
				Detail: fmt.Sprintf("the bulk release workflow (at %s) attested this digest under another name than %s@%s's artifact for %s", gotRef, rel.Name, rel.Version, orNone(rel.Platform))}
		}
	}

	out := &Verified{Bulk: bulk,
		Signer: cert.SubjectAlternativeName, Issuer: cert.Issuer,
		Repository: repo, Workflow: workflow, Ref: gotRef,
		Commit: cert.SourceRepositoryDigest, Run: cert.RunInvocationURI, RunnerEnv: cert.RunnerEnvironment,
		PredicateType: st.GetPredicateType(), Subject: subject, Digest: schema.ChecksumPrefix + wantHex,
		TrustedRoot: v.root,
	}
	for _, t := range res.VerifiedTimestamps {
		if out.SignedAt.IsZero() || t.Timestamp.Before(out.SignedAt) {
			out.SignedAt = t.Timestamp.UTC()
		}
	}
	return out, nil
}

// splitIdentity splits https://github.com/OWNER/REPO/PATH@REF.
func splitIdentity(san string) (repo, workflow, ref string, ok bool) {
	rest, ok := strings.CutPrefix(san, GitHubServer+"/")
	if !ok {
		return "", "", "", false
	}
	path, ref, ok := strings.Cut(rest, "@")
	if !ok {
		return "", "", "", false
	}
	parts := strings.SplitN(path, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0] + "/" + parts[1], parts[2], ref, true
}
