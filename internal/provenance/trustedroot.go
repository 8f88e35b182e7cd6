package provenance

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// publicGoodJSON is Sigstore's public-good trusted root; see
// trusted_root.json.source for where and when it was taken.
//
//go:embed trusted_root.json
var publicGoodJSON []byte

// PublicGoodName names the embedded trusted root in results and errors.
const PublicGoodName = "embedded Sigstore public-good root (2025-09-22)"

// PublicGood returns the embedded public-good trusted root, which verifies
// the attestations GitHub makes for public repositories.
func PublicGood() (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromJSON(publicGoodJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PublicGoodName, err)
	}
	return tr, nil
}

// LoadTrustedRoot reads a trusted_root.json (the format of
// sigstore/root-signing's targets/trusted_root.json, `gh attestation
// trusted-root` and `cosign trusted-root create`).
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if len(data) > 16<<20 {
		return nil, fmt.Errorf("trusted root %s: %d bytes; a trusted root is at most 16 MiB", path, len(data))
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: not a Sigstore trusted_root.json: %w", path, err)
	}
	return tr, nil
}

// NewVerifierFor returns a verifier for the trusted root in path, or for
// the embedded public-good root when path is "".
func NewVerifierFor(path string) (*Verifier, error) {
	var tr *root.TrustedRoot
	var err error
	name := PublicGoodName
	if path == "" {
		tr, err = PublicGood()
	} else {
		tr, err = LoadTrustedRoot(path)
		name = path
	}
	if err != nil {
		return nil, err
	}
	return NewVerifier(tr, name)
}
