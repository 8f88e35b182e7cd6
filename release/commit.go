package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CommitOptions configures CommitFile.
type CommitOptions struct {
	// Git is a clone of the remote; its configuration carries the push
	// credentials (actions/checkout stores them there). Its work tree, index
	// and branches are never touched.
	Git Git
	// Remote and Branch name where the file lives (default origin, main).
	Remote string
	Branch string
	// Path is the file's path in the repository (registry.json).
	Path string
	// Message is the commit message.
	Message string
	// Update returns the new content given the freshest content on the
	// branch (nil when the file does not exist yet). It is called again
	// after every rejected push, so it must be pure. Returning the same
	// bytes commits nothing.
	Update func(current []byte) ([]byte, error)
	// Derived, when set, returns more files (repository path → content)
	// computed from what Update returned, committed in the same commit
	// (registry.json's per-platform views). A derived file already equal
	// on the branch is left alone; the commit is skipped only when the
	// file and every derived file are unchanged.
	Derived func(after []byte) (map[string][]byte, error)
	// CreateBranch lets the first commit create Branch when the remote
	// answers but has no such branch (a new, empty view repository).
	CreateBranch bool
	// MaxAttempts bounds fetch-update-push rounds (default 10).
	MaxAttempts int
	// Backoff is the base of the jittered exponential backoff between
	// attempts (default 250ms; capped at 16 times the base).
	Backoff time.Duration
	// DryRun computes the update against the freshest content and stops
	// before writing any object or ref.
	DryRun bool
	// Log receives progress for people; nil discards it.
	Log io.Writer
}

// CommitResult is what CommitFile did.
type CommitResult struct {
	Commit    string `json:"commit,omitempty"` // the pushed commit ("" if unchanged or dry run)
	Parent    string `json:"parent"`           // the branch head the update was based on
	Attempts  int    `json:"attempts"`
	Unchanged bool   `json:"unchanged"` // the update produced the content already there (derived files too)
	// Files are the repository paths the commit wrote (or would write):
	// the file when it changed, and every derived file that changed.
	Files  []string `json:"files,omitempty"`
	Before []byte   `json:"-"` // the content the final attempt was based on (nil: no file)
	After  []byte   `json:"-"` // the content written (or that would be)
}

// CommitFile commits one file to a branch of a remote without ever losing
// a concurrent change: each attempt fetches the branch's head, applies
// Update to the file there, builds a commit on top of that head with git
// plumbing (a private ref, a temporary index: no work tree is touched, so
// concurrent runs in one clone are safe) and pushes it without force. A
// push rejected because the branch moved is retried from a fresh fetch,
// after a jittered exponential backoff, up to MaxAttempts times.
func CommitFile(ctx context.Context, opts CommitOptions) (*CommitResult, error) {
	if opts.Remote == "" {
		opts.Remote = "origin"
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 250 * time.Millisecond
	}
	if opts.Path == "" || opts.Update == nil {
		return nil, errors.New("commit: needs a path and an update function")
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	g := opts.Git
	ident, err := identityEnv(ctx, g)
	if err != nil {
		return nil, err
	}
	g.Env = append(append([]string(nil), g.Env...), ident...)

	res := &CommitResult{}
	var lastErr error
	for attempt := 1; attempt <= opts.MaxAttempts; attempt++ {
		res.Attempts = attempt
		if attempt > 1 {
			limit := opts.Backoff << min(attempt-2, 4)
			d := time.Duration(mrand.Int64N(int64(limit))) + opts.Backoff/2
			fmt.Fprintf(log, "push of %s rejected (the branch moved); fetching and merging again in %v (attempt %d of %d)\n",
				opts.Path, d.Round(time.Millisecond), attempt, opts.MaxAttempts)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		retry, err := commitOnce(ctx, g, opts, res)
		if err == nil {
			return res, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("commit %s to %s/%s: still rejected after %d attempts (many concurrent releases?); rerun the job: %w",
		opts.Path, opts.Remote, opts.Branch, opts.MaxAttempts, lastErr)
}

// commitOnce is one fetch-update-push round; retry reports whether a
// failure was a rejected push worth retrying.
func commitOnce(ctx context.Context, g Git, opts CommitOptions, res *CommitResult) (retry bool, err error) {
	ref := "refs/rtool/commit-" + randomHex()
	defer func() {
		_, _ = g.Run(context.WithoutCancel(ctx), "update-ref", "-d", ref)
	}()
	// --refmap= keeps git from also updating refs/remotes/<remote>/<branch>,
	// which concurrent publishers sharing one clone would race to lock.
	var parent string
	var current []byte
	if _, err := g.Run(ctx, "fetch", "-q", "--no-tags", "--no-write-fetch-head", "--refmap=", opts.Remote,
		"+refs/heads/"+opts.Branch+":"+ref); err != nil {
		if !opts.CreateBranch || !branchMissing(ctx, g, opts.Remote, opts.Branch) {
			return false, fmt.Errorf("fetch %s from %s: %w", opts.Branch, opts.Remote, err)
		}
		// A new, empty repository: the first commit starts the branch (a
		// concurrent creator makes our push fail as non-fast-forward).
	} else {
		if parent, err = g.line(ctx, "rev-parse", "--verify", ref+"^{commit}"); err != nil {
			return false, err
		}
		if current, err = readBlob(ctx, g, parent, opts.Path); err != nil {
			return false, err
		}
	}
	res.Parent = parent
	next, err := opts.Update(current)
	if err != nil {
		return false, err
	}
	res.Before, res.After = current, next
	files := map[string][]byte{}
	if current == nil || !bytes.Equal(current, next) {
		files[opts.Path] = next
	}
	if opts.Derived != nil {
		derived, err := opts.Derived(next)
		if err != nil {
			return false, err
		}
		for p, data := range derived {
			var have []byte
			if parent != "" {
				if have, err = readBlob(ctx, g, parent, p); err != nil {
					return false, err
				}
			}
			if have == nil || !bytes.Equal(have, data) {
				files[p] = data
			}
		}
	}
	res.Files = sortedKeys(files)
	if len(files) == 0 {
		res.Unchanged = true
		return false, nil
	}
	if opts.DryRun {
		return false, nil
	}
	blobs := map[string]string{}
	for p, data := range files {
		blobOut, err := g.RunInput(ctx, bytes.NewReader(data), "hash-object", "-w", "--stdin")
		if err != nil {
			return false, fmt.Errorf("store %s: %w", p, err)
		}
		blobs[p] = strings.TrimSpace(blobOut)
	}
	tree, err := treeWith(ctx, g, parent, blobs)
	if err != nil {
		return false, err
	}
	args := []string{"commit-tree", tree, "-F", "-"}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	commitOut, err := g.RunInput(ctx, strings.NewReader(opts.Message), args...)
	if err != nil {
		return false, fmt.Errorf("commit %s: %w", opts.Path, err)
	}
	commit := strings.TrimSpace(commitOut)
	// Pushing to the remote's URL rather than its name leaves the
	// remote-tracking ref alone, for the same reason as --refmap= above.
	target := opts.Remote
	if url, err := g.line(ctx, "remote", "get-url", opts.Remote); err == nil && url != "" {
		target = url
	}
	if _, err := g.Run(ctx, "push", "-q", target, commit+":refs/heads/"+opts.Branch); err != nil {
		return isRejectedPush(err), fmt.Errorf("push %s to %s/%s: %w", short(commit), opts.Remote, opts.Branch, err)
	}
	res.Commit = commit
	return false, nil
}

// fetchFile returns the file at path on the head of remote's branch, or
// nil when there is none, fetching into a private ref (see commitOnce).
func fetchFile(ctx context.Context, g Git, remote, branch, path string) ([]byte, error) {
	ref := "refs/rtool/read-" + randomHex()
	defer func() {
		_, _ = g.Run(context.WithoutCancel(ctx), "update-ref", "-d", ref)
	}()
	if _, err := g.Run(ctx, "fetch", "-q", "--no-tags", "--no-write-fetch-head", "--refmap=", remote,
		"+refs/heads/"+branch+":"+ref); err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", branch, remote, err)
	}
	head, err := g.line(ctx, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return nil, err
	}
	return readBlob(ctx, g, head, path)
}

// branchMissing reports whether remote answers and has no such branch.
func branchMissing(ctx context.Context, g Git, remote, branch string) bool {
	out, err := g.Run(ctx, "ls-remote", "--heads", remote, "refs/heads/"+branch)
	return err == nil && strings.TrimSpace(out) == ""
}

// readBlob returns the file at path in commit, or nil when there is none.
func readBlob(ctx context.Context, g Git, commit, path string) ([]byte, error) {
	ls, err := g.Run(ctx, "ls-tree", "-z", commit, "--", path)
	if err != nil {
		return nil, err
	}
	if ls == "" {
		return nil, nil
	}
	meta, _, _ := strings.Cut(ls, "\t")
	f := strings.Fields(meta)
	if len(f) != 3 || f[1] != "blob" {
		return nil, fmt.Errorf("%s at %s is not a file", path, short(commit))
	}
	out, err := g.Run(ctx, "cat-file", "blob", f[2])
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// treeWith returns the tree of commit with each path replaced by its
// blob, built in a temporary index so the repository's own index is not
// touched.
func treeWith(ctx context.Context, g Git, commit string, blobs map[string]string) (string, error) {
	gitDir, err := g.line(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(gitDir, "rtool-index-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	os.Remove(tmp.Name()) // git wants to create it
	defer os.Remove(tmp.Name())
	env := []string{"GIT_INDEX_FILE=" + tmp.Name()}
	readTree := []string{"read-tree", "--empty"}
	if commit != "" {
		readTree = []string{"read-tree", commit}
	}
	if _, err := g.run(ctx, nil, env, readTree...); err != nil {
		return "", err
	}
	for _, path := range sortedKeys(blobs) {
		if _, err := g.run(ctx, nil, env, "update-index", "--add", "--cacheinfo", "100644,"+blobs[path]+","+filepath.ToSlash(path)); err != nil {
			return "", err
		}
	}
	out, err := g.run(ctx, nil, env, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// isRejectedPush reports whether a push failed because the branch moved
// (or was being moved) under us, which a fresh fetch and merge fixes.
func isRejectedPush(err error) bool {
	var ge *gitError
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.Stderr
	for _, m := range []string{"[rejected]", "non-fast-forward", "fetch first", "cannot lock ref",
		"failed to update ref", "stale info", "incorrect old value"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// identityEnv returns a committer identity for git when the repository has
// none configured (a fresh CI runner), so commit-tree does not fail.
func identityEnv(ctx context.Context, g Git) ([]string, error) {
	if _, err := g.Run(ctx, "var", "GIT_COMMITTER_IDENT"); err == nil {
		if _, err := g.Run(ctx, "var", "GIT_AUTHOR_IDENT"); err == nil {
			return nil, nil
		}
	}
	const name, email = "github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"
	return []string{"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email}, nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
