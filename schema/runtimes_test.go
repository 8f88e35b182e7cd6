package schema

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRuntimeNames: directories with a manifest.yaml, sorted; a manifest
// hidden in a dot-directory, a directory without one and a file are not
// runtimes (validate reports the hidden one; build --all and plan must
// not release it unchecked).
func TestRuntimeNames(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"python-3.11", ".old-demo", "node-18", "no-manifest"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		if d != "no-manifest" {
			os.WriteFile(filepath.Join(root, d, ManifestFile), []byte("name: x\n"), 0o644)
		}
	}
	os.WriteFile(filepath.Join(root, "README.md"), nil, 0o644)
	got, err := RuntimeNames(root)
	if err != nil || !slices.Equal(got, []string{"node-18", "python-3.11"}) {
		t.Fatalf("RuntimeNames = %v, %v", got, err)
	}
	if _, err := RuntimeNames(filepath.Join(root, "missing")); err == nil {
		t.Fatal("a missing root is no error")
	}
}
