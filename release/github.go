package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/joblet/rtool/internal/httpclient"
)

// GitHubPublisher publishes to GitHub releases (github.com or GitHub
// Enterprise) through go-github.
//
// Publish finds the release for the tag (a published one by tag, or a draft
// among the listed releases, since GitHub's by-tag endpoint hides drafts) or
// creates it as a draft, uploads the assets through the release's
// upload_url, verifies them, and only then publishes the release, so users
// never see a half-uploaded release.
//
// Verification: every uploaded asset's size must equal the local file's.
// Its sha256 is compared with the "digest" field GitHub returns for release
// assets ("sha256:<hex>", on github.com since 2025); when the server does
// not send one (older GitHub Enterprise), the asset is downloaded back
// through the API and hashed. A re-run counts an asset with the same name,
// size and digest as done, and replaces a differing one only with Force.
type GitHubPublisher struct {
	Client *github.Client
	Owner  string
	Repo   string
	// WebURL is the web root download URLs are under (https://github.com
	// or the Enterprise host); used for dry runs only, real URLs come from
	// the API.
	WebURL string
	// Downloader fetches asset bytes after the API redirect (without the
	// token); nil uses a client with the default stall rule and redirect
	// policy.
	Downloader *http.Client
	// PerPage is the page size for list calls (0 = 100).
	PerPage int
	// Log receives progress for people; nil discards it.
	Log io.Writer
}

// GitHubOptions configures NewGitHubPublisher.
type GitHubOptions struct {
	Repo   string // OWNER/REPO
	Token  string // GITHUB_TOKEN
	APIURL string // GitHub Enterprise API root (https://ghe.example.com/api/v3/); "" or https://api.github.com for github.com
	// HTTPClient replaces the client built from the fields below, for API
	// calls and downloads alike; nil is the normal case.
	HTTPClient *http.Client
	// StallTimeout: an API call, upload or download that moves less than
	// 32 KiB in this time fails; also the connection, TLS and response
	// header timeout (see package internal/httpclient). 0 means 30 s.
	StallTimeout time.Duration
	// Attempts bounds idempotent calls (GET, HEAD), retried after a
	// connection error, a stall before the response, HTTP 5xx, 408 or
	// 429; uploads and other writes are sent once. 0 means 3.
	Attempts int
	// RetryDelay is the first wait between attempts (doubling, at most
	// 8 s); 0 means 0.5 s.
	RetryDelay time.Duration
	// Transport carries the requests under the stall rule; nil means one
	// with the timeouts above (tests pass an httptest TLS server's).
	Transport http.RoundTripper
}

// NewGitHubPublisher returns a publisher for OWNER/REPO.
func NewGitHubPublisher(opts GitHubOptions) (*GitHubPublisher, error) {
	owner, repo, ok := strings.Cut(opts.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("github publisher: repository %q is not OWNER/REPO (set --repo or GITHUB_REPOSITORY)", opts.Repo)
	}
	if opts.Token == "" {
		return nil, errors.New("github publisher: no token; set GITHUB_TOKEN (in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }} with permissions contents: write)")
	}
	hc, dl := opts.HTTPClient, opts.HTTPClient
	if hc == nil {
		// two clients: the API one gets the token, the download one
		// must not (asset downloads are redirected to storage hosts)
		hc, dl = newGitHubHTTPClient(opts), newGitHubHTTPClient(opts)
	}
	client := github.NewClient(hc).WithAuthToken(opts.Token)
	web := "https://github.com"
	if api := strings.TrimRight(opts.APIURL, "/"); api != "" && api != "https://api.github.com" {
		u, err := url.Parse(opts.APIURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("github publisher: --github-api %q is not an absolute URL such as https://ghe.example.com/api/v3/", opts.APIURL)
		}
		if client, err = client.WithEnterpriseURLs(opts.APIURL, opts.APIURL); err != nil {
			return nil, fmt.Errorf("github publisher: --github-api %q: %w", opts.APIURL, err)
		}
		web = u.Scheme + "://" + u.Host
	}
	return &GitHubPublisher{Client: client, Owner: owner, Repo: repo, WebURL: web, Downloader: dl}, nil
}

// Kind returns "github".
func (p *GitHubPublisher) Kind() string { return "github" }

// DownloadURL returns the URL GitHub serves a published release asset at.
func (p *GitHubPublisher) DownloadURL(tag, name string) string {
	return fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", strings.TrimRight(p.WebURL, "/"),
		p.Owner, p.Repo, url.PathEscape(tag), url.PathEscape(name))
}

// ghAsset is a release asset as the REST API returns it, including the
// digest field go-github v62 does not know.
type ghAsset struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	State              string `json:"state"`
	Size               int64  `json:"size"`
	Digest             string `json:"digest"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

func (p *GitHubPublisher) logf(format string, a ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format, a...)
	}
}

func (p *GitHubPublisher) perPage() int {
	if p.PerPage > 0 {
		return p.PerPage
	}
	return 100
}

// Publish uploads, verifies and publishes; see the type's comment.
func (p *GitHubPublisher) Publish(ctx context.Context, req ReleaseRequest) ([]PublishedAsset, error) {
	rel, err := p.findOrCreateRelease(ctx, req)
	if err != nil {
		return nil, err
	}
	id := rel.GetID()
	existing, err := p.listAssets(ctx, id)
	if err != nil {
		return nil, err
	}
	// decide for every asset before changing anything, so a conflict
	// without Force leaves the release as it was
	states := make([]string, len(req.Assets))
	var replacing []Replacement
	for i, a := range req.Assets {
		ex, ok := existing[a.Name]
		if !ok {
			states[i] = StateUploaded
			continue
		}
		same, why, err := p.sameAsset(ctx, ex, a)
		if err != nil {
			return nil, err
		}
		switch {
		case same:
			states[i] = StateUnchanged
		case !req.Force && ex.State == "uploaded":
			return nil, fmt.Errorf("github release %s: asset %s already exists and differs (%s); a published asset is not replaced without --force", req.Tag, a.Name, why)
		default:
			// a differing asset with Force, or a broken leftover of a failed upload (state "new")
			states[i] = StateReplaced
			if ex.State == "" || ex.State == "uploaded" {
				replacing = append(replacing, Replacement{Name: a.Name, OldSize: ex.Size, OldSHA256: strings.TrimPrefix(ex.Digest, "sha256:"),
					NewSize: a.Size, NewSHA256: a.SHA256, Why: why})
			}
		}
	}
	if err := confirmReplacements(req, replacing); err != nil {
		return nil, fmt.Errorf("github release %s: %w", req.Tag, err)
	}
	for i, a := range req.Assets {
		if states[i] == StateUnchanged {
			p.logf("github: %s already uploaded, identical\n", a.Name)
			continue
		}
		if ex, ok := existing[a.Name]; ok {
			if _, err := p.Client.Repositories.DeleteReleaseAsset(ctx, p.Owner, p.Repo, ex.ID); err != nil {
				return nil, fmt.Errorf("github release %s: delete differing asset %s: %w", req.Tag, a.Name, err)
			}
		}
		up, err := p.upload(ctx, rel.GetUploadURL(), a)
		var ghErr *github.ErrorResponse
		if errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode == http.StatusUnprocessableEntity && isAlreadyExists(ghErr) {
			// another run uploaded it between our list and our upload
			now, lerr := p.listAssets(ctx, id)
			if lerr != nil {
				return nil, lerr
			}
			ex, ok := now[a.Name]
			if !ok {
				return nil, fmt.Errorf("github release %s: upload %s: %w", req.Tag, a.Name, err)
			}
			same, why, serr := p.sameAsset(ctx, ex, a)
			if serr != nil {
				return nil, serr
			}
			if !same {
				return nil, fmt.Errorf("github release %s: asset %s was uploaded concurrently and differs (%s)", req.Tag, a.Name, why)
			}
			states[i] = StateUnchanged
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("github release %s: upload %s: %w", req.Tag, a.Name, err)
		}
		same, why, err := p.sameAsset(ctx, up, a)
		if err != nil {
			return nil, err
		}
		if !same {
			return nil, fmt.Errorf("github release %s: uploaded asset %s does not match the local file (%s); the release stays a draft", req.Tag, a.Name, why)
		}
		p.logf("github: uploaded %s (%d bytes), verified\n", a.Name, a.Size)
	}
	if rel.GetDraft() {
		if _, _, err := p.Client.Repositories.EditRelease(ctx, p.Owner, p.Repo, id, &github.RepositoryRelease{Draft: github.Bool(false)}); err != nil {
			return nil, fmt.Errorf("github release %s: publish the draft: %w", req.Tag, err)
		}
		p.logf("github: published release %s\n", req.Tag)
	}
	// download URLs of a draft are temporary; read them from the published release
	final, err := p.listAssets(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]PublishedAsset, 0, len(req.Assets))
	for i, a := range req.Assets {
		ex, ok := final[a.Name]
		if !ok {
			return nil, fmt.Errorf("github release %s: asset %s is missing after publishing", req.Tag, a.Name)
		}
		u := ex.BrowserDownloadURL
		if u == "" {
			u = p.DownloadURL(req.Tag, a.Name)
		}
		out = append(out, PublishedAsset{Asset: a, URL: u, State: states[i]})
	}
	return out, nil
}

func isAlreadyExists(e *github.ErrorResponse) bool {
	for _, x := range e.Errors {
		if x.Code == "already_exists" {
			return true
		}
	}
	return strings.Contains(e.Message, "already_exists")
}

// findOrCreateRelease returns the release for req.Tag, creating a draft.
func (p *GitHubPublisher) findOrCreateRelease(ctx context.Context, req ReleaseRequest) (*github.RepositoryRelease, error) {
	return p.findRelease(ctx, req, false)
}

func (p *GitHubPublisher) findRelease(ctx context.Context, req ReleaseRequest, retried bool) (*github.RepositoryRelease, error) {
	rel, resp, err := p.Client.Repositories.GetReleaseByTag(ctx, p.Owner, p.Repo, req.Tag)
	if err == nil {
		p.logf("github: found release %s\n", req.Tag)
		return rel, nil
	}
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		return nil, fmt.Errorf("github release %s: %w", req.Tag, err)
	}
	// drafts are not found by tag: look through the list
	opt := &github.ListOptions{PerPage: p.perPage()}
	for {
		list, resp, err := p.Client.Repositories.ListReleases(ctx, p.Owner, p.Repo, opt)
		if err != nil {
			return nil, fmt.Errorf("github release %s: list releases: %w", req.Tag, err)
		}
		for _, r := range list {
			if r.GetTagName() == req.Tag {
				p.logf("github: found draft release %s\n", req.Tag)
				return r, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	title := req.Title
	if title == "" {
		title = req.Tag
	}
	rel, _, err = p.Client.Repositories.CreateRelease(ctx, p.Owner, p.Repo, &github.RepositoryRelease{
		TagName: github.String(req.Tag),
		Name:    github.String(title),
		Body:    github.String(req.Notes),
		Draft:   github.Bool(true),
		TargetCommitish: func() *string {
			if req.Target == "" {
				return nil
			}
			return github.String(req.Target)
		}(),
	})
	var ghErr *github.ErrorResponse
	if errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode == http.StatusUnprocessableEntity && isAlreadyExists(ghErr) && !retried {
		// another run created it between our lookup and our create
		return p.findRelease(ctx, req, true)
	}
	if err != nil {
		return nil, fmt.Errorf("github release %s: create draft: %w", req.Tag, err)
	}
	p.logf("github: created draft release %s\n", req.Tag)
	return rel, nil
}

// listAssets returns a release's assets by name, following pagination.
func (p *GitHubPublisher) listAssets(ctx context.Context, releaseID int64) (map[string]ghAsset, error) {
	out := map[string]ghAsset{}
	page := 0
	for {
		u := fmt.Sprintf("repos/%s/%s/releases/%d/assets?per_page=%d", p.Owner, p.Repo, releaseID, p.perPage())
		if page > 0 {
			u += fmt.Sprintf("&page=%d", page)
		}
		req, err := p.Client.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		var list []ghAsset
		resp, err := p.Client.Do(ctx, req, &list)
		if err != nil {
			return nil, fmt.Errorf("github: list assets of release %d: %w", releaseID, err)
		}
		for _, a := range list {
			out[a.Name] = a
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

// upload posts a's bytes to the release's upload_url template.
func (p *GitHubPublisher) upload(ctx context.Context, uploadURL string, a Asset) (ghAsset, error) {
	if i := strings.IndexByte(uploadURL, '{'); i >= 0 {
		uploadURL = uploadURL[:i] // drop the {?name,label} template
	}
	if uploadURL == "" {
		return ghAsset{}, errors.New("the release has no upload_url")
	}
	f, err := os.Open(a.Path)
	if err != nil {
		return ghAsset{}, err
	}
	defer f.Close()
	u := uploadURL + "?name=" + url.QueryEscape(a.Name)
	req, err := p.Client.NewUploadRequest(u, f, a.Size, "application/gzip")
	if err != nil {
		return ghAsset{}, err
	}
	var up ghAsset
	if _, err := p.Client.Do(ctx, req, &up); err != nil {
		return ghAsset{}, err
	}
	return up, nil
}

// sameAsset reports whether the asset on GitHub has a's size and sha256,
// using the digest field or, without one, downloading it back.
func (p *GitHubPublisher) sameAsset(ctx context.Context, ex ghAsset, a Asset) (bool, string, error) {
	if ex.State != "" && ex.State != "uploaded" {
		return false, fmt.Sprintf("state %q, an upload that did not finish", ex.State), nil
	}
	if ex.Size != a.Size {
		return false, fmt.Sprintf("size %d on GitHub, %d local", ex.Size, a.Size), nil
	}
	want := "sha256:" + a.SHA256
	if ex.Digest != "" {
		if ex.Digest != want {
			return false, fmt.Sprintf("digest %s on GitHub, %s local", ex.Digest, want), nil
		}
		return true, "", nil
	}
	dl := p.Downloader
	if dl == nil {
		dl = httpclient.New(httpclient.Options{})
	}
	rc, _, err := p.Client.Repositories.DownloadReleaseAsset(ctx, p.Owner, p.Repo, ex.ID, dl)
	if err != nil {
		return false, "", fmt.Errorf("github: download asset %s back to verify it: %w", ex.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return false, "", fmt.Errorf("github: download asset %s back to verify it: %w", ex.Name, err)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if n != a.Size || got != want {
		return false, fmt.Sprintf("downloaded %d bytes with %s, local %d bytes with %s", n, got, a.Size, want), nil
	}
	return true, "", nil
}
