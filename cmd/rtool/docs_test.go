package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README is the short entry point; the reference lives under docs/.
// These tests keep the two linked and the command reference complete.

// docFiles are README.md and every docs/*.md, relative to the repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join("..", "..", "README.md")}, files...)
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	mdFence   = regexp.MustCompile("(?ms)^```.*?^```")
)

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	text = mdFence.ReplaceAllString(text, "")
	out := map[string]bool{}
	for _, m := range mdHeading.FindAllStringSubmatch(text, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestDocsLinksResolve: every relative link in README.md and docs/*.md names
// a file or directory that exists and, with #fragment, a heading of it.
func TestDocsLinksResolve(t *testing.T) {
	files := docFiles(t)
	if len(files) < 6 {
		t.Fatalf("expected README.md and the docs/ pages, found %v", files)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := mdFence.ReplaceAllString(string(data), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), path)
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s: link %s: %v", file, link, err)
				continue
			}
			if frag == "" {
				continue
			}
			td, err := os.ReadFile(target)
			if err != nil {
				t.Errorf("%s: link %s: %v", file, link, err)
				continue
			}
			if !anchors(string(td))[frag] {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", file, link, target, frag)
			}
		}
	}
}

// TestDocsREADMELinksEveryPage: each docs/*.md page is linked from README.md.
func TestDocsREADMELinksEveryPage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n >= 250 {
		t.Errorf("README.md has %d lines; keep it under 250 and move reference text to docs/", n)
	}
	for _, f := range docFiles(t)[1:] {
		if !strings.Contains(string(readme), "](docs/"+filepath.Base(f)) {
			t.Errorf("README.md does not link docs/%s", filepath.Base(f))
		}
	}
}

// TestDocsCommandsListEveryCommand: docs/commands.md has a "## rtool NAME"
// section for every command, naming each of its subcommands.
func TestDocsCommandsListEveryCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, cmd := range newApp(io.Discard, io.Discard).VisibleCommands() {
		if cmd.Name == "help" {
			continue
		}
		_, section, ok := strings.Cut(text, "\n## rtool "+cmd.Name+"\n")
		if !ok {
			t.Errorf("docs/commands.md has no ## rtool %s section", cmd.Name)
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		for _, sub := range cmd.VisibleCommands() {
			if sub.Name == "help" {
				continue
			}
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(sub.Name) + `\b`).MatchString(section) {
				t.Errorf("docs/commands.md's rtool %s section does not mention %s", cmd.Name, sub.Name)
			}
		}
	}
}
