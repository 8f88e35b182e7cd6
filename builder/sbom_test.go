package builder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/joblet/rtool/internal/intoto"
	"github.com/joblet/rtool/internal/sbom"
)

// A real build writes an SBOM listing the Debian package its files come
// from and a provenance statement whose subject is the artifact; a rebuild
// of the same inputs writes both byte for byte again; a build is not reused
// while either is missing.
func TestBuildWritesSBOMAndProvenance(t *testing.T) {
	b := rootBuilder(t, nil)
	ctx := t.Context()
	dir := tinyRuntime(t, "tiny-sbom", "", tinyOK)
	out := t.TempDir()
	req := Request{RuntimeDir: dir, Platform: "debian-amd64", OutDir: out}
	first, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sbomData, err := os.ReadFile(first.SBOMPath)
	if err != nil {
		t.Fatal(err)
	}
	provData, err := os.ReadFile(first.ProvenancePath)
	if err != nil {
		t.Fatal(err)
	}

	sum, err := sbom.Summarize(sbomData, first.Stats.SHA256)
	if err != nil {
		t.Fatalf("SBOM of the artifact: %v", err)
	}
	if !reflect.DeepEqual(sum.Counts, map[string]int{"deb": 1}) || sum.Packages[0].Name != "dash" {
		t.Fatalf("SBOM lists %+v, want exactly dash (the tree holds a copy of /usr/bin/dash)", sum.Packages)
	}
	dash := sum.Packages[0]
	if !strings.HasPrefix(dash.PURL, "pkg:deb/debian/dash@0.5.") || !strings.Contains(dash.PURL, "arch=amd64&distro=debian-12") ||
		dash.Version == "" || dash.License == sbom.NoAssertion {
		t.Errorf("dash = %+v", dash)
	}

	st, pred, err := intoto.Decode(provData)
	if err != nil {
		t.Fatalf("provenance: %v", err)
	}
	if d := st.GetSubject()[0].GetDigest()["sha256"]; d != first.Stats.SHA256 {
		t.Errorf("statement subject sha256 %s, artifact %s", d, first.Stats.SHA256)
	}
	sbomSum := sha256.Sum256(sbomData)
	if bp := pred.GetRunDetails().GetByproducts(); len(bp) != 1 || bp[0].GetDigest()["sha256"] != hex.EncodeToString(sbomSum[:]) {
		t.Errorf("byproducts %v do not name the SBOM's sha256", bp)
	}
	tree, err := intoto.GitTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(provData, []byte(`"gitTree": "`+tree+`"`)) || bytes.Contains(provData, []byte("gitCommit")) {
		t.Errorf("the statement should name the runtime directory's tree %s and no commit (it is not in git):\n%s", tree, provData)
	}
	if id := pred.GetRunDetails().GetBuilder().GetId(); id != intoto.LocalBuilder {
		t.Errorf("builder.id %s", id)
	}

	req.Rebuild = true
	again, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Stats.SHA256 != first.Stats.SHA256 {
		t.Fatalf("rebuild gave another artifact")
	}
	for _, f := range []struct {
		path string
		want []byte
	}{{again.SBOMPath, sbomData}, {again.ProvenancePath, provData}} {
		if got, err := os.ReadFile(f.path); err != nil || !bytes.Equal(got, f.want) {
			t.Errorf("rebuild changed %s (%v):\n%s", f.path, err, got)
		}
	}

	req.Rebuild = false
	os.Remove(first.SBOMPath)
	rebuilt, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Skipped {
		t.Error("a build without its SBOM was reused")
	}
	if _, err := os.Stat(first.SBOMPath); err != nil {
		t.Errorf("the SBOM was not written again: %v", err)
	}
	if skipped, err := b.Build(ctx, req); err != nil || !skipped.Skipped {
		t.Errorf("a complete build was not reused: %+v, %v", skipped, err)
	}
}
