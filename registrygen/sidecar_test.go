package registrygen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

// sidecarRegistry has an artifact with the optional sbom and attestation
// keys (issue 13), in canonical form.
const sidecarRegistry = `{
  "version": "1",
  "updated_at": "2025-01-02T03:04:05Z",
  "runtimes": {
    "demo": {
      "1.0.0": {
        "version": "1.0.0",
        "description": "demo",
        "download_url": "https://example.com/demo-1.0.0-debian-amd64.tar.gz",
        "checksum": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "size": 10,
        "platforms": [
          "debian-amd64"
        ],
        "artifacts": {
          "debian-amd64": {
            "download_url": "https://example.com/demo-1.0.0-debian-amd64.tar.gz",
            "checksum": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "size": 10,
            "sbom": {
              "download_url": "https://example.com/demo-1.0.0-debian-amd64.tar.gz.spdx.json",
              "checksum": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
              "size": 20
            },
            "attestation": {
              "download_url": "https://example.com/demo-1.0.0-debian-amd64.tar.gz.sigstore.json",
              "checksum": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
              "size": 30,
              "x_future": true
            }
          }
        }
      }
    }
  }
}
`

func TestArtifactSidecarKeysRoundTrip(t *testing.T) {
	r, err := Parse([]byte(sidecarRegistry), "sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	a := r.Runtimes["demo"]["1.0.0"].Artifacts["debian-amd64"]
	if a.SBOM == nil || a.SBOM.Size != 20 || !strings.HasSuffix(a.SBOM.DownloadURL, ".spdx.json") {
		t.Errorf("sbom = %+v", a.SBOM)
	}
	if a.Attestation == nil || a.Attestation.Size != 30 || !strings.HasSuffix(a.Attestation.DownloadURL, ".sigstore.json") {
		t.Errorf("attestation = %+v", a.Attestation)
	}
	if _, ok := a.Attestation.Extra["x_future"]; !ok {
		t.Errorf("unknown key inside attestation not kept: %+v", a.Attestation.Extra)
	}
	if len(a.Extra) != 0 {
		t.Errorf("sbom/attestation landed in Extra: %v", a.Extra)
	}
	// the scanner's encoder and encoding/json (schema's MarshalJSON and
	// UnmarshalJSON) agree byte for byte
	enc, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != sidecarRegistry {
		t.Errorf("Encode differs from the input:\n%s", enc)
	}
	var viaJSON schema.Registry
	if err := json.Unmarshal([]byte(sidecarRegistry), &viaJSON); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(&viaJSON)
	if err != nil {
		t.Fatal(err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	ind.WriteByte('\n')
	if ind.String() != sidecarRegistry {
		t.Errorf("encoding/json round trip differs:\n%s", ind.String())
	}
}

func TestArtifactSidecarKeysErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"bad sbom checksum", `"sha256:2222222222222222222222222222222222222222222222222222222222222222"`, `"sha256:XYZ"`,
			`["debian-amd64"].sbom.checksum: checksum "sha256:XYZ" must have 64 hex digits`},
		{"attestation not an object", `"attestation": {`, `"attestation": 5, "y": {`,
			`.attestation: `},
		{"duplicate sbom", `"attestation": {`, `"sbom": {"download_url": "x", "checksum": "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size": 1}, "attestation": {`,
			`duplicate key "sbom"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(sidecarRegistry, tt.from, tt.to, 1)
			if data == sidecarRegistry {
				t.Fatal("replacement did not apply")
			}
			_, err := Parse([]byte(data), "sidecar.json")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
