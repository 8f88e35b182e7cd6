package consumer

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// stallWindow is the stall timeout the tests use instead of 30 s.
const stallWindow = time.Second

// waitGone blocks a handler until its client has gone or the test ends.
func waitGone(t *testing.T, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-t.Context().Done():
	}
}

// stallAfterHalf sends the headers and half the artifact, then nothing.
func stallAfterHalf(t *testing.T, w http.ResponseWriter, r *http.Request, data []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data[:len(data)/2])
	w.(http.Flusher).Flush()
	waitGone(t, r)
}

// dripBytes sends the headers, then one byte a second.
func dripBytes(t *testing.T, w http.ResponseWriter, r *http.Request, data []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	for _, b := range data {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// silent never answers.
func silent(t *testing.T, w http.ResponseWriter, r *http.Request, _ []byte) { waitGone(t, r) }

// stallingFixture serves the demo registry; the first bad requests for the
// artifact get misbehave instead of the file. arrived receives each
// artifact request.
func stallingFixture(t *testing.T, bad int64, misbehave func(*testing.T, http.ResponseWriter, *http.Request, []byte)) (*fixture, *atomic.Int64, chan struct{}) {
	t.Helper()
	art := "/" + schema.ArtifactName("demo", "1.0.0", plat)
	var seen atomic.Int64
	arrived := make(chan struct{}, 100)
	var f *fixture
	f = newFixture(t, func(w http.ResponseWriter, r *http.Request, _ int64) bool {
		if r.URL.Path != art {
			return false
		}
		n := seen.Add(1)
		arrived <- struct{}{}
		if n > bad {
			return false
		}
		data, err := os.ReadFile(filepath.Join(f.dir, art))
		if err != nil {
			t.Error(err)
		}
		misbehave(t, w, r, data)
		return true
	}, "1.0.0")
	return f, &seen, arrived
}

func (f *fixture) stallOpts() InstallOptions {
	o := f.opts()
	o.Sources.StallTimeout = stallWindow
	o.Retry = Retry{Attempts: 3, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	return o
}

func TestInstallStalledDownloadGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		misbehave func(*testing.T, http.ResponseWriter, *http.Request, []byte)
		phase     string
	}{
		{"server stops sending", stallAfterHalf, "receiving the response body"},
		{"server drips 1 byte/s", dripBytes, "receiving the response body"},
		{"server never answers", silent, "connecting or waiting for the response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, seen, _ := stallingFixture(t, 3, tt.misbehave)
			start := time.Now()
			_, err := Install(context.Background(), "demo@1.0.0", f.stallOpts())
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "stalled while "+tt.phase) {
				t.Fatalf("Install = %v; want giving up after 3 attempts on a stall while %s", err, tt.phase)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if n := seen.Load(); n != 3 {
				t.Errorf("the server saw %d artifact requests, want 3 (the configured attempts)", n)
			}
			// three windows of 1 s, plus backoff and scheduling
			if took < 3*stallWindow || took > 3*stallWindow+6*time.Second {
				t.Errorf("gave up after %s, want about %s", took, 3*stallWindow)
			}
			if got := rootEntries(t, f.root); len(got) != 0 {
				t.Errorf("the failed install left %v (staging or lock)", got)
			}
			// nothing half-installed, no lock held: the next install proceeds
			got, err := Install(context.Background(), "demo@1.0.0", f.stallOpts())
			if err != nil || got.AlreadyInstalled || got.Attempts != 1 {
				t.Fatalf("install after the stall = %+v, %v", got, err)
			}
		})
	}
}

// A second installer of the same version waits for the lock, says so, and
// proceeds as soon as the stalled one gives up.
func TestInstallWaiterProceedsAfterStalledHolder(t *testing.T) {
	t.Parallel()
	f, seen, arrived := stallingFixture(t, 3, stallAfterHalf)
	var wg sync.WaitGroup
	var errA error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errA = Install(context.Background(), "demo@1.0.0", f.stallOpts())
	}()
	<-arrived // A holds the lock and is downloading
	var mu sync.Mutex
	var warnings []string
	o := f.stallOpts()
	o.Warn = func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() }
	start := time.Now()
	got, err := Install(context.Background(), "demo@1.0.0", o)
	took := time.Since(start)
	wg.Wait()
	if errA == nil || !strings.Contains(errA.Error(), "stalled") {
		t.Errorf("first installer: %v, want a stall", errA)
	}
	if err != nil || got.AlreadyInstalled {
		t.Fatalf("second installer: %+v, %v", got, err)
	}
	if took > 3*stallWindow+6*time.Second {
		t.Errorf("the second installer waited %s", took)
	}
	if n := seen.Load(); n != 4 {
		t.Errorf("%d artifact requests, want 3 stalled + 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) == 0 || !strings.Contains(warnings[0], "waiting for another installer of demo") {
		t.Errorf("warnings %q; want one saying what it waits for", warnings)
	}
}

// The lock wait honours the context.
func TestInstallLockWaitHonoursContext(t *testing.T) {
	t.Parallel()
	f, _, arrived := stallingFixture(t, 1, silent)
	o := f.stallOpts()
	o.Retry.Attempts = 1
	done := make(chan struct{})
	go func() {
		defer close(done)
		Install(context.Background(), "demo@1.0.0", o)
	}()
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Install(ctx, "demo@1.0.0", o)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || time.Since(start) > 3*time.Second {
		t.Fatalf("waiting installer = %v after %s; want the context's error at once", err, time.Since(start))
	}
	<-done
}

func TestRegistryFetchStalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		misbehave func(*testing.T, http.ResponseWriter, *http.Request, []byte)
		want      string
	}{
		{"no answer", silent, "no response within 1s"},
		{"1 byte/s", dripBytes, "less than 32 KiB moved in 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeRegistry(t, filepath.Join(dir, "registry.json"), newRegistry())
			var hits atomic.Int64
			srv := serveDir(t, dir, func(w http.ResponseWriter, r *http.Request, _ int64) bool {
				hits.Add(1)
				data, _ := os.ReadFile(filepath.Join(dir, "registry.json"))
				tt.misbehave(t, w, r, data)
				return true
			})
			s := Sources{StallTimeout: stallWindow, Retry: Retry{Attempts: 2, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}}
			start := time.Now()
			_, err := s.FetchAll(context.Background(), []Source{{Name: "mirror", Location: srv.URL + "/"}}, nil)
			took := time.Since(start)
			for _, want := range []string{`failed to fetch registry "mirror" (` + srv.URL + "/registry.json)", "giving up after 2 attempts", tt.want} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("FetchAll = %v; want it to say %q", err, want)
				}
			}
			if hits.Load() != 2 {
				t.Errorf("%d requests, want 2", hits.Load())
			}
			if took < 2*stallWindow || took > 2*stallWindow+5*time.Second {
				t.Errorf("took %s, want about %s", took, 2*stallWindow)
			}
		})
	}
}
