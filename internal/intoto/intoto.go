// Package intoto owns a build's provenance as rtool writes it beside every
// artifact (<artifact>.intoto.json): an in-toto Statement v1 whose subject
// is the artifact (file name and sha256) and whose predicate is SLSA
// Provenance v1, built with the in-toto attestation Go bindings
// (github.com/in-toto/attestation). Its inputs are what the build stamp
// records: the runtime directory (its git tree hash, and the commit when
// the tree is exactly that commit's), the base (configuration hash, suite,
// variant, architecture, mirror or root filesystem), the platform,
// SOURCE_DATE_EPOCH and rtool's version.
//
// The statement is unsigned; the release workflow signs GitHub's own
// provenance of the artifact (actions/attest-build-provenance), and package
// provenance verifies that. It is deterministic: the same inputs give the
// same bytes (no clock is read; protojson's deliberately unstable spacing
// is normalized). It does not run builds or read the environment: the
// builder passes everything in.
package intoto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	// Suffix is appended to an artifact's file name to name its statement.
	Suffix = ".intoto.json"
	// MediaType is the statement file's media type.
	MediaType = "application/vnd.in-toto+json"
	// PredicateType is SLSA Provenance v1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names how rtool builds: a setup script in a chroot over a
	// cached base, the runtime collected and packed reproducibly.
	BuildType = "https://github.com/joblet/rtool/buildtypes/chroot/v1"
	// LocalBuilder is the builder id of a build outside GitHub Actions.
	LocalBuilder = "local"
)

// Inputs is what a statement is made from.
type Inputs struct {
	Artifact string // the artifact's file name
	SHA256   string // its sha256, lowercase hex
	Runtime  string
	Version  string
	Platform string
	// RuntimeDir names the runtime directory: its path in the repository
	// (runtimes/python-3.11) or, outside git, its directory name.
	RuntimeDir string
	// GitTree is the git tree hash of the runtime directory as built
	// (GitTree computes it), whether or not git has it.
	GitTree string
	// Repository ("git+https://github.com/OWNER/REPO") and Commit (the
	// last commit touching the runtime directory) are set only when that
	// commit's tree of the directory is GitTree.
	Repository string
	Commit     string
	// SourceDateEpoch is the build's SOURCE_DATE_EPOCH (seconds).
	SourceDateEpoch int64
	ToolVersion     string
	BuildID         string
	// InputsHash is the build stamp's hash of all inputs.
	InputsHash string
	Base       Base
	// BuilderID identifies who ran the build (BuilderID); empty means
	// LocalBuilder.
	BuilderID string
	// SBOM, when set, is listed as a byproduct.
	SBOM *File
}

// Base is the base root filesystem the build ran on.
type Base struct {
	Key        string // hash of its resolved configuration (its cache key)
	Name       string // its name in rtool.yaml: "default" (bases) or a named base's (named_bases)
	Suite      string
	Variant    string
	Arch       string
	Components []string
	Include    []string
	Mirror     string
	RootfsFile string // a user-supplied tarball ...
	RootfsSHA  string // ... and its sha256
	RootfsDir  string // or directory
}

// File is a file and its sha256.
type File struct {
	Name      string
	SHA256    string
	MediaType string
}

var (
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sha1RE   = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// BuilderID is the builder id of a build run where getenv reads: in GitHub
// Actions, the workflow that ran it ($GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF,
// e.g. https://github.com/OWNER/REPO/.github/workflows/release-runtime.yml@refs/tags/NAME@1.0.0);
// elsewhere LocalBuilder.
func BuilderID(getenv func(string) string) string {
	server, ref := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_WORKFLOW_REF")
	if getenv("GITHUB_ACTIONS") == "true" && server != "" && ref != "" {
		return server + "/" + ref
	}
	return LocalBuilder
}

// RepositoryFromEnv is the repository a GitHub Actions build checked out
// ("git+$GITHUB_SERVER_URL/$GITHUB_REPOSITORY"), or "" elsewhere.
func RepositoryFromEnv(getenv func(string) string) string {
	server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY")
	if getenv("GITHUB_ACTIONS") == "true" && server != "" && repo != "" {
		return "git+" + server + "/" + repo
	}
	return ""
}

// Statement returns the in-toto statement of a build.
func Statement(in Inputs) (*ita1.Statement, error) {
	if in.Artifact == "" || !sha256RE.MatchString(in.SHA256) {
		return nil, fmt.Errorf("provenance statement: the artifact's name and sha256 (64 lowercase hex digits) are required, got %q and %q", in.Artifact, in.SHA256)
	}
	if in.GitTree != "" && !sha1RE.MatchString(in.GitTree) {
		return nil, fmt.Errorf("provenance statement: git tree %q is not 40 lowercase hex digits", in.GitTree)
	}
	if in.Commit != "" && (!sha1RE.MatchString(in.Commit) || in.Repository == "") {
		return nil, fmt.Errorf("provenance statement: commit %q needs 40 lowercase hex digits and a repository", in.Commit)
	}
	external, err := structpb.NewStruct(map[string]any{
		"runtime":         in.Runtime,
		"version":         in.Version,
		"platform":        in.Platform,
		"source":          in.RuntimeDir,
		"sourceDateEpoch": strconv.FormatInt(in.SourceDateEpoch, 10),
	})
	if err != nil {
		return nil, err
	}
	base := map[string]any{"key": in.Base.Key, "platform": in.Platform}
	put := func(m map[string]any, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(base, "name", in.Base.Name)
	put(base, "suite", in.Base.Suite)
	put(base, "variant", in.Base.Variant)
	put(base, "arch", in.Base.Arch)
	put(base, "mirror", in.Base.Mirror)
	put(base, "rootfsFile", in.Base.RootfsFile)
	put(base, "rootfsDir", in.Base.RootfsDir)
	if len(in.Base.Components) > 0 {
		base["components"] = anyList(in.Base.Components)
	}
	if len(in.Base.Include) > 0 {
		base["include"] = anyList(in.Base.Include)
	}
	internal, err := structpb.NewStruct(map[string]any{
		"rtoolVersion": in.ToolVersion,
		"buildId":      in.BuildID,
		"inputs":       in.InputsHash,
		"base":         base,
	})
	if err != nil {
		return nil, err
	}

	var deps []*ita1.ResourceDescriptor
	if in.Commit != "" {
		deps = append(deps, &ita1.ResourceDescriptor{Uri: in.Repository, Digest: map[string]string{"gitCommit": in.Commit}})
	}
	src := &ita1.ResourceDescriptor{Name: in.RuntimeDir}
	if in.GitTree != "" {
		src.Digest = map[string]string{"gitTree": in.GitTree}
	}
	if src.Name == "" && src.Digest == nil {
		return nil, errors.New("provenance statement: the runtime directory has neither a name nor a git tree hash")
	}
	deps = append(deps, src)
	baseDep := &ita1.ResourceDescriptor{Name: "base/" + in.Platform + "@" + in.Base.Key}
	switch {
	case in.Base.Mirror != "":
		baseDep.Uri = in.Base.Mirror
	case in.Base.RootfsSHA != "":
		baseDep.Digest = map[string]string{"sha256": in.Base.RootfsSHA}
	}
	deps = append(deps, baseDep)

	builderID := in.BuilderID
	if builderID == "" {
		builderID = LocalBuilder
	}
	run := &provenance.RunDetails{
		Builder:  &provenance.Builder{Id: builderID, Version: map[string]string{"rtool": in.ToolVersion}},
		Metadata: &provenance.BuildMetadata{InvocationId: in.BuildID},
	}
	if in.SBOM != nil {
		run.Byproducts = append(run.Byproducts, &ita1.ResourceDescriptor{Name: in.SBOM.Name,
			Digest: map[string]string{"sha256": in.SBOM.SHA256}, MediaType: in.SBOM.MediaType})
	}
	pred := &provenance.Provenance{
		BuildDefinition: &provenance.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   external,
			InternalParameters:   internal,
			ResolvedDependencies: deps,
		},
		RunDetails: run,
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance statement: %w", err)
	}
	predJSON, err := protojson.Marshal(pred)
	if err != nil {
		return nil, err
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, predStruct); err != nil {
		return nil, err
	}
	st := &ita1.Statement{
		Type:          ita1.StatementTypeUri,
		Subject:       []*ita1.ResourceDescriptor{{Name: in.Artifact, Digest: map[string]string{"sha256": in.SHA256}}},
		PredicateType: PredicateType,
		Predicate:     predStruct,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance statement: %w", err)
	}
	return st, nil
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Encode returns the statement as two-space indented JSON with a trailing
// newline, the same bytes for the same statement (protojson varies its
// spacing on purpose; the result is compacted and indented again).
func Encode(st *ita1.Statement) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("provenance statement: encode: %w", err)
	}
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Decode parses a statement file: an in-toto Statement v1 with a valid SLSA
// Provenance v1 predicate.
func Decode(data []byte) (*ita1.Statement, *provenance.Provenance, error) {
	st := &ita1.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, nil, fmt.Errorf("in-toto statement: predicate type %q, want %q", st.GetPredicateType(), PredicateType)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, nil, err
	}
	pred := &provenance.Provenance{}
	if err := protojson.Unmarshal(raw, pred); err != nil {
		return nil, nil, fmt.Errorf("SLSA provenance predicate: %w", err)
	}
	if err := pred.Validate(); err != nil {
		return nil, nil, fmt.Errorf("SLSA provenance predicate: %w", err)
	}
	return st, pred, nil
}
