package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"github.com/joblet/rtool/schema"
)

// The runtime catalogue: every runtime this repository releases passes
// rtool validate --strict, and the README's runtime table has a row for
// each, with the platforms its manifest lists, and nothing else built here.

const repoRuntimes = "../../runtimes"

func TestRepositoryRuntimesValidateStrict(t *testing.T) {
	testenv.RequireCommands(t, "bash", "shellcheck")
	code, stdout, stderr := rtool(t, "validate", "--runtimes", repoRuntimes, "--strict")
	if code != exitOK || !strings.Contains(stdout, "no problems") {
		t.Fatalf("validate --strict of this repository's runtimes: exit %d\n%s%s", code, stdout, stderr)
	}
}

// catalogueRow is one row of the README's "Runtimes" table.
type catalogueRow struct {
	name      string
	platforms []string // empty for a runtime not built here
	cells     []string
}

var catalogueName = regexp.MustCompile("^\\[`([a-z0-9.-]+)`\\]\\(runtimes/([a-z0-9.-]+)/\\)$|^`([a-z0-9.-]+)`$")

// readCatalogue parses the table under README's "## Runtimes" heading: the
// first cell names the runtime (a link to its directory when built here),
// the second lists its platforms.
func readCatalogue(t *testing.T) []catalogueRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Runtimes\n")
	if !ok {
		t.Fatal(`README.md has no "## Runtimes" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var rows []catalogueRow
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| runtime ") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		m := catalogueName.FindStringSubmatch(strings.TrimSpace(cells[0]))
		if m == nil {
			t.Fatalf("README runtime table: first cell %q is neither [`NAME`](runtimes/NAME/) nor `NAME`", cells[0])
		}
		row := catalogueRow{name: m[1] + m[3], cells: cells}
		if m[1] != "" && m[1] != m[2] {
			t.Errorf("README runtime table: %s links to runtimes/%s/", m[1], m[2])
		}
		if m[1] != "" && len(cells) > 1 {
			for _, p := range strings.Split(cells[1], ",") {
				row.platforms = append(row.platforms, strings.Trim(strings.TrimSpace(p), "`"))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func TestREADMERuntimeTableMatchesRuntimes(t *testing.T) {
	names, err := schema.RuntimeNames(repoRuntimes)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCatalogue(t)
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.name] {
			t.Errorf("README runtime table: %s has two rows", row.name)
		}
		seen[row.name] = true
		built := slices.Contains(names, row.name)
		switch {
		case row.platforms == nil && built:
			t.Errorf("README runtime table: %s is under runtimes/ but its row says it is not built here; link it as [`%s`](runtimes/%s/)", row.name, row.name, row.name)
		case row.platforms != nil && !built:
			t.Errorf("README runtime table: %s links runtimes/%s/, which holds no runtime", row.name, row.name)
		case built:
			m, err := schema.ReadManifest(filepath.Join(repoRuntimes, row.name))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(row.platforms, m.Platforms) {
				t.Errorf("README runtime table: %s lists platforms %v, its manifest %v", row.name, row.platforms, m.Platforms)
			}
		}
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("README runtime table has no row for runtimes/%s; add one (sizes and build times from make demo)", n)
		}
	}
}
