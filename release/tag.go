package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/joblet/rtool/schema"
)

// TagOptions configures CreateTag (rtool release NAME).
type TagOptions struct {
	// Git is the repository the tag is created in; Git.Dir is its work tree.
	Git Git
	// RuntimeDir is the runtime's directory (runtimes/NAME), absolute or
	// relative to the current directory.
	RuntimeDir string
	// Name is the runtime name; it must equal the manifest's name.
	Name string
	// Remote is the remote the tag is checked against and pushed to
	// (default origin).
	Remote string
	// Force recreates an existing tag, after confirmation.
	Force bool
	// Yes confirms Force without asking.
	Yes bool
	// DryRun prints what would happen and changes nothing.
	DryRun bool
	// Interactive says a person can answer Confirm (stdin is a terminal).
	// Without it, Force needs Yes: a release never waits on stdin.
	Interactive bool
	// Confirm asks a yes/no question; used only when Interactive.
	Confirm func(prompt string) (bool, error)
	// Validate, when set, checks the runtime directory first; its error is
	// returned as is (the validate diagnostics).
	Validate func(ctx context.Context, dir string) error
	// Log receives progress for people (stderr); nil discards it.
	Log io.Writer
}

// TagInfo describes an existing tag.
type TagInfo struct {
	Where  string `json:"where"`  // "local" or "remote <name>"
	Object string `json:"object"` // the tag's object (annotated tag object or commit)
	Commit string `json:"commit"` // the commit it points to
	Author string `json:"author"` // tagger of an annotated tag, else the commit's author
	Date   string `json:"date"`   // tag date of an annotated tag, else the commit's author date
}

func (i TagInfo) String() string {
	return fmt.Sprintf("%s: commit %s by %s on %s", i.Where, i.Commit, i.Author, i.Date)
}

// TagExistsError refuses to create a tag that is already there.
type TagExistsError struct {
	Tag      string
	Existing []TagInfo
}

func (e *TagExistsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tag %s already exists", e.Tag)
	for _, i := range e.Existing {
		fmt.Fprintf(&b, "\n  %s", i)
	}
	fmt.Fprintf(&b, "\nbump the version in manifest.yaml, or recreate the tag with --force (asks first; --yes skips the question)")
	return b.String()
}

// DirtyError refuses a runtime directory with uncommitted changes.
type DirtyError struct {
	Dir   string
	Files []string // git status --porcelain lines
}

func (e *DirtyError) Error() string {
	return fmt.Sprintf("%s has uncommitted changes; commit or discard them before releasing:\n  %s",
		e.Dir, strings.Join(e.Files, "\n  "))
}

// TagResult is what CreateTag did (or, with DryRun, would do).
type TagResult struct {
	Tag       string    `json:"tag"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Platforms []string  `json:"platforms"`
	Commit    string    `json:"commit"`             // the commit tagged (HEAD)
	Message   string    `json:"message"`            // the annotated tag's message
	Replaced  []TagInfo `json:"replaced,omitempty"` // tags recreated with Force
	Actions   []string  `json:"actions"`            // the git commands run (or that would run)
	DryRun    bool      `json:"dry_run"`
}

// TagMessage is the annotated tag message for a release.
func TagMessage(m *schema.Manifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n\nRuntime: %s\nVersion: %s\nPlatforms:\n", m.Name, m.Version, m.Name, m.Version)
	for _, p := range m.Platforms {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	return b.String()
}

// ReadManifest reads and checks dir/manifest.yaml (see schema.ReadManifest).
func ReadManifest(dir string) (*schema.Manifest, error) { return schema.ReadManifest(dir) }

// CreateTag validates the runtime, refuses uncommitted changes to it and
// existing tags (unless forced and confirmed), then creates the annotated
// tag NAME@VERSION on HEAD and pushes it to the remote.
func CreateTag(ctx context.Context, opts TagOptions) (*TagResult, error) {
	if opts.Remote == "" {
		opts.Remote = "origin"
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	g := opts.Git
	dir, err := filepath.Abs(opts.RuntimeDir)
	if err != nil {
		return nil, err
	}
	if opts.Validate != nil {
		if err := opts.Validate(ctx, dir); err != nil {
			return nil, err
		}
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if opts.Name != "" && m.Name != opts.Name {
		return nil, fmt.Errorf("%s: name is %q but the runtime asked for is %q; the directory name and the manifest name must agree",
			filepath.Join(dir, "manifest.yaml"), m.Name, opts.Name)
	}
	tag := schema.Tag{Name: m.Name, Version: m.Version}.String()
	res := &TagResult{Tag: tag, Name: m.Name, Version: m.Version, Platforms: m.Platforms,
		Message: TagMessage(m), DryRun: opts.DryRun}

	status, err := g.Run(ctx, "status", "--porcelain", "--", dir)
	if err != nil {
		return nil, fmt.Errorf("check %s for uncommitted changes: %w", dir, err)
	}
	if s := strings.TrimRight(status, "\n"); s != "" {
		return nil, &DirtyError{Dir: dir, Files: strings.Split(s, "\n")}
	}
	head, err := g.line(ctx, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("find HEAD: %w", err)
	}
	res.Commit = head

	existing, err := findTag(ctx, g, opts.Remote, tag)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if !opts.Force {
			return nil, &TagExistsError{Tag: tag, Existing: existing}
		}
		if !opts.Yes && !opts.DryRun {
			if !opts.Interactive || opts.Confirm == nil {
				return nil, fmt.Errorf("%w\n--force needs confirmation and there is no terminal to ask on: add --yes",
					&TagExistsError{Tag: tag, Existing: existing})
			}
			ok, err := opts.Confirm(fmt.Sprintf("Tag %s exists (%s). Move it to %s and force-push it to %s?",
				tag, existing[0], short(head), opts.Remote))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errors.New("not confirmed; nothing changed")
			}
		}
		res.Replaced = existing
	}

	tagArgs := []string{"tag", "-a", "-F", "-", tag, head}
	pushArgs := []string{"push", opts.Remote, "refs/tags/" + tag + ":refs/tags/" + tag}
	if len(existing) > 0 {
		tagArgs = []string{"tag", "-a", "-f", "-F", "-", tag, head}
		pushArgs = []string{"push", "--force", opts.Remote, "refs/tags/" + tag + ":refs/tags/" + tag}
	}
	res.Actions = []string{"git " + strings.Join(tagArgs, " "), "git " + strings.Join(pushArgs, " ")}
	if opts.DryRun {
		fmt.Fprintf(log, "dry run: would tag %s at %s and push it to %s\n", tag, short(head), opts.Remote)
		return res, nil
	}
	if _, err := g.RunInput(ctx, strings.NewReader(res.Message), tagArgs...); err != nil {
		return nil, fmt.Errorf("create tag %s: %w", tag, err)
	}
	fmt.Fprintf(log, "tagged %s at %s\n", tag, short(head))
	if _, err := g.Run(ctx, pushArgs...); err != nil {
		return res, fmt.Errorf("push tag %s to %s (the local tag exists; rerun to push, or delete it with git tag -d %s): %w",
			tag, opts.Remote, tag, err)
	}
	fmt.Fprintf(log, "pushed %s to %s\n", tag, opts.Remote)
	return res, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// findTag looks for tag locally and on the remote and describes each.
func findTag(ctx context.Context, g Git, remote, tag string) ([]TagInfo, error) {
	var found []TagInfo
	ref := "refs/tags/" + tag
	if obj, err := g.line(ctx, "rev-parse", "-q", "--verify", ref); err == nil && obj != "" {
		info, err := describeTag(ctx, g, obj)
		if err != nil {
			return nil, err
		}
		info.Where = "local"
		found = append(found, info)
	}
	out, err := g.Run(ctx, "ls-remote", "--tags", remote, ref)
	if err != nil {
		return nil, fmt.Errorf("list tags on remote %s: %w", remote, err)
	}
	var obj string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == ref {
			obj = f[0]
		}
	}
	if obj != "" {
		if _, err := g.Run(ctx, "cat-file", "-e", obj); err != nil {
			// fetch the objects only: no ref, no FETCH_HEAD is written
			if _, err := g.Run(ctx, "fetch", "--no-write-fetch-head", "--no-tags", "--refmap=", remote, ref); err != nil {
				return nil, fmt.Errorf("fetch tag %s from %s to describe it: %w", tag, remote, err)
			}
		}
		info, err := describeTag(ctx, g, obj)
		if err != nil {
			return nil, err
		}
		info.Where = "remote " + remote
		found = append(found, info)
	}
	return found, nil
}

// describeTag returns the commit, author and date of a tag object or commit.
func describeTag(ctx context.Context, g Git, obj string) (TagInfo, error) {
	info := TagInfo{Object: obj}
	typ, err := g.line(ctx, "cat-file", "-t", obj)
	if err != nil {
		return info, err
	}
	commit, err := g.line(ctx, "rev-parse", "--verify", obj+"^{commit}")
	if err != nil {
		return info, err
	}
	info.Commit = commit
	if typ == "tag" {
		body, err := g.Run(ctx, "cat-file", "tag", obj)
		if err != nil {
			return info, err
		}
		for _, l := range strings.Split(body, "\n") {
			if rest, ok := strings.CutPrefix(l, "tagger "); ok {
				if i := strings.LastIndex(rest, "> "); i >= 0 {
					info.Author = rest[:i+1]
					info.Date = formatGitDate(rest[i+2:])
				}
				break
			}
			if l == "" {
				break
			}
		}
	}
	if info.Author == "" {
		out, err := g.line(ctx, "log", "-1", "--format=%an <%ae>%x00%aI", commit)
		if err != nil {
			return info, err
		}
		info.Author, info.Date, _ = strings.Cut(out, "\x00")
	}
	return info, nil
}
