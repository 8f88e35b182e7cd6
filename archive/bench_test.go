package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchTree returns $RTOOL_BENCH_TREE (for example the tree that
// scripts/bench/package.sh caches) or a generated tree of about 40 MB in
// 3000 files of mixed sizes and compressibility.
func benchTree(b *testing.B) string {
	b.Helper()
	if d := os.Getenv("RTOOL_BENCH_TREE"); d != "" {
		return d
	}
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	words := []string{"import", "def", "return", "self", "func", "package", "if", "err", "nil", "{", "}", "\n", "\t", "for", "range", "class"}
	for i := range 3000 {
		size := 1 << (6 + rng.IntN(12)) // 64 B .. 128 KiB
		if i%500 == 0 {
			size = 2 << 20
		}
		var buf bytes.Buffer
		for buf.Len() < size {
			if rng.IntN(10) == 0 {
				buf.WriteByte(byte(rng.IntN(256)))
			} else {
				buf.WriteString(words[rng.IntN(len(words))])
				buf.WriteByte(' ')
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("d%02d/s%02d/f%04d.txt", i%17, i%13, i))
		mustWrite(b, p, buf.Bytes()[:size], 0o644)
	}
	return dir
}

func BenchmarkPack(b *testing.B) {
	dir := benchTree(b)
	var st Stats
	for b.Loop() {
		var err error
		st, err = Pack(context.Background(), dir, io.Discard, PackOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(st.UnpackedSize)
	b.ReportMetric(float64(st.Size)/float64(st.UnpackedSize), "ratio")
}

func BenchmarkExtract(b *testing.B) {
	dir := benchTree(b)
	var buf bytes.Buffer
	st, err := Pack(context.Background(), dir, &buf, PackOptions{})
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	b.SetBytes(st.UnpackedSize)
	i := 0
	for b.Loop() {
		dest := filepath.Join(base, fmt.Sprint(i))
		i++
		if err := os.Mkdir(dest, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), dest, ExtractOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}
