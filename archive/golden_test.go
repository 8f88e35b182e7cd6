package archive

import (
	"archive/tar"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-*.txt")

// TestGoldenFormat pins the exact bytes of a packed tree: a change of
// header layout, ordering or compression (a Go or klauspost/compress
// upgrade included) shows up here, since it would make rebuilds of earlier
// releases stop comparing equal. `go test ./archive -run TestGoldenFormat
// -update` rewrites the listing after a deliberate change.
func TestGoldenFormat(t *testing.T) {
	// Modes are normalised, so the bytes do not depend on the umask the
	// tree was made with.
	dir := trickyTree(t)
	data, st := packBytes(t, dir, PackOptions{SourceDateEpoch: time.Unix(1700000000, 0)})
	var b strings.Builder
	tr := tar.NewReader(mustGunzip(t, data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%c %04o %8d %d %s", h.Typeflag, h.Mode, h.Size, h.ModTime.Unix(), h.Name)
		if h.Linkname != "" {
			fmt.Fprintf(&b, " -> %s", h.Linkname)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "size %d\nunpacked %d\nentries %d\nsha256 %s\n", st.Size, st.UnpackedSize, st.Entries, st.SHA256)
	golden := filepath.Join("testdata", "golden-tricky.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != b.String() {
		t.Errorf("packed tree differs from %s (run with -update after a deliberate format change):\n got:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}
