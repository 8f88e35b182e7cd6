package consumer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	r := Retry{Attempts: 5, Initial: 100 * time.Millisecond, Max: 300 * time.Millisecond}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 300 * time.Millisecond, 4: 300 * time.Millisecond} {
		d := r.delay(n)
		if d > want || d < want*3/4 {
			t.Errorf("delay(%d) = %v, want within 25%% below %v", n, d, want)
		}
	}
	if got := (Retry{}).orDefault(); got != DefaultRetry() {
		t.Errorf("zero Retry = %+v", got)
	}
}

func TestMeteredReader(t *testing.T) {
	data := []byte(strings.Repeat("x", 1000))
	var bar bytes.Buffer
	m := &meteredReader{r: bytes.NewReader(data), h: sha256.New(), limit: 1000, progress: newProgress(&bar, "demo@1.0.0", 1000)}
	n, err := io.Copy(io.Discard, m)
	m.progress.done()
	if err != nil || n != 1000 || m.n != 1000 || m.tooLarge {
		t.Fatalf("exact size: n=%d err=%v tooLarge=%v", n, err, m.tooLarge)
	}
	if want := sha256.Sum256(data); !bytes.Equal(m.h.Sum(nil), want[:]) {
		t.Error("hash differs")
	}
	if !strings.Contains(bar.String(), "demo@1.0.0 [") || !strings.Contains(bar.String(), "100%") || !strings.HasSuffix(bar.String(), "\n") {
		t.Errorf("progress output %q", bar.String())
	}
	// One byte more than the limit is refused, and never passed on.
	m = &meteredReader{r: bytes.NewReader(data), h: sha256.New(), limit: 999}
	n, err = io.Copy(io.Discard, m)
	if !errors.Is(err, errTooLarge) || n != 999 || !m.tooLarge {
		t.Errorf("oversize: n=%d err=%v", n, err)
	}
	// A network error is remembered as such.
	boom := errors.New("connection reset")
	m = &meteredReader{r: io.MultiReader(bytes.NewReader(data[:10]), &errReader{boom}), h: sha256.New(), limit: 1000}
	io.Copy(io.Discard, m)
	if !errors.Is(m.readErr, boom) {
		t.Errorf("readErr = %v", m.readErr)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }
