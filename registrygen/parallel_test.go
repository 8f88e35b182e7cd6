package registrygen

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/joblet/rtool/schema"
)

// parseSequential parses on one goroutine, for comparison.
func parseSequential(data []byte) (any, error) {
	p := newParser(data, "registry.json", false)
	p.sequential = true
	return p.run()
}

// TestParallelParseMatchesSequential checks that parsing runtimes on
// several goroutines gives exactly what one goroutine gives: the registry,
// every problem in the same order, and the same first syntax error.
func TestParallelParseMatchesSequential(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(1)
	}
	data := encode(t, generateRegistry(40, 25))
	if len(data) < parallelMinBytes {
		t.Fatalf("test registry of %d bytes is below the parallel threshold", len(data))
	}
	withProblems := bytes.Replace(data, []byte(`"size": 123456789`), []byte(`"size": "123456789"`), 7)
	withProblems = bytes.Replace(withProblems, []byte(`"1.0.1": {`), []byte(`"1.0": {`), 3)
	withProblems = bytes.Replace(withProblems, []byte("sha256:"), []byte("sha1:"), 150)
	cases := map[string][]byte{
		"valid":              data,
		"problems":           withProblems,
		"truncated":          data[:len(data)/2],
		"unbalanced":         bytes.Replace(data, []byte(`"entries": 4321`), []byte(`"entries": [4321`), 1),
		"bad token":          bytes.Replace(data, []byte(`"size": 123456789`), []byte(`"size": 12x`), 1),
		"unterminated quote": bytes.Replace(data, []byte(`"runtime-0020": {`), []byte(`"runtime-0020: {`), 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			par, perr := Parse(in, "registry.json")
			seq, serr := parseSequential(in)
			if (perr == nil) != (serr == nil) || perr != nil && perr.Error() != serr.Error() {
				t.Fatalf("errors differ:\nparallel:   %v\nsequential: %v", perr, serr)
			}
			if perr == nil && !reflect.DeepEqual(any(par), seq) {
				t.Errorf("registries differ")
			}
			if name == "problems" {
				es, ok := perr.(Errors)
				if !ok || len(es) != maxErrors+1 {
					t.Errorf("want %d problems and a count of the rest, got %v", maxErrors, perr)
				}
			}
		})
	}
}

// TestParallelEncodeMatchesSequential encodes a registry large enough to be
// split across goroutines and compares with a one-goroutine encoding.
func TestParallelEncodeMatchesSequential(t *testing.T) {
	r := generateRegistry(90, 250) // 22,500 entries: above the parallel threshold
	prev := runtime.GOMAXPROCS(1)
	seq := encode(t, r)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		if par := encode(t, r); !bytes.Equal(par, seq) {
			t.Errorf("GOMAXPROCS=%d encodes differently", procs)
		}
	}
	runtime.GOMAXPROCS(prev)
	if _, err := Parse(seq, "seq"); err != nil {
		t.Fatal(err)
	}
}

// TestPlainPrefix checks the eight-bytes-at-a-time scans (parser and
// encoder) against a byte loop for every byte value at every position.
func TestPlainPrefix(t *testing.T) {
	naive := func(b []byte) int {
		i := 0
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		return i
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			b := []byte("abcdefghijklmnopq")
			b[pos] = byte(c)
			if got, want := plainPrefix(b), naive(b); got != want {
				t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
			}
			// The encoder's scan: compare with encoding/json's output.
			r := New()
			r.UpdatedAt = "2026-01-01T00:00:00Z"
			e := upstreamEntry("rt", "1.0.0")
			e.Description = string(b)
			r.Runtimes["rt"] = map[string]*schema.RegistryEntry{"1.0.0": e}
			compact, err := r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			json.Indent(&want, compact, "", "  ")
			want.WriteByte('\n')
			if got := encode(t, r); !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("encoding %q differs from encoding/json:\n%s\n%s", b, got, want.Bytes())
			}
		}
	}
}

// TestSetLinesMatchesLineCol checks the one-pass line/column computation
// against lineCol for sorted offsets in text with multi-byte characters.
func TestSetLinesMatchesLineCol(t *testing.T) {
	data := []byte("ab\ncé日\n\n{\"x\": \"ü\"}\nlast")
	var errs Errors
	for off := 0; off <= len(data); off++ {
		errs = append(errs, &Error{off: off}, &Error{off: off})
	}
	setLines(data, errs)
	for _, e := range errs {
		if line, col := lineCol(data, e.off); e.Line != line || e.Column != col {
			t.Errorf("offset %d: %d:%d, want %d:%d", e.off, e.Line, e.Column, line, col)
		}
	}
}

// TestSortVersionStringsMatchesSemver compares schema's fast version sort
// with a plain semver-based reference on a mix of plain, pre-release,
// build-metadata and invalid keys.
func TestSortVersionStringsMatchesSemver(t *testing.T) {
	reference := func(keys []string) []string {
		out := slices.Clone(keys)
		sort.SliceStable(out, func(i, j int) bool {
			a, ea := semver.StrictNewVersion(out[i])
			b, eb := semver.StrictNewVersion(out[j])
			switch {
			case ea == nil && eb == nil:
				if c := a.Compare(b); c != 0 {
					return c < 0
				}
				return out[i] < out[j]
			case ea == nil:
				return true
			case eb == nil:
				return false
			}
			return out[i] < out[j]
		})
		return out
	}
	pool := []string{"1.0.0", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-alpha", "1.0.0+build.5", "1.0.0+build.1", "0.9.99",
		"1.10.0", "1.2.0", "1.2.10", "1.2.9", "10.0.0", "2.0.0-0", "01.0.0", "1.0", "v1.0.0", "garbage", "",
		"999999999999999999.0.0", "18446744073709551615.0.0", "1.0.0-rc.1+b", "3.0.0"}
	rng := rand.New(rand.NewSource(7))
	for range 500 {
		var keys []string
		for _, i := range rng.Perm(len(pool))[:1+rng.Intn(len(pool))] {
			keys = append(keys, pool[i])
		}
		got := slices.Clone(keys)
		schema.SortVersionStrings(got)
		if want := reference(keys); !slices.Equal(got, want) {
			t.Fatalf("SortVersionStrings(%q) = %q, want %q", keys, got, want)
		}
	}
}
