package builder

import (
	"bytes"
	"io"
	"sync"
)

// tailLines is how many of a failed step's last output lines an error shows.
const tailLines = 20

// Output says how much of the builds' output goes live to Options.Stderr.
// The log files get every byte whatever it says, and a failure's error
// carries the log's last lines and its path either way.
type Output int

const (
	// OutputAll shows every line: rtool's own steps and the output of the
	// tools it runs (setup scripts, debootstrap, tar). The zero value.
	OutputAll Output = iota
	// OutputSteps shows rtool's own lines only (building, packaging, built,
	// warnings), one or a few per step.
	OutputSteps
	// OutputNone shows nothing live.
	OutputNone
)

// mux interleaves the live output of concurrent builds on one writer, whole
// lines at a time, each line prefixed with its build's label.
type mux struct {
	mu    sync.Mutex
	w     io.Writer // nil: no live output
	level Output
}

// stream returns a writer for one build: every byte goes to log as written
// and, line by line with a "[label] " prefix, to the shared live output;
// the last lines are kept for error messages. What rtool itself says is
// written to the stream; what the tools it runs say goes through
// toolOutput(stream), which the live output may leave out. Close flushes a
// last unterminated line.
func (m *mux) stream(label string, log io.Writer) *stream {
	return &stream{m: m, prefix: []byte("[" + label + "] "), log: log}
}

type stream struct {
	m      *mux
	prefix []byte
	log    io.Writer

	mu          sync.Mutex
	partial     []byte // rtool's unterminated line
	toolPartial []byte // the tools' unterminated line
	tail        []string
}

func (s *stream) Write(p []byte) (int, error) { return s.write(p, false) }

// toolWriter is a stream as the tools rtool runs see it.
type toolWriter struct{ s *stream }

func (w toolWriter) Write(p []byte) (int, error) { return w.s.write(p, true) }

// toolOutput is where a tool's output goes: w's tool side when w is a
// build's stream, else w itself.
func toolOutput(w io.Writer) io.Writer {
	if s, ok := w.(*stream); ok {
		return toolWriter{s}
	}
	return w
}

func (s *stream) write(p []byte, tool bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		if _, err := s.log.Write(p); err != nil {
			return 0, err
		}
	}
	buf := &s.partial
	if tool {
		buf = &s.toolPartial
	}
	*buf = append(*buf, p...)
	for {
		i := bytes.IndexByte(*buf, '\n')
		if i < 0 {
			break
		}
		s.line((*buf)[:i], tool)
		*buf = (*buf)[i+1:]
	}
	if len(*buf) > 64<<10 { // a very long line without newline
		s.line(*buf, tool)
		*buf = nil
	}
	return len(p), nil
}

func (s *stream) line(l []byte, tool bool) {
	l = bytes.TrimRight(l, "\r")
	// Progress output that rewrites its line keeps only the last state.
	if i := bytes.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	s.tail = append(s.tail, string(l))
	if len(s.tail) > tailLines {
		s.tail = s.tail[len(s.tail)-tailLines:]
	}
	if s.m == nil || s.m.w == nil || s.m.level == OutputNone || (tool && s.m.level == OutputSteps) {
		return
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	buf := make([]byte, 0, len(s.prefix)+len(l)+1)
	buf = append(append(append(buf, s.prefix...), l...), '\n')
	s.m.w.Write(buf)
}

// Close flushes unterminated last lines.
func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.toolPartial) > 0 {
		s.line(s.toolPartial, true)
		s.toolPartial = nil
	}
	if len(s.partial) > 0 {
		s.line(s.partial, false)
		s.partial = nil
	}
	return nil
}

// Tail returns the last lines written so far, an unterminated last line
// included.
func (s *stream) Tail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.tail))
	copy(out, s.tail)
	for _, p := range [][]byte{s.toolPartial, s.partial} {
		if len(p) > 0 {
			out = append(out, string(p))
		}
	}
	if len(out) > tailLines {
		out = out[len(out)-tailLines:]
	}
	return out
}
