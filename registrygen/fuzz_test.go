package registrygen

import (
	"bytes"
	"os"
	"testing"

	"github.com/joblet/rtool/schema"
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

// FuzzParallelParse checks on arbitrary input that parsing runtimes on
// several goroutines (forced on, whatever the size) gives exactly what one
// goroutine gives: the same registry or the same errors.
func FuzzParallelParse(f *testing.F) {
	if data, err := os.ReadFile(upstreamRegistry); err == nil {
		f.Add(data)
	}
	f.Add([]byte(registryWithEverything))
	f.Add([]byte(`{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "runtimes": {"a": {"1.0": {"size": "x"}}, "b": {"1.0.0": null}, "a": {}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		par := newParser(data, "fuzz", false)
		par.parallelMin = 0
		pr, perr := par.run()
		seq := newParser(data, "fuzz", false)
		seq.sequential = true
		sr, serr := seq.run()
		if (perr == nil) != (serr == nil) || perr != nil && perr.Error() != serr.Error() {
			t.Fatalf("errors differ:\nparallel:   %v\nsequential: %v", perr, serr)
		}
		if perr == nil && !bytes.Equal(mustEncode(t, pr), mustEncode(t, sr)) {
			t.Fatalf("registries differ")
		}
	})
}

func mustEncode(t *testing.T, r any) []byte {
	t.Helper()
	b, err := Encode(r.(*schema.Registry))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
