package release

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// attestWorkflow is what TestWorkflowsAttestBuilds reads of a workflow.
type attestWorkflow struct {
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func loadAttestWorkflow(t *testing.T, name string) attestWorkflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var w attestWorkflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// The release workflows attest every artifact they build and hand the
// Sigstore bundle, the SBOM and the provenance statement to the publish
// job; only jobs that attest may mint OIDC tokens and write attestations.
func TestWorkflowsAttestBuilds(t *testing.T) {
	pinned := regexp.MustCompile(`^actions/attest-build-provenance@[0-9a-f]{40}$`)
	for _, name := range []string{"release-runtime.yml", "release-all.yml"} {
		t.Run(name, func(t *testing.T) {
			w := loadAttestWorkflow(t, name)
			job, ok := w.Jobs["build"]
			if !ok {
				t.Fatal("no build job")
			}
			if job.Permissions["id-token"] != "write" || job.Permissions["attestations"] != "write" || job.Permissions["contents"] != "read" || len(job.Permissions) != 3 {
				t.Errorf("build job permissions %v, want contents: read, id-token: write, attestations: write", job.Permissions)
			}
			var attest, keep, upload bool
			for _, s := range job.Steps {
				switch {
				case strings.HasPrefix(s.Uses, "actions/attest-build-provenance@"):
					attest = true
					if !pinned.MatchString(s.Uses) {
						t.Errorf("%s is not pinned by commit", s.Uses)
					}
					if s.With["subject-path"] != "out/${{ matrix.runtime }}-${{ matrix.version }}-${{ matrix.platform }}.tar.gz" {
						t.Errorf("attests %q, want the artifact alone", s.With["subject-path"])
					}
				case strings.Contains(s.Run, `"out/${ARTIFACT}.sigstore.json"`):
					keep = attest
				case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
					upload = keep
					for _, glob := range []string{"out/*.tar.gz", "out/*.spdx.json", "out/*.intoto.json", "out/*.sigstore.json"} {
						if !strings.Contains(s.With["path"], glob) {
							t.Errorf("upload-artifact does not upload %s", glob)
						}
					}
				}
			}
			if !attest || !keep || !upload {
				t.Errorf("build job: attest %v, then keep the bundle beside the artifact %v, then upload %v", attest, keep, upload)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	for _, f := range files {
		w := loadAttestWorkflow(t, filepath.Base(f))
		if w.Permissions["id-token"] != "" || w.Permissions["attestations"] != "" {
			t.Errorf("%s grants id-token or attestations to every job", filepath.Base(f))
		}
		for jobName, job := range w.Jobs {
			attests := false
			for _, s := range job.Steps {
				attests = attests || strings.HasPrefix(s.Uses, "actions/attest")
			}
			if (job.Permissions["id-token"] != "" || job.Permissions["attestations"] != "") && !attests {
				t.Errorf("%s job %s has permissions %v but attests nothing; id-token and attestations belong only where an attestation is made", filepath.Base(f), jobName, job.Permissions)
			}
		}
	}
}
