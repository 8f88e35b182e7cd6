package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/joblet/rtool/schema"
)

// DefaultRunners maps a platform's architecture to the GitHub-hosted
// runner that builds it natively.
func DefaultRunners() map[string]string {
	return map[string]string{
		"amd64": "ubuntu-24.04",
		"arm64": "ubuntu-24.04-arm",
	}
}

// BulkTagPrefix starts a bulk runtime release tag: runtimes-YYYY.MM.DD,
// or runtimes-YYYY.MM.DD.N for another one the same day. It can never be a
// Go module version, so vX.Y.Z tags stay rtool's own releases (go install
// github.com/joblet/rtool/cmd/rtool@vX.Y.Z).
const BulkTagPrefix = "runtimes-"

// bulkTagRE matches a bulk release tag, which releases every runtime.
var bulkTagRE = regexp.MustCompile(`^runtimes-(\d{4}\.\d{2}\.\d{2})(\.[1-9]\d*)?$`)

// moduleTagRE matches a Go module version tag, rtool's own release.
var moduleTagRE = regexp.MustCompile(`^v\d+\.\d+\.\d+`)

// IsBulkTag reports whether tag is a runtimes-YYYY.MM.DD[.N] bulk release
// tag with a real date.
func IsBulkTag(tag string) bool { return checkBulkTag(tag) == nil }

// checkBulkTag says what is wrong with a tag that starts with BulkTagPrefix.
func checkBulkTag(tag string) error {
	m := bulkTagRE.FindStringSubmatch(tag)
	if m == nil {
		return fmt.Errorf("bulk tag %q: want %sYYYY.MM.DD or %sYYYY.MM.DD.N, such as %s%s", tag, BulkTagPrefix, BulkTagPrefix, BulkTagPrefix, "2026.01.31")
	}
	if _, err := time.Parse("2006.01.02", m[1]); err != nil {
		return fmt.Errorf("bulk tag %q: %s is not a date (YYYY.MM.DD)", tag, m[1])
	}
	return nil
}

// PlanOptions selects what to build. Exactly one of Since, Tag and All.
type PlanOptions struct {
	// RuntimesDir is the runtimes/ directory of a git work tree.
	RuntimesDir string
	// Git runs git; its Dir is ignored (RuntimesDir is used).
	Git Git
	// Since plans every runtime with a file changed between REF and HEAD.
	Since string
	// Tag plans the runtime of a name@X.Y.Z tag, or every runtime for a
	// bulk tag runtimes-YYYY.MM.DD[.N].
	Tag string
	// All plans every runtime.
	All bool
	// Runners maps architecture → runner label; nil uses DefaultRunners.
	Runners map[string]string
}

// PlanItem is one build job: one runtime on one platform.
type PlanItem struct {
	Runtime  string `json:"runtime"`
	Version  string `json:"version"`
	Platform string `json:"platform"`
	Runner   string `json:"runner"`
}

// Plan lists the runtimes × platforms to build, sorted by runtime then
// platform.
func Plan(ctx context.Context, opts PlanOptions) ([]PlanItem, error) {
	n := 0
	for _, set := range []bool{opts.Since != "", opts.Tag != "", opts.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("plan: give exactly one of --since REF, --tag NAME@VERSION or --all")
	}
	runners := opts.Runners
	if runners == nil {
		runners = DefaultRunners()
	}
	var names []string
	wantVersion := map[string]string{}
	switch {
	case strings.HasPrefix(opts.Tag, BulkTagPrefix):
		if err := checkBulkTag(opts.Tag); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		fallthrough
	case opts.All:
		all, err := ListRuntimes(opts.RuntimesDir)
		if err != nil {
			return nil, err
		}
		names = all
	case opts.Tag != "":
		if moduleTagRE.MatchString(opts.Tag) {
			return nil, fmt.Errorf("plan: tag %s is an rtool release (a Go module version), not a runtime release; tag NAME@X.Y.Z for one runtime or %sYYYY.MM.DD for every runtime", opts.Tag, BulkTagPrefix)
		}
		tag, err := schema.ParseTag(opts.Tag)
		if err != nil {
			return nil, fmt.Errorf("plan: %w (or %sYYYY.MM.DD for every runtime)", err, BulkTagPrefix)
		}
		names = []string{tag.Name}
		wantVersion[tag.Name] = tag.Version
	default:
		changed, err := ChangedRuntimes(ctx, opts.Git, opts.RuntimesDir, opts.Since)
		if err != nil {
			return nil, err
		}
		names = changed
	}
	items := []PlanItem{}
	for _, name := range names {
		m, err := ReadManifest(filepath.Join(opts.RuntimesDir, name))
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		if m.Name != name {
			return nil, fmt.Errorf("plan: %s: name %q differs from the directory name %q", filepath.Join(opts.RuntimesDir, name, "manifest.yaml"), m.Name, name)
		}
		if v, ok := wantVersion[name]; ok && v != m.Version {
			return nil, fmt.Errorf("plan: tag %s@%s does not match %s, which says version %s; tag the commit that has that version",
				name, v, filepath.Join(opts.RuntimesDir, name, "manifest.yaml"), m.Version)
		}
		for _, p := range m.Platforms {
			pl, _ := schema.ParsePlatform(p) // checked by ReadManifest
			runner, ok := runners[pl.Arch]
			if !ok {
				return nil, fmt.Errorf("plan: no runner for architecture %s (platform %s of %s)", pl.Arch, p, name)
			}
			items = append(items, PlanItem{Runtime: name, Version: m.Version, Platform: p, Runner: runner})
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Runtime != items[j].Runtime {
			return items[i].Runtime < items[j].Runtime
		}
		return items[i].Platform < items[j].Platform
	})
	return items, nil
}

// ListRuntimes returns the names of the directories under runtimesDir that
// hold a manifest.yaml, sorted.
func ListRuntimes(runtimesDir string) ([]string, error) {
	names, err := schema.RuntimeNames(runtimesDir)
	if err != nil {
		return nil, fmt.Errorf("list runtimes: %w", err)
	}
	return names, nil
}

// ChangedRuntimes returns the runtimes under runtimesDir with a file
// changed between ref and HEAD (git diff --name-only), skipping runtimes
// that no longer exist.
func ChangedRuntimes(ctx context.Context, g Git, runtimesDir, ref string) ([]string, error) {
	g.Dir = runtimesDir
	out, err := g.Run(ctx, "diff", "--name-only", "--relative", "--no-renames", ref, "HEAD", "--", ".")
	if err != nil {
		return nil, fmt.Errorf("plan: files changed since %s: %w", ref, err)
	}
	seen := map[string]bool{}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		name, _, nested := strings.Cut(strings.TrimSpace(l), "/")
		if !nested || seen[name] {
			continue
		}
		seen[name] = true
		if _, err := os.Stat(filepath.Join(runtimesDir, name, "manifest.yaml")); err == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// MatrixJSON returns {"include":[...]} on one line, for $GITHUB_OUTPUT and
// strategy.matrix: ${{ fromJSON(...) }}.
func MatrixJSON(items []PlanItem) ([]byte, error) {
	if items == nil {
		items = []PlanItem{}
	}
	return json.Marshal(struct {
		Include []PlanItem `json:"include"`
	}{items})
}

// PlanSummary is the Markdown step summary of a plan.
func PlanSummary(items []PlanItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Build plan: %d job(s)\n\n", len(items))
	if len(items) == 0 {
		b.WriteString("Nothing to build.\n")
		return b.String()
	}
	b.WriteString("| runtime | version | platform | runner |\n| --- | --- | --- | --- |\n")
	for _, it := range items {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(it.Runtime), mdEscape(it.Version), mdEscape(it.Platform), mdEscape(it.Runner))
	}
	return b.String()
}
