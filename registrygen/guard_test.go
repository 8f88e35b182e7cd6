package registrygen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// TestMergeKeepsPublishedReleasedAt: once an entry is complete (published),
// a fragment dated earlier does not move its released_at; per-platform
// fragments still merge to the same bytes in every order.
func TestMergeKeepsPublishedReleasedAt(t *testing.T) {
	plats := []string{"ubuntu-amd64", "ubuntu-arm64", "debian-amd64"}
	frags := []*schema.Registry{
		platformFragment(t, "rt", "1.0.0", plats, "ubuntu-amd64", "x", t0.Add(3*time.Hour)),
		platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "x", t0.Add(1*time.Hour)),
		platformFragment(t, "rt", "1.0.0", plats, "debian-amd64", "x", t0.Add(2*time.Hour)),
	}
	var published *schema.Registry
	var want []byte
	for i, order := range permutations(len(frags)) {
		r := New()
		for step, f := range order {
			r, _ = mustMerge(t, r, frags[f], MergeOptions{Now: t0.Add(time.Duration(100+i*10+step) * time.Minute)})
		}
		got := encode(t, r)
		if want == nil {
			want, published = got, r
			if e := r.Runtimes["rt"]["1.0.0"]; e.ReleasedAt != FormatTime(t0.Add(time.Hour)) {
				t.Fatalf("released_at %s, want the earliest fragment's", e.ReleasedAt)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("order %v gives different bytes", order)
		}
	}
	// Fragments that each carry the same source package (add --source in
	// every matrix job) have the top-level checksum from the start; they
	// still merge in any order.
	src := file("rt-1.0.0.tar.gz", 77)
	var withSource []*schema.Registry
	for i, p := range plats {
		f := file(schema.ArtifactName("rt", "1.0.0", p), 1000)
		r, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: plats, Source: src,
			Artifacts: []PlatformFile{{Platform: p, File: f}}, URL: urlTemplate, ReleasedAt: t0.Add(time.Duration(3-i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		withSource = append(withSource, r)
	}
	want = nil
	for _, order := range permutations(len(withSource)) {
		r := New()
		for _, f := range order {
			r, _ = mustMerge(t, r, withSource[f], MergeOptions{Now: t0.Add(9 * time.Hour)})
		}
		got := encode(t, r)
		if want == nil {
			want = got
			if e := r.Runtimes["rt"]["1.0.0"]; e.ReleasedAt != FormatTime(t0.Add(time.Hour)) {
				t.Fatalf("with --source: released_at %s, want the earliest fragment's", e.ReleasedAt)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("with --source: order %v gives different bytes", order)
		}
	}

	// The published entry is complete: an earlier-dated fragment of it (a
	// stale re-run) leaves released_at and the bytes untouched.
	early := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "x", t0.Add(-48*time.Hour))
	out, changes := mustMerge(t, published, early, MergeOptions{Now: t0.Add(24 * time.Hour)})
	if got := out.Runtimes["rt"]["1.0.0"].ReleasedAt; got != FormatTime(t0.Add(time.Hour)) {
		t.Errorf("merging an earlier fragment moved the published released_at to %s", got)
	}
	if len(changes) != 0 || !bytes.Equal(encode(t, out), encode(t, published)) {
		t.Errorf("merging an earlier fragment changed the registry: %v", changes)
	}
	// The same for an upstream-style entry (top-level download only, no
	// artifacts) once it has a released_at.
	up := New()
	ue := upstreamEntry("py", "1.0.0")
	ue.ReleasedAt = FormatTime(t0)
	up.Runtimes["py"] = map[string]*schema.RegistryEntry{"1.0.0": ue}
	inc := New()
	ie := cloneEntry(ue)
	ie.ReleasedAt = FormatTime(t0.Add(-time.Hour))
	inc.Runtimes["py"] = map[string]*schema.RegistryEntry{"1.0.0": ie}
	out, changes = mustMerge(t, up, inc, MergeOptions{Now: t0.Add(time.Hour)})
	if got := out.Runtimes["py"]["1.0.0"].ReleasedAt; got != FormatTime(t0) || len(changes) != 0 {
		t.Errorf("upstream-style entry: released_at %s, changes %v", got, changes)
	}
}

// TestCheckHistoryFlagsRewrittenReleasedAt: a released_at set in the
// previous registry that differs (or vanished) in the current one is a
// history problem.
func TestCheckHistoryFlagsRewrittenReleasedAt(t *testing.T) {
	prev := New()
	a := upstreamEntry("rt", "1.0.0")
	a.ReleasedAt = FormatTime(t0)
	b := upstreamEntry("rt", "1.1.0")
	b.ReleasedAt = FormatTime(t0.Add(time.Hour))
	c := upstreamEntry("rt", "1.2.0") // no released_at: filling it later is fine
	prev.Runtimes["rt"] = map[string]*schema.RegistryEntry{"1.0.0": a, "1.1.0": b, "1.2.0": c}
	cur := New()
	a2, b2, c2 := cloneEntry(a), cloneEntry(b), cloneEntry(c)
	a2.ReleasedAt = FormatTime(t0.Add(-time.Hour))
	b2.ReleasedAt = ""
	c2.ReleasedAt = FormatTime(t0)
	cur.Runtimes["rt"] = map[string]*schema.RegistryEntry{"1.0.0": a2, "1.1.0": b2, "1.2.0": c2}
	var he *HistoryError
	if err := CheckHistory(prev, cur); !errors.As(err, &he) {
		t.Fatalf("CheckHistory accepted rewritten released_at: %v", err)
	}
	if len(he.Problems) != 2 {
		t.Fatalf("problems %v, want 1.0.0 and 1.1.0", he.Problems)
	}
	p := he.Problems[0]
	if p.Kind != "released_at" || p.Version != "1.0.0" || p.Old != FormatTime(t0) || p.New != FormatTime(t0.Add(-time.Hour)) {
		t.Errorf("problem %+v", p)
	}
	if he.Problems[1].Version != "1.1.0" || he.Problems[1].New != "" {
		t.Errorf("problem %+v", he.Problems[1])
	}
	msg := he.Error()
	for _, want := range []string{"2 released_at(s) rewritten", "changed rt@1.0.0: released_at 2026-03-01T12:00:00Z → 2026-03-01T11:00:00Z", "changed rt@1.1.0: released_at 2026-03-01T13:00:00Z → (none)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if err := CheckHistory(prev, prev); err != nil {
		t.Errorf("unchanged registry: %v", err)
	}
}

// TestVerifyArtifactNotGzip: an artifact replaced by bytes that are not a
// gzip stream is a finding naming the file and both checksums, not an
// I/O error.
func TestVerifyArtifactNotGzip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, _, _ := makeTarGz(t, dir, "rt-1.0.0-ubuntu-amd64.tar.gz", map[string]string{"runtime.yml": "name: rt\n"})
	a, err := InspectArtifact(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// With a source package the artifact is not also the top-level
	// download, so it is inspected on its own.
	srcPath, _, _ := makeTarGz(t, dir, "rt-1.0.0.tar.gz", map[string]string{"rt/manifest.yaml": "name: rt\n"})
	src, err := HashFile(ctx, srcPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Fragment(FragmentSpec{Name: "rt", Version: "1.0.0", Platforms: []string{"ubuntu-amd64"}, Source: src,
		Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: a}}, URL: urlTemplate, ReleasedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("tamper"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("tamper"))
	actual := schema.ChecksumPrefix + hex.EncodeToString(sum[:])
	rep, err := Verify(ctx, r, VerifyOptions{ArtifactsDir: dir})
	if err != nil {
		t.Fatalf("verify returned an error instead of a finding: %v", err)
	}
	if rep.OK() {
		t.Fatal("verify passed a tampered artifact")
	}
	all := rep.Problems.Error()
	for _, want := range []string{filepath.Join(dir, "rt-1.0.0-ubuntu-amd64.tar.gz"), a.Checksum, actual, "not a readable .tar.gz"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if len(rep.Checked) != 2 {
		t.Errorf("checked %v", rep.Checked)
	}
}
