package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const window = 500 * time.Millisecond

// get fetches url with a client whose stall window is w and returns the
// body length, the error and how long it took.
func get(t *testing.T, c *http.Client, ctx context.Context, url string) (int, error, time.Duration) {
	t.Helper()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err, time.Since(start)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return len(data), err, time.Since(start)
}

// waitGone blocks a handler until its client has gone or the test ends (a
// server that never reads the request body does not notice the client
// leaving).
func waitGone(t *testing.T, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-t.Context().Done():
	}
}

// serve starts a server that is closed after the test's context ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestStallRule(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	tests := []struct {
		name      string
		handler   func(t *testing.T) http.HandlerFunc
		wantPhase string // "" = must succeed
		wantLen   int
	}{
		{"no response at all", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { waitGone(t, r) }
		}, phaseWaiting, 0},
		{"headers dripped a byte at a time", nil, phaseWaiting, 0}, // set below: needs the listener
		{"body stops after 100 KiB", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000000")
				w.Write(bytes.Repeat([]byte("x"), 100<<10))
				w.(http.Flusher).Flush()
				waitGone(t, r)
			}
		}, phaseReceiving, 0},
		{"body drips 1 byte/s", drip(time.Second), phaseReceiving, 0},
		// an idle timeout would never fire here: a byte every 50 ms
		{"body drips 20 bytes/s", drip(50 * time.Millisecond), phaseReceiving, 0},
		{"fast 16 MiB body", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(16<<20))
				for range (16 << 20) / len(chunk) {
					w.Write(chunk)
				}
			}
		}, "", 16 << 20},
		// twice the window in all, never a window without 32 KiB
		{"slow but steady: 64 KiB every 100 ms for 1 s", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(10*len(chunk)))
				for range 10 {
					w.Write(chunk)
					w.(http.Flusher).Flush()
					time.Sleep(100 * time.Millisecond)
				}
			}
		}, "", 10 * len(chunk)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var srv *httptest.Server
			if tt.handler == nil {
				srv = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c, buf, err := w.(http.Hijacker).Hijack()
					if err != nil {
						return
					}
					defer c.Close()
					for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") {
						buf.WriteByte(b)
						if buf.Flush() != nil {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				}))
			} else {
				srv = serve(t, tt.handler(t))
			}
			c := New(Options{StallTimeout: window})
			n, err, took := get(t, c, context.Background(), srv.URL+"/file?token=secret")
			if tt.wantPhase == "" {
				if err != nil || n != tt.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", n, err, tt.wantLen)
				}
				return
			}
			var se *StallError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *StallError", err, err)
			}
			if se.Phase != tt.wantPhase {
				t.Errorf("phase %q, want %q (%v)", se.Phase, tt.wantPhase, err)
			}
			if strings.Contains(se.Error(), "secret") {
				t.Errorf("the message shows the query: %v", se)
			}
			if !strings.Contains(err.Error(), "--stall-timeout") || !strings.Contains(se.URL, srv.URL+"/file") {
				t.Errorf("message %q (URL %s) does not name the URL and the stall timeout", err, se.URL)
			}
			if took < window || took > window+3*time.Second {
				t.Errorf("failed after %s, want about %s", took, window)
			}
		})
	}
}

// drip sends a Content-Length of 1000 and then one byte every d.
func drip(d time.Duration) func(*testing.T) http.HandlerFunc {
	return func(*testing.T) http.HandlerFunc {
		return dripHandler(d)
	}
}

func dripHandler(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		for range 1000 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(d):
			}
		}
	}
}

func TestUploadStall(t *testing.T) {
	var got atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			waitGone(t, r) // never reads the body
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
	}))
	c := New(Options{StallTimeout: window})
	body := bytes.Repeat([]byte("y"), 64<<20)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ok", bytes.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Load() != int64(len(body)) {
		t.Fatalf("server got %d bytes, want %d", got.Load(), len(body))
	}

	start := time.Now()
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/stall", bytes.NewReader(body))
	_, err = c.Do(req)
	var se *StallError
	if !errors.As(err, &se) || se.Phase != phaseSending {
		t.Fatalf("err = %v, want a stall while sending the request body", err)
	}
	if took := time.Since(start); took > window+3*time.Second {
		t.Errorf("upload stall detected after %s", took)
	}
}

func TestContextCancelIsNotAStall(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { waitGone(t, r) }))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err, _ := get(t, New(Options{StallTimeout: 10 * time.Second}), ctx, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) || IsStall(err) {
		t.Fatalf("err = %v, want the context's error and no stall", err)
	}
}

func TestRedirectPolicy(t *testing.T) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "secure")
		case "/to-http":
			http.Redirect(w, r, plain.URL+"/ok", http.StatusFound)
		}
	}))
	defer tlsSrv.Close()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Path == "/ok":
			fmt.Fprint(w, "plain")
		case r.URL.Path == "/to-file":
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
		case r.URL.Path == "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case r.URL.Path == "/b":
			http.Redirect(w, r, "/a", http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/chain/%d", &n)
			if n == 0 {
				fmt.Fprint(w, "end")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusTemporaryRedirect)
		case r.URL.Path == "/to-https":
			http.Redirect(w, r, tlsSrv.URL+"/ok", http.StatusFound)
		}
	})
	c := New(Options{StallTimeout: 5 * time.Second, Base: tlsSrv.Client().Transport})
	tests := []struct {
		url      string
		wantBody string // "" = refused
		wantWhy  string
		wantHits int64
	}{
		{plain.URL + "/to-file", "", `the "file" scheme is not allowed`, 1},
		{plain.URL + "/a", "", "redirect loop", 2},
		{plain.URL + "/chain/10", "end", "", 11},
		{plain.URL + "/chain/11", "", "more than 10 redirects", 11},
		{tlsSrv.URL + "/to-http", "", "drops from https to plain http", 1},
		{plain.URL + "/to-https", "secure", "", 2},
	}
	for _, tt := range tests {
		hits.Store(0)
		req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
		resp, err := c.Do(req)
		if hits.Load() != tt.wantHits {
			t.Errorf("%s: the servers saw %d requests, want %d", tt.url, hits.Load(), tt.wantHits)
		}
		if tt.wantBody != "" {
			if err != nil {
				t.Errorf("%s: %v", tt.url, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tt.wantBody {
				t.Errorf("%s: body %q, want %q", tt.url, b, tt.wantBody)
			}
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: followed, want refused (%s)", tt.url, tt.wantWhy)
			continue
		}
		if !IsRedirect(err) || !strings.Contains(err.Error(), tt.wantWhy) {
			t.Errorf("%s: err = %v, want a RedirectError saying %q", tt.url, err, tt.wantWhy)
		}
	}
}
