package release

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testStall = time.Second

// misbehaving wraps the fake GitHub: bad(r, n) sees every request with the
// count of requests for its "METHOD path" and may answer it itself.
func misbehaving(t *testing.T, f *fakeGitHub, bad func(w http.ResponseWriter, r *http.Request, n int) bool) (count func(method, pathSuffix string) int) {
	inner := f.srv.Config.Handler
	var mu sync.Mutex
	seen := map[string]int{}
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		key := r.Method + " " + r.URL.Path
		seen[key]++
		n := seen[key]
		mu.Unlock()
		if bad(w, r, n) {
			return
		}
		inner.ServeHTTP(w, r)
	})
	return func(method, suffix string) int {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for k, v := range seen {
			if strings.HasPrefix(k, method+" ") && strings.HasSuffix(k, suffix) {
				total += v
			}
		}
		return total
	}
}

func stallPublisher(t *testing.T, f *fakeGitHub) *GitHubPublisher {
	t.Helper()
	p, err := NewGitHubPublisher(GitHubOptions{Repo: f.owner + "/" + f.repo, Token: f.token, APIURL: f.srv.URL,
		StallTimeout: testStall, RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// hang blocks a handler until its client has gone or the test ends.
func hang(t *testing.T, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-t.Context().Done():
	}
}

func TestGitHubClientStallsAndRetries(t *testing.T) {
	const byTag = "/releases/tags/x@1.0.0"
	tests := []struct {
		name string
		bad  func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool
		// want: "" = the publish succeeds
		want string
		// requests expected per "METHOD suffix"
		wantCalls map[string]int
		maxTook   time.Duration
	}{
		{"GET never answered: 3 attempts, then fail", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if strings.HasSuffix(r.URL.Path, byTag) {
					hang(t, r)
					return true
				}
				return false
			}
		}, "no response within 1s", map[string]int{"GET " + byTag: 3}, 3*testStall + 6*time.Second},
		{"GET body drips: fails within the window", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if !strings.HasSuffix(r.URL.Path, byTag) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				for _, b := range []byte(`{"id": 1, "tag_name": "x@1.0.0"}`) {
					w.Write([]byte{b})
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return true
					case <-time.After(time.Second):
					}
				}
				return true
			}
		}, "less than 32 KiB moved in 1s", map[string]int{"GET " + byTag: 1}, testStall + 5*time.Second},
		{"GET 502 twice, then fine", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if strings.HasSuffix(r.URL.Path, byTag) && n <= 2 {
					http.Error(w, "bad gateway", http.StatusBadGateway)
					return true
				}
				return false
			}
		}, "", map[string]int{"GET " + byTag: 3, "POST /assets": 1}, 8 * time.Second},
		{"GET 429 with a long Retry-After is not waited for", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if strings.HasSuffix(r.URL.Path, byTag) {
					w.Header().Set("Retry-After", "3600")
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return true
				}
				return false
			}
		}, "429", map[string]int{"GET " + byTag: 1}, 5 * time.Second},
		{"upload 502 is not retried", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets") {
					http.Error(w, "bad gateway", http.StatusBadGateway)
					return true
				}
				return false
			}
		}, "502", map[string]int{"POST /assets": 1}, 5 * time.Second},
		{"upload never read: stall while sending", func(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) bool {
			return func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets") {
					hang(t, r)
					return true
				}
				return false
			}
		}, "stalled while", map[string]int{"POST /assets": 1}, testStall + 5*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t)
			count := misbehaving(t, f, tt.bad(t))
			p := stallPublisher(t, f)
			assets := testAssets(t, 1, "x@1.0.0")
			if strings.Contains(tt.name, "upload never read") {
				// big enough to fill the socket buffers
				assets = []Asset{newTestAsset(t, t.TempDir(), "big.tar.gz", strings.Repeat("z", 64<<20))}
			}
			start := time.Now()
			_, err := p.Publish(context.Background(), ReleaseRequest{Tag: "x@1.0.0", Assets: assets})
			took := time.Since(start)
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Publish = %v; want an error saying %q", err, tt.want)
			}
			if testing.Verbose() && err != nil {
				t.Log(err)
			}
			for k, want := range tt.wantCalls {
				method, suffix, _ := strings.Cut(k, " ")
				if got := count(method, suffix); got != want {
					t.Errorf("%d requests %s, want %d", got, k, want)
				}
			}
			if took > tt.maxTook {
				t.Errorf("took %s, want at most %s", took, tt.maxTook)
			}
		})
	}
}

// Downloading an asset back (no digest field) follows the redirect policy,
// and a refused redirect is not retried.
func TestGitHubDownloadRedirectPolicy(t *testing.T) {
	f := newFakeGitHub(t)
	f.noDigest = true
	var storage atomic.Int64
	misbehaving(t, f, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasPrefix(r.URL.Path, "/storage/") {
			storage.Add(1)
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
			return true
		}
		return false
	})
	p := stallPublisher(t, f)
	_, err := p.Publish(context.Background(), ReleaseRequest{Tag: "y@1.0.0", Assets: testAssets(t, 1, "y@1.0.0")})
	if err == nil || !strings.Contains(err.Error(), `redirect from`) || !strings.Contains(err.Error(), `"file" scheme is not allowed`) {
		t.Fatalf("Publish = %v; want the redirect to file:// refused", err)
	}
	if n := storage.Load(); n != 1 {
		t.Errorf("%d requests to the storage URL, want 1 (a refused redirect is not retried)", n)
	}
}
