package release

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/joblet/rtool/internal/httpclient"
)

const (
	// DefaultGitHubAttempts bounds idempotent GitHub API calls.
	DefaultGitHubAttempts = 3
	defaultRetryDelay     = 500 * time.Millisecond
	maxRetryDelay         = 8 * time.Second
)

// newGitHubHTTPClient returns the client for GitHub API calls, uploads and
// asset downloads: the stall rule, timeouts and redirect policy of package
// internal/httpclient, and retries of idempotent calls (retryTransport).
func newGitHubHTTPClient(o GitHubOptions) *http.Client {
	c := httpclient.New(httpclient.Options{StallTimeout: o.StallTimeout, Base: o.Transport})
	attempts := o.Attempts
	if attempts <= 0 {
		attempts = DefaultGitHubAttempts
	}
	delay := o.RetryDelay
	if delay <= 0 {
		delay = defaultRetryDelay
	}
	c.Transport = &retryTransport{base: c.Transport, attempts: attempts, delay: delay}
	return c
}

// retryTransport retries GET and HEAD requests without a body after a
// connection error, a stall or timeout before the response, HTTP 5xx, 408
// or 429 (honouring Retry-After up to 8 s; a longer one is returned as it
// is), waiting delay, then twice as long each time (at most 8 s), with
// jitter. Anything else, in particular uploads and other writes, is sent
// once: a failed publish is re-run, and it resumes. A stall after the
// response has begun fails the call.
type retryTransport struct {
	base     http.RoundTripper
	attempts int
	delay    time.Duration
}

func (t *retryTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) || (req.Body != nil && req.Body != http.NoBody) {
		return t.base.RoundTrip(req)
	}
	wait := t.delay
	for attempt := 1; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if attempt >= t.attempts || req.Context().Err() != nil {
			return resp, err
		}
		d := jitter(wait)
		if err == nil {
			if !retryableStatus(resp.StatusCode) {
				return resp, nil
			}
			if ra := retryAfter(resp); ra > maxRetryDelay {
				return resp, nil
			} else if ra > 0 {
				d = ra
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(d):
		}
		wait = min(wait*2, maxRetryDelay)
	}
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusTooManyRequests, http.StatusRequestTimeout:
		return true
	}
	return false
}

// retryAfter reads a Retry-After header in seconds (GitHub's form).
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// jitter takes up to a quarter off d, so concurrent publishers do not retry
// in lockstep.
func jitter(d time.Duration) time.Duration {
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}
