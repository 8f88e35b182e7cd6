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
	path := filepath.Join(upstreamFixture, "registry.json")
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

// upstreamFixture is the repository's copy of the real upstream registry and
// manifests (shared/fixtures/joblet-runtimes-upstream), so the tests run in
// any clone.
const upstreamFixture = "../testdata/joblet-runtimes-upstream"

// TestUpstreamFixtureCopyIsExact checks the copy against the shared original
// when it is beside the repository (as in CI), byte for byte.
func TestUpstreamFixtureCopyIsExact(t *testing.T) {
	original := filepath.Join("..", "..", "shared", "fixtures", "joblet-runtimes-upstream")
	if _, err := os.Stat(original); err != nil {
		t.Skipf("shared fixtures not beside the repository: %v", err)
	}
	count := 0
	err := filepath.WalkDir(original, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(original, path)
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(upstreamFixture, rel))
		if err != nil {
			t.Errorf("testdata copy lacks %s: %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata copy of %s differs from shared/fixtures; copy it again", rel)
		}
		count++
		return nil
	})
	if err != nil || count == 0 {
		t.Fatalf("walk %s: %d files, %v", original, count, err)
	}
}
