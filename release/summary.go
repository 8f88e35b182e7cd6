package release

import (
	"fmt"
	"os"
	"strings"
)

// AppendSummary appends Markdown to the GitHub Actions step summary file
// at path ($GITHUB_STEP_SUMMARY). An empty path does nothing, so commands
// call it unconditionally.
func AppendSummary(path, markdown string) error {
	if path == "" || markdown == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("step summary %s: %w", path, err)
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	if _, err := f.WriteString(markdown); err != nil {
		f.Close()
		return fmt.Errorf("step summary %s: %w", path, err)
	}
	return f.Close()
}

// mdEscape makes s safe inside a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
