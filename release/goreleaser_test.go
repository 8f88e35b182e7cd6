package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goreleaserPkg is the GoReleaser that scripts/setup-host.sh installs and
// release-rtool.yml runs; newer ones need a newer Go than go.mod's.
const goreleaserPkg = "github.com/goreleaser/goreleaser/v2@v2.15.1"

const goreleaserConfig = "../.goreleaser.yaml"

// TestGoreleaserCheck runs `goreleaser check` on rtool's release
// configuration, and on broken copies of it to show the check is real.
// Any network use is sent to a closed port on 127.0.0.1.
func TestGoreleaserCheck(t *testing.T) {
	bin := findGoTool(t, "goreleaser", goreleaserPkg)
	good, err := os.ReadFile(goreleaserConfig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  string // "" checks the repository's file in place
		wantErr string
	}{
		{name: ".goreleaser.yaml"},
		{name: "unknown key", config: strings.Replace(string(good), "project_name: rtool", "project_name: rtool\nno_such_key: true", 1), wantErr: "no_such_key"},
		{name: "deprecated archives.format", config: strings.Replace(string(good), "    formats:\n      - tar.gz", "    format: tar.gz", 1), wantErr: "archives.format"},
		{name: "goarch not a list", config: strings.Replace(string(good), "    goarch:\n      - amd64\n      - arm64", "    goarch: {amd64: true}", 1), wantErr: "cannot unmarshal"},
		{name: "impossible goamd64", config: strings.Replace(string(good), "    binary: rtool\n", "    binary: rtool\n    goamd64: [v9]\n", 1), wantErr: "invalid goamd64: v9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := filepath.Abs(goreleaserConfig)
			if err != nil {
				t.Fatal(err)
			}
			if tc.config != "" {
				if tc.config == string(good) {
					t.Fatal("the case changes nothing: .goreleaser.yaml no longer has the text it replaces")
				}
				cfg = filepath.Join(t.TempDir(), ".goreleaser.yaml")
				if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(bin, "check", "--config", cfg)
			cmd.Dir = ".." // the repository: GoReleaser reads git and go.mod there
			cmd.Env = append(os.Environ(),
				"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=",
				"GITHUB_TOKEN=", "GORELEASER_CURRENT_TAG=v0.0.0")
			out, err := cmd.CombinedOutput()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("goreleaser check %s: %v\n%s", cfg, err, out)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("goreleaser check passed a broken configuration (want an error naming %q):\n%s", tc.wantErr, out)
			case tc.wantErr != "" && !strings.Contains(string(out), tc.wantErr):
				t.Fatalf("goreleaser check failed without naming %q:\n%s", tc.wantErr, out)
			}
		})
	}
}
