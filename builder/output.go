package builder

import (
	"bytes"
	"io"
	"sync"
)

// tailLines is how many of a failed step's last output lines an error shows.
const tailLines = 20

// mux interleaves the live output of concurrent builds on one writer, whole
// lines at a time, each line prefixed with its build's label.
type mux struct {
	mu sync.Mutex
	w  io.Writer // nil: no live output
}

// stream returns a writer for one build: every byte goes to log as written
// and, line by line with a "[label] " prefix, to the shared live output;
// the last lines are kept for error messages. Close flushes a last
// unterminated line.
func (m *mux) stream(label string, log io.Writer) *stream {
	return &stream{m: m, prefix: []byte("[" + label + "] "), log: log}
}

type stream struct {
	m      *mux
	prefix []byte
	log    io.Writer

	mu      sync.Mutex
	partial []byte
	tail    []string
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		if _, err := s.log.Write(p); err != nil {
			return 0, err
		}
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 { // a very long line without newline
		s.line(s.partial)
		s.partial = nil
	}
	return len(p), nil
}

func (s *stream) line(l []byte) {
	l = bytes.TrimRight(l, "\r")
	// Progress output that rewrites its line keeps only the last state.
	if i := bytes.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	s.tail = append(s.tail, string(l))
	if len(s.tail) > tailLines {
		s.tail = s.tail[len(s.tail)-tailLines:]
	}
	if s.m == nil || s.m.w == nil {
		return
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	buf := make([]byte, 0, len(s.prefix)+len(l)+1)
	buf = append(append(append(buf, s.prefix...), l...), '\n')
	s.m.w.Write(buf)
}

// Close flushes an unterminated last line.
func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line(s.partial)
		s.partial = nil
	}
	return nil
}

// Tail returns the last lines written so far.
func (s *stream) Tail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.tail))
	copy(out, s.tail)
	if len(s.partial) > 0 {
		out = append(out, string(s.partial))
		if len(out) > tailLines {
			out = out[1:]
		}
	}
	return out
}
