package release

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblet/rtool/internal/testenv"
)

// TestViewRepoTokenOverHTTP pushes a view to a repository served by git's
// own smart-HTTP backend on 127.0.0.1 that accepts only one token. The
// clone carries a host-wide extra header with another credential, as
// actions/checkout leaves one for GITHUB_TOKEN: RTOOL_VIEW_TOKEN must
// replace it for the view repository, and without the token the push is
// refused (and says so).
func TestViewRepoTokenOverHTTP(t *testing.T) {
	backend := "/usr/lib/git-core/git-http-backend"
	if p, err := exec.Command("git", "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(p)), "git-http-backend")
	}
	_, err := exec.LookPath(backend)
	testenv.Require(t, err == nil, "test needs git-http-backend (package git)")

	const token = "s3cret-view-token"
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	root := t.TempDir()
	mustGit(t, Git{Dir: root, Env: testGitEnv(t)}, "init", "-q", "--bare", "-b", "main", filepath.Join(root, "views-arm64.git"))
	mustGit(t, Git{Dir: filepath.Join(root, "views-arm64.git"), Env: testGitEnv(t)}, "config", "http.receivepack", "true")
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); !strings.EqualFold(got, want) {
			refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="views"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		(&cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=x-access-token"}}).ServeHTTP(w, r)
	}))
	defer srv.Close()
	viewURL := srv.URL + "/views-arm64.git"

	r := newPublishRepo(t)
	// what actions/checkout leaves: a header for the whole host
	mustGit(t, r.Work, "config", "http."+srv.URL+"/.extraheader", "AUTHORIZATION: basic "+base64.StdEncoding.EncodeToString([]byte("x-access-token:GITHUB_TOKEN-of-another-repo")))
	mustGit(t, r.Work, "config", "credential.helper", "")
	r.Work.Env = append(r.Work.Env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false")
	platforms := []string{"debian-amd64", "debian-arm64"}
	addRuntime(t, r.Work, "rt", "1.0.0", platforms...)
	pub, _ := dirPublisher(t)
	opts := PublishOptions{Tag: "rt@1.0.0", RuntimesDir: filepath.Join(r.Work.Dir, "runtimes"),
		ArtifactsDir: buildArtifacts(t, "rt", "1.0.0", platforms...), Publisher: pub, Repo: r.Work,
		ViewRepos: map[string]string{"debian-arm64": viewURL}, MaxAttempts: 2, Backoff: time.Millisecond}

	if _, err := Publish(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "debian-arm64 view repository") {
		t.Fatalf("without the token: err = %v, want the view push refused", err)
	}
	if refused.Load() == 0 {
		t.Fatal("the server never saw the wrong credential")
	}
	opts.ViewToken = token
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.ViewCommits["debian-arm64"] == nil || res.ViewCommits["debian-arm64"].Commit == "" {
		t.Fatalf("no view commit: %+v", res.ViewCommits)
	}
	view := mustGit(t, Git{Dir: filepath.Join(root, "views-arm64.git"), Env: testGitEnv(t)}, "show", "main:registry.json")
	if !strings.Contains(view, "rt-1.0.0-debian-arm64.tar.gz") || strings.Contains(view, "debian-amd64.tar.gz") {
		t.Fatalf("the pushed view:\n%s", view)
	}
}
