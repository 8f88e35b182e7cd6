package registrygen

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/joblet/rtool/schema"
)

// Document is a parsed registry file that can say where each entry and
// field is, so later checks (Verify) can point into the file. Positions
// are worked out only when asked for, by a second pass over the file
// restricted to the runtimes concerned, so a clean registry costs a plain
// load.
type Document struct {
	Registry *schema.Registry
	Source   string
	data     []byte
	offsets  map[string]int
	located  map[string]bool // runtimes whose positions are in offsets
	all      bool            // every runtime's positions are in offsets
}

// LoadDocument is Load keeping what Document.Position needs.
func LoadDocument(path string) (*Document, error) {
	data, err := readRegistry(path, MaxRegistrySize)
	if err != nil {
		return nil, err
	}
	p := newParser(data, path, false)
	p.shared = true
	r, err := p.run()
	if err != nil {
		return nil, err
	}
	return &Document{Registry: r, Source: path, data: data}, nil
}

// ParseDocument is Parse keeping what Document.Position needs.
func ParseDocument(data []byte, source string) (*Document, error) {
	r, err := Parse(data, source)
	if err != nil {
		return nil, err
	}
	return &Document{Registry: r, Source: source, data: data}, nil
}

// Position returns the line and column of the value at path (a jq-style
// path as in Error.Path), or of its nearest recorded parent.
func (d *Document) Position(path string) (line, col int, ok bool) {
	off, ok := d.offset(path)
	if !ok {
		return 0, 0, false
	}
	line, col = lineCol(d.data, off)
	return line, col, true
}

// offset is the byte offset of the value at path or its nearest recorded
// parent.
func (d *Document) offset(path string) (int, bool) {
	if d == nil {
		return 0, false
	}
	if name, ok := runtimeOfPath(path); ok {
		d.locate([]string{name})
	} else if d.offsets == nil {
		d.locate([]string{}) // the registry's own keys only
	}
	for path != "" {
		if off, found := d.offsets[path]; found {
			return off, true
		}
		path = parentPath(path)
	}
	return 0, false
}

// setPositions fills in Line and Column of errors whose paths are in the
// document, in one pass over the file, and sorts them into file order
// (errors without a position stay first, in their order).
func (d *Document) setPositions(errs Errors) {
	var names []string
	for _, e := range errs {
		if n, ok := runtimeOfPath(e.Path); ok {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		d.locate(names) // one more pass over the file for all of them
	}
	var located Errors
	for _, e := range errs {
		if off, ok := d.offset(e.Path); ok {
			e.off = off
			located = append(located, e)
		} else {
			e.off = -1
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return a.off - b.off })
	slices.SortStableFunc(located, func(a, b *Error) int { return a.off - b.off })
	setLines(d.data, located)
}

// locate records the positions of the named runtimes' values and of the
// registry's own keys; nil means every runtime.
func (d *Document) locate(runtimes []string) {
	if d.all {
		return
	}
	var want map[string]bool
	if runtimes != nil {
		want = map[string]bool{}
		for _, n := range runtimes {
			if !d.located[n] {
				want[n] = true
			}
		}
		if len(want) == 0 && d.offsets != nil {
			return
		}
	}
	p := newParser(d.data, d.Source, true)
	p.sequential, p.only, p.rules, p.maxSize = true, want, false, 0
	if _, err := p.run(); err != nil {
		return // the document parsed before; cannot happen
	}
	if d.offsets == nil {
		d.offsets, d.located = map[string]int{}, map[string]bool{}
	}
	maps.Copy(d.offsets, p.offsets)
	for n := range want {
		d.located[n] = true
	}
	d.all = want == nil
}

// runtimeOfPath returns the runtime name a jq-style path starts with
// (.runtimes.NAME or .runtimes["NAME"]).
func runtimeOfPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, ".runtimes")
	if !ok || rest == "" {
		return "", false
	}
	if rest[0] == '.' {
		rest = rest[1:]
		if i := strings.IndexAny(rest, ".["); i >= 0 {
			rest = rest[:i]
		}
		return rest, rest != ""
	}
	if strings.HasPrefix(rest, "[") {
		q, err := strconv.QuotedPrefix(rest[1:])
		if err != nil {
			return "", false
		}
		name, err := strconv.Unquote(q)
		return name, err == nil
	}
	return "", false
}

// parentPath drops the last component of a jq-style path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		// find the matching '[' of a quoted key or index.
		if i := strings.LastIndex(p, `["`); i >= 0 && strings.HasSuffix(p, `"]`) {
			return p[:i]
		}
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}
