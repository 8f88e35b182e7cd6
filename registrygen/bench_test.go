package registrygen

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/joblet/rtool/schema"
)

// benchRegistry returns a registry.json of 100,000 versions (1,000
// runtimes × 100, each with released_at and two platform artifacts, as
// rtool writes them) and its size. With RTOOL_BENCH_REGISTRY set the file
// is kept there and reused across runs (scripts/bench/registry.sh).
//
// At about 140 MB it is over MaxRegistrySize, which Load, Parse and Encode
// refuse; the benchmarks call the same code without the size limit
// (load, parseUnlimited, encodeAny) to measure throughput at this scale.
func benchRegistry(b *testing.B) (string, int64) {
	b.Helper()
	path := os.Getenv("RTOOL_BENCH_REGISTRY")
	if path == "" {
		path = filepath.Join(b.TempDir(), "registry.json")
	}
	if _, err := os.Stat(path); err != nil {
		data, err := encodeAny(generateRegistry(1000, 100))
		if err == nil {
			err = writeFileAtomic(path, data)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// benchFragment is the one new version merged into the large registry.
func benchFragment() (*schema.Registry, MergeOptions) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	frag := New()
	frag.UpdatedAt = FormatTime(now)
	frag.Runtimes["runtime-0500"] = map[string]*schema.RegistryEntry{"9.9.9": rtoolEntry("runtime-0500", "9.9.9", now)}
	return frag, MergeOptions{Now: now}
}

// BenchmarkMergeLarge is the cost of `rtool registry add` on a registry of
// 100,000 versions (1,000 runtimes × 100): load (read + parse + check) the
// whole file, merge one new version and encode the whole registry
// canonically. Writing (fsync) is left out: it measures the disk, not rtool.
// It reports the file size so bytes allocated per op can be compared with
// it (target: under 1 s and under 10× the file size), and the CPU time
// per op (user+system, all goroutines) apart from the wall time.
func BenchmarkMergeLarge(b *testing.B) {
	path, size := benchRegistry(b)
	frag, opts := benchFragment()
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		r, err := load(path, 0)
		if err != nil {
			b.Fatal(err)
		}
		merged, changes, err := Merge(r, frag, opts)
		if err != nil || len(changes) != 1 {
			b.Fatal(err, changes)
		}
		if _, err := encodeAny(merged); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/float64(size), "alloc/file-size")
	b.ReportMetric(float64(size), "file-bytes")
}

// BenchmarkMergeLargeBaseline does the same with encoding/json: the
// schema types' UnmarshalJSON/MarshalJSON (which keep unknown keys) and
// json.Indent over the whole document. It is the baseline
// scripts/bench/registry.sh compares with.
func BenchmarkMergeLargeBaseline(b *testing.B) {
	path, size := benchRegistry(b)
	frag, opts := benchFragment()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := schema.ParseRegistry(data)
		if err != nil {
			b.Fatal(err)
		}
		merged, changes, err := Merge(r, frag, opts)
		if err != nil || len(changes) != 1 {
			b.Fatal(err, changes)
		}
		compact, err := merged.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, compact, "", "  "); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(size), "file-bytes")
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
	path, _ := benchRegistry(b)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseUnlimited(data, "registry.json"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLarge(b *testing.B) {
	path, size := benchRegistry(b)
	r, err := load(path, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		if _, err := encodeAny(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLarge is the cost of Check's rules over the 100,000
// versions, which Load, Parse and Merge (on its base) pay.
func BenchmarkCheckLarge(b *testing.B) {
	path, _ := benchRegistry(b)
	r, err := load(path, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if errs := Check(r); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// parseUnlimited is Parse without MaxRegistrySize.
func parseUnlimited(data []byte, source string) (*schema.Registry, error) {
	p := newParser(data, source, false)
	p.maxSize = 0
	return p.run()
}
