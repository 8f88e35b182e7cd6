package builder

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostCABundle(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bundle := write("bundle.crt", "-----BEGIN CERTIFICATE-----\n")
	empty := write("empty.crt", "")
	link := filepath.Join(dir, "link.crt")
	if err := os.Symlink("bundle.crt", link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.crt")
	if err := os.Symlink("missing.crt", dangling); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.crt")
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"none", nil, ""},
		{"missing", []string{missing}, ""},
		{"empty file skipped", []string{empty, bundle}, bundle},
		{"directory skipped", []string{dir, bundle}, bundle},
		{"dangling link skipped", []string{dangling, bundle}, bundle},
		{"link resolved", []string{link}, bundle},
		{"first wins", []string{bundle, link}, bundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostCABundle(tt.candidates); got != tt.want {
				t.Errorf("hostCABundle(%q) = %q, want %q", tt.candidates, got, tt.want)
			}
		})
	}
}
