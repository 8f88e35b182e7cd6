package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	reusableWorkflow = "rtool.yml"
	sampleCaller     = "../docs/examples/runtimes.yml"
)

// installScripts returns the run script of every "Install rtool" step of
// the reusable workflow, by job.
func installScripts(t *testing.T) map[string]string {
	t.Helper()
	w := loadWorkflow(t, reusableWorkflow)
	out := map[string]string{}
	for name, job := range w.Jobs {
		for _, s := range job.Steps {
			if s.Name == "Install rtool" {
				out[name] = s.Run
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no Install rtool step", reusableWorkflow)
	}
	return out
}

// A fresh runtime repository holding only runtimes/<name>/ and the sample
// caller passes actionlint, which checks the call against the reusable
// workflow's inputs when it is reachable as a local file; the sample as
// published (a remote reference) passes too.
func TestWorkflowsReusableSampleCaller(t *testing.T) {
	bin := findActionlint(t)
	sample, err := os.ReadFile(sampleCaller)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(string(sample)), "\n") + 1; n > 11 {
		t.Errorf("%s has %d lines; the sample caller should stay about ten", sampleCaller, n)
	}
	ref := regexp.MustCompile(`uses: joblet/rtool/\.github/workflows/rtool\.yml@(v\d+\.\d+\.\d+)\n\s+with: \{rtool-version: (v\d+\.\d+\.\d+)\}`).FindSubmatch(sample)
	if ref == nil || string(ref[1]) != string(ref[2]) {
		t.Errorf("%s: want the workflow called at the same release its rtool-version names", sampleCaller)
	}
	reusable, err := os.ReadFile(filepath.Join(workflowsDir, reusableWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	local := regexp.MustCompile(`joblet/rtool/\.github/workflows/rtool\.yml@\S+`).ReplaceAll(sample, []byte("./.github/workflows/rtool.yml"))
	tests := []struct {
		name    string
		caller  []byte
		wantErr string
	}{
		{"sample", local, ""},
		{"misspelt input", bytes.Replace(local, []byte("rtool-version:"), []byte("rtool-versoin:"), 1), `input "rtool-version" is required`},
		{"undefined input", bytes.Replace(local, []byte("{rtool-version: v0.1.0}"), []byte("{rtool-version: v0.1.0, runtimes-dir: rt}"), 1), `input "runtimes-dir" is not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			files := map[string][]byte{
				"runtimes/demo/manifest.yaml":    []byte("name: demo\nversion: 1.0.0\ndescription: demo\nplatforms: [debian-amd64]\n"),
				"runtimes/demo/setup.sh":         []byte("#!/bin/bash\nset -euo pipefail\n"),
				".github/workflows/rtool.yml":    reusable,
				".github/workflows/runtimes.yml": tc.caller,
			}
			for name, data := range files {
				p := filepath.Join(repo, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			cmd := exec.Command(bin, "-no-color")
			cmd.Dir = repo
			out, err := cmd.CombinedOutput()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("actionlint: %v\n%s", err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(string(out), tc.wantErr)):
				t.Fatalf("actionlint passed or missed %q: %v\n%s", tc.wantErr, err, out)
			}
		})
	}
	if out, err := exec.Command(bin, "-no-color", sampleCaller).CombinedOutput(); err != nil {
		t.Errorf("actionlint %s: %v\n%s", sampleCaller, err, out)
	}
}

// Every job installs rtool with the same script, and the script downloads
// exactly the archive and checksum file names .goreleaser.yaml makes.
func TestWorkflowsReusableInstallMatchesRelease(t *testing.T) {
	scripts := installScripts(t)
	var first, firstJob string
	for job, s := range scripts {
		if first == "" {
			first, firstJob = s, job
		} else if s != first {
			t.Errorf("job %s installs rtool differently from job %s; keep the copies identical", job, firstJob)
		}
	}
	data, err := os.ReadFile(goreleaserConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ProjectName string `yaml:"project_name"`
		Archives    []struct {
			NameTemplate string   `yaml:"name_template"`
			Formats      []string `yaml:"formats"`
			Files        []string `yaml:"files"`
		} `yaml:"archives"`
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
		} `yaml:"checksum"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Archives) != 1 || cfg.ProjectName != "rtool" || cfg.Archives[0].NameTemplate != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" ||
		strings.Join(cfg.Archives[0].Formats, ",") != "tar.gz" || cfg.Checksum.NameTemplate != "checksums.txt" {
		t.Fatalf(".goreleaser.yaml names its files otherwise than rtool.yml downloads them: %+v", cfg)
	}
	if !contains(cfg.Archives[0].Files, "rtool.yaml") {
		t.Errorf(".goreleaser.yaml archives lack rtool.yaml, which rtool.yml falls back to")
	}
	for _, want := range []string{`archive="rtool_${RTOOL_VERSION#v}_linux_${arch}.tar.gz"`, `"${url}/checksums.txt"`, `tar -xzf "${dir}/${archive}" -C "$dir" rtool rtool.yaml`} {
		if !strings.Contains(first, want) {
			t.Errorf("Install rtool lacks %s", want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// releaseArchive is a stand-in rtool release archive: an rtool that
// reports version, and rtool.yaml.
func releaseArchive(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		mode int64
		data string
	}{
		{"rtool", 0o755, "#!/bin/sh\necho 'rtool version " + version + "'\n"},
		{"rtool.yaml", 0o644, "bases: {}\n"},
		{"LICENSE", 0o644, "MIT\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.data))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// The install step, run for real against a release served on 127.0.0.1:
// it takes the archive of the runner's architecture only when
// checksums.txt vouches for it and it reports the version asked for.
func TestWorkflowsReusableInstallVerifiesChecksum(t *testing.T) {
	script := installScripts(t)["build"]
	arch := map[string]string{"x86_64": "amd64", "aarch64": "arm64"}
	out, err := exec.Command("uname", "-m").Output()
	if err != nil || arch[strings.TrimSpace(string(out))] == "" {
		t.Skipf("no rtool archive for this machine (%s)", out)
	}
	archive := fmt.Sprintf("rtool_1.2.3_linux_%s.tar.gz", arch[strings.TrimSpace(string(out))])
	good := releaseArchive(t, "v1.2.3")
	sum := sha256.Sum256(good)
	checksums := hex.EncodeToString(sum[:]) + "  " + archive + "\n"
	tests := []struct {
		name      string
		version   string
		archive   []byte
		checksums string
		repoCfg   bool // the repository has its own rtool.yaml
		wantErr   string
	}{
		{name: "good release", version: "v1.2.3", archive: good, checksums: checksums},
		{name: "good release, repository's own config", version: "v1.2.3", archive: good, checksums: checksums, repoCfg: true},
		{name: "tampered archive", version: "v1.2.3", archive: append(append([]byte{}, good...), 0), checksums: checksums, wantErr: "FAILED"},
		{name: "archive not in checksums.txt", version: "v1.2.3", archive: good, checksums: hex.EncodeToString(sum[:]) + "  rtool_1.2.3_linux_other.tar.gz\n", wantErr: "no properly formatted"},
		{name: "archive says another version", version: "v1.2.3", archive: releaseArchive(t, "v1.2.4"), wantErr: "says 'rtool version v1.2.4'"},
		{name: "not a release tag", version: "main", archive: good, checksums: checksums, wantErr: "is not a release tag"},
		{name: "no such release", version: "v9.9.9", archive: good, checksums: checksums, wantErr: "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.checksums == "" {
				s := sha256.Sum256(tc.archive)
				tc.checksums = hex.EncodeToString(s[:]) + "  " + archive + "\n"
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/v1.2.3/" + archive:
					w.Write(tc.archive)
				case "/v1.2.3/checksums.txt":
					w.Write([]byte(tc.checksums))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			tmp, work := t.TempDir(), t.TempDir()
			if tc.repoCfg {
				if err := os.WriteFile(filepath.Join(work, "rtool.yaml"), []byte("bases: {}\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{
				"RTOOL_VERSION": tc.version, "RTOOL_REPOSITORY": "joblet/rtool", "RTOOL_DOWNLOAD_URL": srv.URL,
				"CONFIG": "rtool.yaml", "RUNNER_TEMP": tmp,
				"GITHUB_PATH": filepath.Join(tmp, "path"), "GITHUB_ENV": filepath.Join(tmp, "env"), "GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary"),
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = work
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1"}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tc.wantErr) {
					t.Fatalf("install passed or did not say %q: %v\n%s", tc.wantErr, err, out)
				}
				if _, err := os.Stat(env["GITHUB_PATH"]); err == nil {
					t.Errorf("a failed install put rtool on the PATH")
				}
				return
			}
			if err != nil {
				t.Fatalf("install: %v\n%s", err, out)
			}
			path, _ := os.ReadFile(env["GITHUB_PATH"])
			if got := strings.TrimSpace(string(path)); got != filepath.Join(tmp, "rtool") {
				t.Errorf("GITHUB_PATH gets %q, want %s", got, filepath.Join(tmp, "rtool"))
			}
			wantCfg := filepath.Join(tmp, "rtool", "rtool.yaml")
			if tc.repoCfg {
				wantCfg = filepath.Join(work, "rtool.yaml")
			}
			if envFile, _ := os.ReadFile(env["GITHUB_ENV"]); string(envFile) != "RTOOL_CONFIG="+wantCfg+"\n" {
				t.Errorf("GITHUB_ENV gets %q, want RTOOL_CONFIG=%s", envFile, wantCfg)
			}
		})
	}
}

// usesRE is a pinned action: OWNER/REPO[/PATH]@<commit> # vX[.Y[.Z]].
var usesRE = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@([0-9a-f]{40}) # (v\d+(?:\.\d+){0,2})\s*$`)

// Every action is pinned by commit with its version in a comment, one
// version per commit across the workflows, and Dependabot keeps them (and
// the Go modules) current.
func TestWorkflowsPinnedActions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	versionOf := map[string]string{} // action@sha → version
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if !regexp.MustCompile(`^\s*(-\s+)?uses:`).MatchString(line) {
				continue
			}
			if strings.Contains(line, "uses: ./") {
				continue // a workflow or action of this repository
			}
			m := usesRE.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s:%d: %q is not pinned as OWNER/REPO@<commit> # vX.Y.Z", filepath.Base(f), i+1, strings.TrimSpace(line))
				continue
			}
			key := m[1] + "@" + m[2]
			if strings.Contains(m[1], "/") && strings.Count(m[1], "/") > 1 { // actions/cache/restore shares actions/cache's commits
				key = strings.Join(strings.SplitN(m[1], "/", 3)[:2], "/") + "@" + m[2]
			}
			if v, ok := versionOf[key]; ok && v != m[3] {
				t.Errorf("%s:%d: %s is %s here and %s elsewhere", filepath.Base(f), i+1, key, m[3], v)
			}
			versionOf[key] = m[3]
		}
	}
	data, err := os.ReadFile("../.github/dependabot.yml")
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Version int `yaml:"version"`
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Directory string `yaml:"directory"`
		} `yaml:"updates"`
	}
	if err := yaml.Unmarshal(data, &dep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range dep.Updates {
		got[u.Ecosystem] = u.Directory
	}
	if dep.Version != 2 || got["github-actions"] != "/" || got["gomod"] != "/" {
		t.Errorf("dependabot.yml: version %d, updates %v; want version 2 with github-actions and gomod at /", dep.Version, got)
	}
}

// A job that builds installs no more than a build needs (no
// scripts/setup-host.sh, which installs every test tool), restores its base
// from the cache before building, and passes --rebuild only when asked.
func TestWorkflowsBuildJobsLean(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	for _, f := range files {
		w := loadWorkflow(t, filepath.Base(f))
		for jobName, job := range w.Jobs {
			restored, building := false, false
			for _, s := range job.Steps {
				if strings.HasPrefix(s.Uses, "actions/cache/restore@") {
					restored = true
				}
				if !regexp.MustCompile(`rtool"?\)?"? (build|base build) `).MatchString(s.Run) {
					continue
				}
				building = true
				builds++
				if !restored {
					t.Errorf("%s job %s builds before restoring its base from the cache", filepath.Base(f), jobName)
				}
				if strings.Contains(s.Run, "--rebuild") && !strings.Contains(s.Run, `rebuild=(--rebuild)`) {
					t.Errorf("%s job %s step %q passes --rebuild unasked", filepath.Base(f), jobName, s.Name)
				}
			}
			if !building {
				continue
			}
			for _, s := range job.Steps {
				if strings.Contains(s.Run, "setup-host.sh") {
					t.Errorf("%s job %s runs setup-host.sh, which installs test tools a build does not use", filepath.Base(f), jobName)
				}
			}
		}
	}
	if builds < 4 {
		t.Errorf("found %d building steps; the release, bases and reusable workflows have more", builds)
	}
}
