package registrygen

import (
	"bytes"
	"os"
	"testing"
)

func TestQuick(t *testing.T) {
	data, _ := os.ReadFile("../../shared/fixtures/joblet-runtimes-upstream/registry.json")
	r, err := Parse(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, append(bytes.TrimRight(data, "\n"), '\n')) {
		t.Fatal("differs")
	}
}
