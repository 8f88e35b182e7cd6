package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./validate -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// mixedReport validates testdata/mixed: a good runtime, a broken one (errors
// and warnings of several rules) and one without manifest.
func mixedReport(t *testing.T) Report {
	t.Helper()
	testenv.RequireCommands(t, "bash")
	r, err := Root(context.Background(), filepath.Join("testdata", "mixed"), nil, Options{NoShellcheck: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoldenFormats(t *testing.T) {
	r := mixedReport(t)
	if r.Summary != (Summary{Runtimes: 3, Errors: 6, Warnings: 2}) {
		t.Fatalf("summary %+v:\n%s", r.Summary, dumpReport(r))
	}
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"mixed.txt", func(b *bytes.Buffer) error { return WriteText(b, r, TextOptions{}) }},
		{"mixed.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"mixed.github", func(b *bytes.Buffer) error { return WriteGitHub(b, r) }},
		{"mixed.summary.md", func(b *bytes.Buffer) error { return WriteMarkdownSummary(b, r) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestJSONShape(t *testing.T) {
	r := mixedReport(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runtimes []struct {
			Name        string           `json:"name"`
			Diagnostics []map[string]any `json:"diagnostics"`
		} `json:"runtimes"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := []string{"column", "file", "hint", "line", "message", "rule", "severity"}
	n := 0
	for _, rt := range doc.Runtimes {
		for _, d := range rt.Diagnostics {
			var got []string
			for k := range d {
				got = append(got, k)
			}
			slicesSort(got)
			if !reflect.DeepEqual(got, keys) {
				t.Errorf("%s: finding keys %v, want exactly %v", rt.Name, got, keys)
			}
			n++
		}
	}
	if n != 8 || doc.Summary["errors"] != 6 || doc.Summary["warnings"] != 2 || doc.Summary["runtimes"] != 3 {
		t.Errorf("%d findings, summary %v", n, doc.Summary)
	}
	// A clean runtime still has a diagnostics array, not null.
	if !strings.Contains(b.String(), `"diagnostics": []`) {
		t.Error("a runtime without findings must have \"diagnostics\": []")
	}
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestTextColor(t *testing.T) {
	r := mixedReport(t)
	var plain, color bytes.Buffer
	if err := WriteText(&plain, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&color, r, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain text has escape sequences")
	}
	for _, want := range []string{ansiBold + ansiRed + "error" + ansiReset, ansiBold + ansiYellow + "warning" + ansiReset} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	stripped := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiDim, "", ansiRed, "", ansiYellow, "", ansiGreen, "").Replace(color.String())
	if stripped != plain.String() {
		t.Errorf("coloured text differs from plain text beyond colour:\n%s\n%s", stripped, plain.String())
	}
}

func TestGitHubEscaping(t *testing.T) {
	r := newReport("root", nil, []RuntimeReport{newRuntimeReport("x", "root/x", []Diagnostic{
		{File: "root/x/a,b:c.yaml", Line: 2, Column: 3, Rule: "r", Severity: SeverityError, Message: "50% done\nnext line", Hint: "h"},
		{File: "root/x/setup.sh", Rule: RuleSetupMissing, Severity: SeverityError, Message: "m", Hint: ""},
		{File: "root/x/w.sh", Line: 4, Rule: "w", Severity: SeverityWarning, Message: "w", Hint: ""},
	})})
	var b bytes.Buffer
	if err := WriteGitHub(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "::error file=root/x/a%2Cb%3Ac.yaml,line=2,col=3,title=r::50%25 done%0Anext line%0Ahint: h\n" +
		"::error file=root/x/setup.sh,title=setup.missing::m\n" +
		"::warning file=root/x/w.sh,line=4,title=w::w\n" +
		"rtool validate: 1 runtime checked: 2 errors, 1 warning\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRelativeTo(t *testing.T) {
	r := newReport("/repo/runtimes", nil, []RuntimeReport{newRuntimeReport("a", "/repo/runtimes/a", []Diagnostic{
		{File: "/repo/runtimes/a/manifest.yaml", Line: 1, Column: 1, Rule: "r", Severity: SeverityError},
		{File: "/elsewhere/x.sh", Line: 1, Column: 1, Rule: "r", Severity: SeverityError},
	})})
	got := r.RelativeTo("/repo")
	if got.Root != "runtimes" || got.Runtimes[0].Dir != "runtimes/a" ||
		got.Runtimes[0].Diagnostics[1].File != "runtimes/a/manifest.yaml" || got.Runtimes[0].Diagnostics[0].File != "/elsewhere/x.sh" {
		t.Errorf("got %+v", got)
	}
	if r.Runtimes[0].Diagnostics[1].File != "/repo/runtimes/a/manifest.yaml" {
		t.Error("RelativeTo modified its receiver")
	}
}

func TestMarkdownSummaryIsBounded(t *testing.T) {
	var ds []Diagnostic
	for i := range MaxSummaryRows + 7 {
		ds = append(ds, Diagnostic{File: "f", Line: i + 1, Rule: "r", Severity: SeverityError, Message: "m"})
	}
	var b bytes.Buffer
	if err := WriteMarkdownSummary(&b, newReport("root", nil, []RuntimeReport{newRuntimeReport("x", "root/x", ds)})); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "| `f:"); n != MaxSummaryRows {
		t.Errorf("%d rows, want %d", n, MaxSummaryRows)
	}
	if !strings.Contains(b.String(), "\n7 more findings are not listed here") {
		t.Errorf("no note about the 7 findings left out")
	}
}
