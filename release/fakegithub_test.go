package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub behaves like the GitHub REST endpoints the publisher calls,
// as documented and as github.com answers them: the by-tag endpoint hides
// drafts, uploads go to the release's upload_url on a separate path, a
// duplicate asset name is 422 already_exists, lists paginate with Link
// headers, draft asset URLs are temporary ("untagged-..."), and asset
// downloads through the API redirect to a storage URL that must not get the
// token.
type fakeGitHub struct {
	t        *testing.T
	srv      *httptest.Server
	token    string
	owner    string
	repo     string
	noDigest bool // behave like an older GitHub Enterprise without the digest field
	// corruptUpload stores different bytes than were sent, for the name
	corruptUpload string
	// beforeUpload runs (under the lock) before an upload is stored, to
	// simulate a concurrent run
	beforeUpload func(rel *fakeRelease, name string)

	mu       sync.Mutex
	nextID   int64
	releases []*fakeRelease
	calls    map[string]int // "METHOD route" → count
}

type fakeRelease struct {
	ID     int64
	Tag    string
	Name   string
	Body   string
	Draft  bool
	Target string
	Assets []*fakeAsset
}

type fakeAsset struct {
	ID    int64
	Name  string
	State string
	Data  []byte
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, token: "test-token", owner: "joblet", repo: "runtimes", nextID: 1, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

func (f *fakeGitHub) release(tag string) *fakeRelease {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.releases {
		if r.Tag == tag {
			return r
		}
	}
	return nil
}

func (f *fakeGitHub) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake github: encode: %v", err)
	}
}

func (f *fakeGitHub) errorJSON(w http.ResponseWriter, code int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	f.writeJSON(w, code, body)
}

func (f *fakeGitHub) releaseJSON(r *fakeRelease) map[string]any {
	return map[string]any{
		"id": r.ID, "tag_name": r.Tag, "name": r.Name, "body": r.Body, "draft": r.Draft, "prerelease": false,
		"url":        fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/%d", f.srv.URL, f.owner, f.repo, r.ID),
		"upload_url": fmt.Sprintf("%s/uploads/repos/%s/%s/releases/%d/assets{?name,label}", f.srv.URL, f.owner, f.repo, r.ID),
	}
}

func (f *fakeGitHub) assetJSON(r *fakeRelease, a *fakeAsset) map[string]any {
	dl := fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", f.srv.URL, f.owner, f.repo, url.PathEscape(r.Tag), url.PathEscape(a.Name))
	if r.Draft {
		dl = fmt.Sprintf("%s/%s/%s/releases/download/untagged-%d/%s", f.srv.URL, f.owner, f.repo, r.ID, url.PathEscape(a.Name))
	}
	m := map[string]any{
		"id": a.ID, "name": a.Name, "state": a.State, "size": len(a.Data), "content_type": "application/gzip",
		"url":                  fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/assets/%d", f.srv.URL, f.owner, f.repo, a.ID),
		"browser_download_url": dl,
	}
	if !f.noDigest {
		sum := sha256.Sum256(a.Data)
		m["digest"] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return m
}

// paginate slices items by per_page/page and sets a Link header.
func (f *fakeGitHub) paginate(w http.ResponseWriter, r *http.Request, n int) (int, int) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	start, end := (page-1)*per, page*per
	if start > n {
		start = n
	}
	if end > n {
		end = n
	}
	last := (n + per - 1) / per
	if page < last {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		lastURL := *r.URL
		q.Set("page", strconv.Itoa(last))
		lastURL.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next", <%s%s>; rel="last"`, f.srv.URL, next.RequestURI(), f.srv.URL, lastURL.RequestURI()))
	}
	return start, end
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.URL.Path
	// storage downloads (after the API redirect) carry no token
	if rest, ok := strings.CutPrefix(path, "/storage/"); ok {
		f.calls["GET storage"]++
		if r.Header.Get("Authorization") != "" {
			f.t.Errorf("fake github: the token was sent to the storage host")
		}
		id, _ := strconv.ParseInt(rest, 10, 64)
		for _, rel := range f.releases {
			for _, a := range rel.Assets {
				if a.ID == id {
					w.Write(a.Data)
					return
				}
			}
		}
		http.NotFound(w, r)
		return
	}
	// public download URLs of published releases, as github.com serves them
	if rest, ok := strings.CutPrefix(path, "/"+f.owner+"/"+f.repo+"/releases/download/"); ok {
		f.calls["GET download"]++
		tag, name, _ := strings.Cut(rest, "/")
		for _, rel := range f.releases {
			if rel.Tag != tag || rel.Draft {
				continue
			}
			for _, a := range rel.Assets {
				if a.Name == name {
					w.Header().Set("Content-Type", "application/octet-stream")
					w.Write(a.Data)
					return
				}
			}
		}
		http.NotFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		f.errorJSON(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	repoPrefix := "/api/v3/repos/" + f.owner + "/" + f.repo + "/releases"
	uploadPrefix := "/uploads/repos/" + f.owner + "/" + f.repo + "/releases/"
	switch {
	case strings.HasPrefix(path, uploadPrefix) && r.Method == http.MethodPost:
		f.calls["POST upload"]++
		idStr, ok := strings.CutSuffix(strings.TrimPrefix(path, uploadPrefix), "/assets")
		id, _ := strconv.ParseInt(idStr, 10, 64)
		rel := f.byID(id)
		if !ok || rel == nil {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		name := r.URL.Query().Get("name")
		if name == "" {
			f.errorJSON(w, http.StatusUnprocessableEntity, "name is required")
			return
		}
		data, err := io.ReadAll(r.Body)
		if err != nil || int64(len(data)) != r.ContentLength {
			f.errorJSON(w, http.StatusBadRequest, "body does not match Content-Length")
			return
		}
		if f.beforeUpload != nil {
			f.beforeUpload(rel, name)
		}
		for _, a := range rel.Assets {
			if a.Name == name {
				f.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed",
					map[string]string{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
				return
			}
		}
		if name == f.corruptUpload {
			data = append([]byte("corrupted "), data[10:]...)
		}
		a := &fakeAsset{ID: f.nextID, Name: name, State: "uploaded", Data: data}
		f.nextID++
		rel.Assets = append(rel.Assets, a)
		f.writeJSON(w, http.StatusCreated, f.assetJSON(rel, a))
	case path == repoPrefix && r.Method == http.MethodGet:
		f.calls["GET releases"]++
		start, end := f.paginate(w, r, len(f.releases))
		out := []map[string]any{}
		for _, rel := range f.releases[start:end] {
			out = append(out, f.releaseJSON(rel))
		}
		f.writeJSON(w, http.StatusOK, out)
	case path == repoPrefix && r.Method == http.MethodPost:
		f.calls["POST releases"]++
		var in struct {
			TagName string `json:"tag_name"`
			Name    string `json:"name"`
			Body    string `json:"body"`
			Draft   bool   `json:"draft"`
			Target  string `json:"target_commitish"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.TagName == "" {
			f.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		for _, rel := range f.releases {
			if rel.Tag == in.TagName {
				f.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed",
					map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"})
				return
			}
		}
		rel := &fakeRelease{ID: f.nextID, Tag: in.TagName, Name: in.Name, Body: in.Body, Draft: in.Draft, Target: in.Target}
		f.nextID++
		f.releases = append(f.releases, rel)
		f.writeJSON(w, http.StatusCreated, f.releaseJSON(rel))
	case strings.HasPrefix(path, repoPrefix+"/tags/") && r.Method == http.MethodGet:
		f.calls["GET release by tag"]++
		tag := strings.TrimPrefix(path, repoPrefix+"/tags/")
		for _, rel := range f.releases {
			if rel.Tag == tag && !rel.Draft {
				f.writeJSON(w, http.StatusOK, f.releaseJSON(rel))
				return
			}
		}
		f.errorJSON(w, http.StatusNotFound, "Not Found")
	case strings.HasPrefix(path, repoPrefix+"/assets/"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(path, repoPrefix+"/assets/"), 10, 64)
		rel, idx := f.assetByID(id)
		if rel == nil {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodDelete:
			f.calls["DELETE asset"]++
			rel.Assets = append(rel.Assets[:idx], rel.Assets[idx+1:]...)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			if r.Header.Get("Accept") == "application/octet-stream" {
				f.calls["GET asset download"]++
				http.Redirect(w, r, fmt.Sprintf("%s/storage/%d", f.srv.URL, id), http.StatusFound)
				return
			}
			f.writeJSON(w, http.StatusOK, f.assetJSON(rel, rel.Assets[idx]))
		default:
			f.errorJSON(w, http.StatusMethodNotAllowed, "method")
		}
	case strings.HasPrefix(path, repoPrefix+"/"):
		rest := strings.TrimPrefix(path, repoPrefix+"/")
		idStr, sub, _ := strings.Cut(rest, "/")
		id, _ := strconv.ParseInt(idStr, 10, 64)
		rel := f.byID(id)
		if rel == nil {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		switch {
		case sub == "assets" && r.Method == http.MethodGet:
			f.calls["GET assets"]++
			assets := append([]*fakeAsset(nil), rel.Assets...)
			sort.Slice(assets, func(i, j int) bool { return assets[i].ID < assets[j].ID })
			start, end := f.paginate(w, r, len(assets))
			out := []map[string]any{}
			for _, a := range assets[start:end] {
				out = append(out, f.assetJSON(rel, a))
			}
			f.writeJSON(w, http.StatusOK, out)
		case sub == "" && r.Method == http.MethodPatch:
			f.calls["PATCH release"]++
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				f.errorJSON(w, http.StatusBadRequest, "bad json")
				return
			}
			if d, ok := in["draft"].(bool); ok {
				rel.Draft = d
			}
			f.writeJSON(w, http.StatusOK, f.releaseJSON(rel))
		case sub == "" && r.Method == http.MethodGet:
			f.writeJSON(w, http.StatusOK, f.releaseJSON(rel))
		default:
			f.errorJSON(w, http.StatusNotFound, "Not Found")
		}
	default:
		f.t.Errorf("fake github: unexpected %s %s", r.Method, r.URL)
		f.errorJSON(w, http.StatusNotFound, "Not Found")
	}
}

func (f *fakeGitHub) byID(id int64) *fakeRelease {
	for _, r := range f.releases {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (f *fakeGitHub) assetByID(id int64) (*fakeRelease, int) {
	for _, r := range f.releases {
		for i, a := range r.Assets {
			if a.ID == id {
				return r, i
			}
		}
	}
	return nil, -1
}
