// Package httpclient builds the HTTP clients rtool's network code uses
// (registry fetches and artifact downloads in package consumer, the GitHub
// API and uploads in package release), so none of them can hang or be
// redirected somewhere it should not go:
//
//   - the stall rule: every request, from dialling to the last byte of the
//     response body (and of the request body, for uploads), must move at
//     least StallBytes (default 32 KiB) in every StallTimeout (default 30
//     s) window counted from the last time it did; otherwise it is
//     cancelled with a *StallError. A server that says nothing and one that
//     drips a byte a second are both caught;
//   - connection, TLS handshake and response header timeouts of the same
//     length in the transport;
//   - redirects only to http(s), at most MaxRedirects, never from https to
//     http, and never back to a URL already visited; a refused redirect is a
//     *RedirectError, which callers must not retry.
//
// It does not retry: what is safe to repeat is the caller's decision.
package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const (
	// DefaultStallTimeout is the stall window when Options leave it zero.
	DefaultStallTimeout = 30 * time.Second
	// DefaultStallBytes is the progress a transfer must make in every
	// window (about 1 KiB/s over 30 s).
	DefaultStallBytes = 32 << 10
	// MaxRedirects is how many redirects one request may follow.
	MaxRedirects = 10
)

// Options configures New.
type Options struct {
	// StallTimeout is the stall window and the dial, TLS handshake and
	// response header timeout; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// StallBytes is the least a transfer must move in each window; 0
	// means DefaultStallBytes.
	StallBytes int64
	// Base carries the requests; nil means NewTransport(StallTimeout).
	// Tests pass an httptest server's transport to trust its certificate.
	Base http.RoundTripper
}

func (o Options) timeout() time.Duration {
	if o.StallTimeout > 0 {
		return o.StallTimeout
	}
	return DefaultStallTimeout
}

func (o Options) minBytes() int64 {
	if o.StallBytes > 0 {
		return o.StallBytes
	}
	return DefaultStallBytes
}

// New returns a client with the stall rule, the transport timeouts and the
// redirect policy (see the package comment). It has no overall time limit:
// a large download takes as long as it keeps moving.
func New(o Options) *http.Client {
	base := o.Base
	if base == nil {
		base = NewTransport(o.timeout())
	}
	return &http.Client{
		Transport:     &Transport{Base: base, Timeout: o.timeout(), MinBytes: o.minBytes()},
		CheckRedirect: CheckRedirect,
	}
}

// NewTransport returns an http.Transport like http.DefaultTransport whose
// dial, TLS handshake and response header timeouts are all timeout.
func NewTransport(timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = DefaultStallTimeout
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          16,
		ForceAttemptHTTP2:     true,
	}
}

// StallError is a transfer cancelled by the stall rule, or failed by one of
// the transport's timeouts. Its message does not repeat the URL, which
// http.Client's *url.Error around it names.
type StallError struct {
	Method, URL string
	Phase       string // phaseWaiting, phaseSending or phaseReceiving
	Window      time.Duration
	MinBytes    int64
	Err         error // the transport's own error, if it had one
}

const (
	phaseWaiting   = "connecting or waiting for the response"
	phaseSending   = "sending the request body"
	phaseReceiving = "receiving the response body"
)

func (e *StallError) Error() string {
	what := fmt.Sprintf("less than %s moved in %s", humanBytes(e.MinBytes), e.Window)
	if e.Phase == phaseWaiting {
		what = fmt.Sprintf("no response within %s", e.Window)
	}
	return fmt.Sprintf("stalled while %s: %s (the limit --stall-timeout sets)", e.Phase, what)
}

func (e *StallError) Unwrap() error { return e.Err }

// Timeout reports true, so code that checks net.Error sees a timeout.
func (e *StallError) Timeout() bool { return true }

// RedirectError is a redirect the policy refused. It is permanent: the same
// request gets the same redirect again.
type RedirectError struct {
	From, To string
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

// IsRedirect reports whether err is (or wraps) a refused redirect.
func IsRedirect(err error) bool {
	var r *RedirectError
	return errors.As(err, &r)
}

// IsStall reports whether err is (or wraps) a stall.
func IsStall(err error) bool {
	var s *StallError
	return errors.As(err, &s)
}

// CheckRedirect is the redirect policy, for http.Client.CheckRedirect:
// only http and https, at most MaxRedirects, no https → http downgrade
// unless the first request was plain http already, and no loops.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1].URL.String()
	to := req.URL.String()
	switch req.URL.Scheme {
	case "http", "https":
	default:
		return &RedirectError{From: prev, To: to, Reason: fmt.Sprintf("the %q scheme is not allowed; only http and https are followed", req.URL.Scheme)}
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
		return &RedirectError{From: prev, To: to, Reason: "it drops from https to plain http, where anyone on the path can read and change the transfer; " +
			"the server must redirect to https (only a request that started as http may be redirected to http)"}
	}
	for i, v := range via {
		if v.URL.String() == to {
			return &RedirectError{From: prev, To: to, Reason: fmt.Sprintf("a redirect loop (%s was requested %d hops before)", to, len(via)-i)}
		}
	}
	if len(via) > MaxRedirects {
		return &RedirectError{From: prev, To: to, Reason: fmt.Sprintf("more than %d redirects", MaxRedirects)}
	}
	return nil
}

// Transport enforces the stall rule on each round trip through Base.
type Transport struct {
	Base     http.RoundTripper
	Timeout  time.Duration
	MinBytes int64
}

// CloseIdleConnections closes Base's idle connections, if it keeps any.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip runs req through Base under a watchdog that cancels it when the
// stall rule is broken; the watchdog keeps guarding the response body until
// it is read to the end or closed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := newWatchdog(t.Timeout, t.MinBytes, cancel)
	out := req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = &countingBody{ReadCloser: req.Body, w: w}
		if req.GetBody != nil {
			// the transport rewinds through GetBody when it resends
			out.GetBody = func() (io.ReadCloser, error) {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return &countingBody{ReadCloser: b, w: w}, nil
			}
		}
		w.setPhase(phaseSending)
	}
	resp, err := t.Base.RoundTrip(out)
	if err != nil {
		stalled := w.stop()
		cancel()
		var ne net.Error
		if stalled || (req.Context().Err() == nil && errors.As(err, &ne) && ne.Timeout()) {
			return nil, w.err(req, err)
		}
		return nil, err
	}
	w.setPhase(phaseReceiving)
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, req: req, cancel: cancel}
	return resp, nil
}

// watchdog cancels a request when fewer than min bytes moved in the window
// since the last time min bytes did.
type watchdog struct {
	window  time.Duration
	min     int64
	cancel  func()
	mu      sync.Mutex
	timer   *time.Timer
	pending int64
	phase   string
	done    bool
	stalled bool
}

func newWatchdog(window time.Duration, min int64, cancel func()) *watchdog {
	w := &watchdog{window: window, min: min, cancel: cancel, phase: phaseWaiting}
	w.mu.Lock()
	w.timer = time.AfterFunc(window, w.fire)
	w.mu.Unlock()
	return w
}

func (w *watchdog) fire() {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	w.done, w.stalled = true, true
	w.mu.Unlock()
	w.cancel()
}

func (w *watchdog) add(n int) {
	if n <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.pending += int64(n)
	if w.pending >= w.min {
		w.pending = 0
		w.timer.Reset(w.window)
	}
}

func (w *watchdog) setPhase(p string) {
	w.mu.Lock()
	w.phase = p
	w.mu.Unlock()
}

// requestSent: the request body is written; now the response is awaited.
func (w *watchdog) requestSent() {
	w.mu.Lock()
	if w.phase == phaseSending {
		w.phase = phaseWaiting
	}
	w.mu.Unlock()
}

// stop ends the watch and reports whether it had fired.
func (w *watchdog) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	w.done = true
	return w.stalled
}

func (w *watchdog) isStalled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stalled
}

func (w *watchdog) err(req *http.Request, cause error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &StallError{Method: req.Method, URL: redact(req.URL), Phase: w.phase, Window: w.window, MinBytes: w.min, Err: cause}
}

// redact drops credentials and the query (which may carry tokens) from
// URLs in messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	return c.String()
}

type countingBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.add(n)
	if err == io.EOF {
		b.w.requestSent()
	}
	return n, err
}

type watchedBody struct {
	io.ReadCloser
	w      *watchdog
	req    *http.Request
	cancel func()
	once   sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.add(n)
	switch {
	case err == io.EOF:
		b.w.stop()
	case err != nil && b.w.isStalled():
		return n, b.w.err(b.req, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.w.stop()
		b.cancel()
	})
	return err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%g KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
