package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	r := newTestRepo(t)
	g := r.Work
	addRuntime(t, g, "alpha", "1.0.0", "ubuntu-amd64", "ubuntu-arm64")
	addRuntime(t, g, "beta", "2.1.0", "debian-amd64")
	addRuntime(t, g, "gamma", "0.1.0", "rhel-arm64")
	base := mustGit(t, g, "rev-parse", "HEAD")
	// change beta, delete gamma, add delta, touch a file outside any runtime
	addRuntime(t, g, "beta", "2.2.0", "debian-amd64")
	mustGit(t, g, "rm", "-q", "-r", "runtimes/gamma")
	mustGit(t, g, "commit", "-q", "-m", "drop gamma")
	addRuntime(t, g, "delta", "1.0.0", "amzn-amd64", "amzn-arm64")
	writeFile(t, filepath.Join(g.Dir, "runtimes", "README.md"), "runtimes\n")
	mustGit(t, g, "add", "runtimes/README.md")
	mustGit(t, g, "commit", "-q", "-m", "readme")
	rt := filepath.Join(g.Dir, "runtimes")

	key := func(items []PlanItem) string {
		var parts []string
		for _, it := range items {
			parts = append(parts, it.Runtime+"@"+it.Version+"/"+it.Platform+"/"+it.Runner)
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name    string
		opts    PlanOptions
		want    string
		wantErr string
	}{
		{"since", PlanOptions{Since: base}, "beta@2.2.0/debian-amd64/ubuntu-24.04 delta@1.0.0/amzn-amd64/ubuntu-24.04 delta@1.0.0/amzn-arm64/ubuntu-24.04-arm", ""},
		{"since HEAD", PlanOptions{Since: "HEAD"}, "", ""},
		{"tag", PlanOptions{Tag: "alpha@1.0.0"}, "alpha@1.0.0/ubuntu-amd64/ubuntu-24.04 alpha@1.0.0/ubuntu-arm64/ubuntu-24.04-arm", ""},
		{"tag with another version", PlanOptions{Tag: "beta@2.1.0"}, "", "says version 2.2.0"},
		{"tag of a missing runtime", PlanOptions{Tag: "gamma@0.1.0"}, "", "gamma"},
		{"bad tag", PlanOptions{Tag: "alpha-1.0.0"}, "", "name@version"},
		{"bulk tag", PlanOptions{Tag: "runtimes-2026.11.27"}, "alpha@1.0.0/ubuntu-amd64/ubuntu-24.04 alpha@1.0.0/ubuntu-arm64/ubuntu-24.04-arm beta@2.2.0/debian-amd64/ubuntu-24.04 delta@1.0.0/amzn-amd64/ubuntu-24.04 delta@1.0.0/amzn-arm64/ubuntu-24.04-arm", ""},
		{"second bulk tag of a day", PlanOptions{Tag: "runtimes-2026.11.27.2"}, "alpha@1.0.0/ubuntu-amd64/ubuntu-24.04 alpha@1.0.0/ubuntu-arm64/ubuntu-24.04-arm beta@2.2.0/debian-amd64/ubuntu-24.04 delta@1.0.0/amzn-amd64/ubuntu-24.04 delta@1.0.0/amzn-arm64/ubuntu-24.04-arm", ""},
		{"bulk tag without a date", PlanOptions{Tag: "runtimes-1.4.0"}, "", "want runtimes-YYYY.MM.DD"},
		{"bulk tag with an impossible date", PlanOptions{Tag: "runtimes-2026.02.30"}, "", "2026.02.30 is not a date"},
		{"bulk tag with a bad suffix", PlanOptions{Tag: "runtimes-2026.11.27.0"}, "", "want runtimes-YYYY.MM.DD"},
		{"rtool's own release tag", PlanOptions{Tag: "v1.4.0"}, "", "v1.4.0 is an rtool release (a Go module version)"},
		{"all with custom runners", PlanOptions{All: true, Runners: map[string]string{"amd64": "big", "arm64": "arm"}}, "alpha@1.0.0/ubuntu-amd64/big alpha@1.0.0/ubuntu-arm64/arm beta@2.2.0/debian-amd64/big delta@1.0.0/amzn-amd64/big delta@1.0.0/amzn-arm64/arm", ""},
		{"two selectors", PlanOptions{All: true, Tag: "alpha@1.0.0"}, "", "exactly one"},
		{"unknown ref", PlanOptions{Since: "no-such-ref"}, "", "no-such-ref"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Git, tc.opts.RuntimesDir = Git{Env: r.Env}, rt
			items, err := Plan(context.Background(), tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := key(items); got != tc.want {
				t.Fatalf("plan\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMatrixJSON(t *testing.T) {
	b, err := MatrixJSON(nil)
	if err != nil || string(b) != `{"include":[]}` {
		t.Fatalf("empty matrix %s, %v", b, err)
	}
	b, err = MatrixJSON([]PlanItem{{Runtime: "alpha", Version: "1.0.0", Platform: "ubuntu-arm64", Runner: "ubuntu-24.04-arm"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"include":[{"runtime":"alpha","version":"1.0.0","platform":"ubuntu-arm64","runner":"ubuntu-24.04-arm"}]}`
	if string(b) != want || strings.Contains(string(b), "\n") {
		t.Fatalf("matrix %s, want %s on one line", b, want)
	}
}

func TestAppendSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := AppendSummary("", "ignored"); err != nil {
		t.Fatal(err)
	}
	if err := AppendSummary(path, "# one"); err != nil {
		t.Fatal(err)
	}
	if err := AppendSummary(path, PlanSummary([]PlanItem{{Runtime: "a|b", Version: "1.0.0", Platform: "p", Runner: "r"}})); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "# one\n### Build plan: 1 job(s)") || !strings.Contains(string(b), `| a\|b | 1.0.0 |`) {
		t.Fatalf("summary:\n%s", b)
	}
}
