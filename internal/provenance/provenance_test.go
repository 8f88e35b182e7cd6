package provenance

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/provenance/provenancetest"
)

const (
	repo     = "joblet/rtool"
	workflow = ".github/workflows/release-runtime.yml"
)

// digestOf is the hex sha256 of s.
func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestVerify(t *testing.T) {
	ss, err := provenancetest.New()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(tr, "test root")
	if err != nil {
		t.Fatal(err)
	}
	other, err := provenancetest.New() // another Sigstore instance, not trusted
	if err != nil {
		t.Fatal(err)
	}

	artifact := digestOf("the artifact")
	rel := Release{Name: "demo", Version: "1.2.3", Platform: "debian-amd64", Checksum: "sha256:" + artifact}
	good := provenancetest.Signing{
		Repository: repo, Workflow: workflow, Ref: "refs/tags/demo@1.2.3",
		Subjects: []provenancetest.Subject{{Name: "demo-1.2.3-debian-amd64.tar.gz", SHA256: artifact}},
	}
	with := func(f func(*provenancetest.Signing)) provenancetest.Signing {
		s := good
		s.Subjects = append([]provenancetest.Subject(nil), good.Subjects...)
		f(&s)
		return s
	}
	tests := []struct {
		name   string
		ss     *provenancetest.Sigstore
		sg     provenancetest.Signing
		policy Policy
		part   Part   // "" = accepted
		want   string // in the error
	}{
		{name: "right identity", sg: good},
		{name: "repository compared without case", sg: with(func(s *provenancetest.Signing) { s.Repository, s.SourceRepository = "Joblet/RTool", "Joblet/RTool" })},
		{name: "one subject of several", sg: with(func(s *provenancetest.Signing) {
			s.Subjects = append([]provenancetest.Subject{{Name: "demo-1.2.3-debian-arm64.tar.gz", SHA256: digestOf("arm")}}, s.Subjects...)
		})},
		{name: "log time only", sg: with(func(s *provenancetest.Signing) { s.NoTimestamp = true })},
		{name: "fork identity configured", sg: with(func(s *provenancetest.Signing) { s.Repository = "someone/rtool-fork" }),
			policy: Policy{Repository: "someone/rtool-fork"}},
		{name: "wrong repository", sg: with(func(s *provenancetest.Signing) { s.Repository = "mallory/rtool" }),
			part: PartRepository, want: "expected joblet/rtool, bundle has mallory/rtool"},
		{name: "another repository calls the workflow", sg: with(func(s *provenancetest.Signing) { s.SourceRepository = "mallory/caller" }),
			part: PartRepository, want: "bundle has https://github.com/mallory/caller"},
		{name: "wrong workflow", sg: with(func(s *provenancetest.Signing) { s.Workflow = ".github/workflows/validate.yml" }),
			part: PartWorkflow, want: "expected .github/workflows/release-runtime.yml or .github/workflows/release-all.yml, bundle has .github/workflows/validate.yml"},
		{name: "bulk release", sg: with(func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/tags/runtimes-2026.11.27"
		})},
		{name: "bulk release of another version", sg: with(func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/tags/runtimes-2026.11.27"
			s.Subjects[0].Name = "demo-1.2.2-debian-amd64.tar.gz"
		}), part: PartTag, want: "the bulk release workflow (at refs/tags/runtimes-2026.11.27) attested this digest under another name than demo@1.2.3's artifact for debian-amd64 (expected demo-1.2.3-debian-amd64.tar.gz, bundle has demo-1.2.2-debian-amd64.tar.gz)"},
		{name: "bulk workflow on a branch", sg: with(func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/heads/main"
		}), part: PartTag, want: "the bulk release workflow did not run for a tag"},
		{name: "bulk workflow turned off", sg: with(func(s *provenancetest.Signing) {
			s.Workflow, s.Ref = ".github/workflows/release-all.yml", "refs/tags/runtimes-2026.11.27"
		}), policy: Policy{Repository: repo, BulkWorkflow: NoBulkWorkflow},
			part: PartWorkflow, want: "expected .github/workflows/release-runtime.yml, bundle has .github/workflows/release-all.yml"},
		{name: "wrong tag", sg: with(func(s *provenancetest.Signing) { s.Ref = "refs/tags/demo@1.2.2" }),
			part: PartTag, want: "expected refs/tags/demo@1.2.3, bundle has refs/tags/demo@1.2.2"},
		{name: "a branch, not the tag", sg: with(func(s *provenancetest.Signing) { s.Ref = "refs/heads/main" }),
			part: PartTag, want: "bundle has refs/heads/main"},
		{name: "another runtime's tag", sg: with(func(s *provenancetest.Signing) { s.Ref = "refs/tags/other@1.2.3" }),
			part: PartTag, want: "bundle has refs/tags/other@1.2.3"},
		{name: "source ref not the tag", sg: with(func(s *provenancetest.Signing) { s.SourceRef = "refs/heads/main" }),
			part: PartTag, want: "source ref"},
		{name: "wrong digest", sg: with(func(s *provenancetest.Signing) {
			s.Subjects = []provenancetest.Subject{{Name: "demo-1.2.3-debian-amd64.tar.gz", SHA256: digestOf("another artifact")}}
		}), part: PartDigest, want: "expected sha256:" + artifact + ", bundle has demo-1.2.3-debian-amd64.tar.gz (sha256:" + digestOf("another artifact") + ")"},
		{name: "wrong issuer", sg: with(func(s *provenancetest.Signing) { s.Issuer = "https://accounts.google.com" }),
			part: PartIssuer, want: "bundle has https://accounts.google.com"},
		{name: "not build provenance", sg: with(func(s *provenancetest.Signing) { s.PredicateType = "https://spdx.dev/Document/v2.3" }),
			part: PartPredicateType, want: "bundle has https://spdx.dev/Document/v2.3"},
		{name: "expired certificate", sg: with(func(s *provenancetest.Signing) { s.CertAt = time.Now().Add(-2 * time.Hour) }),
			part: PartCertTime, want: "the signing certificate had expired when the signature was made"},
		{name: "certificate not yet valid", sg: with(func(s *provenancetest.Signing) { s.CertAt = time.Now().Add(time.Hour) }),
			part: PartCertTime, want: "was not yet valid"},
		{name: "untrusted Sigstore", ss: other, sg: good,
			part: PartSignature, want: "does not verify against the trusted root test root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer := ss
			if tc.ss != nil {
				signer = tc.ss
			}
			data, err := signer.Bundle(tc.sg)
			if err != nil {
				t.Fatal(err)
			}
			p := tc.policy
			if p.Repository == "" {
				p.Repository = repo
			}
			got, err := v.Verify(data, p, rel)
			if tc.part == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Repository != tc.sg.Repository || got.Workflow != tc.sg.Workflow || got.Ref != tc.sg.Ref ||
					got.Bulk != (tc.sg.Workflow != workflow) ||
					got.Digest != rel.Checksum || got.PredicateType != SLSAProvenanceV1 || got.SignedAt.IsZero() {
					t.Errorf("verified %+v", got)
				}
				return
			}
			var me *MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("got %v (%T), want a mismatch of %s", err, err, tc.part)
			}
			if me.Part != tc.part {
				t.Errorf("part %q, want %q: %v", me.Part, tc.part, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// A bundle altered after signing never verifies: the statement (another
// digest), the certificate, the signature.
func TestVerifyTampered(t *testing.T) {
	ss, err := provenancetest.New()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(tr, "test root")
	if err != nil {
		t.Fatal(err)
	}
	artifact := digestOf("the artifact")
	rel := Release{Name: "demo", Version: "1.2.3", Checksum: "sha256:" + artifact}
	data, err := ss.Bundle(provenancetest.Signing{Repository: repo, Workflow: workflow, Ref: "refs/tags/demo@1.2.3",
		Subjects: []provenancetest.Subject{{Name: "demo.tar.gz", SHA256: artifact}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(data, Policy{Repository: repo}, rel); err != nil {
		t.Fatalf("untouched bundle refused: %v", err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload := env["payload"].(string)
	otherDigest := digestOf("another artifact")

	tests := []struct {
		name   string
		change func(b map[string]any)
		part   Part
		alt    Part // also right (a flipped bit may break the DER)
	}{
		{"statement names another digest", func(b map[string]any) {
			env := b["dsseEnvelope"].(map[string]any)
			env["payload"] = reencode(t, payload, artifact, otherDigest)
		}, PartSignature, ""},
		{"signature", func(b map[string]any) {
			env := b["dsseEnvelope"].(map[string]any)
			sig := env["signatures"].([]any)[0].(map[string]any)
			sig["sig"] = flipBase64(t, sig["sig"].(string))
		}, PartSignature, ""},
		{"certificate", func(b map[string]any) {
			c := b["verificationMaterial"].(map[string]any)["certificate"].(map[string]any)
			c["rawBytes"] = flipBase64(t, c["rawBytes"].(string))
		}, PartSignature, PartBundle},
		{"no transparency log entry", func(b map[string]any) {
			delete(b["verificationMaterial"].(map[string]any), "tlogEntries")
		}, PartSignature, ""},
		{"message signature instead of an attestation", func(b map[string]any) {
			delete(b, "dsseEnvelope")
			b["messageSignature"] = map[string]any{"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": "AAAA"}, "signature": "AAAA"}
		}, PartBundle, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c map[string]any
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			tc.change(c)
			altered, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(altered, Policy{Repository: repo}, rel)
			var me *MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("altered bundle: got %v, want a mismatch", err)
			}
			if me.Part != tc.part && (tc.alt == "" || me.Part != tc.alt) {
				t.Errorf("part %q, want %q: %v", me.Part, tc.part, err)
			}
		})
	}
	if _, err := v.Verify([]byte("{not json"), Policy{Repository: repo}, rel); err == nil || !strings.Contains(err.Error(), "not a Sigstore bundle") {
		t.Errorf("garbage: %v", err)
	}
}

// reencode replaces old with new in a base64 payload.
func reencode(t *testing.T, b64, old, new string) string {
	t.Helper()
	raw, err := b64dec(b64)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), old, new)
	if s == string(raw) {
		t.Fatalf("%s not in the payload", old)
	}
	return b64enc([]byte(s))
}

func flipBase64(t *testing.T, s string) string {
	t.Helper()
	raw, err := b64dec(s)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	return b64enc(raw)
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		p    Policy
		want string // "" = valid
	}{
		{Policy{Repository: "joblet/rtool"}, ""},
		{Policy{Repository: "a/b.c", Workflow: ".github/workflows/x.yaml", Issuer: "https://example.invalid"}, ""},
		{Policy{}, "repository is not set"},
		{Policy{Repository: "joblet"}, "not OWNER/REPO"},
		{Policy{Repository: "https://github.com/joblet/rtool"}, "not OWNER/REPO"},
		{Policy{Repository: "joblet/rtool.git"}, "not OWNER/REPO"},
		{Policy{Repository: "joblet/rtool", Workflow: "release-runtime.yml"}, "workflow \"release-runtime.yml\""},
		{Policy{Repository: "joblet/rtool", Workflow: ".github/workflows/../x.yml"}, "workflow"},
		{Policy{Repository: "joblet/rtool", Issuer: "token.actions.githubusercontent.com"}, "not an https URL"},
		{Policy{Repository: "joblet/rtool", BulkWorkflow: NoBulkWorkflow}, ""},
		{Policy{Repository: "joblet/rtool", BulkWorkflow: "all.yml"}, "bulk_workflow \"all.yml\""},
		{Policy{Repository: "joblet/rtool", BulkWorkflow: DefaultWorkflow}, "bulk_workflow and workflow are both"},
	}
	for _, tc := range tests {
		err := tc.p.WithDefaults().Check()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.p, err, tc.want)
		}
	}
}

// The embedded trusted root is the file trusted_root.json.source
// describes, and it verifies a real GitHub Actions attestation from the
// public-good instance: every cryptographic part (certificate chain to
// Fulcio, SCT, Rekor entry) passes, and only the identity differs from
// what a runtime release would have.
func TestEmbeddedTrustedRoot(t *testing.T) {
	note, err := os.ReadFile("trusted_root.json.source")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^sha256:\s+([0-9a-f]{64})$`).FindSubmatch(note)
	if m == nil {
		t.Fatal("trusted_root.json.source has no sha256 line")
	}
	if got := digestOf(string(publicGoodJSON)); got != string(m[1]) {
		t.Fatalf("embedded trusted_root.json has sha256 %s; trusted_root.json.source says %s", got, m[1])
	}
	tr, err := PublicGood()
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 || len(tr.RekorLogs()) == 0 || len(tr.CTLogs()) == 0 {
		t.Fatalf("public-good root lacks a part: %d CAs, %d Rekor logs, %d CT logs",
			len(tr.FulcioCertificateAuthorities()), len(tr.RekorLogs()), len(tr.CTLogs()))
	}

	v, err := NewVerifierFor("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "sigstore-js-1.3.0-provenance.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(data, Policy{Repository: "sigstore/sigstore-js", Workflow: ".github/workflows/release.yml"},
		Release{Name: "sigstore", Version: "1.3.0", Checksum: "sha256:" + digestOf("x")})
	var me *MismatchError
	if !errors.As(err, &me) || me.Part != PartTag || me.Got != "refs/heads/main" {
		t.Fatalf("real bundle: got %v, want it to verify up to the tag (signed on refs/heads/main)", err)
	}
	// The same bundle under a policy for this repository: the repository.
	_, err = v.Verify(data, Policy{Repository: repo}, Release{Name: "sigstore", Version: "1.3.0", Checksum: "sha256:" + digestOf("x")})
	if !errors.As(err, &me) || me.Part != PartRepository || me.Got != "sigstore/sigstore-js" {
		t.Fatalf("real bundle, our policy: got %v", err)
	}
}

func TestLoadTrustedRoot(t *testing.T) {
	dir := t.TempDir()
	ss, err := provenancetest.New()
	if err != nil {
		t.Fatal(err)
	}
	js, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(good, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifierFor(good); err != nil {
		t.Fatalf("written trusted root: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mediaType": "nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		bad:                           bad + ": not a Sigstore trusted_root.json",
		filepath.Join(dir, "missing"): "no such file",
	} {
		if _, err := NewVerifierFor(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
	}
}

func b64dec(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
func b64enc(b []byte) string          { return base64.StdEncoding.EncodeToString(b) }
