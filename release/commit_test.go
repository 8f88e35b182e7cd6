package release

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// appendLine is a pure update: add line to a sorted set of lines.
func appendLine(line string) func([]byte) ([]byte, error) {
	return func(cur []byte) ([]byte, error) {
		lines := strings.Fields(string(cur))
		for _, l := range lines {
			if l == line {
				return cur, nil
			}
		}
		lines = append(lines, line)
		sort.Strings(lines)
		return []byte(strings.Join(lines, "\n") + "\n"), nil
	}
}

func remoteFile(t *testing.T, r *testRepo, path string) string {
	t.Helper()
	out, err := (Git{Dir: r.Remote, Env: r.Env}).Run(context.Background(), "show", "refs/heads/main:"+path)
	if err != nil {
		return ""
	}
	return out
}

func TestCommitFileConcurrentNeverLosesAnUpdate(t *testing.T) {
	for _, sameClone := range []bool{false, true} {
		t.Run(fmt.Sprintf("sameClone=%v", sameClone), func(t *testing.T) {
			r := newTestRepo(t)
			const n = 8
			clones := make([]Git, n)
			for i := range clones {
				if sameClone {
					clones[i] = r.Work
				} else {
					clones[i] = r.clone(t)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			results := make([]*CommitResult, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					results[i], errs[i] = CommitFile(context.Background(), CommitOptions{
						Git: clones[i], Path: "list.txt", Message: fmt.Sprintf("add %d", i),
						Update: appendLine(fmt.Sprintf("line-%d", i)), Backoff: 20 * time.Millisecond, MaxAttempts: 30,
					})
				}(i)
			}
			wg.Wait()
			retried := 0
			for i, err := range errs {
				if err != nil {
					t.Fatalf("publisher %d: %v", i, err)
				}
				if results[i].Attempts > 1 {
					retried++
				}
			}
			got := strings.Fields(remoteFile(t, r, "list.txt"))
			if len(got) != n {
				t.Fatalf("remote list.txt has %d lines, want %d: %v", len(got), n, got)
			}
			// n commits on top of the initial one, linear, no force
			if count := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-list", "--count", "main"); count != fmt.Sprint(n+1) {
				t.Fatalf("main has %s commits, want %d", count, n+1)
			}
			t.Logf("%d of %d commits were retried after a rejected push", retried, n)
			// private refs are cleaned up and the work tree is untouched
			if refs := mustGit(t, r.Work, "for-each-ref", "refs/rtool/"); refs != "" {
				t.Fatalf("leftover refs: %s", refs)
			}
			if st := mustGit(t, r.Work, "status", "--porcelain"); st != "" {
				t.Fatalf("work tree changed: %s", st)
			}
		})
	}
}

func TestCommitFileUnchangedDryRunAndErrors(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	opts := CommitOptions{Git: r.Work, Path: "data/list.txt", Message: "add a", Update: appendLine("a")}
	res, err := CommitFile(ctx, opts)
	if err != nil || res.Commit == "" || res.Before != nil {
		t.Fatalf("first commit %+v, %v", res, err)
	}
	if got := remoteFile(t, r, "data/list.txt"); got != "a\n" {
		t.Fatalf("remote file %q", got)
	}
	head := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main")
	if msg := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "log", "-1", "--format=%s", "main"); msg != "add a" {
		t.Fatalf("commit message %q", msg)
	}

	res, err = CommitFile(ctx, opts)
	if err != nil || !res.Unchanged || res.Commit != "" {
		t.Fatalf("re-run %+v, %v; want unchanged", res, err)
	}
	opts.Update, opts.DryRun = appendLine("b"), true
	res, err = CommitFile(ctx, opts)
	if err != nil || string(res.After) != "a\nb\n" || string(res.Before) != "a\n" || res.Commit != "" {
		t.Fatalf("dry run %+v, %v", res, err)
	}
	if now := mustGit(t, Git{Dir: r.Remote, Env: r.Env}, "rev-parse", "main"); now != head {
		t.Fatal("a re-run or dry run moved the branch")
	}

	boom := errors.New("history guard: version 1.0.0 lost")
	calls := 0
	_, err = CommitFile(ctx, CommitOptions{Git: r.Work, Path: "data/list.txt", Message: "x",
		Update: func([]byte) ([]byte, error) { calls++; return nil, boom }})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("update error: %v after %d calls; want it returned at once", err, calls)
	}
	_, err = CommitFile(ctx, CommitOptions{Git: r.Work, Branch: "no-such-branch", Path: "x", Message: "x", Update: appendLine("a")})
	if err == nil || !strings.Contains(err.Error(), "no-such-branch") {
		t.Fatalf("missing branch: %v", err)
	}
}

func TestCommitFileGivesUpAfterMaxAttempts(t *testing.T) {
	r := newTestRepo(t)
	other := r.clone(t)
	calls := 0
	// every round, someone else pushes first
	_, err := CommitFile(context.Background(), CommitOptions{Git: r.Work, Path: "f", Message: "x", MaxAttempts: 3, Backoff: time.Millisecond,
		Update: func(cur []byte) ([]byte, error) {
			calls++
			if _, err := CommitFile(context.Background(), CommitOptions{Git: other, Path: "g", Message: "y",
				Update: appendLine(fmt.Sprint("other-", calls))}); err != nil {
				return nil, err
			}
			return appendLine("mine")(cur)
		}})
	if err == nil || !strings.Contains(err.Error(), "3 attempts") || calls != 3 {
		t.Fatalf("err = %v after %d calls, want giving up after 3 attempts", err, calls)
	}
}
