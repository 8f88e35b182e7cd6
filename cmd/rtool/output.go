package main

import (
	"encoding/json"
	"io"
)

// writeJSON writes v as the one --json document of a command: indented,
// without HTML escaping (URLs stay readable), with a trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
