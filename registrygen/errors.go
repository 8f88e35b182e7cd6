package registrygen

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a problem at one place in a registry file.
type Error struct {
	Source string `json:"source"`           // file name, or a description of where the bytes came from
	Line   int    `json:"line,omitempty"`   // 1-based; 0 when unknown
	Column int    `json:"column,omitempty"` // 1-based, counted in characters
	Path   string `json:"path,omitempty"`   // jq-style path of the value, e.g. .runtimes["python-3.11"]["1.3.1"].checksum
	Msg    string `json:"message"`
	off    int    // byte offset, for sorting
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one registry file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the individual errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// lineCol converts a byte offset in data to a 1-based line and a 1-based
// column counted in characters.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col = utf8.RuneCount(before[start:]) + 1
	return line, col
}

// jsonPath renders a path of object keys the way jq writes it: identifiers
// after a dot, anything else quoted in brackets.
func jsonPath(keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		if isIdent(k) {
			b.WriteByte('.')
			b.WriteString(k)
		} else {
			fmt.Fprintf(&b, "[%q]", k)
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
