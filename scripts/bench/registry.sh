#!/usr/bin/env bash
# Benchmark: merging one version into a registry.json of 100,000 versions
# (1,000 runtimes × 100, ~140 MB as rtool writes it: released_at and two
# platform artifacts per version). One op = load (read, parse, check) the
# whole file + merge + canonical encode of the whole file; the fsync'd
# write is left out (it measures the disk).
#
# Runs BenchmarkMergeLarge (registrygen's loader and encoder) alternately
# with BenchmarkMergeLargeBaseline (the same merge over encoding/json: the
# schema types' Unmarshal/MarshalJSON and json.Indent), and prints the
# medians of time/op, CPU time/op and allocated bytes/op, the ratio of
# allocated bytes to the file's size, and the speed-up over the baseline.
# Targets: under 1 s and under 10x the file's size in memory.
#
# Env: BENCH_DIR (default /var/tmp/rtool-bench; the generated registry is
# kept there), RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
BENCH_DIR="${BENCH_DIR:-/var/tmp/rtool-bench}"
RUNS="${RUNS:-5}"
mkdir -p "$BENCH_DIR"
export RTOOL_BENCH_REGISTRY="$BENCH_DIR/registry-100k.json"
bin="$BENCH_DIR/registrygen.test"
go test -c -o "$bin" ./registrygen

# field VALUE-UNIT LINE: the number before the unit in a benchmark line.
field() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' <<<"$2"; }
bench() { "$bin" -test.run '^$' -test.bench "^$1\$" -test.benchtime "$2" | grep "^$1"; }

# Generate the registry once (not timed).
[ -s "$RTOOL_BENCH_REGISTRY" ] || bench BenchmarkParseLarge 1x >/dev/null

declare -a rt_ns rt_cpu rt_b base_ns base_cpu base_b
size=0
for ((i = 0; i < RUNS; i++)); do
	line=$(bench BenchmarkMergeLarge 3x)
	rt_ns+=("$(field ns/op "$line")"); rt_cpu+=("$(field cpu-ns/op "$line")"); rt_b+=("$(field B/op "$line")")
	size=$(field file-bytes "$line")
	line=$(bench BenchmarkMergeLargeBaseline 1x)
	base_ns+=("$(field ns/op "$line")"); base_cpu+=("$(field cpu-ns/op "$line")"); base_b+=("$(field B/op "$line")")
done
r_ns=$(median_of "${rt_ns[@]}"); r_cpu=$(median_of "${rt_cpu[@]}"); r_b=$(median_of "${rt_b[@]}")
b_ns=$(median_of "${base_ns[@]}"); b_cpu=$(median_of "${base_cpu[@]}"); b_b=$(median_of "${base_b[@]}")
awk -v size="$size" -v runs="$RUNS" -v rns="$r_ns" -v rcpu="$r_cpu" -v rb="$r_b" -v bns="$b_ns" -v bcpu="$b_cpu" -v bb="$b_b" -v loadavg="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
	printf "registry: %.1f MB, 100,000 versions; medians of %d alternating runs; load average %s\n", size / 1e6, runs, loadavg
	printf "  rtool     %7.3f s/op  %7.3f s CPU/op  %6.0f MB allocated/op = %4.1fx file size\n", rns / 1e9, rcpu / 1e9, rb / 1e6, rb / size
	printf "  baseline  %7.3f s/op  %7.3f s CPU/op  %6.0f MB allocated/op = %4.1fx file size (encoding/json + json.Indent)\n", bns / 1e9, bcpu / 1e9, bb / 1e6, bb / size
	printf "  speed-up vs baseline: %.2fx time, %.2fx memory\n", bns / rns, bb / rb
	printf "  targets: < 1 s: %s; < 10x file size: %s\n", (rns < 1e9 ? "met" : "MISSED"), (rb < 10 * size ? "met" : "MISSED")
}'
