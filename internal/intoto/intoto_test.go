package intoto

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const artifactSHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// stampInputs is what a build of python-3.11 for debian-amd64 records.
func stampInputs() Inputs {
	return Inputs{
		Artifact: "python-3.11-1.0.0-debian-amd64.tar.gz", SHA256: artifactSHA,
		Runtime: "python-3.11", Version: "1.0.0", Platform: "debian-amd64",
		RuntimeDir: "runtimes/python-3.11", GitTree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
		Repository: "git+https://github.com/joblet/rtool", Commit: "976ae20e0d5e5c4f8f6d4e3b2a1908f7e6d5c4b3",
		SourceDateEpoch: 1700000000, ToolVersion: "1.2.3", BuildID: "python-3.11-1.0.0-debian-amd64-0123456789ab",
		InputsHash: strings.Repeat("ab", 32),
		Base: Base{Key: strings.Repeat("cd", 32), Suite: "bookworm", Variant: "minbase", Arch: "amd64",
			Mirror: "http://deb.debian.org/debian", Include: []string{"ca-certificates"}},
		BuilderID: "https://github.com/joblet/rtool/.github/workflows/release-runtime.yml@refs/tags/python-3.11@1.0.0",
		SBOM:      &File{Name: "python-3.11-1.0.0-debian-amd64.tar.gz.spdx.json", SHA256: strings.Repeat("ef", 32), MediaType: "application/spdx+json"},
	}
}

func encode(t *testing.T, in Inputs) []byte {
	t.Helper()
	st, err := Statement(in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStatementGolden(t *testing.T) {
	got := encode(t, stampInputs())
	golden := filepath.Join("testdata", "python-3.11.intoto.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/intoto -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("statement differs from %s (go test ./internal/intoto -update to accept):\n%s", golden, got)
	}
}

// The subject is the artifact's sha256, the statement parses back with the
// library and encodes to the same bytes, and building it again gives the
// same bytes (protojson's random spacing does not leak).
func TestStatementRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Inputs)
	}{
		{"from a release workflow", func(*Inputs) {}},
		{"local, uncommitted, rootfs tarball base", func(in *Inputs) {
			in.Repository, in.Commit, in.BuilderID, in.SBOM = "", "", "", nil
			in.Base = Base{Key: strings.Repeat("12", 32), RootfsFile: "/srv/bases/ubuntu.tar.gz", RootfsSHA: strings.Repeat("34", 32)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := stampInputs()
			tt.modify(&in)
			data := encode(t, in)
			for i := 0; i < 5; i++ {
				if again := encode(t, in); !bytes.Equal(data, again) {
					t.Fatalf("rebuilding the statement gave different bytes:\n%s\n%s", data, again)
				}
			}
			st, pred, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.GetSubject()) != 1 || st.GetSubject()[0].GetDigest()["sha256"] != in.SHA256 || st.GetSubject()[0].GetName() != in.Artifact {
				t.Errorf("subject = %v, want %s with sha256 %s", st.GetSubject(), in.Artifact, in.SHA256)
			}
			if pred.GetBuildDefinition().GetBuildType() != BuildType {
				t.Errorf("buildType = %s", pred.GetBuildDefinition().GetBuildType())
			}
			ext := pred.GetBuildDefinition().GetExternalParameters().AsMap()
			if ext["sourceDateEpoch"] != "1700000000" || ext["platform"] != "debian-amd64" || ext["runtime"] != "python-3.11" {
				t.Errorf("externalParameters = %v", ext)
			}
			wantBuilder := in.BuilderID
			if wantBuilder == "" {
				wantBuilder = LocalBuilder
			}
			if got := pred.GetRunDetails().GetBuilder().GetId(); got != wantBuilder {
				t.Errorf("builder.id = %s, want %s", got, wantBuilder)
			}
			var commit, tree string
			for _, d := range pred.GetBuildDefinition().GetResolvedDependencies() {
				if c := d.GetDigest()["gitCommit"]; c != "" {
					commit = c
				}
				if c := d.GetDigest()["gitTree"]; c != "" {
					tree = c
				}
			}
			if commit != in.Commit || tree != in.GitTree {
				t.Errorf("resolved commit %q tree %q, want %q %q", commit, tree, in.Commit, in.GitTree)
			}
			again, err := Encode(st)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("decode + encode changed the bytes")
			}
		})
	}
}

func TestStatementErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Inputs)
		want   string
	}{
		{"no artifact", func(in *Inputs) { in.Artifact = "" }, "the artifact's name and sha256"},
		{"short sha", func(in *Inputs) { in.SHA256 = "abc" }, `"abc"`},
		{"bad tree", func(in *Inputs) { in.GitTree = "xyz" }, `git tree "xyz"`},
		{"commit without repository", func(in *Inputs) { in.Repository = "" }, "needs 40 lowercase hex digits and a repository"},
		{"no source at all", func(in *Inputs) { in.RuntimeDir, in.GitTree, in.Commit = "", "", "" }, "neither a name nor a git tree hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := stampInputs()
			tt.modify(&in)
			_, err := Statement(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := string(encode(t, stampInputs()))
	tests := []struct{ name, data, want string }{
		{"not json", "{", "not an in-toto statement"},
		{"wrong type", strings.Replace(good, "https://in-toto.io/Statement/v1", "https://example.com/x", 1), "wrong statement type"},
		{"other predicate", strings.Replace(good, PredicateType, "https://example.com/p", 1), "predicate type"},
		{"no builder id", strings.Replace(good, `"id": "https://github.com`, `"idx": "https://github.com`, 1), "SLSA provenance predicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBuilderID(t *testing.T) {
	tests := []struct {
		env        map[string]string
		want, repo string
	}{
		{map[string]string{}, LocalBuilder, ""},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
			"GITHUB_WORKFLOW_REF": "o/r/.github/workflows/release-runtime.yml@refs/tags/x@1.0.0"},
			"https://github.com/o/r/.github/workflows/release-runtime.yml@refs/tags/x@1.0.0", "git+https://github.com/o/r"},
		{map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_WORKFLOW_REF": "o/r/.github/workflows/x.yml@refs/heads/main"},
			LocalBuilder, ""}, // not in Actions: stray variables do not count
	}
	for _, tt := range tests {
		getenv := func(k string) string { return tt.env[k] }
		if got := BuilderID(getenv); got != tt.want {
			t.Errorf("BuilderID(%v) = %s, want %s", tt.env, got, tt.want)
		}
		if got := RepositoryFromEnv(getenv); got != tt.repo {
			t.Errorf("RepositoryFromEnv(%v) = %s, want %s", tt.env, got, tt.repo)
		}
	}
}

// GitTree agrees with git itself.
func TestGitTreeMatchesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	dir := filepath.Join(repo, "runtimes", "demo")
	files := map[string]string{
		"manifest.yaml":      "name: demo\n",
		"setup.sh":           "#!/bin/sh\n",
		"a-b/x.txt":          "x",
		"a/y.txt":            "y",
		"a.c":                "sorts between a and a/",
		"deep/er/still/z.sh": "#!/bin/sh\necho z\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("manifest.yaml", filepath.Join(dir, "link"))
	os.MkdirAll(filepath.Join(dir, "empty", "dirs"), 0o755)
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@e", "-c", "core.fileMode=true"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	want := git("rev-parse", "HEAD:runtimes/demo")
	got, err := GitTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("GitTree = %s, git says %s", got, want)
	}
	// a change git has not seen gives another hash
	os.WriteFile(filepath.Join(dir, "a", "y.txt"), []byte("changed"), 0o644)
	if changed, _ := GitTree(dir); changed == want {
		t.Error("an edited file did not change the tree hash")
	}
	empty, err := GitTree(t.TempDir())
	if err != nil || empty != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("empty tree = %s, %v; want git's empty tree", empty, err)
	}
}

func TestBundleStatement(t *testing.T) {
	stmt := encode(t, stampInputs())
	bundle := func(mediaType, payloadType, payload string) string {
		return `{"mediaType": "` + mediaType + `", "verificationMaterial": {}, "dsseEnvelope": {"payload": "` + payload +
			`", "payloadType": "` + payloadType + `", "signatures": [{"sig": "AAAA"}]}}`
	}
	good := base64.StdEncoding.EncodeToString(stmt)
	tests := []struct {
		name, data, want string
	}{
		{"attestation bundle", bundle("application/vnd.dev.sigstore.bundle.v0.3+json", MediaType, good), ""},
		{"not json", "{", "not a Sigstore bundle (JSON)"},
		{"other media type", bundle("application/json", MediaType, good), `mediaType "application/json"`},
		{"message signature", `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "messageSignature": {}}`, "signs no DSSE envelope"},
		{"other payload", bundle("application/vnd.dev.sigstore.bundle.v0.3+json", "text/plain", good), `carries "text/plain"`},
		{"bad base64", bundle("application/vnd.dev.sigstore.bundle.v0.3+json", MediaType, "%%%"), "not base64"},
		{"payload not a statement", bundle("application/vnd.dev.sigstore.bundle.v0.3+json", MediaType, base64.StdEncoding.EncodeToString([]byte(`{"_type": "x"}`))), "wrong statement type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := BundleStatement([]byte(tt.data))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error = %v, want it to contain %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !HasSubject(st, "python-3.11-1.0.0-debian-amd64.tar.gz", artifactSHA) || !HasSubject(st, "", artifactSHA) {
				t.Error("the artifact is not a subject")
			}
			if HasSubject(st, "", strings.Repeat("0", 64)) || HasSubject(st, "other.tar.gz", artifactSHA) {
				t.Error("HasSubject accepts another file")
			}
		})
	}
}
