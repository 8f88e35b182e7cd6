package builder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/joblet/rtool/internal/intoto"
	"github.com/joblet/rtool/internal/sbom"
)

// provenancePath is where an artifact's in-toto statement is written.
func provenancePath(artifact string) string { return artifact + intoto.Suffix }

func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// runtimeSource describes the runtime directory for the provenance: its
// git tree hash as built, its path in the repository, and, when that tree
// is exactly the tree of the last commit touching the directory, that
// commit and the repository (repo, or the origin remote without
// credentials, or the work tree's path). Outside git only the tree hash
// and the directory's name are known.
type runtimeSource struct {
	Dir, Tree, Repository, Commit string
	Note                          string // why no commit is recorded
}

func describeSource(ctx context.Context, dir, repo string) (runtimeSource, error) {
	tree, err := intoto.GitTree(dir)
	if err != nil {
		return runtimeSource{}, err
	}
	src := runtimeSource{Dir: filepath.Base(dir), Tree: tree}
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		if cmd.Run() != nil {
			return "", false
		}
		return strings.TrimSpace(out.String()), true
	}
	if _, err := exec.LookPath("git"); err != nil {
		src.Note = "git is not installed"
		return src, nil
	}
	prefix, ok := git("rev-parse", "--show-prefix")
	if !ok {
		src.Note = "the runtime directory is not in a git work tree"
		return src, nil
	}
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		src.Dir = p
	}
	commit, ok := git("log", "-1", "--format=%H", "--", ".")
	if !ok || commit == "" {
		src.Note = "no commit touches the runtime directory"
		return src, nil
	}
	if committed, ok := git("rev-parse", commit+":./"); !ok || committed != tree {
		src.Note = "the runtime directory differs from its last commit " + commit[:12] + " (uncommitted or untracked files)"
		return src, nil
	}
	if repo == "" {
		if u, ok := git("remote", "get-url", "origin"); ok && u != "" {
			repo = "git+" + withoutCredentials(u)
		} else if top, ok := git("rev-parse", "--show-toplevel"); ok {
			repo = "git+file://" + top
		}
	}
	src.Repository, src.Commit = repo, commit
	return src, nil
}

// withoutCredentials drops a URL's user information (a token a CI checkout
// may have put there) and turns scp-like git@host:path into ssh://.
func withoutCredentials(remote string) string {
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		u.User = nil
		return u.String()
	}
	if at, rest, ok := strings.Cut(remote, "@"); ok && !strings.Contains(at, "/") {
		if host, p, ok := strings.Cut(rest, ":"); ok {
			return "ssh://" + host + "/" + strings.TrimPrefix(p, "/")
		}
	}
	return remote
}

// writeProvenance writes the artifact's in-toto statement (SLSA provenance
// v1) beside it.
func (b *Builder) writeProvenance(ctx context.Context, artifact, sha string, ri *runtimeInfo, platform string,
	r *resolvedBase, baseKey, inputs, buildID string, sde int64, sbomSHA string, log io.Writer) error {
	src, err := describeSource(ctx, ri.dir, b.opts.Repository)
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	if src.Note != "" {
		fmt.Fprintf(log, "note: the provenance records the runtime directory's tree hash %s but no commit: %s\n", src.Tree, src.Note)
	}
	in := intoto.Inputs{
		Artifact: filepath.Base(artifact), SHA256: sha,
		Runtime: ri.manifest.Name, Version: ri.manifest.Version, Platform: platform,
		RuntimeDir: src.Dir, GitTree: src.Tree, Repository: src.Repository, Commit: src.Commit,
		SourceDateEpoch: sde, ToolVersion: b.opts.ToolVersion, BuildID: buildID, InputsHash: inputs,
		Base:      intoto.Base{Key: baseKey, Name: r.baseName(), RootfsFile: r.RootfsFile, RootfsSHA: r.RootfsSHA, RootfsDir: r.RootfsDir},
		BuilderID: b.opts.BuilderID,
		SBOM:      &intoto.File{Name: filepath.Base(sbomPath(artifact)), SHA256: sbomSHA, MediaType: sbom.MediaType},
	}
	if d := r.Debootstrap; d != nil {
		in.Base.Suite, in.Base.Variant, in.Base.Arch, in.Base.Mirror = d.Suite, d.Variant, d.Arch, d.Mirror
		in.Base.Components, in.Base.Include = d.Components, d.Include
	}
	st, err := intoto.Statement(in)
	if err != nil {
		return err
	}
	data, err := intoto.Encode(st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(provenancePath(artifact), data, 0o644); err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	return nil
}
