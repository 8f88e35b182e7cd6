package builder

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestStreamPrefixAndTail(t *testing.T) {
	var live, log bytes.Buffer
	m := &mux{w: &live}
	s := m.stream("tiny/debian-amd64", &log)
	// Writes split inside lines, CR progress, and an unterminated last line.
	s.Write([]byte("line 1\nli"))
	s.Write([]byte("ne 2\n50%\r100%\n"))
	for i := 3; i <= 30; i++ {
		fmt.Fprintf(s, "line %d\n", i)
	}
	s.Write([]byte("last without newline"))
	tail := s.Tail()
	s.Close()
	wantLive := "[tiny/debian-amd64] line 1\n[tiny/debian-amd64] line 2\n[tiny/debian-amd64] 100%\n"
	if !strings.HasPrefix(live.String(), wantLive) {
		t.Fatalf("live output starts %q; want %q", live.String()[:80], wantLive)
	}
	if !strings.HasSuffix(live.String(), "[tiny/debian-amd64] last without newline\n") {
		t.Fatalf("unterminated line not flushed on Close: %q", live.String())
	}
	if !strings.HasPrefix(log.String(), "line 1\nline 2\n50%\r100%\n") {
		t.Fatalf("log is not the raw output: %q", log.String()[:40])
	}
	if len(tail) != tailLines || tail[0] != "line 12" || tail[len(tail)-1] != "last without newline" {
		t.Fatalf("tail = %q", tail)
	}
}

func TestStreamConcurrentWholeLines(t *testing.T) {
	var live bytes.Buffer
	m := &mux{w: &live}
	var wg sync.WaitGroup
	for _, label := range []string{"a/x", "b/y", "c/z"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.stream(label, nil)
			for i := 0; i < 200; i++ {
				fmt.Fprintf(s, "%s says %d and more text to make lines long\n", label, i)
			}
			s.Close()
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(live.String(), "\n"), "\n")
	if len(lines) != 600 {
		t.Fatalf("%d lines, want 600", len(lines))
	}
	for _, l := range lines {
		label := strings.TrimSuffix(strings.SplitN(l, " ", 2)[0], "]")[1:]
		if !strings.HasPrefix(l, "["+label+"] "+label+" says ") {
			t.Fatalf("mixed line %q", l)
		}
	}
}
