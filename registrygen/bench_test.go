package registrygen

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// BenchmarkMergeLarge is the cost of `rtool registry add` on a registry of
// 100,000 versions (1,000 runtimes × 100): load (read + parse + check) the
// whole file, merge one new version and encode the whole registry
// canonically. Writing (fsync) is left out: it measures the disk, not rtool.
// It reports the file size so bytes allocated per op can be compared with
// it (target: under 1 s and under 10× the file size).
func BenchmarkMergeLarge(b *testing.B) {
	benchmarkMergeLarge(b, 1000, 100)
}

func benchmarkMergeLarge(b *testing.B, runtimes, versions int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "registry.json")
	if err := Write(path, generateRegistry(runtimes, versions)); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	frag := New()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	frag.UpdatedAt = FormatTime(now)
	frag.Runtimes["runtime-0500"] = map[string]*schema.RegistryEntry{"9.9.9": rtoolEntry("runtime-0500", "9.9.9", now)}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		r, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		merged, changes, err := Merge(r, frag, MergeOptions{Now: now})
		if err != nil || len(changes) != 1 {
			b.Fatal(err, changes)
		}
		if _, err := Encode(merged); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}

// cpuTime is the process's user+system CPU time in nanoseconds, so the
// benchmark can show CPU cost apart from wall time on a busy machine.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkParseLarge and BenchmarkEncodeLarge split BenchmarkMergeLarge's
// cost between reading and writing the 100,000-version registry.
func BenchmarkParseLarge(b *testing.B) {
	data, err := Encode(generateRegistry(1000, 100))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "registry.json"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLarge(b *testing.B) {
	r := generateRegistry(1000, 100)
	b.ReportAllocs()
	for b.Loop() {
		data, err := Encode(r)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}
