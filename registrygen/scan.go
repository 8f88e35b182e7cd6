package registrygen

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/joblet/rtool/schema"
)

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
	depth   int             // nesting inside values skipped by skipValue (see enter)
	shared  bool            // strings may point into data (Load's private buffer)
	// rules applies Check to a registry that parsed without problems and
	// locates what it finds (off for Document's position passes).
	rules bool
	// maxSize refuses larger input (MaxRegistrySize; 0 = no limit, for
	// benchmarks of registries beyond the limit).
	maxSize int
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
	p := &parser{data: data, source: source, intern: map[string]string{}, parallelMin: parallelMinBytes,
		rules: true, maxSize: MaxRegistrySize}
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
				q.shared, q.sequential, q.rules, q.maxSize, q.only = p.shared, true, p.rules, p.maxSize, p.only
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
	if p.maxSize > 0 && len(p.data) > p.maxSize {
		return nil, &Error{Source: p.source, Msg: tooLarge(len(p.data), p.maxSize)}
	}
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
		setLines(p.data, p.errs)
		if p.dropped > 0 {
			p.errs = append(p.errs, &Error{Source: p.source, Msg: fmt.Sprintf("and %d more problems", p.dropped)})
		}
		return nil, p.errs
	}
	if p.rules {
		if errs, more := check(r, false, p.source); len(errs) > 0 {
			(&Document{Registry: r, Source: p.source, data: p.data}).setPositions(errs)
			return nil, withMore(errs, p.source, more)
		}
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

// newError makes an error at off; its line and column are filled in by
// run (or fail) once, so many errors in a large file cost one pass.
func (p *parser) newError(off int, path, format string, a ...any) *Error {
	return &Error{Source: p.source, Path: path, Msg: fmt.Sprintf(format, a...), off: off}
}

// setLines fills in Line and Column of errors sorted by offset, counting
// through the data once.
func setLines(data []byte, errs Errors) {
	line, lineStart, pos := 1, 0, 0
	for _, e := range errs {
		off := min(max(e.off, 0), len(data))
		if off < pos {
			line, lineStart, pos = 1, 0, 0
		}
		chunk := data[pos:off]
		if n := bytes.Count(chunk, []byte{'\n'}); n > 0 {
			line += n
			lineStart = pos + bytes.LastIndexByte(chunk, '\n') + 1
		}
		pos = off
		e.Line, e.Column = line, utf8.RuneCount(data[lineStart:off])+1
	}
}

// fail stops at a syntax error.
func (p *parser) fail(off int, format string, a ...any) {
	e := p.newError(off, p.pathString(), format, a...)
	setLines(p.data, Errors{e})
	panic(fatal{e})
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
	if len(k) > MaxKeyBytes {
		p.fail(off, "member name of %d bytes (%s...); the limit is %d bytes", len(k), snippet(k), MaxKeyBytes)
	}
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
		if j-start-1 > MaxStringBytes {
			p.stringTooLong(start, j-start-1)
		}
		p.i = j + 1
		return p.makeString(p.data[start+1:j], intern)
	}
	return p.strSlow(start)
}

// stringTooLong stops at a string of n bytes (as written) over the limit.
func (p *parser) stringTooLong(start, n int) {
	p.fail(start, "string of %d bytes (%s...); the limit is %d bytes", n, snippet(string(p.data[start+1:start+1+40])), MaxStringBytes)
}

// literal is a number literal for a message, cut after 40 bytes.
func literal(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// snippet is the start of s for a message.
func snippet(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strconv.Quote(s)
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
			if p.i-start-1 > MaxStringBytes {
				p.stringTooLong(start, p.i-start-1)
			}
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

// enter counts one more level of an object or array that skipValue
// reads. The path holds one segment per level above it (the registry
// object is level 1), so the value's level is len(p.path)+p.depth.
func (p *parser) enter(off int) {
	p.depth++
	if level := len(p.path) + p.depth; level > MaxDepth {
		p.fail(off, "objects and arrays nested %d levels deep; the limit is %d (canonical output indents every level, so the written file would grow with the square of the depth)", level, MaxDepth)
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
			p.problem(off, nil, "must be an integer, found %s (Joblet rejects the whole registry on a non-integer)", literal(lit))
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
			p.problem(off, nil, "integer %s is out of range", literal(lit))
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
	p.push(key) // for nesting levels (enter) and messages
	defer p.pop()
	if _, dup := (*m)[key]; dup {
		p.problem(keyOff, nil, "duplicate key %q", key)
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
