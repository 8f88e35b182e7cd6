package intoto

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleSuffix is appended to an artifact's file name to name its Sigstore
// bundle (what actions/attest-build-provenance writes at bundle-path).
const BundleSuffix = ".sigstore.json"

// bundleMediaTypePrefix starts the mediaType of every Sigstore bundle.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// BundleStatement reads the in-toto statement a Sigstore bundle's DSSE
// envelope carries, WITHOUT checking any signature, certificate or log
// entry (package provenance verifies bundles with sigstore-go). It lets a
// publisher refuse a bundle that was made for another file before
// publishing it.
func BundleStatement(data []byte) (*ita1.Statement, error) {
	var b struct {
		MediaType    string `json:"mediaType"`
		DSSEEnvelope *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("not a Sigstore bundle (JSON): %w", err)
	}
	if !strings.HasPrefix(b.MediaType, bundleMediaTypePrefix) {
		return nil, fmt.Errorf("not a Sigstore bundle: mediaType %q does not start with %q", b.MediaType, bundleMediaTypePrefix)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("the Sigstore bundle signs no DSSE envelope (an attestation bundle has dsseEnvelope)")
	}
	if b.DSSEEnvelope.PayloadType != MediaType {
		return nil, fmt.Errorf("the bundle's envelope carries %q, not an in-toto statement (%s)", b.DSSEEnvelope.PayloadType, MediaType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		return nil, fmt.Errorf("the bundle's envelope payload is not base64: %w", err)
	}
	st := &ita1.Statement{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(payload, st); err != nil {
		return nil, fmt.Errorf("the bundle's envelope payload is not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("the bundle's in-toto statement: %w", err)
	}
	return st, nil
}

// HasSubject reports whether st names a subject with this sha256 (and,
// when name is not empty, this name).
func HasSubject(st *ita1.Statement, name, sha256 string) bool {
	for _, s := range st.GetSubject() {
		if s.GetDigest()["sha256"] == sha256 && (name == "" || s.GetName() == name) {
			return true
		}
	}
	return false
}
