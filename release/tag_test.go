package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func refs(t *testing.T, g Git) string {
	t.Helper()
	return mustGit(t, g, "for-each-ref", "--format=%(refname) %(objectname)")
}

func TestCreateTagPushesAnnotatedTag(t *testing.T) {
	r := newTestRepo(t)
	dir := addRuntime(t, r.Work, "python-3.11", "1.3.4", "ubuntu-amd64", "ubuntu-arm64")
	head := mustGit(t, r.Work, "rev-parse", "HEAD")
	res, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, Name: "python-3.11"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tag != "python-3.11@1.3.4" || res.Commit != head {
		t.Fatalf("result %+v, want tag python-3.11@1.3.4 at %s", res, head)
	}
	if typ := mustGit(t, r.Work, "cat-file", "-t", "refs/tags/python-3.11@1.3.4"); typ != "tag" {
		t.Fatalf("tag is a %s, want an annotated tag", typ)
	}
	msg := mustGit(t, r.Work, "tag", "-l", "--format=%(contents)", "python-3.11@1.3.4")
	for _, want := range []string{"Runtime: python-3.11", "Version: 1.3.4", "- ubuntu-amd64", "- ubuntu-arm64"} {
		if !strings.Contains(msg, want) {
			t.Errorf("tag message %q lacks %q", msg, want)
		}
	}
	bare := Git{Dir: r.Remote, Env: r.Env}
	if got := mustGit(t, bare, "rev-parse", "refs/tags/python-3.11@1.3.4^{commit}"); got != head {
		t.Fatalf("remote tag points at %s, want %s", got, head)
	}
}

func TestCreateTagRefusesExistingTag(t *testing.T) {
	for _, where := range []string{"local", "remote"} {
		t.Run(where, func(t *testing.T) {
			r := newTestRepo(t)
			dir := addRuntime(t, r.Work, "node-18", "1.0.0", "debian-amd64")
			mustGit(t, r.Work, "push", "-q", "origin", "main")
			tagger := r.Work
			if where == "remote" {
				// someone else tagged and pushed; this clone has never seen the tag
				tagger = r.clone(t)
			}
			mustGit(t, tagger, "tag", "-a", "-m", "earlier", "node-18@1.0.0")
			if where == "remote" {
				mustGit(t, tagger, "push", "-q", "origin", "node-18@1.0.0")
			}
			commit := mustGit(t, tagger, "rev-parse", "node-18@1.0.0^{commit}")
			before := refs(t, r.Work)

			_, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir})
			var exists *TagExistsError
			if !errors.As(err, &exists) {
				t.Fatalf("err = %v, want TagExistsError", err)
			}
			if len(exists.Existing) == 0 || !strings.HasPrefix(exists.Existing[0].Where, where) {
				t.Fatalf("existing %+v, want one found %s", exists.Existing, where)
			}
			info := exists.Existing[0]
			if info.Commit != commit || !strings.Contains(info.Author, "Test Committer") || info.Date == "" {
				t.Fatalf("info %+v, want commit %s by Test Committer with a date", info, commit)
			}
			for _, want := range []string{commit, "Test Committer", "--force"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if after := refs(t, r.Work); after != before {
				t.Fatalf("refs changed:\n%s\n->\n%s", before, after)
			}
		})
	}
}

func TestCreateTagRefusesDirtyRuntime(t *testing.T) {
	tests := []struct {
		name  string
		dirty func(t *testing.T, dir string)
		want  bool
	}{
		{"modified manifest", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "manifest.yaml"), manifestYAML("go-1.22", "1.0.1", "debian-amd64"))
		}, true},
		{"untracked file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "setup-debian-amd64.sh"), "#!/bin/sh\n")
		}, true},
		{"change elsewhere", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "..", "..", "README.md"), "changed\n")
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			dir := addRuntime(t, r.Work, "go-1.22", "1.0.0", "debian-amd64")
			tc.dirty(t, dir)
			_, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, DryRun: true})
			var dirty *DirtyError
			if got := errors.As(err, &dirty); got != tc.want {
				t.Fatalf("err = %v, want dirty refusal %v", err, tc.want)
			}
			if !tc.want && err != nil {
				t.Fatalf("a change outside the runtime must not block its release: %v", err)
			}
		})
	}
}

func TestCreateTagDryRunChangesNothing(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(map[bool]string{false: "new", true: "force existing"}[existing], func(t *testing.T) {
			r := newTestRepo(t)
			dir := addRuntime(t, r.Work, "java-21", "2.0.0", "rhel-amd64")
			if existing {
				mustGit(t, r.Work, "tag", "-a", "-m", "old", "java-21@2.0.0", "HEAD~1")
				mustGit(t, r.Work, "push", "-q", "origin", "java-21@2.0.0")
			}
			bare := Git{Dir: r.Remote, Env: r.Env}
			beforeLocal, beforeRemote := refs(t, r.Work), refs(t, bare)
			res, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, DryRun: true, Force: existing})
			if err != nil {
				t.Fatal(err)
			}
			if !res.DryRun || len(res.Actions) != 2 || !strings.Contains(res.Actions[1], "push") {
				t.Fatalf("dry run result %+v", res)
			}
			if existing && len(res.Replaced) != 2 {
				t.Fatalf("dry run should report the local and remote tag it would replace: %+v", res.Replaced)
			}
			if a, b := refs(t, r.Work), refs(t, bare); a != beforeLocal || b != beforeRemote {
				t.Fatalf("dry run changed refs:\nlocal %s\n-> %s\nremote %s\n-> %s", beforeLocal, a, beforeRemote, b)
			}
		})
	}
}

func TestCreateTagForce(t *testing.T) {
	setup := func(t *testing.T) (*testRepo, string, string) {
		r := newTestRepo(t)
		dir := addRuntime(t, r.Work, "ruby-3", "3.0.0", "ubuntu-amd64")
		mustGit(t, r.Work, "tag", "-a", "-m", "old", "ruby-3@3.0.0", "HEAD~1")
		mustGit(t, r.Work, "push", "-q", "origin", "main", "ruby-3@3.0.0")
		return r, dir, mustGit(t, r.Work, "rev-parse", "HEAD")
	}
	t.Run("no terminal and no --yes refuses", func(t *testing.T) {
		r, dir, _ := setup(t)
		before := refs(t, r.Work)
		asked := false
		_, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, Force: true,
			Confirm: func(string) (bool, error) { asked = true; return true, nil }})
		if err == nil || !strings.Contains(err.Error(), "--yes") || asked {
			t.Fatalf("err = %v, asked = %v; want refusal naming --yes without asking", err, asked)
		}
		if refs(t, r.Work) != before {
			t.Fatal("refs changed")
		}
	})
	t.Run("declined on a terminal", func(t *testing.T) {
		r, dir, _ := setup(t)
		before := refs(t, r.Work)
		var prompt string
		_, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, Force: true, Interactive: true,
			Confirm: func(p string) (bool, error) { prompt = p; return false, nil }})
		if err == nil || !strings.Contains(prompt, "ruby-3@3.0.0") {
			t.Fatalf("err = %v, prompt %q", err, prompt)
		}
		if refs(t, r.Work) != before {
			t.Fatal("refs changed")
		}
	})
	for _, how := range []string{"--yes", "confirmed"} {
		t.Run(how, func(t *testing.T) {
			r, dir, head := setup(t)
			opts := TagOptions{Git: r.Work, RuntimeDir: dir, Force: true}
			if how == "--yes" {
				opts.Yes = true
			} else {
				opts.Interactive = true
				opts.Confirm = func(string) (bool, error) { return true, nil }
			}
			res, err := CreateTag(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Replaced) != 2 {
				t.Fatalf("replaced %+v, want local and remote", res.Replaced)
			}
			for _, g := range []Git{r.Work, {Dir: r.Remote, Env: r.Env}} {
				if got := mustGit(t, g, "rev-parse", "refs/tags/ruby-3@3.0.0^{commit}"); got != head {
					t.Fatalf("%s: tag at %s, want %s", g.Dir, got, head)
				}
			}
		})
	}
}

func TestCreateTagChecks(t *testing.T) {
	r := newTestRepo(t)
	dir := addRuntime(t, r.Work, "python-3.12", "1.0.0", "ubuntu-amd64")
	if _, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir, Name: "python-3.13", DryRun: true}); err == nil ||
		!strings.Contains(err.Error(), "python-3.13") {
		t.Fatalf("name mismatch: err = %v", err)
	}
	want := errors.New("manifest.yaml:3: description is empty")
	_, err := CreateTag(context.Background(), TagOptions{Git: r.Work, RuntimeDir: dir,
		Validate: func(_ context.Context, d string) error {
			if d != dir {
				t.Errorf("validate got %s, want %s", d, dir)
			}
			return want
		}})
	if !errors.Is(err, want) {
		t.Fatalf("validate error = %v, want %v", err, want)
	}
	if out := mustGit(t, r.Work, "tag", "-l"); out != "" {
		t.Fatalf("tags created after a failed validation: %s", out)
	}
}
