package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedSchemasMatchTypes fails when the committed JSON Schemas drift
// from the Go types; run `make schema` to regenerate them.
func TestCommittedSchemasMatchTypes(t *testing.T) {
	for _, name := range SchemaNames() {
		t.Run(name, func(t *testing.T) {
			want, err := GenerateSchema(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(".", SchemaFile(name)))
			if err != nil {
				t.Fatalf("read committed schema: %v (run make schema)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("schema/%s differs from the Go types; run `make schema` and commit", SchemaFile(name))
			}
		})
	}
}

func TestUpstreamRegistryRoundTrip(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "fixtures", "joblet-runtimes-upstream", "registry.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("upstream fixture: %v", err)
	}
	r, err := ParseRegistry(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Extra["_workflow"]; string(got) != `".github/workflows/release-runtime.yml"` {
		t.Errorf("_workflow not preserved: %s", got)
	}
	out, err := EncodeRegistry(r)
	if err != nil {
		t.Fatal(err)
	}
	// upstream's file has no trailing newline; canonical output adds one.
	if want := append(bytes.TrimRight(data, "\n"), '\n'); !bytes.Equal(out, want) {
		t.Errorf("re-encoded upstream registry differs from the original")
	}
}
