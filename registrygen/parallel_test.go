package registrygen

import (
	"bytes"
	"reflect"
	"runtime"
	"testing"
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
