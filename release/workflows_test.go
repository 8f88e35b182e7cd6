package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"gopkg.in/yaml.v3"
)

const workflowsDir = "../.github/workflows"

// findActionlint finds actionlint (see findGoTool).
func findActionlint(t *testing.T) string {
	t.Helper()
	return findGoTool(t, "actionlint", "github.com/rhysd/actionlint/cmd/actionlint@v1.7.7")
}

// findGoTool looks for the command name on PATH, then where `go install`
// puts it ($GOBIN, $(go env GOPATH)/bin), since scripts/setup-host.sh
// installs these tools with go install and that directory is often not on
// PATH. Missing, it skips the test (fails it in CI) naming the install.
func findGoTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				dirs = append(dirs, lines[0])
			}
			for _, p := range filepath.SplitList(lines[1]) {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	testenv.Require(t, false, "test needs "+name+" (go install "+pkg+", which scripts/setup-host.sh runs)")
	return ""
}

func TestWorkflowsActionlint(t *testing.T) {
	bin := findActionlint(t)
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in %s: %v", workflowsDir, err)
	}
	cmd := exec.Command(bin, append([]string{"-no-color"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Permissions map[string]string `yaml:"permissions"`
		Concurrency *struct {
			Group            string `yaml:"group"`
			CancelInProgress bool   `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func loadWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// TestWorkflowsPolicy checks what actionlint cannot: triggers, minimal
// permissions, the registry.json concurrency group and step summaries.
func TestWorkflowsPolicy(t *testing.T) {
	triggers := map[string]string{
		"validate.yml":        "pull_request",
		"release-runtime.yml": `push tags *@*.*.*`,
		"release-all.yml":     `push tags runtimes-*`,
		"release-rtool.yml":   `push tags v*.*.*`,
		"bases.yml":           "schedule",
		"rtool.yml":           "workflow_call",
	}
	// rtool commands that write their own step summary
	summarized := regexp.MustCompile(`(^|[\s/])rtool (validate|plan|publish|release)\b`)
	for name, trigger := range triggers {
		t.Run(name, func(t *testing.T) {
			w := loadWorkflow(t, name)
			if strings.HasPrefix(trigger, "push tags ") {
				push, _ := w.On["push"].(map[string]any)
				tags, _ := push["tags"].([]any)
				if len(tags) == 0 || tags[0] != strings.TrimPrefix(trigger, "push tags ") {
					t.Errorf("trigger: on.push.tags = %v, want %s first", tags, strings.TrimPrefix(trigger, "push tags "))
				}
			} else if _, ok := w.On[trigger]; !ok {
				t.Errorf("trigger: on = %v, want %s", w.On, trigger)
			}
			if len(w.Permissions) != 1 || w.Permissions["contents"] != "read" {
				t.Errorf("top-level permissions %v, want contents: read only", w.Permissions)
			}
			for jobName, job := range w.Jobs {
				writesRegistry, releasesRtool := false, false
				for _, s := range job.Steps {
					if strings.Contains(s.Run, "rtool publish") {
						writesRegistry = true
					}
					if strings.HasPrefix(s.Uses, "goreleaser/goreleaser-action@") && strings.HasPrefix(s.With["args"], "release") {
						releasesRtool = true
					}
					if s.Run != "" && !strings.Contains(s.Run, "GITHUB_STEP_SUMMARY") && !summarized.MatchString(s.Run) {
						t.Errorf("job %s step %q writes nothing to $GITHUB_STEP_SUMMARY", jobName, s.Name)
					}
				}
				if writesRegistry {
					if job.Permissions["contents"] != "write" {
						t.Errorf("job %s publishes but lacks contents: write", jobName)
					}
					if job.Concurrency == nil || job.Concurrency.Group != "registry-json" || job.Concurrency.CancelInProgress {
						t.Errorf("job %s writes registry.json outside the shared concurrency group registry-json (cancel-in-progress false): %+v", jobName, job.Concurrency)
					}
				} else if releasesRtool {
					if len(job.Permissions) != 1 || job.Permissions["contents"] != "write" {
						t.Errorf("job %s releases rtool with permissions %v, want contents: write only", jobName, job.Permissions)
					}
				} else if len(job.Permissions) > 0 && job.Permissions["contents"] != "read" {
					t.Errorf("job %s does not publish but asks for permissions %v", jobName, job.Permissions)
				}
			}
		})
	}
}
