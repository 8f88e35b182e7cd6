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

// Each Output level shows its share of a build's lines live; the log gets
// every byte and the tail every line whatever the level.
func TestStreamOutputLevels(t *testing.T) {
	tests := []struct {
		level Output
		want  string
	}{
		{OutputAll, "[r/p] building r\n[r/p] apt-get install foo\n[r/p] setup done\n[r/p] built r\n"},
		{OutputSteps, "[r/p] building r\n[r/p] built r\n"},
		{OutputNone, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.level), func(t *testing.T) {
			var live, log bytes.Buffer
			s := (&mux{w: &live, level: tc.level}).stream("r/p", &log)
			tool := toolOutput(s)
			fmt.Fprintf(s, "building r\n")
			tool.Write([]byte("apt-get install foo\nsetup "))
			tool.Write([]byte("done\n"))
			fmt.Fprintf(s, "built r\n")
			s.Close()
			if live.String() != tc.want {
				t.Errorf("live output %q, want %q", live.String(), tc.want)
			}
			if log.String() != "building r\napt-get install foo\nsetup done\nbuilt r\n" {
				t.Errorf("log %q lacks lines", log.String())
			}
			if got := strings.Join(s.Tail(), "|"); got != "building r|apt-get install foo|setup done|built r" {
				t.Errorf("tail %q", got)
			}
		})
	}
	// a writer that is no stream is its own tool side
	var b bytes.Buffer
	if toolOutput(&b) != &b {
		t.Error("toolOutput of a plain writer is not that writer")
	}
}
