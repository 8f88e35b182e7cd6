package registrygen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func encode(t *testing.T, r *schema.Registry) []byte {
	t.Helper()
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadUpstream(t *testing.T) *schema.Registry {
	t.Helper()
	r, err := Load(upstreamRegistry)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// file is an EntryFile with a checksum derived from id.
func file(id string, size int64) *EntryFile {
	return &EntryFile{Path: "/out/" + id, Checksum: fakeChecksum(id), Size: size}
}

const urlTemplate = "https://github.com/o/r/releases/download/{tag}/{file}"

// platformFragment is what one matrix job produces: one platform's artifact.
func platformFragment(t *testing.T, name, version string, platforms []string, platform, build string, at time.Time) *schema.Registry {
	t.Helper()
	f := file(schema.ArtifactName(name, version, platform), 1000)
	f.Checksum = fakeChecksum(name, version, platform, build)
	f.UnpackedSize, f.Entries = 5000, 42
	r, err := Fragment(FragmentSpec{
		Name: name, Version: version, Description: "desc of " + name, Platforms: platforms,
		Artifacts: []PlatformFile{{Platform: platform, File: f}},
		URL:       urlTemplate, ReleasedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustMerge(t *testing.T, base, in *schema.Registry, opts MergeOptions) (*schema.Registry, Changes) {
	t.Helper()
	out, ch, err := Merge(base, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, ch
}

func TestMergeAddsVersionAndStampsTimes(t *testing.T) {
	base := loadUpstream(t)
	in := New()
	in.Runtimes["python-3.11"] = map[string]*schema.RegistryEntry{"1.4.0": upstreamEntry("python-3.11", "1.4.0")}
	out, changes := mustMerge(t, base, in, MergeOptions{Now: t0})
	if want := (Changes{{Kind: ChangeAdded, Name: "python-3.11", Version: "1.4.0"}}); !slices.Equal(changes, want) {
		t.Errorf("changes = %v, want %v", changes, want)
	}
	e := out.Runtimes["python-3.11"]["1.4.0"]
	if e == nil || e.ReleasedAt != "2026-03-01T12:00:00Z" {
		t.Fatalf("new entry %+v: released_at should be Now", e)
	}
	if out.UpdatedAt != "2026-03-01T12:00:00Z" {
		t.Errorf("updated_at = %s, want the new version's time", out.UpdatedAt)
	}
	if len(out.Runtimes["python-3.11"]) != len(base.Runtimes["python-3.11"])+1 {
		t.Errorf("versions were lost or duplicated")
	}
	// Re-merging the same version later, with a later Now: nothing changes.
	again, changes := mustMerge(t, out, in, MergeOptions{Now: t0.Add(48 * time.Hour)})
	if len(changes) != 0 {
		t.Errorf("re-run changed %v", changes)
	}
	if !bytes.Equal(encode(t, again), encode(t, out)) {
		t.Errorf("re-run is not byte-identical")
	}
}

func TestMergeSameChecksumIsNoOp(t *testing.T) {
	base := loadUpstream(t)
	before := encode(t, base)
	// Merging the registry into itself, and a later copy of one of its
	// entries (as a re-run of a release job produces), changes nothing.
	frag := New()
	frag.UpdatedAt = "2027-01-01T00:00:00Z"
	e := *base.Runtimes["openjdk-21"]["1.3.1"]
	e.ReleasedAt = "" // a re-run without released_at must not invent one
	frag.Runtimes["openjdk-21"] = map[string]*schema.RegistryEntry{"1.3.1": &e}
	for _, in := range []*schema.Registry{base, frag} {
		out, changes := mustMerge(t, base, in, MergeOptions{Now: t0})
		if len(changes) != 0 {
			t.Errorf("changes %v", changes)
		}
		if got := encode(t, out); !bytes.Equal(got, before) {
			t.Errorf("no-op merge changed the bytes")
		}
	}
}

func TestMergeConflictNamesBothChecksumsAndLeavesInputs(t *testing.T) {
	base := loadUpstream(t)
	plats := []string{"ubuntu-amd64", "debian-amd64"}
	base, _ = mustMerge(t, base, platformFragment(t, "python-3.11", "2.0.0", plats, "ubuntu-amd64", "a", t0), MergeOptions{Now: t0})
	before := encode(t, base)

	rebuilt := platformFragment(t, "python-3.11", "2.0.0", plats, "ubuntu-amd64", "b", t0.Add(time.Hour))
	inBefore := encode(t, rebuilt)
	_, _, err := Merge(base, rebuilt, MergeOptions{Now: t0})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ConflictError, got %v", err)
	}
	old, neu := base.Runtimes["python-3.11"]["2.0.0"].Checksum, rebuilt.Runtimes["python-3.11"]["2.0.0"].Checksum
	// Both the top-level download (the primary artifact) and the artifact conflict.
	if len(ce.Conflicts) != 2 {
		t.Errorf("conflicts = %v, want top-level and artifact", ce.Conflicts)
	}
	for _, want := range []string{old, neu, "python-3.11@2.0.0 [ubuntu-amd64]", "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if !bytes.Equal(encode(t, base), before) || !bytes.Equal(encode(t, rebuilt), inBefore) {
		t.Errorf("Merge modified its inputs")
	}
}

func TestMergeForceReplacesAndRecords(t *testing.T) {
	base := loadUpstream(t)
	old := base.Runtimes["python-3.11"]["1.3.1"]
	in := New()
	e := *old
	e.Checksum = fakeChecksum("rebuilt")
	e.Size = 777
	in.Runtimes["python-3.11"] = map[string]*schema.RegistryEntry{"1.3.1": &e}
	out, changes := mustMerge(t, base, in, MergeOptions{Now: t0, Force: true})
	got := out.Runtimes["python-3.11"]["1.3.1"]
	if got.Checksum != e.Checksum || got.Size != 777 {
		t.Errorf("force did not replace: %+v", got)
	}
	want := []schema.ForcedChange{{Date: "2026-03-01T12:00:00Z", OldChecksum: old.Checksum, NewChecksum: e.Checksum}}
	if !slices.EqualFunc(got.Forced, want, sameForced) {
		t.Errorf("forced = %+v, want %+v", got.Forced, want)
	}
	if len(changes) != 1 || changes[0].Kind != ChangeForced {
		t.Errorf("changes = %v", changes)
	}
	if old.Checksum == got.Checksum || len(old.Forced) != 0 {
		t.Errorf("base entry was modified")
	}
	// The recorded change satisfies the history guard; an unrecorded one does not.
	if err := CheckHistory(base, out); err != nil {
		t.Errorf("history guard rejects a recorded forced change: %v", err)
	}
	unrecorded, _ := mustMerge(t, out, New(), MergeOptions{})
	unrecorded.Runtimes["python-3.11"]["1.3.1"].Forced = nil
	if err := CheckHistory(base, unrecorded); err == nil {
		t.Errorf("history guard accepts an unrecorded checksum change")
	}
}

func TestMergeNeverRemoves(t *testing.T) {
	base := loadUpstream(t)
	// An incoming registry with only one version (what upstream's release
	// step wrote) removes nothing.
	in := New()
	in.Runtimes["graalvmjdk-21"] = map[string]*schema.RegistryEntry{"1.3.1": base.Runtimes["graalvmjdk-21"]["1.3.1"]}
	out, changes := mustMerge(t, base, in, MergeOptions{Now: t0})
	if len(changes) != 0 {
		t.Errorf("changes = %v", changes)
	}
	if err := CheckHistory(base, out); err != nil {
		t.Error(err)
	}
}

func TestMergeReleasedAtSetOnceEarliestWins(t *testing.T) {
	plats := []string{"ubuntu-amd64", "ubuntu-arm64"}
	a := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-amd64", "x", t0.Add(2*time.Hour))
	b := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "x", t0)
	ab, _ := mustMerge(t, a, b, MergeOptions{Now: t0.Add(5 * time.Hour)})
	if got := ab.Runtimes["rt"]["1.0.0"].ReleasedAt; got != FormatTime(t0) {
		t.Errorf("released_at = %s, want the earliest fragment's %s", got, FormatTime(t0))
	}
	// Once set, a later release of the same content does not move it.
	later := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "x", t0.Add(24*time.Hour))
	out, changes := mustMerge(t, ab, later, MergeOptions{Now: t0.Add(24 * time.Hour)})
	if len(changes) != 0 || out.Runtimes["rt"]["1.0.0"].ReleasedAt != FormatTime(t0) {
		t.Errorf("a later re-run moved released_at or changed %v", changes)
	}
	if out.UpdatedAt != ab.UpdatedAt {
		t.Errorf("updated_at moved without a change: %s → %s", ab.UpdatedAt, out.UpdatedAt)
	}
}

func TestMergeArtifactsPerPlatform(t *testing.T) {
	plats := []string{"ubuntu-amd64", "ubuntu-arm64"}
	arm := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "x", t0)
	e := arm.Runtimes["rt"]["1.0.0"]
	if e.Checksum != "" {
		t.Fatalf("a non-primary fragment claims the top-level download: %+v", e)
	}
	armOnly, armChanges := mustMerge(t, New(), arm, MergeOptions{Now: t0})
	if got := Pending(armOnly, armChanges); len(got) != 1 || got[0].String() != "rt@1.0.0: waiting for the ubuntu-amd64 artifact" {
		t.Errorf("Pending = %v", got)
	}
	amd := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-amd64", "x", t0)
	out, changes := mustMerge(t, arm, amd, MergeOptions{Now: t0})
	if got := Pending(out, changes); len(got) != 0 {
		t.Errorf("Pending after the primary merged = %v", got)
	}
	got := out.Runtimes["rt"]["1.0.0"]
	if len(got.Artifacts) != 2 || got.Checksum != got.Artifacts["ubuntu-amd64"].Checksum {
		t.Errorf("merged entry %+v: want both artifacts and the primary's top-level download", got)
	}
	kinds := []ChangeKind{}
	for _, c := range changes {
		kinds = append(kinds, c.Kind)
	}
	if !slices.Equal(kinds, []ChangeKind{ChangeFilled, ChangeArtifactAdded}) {
		t.Errorf("changes = %v", changes)
	}
	// A different build of the arm64 artifact conflicts on that platform only.
	arm2 := platformFragment(t, "rt", "1.0.0", plats, "ubuntu-arm64", "y", t0)
	_, _, err := Merge(out, arm2, MergeOptions{Now: t0})
	var ce *ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Platform != "ubuntu-arm64" {
		t.Errorf("want one arm64 conflict, got %v", err)
	}
}

func TestMergeKeepsYank(t *testing.T) {
	base := loadUpstream(t)
	yanked, err := Yank(base, "python-3.11", "1.3.2", "broken pip", t0)
	if err != nil {
		t.Fatal(err)
	}
	// A fragment with the un-yanked entry does not un-yank it.
	out, changes := mustMerge(t, yanked, base, MergeOptions{Now: t0.Add(time.Hour)})
	if len(changes) != 0 || out.Runtimes["python-3.11"]["1.3.2"].Yanked == nil {
		t.Errorf("merge un-yanked: %v", changes)
	}
	// Merging the yanked registry into the plain one brings the yank in.
	out, changes = mustMerge(t, base, yanked, MergeOptions{Now: t0.Add(time.Hour)})
	if y := out.Runtimes["python-3.11"]["1.3.2"].Yanked; y == nil || y.Reason != "broken pip" || y.Date != FormatTime(t0) {
		t.Errorf("yank not merged: %+v", y)
	}
	if len(changes) != 1 || changes[0].Kind != ChangeYanked {
		t.Errorf("changes = %v", changes)
	}
	if out.UpdatedAt != FormatTime(t0) {
		t.Errorf("updated_at = %s, want the yank date", out.UpdatedAt)
	}
}

func TestMergeUnknownKeys(t *testing.T) {
	base, err := Parse([]byte(registryWithEverything), "base")
	if err != nil {
		t.Fatal(err)
	}
	in := New()
	e := cloneEntry(base.Runtimes["zeta"]["1.0.0"])
	e.Extra = map[string]json.RawMessage{"x-new": json.RawMessage(`{"a": 1}`), "x-entry": json.RawMessage(` true `)}
	in.Runtimes["zeta"] = map[string]*schema.RegistryEntry{"1.0.0": e}
	in.Extra = map[string]json.RawMessage{"_a": json.RawMessage(`"other"`), "_b": json.RawMessage(`2`)}
	out, changes := mustMerge(t, base, in, MergeOptions{Now: t0})
	if string(out.Extra["_a"]) != `"first <&> \u00e9"` || string(out.Extra["_b"]) != `2` {
		t.Errorf("registry extras: %s", out.Extra)
	}
	if string(out.Runtimes["zeta"]["1.0.0"].Extra["x-new"]) != `{"a": 1}` || string(out.Runtimes["zeta"]["1.0.0"].Extra["x-entry"]) != "true" {
		t.Errorf("entry extras: %s", out.Runtimes["zeta"]["1.0.0"].Extra)
	}
	if len(changes) != 2 {
		t.Errorf("changes = %v", changes)
	}
	if _, ok := base.Runtimes["zeta"]["1.0.0"].Extra["x-new"]; ok {
		t.Errorf("base entry modified")
	}
	// A differing unknown value on an entry is a conflict.
	e2 := cloneEntry(e)
	e2.Extra = map[string]json.RawMessage{"x-entry": json.RawMessage(`false`)}
	in.Runtimes["zeta"]["1.0.0"] = e2
	if _, _, err := Merge(out, in, MergeOptions{}); err == nil {
		t.Errorf("differing unknown entry key merged silently")
	}
}

func TestMergeRejectsBadIncoming(t *testing.T) {
	for name, mutate := range map[string]func(r *schema.Registry){
		"bad name": func(r *schema.Registry) { r.Runtimes["Py"] = map[string]*schema.RegistryEntry{} },
		"bad version key": func(r *schema.Registry) {
			r.Runtimes["py"] = map[string]*schema.RegistryEntry{"1.0": upstreamEntry("py", "1.0")}
		},
		"version mismatch": func(r *schema.Registry) {
			r.Runtimes["py"] = map[string]*schema.RegistryEntry{"1.0.1": upstreamEntry("py", "1.0.0")}
		},
		"format version": func(r *schema.Registry) { r.Version = "2" },
	} {
		in := New()
		mutate(in)
		if _, _, err := Merge(New(), in, MergeOptions{Now: t0}); err == nil {
			t.Errorf("%s: merged", name)
		}
	}
}

// permutations returns every ordering of 0..n-1.
func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestMergeFragmentsInEveryOrder merges four fragments, built at different
// times, into the upstream registry in all 24 orders, each merge with a
// different Now, and requires identical bytes.
func TestMergeFragmentsInEveryOrder(t *testing.T) {
	base := loadUpstream(t)
	plats := []string{"ubuntu-amd64", "ubuntu-arm64", "debian-amd64"}
	yank := New()
	yank.UpdatedAt = FormatTime(t0.Add(4 * time.Hour))
	ye := cloneEntry(base.Runtimes["python-3.11"]["1.3.1"])
	ye.Yanked = &schema.Yank{Reason: "CVE", Date: FormatTime(t0.Add(4 * time.Hour))}
	yank.Runtimes["python-3.11"] = map[string]*schema.RegistryEntry{"1.3.1": ye}
	src := file("openjdk-21-1.4.0.tar.gz", 9000)
	other, err := Fragment(FragmentSpec{
		Name: "openjdk-21", Version: "1.4.0", Description: "OpenJDK 21", Platforms: []string{"ubuntu-amd64"},
		Source: src, Artifacts: []PlatformFile{{Platform: "ubuntu-amd64", File: file("openjdk-21-1.4.0-ubuntu-amd64.tar.gz", 8000)}},
		URL: urlTemplate, ReleasedAt: t0.Add(5 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	fragments := []*schema.Registry{
		platformFragment(t, "python-3.11", "2.0.0", plats, "ubuntu-amd64", "x", t0.Add(3*time.Hour)),
		platformFragment(t, "python-3.11", "2.0.0", plats, "ubuntu-arm64", "x", t0.Add(1*time.Hour)),
		platformFragment(t, "python-3.11", "2.0.0", plats, "debian-amd64", "x", t0.Add(2*time.Hour)),
		other,
	}
	fragments[3], _ = mustMerge(t, fragments[3], yank, MergeOptions{})
	var want []byte
	for i, order := range permutations(len(fragments)) {
		r := base
		for step, f := range order {
			now := t0.Add(time.Duration(100+i*10+step) * time.Minute)
			r, _ = mustMerge(t, r, fragments[f], MergeOptions{Now: now})
		}
		got := encode(t, r)
		if want == nil {
			want = got
			e := r.Runtimes["python-3.11"]["2.0.0"]
			if len(e.Artifacts) != 3 || e.Checksum != e.Artifacts["ubuntu-amd64"].Checksum || e.ReleasedAt != FormatTime(t0.Add(time.Hour)) {
				t.Errorf("merged entry is wrong: %+v", e)
			}
			if r.Runtimes["python-3.11"]["1.3.1"].Yanked == nil || r.Runtimes["openjdk-21"]["1.4.0"] == nil {
				t.Errorf("yank or second runtime lost")
			}
			if r.UpdatedAt != FormatTime(t0.Add(5*time.Hour)) {
				t.Errorf("updated_at = %s, want the newest fragment's", r.UpdatedAt)
			}
			if err := CheckHistory(base, r); err != nil {
				t.Error(err)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("order %v gives different bytes than the first order", order)
		}
	}
}

// upstream26 is the upstream fixture grown to 26 versions in upstream's
// shape, as the real registry was before the release that dropped 21.
func upstream26(t *testing.T) *schema.Registry {
	t.Helper()
	r := loadUpstream(t)
	add := map[string][]string{
		"python-3.11":    {"1.3.5", "1.3.6"},
		"graalvmjdk-21":  {"1.3.2", "1.3.3"},
		"openjdk-21":     {"1.3.2", "1.3.3", "1.3.4"},
		"python-3.11-ml": {"1.3.4", "1.3.5"},
		"node-20":        {"1.3.1", "1.3.2", "1.3.3"},
	}
	for name, versions := range add {
		if r.Runtimes[name] == nil {
			r.Runtimes[name] = map[string]*schema.RegistryEntry{}
		}
		for _, v := range versions {
			r.Runtimes[name][v] = upstreamEntry(name, v)
		}
	}
	if n := countVersions(r); n != 26 {
		t.Fatalf("fixture has %d versions, want 26", n)
	}
	return r
}

func countVersions(r *schema.Registry) int {
	n := 0
	for _, vs := range r.Runtimes {
		n += len(vs)
	}
	return n
}

// incident is what upstream's bulk release wrote: only the five versions
// its checkout knew about.
func incident(full *schema.Registry) *schema.Registry {
	r := New()
	r.Extra = full.Extra
	r.UpdatedAt = "2025-12-03T09:00:00Z"
	for _, name := range []string{"graalvmjdk-21", "openjdk-21", "python-3.11", "python-3.11-ml", "python-3.11-pytorch-cuda"} {
		r.Runtimes[name] = map[string]*schema.RegistryEntry{"1.3.1": full.Runtimes[name]["1.3.1"]}
	}
	return r
}

func TestCheckHistoryCatchesTheIncident(t *testing.T) {
	full := upstream26(t)
	cur := incident(full)
	err := CheckHistory(full, cur)
	var he *HistoryError
	if !errors.As(err, &he) {
		t.Fatalf("want a HistoryError, got %v", err)
	}
	var got []string
	for _, p := range he.Problems {
		if p.Kind != "lost" {
			t.Errorf("unexpected %v", p)
		}
		got = append(got, p.Name+"@"+p.Version)
	}
	var want []string
	for _, name := range sortedKeys(full.Runtimes) {
		for _, v := range schema.SortedVersions(full.Runtimes[name]) {
			if cur.Runtimes[name][v] == nil {
				want = append(want, name+"@"+v)
			}
		}
	}
	if len(want) != 21 || !slices.Equal(got, want) {
		t.Errorf("guard lists %d: %v\nwant 21: %v", len(got), got, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), "lost "+w) {
			t.Errorf("message does not list %s", w)
		}
	}
	// Changed checksums, top-level and per artifact, are listed too.
	changed, _ := mustMerge(t, full, New(), MergeOptions{})
	changed.Runtimes["python-3.11"] = cloneVersions(changed.Runtimes["python-3.11"])
	e := cloneEntry(changed.Runtimes["python-3.11"]["1.3.1"])
	e.Checksum = fakeChecksum("tampered")
	changed.Runtimes["python-3.11"]["1.3.1"] = e
	err = CheckHistory(full, changed)
	if !errors.As(err, &he) || len(he.Problems) != 1 || he.Problems[0].Kind != "changed" || he.Problems[0].Old != full.Runtimes["python-3.11"]["1.3.1"].Checksum {
		t.Errorf("changed checksum: %v", err)
	}
}

func cloneVersions(m map[string]*schema.RegistryEntry) map[string]*schema.RegistryEntry {
	out := map[string]*schema.RegistryEntry{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestReplayUpstreamStates merges a sequence of registry states like
// upstream's history (growing, then the release that rewrote it to five
// versions, then growing again) and requires their union, nothing lost.
func TestReplayUpstreamStates(t *testing.T) {
	full := upstream26(t)
	early := New()
	early.Extra = full.Extra
	early.UpdatedAt = "2025-11-01T00:00:00Z"
	for _, name := range []string{"python-3.11", "openjdk-21"} {
		early.Runtimes[name] = map[string]*schema.RegistryEntry{"1.3.1": full.Runtimes[name]["1.3.1"]}
	}
	after := incident(full)
	after.Runtimes["python-3.11"]["1.5.0"] = upstreamEntry("python-3.11", "1.5.0")
	later := incident(full)
	later.Runtimes["go-1.22"] = map[string]*schema.RegistryEntry{"1.0.0": upstreamEntry("go-1.22", "1.0.0")}
	states := []*schema.Registry{early, loadUpstream(t), full, incident(full), after, later}

	r := New()
	for i, s := range states {
		var changes Changes
		r, changes = mustMerge(t, r, s, MergeOptions{Now: t0.Add(time.Duration(i) * time.Hour)})
		t.Logf("state %d: %d changes", i, len(changes))
	}
	for i, s := range states {
		if err := CheckHistory(s, r); err != nil {
			t.Errorf("state %d not contained in the union: %v", i, err)
		}
		for name, versions := range s.Runtimes {
			for v, e := range versions {
				got := r.Runtimes[name][v]
				if got.Checksum != e.Checksum || got.DownloadURL != e.DownloadURL || got.Size != e.Size || got.Description != e.Description || !slices.Equal(got.Platforms, e.Platforms) {
					t.Errorf("%s@%s differs from state %d", name, v, i)
				}
			}
		}
	}
	if n := countVersions(r); n != 28 {
		t.Errorf("union has %d versions, want 26 + 2 new", n)
	}
	// Every version got a released_at: the time it first appeared.
	if got := r.Runtimes["python-3.11"]["1.3.1"].ReleasedAt; got != FormatTime(t0) {
		t.Errorf("python-3.11@1.3.1 released_at %s, want the first state's merge time", got)
	}
	if got := r.Runtimes["python-3.11"]["1.5.0"].ReleasedAt; got != FormatTime(t0.Add(4*time.Hour)) {
		t.Errorf("python-3.11@1.5.0 released_at %s", got)
	}
}

func TestMergeIsPure(t *testing.T) {
	base := loadUpstream(t)
	in := platformFragment(t, "python-3.11", "1.3.1", []string{"ubuntu-amd64"}, "ubuntu-amd64", "z", t0)
	in.Runtimes["python-3.11"]["1.3.1"].Checksum = base.Runtimes["python-3.11"]["1.3.1"].Checksum
	in.Runtimes["python-3.11"]["1.3.1"].DownloadURL = base.Runtimes["python-3.11"]["1.3.1"].DownloadURL
	in.Runtimes["python-3.11"]["1.3.1"].Size = base.Runtimes["python-3.11"]["1.3.1"].Size
	in.Runtimes["python-3.11"]["1.3.1"].Platforms = nil
	in.Runtimes["python-3.11"]["1.3.1"].Description = ""
	b1, i1 := encode(t, base), encode(t, in)
	out, changes := mustMerge(t, base, in, MergeOptions{Now: t0})
	if len(changes) == 0 {
		t.Fatal("expected the artifact to be added")
	}
	if !bytes.Equal(encode(t, base), b1) || !bytes.Equal(encode(t, in), i1) {
		t.Errorf("inputs modified")
	}
	// And the result is independent of later changes to the inputs' maps.
	outBytes := encode(t, out)
	delete(in.Runtimes["python-3.11"]["1.3.1"].Artifacts, "ubuntu-amd64")
	if !bytes.Equal(encode(t, out), outBytes) {
		t.Errorf("result shares mutable state with incoming")
	}
}

func TestChangeStrings(t *testing.T) {
	got := fmt.Sprint(Change{Kind: ChangeArtifactAdded, Name: "a", Version: "1.0.0", Platform: "debian-amd64"}, " ",
		Conflict{Name: "a", Version: "1.0.0", Field: "checksum", Existing: "x", Incoming: "y"})
	if got != "artifact-added a@1.0.0 [debian-amd64] a@1.0.0: checksum differs: registry has x, incoming has y" {
		t.Errorf("got %q", got)
	}
}

// TestMergeCopiesForcedRecords: a forced change recorded in one copy of a
// registry travels with the entry into another that already has the new
// checksum, so the history guard accepts it there too.
func TestMergeCopiesForcedRecords(t *testing.T) {
	old := loadUpstream(t)
	forced, _ := mustMerge(t, old, func() *schema.Registry {
		in := New()
		e := cloneEntry(old.Runtimes["openjdk-21"]["1.3.1"])
		e.Checksum = fakeChecksum("jdk2")
		in.Runtimes["openjdk-21"] = map[string]*schema.RegistryEntry{"1.3.1": e}
		return in
	}(), MergeOptions{Now: t0, Force: true})
	// Another registry got the new checksum without the record (hand-edited).
	bare, _ := mustMerge(t, forced, New(), MergeOptions{})
	bare.Runtimes = cloneRuntimes(bare.Runtimes)
	e := cloneEntry(bare.Runtimes["openjdk-21"]["1.3.1"])
	e.Forced = nil
	bare.Runtimes["openjdk-21"]["1.3.1"] = e
	if err := CheckHistory(old, bare); err == nil {
		t.Fatal("guard accepts an unrecorded change")
	}
	out, changes := mustMerge(t, bare, forced, MergeOptions{Now: t0.Add(time.Hour)})
	if len(changes) != 1 || changes[0].Kind != ChangeRecorded {
		t.Errorf("changes = %v", changes)
	}
	if err := CheckHistory(old, out); err != nil {
		t.Errorf("guard after the record was merged: %v", err)
	}
	// Merging the same record again changes nothing.
	if _, changes := mustMerge(t, out, forced, MergeOptions{Now: t0.Add(2 * time.Hour)}); len(changes) != 0 {
		t.Errorf("record merged twice: %v", changes)
	}
}

func TestCheckHistoryPerArtifact(t *testing.T) {
	prev := generateRegistry(2, 3)
	cur, _ := mustMerge(t, prev, New(), MergeOptions{})
	cur.Runtimes = cloneRuntimes(cur.Runtimes)
	e := cloneEntry(cur.Runtimes["runtime-0001"]["1.0.2"])
	delete(e.Artifacts, "ubuntu-amd64")
	a := cloneArtifact(e.Artifacts["ubuntu-arm64"])
	a.Checksum = fakeChecksum("rebuilt")
	e.Artifacts["ubuntu-arm64"] = a
	cur.Runtimes["runtime-0001"]["1.0.2"] = e
	err := CheckHistory(prev, cur)
	var he *HistoryError
	if !errors.As(err, &he) {
		t.Fatalf("want a HistoryError, got %v", err)
	}
	var got []string
	for _, p := range he.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"lost runtime-0001@1.0.2 [ubuntu-amd64]",
		"changed runtime-0001@1.0.2 [ubuntu-arm64]: checksum " + prev.Runtimes["runtime-0001"]["1.0.2"].Artifacts["ubuntu-arm64"].Checksum + " → " + a.Checksum,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%v\nwant:\n%v", got, want)
	}
	// Recorded with --force, the artifact change is accepted (the loss is not).
	e.Forced = []schema.ForcedChange{{Date: FormatTime(t0), Platform: "ubuntu-arm64", OldChecksum: prev.Runtimes["runtime-0001"]["1.0.2"].Artifacts["ubuntu-arm64"].Checksum, NewChecksum: a.Checksum}}
	if err := CheckHistory(prev, cur); !errors.As(err, &he) || len(he.Problems) != 1 || he.Problems[0].Kind != "lost" {
		t.Errorf("with the forced record: %v", err)
	}
}
