package registrygen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// The quick checks Check uses first must never accept what the full
// check refuses.
func TestQuickChecksAgreeWithFullChecks(t *testing.T) {
	urls := []string{
		"https://e.com/a.tar.gz", "http://127.0.0.1:8080/r/rt-1.0.0-debian-amd64.tar.gz", "https://e.com",
		"https://github.com/o/r/releases/download/rt@1.0.0/rt-1.0.0-debian-amd64.tar.gz",
		"rt.tar.gz", "../x/rt.tar.gz", "a/b/c+d~e_f.tar.gz", ".", "..",
		"", "/abs.tar.gz", "//host/x", "x:demo.tar.gz", "file:///x", "ftp://e.com/x", "https://", "https:///x",
		"https://E.com/x", "https://e.com:/x", "https://e.com:80x/x", "https://user@e.com/x", "https://e.com/a b",
		"https://e.com/%zz", "https://e.com/x?y=1", "rt.tar.gz#f", "a:b/c", "https://e.com/x#y",
	}
	for _, u := range urls {
		if plainURL(u) && CheckURL(u) != nil {
			t.Errorf("plainURL(%q) accepts what CheckURL refuses: %v", u, CheckURL(u))
		}
	}
	for _, v := range []string{"1.0.0", "10.20.30", "0.0.0", "01.0.0", "1.0", "1.0.0.0", "1..0", "1.0.0-rc.1", "v1.0.0", "", ".1.0", "1.0.", "1.0.00"} {
		if plainVersion(v) && schema.CheckVersion(v) != nil {
			t.Errorf("plainVersion(%q) accepts what CheckVersion refuses", v)
		}
	}
	for _, p := range []string{"debian-amd64", "ubuntu-arm64", "rhel-amd64", "amzn-arm64", "windows-amd64", "debian-x86", "debian", "-", "debian-amd64-x", ""} {
		_, err := schema.ParsePlatform(p)
		if got := checkPlatform(p); (got == nil) != (err == nil) {
			t.Errorf("checkPlatform(%q) = %v, ParsePlatform says %v", p, got, err)
		}
	}
}

// The fragment: 20 KB nested 10,000 levels deep passed verify,
// and merge wrote 200 MB from it. Now Load refuses it at its position.
func TestLoadRefusesDeepFragment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "frag.json")
	data := `{"version": "1", "updated_at": "2026-01-01T00:00:00Z",` + "\n" + `"_x": ` +
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `, "runtimes": {}}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var le *Error
	if !errors.As(err, &le) || le.Line != 2 || le.Column != 7+MaxDepth-1 || !strings.Contains(le.Msg, "nested 33 levels deep; the limit is 32") {
		t.Fatalf("Load = %v; want the nesting refused at line 2, column %d", err, 7+MaxDepth-1)
	}
	if _, err := LoadDocument(path); err == nil || err.Error() != le.Error() {
		t.Errorf("LoadDocument (registry verify) = %v; want %v", err, le)
	}
	// 32 levels (the registry object and 31 arrays) are accepted.
	ok := `{"version": "1", "updated_at": "2026-01-01T00:00:00Z", "_x": ` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `, "runtimes": {}}`
	if _, err := Parse([]byte(ok), "ok.json"); err != nil {
		t.Errorf("%d levels: %v", MaxDepth, err)
	}
}

// A file over MaxRegistrySize is refused before it is read (a sparse
// file of 1 TB costs nothing here).
func TestLoadRefusesLargeFileUnread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	for name, load := range map[string]func(string) error{
		"Load":         func(p string) error { _, err := Load(p); return err },
		"LoadDocument": func(p string) error { _, err := LoadDocument(p); return err },
	} {
		err := load(path)
		var le *Error
		if !errors.As(err, &le) || !strings.Contains(err.Error(), fmt.Sprintf("registry is %d bytes; the limit is %d bytes (64 MiB)", int64(1)<<40, MaxRegistrySize)) {
			t.Errorf("%s = %v", name, err)
		}
	}
	data := make([]byte, MaxRegistrySize+1)
	if _, err := Parse(data, "big.json"); err == nil || !strings.Contains(err.Error(), "big.json: registry is 67108865 bytes") {
		t.Errorf("Parse = %v", err)
	}
}

// Merge refuses a base that breaks the rules (a registry built in memory;
// Load refuses such a file first) and lists the problems, and refuses a
// merge whose result would break them.
func TestMergeKeepsTheRules(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	frag := func(name, version string, platforms ...string) *schema.Registry {
		r := New()
		r.UpdatedAt = FormatTime(now)
		e := rtoolEntry(name, version, now)
		e.Platforms = platforms
		for p := range e.Artifacts {
			if !contains(platforms, p) {
				delete(e.Artifacts, p)
			}
		}
		r.Runtimes[name] = map[string]*schema.RegistryEntry{version: e}
		return r
	}
	good := frag("rt", "1.0.0", "ubuntu-amd64", "ubuntu-arm64")

	bad := frag("rt", "1.0.0", "ubuntu-amd64", "ubuntu-arm64")
	bad.Runtimes["rt"]["1.0.0"].Size = 0
	bad.Runtimes["rt"]["1.0.0"].Artifacts["ubuntu-arm64"].DownloadURL = "/srv/x.tar.gz"
	_, _, err := Merge(bad, frag("rt", "2.0.0", "ubuntu-amd64"), MergeOptions{Now: now})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 ||
		!strings.Contains(err.Error(), `.runtimes.rt["1.0.0"].size: size is 0`) ||
		!strings.Contains(err.Error(), `.runtimes.rt["1.0.0"].artifacts["ubuntu-arm64"].download_url: download URL "/srv/x.tar.gz"`) ||
		!strings.Contains(err.Error(), "base registry breaks rules") {
		t.Errorf("Merge of a bad base = %v", err)
	}

	// --force replaces the platforms; the artifact of the platform no
	// longer listed would be left: refused, not written.
	_, _, err = Merge(good, frag("rt", "1.0.0", "ubuntu-amd64"), MergeOptions{Now: now, Force: true})
	if err == nil || !strings.Contains(err.Error(), `artifacts["ubuntu-arm64"]: artifact for ubuntu-arm64, which is not in the entry's platforms [ubuntu-amd64]`) {
		t.Errorf("Merge --force dropping a platform = %v", err)
	}

	// An incoming entry that breaks a rule is refused as merged.
	in := frag("rt", "2.0.0", "ubuntu-amd64")
	in.Runtimes["rt"]["2.0.0"].Artifacts["ubuntu-amd64"].Size = 0
	if _, _, err = Merge(good, in, MergeOptions{Now: now}); err == nil || !strings.Contains(err.Error(), `.runtimes.rt["2.0.0"].artifacts["ubuntu-amd64"].size: size is 0`) {
		t.Errorf("Merge of an artifact of 0 bytes = %v", err)
	}
	in = frag("Rt", "1.0.0", "ubuntu-amd64")
	if _, _, err = Merge(good, in, MergeOptions{Now: now}); err == nil || !strings.Contains(err.Error(), `.runtimes.Rt: runtime name "Rt"`) {
		t.Errorf("Merge of a bad runtime name = %v", err)
	}
}

// Encode (so merge, add, yank and release) refuses to write a registry
// that every reader would refuse for its size.
func TestEncodeRefusesOverTheLimit(t *testing.T) {
	r := New()
	r.UpdatedAt = "2026-01-01T00:00:00Z"
	desc := strings.Repeat("d", MaxStringBytes)
	for i := 0; len(r.Runtimes)*MaxStringBytes <= MaxRegistrySize; i++ {
		e := upstreamEntry(fmt.Sprintf("rt-%05d", i), "1.0.0")
		e.Description = desc
		r.Runtimes[fmt.Sprintf("rt-%05d", i)] = map[string]*schema.RegistryEntry{"1.0.0": e}
	}
	if _, err := Encode(r); err == nil || !strings.Contains(err.Error(), "the limit is 67108864 bytes (64 MiB)") {
		t.Errorf("Encode = %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
