package registrygen

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/joblet/rtool/schema"
)

// maxErrors bounds how many problems one load reports.
const maxErrors = 100

// maxDepth bounds nesting inside unknown values, as encoding/json does.
const maxDepth = 10000

// New returns an empty registry in the current format.
func New() *schema.Registry {
	return &schema.Registry{
		Version:  schema.RegistryFormatVersion,
		Runtimes: map[string]map[string]*schema.RegistryEntry{},
	}
}

// Load reads and checks registry.json. Every error names path:line:column.
func Load(path string) (*schema.Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	// Nothing else sees data, so strings can share its memory instead of
	// copying every URL and checksum.
	p := newParser(data, path, false)
	p.shared = true
	return p.run()
}

// Parse decodes and checks a registry; source names the bytes in errors.
//
// It rejects what Joblet's consumer would reject (malformed JSON, a wrong
// type anywhere, registry version other than "1") and what would make the
// registry ambiguous: a version key that is not a semantic version, an
// entry whose version differs from its key, a malformed checksum, a
// timestamp that is not RFC 3339 UTC, a duplicate key. Syntax errors stop
// at the first; other problems are all reported (as Errors). Unknown keys
// are kept at every level.
func Parse(data []byte, source string) (*schema.Registry, error) {
	p := newParser(data, source, false)
	return p.run()
}

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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
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
	if d == nil {
		return 0, 0, false
	}
	if name, ok := runtimeOfPath(path); ok {
		d.locate([]string{name})
	} else if d.offsets == nil {
		d.locate([]string{}) // the registry's own keys only
	}
	for path != "" {
		if off, found := d.offsets[path]; found {
			line, col = lineCol(d.data, off)
			return line, col, true
		}
		path = parentPath(path)
	}
	return 0, 0, false
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
	p.sequential, p.only = true, want
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

// seg is one component of the path to the value being parsed.
type seg struct {
	key   string
	idx   int
	isIdx bool
}

// fatal aborts parsing at a syntax error.
type fatal struct{ err *Error }

type parser struct {
	data    []byte
	i       int
	source  string
	path    []seg
	errs    Errors
	dropped int
	intern  map[string]string
	offsets map[string]int  // nil unless positions are kept
	only    map[string]bool // with offsets: record only these runtimes (nil: all)
	depth   int
	shared  bool // strings may point into data (Load's private buffer)
	// sequential disables parsing runtimes on several goroutines, which
	// is used from parallelMin bytes on.
	sequential  bool
	parallelMin int
	usedPool    bool
	// allocation helpers (see stringList, newEntry, newArtifact)
	scratch      []string
	entrySlab    []schema.RegistryEntry
	artifactSlab []schema.Artifact
}

func newParser(data []byte, source string, keepOffsets bool) *parser {
	p := &parser{data: data, source: source, intern: map[string]string{}, parallelMin: parallelMinBytes}
	if keepOffsets {
		p.offsets = map[string]int{}
	}
	return p
}

func (p *parser) run() (r *schema.Registry, err error) {
	defer func() {
		if v := recover(); v != nil {
			_, isFatal := v.(fatal)
			if v == errSequential || isFatal && p.usedPool {
				// A worker's runtime may hold an earlier syntax error than
				// the one found here: only one goroutine knows the first.
				q := newParser(p.data, p.source, p.offsets != nil)
				q.shared, q.sequential = p.shared, true
				r, err = q.run()
				return
			}
			f, ok := v.(fatal)
			if !ok {
				panic(v)
			}
			r, err = nil, f.err
		}
	}()
	r = p.registry()
	p.ws()
	if p.i < len(p.data) {
		p.fail(p.i, "unexpected %s after the end of the registry object", p.describeAt(p.i))
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.off - b.off })
		if len(p.errs) > maxErrors {
			p.dropped += len(p.errs) - maxErrors
			p.errs = p.errs[:maxErrors]
		}
		if p.dropped > 0 {
			p.errs = append(p.errs, &Error{Source: p.source, Msg: fmt.Sprintf("and %d more problems", p.dropped)})
		}
		return nil, p.errs
	}
	return r, nil
}

// pathString renders the current path plus extra keys.
func (p *parser) pathString(extra ...string) string {
	var b strings.Builder
	for _, s := range p.path {
		if s.isIdx {
			fmt.Fprintf(&b, "[%d]", s.idx)
		} else {
			b.WriteString(jsonPath(s.key))
		}
	}
	for _, k := range extra {
		b.WriteString(jsonPath(k))
	}
	return b.String()
}

func (p *parser) newError(off int, path, format string, a ...any) *Error {
	line, col := lineCol(p.data, off)
	return &Error{Source: p.source, Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, a...), off: off}
}

// fail stops at a syntax error.
func (p *parser) fail(off int, format string, a ...any) {
	panic(fatal{p.newError(off, p.pathString(), format, a...)})
}

// problem records a non-fatal problem at off for the current path plus
// extra keys.
//
// Beyond maxErrors it keeps the problems earliest in the file, so the
// report does not depend on the order problems were found in.
func (p *parser) problem(off int, extra []string, format string, a ...any) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, p.newError(off, p.pathString(extra...), format, a...))
		return
	}
	p.dropped++
	last := 0
	for i, e := range p.errs {
		if e.off > p.errs[last].off {
			last = i
		}
	}
	if off < p.errs[last].off {
		p.errs[last] = p.newError(off, p.pathString(extra...), format, a...)
	}
}

func (p *parser) record(off int, extra ...string) {
	if p.offsets == nil {
		return
	}
	if p.only != nil && len(p.path) >= 2 && p.path[0].key == "runtimes" && !p.only[p.path[1].key] {
		return
	}
	p.offsets[p.pathString(extra...)] = off
}

func (p *parser) push(key string) { p.path = append(p.path, seg{key: key}) }
func (p *parser) pushIdx(i int)   { p.path = append(p.path, seg{idx: i, isIdx: true}) }
func (p *parser) pop()            { p.path = p.path[:len(p.path)-1] }

func (p *parser) ws() {
	// Indentation: skip runs of spaces eight at a time.
	for p.i+8 <= len(p.data) && binary.LittleEndian.Uint64(p.data[p.i:]) == 0x2020202020202020 {
		p.i += 8
	}
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// describeAt names the character at off for a syntax error.
func (p *parser) describeAt(off int) string {
	if off >= len(p.data) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.data[off:])
	if r == utf8.RuneError {
		return fmt.Sprintf("byte 0x%02x", p.data[off])
	}
	return fmt.Sprintf("character %q", r)
}

// kind names the JSON type of the value at the current position, failing
// on a character that cannot start a value.
func (p *parser) kind() string {
	p.ws()
	if p.i >= len(p.data) {
		p.fail(p.i, "unexpected end of file, expected a value")
	}
	switch c := p.data[p.i]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	}
	p.fail(p.i, "unexpected %s, expected a value (string, number, object, array, true, false or null)", p.describeAt(p.i))
	return ""
}

// typeMismatch records that the value at the current position has the
// wrong type and skips it.
func (p *parser) typeMismatch(want string) {
	off := p.i
	k := p.kind()
	start, end := p.skipValue()
	found := "an " + k
	if k != "object" && k != "array" {
		found = "a " + k
		snippet := string(p.data[start:end])
		if len(snippet) > 40 {
			snippet = snippet[:37] + "..."
		}
		found += " (" + snippet + ")"
	}
	p.problem(off, nil, "must be %s, found %s", want, found)
}

func (p *parser) expect(c byte, what string) {
	p.ws()
	if p.i >= len(p.data) || p.data[p.i] != c {
		p.fail(p.i, "unexpected %s, expected %s", p.describeAt(p.i), what)
	}
	p.i++
}

// objectStart consumes '{' and reports whether the object has members.
func (p *parser) objectStart() bool {
	p.expect('{', "'{'")
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return false
	}
	return true
}

// objectNext consumes ',' (another member follows) or '}'.
func (p *parser) objectNext() bool {
	p.ws()
	if p.i < len(p.data) {
		switch p.data[p.i] {
		case ',':
			p.i++
			return true
		case '}':
			p.i++
			return false
		}
	}
	p.fail(p.i, "unexpected %s, expected ',' or '}' after an object member", p.describeAt(p.i))
	return false
}

// key reads a member name and the colon after it.
func (p *parser) key() (string, int) {
	p.ws()
	off := p.i
	if p.i >= len(p.data) || p.data[p.i] != '"' {
		p.fail(p.i, "unexpected %s, expected a quoted member name", p.describeAt(p.i))
	}
	k := p.str(true)
	p.expect(':', "':' after member name")
	return k, off
}

// knownKey returns the constant string for a member name rtool knows,
// saving a map lookup for the keys that make up most of a registry.
func knownKey(raw []byte) (string, bool) {
	switch string(raw) {
	case "version":
		return "version", true
	case "description":
		return "description", true
	case "download_url":
		return "download_url", true
	case "checksum":
		return "checksum", true
	case "size":
		return "size", true
	case "platforms":
		return "platforms", true
	case "released_at":
		return "released_at", true
	case "artifacts":
		return "artifacts", true
	case "unpacked_size":
		return "unpacked_size", true
	case "entries":
		return "entries", true
	}
	return "", false
}

// plainByte marks bytes that a string can hold without escaping: not a
// quote, backslash, control character or the start of a multi-byte rune.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainPrefix returns the length of the longest prefix of b made of
// plainByte bytes, testing eight bytes at a time.
func plainPrefix(b []byte) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^(lsb*'"'), w^(lsb*'\\')
		special := w | // a byte >= 0x80
			(w-lsb*0x20) & ^w | // a byte < 0x20
			(quote-lsb) & ^quote | // a '"'
			(backslash-lsb) & ^backslash // a '\\'
		if special&msb != 0 {
			break
		}
	}
	for ; i < len(b) && plainByte[b[i]]; i++ {
	}
	return i
}

// str reads a string at the current position ('"' already checked).
// Interned strings share memory with earlier equal ones.
func (p *parser) str(intern bool) string {
	start := p.i
	j := start + 1 + plainPrefix(p.data[start+1:])
	if j < len(p.data) && p.data[j] == '"' {
		p.i = j + 1
		return p.makeString(p.data[start+1:j], intern)
	}
	return p.strSlow(start)
}

// makeString turns bytes of the input into a string: interned, shared
// with the input (Load owns its buffer and never changes it), or copied.
func (p *parser) makeString(raw []byte, intern bool) string {
	if intern {
		if s, ok := knownKey(raw); ok {
			return s
		}
		if s, ok := p.intern[string(raw)]; ok {
			return s
		}
		s := string(raw)
		p.intern[s] = s
		return s
	}
	if p.shared && len(raw) > 0 {
		return unsafe.String(&raw[0], len(raw))
	}
	return string(raw)
}

// strSlow reads a string with escapes or non-ASCII characters, checking
// it, and decodes it as encoding/json does.
func (p *parser) strSlow(start int) string {
	p.i = start + 1
	for {
		if p.i >= len(p.data) {
			p.fail(start, "string is not terminated")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			var s string
			if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
				p.fail(start, "bad string: %v", err)
			}
			return s
		case c == '\\':
			p.i++
			if p.i >= len(p.data) {
				p.fail(start, "string is not terminated")
			}
			switch p.data[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				for k := 1; k <= 4; k++ {
					if p.i+k >= len(p.data) || !isHex(p.data[p.i+k]) {
						p.fail(p.i-1, "bad \\u escape in string: expected four hex digits")
					}
				}
				p.i += 5
			default:
				p.fail(p.i-1, "bad escape \\%c in string", p.data[p.i])
			}
		case c == '\n':
			p.fail(start, "string is not terminated on its line (a JSON string cannot hold a raw newline; write \\n)")
		case c < 0x20:
			p.fail(p.i, "control character 0x%02x in string; escape it (for example \\n)", c)
		default:
			p.i++
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// number scans a number and reports whether it is an integer literal.
func (p *parser) number() (start, end int, integer bool) {
	start = p.i
	integer = true
	if p.data[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.data) && p.data[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		p.fail(p.i, "unexpected %s in number, expected a digit", p.describeAt(p.i))
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		integer = false
		p.i++
		if digits() == 0 {
			p.fail(p.i, "unexpected %s after decimal point, expected a digit", p.describeAt(p.i))
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		integer = false
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.fail(p.i, "unexpected %s in exponent, expected a digit", p.describeAt(p.i))
		}
	}
	return start, p.i, integer
}

func (p *parser) literal(word string) {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		p.fail(p.i, "unexpected %s, expected a value (did you mean %s?)", p.describeAt(p.i), word)
	}
	p.i += len(word)
}

// skipValue checks and skips any value, returning its bytes' bounds.
func (p *parser) skipValue() (start, end int) {
	k := p.kind()
	start = p.i
	switch k {
	case "string":
		p.str(false)
	case "number":
		p.number()
	case "boolean":
		if p.data[p.i] == 't' {
			p.literal("true")
		} else {
			p.literal("false")
		}
	case "null":
		p.literal("null")
	case "object":
		p.enter(start)
		if p.objectStart() {
			for {
				p.key()
				p.skipValue()
				if !p.objectNext() {
					break
				}
			}
		}
		p.depth--
	case "array":
		p.enter(start)
		p.i++
		p.ws()
		if p.i < len(p.data) && p.data[p.i] == ']' {
			p.i++
		} else {
			for {
				p.skipValue()
				if !p.arrayNext() {
					break
				}
			}
		}
		p.depth--
	}
	return start, p.i
}

func (p *parser) enter(off int) {
	p.depth++
	if p.depth > maxDepth {
		p.fail(off, "values nested deeper than %d levels", maxDepth)
	}
}

func (p *parser) arrayNext() bool {
	p.ws()
	if p.i < len(p.data) {
		switch p.data[p.i] {
		case ',':
			p.i++
			return true
		case ']':
			p.i++
			return false
		}
	}
	p.fail(p.i, "unexpected %s, expected ',' or ']' in an array", p.describeAt(p.i))
	return false
}

// raw reads an unknown value and returns a copy of its bytes.
func (p *parser) raw() json.RawMessage {
	start, end := p.skipValue()
	return append(json.RawMessage(nil), p.data[start:end]...)
}

// isNull consumes null and reports whether it was there.
func (p *parser) isNull() bool {
	if p.kind() == "null" {
		p.literal("null")
		return true
	}
	return false
}

// stringValue reads a string value; null reads as "" as in encoding/json.
// A value of another type is recorded as a problem.
func (p *parser) stringValue(intern bool) (string, bool) {
	switch p.kind() {
	case "string":
		return p.str(intern), true
	case "null":
		p.literal("null")
		return "", true
	}
	p.typeMismatch("a string")
	return "", false
}

// intValue reads an integer; null reads as 0 as in encoding/json.
func (p *parser) intValue() int64 {
	switch p.kind() {
	case "number":
		off := p.i
		start, end, integer := p.number()
		lit := p.data[start:end]
		if !integer {
			p.problem(off, nil, "must be an integer, found %s (Joblet rejects the whole registry on a non-integer)", lit)
			return 0
		}
		if len(lit) <= 18 && lit[0] != '-' {
			var v int64
			for _, c := range lit {
				v = v*10 + int64(c-'0')
			}
			return v
		}
		v, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil {
			p.problem(off, nil, "integer %s is out of range", lit)
			return 0
		}
		return v
	case "null":
		p.literal("null")
		return 0
	}
	p.typeMismatch("an integer")
	return 0
}

// extra stores an unknown member, rejecting duplicates.
func (p *parser) extra(m *map[string]json.RawMessage, key string, keyOff int) {
	if _, dup := (*m)[key]; dup {
		p.problem(keyOff, []string{key}, "duplicate key %q", key)
		p.skipValue()
		return
	}
	if *m == nil {
		*m = map[string]json.RawMessage{}
	}
	(*m)[key] = p.raw()
}

// seen tracks known members of one object to reject duplicates.
type seen uint32

func (p *parser) dup(s *seen, bit uint, key string, keyOff int) bool {
	if *s&(1<<bit) != 0 {
		p.problem(keyOff, nil, "duplicate key %q", key)
		p.skipValue()
		return true
	}
	*s |= 1 << bit
	return false
}

func (p *parser) registry() *schema.Registry {
	if k := p.kind(); k != "object" {
		p.fail(p.i, "a registry must be a JSON object, found %s", article(k))
	}
	r := &schema.Registry{}
	objOff := p.i
	var s seen
	versionOff, updatedOff := -1, -1
	if p.objectStart() {
		for {
			key, keyOff := p.key()
			p.push(key)
			if p.offsets != nil {
				p.ws()
				p.record(p.i)
			}
			switch key {
			case "version":
				if !p.dup(&s, 0, key, keyOff) {
					p.ws()
					versionOff = p.i
					if v, ok := p.stringValue(false); ok {
						r.Version = v
					} else {
						versionOff = -2
					}
				}
			case "updated_at":
				if !p.dup(&s, 1, key, keyOff) {
					p.ws()
					updatedOff = p.i
					if v, ok := p.stringValue(false); ok {
						r.UpdatedAt = v
					} else {
						updatedOff = -2
					}
				}
			case "runtimes":
				if !p.dup(&s, 2, key, keyOff) {
					r.Runtimes = p.runtimes()
				}
			default:
				p.pop()
				p.extra(&r.Extra, key, keyOff)
				p.push(key)
			}
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if r.Runtimes == nil {
		r.Runtimes = map[string]map[string]*schema.RegistryEntry{}
	}
	switch {
	case versionOff == -1:
		p.problem(objOff, nil, "missing \"version\"; Joblet reads only \"version\": %q", schema.RegistryFormatVersion)
	case versionOff >= 0 && r.Version != schema.RegistryFormatVersion:
		p.problem(versionOff, []string{"version"}, "registry format version is %q; Joblet reads only %q", r.Version, schema.RegistryFormatVersion)
	}
	switch {
	case updatedOff == -1:
		p.problem(objOff, nil, "missing \"updated_at\" (an RFC 3339 UTC time such as 2025-12-02T17:41:44Z)")
	case updatedOff >= 0:
		if err := CheckTime(r.UpdatedAt); err != nil {
			p.problem(updatedOff, []string{"updated_at"}, "%v", err)
		}
	}
	return r
}

func article(kind string) string {
	switch kind {
	case "object", "array", "integer":
		return "an " + kind
	}
	return "a " + kind
}

func (p *parser) runtimes() map[string]map[string]*schema.RegistryEntry {
	out := map[string]map[string]*schema.RegistryEntry{}
	switch p.kind() {
	case "null":
		p.literal("null")
		return out
	case "object":
	default:
		p.typeMismatch("an object of runtime names")
		return out
	}
	if !p.objectStart() {
		return out
	}
	var pool *runtimePool
	if p.offsets == nil && !p.sequential && len(p.data) >= p.parallelMin && runtime.GOMAXPROCS(0) > 1 {
		pool = newRuntimePool(p)
		p.usedPool = true
		defer pool.stop()
	}
	for {
		name, keyOff := p.key()
		p.push(name)
		if _, dup := out[name]; dup {
			p.problem(keyOff, nil, "duplicate runtime %q", name)
			p.skipValue()
		} else if pool != nil && p.kind() == "object" {
			// Find the end of this runtime's versions cheaply and let a
			// worker parse and check them while this goroutine moves on.
			end, ok := skipStructure(p.data, p.i)
			if !ok {
				panic(errSequential)
			}
			out[name] = nil
			pool.submit(name, p.i, end)
			p.i = end
		} else {
			p.record(keyOff)
			if versions := p.versions(); versions != nil {
				out[name] = versions
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	if pool != nil {
		for _, res := range pool.wait() {
			if !res.ok {
				panic(errSequential)
			}
			p.errs = append(p.errs, res.errs...)
			p.dropped += res.dropped
			out[res.name] = res.versions
		}
	}
	for name, versions := range out {
		if versions == nil {
			delete(out, name)
		}
	}
	return out
}

// parallelMinBytes is the registry size from which runtimes are parsed by
// several goroutines (one runtime at a time each).
const parallelMinBytes = 1 << 20

// errSequential makes run() parse again on one goroutine: the input is
// malformed in a way the quick structural scan cannot delimit, and the
// sequential parser gives the exact first error.
var errSequential = errors.New("parse sequentially")

type runtimeJob struct {
	name       string
	start, end int
}

type runtimeResult struct {
	name     string
	versions map[string]*schema.RegistryEntry
	errs     Errors
	dropped  int
	ok       bool
}

// runtimePool parses runtimes' version objects on GOMAXPROCS goroutines.
type runtimePool struct {
	parent  *parser
	jobs    chan int
	queued  []runtimeJob
	results []runtimeResult
	mu      sync.Mutex
	wg      sync.WaitGroup
	stopped bool
}

func newRuntimePool(p *parser) *runtimePool {
	rp := &runtimePool{parent: p, jobs: make(chan int, 64)}
	for range runtime.GOMAXPROCS(0) {
		rp.wg.Add(1)
		go rp.work()
	}
	return rp
}

func (rp *runtimePool) submit(name string, start, end int) {
	rp.mu.Lock()
	i := len(rp.queued)
	rp.queued = append(rp.queued, runtimeJob{name, start, end})
	rp.results = append(rp.results, runtimeResult{})
	rp.mu.Unlock()
	rp.jobs <- i
}

func (rp *runtimePool) work() {
	defer rp.wg.Done()
	for i := range rp.jobs {
		rp.mu.Lock()
		job := rp.queued[i]
		rp.mu.Unlock()
		res := rp.parent.parseRuntime(job)
		rp.mu.Lock()
		rp.results[i] = res
		rp.mu.Unlock()
	}
}

// stop ends the workers (also when the main parse panics).
func (rp *runtimePool) stop() {
	if !rp.stopped {
		rp.stopped = true
		close(rp.jobs)
		rp.wg.Wait()
	}
}

func (rp *runtimePool) wait() []runtimeResult {
	rp.stop()
	return rp.results
}

// parseRuntime parses one runtime's versions object at [job.start,
// job.end) with a parser of its own; ok is false when the value does not
// end where the structural scan said (malformed input).
func (p *parser) parseRuntime(job runtimeJob) (res runtimeResult) {
	res.name = job.name
	w := &parser{data: p.data, i: job.start, source: p.source, intern: map[string]string{}, shared: p.shared, sequential: true,
		path: []seg{{key: "runtimes"}, {key: job.name}}}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatal); !ok {
				panic(v)
			}
			res.ok = false
		}
	}()
	res.versions = w.versions()
	res.errs, res.dropped = w.errs, w.dropped
	res.ok = w.i == job.end && res.versions != nil
	return res
}

// structural marks the bytes skipStructure must look at.
var structural = func() (t [256]bool) {
	for _, c := range `"{}[]` {
		t[c] = true
	}
	return t
}()

// skipStructure finds the end of the object or array starting at i by
// matching brackets outside strings, without checking anything else.
func skipStructure(data []byte, i int) (int, bool) {
	depth := 0
	for i < len(data) {
		c := data[i]
		if !structural[c] {
			i++
			continue
		}
		switch c {
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					return 0, false
				}
				j += k
				backslashes := 0
				for m := j - 1; m > i && data[m] == '\\'; m-- {
					backslashes++
				}
				if backslashes%2 == 0 {
					break
				}
				j++
			}
			i = j + 1
		case '{', '[':
			depth++
			i++
		default:
			depth--
			i++
			if depth == 0 {
				return i, true
			}
			if depth < 0 {
				return 0, false
			}
		}
	}
	return 0, false
}

func (p *parser) versions() map[string]*schema.RegistryEntry {
	if k := p.kind(); k != "object" {
		p.typeMismatch("an object of versions")
		return nil
	}
	out := map[string]*schema.RegistryEntry{}
	if !p.objectStart() {
		return out
	}
	for {
		ver, keyOff := p.key()
		p.push(ver)
		switch _, dup := out[ver]; {
		case dup:
			p.problem(keyOff, nil, "duplicate version %q", ver)
			p.skipValue()
		default:
			if err := schema.CheckVersion(ver); err != nil {
				p.problem(keyOff, nil, "version key: %v", err)
			}
			p.record(keyOff)
			if e := p.entry(ver); e != nil {
				out[ver] = e
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	return out
}

// Entry member bits for duplicate detection.
const (
	fVersion = iota
	fDescription
	fDownloadURL
	fChecksum
	fSize
	fPlatforms
	fReleasedAt
	fArtifacts
	fYanked
	fForced
)

func (p *parser) entry(key string) *schema.RegistryEntry {
	switch p.kind() {
	case "object":
	case "null":
		p.problem(p.i, nil, "version entry is null; it must be an object")
		p.literal("null")
		return nil
	default:
		p.typeMismatch("a version entry object")
		return nil
	}
	e := p.newEntry()
	objOff := p.i
	var s seen
	versionOff, checksumOff, releasedOff := -1, -1, -1
	checksumOK := false
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "version":
				if !p.dup(&s, fVersion, k, keyOff) {
					versionOff = valOff
					v, ok := p.stringValue(false)
					if !ok {
						versionOff = -2
					} else if v == key {
						v = key
					}
					e.Version = v
				}
			case "description":
				if !p.dup(&s, fDescription, k, keyOff) {
					e.Description, _ = p.stringValue(true)
				}
			case "download_url":
				if !p.dup(&s, fDownloadURL, k, keyOff) {
					e.DownloadURL, _ = p.stringValue(false)
				}
			case "checksum":
				if !p.dup(&s, fChecksum, k, keyOff) {
					checksumOff = valOff
					e.Checksum, checksumOK = p.stringValue(false)
				}
			case "size":
				if !p.dup(&s, fSize, k, keyOff) {
					e.Size = p.intValue()
				}
			case "platforms":
				if !p.dup(&s, fPlatforms, k, keyOff) {
					e.Platforms = p.stringList()
				}
			case "released_at":
				if !p.dup(&s, fReleasedAt, k, keyOff) {
					releasedOff = valOff
					e.ReleasedAt, _ = p.stringValue(false)
				}
			case "artifacts":
				if !p.dup(&s, fArtifacts, k, keyOff) {
					e.Artifacts = p.artifacts()
				}
			case "yanked":
				if !p.dup(&s, fYanked, k, keyOff) {
					e.Yanked = p.yank()
				}
			case "forced":
				if !p.dup(&s, fForced, k, keyOff) {
					e.Forced = p.forcedList()
				}
			default:
				p.pop()
				p.extra(&e.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	switch {
	case versionOff == -1:
		p.problem(objOff, nil, "missing \"version\"; write \"version\": %q", key)
	case versionOff >= 0 && e.Version != key:
		p.problem(versionOff, []string{"version"}, "entry says version %q but is listed under %q; they must match", e.Version, key)
	}
	switch {
	case checksumOff == -1 && len(e.Artifacts) == 0:
		p.problem(objOff, nil, "missing \"checksum\" (sha256:<64 lowercase hex digits>)")
	case checksumOff >= 0 && checksumOK && (e.Checksum != "" || len(e.Artifacts) == 0):
		// An empty top-level checksum is allowed while an entry built
		// from per-platform fragments waits for its primary platform.
		if err := schema.CheckChecksum(e.Checksum); err != nil {
			p.problem(checksumOff, []string{"checksum"}, "%v", err)
		}
	}
	if releasedOff >= 0 && e.ReleasedAt != "" {
		if err := CheckTime(e.ReleasedAt); err != nil {
			p.problem(releasedOff, []string{"released_at"}, "%v", err)
		}
	}
	return e
}

func (p *parser) stringList() []string {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "array":
	default:
		p.typeMismatch("an array of strings")
		return nil
	}
	p.i++
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return []string{}
	}
	list := p.scratch[:0]
	for n := 0; ; n++ {
		p.pushIdx(n)
		if p.offsets != nil {
			p.ws()
			p.record(p.i)
		}
		if s, ok := p.stringValue(true); ok {
			list = append(list, s)
		}
		p.pop()
		if !p.arrayNext() {
			break
		}
	}
	p.scratch = list
	return slices.Clone(list) // one allocation of the exact size
}

// slabSize is how many entries or artifacts one allocation holds: a
// registry has many of both, and fewer, larger allocations are cheaper to
// make and to garbage-collect.
const slabSize = 64

func (p *parser) newEntry() *schema.RegistryEntry {
	if len(p.entrySlab) == 0 {
		p.entrySlab = make([]schema.RegistryEntry, slabSize)
	}
	e := &p.entrySlab[0]
	p.entrySlab = p.entrySlab[1:]
	return e
}

func (p *parser) newArtifact() *schema.Artifact {
	if len(p.artifactSlab) == 0 {
		p.artifactSlab = make([]schema.Artifact, slabSize)
	}
	a := &p.artifactSlab[0]
	p.artifactSlab = p.artifactSlab[1:]
	return a
}

func (p *parser) artifacts() map[string]*schema.Artifact {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "object":
	default:
		p.typeMismatch("an object of platforms")
		return nil
	}
	out := map[string]*schema.Artifact{}
	if !p.objectStart() {
		return out
	}
	for {
		platform, keyOff := p.key()
		if s, ok := p.intern[platform]; ok {
			platform = s
		} else {
			p.intern[platform] = platform
		}
		p.push(platform)
		if _, dup := out[platform]; dup {
			p.problem(keyOff, nil, "duplicate platform %q", platform)
			p.skipValue()
		} else {
			p.record(keyOff)
			if a := p.artifact(); a != nil {
				out[platform] = a
			}
		}
		p.pop()
		if !p.objectNext() {
			break
		}
	}
	return out
}

func (p *parser) artifact() *schema.Artifact {
	switch p.kind() {
	case "object":
	case "null":
		p.problem(p.i, nil, "artifact is null; it must be an object")
		p.literal("null")
		return nil
	default:
		p.typeMismatch("an artifact object")
		return nil
	}
	a := p.newArtifact()
	objOff := p.i
	var s seen
	checksumOff := -1
	checksumOK := false
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "download_url":
				if !p.dup(&s, 0, k, keyOff) {
					a.DownloadURL, _ = p.stringValue(false)
				}
			case "checksum":
				if !p.dup(&s, 1, k, keyOff) {
					checksumOff = valOff
					a.Checksum, checksumOK = p.stringValue(false)
				}
			case "size":
				if !p.dup(&s, 2, k, keyOff) {
					a.Size = p.intValue()
				}
			case "unpacked_size":
				if !p.dup(&s, 3, k, keyOff) {
					a.UnpackedSize = p.intValue()
				}
			case "entries":
				if !p.dup(&s, 4, k, keyOff) {
					a.Entries = p.intValue()
				}
			default:
				p.pop()
				p.extra(&a.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	switch {
	case checksumOff < 0:
		p.problem(objOff, nil, "missing \"checksum\" (sha256:<64 lowercase hex digits>)")
	case checksumOK:
		if err := schema.CheckChecksum(a.Checksum); err != nil {
			p.problem(checksumOff, []string{"checksum"}, "%v", err)
		}
	}
	return a
}

func (p *parser) yank() *schema.Yank {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "object":
	default:
		p.typeMismatch("an object with reason and date")
		return nil
	}
	y := &schema.Yank{}
	var s seen
	dateOff := -1
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "reason":
				if !p.dup(&s, 0, k, keyOff) {
					y.Reason, _ = p.stringValue(false)
				}
			case "date":
				if !p.dup(&s, 1, k, keyOff) {
					dateOff = valOff
					y.Date, _ = p.stringValue(false)
				}
			default:
				p.pop()
				p.extra(&y.Extra, k, keyOff)
				p.push(k)
			}
			p.record(valOff)
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if dateOff >= 0 {
		if err := CheckTime(y.Date); err != nil {
			p.problem(dateOff, []string{"date"}, "%v", err)
		}
	}
	return y
}

func (p *parser) forcedList() []schema.ForcedChange {
	switch p.kind() {
	case "null":
		p.literal("null")
		return nil
	case "array":
	default:
		p.typeMismatch("an array of forced changes")
		return nil
	}
	p.i++
	var out []schema.ForcedChange
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return out
	}
	for n := 0; ; n++ {
		p.pushIdx(n)
		if p.kind() == "object" {
			p.record(p.i)
		}
		if p.kind() != "object" {
			p.typeMismatch("an object")
		} else {
			out = append(out, p.forced())
		}
		p.pop()
		if !p.arrayNext() {
			break
		}
	}
	return out
}

func (p *parser) forced() schema.ForcedChange {
	var f schema.ForcedChange
	var s seen
	dateOff := -1
	if p.objectStart() {
		for {
			k, keyOff := p.key()
			p.push(k)
			p.ws()
			valOff := p.i
			switch k {
			case "date":
				if !p.dup(&s, 0, k, keyOff) {
					dateOff = valOff
					f.Date, _ = p.stringValue(false)
				}
			case "platform":
				if !p.dup(&s, 1, k, keyOff) {
					f.Platform, _ = p.stringValue(true)
				}
			case "old_checksum":
				if !p.dup(&s, 2, k, keyOff) {
					f.OldChecksum, _ = p.stringValue(false)
				}
			case "new_checksum":
				if !p.dup(&s, 3, k, keyOff) {
					f.NewChecksum, _ = p.stringValue(false)
				}
			default:
				p.pop()
				p.extra(&f.Extra, k, keyOff)
				p.push(k)
			}
			p.pop()
			if !p.objectNext() {
				break
			}
		}
	}
	if dateOff >= 0 {
		if err := CheckTime(f.Date); err != nil {
			p.problem(dateOff, []string{"date"}, "%v", err)
		}
	}
	return f
}

// TimeLayout is how rtool writes timestamps: RFC 3339, UTC, seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime writes t as rtool records times in registry.json.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(TimeLayout) }

// CheckTime verifies an RFC 3339 time in UTC, as Joblet expects.
func CheckTime(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339 (write it like 2025-12-02T17:41:44Z)", s)
	}
	if !strings.HasSuffix(s, "Z") {
		return fmt.Errorf("time %q is not in UTC; write %s", s, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// parseTime parses a time CheckTime accepted; zero when empty or invalid.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
