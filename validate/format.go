package validate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Formats accepted by Write.
const (
	FormatText   = "text"
	FormatJSON   = "json"
	FormatGitHub = "github"
)

// Formats lists the output formats.
func Formats() []string { return []string{FormatText, FormatJSON, FormatGitHub} }

// TextOptions control the text format.
type TextOptions struct {
	// Color adds ANSI colours; callers set it only for a terminal without
	// NO_COLOR.
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
)

// position renders file[:line[:col]].
func position(d Diagnostic) string {
	s := d.File
	if d.Line > 0 {
		s += ":" + strconv.Itoa(d.Line)
		if d.Column > 0 {
			s += ":" + strconv.Itoa(d.Column)
		}
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// SummaryLine is the one-line outcome of a report.
func (r Report) SummaryLine() string {
	s := plural(r.Summary.Runtimes, "runtime") + " checked: "
	if r.Summary.Errors == 0 && r.Summary.Warnings == 0 {
		return s + "no problems"
	}
	return s + plural(r.Summary.Errors, "error") + ", " + plural(r.Summary.Warnings, "warning")
}

// WriteText writes one line per finding, file:line:col: severity: message
// [rule], its hint on the next line, and a summary line.
func WriteText(w io.Writer, r Report, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	r.all(func(d Diagnostic) {
		sev := paint(ansiBold+ansiRed, d.Severity)
		if d.Severity == SeverityWarning {
			sev = paint(ansiBold+ansiYellow, d.Severity)
		}
		fmt.Fprintf(bw, "%s: %s: %s %s\n", paint(ansiBold, position(d)), sev, d.Message, paint(ansiDim, "["+d.Rule+"]"))
		if d.Hint != "" {
			fmt.Fprintf(bw, "    %s\n", paint(ansiDim, "hint: "+d.Hint))
		}
	})
	line := r.SummaryLine()
	switch {
	case r.Summary.Errors > 0:
		line = paint(ansiBold+ansiRed, line)
	case r.Summary.Warnings > 0:
		line = paint(ansiBold+ansiYellow, line)
	default:
		line = paint(ansiBold+ansiGreen, line)
	}
	fmt.Fprintln(bw, line)
	return bw.Flush()
}

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// escapeData and escapeProperty follow GitHub Actions' workflow command
// escaping rules.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteGitHub writes one GitHub Actions annotation per finding
// (::error file=...,line=...,col=...,title=rule::message) and a summary line.
func WriteGitHub(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	r.all(func(d Diagnostic) {
		props := []string{"file=" + escapeProperty(d.File)}
		if d.Line > 0 {
			props = append(props, "line="+strconv.Itoa(d.Line))
			if d.Column > 0 {
				props = append(props, "col="+strconv.Itoa(d.Column))
			}
		}
		props = append(props, "title="+escapeProperty(d.Rule))
		msg := d.Message
		if d.Hint != "" {
			msg += "\nhint: " + d.Hint
		}
		fmt.Fprintf(bw, "::%s %s::%s\n", d.Severity, strings.Join(props, ","), escapeData(msg))
	})
	fmt.Fprintln(bw, "rtool validate: "+r.SummaryLine())
	return bw.Flush()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(s)
}

// MaxSummaryRows bounds the findings table of the Markdown summary (GitHub
// caps a step summary at 1 MiB).
const MaxSummaryRows = 500

// WriteMarkdownSummary writes a Markdown summary for $GITHUB_STEP_SUMMARY:
// a table per runtime and a table of findings.
func WriteMarkdownSummary(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## rtool validate\n\n%s\n\n", r.SummaryLine())
	if len(r.Runtimes) > 0 {
		fmt.Fprintln(bw, "| runtime | errors | warnings |")
		fmt.Fprintln(bw, "| --- | ---: | ---: |")
		for _, rt := range r.Runtimes {
			status := "✅"
			if rt.Errors > 0 {
				status = "❌"
			} else if rt.Warnings > 0 {
				status = "⚠️"
			}
			fmt.Fprintf(bw, "| %s `%s` | %d | %d |\n", status, mdCell(rt.Name), rt.Errors, rt.Warnings)
		}
		fmt.Fprintln(bw)
	}
	if r.Summary.Errors+r.Summary.Warnings > 0 {
		fmt.Fprintln(bw, "| location | severity | rule | message |")
		fmt.Fprintln(bw, "| --- | --- | --- | --- |")
		rows := 0
		r.all(func(d Diagnostic) {
			if rows++; rows > MaxSummaryRows {
				return
			}
			msg := d.Message
			if d.Hint != "" {
				msg += " (hint: " + d.Hint + ")"
			}
			fmt.Fprintf(bw, "| `%s` | %s | `%s` | %s |\n", mdCell(position(d)), d.Severity, d.Rule, mdCell(msg))
		})
		if rows > MaxSummaryRows {
			fmt.Fprintf(bw, "\n%d more findings are not listed here; see the annotations or run rtool validate.\n", rows-MaxSummaryRows)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}
