package registrygen

import (
	"bytes"
	"os"
	"testing"
)

// FuzzLoad checks that loading never panics, and that whatever loads
// encodes to bytes that load again and encode identically.
func FuzzLoad(f *testing.F) {
	if data, err := os.ReadFile(upstreamRegistry); err == nil {
		f.Add(data)
	}
	f.Add([]byte(registryWithEverything))
	f.Add([]byte(registryJSON(`    "py": {"1.0.0": ` + entryJSON(`, "artifacts": {"debian-amd64": {"download_url": "https://e.com/a", "checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1}}`) + `}`)))
	f.Add([]byte(`{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "runtimes": {"a": {"1.0.0": null}}}`))
	f.Add([]byte(`{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "runtimes": {"a": {"1.0.0": {"version": "1.0.0", "checksum": "", "artifacts": {}}}}, "x": [[[[{}]]]]}`))
	f.Add([]byte(`{"a": "\ud800", "b": 1e400, "c": "\u00e9\xff"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		out, err := Encode(r)
		if err != nil {
			t.Fatalf("loaded registry does not encode: %v", err)
		}
		r2, err := Parse(out, "re-encoded")
		if err != nil {
			t.Fatalf("canonical output does not load: %v\n%s", err, out)
		}
		out2, err := Encode(r2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable: %v", err)
		}
	})
}
