package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
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

// BenchmarkExtract extracts the .tar.gz at $RTOOL_BENCH_ARTIFACT (for
// example the artifact scripts/bench/install.sh caches) or, without it, the
// packed benchTree, with ExtractOptions.Workers from $RTOOL_BENCH_WORKERS
// (default 0). Besides ns/op it reports the process's user and system
// CPU time per extraction (file creation is mostly system time).
func BenchmarkExtract(b *testing.B) {
	var data []byte
	var size int64
	if p := os.Getenv("RTOOL_BENCH_ARTIFACT"); p != "" {
		var err error
		if data, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	} else {
		var buf bytes.Buffer
		if _, err := Pack(context.Background(), benchTree(b), &buf, PackOptions{}); err != nil {
			b.Fatal(err)
		}
		data = buf.Bytes()
	}
	// The trees are removed only at the end: on ext4 without a journal,
	// creating inodes right after deleting thousands of them is several
	// times slower (the allocator skips recently deleted inodes one by one),
	// which would charge one iteration's cleanup to the next.
	base := b.TempDir()
	b.Cleanup(func() { makeWritable(base) })
	workers, _ := strconv.Atoi(os.Getenv("RTOOL_BENCH_WORKERS")) // ExtractOptions.Workers
	var user, sys time.Duration
	i := 0
	for b.Loop() {
		dest := filepath.Join(base, fmt.Sprint(i))
		i++
		if err := os.Mkdir(dest, 0o755); err != nil {
			b.Fatal(err)
		}
		u0, s0 := cpuTimes(b)
		st, err := Extract(context.Background(), bytes.NewReader(data), dest, ExtractOptions{Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		u1, s1 := cpuTimes(b)
		user += u1 - u0
		sys += s1 - s0
		size = st.UnpackedSize
	}
	b.SetBytes(size)
	b.ReportMetric(user.Seconds()/float64(b.N), "user-s/op")
	b.ReportMetric(sys.Seconds()/float64(b.N), "sys-s/op")
}

func cpuTimes(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
