package registrygen

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/joblet/rtool/schema"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const upstreamRegistry = "../testdata/joblet-runtimes-upstream/registry.json"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestUpstreamRegistryLoadsAndRewritesIdentically(t *testing.T) {
	data, err := os.ReadFile(upstreamRegistry)
	if err != nil {
		t.Fatalf("upstream fixture: %v", err)
	}
	r, err := Load(upstreamRegistry)
	if err != nil {
		t.Fatal(err)
	}
	// Every entry is there: compare with encoding/json's view of the file.
	var plain struct {
		Runtimes map[string]map[string]json.RawMessage `json:"runtimes"`
	}
	if err := json.Unmarshal(data, &plain); err != nil {
		t.Fatal(err)
	}
	want := 0
	for name, versions := range plain.Runtimes {
		for v := range versions {
			want++
			if r.Runtimes[name][v] == nil {
				t.Errorf("%s@%s missing after load", name, v)
			}
		}
	}
	got := 0
	for _, versions := range r.Runtimes {
		got += len(versions)
	}
	if got != want || want == 0 {
		t.Errorf("loaded %d versions, file has %d", got, want)
	}
	for _, k := range []string{"_comment", "_generated_by", "_workflow"} {
		if _, ok := r.Extra[k]; !ok {
			t.Errorf("unknown key %s not kept", k)
		}
	}
	out := filepath.Join(t.TempDir(), "registry.json")
	if err := Write(out, r); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Upstream's file has no trailing newline; canonical output adds one.
	if !bytes.Equal(written, append(bytes.TrimRight(data, "\n"), '\n')) {
		t.Errorf("rewritten upstream registry differs from the original")
	}
}

// registryWithEverything has unknown keys at every level, every optional
// field, strings that need escaping and non-ASCII text.
const registryWithEverything = `{
  "_z": {"nested": [1, 2.5, {"deep": null}], "empty": {}, "list": []},
  "_a": "first <&> \u00e9",
  "version": "1",
  "updated_at": "2026-01-02T03:04:05Z",
  "runtimes": {
    "zeta": {
      "1.0.0": {
        "version": "1.0.0",
        "description": "tab\there \"quoted\" back\\slash caf\u00e9 日本 \u2028",
        "download_url": "https://example.com/zeta-1.0.0.tar.gz",
        "checksum": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "size": 10,
        "platforms": [],
        "yanked": {"reason": "broken", "date": "2026-01-03T00:00:00Z", "by": "ops"},
        "x-entry": true
      }
    },
    "alpha": {
      "10.0.0": {"version": "10.0.0", "description": "", "download_url": "https://e.com/a", "checksum": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 5, "platforms": ["debian-amd64"]},
      "2.0.0-rc.1": {"version": "2.0.0-rc.1", "description": "d", "download_url": "https://e.com/b", "checksum": "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size": 6, "platforms": ["debian-amd64", "ubuntu-arm64"],
        "released_at": "2026-01-01T00:00:00Z",
        "artifacts": {
          "ubuntu-arm64": {"download_url": "https://e.com/c", "checksum": "sha256:3333333333333333333333333333333333333333333333333333333333333333", "size": 7, "unpacked_size": 70, "entries": 3, "x-art": [1]},
          "debian-amd64": {"download_url": "https://e.com/d", "checksum": "sha256:4444444444444444444444444444444444444444444444444444444444444444", "size": 8}
        },
        "forced": [{"date": "2026-01-01T00:00:00Z", "platform": "debian-amd64", "old_checksum": "sha256:5555555555555555555555555555555555555555555555555555555555555555", "new_checksum": "sha256:4444444444444444444444444444444444444444444444444444444444444444", "who": "me"}]
      },
      "2.0.0": {"version": "2.0.0", "description": "d", "download_url": "https://e.com/e", "checksum": "sha256:6666666666666666666666666666666666666666666666666666666666666666", "size": 9, "platforms": null}
    }
  }
}`

// TestParseAgreesWithEncodingJSON checks the hand-written parser and the
// direct encoder against encoding/json's view (schema's Unmarshal/Marshal
// methods) on a registry that uses every feature.
func TestParseAgreesWithEncodingJSON(t *testing.T) {
	inputs := map[string][]byte{"everything": []byte(registryWithEverything)}
	if data, err := os.ReadFile(upstreamRegistry); err == nil {
		inputs["upstream"] = data
	}
	gen, err := Encode(generateRegistry(3, 7))
	if err != nil {
		t.Fatal(err)
	}
	inputs["generated"] = gen
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			ours, err := Parse(data, name)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := schema.ParseRegistry(data)
			if err != nil {
				t.Fatal(err)
			}
			normalizeRaw(theirs)
			normalizeRaw(ours)
			if !reflect.DeepEqual(ours, theirs) {
				t.Errorf("Parse and encoding/json disagree:\nours   %+v\ntheirs %+v", ours, theirs)
			}
			direct, err := Encode(ours)
			if err != nil {
				t.Fatal(err)
			}
			// The original encoder: MarshalJSON (HTML escaping off), then Indent.
			compact, err := theirs.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			if !bytes.Equal(direct, indented.Bytes()) {
				t.Errorf("direct encoder differs from json.Indent(MarshalJSON):\n%s\n---\n%s", direct, indented.Bytes())
			}
			again, err := Parse(direct, name)
			if err != nil {
				t.Fatalf("canonical output does not load: %v", err)
			}
			if out, _ := Encode(again); !bytes.Equal(out, direct) {
				t.Errorf("encoding is not stable")
			}
		})
	}
}

// normalizeRaw compacts unknown values so whitespace inside them does not
// make equal registries look different, and treats nil and empty platform
// lists alike (both are written as []).
func normalizeRaw(r *schema.Registry) {
	c := func(m map[string]json.RawMessage) {
		for k, v := range m {
			var b bytes.Buffer
			if json.Compact(&b, v) == nil {
				m[k] = b.Bytes()
			}
		}
	}
	c(r.Extra)
	for _, versions := range r.Runtimes {
		for _, e := range versions {
			c(e.Extra)
			if e.Platforms == nil {
				e.Platforms = []string{}
			}
			for _, a := range e.Artifacts {
				c(a.Extra)
			}
			if e.Yanked != nil {
				c(e.Yanked.Extra)
			}
			for i := range e.Forced {
				c(e.Forced[i].Extra)
			}
		}
	}
}

// entryJSON is a valid entry for 1.0.0 with fields replaced by over.
func entryJSON(over string) string {
	return `{"version": "1.0.0", "description": "d", "download_url": "https://e.com/x.tar.gz", ` +
		`"checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "platforms": ["debian-amd64"]` + over + `}`
}

func registryJSON(runtimes string) string {
	return "{\n  \"version\": \"1\",\n  \"updated_at\": \"2026-01-01T00:00:00Z\",\n  \"runtimes\": {\n" + runtimes + "\n  }\n}\n"
}

// TestParseErrorsHaveLocations feeds malformed registries and compares the
// messages (each with file:line:column) with testdata/parse_errors.golden.
func TestParseErrorsHaveLocations(t *testing.T) {
	one := func(key, entry string) string {
		return registryJSON(`    "py": {` + "\n      " + `"` + key + `": ` + entry + "\n    }")
	}
	cases := []struct{ name, input string }{
		{"empty file", ``},
		{"not an object", `["runtimes"]`},
		{"missing comma", "{\n  \"version\": \"1\"\n  \"updated_at\": \"2026-01-01T00:00:00Z\"\n}"},
		{"trailing comma", "{\n  \"version\": \"1\",\n}"},
		{"unterminated string", "{\n  \"version\": \"1,\n}"},
		{"truncated", registryJSON(`    "py": {"1.0.0": ` + entryJSON(""))[:150]},
		{"garbage after object", registryJSON("") + "x"},
		{"control character in string", "{\"version\": \"1\t\"}"},
		{"bad escape", `{"version": "\q"}`},
		{"bad literal", `{"version": nul}`},
		{"bad number", `{"x": -}`},
		{"registry version 2", "{\n  \"version\": \"2\",\n  \"updated_at\": \"2026-01-01T00:00:00Z\",\n  \"runtimes\": {}\n}"},
		{"registry version number", "{\n  \"version\": 1,\n  \"updated_at\": \"2026-01-01T00:00:00Z\",\n  \"runtimes\": {}\n}"},
		{"missing version and updated_at", `{"runtimes": {}}`},
		{"updated_at not UTC", `{"version": "1", "updated_at": "2026-01-01T02:00:00+02:00", "runtimes": {}}`},
		{"updated_at not RFC 3339", `{"version": "1", "updated_at": "Dec 2 2025", "runtimes": {}}`},
		{"version key with v prefix", one("v1.0.0", entryJSON(""))},
		{"version key missing patch", one("1.3", entryJSON(""))},
		{"version key leading zero", one("1.03.0", entryJSON(""))},
		{"entry version differs from key", one("1.0.1", entryJSON(""))},
		{"entry without version", one("1.0.0", `{"checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`)},
		{"checksum without prefix", one("1.0.0", strings.Replace(entryJSON(""), `"sha256:`, `"`, 1))},
		{"checksum uppercase", one("1.0.0", strings.Replace(entryJSON(""), `sha256:aaaa`, `sha256:AAAA`, 1))},
		{"checksum short", one("1.0.0", strings.Replace(entryJSON(""), `aaaaaaaa"`, `"`, 1))},
		{"checksum missing", one("1.0.0", `{"version": "1.0.0", "size": 1}`)},
		{"size is a string", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": "5550"`, 1))},
		{"size is a float", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": 5550.5`, 1))},
		{"size has an exponent", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": 1e3`, 1))},
		{"size out of range", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": 99999999999999999999`, 1))},
		{"platforms is a string", one("1.0.0", strings.Replace(entryJSON(""), `["debian-amd64"]`, `"debian-amd64"`, 1))},
		{"platform is a number", one("1.0.0", strings.Replace(entryJSON(""), `["debian-amd64"]`, `["debian-amd64", 7]`, 1))},
		{"description is an object", one("1.0.0", strings.Replace(entryJSON(""), `"description": "d"`, `"description": {"en": "d"}`, 1))},
		{"entry is null", one("1.0.0", `null`)},
		{"entry is an array", one("1.0.0", `[]`)},
		{"runtime is a string", registryJSON(`    "py": "1.0.0"`)},
		{"duplicate version", registryJSON(`    "py": {"1.0.0": ` + entryJSON("") + `, "1.0.0": ` + entryJSON("") + `}`)},
		{"duplicate field", one("1.0.0", entryJSON(`, "size": 2`))},
		{"released_at not UTC", one("1.0.0", entryJSON(`, "released_at": "2026-01-01T00:00:00+01:00"`))},
		{"artifact bad checksum", one("1.0.0", entryJSON(`, "artifacts": {"debian-amd64": {"download_url": "https://e.com/a", "checksum": "md5:abc", "size": 1}}`))},
		{"artifact entries is a string", one("1.0.0", entryJSON(`, "artifacts": {"debian-amd64": {"download_url": "https://e.com/a", "checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "entries": "3"}}`))},
		{"yank date not RFC 3339", one("1.0.0", entryJSON(`, "yanked": {"reason": "r", "date": "yesterday"}`))},
		{"forced is an object", one("1.0.0", entryJSON(`, "forced": {}`))},
		{"several problems", registryJSON(`    "py": {"1.0": ` + entryJSON(`, "size": "x"`) + `, "2.0.0": ` + entryJSON("") + `}`)},
		// limits (MaxDepth, MaxKeyBytes, MaxStringBytes)
		{"nested 33 levels", `{"version": "1", "_x": ` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`},
		{"nested 10000 levels in a known field", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": `+strings.Repeat("[", 10000)+strings.Repeat("]", 10000), 1))},
		{"key too long", `{"version": "1", "` + strings.Repeat("k", MaxKeyBytes+1) + `": 1}`},
		{"string too long", `{"version": "1", "_c": "` + strings.Repeat("s", MaxStringBytes+1) + `"}`},
		{"escaped string too long", `{"version": "1", "_c": "\u00e9` + strings.Repeat("s", MaxStringBytes-5) + `"}`},
		// the rules of Check, which every reader applies
		{"size 0", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": 0`, 1))},
		{"size null", one("1.0.0", strings.Replace(entryJSON(""), `"size": 1`, `"size": null`, 1))},
		{"artifact size 0", one("1.0.0", entryJSON(`, "artifacts": {"debian-amd64": {"download_url": "https://e.com/a", "checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 0}}`))},
		{"download_url absolute path", one("1.0.0", strings.Replace(entryJSON(""), `https://e.com/x.tar.gz`, `/srv/x.tar.gz`, 1))},
		{"artifact for an unlisted platform", one("1.0.0", entryJSON(`, "artifacts": {"ubuntu-arm64": {"download_url": "https://e.com/a", "checksum": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1}}`))},
		{"bad runtime name", registryJSON(`    "Py": {}`)},
	}
	var out strings.Builder
	for _, c := range cases {
		_, err := Parse([]byte(c.input), "registry.json")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var le *Error
		if !errors.As(err, &le) {
			t.Errorf("%s: error %T without a location: %v", c.name, err, err)
		} else if le.Line == 0 {
			t.Errorf("%s: error without a line: %v", c.name, err)
		}
		fmt.Fprintf(&out, "== %s\n%v\n", c.name, err)
	}
	golden(t, "parse_errors.golden", []byte(out.String()))
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("want a not-exist error, got %v", err)
	}
}

func TestDocumentPositions(t *testing.T) {
	data := []byte(registryJSON(`    "py": {` + "\n      " + `"1.0.0": ` + entryJSON("")))
	data = append(data[:len(data)-len("\n  }\n}\n")], []byte("}\n  }\n}\n")...)
	d, err := ParseDocument(data, "r.json")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][2]int{
		`.updated_at`:                             {3, 17},
		`.runtimes.py["1.0.0"]`:                   {6, 7},
		`.runtimes.py["1.0.0"].checksum`:          {6, 111},
		`.runtimes.py["1.0.0"].platforms[0]`:      {6, 211},
		`.runtimes.py["1.0.0"].artifacts["nope"]`: {6, 7},
	} {
		line, col, ok := d.Position(path)
		if !ok || line != want[0] || col != want[1] {
			t.Errorf("Position(%s) = %d:%d %v, want %d:%d", path, line, col, ok, want[0], want[1])
		}
	}
}
