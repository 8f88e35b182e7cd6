// Package flock takes advisory flock(2) locks on files or directories,
// waiting in a way a context can interrupt, and removes lock files safely:
// a lock file may be unlinked by its holder, and an acquirer that locked a
// file which was unlinked meanwhile notices and tries again, so two holders
// never hold "the same" lock through different inodes.
//
// flock locks belong to the open file description, so two lockers in one
// process exclude each other like two processes do.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Mode is the kind of lock.
type Mode int

const (
	// Exclusive admits one holder.
	Exclusive Mode = unix.LOCK_EX
	// Shared admits any number of shared holders and no exclusive one.
	Shared Mode = unix.LOCK_SH
)

// Lock is a held lock.
type Lock struct {
	f    *os.File
	path string
}

// Path is the locked file or directory.
func (l *Lock) Path() string { return l.path }

// Acquire locks path (a file, created if missing, or an existing
// directory), waiting until it is free or ctx is done. onWait, if not nil,
// is called once when the lock is busy.
func Acquire(ctx context.Context, path string, mode Mode, onWait func()) (*Lock, error) {
	delay := 5 * time.Millisecond
	waited := false
	for {
		l, busy, err := try(path, mode)
		if err != nil {
			return nil, err
		}
		if !busy {
			return l, nil
		}
		if !waited && onWait != nil {
			onWait()
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// TryAcquire locks path without waiting; ok is false when it is held.
func TryAcquire(path string, mode Mode) (l *Lock, ok bool, err error) {
	l, busy, err := try(path, mode)
	return l, err == nil && !busy, err
}

// try makes one attempt; busy reports a lock held by someone else (or a
// file unlinked under us, which is worth another attempt at once).
func try(path string, mode Mode) (*Lock, bool, error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
		if errors.Is(err, syscall.EISDIR) {
			f, err = os.Open(path)
		}
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		l, busy, err := lockOpened(f, path, mode)
		if !errors.Is(err, errStale) {
			return l, busy, err
		}
		// the holder before us removed the file: lock the new one
	}
}

// errStale says the file locked is no longer the one path names.
var errStale = errors.New("lock file was replaced")

// lockOpened locks f, opened from path, and checks that path still names
// f; it closes f unless it returns the lock.
func lockOpened(f *os.File, path string, mode Mode) (*Lock, bool, error) {
	err := unix.Flock(int(f.Fd()), int(mode)|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
		f.Close()
		return nil, true, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if !sameFile(f, path) {
		f.Close()
		return nil, false, errStale
	}
	return &Lock{f: f, path: path}, false, nil
}

func sameFile(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	return err == nil && os.SameFile(held, now)
}

// Release unlocks and closes. It is safe to call more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// ReleaseAndRemove unlinks the lock file while still holding it, then
// releases it, so no lock file is left behind. Use it only on exclusive
// locks of files.
func (l *Lock) ReleaseAndRemove() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path)
	l.Release()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove lock %s: %w", l.path, err)
	}
	return nil
}
