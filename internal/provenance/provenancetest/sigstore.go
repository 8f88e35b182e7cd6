// Package provenancetest is a virtual Sigstore that signs bundles shaped
// like GitHub's artifact attestations, for tests that must run offline.
//
// Rekor (transparency log entry with inclusion proof and promise) and the
// timestamp authority are sigstore-go's own test CA
// (github.com/sigstore/sigstore-go/pkg/testing/ca, VirtualSigstore). Its
// Fulcio issues certificates with only an e-mail identity, no GitHub
// workflow extensions and no signed certificate timestamps, so this
// package runs its own Fulcio and CT log: a root and intermediate, leaf
// certificates that carry the URI identity and the extensions Fulcio
// writes for a GitHub Actions token (issuer, source repository, ref,
// commit, run), with an SCT embedded as Fulcio does. TrustedRootJSON
// writes the whole instance as a trusted_root.json.
//
// Only tests import it.
package provenancetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// GitHubIssuer is GitHub Actions' OIDC issuer.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Sigstore is one virtual Sigstore instance.
type Sigstore struct {
	vs         *ca.VirtualSigstore
	root       *x509.Certificate
	inter      *x509.Certificate
	interKey   *ecdsa.PrivateKey
	ctKey      *ecdsa.PrivateKey
	validStart time.Time
}

// New creates an instance whose keys are valid from a day ago.
func New() (*Sigstore, error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	s := &Sigstore{vs: vs, validStart: time.Now().Add(-24 * time.Hour).Truncate(time.Second)}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s.root, err = caCert(&x509.Certificate{Subject: pkix.Name{CommonName: "virtual-fulcio-root", Organization: []string{"rtool test"}}}, nil, rootKey, rootKey, s.validStart)
	if err != nil {
		return nil, err
	}
	if s.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	s.inter, err = caCert(&x509.Certificate{Subject: pkix.Name{CommonName: "virtual-fulcio-intermediate", Organization: []string{"rtool test"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, s.root, s.interKey, rootKey, s.validStart)
	if err != nil {
		return nil, err
	}
	if s.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	return s, nil
}

func caCert(tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey, start time.Time) (*x509.Certificate, error) {
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = start, start.Add(72*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func logID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

// TrustedRoot returns the instance's trusted root: this Fulcio and CT log,
// the VirtualSigstore's Rekor log and timestamp authority.
func (s *Sigstore) TrustedRoot() (*root.TrustedRoot, error) {
	rekorLogs := map[string]*root.TransparencyLog{}
	for _, l := range s.vs.RekorLogs() {
		id, err := logID(l.PublicKey)
		if err != nil {
			return nil, err
		}
		rekorLogs[hex.EncodeToString(id)] = &root.TransparencyLog{
			BaseURL: l.BaseURL, ID: id, ValidityPeriodStart: s.validStart,
			HashFunc: crypto.SHA256, PublicKey: l.PublicKey, SignatureHashFunc: crypto.SHA256,
		}
	}
	ctID, err := logID(s.ctKey.Public())
	if err != nil {
		return nil, err
	}
	ctLogs := map[string]*root.TransparencyLog{hex.EncodeToString(ctID): {
		BaseURL: "https://ctfe.localhost/test", ID: ctID, ValidityPeriodStart: s.validStart,
		HashFunc: crypto.SHA256, PublicKey: s.ctKey.Public(), SignatureHashFunc: crypto.SHA256,
	}}
	fulcio := &root.FulcioCertificateAuthority{
		Root: s.root, Intermediates: []*x509.Certificate{s.inter},
		ValidityPeriodStart: s.validStart, URI: "https://fulcio.localhost",
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, ctLogs,
		s.vs.TimestampingAuthorities(), rekorLogs)
}

// TrustedRootJSON is TrustedRoot as a trusted_root.json.
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	tr, err := s.TrustedRoot()
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// Subject is one artifact an attestation is about.
type Subject struct {
	Name   string
	SHA256 string // hex
}

// Signing describes one attestation as GitHub's release workflow would
// make it. Empty fields take the defaults noted.
type Signing struct {
	Repository string // OWNER/REPO in the identity; required
	Workflow   string // workflow path; required
	Ref        string // refs/tags/NAME@VERSION; required
	// SourceRepository and SourceRef are the run's source (the
	// certificate's extensions): default Repository and Ref.
	SourceRepository string
	SourceRef        string
	Issuer           string // default GitHubIssuer
	PredicateType    string // default SLSA provenance v1
	Subjects         []Subject
	// CertAt is when the certificate's ten-minute validity begins
	// (default a minute ago); SignedAt when the log and the timestamp
	// authority saw the signature (default now).
	CertAt   time.Time
	SignedAt time.Time
	// NoTimestamp leaves out the RFC 3161 timestamp (the log's time stays).
	NoTimestamp bool
}

// Bundle returns a Sigstore bundle (v0.3 JSON, as GitHub publishes) of a
// DSSE envelope holding the in-toto statement of sg.
func (s *Sigstore) Bundle(sg Signing) ([]byte, error) {
	if sg.Repository == "" || sg.Workflow == "" || sg.Ref == "" {
		return nil, fmt.Errorf("provenancetest: Repository, Workflow and Ref are required")
	}
	if sg.SourceRepository == "" {
		sg.SourceRepository = sg.Repository
	}
	if sg.SourceRef == "" {
		sg.SourceRef = sg.Ref
	}
	if sg.Issuer == "" {
		sg.Issuer = GitHubIssuer
	}
	if sg.PredicateType == "" {
		sg.PredicateType = "https://slsa.dev/provenance/v1"
	}
	if sg.CertAt.IsZero() {
		sg.CertAt = time.Now().Add(-time.Minute)
	}
	if sg.SignedAt.IsZero() {
		sg.SignedAt = time.Now()
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := s.issue(sg, &leafKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}

	payload, err := statement(sg)
	if err != nil {
		return nil, err
	}
	const payloadType = "application/vnd.in-toto+json"
	pae := sha256.Sum256(dsse.PAE(payloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, leafKey, pae[:])
	if err != nil {
		return nil, err
	}
	env := &dsse.Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}}

	entry, err := s.vs.GenerateTlogEntry(leaf, env, sig, sg.SignedAt.Unix(), true)
	if err != nil {
		return nil, fmt.Errorf("transparency log entry: %w", err)
	}
	tle := proto.Clone(entry.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	rekorID, err := s.vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{
		Body: base64.StdEncoding.EncodeToString(tle.CanonicalizedBody), IntegratedTime: tle.IntegratedTime,
		LogIndex: tle.LogIndex, LogID: rekorID,
	})
	if err != nil {
		return nil, err
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}

	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: leaf.Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{tle},
	}
	if !sg.NoTimestamp {
		tsr, err := s.vs.TimestampResponse(sig)
		if err != nil {
			return nil, err
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsr}},
		}
	}
	b := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: payloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	return protojson.Marshal(b)
}

// statement is a SLSA v1 provenance statement shaped like
// actions/attest-build-provenance's.
func statement(sg Signing) ([]byte, error) {
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	var subjects []subject
	for _, s := range sg.Subjects {
		subjects = append(subjects, subject{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       subjects,
		"predicateType": sg.PredicateType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{
					"ref": sg.Ref, "repository": "https://github.com/" + sg.Repository, "path": sg.Workflow,
				}},
			},
			"runDetails": map[string]any{
				"builder":  map[string]any{"id": "https://github.com/" + sg.Repository + "/" + sg.Workflow + "@" + sg.Ref},
				"metadata": map[string]any{"invocationId": "https://github.com/" + sg.SourceRepository + "/actions/runs/1/attempts/1"},
			},
		},
	}
	return json.Marshal(st)
}

// issue makes a Fulcio-shaped leaf certificate for a GitHub Actions run,
// with an embedded SCT.
func (s *Sigstore) issue(sg Signing, pub *ecdsa.PublicKey) (*x509.Certificate, error) {
	san := "https://github.com/" + sg.Repository + "/" + sg.Workflow + "@" + sg.Ref
	uri, err := url.Parse(san)
	if err != nil {
		return nil, err
	}
	utf8 := func(oid asn1.ObjectIdentifier, v string) (pkix.Extension, error) {
		b, err := asn1.MarshalWithParams(v, "utf8")
		return pkix.Extension{Id: oid, Value: b}, err
	}
	exts := []pkix.Extension{{Id: certificate.OIDIssuer, Value: []byte(sg.Issuer)}}
	for _, kv := range []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{
		{certificate.OIDIssuerV2, sg.Issuer},
		{certificate.OIDBuildSignerURI, san},
		{certificate.OIDRunnerEnvironment, "github-hosted"},
		{certificate.OIDSourceRepositoryURI, "https://github.com/" + sg.SourceRepository},
		{certificate.OIDSourceRepositoryDigest, strings.Repeat("ab", 20)},
		{certificate.OIDSourceRepositoryRef, sg.SourceRef},
		{certificate.OIDSourceRepositoryOwnerURI, "https://github.com/" + strings.Split(sg.SourceRepository, "/")[0]},
		{certificate.OIDBuildConfigURI, san},
		{certificate.OIDBuildTrigger, "push"},
		{certificate.OIDRunInvocationURI, "https://github.com/" + sg.SourceRepository + "/actions/runs/1/attempts/1"},
	} {
		e, err := utf8(kv.oid, kv.v)
		if err != nil {
			return nil, err
		}
		exts = append(exts, e)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       sg.CertAt,
		NotAfter:        sg.CertAt.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{uri},
		ExtraExtensions: exts,
	}
	// The precertificate: what the CT log signs (the final certificate's
	// TBS without the SCT list).
	pre, err := x509.CreateCertificate(rand.Reader, tmpl, s.inter, pub, s.interKey)
	if err != nil {
		return nil, err
	}
	preCert, err := x509.ParseCertificate(pre)
	if err != nil {
		return nil, err
	}
	sctExt, err := s.sct(preCert, sg.CertAt)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, sctExt)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.inter, pub, s.interKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sct signs a signed certificate timestamp for preCert and returns the
// extension that embeds it.
func (s *Sigstore) sct(preCert *x509.Certificate, at time.Time) (pkix.Extension, error) {
	id, err := logID(s.ctKey.Public())
	if err != nil {
		return pkix.Extension{}, err
	}
	var keyID [32]byte
	copy(keyID[:], id)
	in := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: keyID}, Timestamp: uint64(at.UnixMilli())}
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{Timestamp: in.Timestamp, EntryType: ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(s.inter.RawSubjectPublicKeyInfo), TBSCertificate: preCert.RawTBSCertificate}}}}
	data, err := ct.SerializeSCTSignatureInput(in, entry)
	if err != nil {
		return pkix.Extension{}, err
	}
	h := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctKey, h[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	in.Signature = ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA}, Signature: sig}
	list, err := ctx509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&in})
	if err != nil {
		return pkix.Extension{}, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return pkix.Extension{}, err
	}
	val, err := asn1.Marshal(raw)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: val}, nil
}
