package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestExclusiveAndShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	ctx := context.Background()
	a, err := Acquire(ctx, path, Exclusive, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := TryAcquire(path, Exclusive); ok || err != nil {
		t.Fatalf("second exclusive lock: ok=%v err=%v, want busy", ok, err)
	}
	if _, ok, _ := TryAcquire(path, Shared); ok {
		t.Fatal("shared lock granted while an exclusive one is held")
	}
	a.Release()
	a.Release() // twice is fine
	s1, ok1, _ := TryAcquire(path, Shared)
	s2, ok2, _ := TryAcquire(path, Shared)
	if !ok1 || !ok2 {
		t.Fatal("two shared locks must coexist")
	}
	if _, ok, _ := TryAcquire(path, Exclusive); ok {
		t.Fatal("exclusive lock granted while shared ones are held")
	}
	s1.Release()
	s2.Release()
}

func TestAcquireWaitsAndHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	held, err := Acquire(context.Background(), path, Exclusive, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	waited := 0
	if _, err := Acquire(ctx, path, Exclusive, func() { waited++ }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire on a held lock = %v, want deadline exceeded", err)
	}
	if waited != 1 {
		t.Errorf("onWait called %d times, want once", waited)
	}
	go func() { time.Sleep(30 * time.Millisecond); held.Release() }()
	l, err := Acquire(context.Background(), path, Exclusive, nil)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	l.Release()
}

func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(context.Background(), dir, Exclusive, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := TryAcquire(dir, Exclusive); ok {
		t.Fatal("directory locked twice")
	}
	l.Release()
}

// An acquirer that opened the lock file just before its holder removed it
// must not count the lock on that unlinked file as held: another acquirer
// creates and locks the new file, and the two would both "hold" the lock.
func TestLockOnRemovedFileIsStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder, err := Acquire(context.Background(), path, Exclusive, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := os.OpenFile(path, os.O_RDWR, 0) // the racing acquirer's open
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.ReleaseAndRemove(); err != nil {
		t.Fatal(err)
	}
	next, ok, err := TryAcquire(path, Exclusive) // creates and locks a new file
	if !ok || err != nil {
		t.Fatalf("TryAcquire after removal: ok=%v err=%v", ok, err)
	}
	defer next.Release()
	if l, _, err := lockOpened(opened, path, Exclusive); !errors.Is(err, errStale) {
		l.Release()
		t.Fatalf("lock on the removed file = %v, want errStale", err)
	}
}

// Holders that remove the lock file on release never overlap with
// acquirers that opened the old file (a stress run of the same property).
func TestReleaseAndRemoveNeverAdmitsTwoHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				l, err := Acquire(context.Background(), path, Exclusive, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(100 * time.Microsecond) // widen the window an overlap needs
				inside.Add(-1)
				if err := l.ReleaseAndRemove(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d overlapping holders", n)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind: %v", err)
	}
}
