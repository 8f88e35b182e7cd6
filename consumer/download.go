package consumer

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/joblet/rtool/internal/httpclient"
)

// Retry bounds how transient download failures (connection errors,
// truncated bodies, HTTP 5xx and 429) are retried: Attempts tries in all,
// waiting Initial, then twice as long each time, at most Max, with jitter.
type Retry struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}

// DefaultAttempts is how many times a download or registry fetch is tried
// in all, unless configured otherwise.
const DefaultAttempts = 3

// DefaultRetry is used when a Retry is zero: DefaultAttempts attempts,
// waiting 0.5s, then 1s (doubling, at most 8s) between them.
func DefaultRetry() Retry {
	return Retry{Attempts: DefaultAttempts, Initial: 500 * time.Millisecond, Max: 8 * time.Second}
}

func (r Retry) orDefault() Retry {
	if r.Attempts <= 0 {
		return DefaultRetry()
	}
	return r
}

// delay is the wait before attempt n+1 (n counts from 1).
func (r Retry) delay(n int) time.Duration {
	d := r.Initial
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	if r.Max > 0 && d > r.Max {
		d = r.Max
	}
	if d <= 0 {
		return 0
	}
	// up to 25% jitter so concurrent installers do not retry in lockstep
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// transientError marks a failure worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// classify marks an error of http.Client.Do: a refused redirect is
// permanent (the server would redirect the same way again); anything else
// (connection errors, stalls, timeouts) is transient.
func classify(err error) error {
	if httpclient.IsRedirect(err) {
		return err
	}
	return &transientError{err}
}

// bareError drops http.Client's *url.Error wrapper when it only repeats
// u, which the caller's message names already, or wraps a refused
// redirect, which names both ends itself.
func bareError(err error, u string) error {
	var ue *url.Error
	if errors.As(err, &ue) && (ue.URL == u || httpclient.IsRedirect(ue.Err)) {
		return ue.Err
	}
	return err
}

// statusError describes a response other than 200; 5xx, 408 and 429 are
// transient.
func statusError(resp *http.Response, what string) error {
	err := fmt.Errorf("%sHTTP %d: %s", what, resp.StatusCode, resp.Status)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		return &transientError{err}
	}
	return err
}

// openArtifact opens an http(s) URL or a local path for reading. Over
// http(s) the stall rule and redirect policy of s.client apply while the
// body is read.
func (s Sources) openArtifact(ctx context.Context, where string) (io.ReadCloser, error) {
	if !strings.HasPrefix(where, "http://") && !strings.HasPrefix(where, "https://") {
		f, err := os.Open(where)
		if err != nil {
			return nil, fmt.Errorf("open artifact: %w", err)
		}
		return f, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, err
	}
	c := s.client()
	resp, err := c.Do(req)
	if err != nil {
		c.CloseIdleConnections()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(fmt.Errorf("download %s: %w", where, bareError(err, where)))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		c.CloseIdleConnections()
		return nil, statusError(resp, "download "+where+": ")
	}
	return &clientBody{ReadCloser: resp.Body, c: c}, nil
}

// clientBody closes its client's idle connections with the body.
type clientBody struct {
	io.ReadCloser
	c *http.Client
}

func (b *clientBody) Close() error {
	err := b.ReadCloser.Close()
	b.c.CloseIdleConnections()
	return err
}

// meteredReader counts and hashes every byte read from r, refuses to read
// more than limit bytes, remembers the first error of r itself and reports
// progress.
type meteredReader struct {
	r        io.Reader
	h        hash.Hash
	limit    int64
	n        int64
	readErr  error // first non-EOF error from r (network trouble)
	tooLarge bool
	progress *progress
}

var errTooLarge = errors.New("artifact is larger than the registry's size")

func (m *meteredReader) Read(p []byte) (int, error) {
	if m.tooLarge {
		return 0, errTooLarge
	}
	// Read at most one byte past the limit, to notice an oversized body.
	if rem := m.limit + 1 - m.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := m.r.Read(p)
	if int64(n)+m.n > m.limit {
		n = int(m.limit - m.n)
		m.tooLarge = true
		err = errTooLarge
	}
	m.h.Write(p[:n])
	m.n += int64(n)
	if m.progress != nil {
		m.progress.set(m.n)
	}
	if err != nil && err != io.EOF && err != errTooLarge && m.readErr == nil {
		m.readErr = err
	}
	return n, err
}

// progress draws a one-line progress bar on a terminal.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	last  time.Time
	n     int64
}

func newProgress(w io.Writer, label string, total int64) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, label: label, total: total}
}

func (p *progress) set(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || n == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.n) / float64(p.total)
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	// \x1b[K clears what a longer previous line left (the bar is drawn
	// only on a terminal).
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s/%s\x1b[K", p.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
		frac*100, humanBytes(p.n), humanBytes(p.total))
}

func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(p.w)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
