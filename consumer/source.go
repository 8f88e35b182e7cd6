package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/joblet/rtool/internal/httpclient"
	"github.com/joblet/rtool/registrygen"
	"github.com/joblet/rtool/schema"
)

// DefaultRegistry is the registry used when neither --registry nor a config
// file names one: upstream's, as `rnx runtime install` does.
const DefaultRegistry = "ehsaniara/joblet-runtimes"

// DefaultGitHubRawBase is where owner/repo registries are read from:
// <base>/<owner>/<repo>/main/registry.json.
const DefaultGitHubRawBase = "https://raw.githubusercontent.com"

// MaxRegistrySize bounds a registry.json download: registrygen's limit,
// which registry verify and merge apply too.
const MaxRegistrySize = registrygen.MaxRegistrySize

// Source is one registry to search: a name for messages and a location as
// the user wrote it.
type Source struct {
	Name     string
	Location string
	// Provenance is the config file's provenance block for this registry
	// (nil: none; see ProvenanceConfig).
	Provenance *ProvenanceConfig
}

// Sources holds how registries are located and fetched.
type Sources struct {
	// GitHubRawBase replaces DefaultGitHubRawBase (tests point it at
	// 127.0.0.1).
	GitHubRawBase string
	// StallTimeout is the stall rule's window for registry fetches and
	// artifact downloads, and the connection, TLS and response header
	// timeout: a transfer that moves less than 32 KiB in that time fails
	// (see package internal/httpclient). 0 means 30 s.
	StallTimeout time.Duration
	// Retry bounds registry fetch attempts (artifact downloads use
	// InstallOptions.Retry); zero means DefaultRetry.
	Retry Retry
	// Transport carries the requests; nil means a transport with the
	// timeouts above. Tests pass an httptest TLS server's transport. The
	// stall rule and the redirect policy (http(s) only, at most 10, no
	// https → http, no loops) apply on top of any transport.
	Transport http.RoundTripper
}

// client returns a new client for one fetch or download; the caller calls
// CloseIdleConnections when done with it.
func (s Sources) client() *http.Client {
	return httpclient.New(httpclient.Options{StallTimeout: s.StallTimeout, Base: s.Transport})
}

var ownerRepoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*$`)

// Locate turns a registry location into the URL or file path of its
// registry.json:
//   - http(s)://.../registry.json (or any *.json) as is; another http(s) URL
//     is a directory holding registry.json; https://github.com/owner/repo is
//     owner/repo;
//   - file://PATH, or a path that exists: a file, or a directory holding
//     registry.json;
//   - owner/repo (not an existing path): registry.json on the repository's
//     main branch, like upstream's --registry.
//
// isURL tells whether the result is an http(s) URL.
func (s Sources) Locate(location string) (where string, isURL bool, err error) {
	loc := strings.TrimSpace(location)
	if loc == "" {
		return "", false, fmt.Errorf("registry location is empty; give a file, an http(s) URL or owner/repo")
	}
	base := strings.TrimRight(s.GitHubRawBase, "/")
	if base == "" {
		base = DefaultGitHubRawBase
	}
	github := func(ownerRepo string) string {
		return base + "/" + strings.TrimSuffix(ownerRepo, ".git") + "/main/registry.json"
	}
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, err := url.Parse(loc)
		if err != nil {
			return "", false, fmt.Errorf("registry %q: %w", loc, err)
		}
		if u.Host == "github.com" || u.Host == "www.github.com" {
			if p := strings.Trim(u.Path, "/"); ownerRepoRE.MatchString(p) {
				return github(p), true, nil
			}
		}
		if strings.HasSuffix(u.Path, ".json") {
			return loc, true, nil
		}
		u.Path = strings.TrimRight(u.Path, "/") + "/registry.json"
		return u.String(), true, nil
	}
	if p, ok := strings.CutPrefix(loc, "file://"); ok {
		loc = p
	} else if ownerRepoRE.MatchString(loc) {
		if _, err := os.Stat(loc); err != nil {
			return github(loc), true, nil
		}
	}
	abs, err := localRegistryFile(location, loc, "give a registry.json file, a directory holding one, an http(s) URL or owner/repo")
	return abs, false, err
}

// localRegistryFile is the absolute path of the registry at loc on local
// disk: the file, or registry.json in the directory. hint says what
// location could have been instead.
func localRegistryFile(location, loc, hint string) (string, error) {
	fi, err := os.Stat(loc)
	if err != nil {
		return "", fmt.Errorf("registry %q: %w (%s)", location, err, hint)
	}
	if fi.IsDir() {
		loc = filepath.Join(loc, "registry.json")
	}
	return filepath.Abs(loc)
}

// Loaded is a fetched and parsed registry with the place it came from, so
// relative download_url values resolve against it.
type Loaded struct {
	Source   Source
	Where    string // URL or absolute path of registry.json
	IsURL    bool
	Registry *schema.Registry
}

// Fetch reads and parses one registry.
func (s Sources) Fetch(ctx context.Context, src Source) (*Loaded, error) {
	where, isURL, err := s.Locate(src.Location)
	if err != nil {
		return nil, err
	}
	data, err := s.read(ctx, where, isURL)
	if err != nil {
		label := where
		if src.Name != "" && src.Name != src.Location {
			label = fmt.Sprintf("%q (%s)", src.Name, where)
		}
		return nil, fmt.Errorf("failed to fetch registry %s: %w", label, err)
	}
	// registrygen.Parse names source:line:column in its errors and rejects
	// what Joblet's own consumer would, and whatever registry verify and
	// merge refuse (registrygen.Check), so all three agree on a registry.
	reg, err := registrygen.Parse(data, where)
	if err != nil {
		return nil, err
	}
	return &Loaded{Source: src, Where: where, IsURL: isURL, Registry: reg}, nil
}

// read returns the registry at where: fetched over http(s) when isURL,
// else read from local disk, bounded by MaxRegistrySize either way.
func (s Sources) read(ctx context.Context, where string, isURL bool) ([]byte, error) {
	if isURL {
		return s.get(ctx, where)
	}
	return readFileLimited(where, MaxRegistrySize)
}

// get fetches a registry over http(s), retrying transient failures
// (connection errors, stalls, truncated bodies, HTTP 5xx, 408 and 429) as
// s.Retry allows. A refused redirect, another HTTP status or an oversized
// registry is not retried.
func (s Sources) get(ctx context.Context, u string) ([]byte, error) {
	retry := s.Retry.orDefault()
	c := s.client()
	defer c.CloseIdleConnections()
	for attempt := 1; ; attempt++ {
		data, err := getOnce(ctx, c, u)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !isTransient(err) {
			return nil, err
		}
		if attempt >= retry.Attempts {
			if attempt == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		if err := sleepCtx(ctx, retry.delay(attempt)); err != nil {
			return nil, err
		}
	}
}

func getOnce(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	data, err := getLimited(ctx, c, u, MaxRegistrySize)
	var tl *tooLargeError
	if errors.As(err, &tl) {
		return nil, fmt.Errorf("registry is %v", err)
	}
	return data, err
}

// tooLargeError is a response body over the limit getLimited was given.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.limit) }

// getLimited GETs u with c and returns its body, at most limit bytes
// (a *tooLargeError past that); failures are classified for retries.
func getLimited(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, classify(bareError(err, u))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, "")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &transientError{err}
	}
	if int64(len(data)) > limit {
		return nil, &tooLargeError{limit}
	}
	return data, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// FetchAll fetches every source in order. A source that cannot be fetched
// is reported through warn and skipped; it is an error only when none can.
func (s Sources) FetchAll(ctx context.Context, srcs []Source, warn func(string)) ([]*Loaded, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no registry to search; pass --registry or list registries in the config file")
	}
	var out []*Loaded
	var errs []error
	for _, src := range srcs {
		l, err := s.Fetch(ctx, src)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		// every source failed: the error says it once, no warnings too
		return nil, errors.Join(errs...)
	}
	if warn != nil {
		for _, err := range errs {
			warn(fmt.Sprintf("%v (skipped; searching the other registries)", err))
		}
	}
	return out, nil
}

// Config is the part of ~/.rnx/config.yaml that rtool reads.
type Config struct {
	Runtimes struct {
		Registries []ConfigRegistry `yaml:"registries"`
	} `yaml:"runtimes"`
}

// ConfigRegistry is one registry of a config file. Enabled defaults to
// true when absent.
type ConfigRegistry struct {
	Name       string            `yaml:"name"`
	URL        string            `yaml:"url"`
	Enabled    *bool             `yaml:"enabled"`
	Provenance *ProvenanceConfig `yaml:"provenance"`
}

// LoadConfig reads a config file in the shape of Joblet's
// ~/.rnx/config.yaml and returns its enabled registries, in order.
func LoadConfig(path string) ([]Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var out []Source
	for i, r := range c.Runtimes.Registries {
		if r.Enabled != nil && !*r.Enabled {
			continue
		}
		if strings.TrimSpace(r.URL) == "" {
			return nil, fmt.Errorf("config %s: runtimes.registries[%d] (%q) has no url; give a file, an http(s) URL or owner/repo", path, i, r.Name)
		}
		name := r.Name
		if name == "" {
			name = r.URL
		}
		if r.Provenance != nil {
			if err := r.Provenance.check(path, i); err != nil {
				return nil, err
			}
		}
		out = append(out, Source{Name: name, Location: r.URL, Provenance: r.Provenance})
	}
	return out, nil
}

// DefaultConfigPath returns ~/.rnx/config.yaml, or "" when it does not
// exist.
func DefaultConfigPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(home, ".rnx", "config.yaml")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// PickSources decides which registries to search: the --registry values
// if any, else the config file's enabled registries (configPath, or the
// default config when configPath is ""), else DefaultRegistry.
func PickSources(registryFlags []string, configPath string) ([]Source, error) {
	if len(registryFlags) > 0 {
		out := make([]Source, 0, len(registryFlags))
		for _, r := range registryFlags {
			out = append(out, Source{Name: r, Location: r})
		}
		return out, nil
	}
	if configPath == "" {
		configPath = DefaultConfigPath()
	}
	if configPath != "" {
		srcs, err := LoadConfig(configPath)
		if err != nil {
			return nil, err
		}
		if len(srcs) > 0 {
			return srcs, nil
		}
	}
	return []Source{{Name: DefaultRegistry, Location: DefaultRegistry}}, nil
}

// resolveURL resolves a download_url against the registry it came from.
//
// A registry fetched over http(s) may name only http(s) URLs and paths
// relative to itself (resolved as URL references): any other scheme,
// including opaque ones such as x:demo.tar.gz, file:// URLs, absolute paths
// and scheme-relative //host/... references are refused.
//
// A registry on local disk may also name local files: file:///path,
// absolute paths, and paths relative to its directory; http(s) URLs stay
// URLs; another scheme followed by // is refused. (A registry read by
// Fetch names only http(s) URLs and relative paths: registrygen.Parse
// refuses the rest, as registry verify does.)
func (l *Loaded) resolveURL(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("download_url is empty")
	}
	u, perr := url.Parse(ref)
	if perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if u.Host == "" {
			return "", fmt.Errorf("download_url %q has no host; write it as %s://HOST/PATH", ref, u.Scheme)
		}
		return u.String(), nil
	}
	if l.IsURL {
		remoteOnly := fmt.Sprintf("registry %s was fetched over http(s), so its download_url values may only be http(s) URLs or paths relative to it, never local files", l.Where)
		switch {
		case perr != nil:
			return "", fmt.Errorf("download_url %q is not a valid URL (%v); %s", ref, perr, remoteOnly)
		case u.Scheme != "":
			return "", fmt.Errorf("download_url %q has the scheme %q; %s", ref, u.Scheme+":", remoteOnly)
		case strings.HasPrefix(ref, "//"):
			return "", fmt.Errorf("download_url %q is a scheme-relative URL; write the scheme (https://...); %s", ref, remoteOnly)
		case strings.HasPrefix(ref, "/"):
			return "", fmt.Errorf("download_url %q is an absolute path, that is a local file; %s", ref, remoteOnly)
		}
		base, err := url.Parse(l.Where)
		if err != nil {
			return "", err
		}
		r := base.ResolveReference(u)
		if r.Scheme != "http" && r.Scheme != "https" {
			return "", fmt.Errorf("download_url %q resolves to %s, which is not http(s); %s", ref, r, remoteOnly)
		}
		return r.String(), nil
	}
	if perr == nil && u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("download_url %q names the host %q; a file:// URL must be file:///ABSOLUTE/PATH", ref, u.Host)
		}
		if !filepath.IsAbs(u.Path) {
			return "", fmt.Errorf("download_url %q has no absolute path; write file:///ABSOLUTE/PATH", ref)
		}
		return filepath.Clean(u.Path), nil
	}
	if perr == nil && u.Scheme != "" && strings.HasPrefix(ref[len(u.Scheme)+1:], "//") {
		return "", fmt.Errorf("download_url %q has the scheme %q; only http(s), file:// and paths are supported", ref, u.Scheme+":")
	}
	if filepath.IsAbs(ref) {
		return ref, nil
	}
	return filepath.Join(filepath.Dir(l.Where), filepath.FromSlash(ref)), nil
}
