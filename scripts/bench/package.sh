#!/usr/bin/env bash
# Times `rtool package` against `tar -czf` (gzip -6) and `tar -cf - | pigz`
# on the same tree (>= 300 MB, many small files: a Go toolchain plus a
# Python installation), alternating runs, and prints medians and ratios.
# Targets (issue 4): rtool >= 2x faster than tar -czf, output <= 5% larger,
# wall time within 10% of tar | pigz.
# Env: BENCH_PACKAGE_TREE (a tree to pack instead of the generated one; see
# runtime-ml.sh), BENCH_MIN_MB (smallest tree accepted, default 300), RUNS.
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/../bench-lib.sh"

RTOOL="${RTOOL:-$PWD/bin/rtool}"
RUNS="${RUNS:-3}"
TREE="${BENCH_PACKAGE_TREE:-/tmp/rtool-bench-package-tree}"
OUT="$(mktemp -d /tmp/rtool-bench-package-out.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT

for c in tar pigz gzip; do
	command -v "$c" >/dev/null || { echo "package bench: $c missing (run scripts/setup-host.sh)" >&2; exit 1; }
done
[ -x "$RTOOL" ] || { echo "package bench: $RTOOL missing (make build)" >&2; exit 1; }

# Build the tree once and keep it under /tmp so reruns are quick; a tree
# the caller names is used as it is.
if [ -n "${BENCH_PACKAGE_TREE:-}" ]; then
	[ -d "$TREE" ] || { echo "package bench: BENCH_PACKAGE_TREE=$TREE is not a directory" >&2; exit 1; }
elif [ ! -f "$TREE/.complete" ]; then
	rm -rf "$TREE"
	mkdir -p "$TREE"
	goroot="$(go env GOROOT 2>/dev/null || true)"
	[ -n "$goroot" ] && [ -d "$goroot" ] && cp -a "$goroot" "$TREE/go"
	for d in /usr/lib/python3*; do
		[ -d "$d" ] && cp -a "$d" "$TREE/$(basename "$d")"
	done
	# Top up with pyenv Pythons until the tree holds at least 300 MB.
	for d in /root/.pyenv/versions/*; do
		[ "$(du -sm "$TREE" | cut -f1)" -ge 300 ] && break
		[ -d "$d" ] && cp -a "$d" "$TREE/pyenv-$(basename "$d")"
	done
	# Artifacts may not hold symlinks leaving the tree, sockets or FIFOs.
	find "$TREE" -type l -lname '/*' -delete
	find "$TREE" -type l ! -exec test -e {} \; -delete
	find "$TREE" \( -type s -o -type p \) -delete
	touch "$TREE/.complete"
fi
size_mb=$(du -sm --exclude=.complete "$TREE" | cut -f1)
files=$(find "$TREE" | wc -l)
if [ "$size_mb" -lt "${BENCH_MIN_MB:-300}" ]; then
	echo "package bench: tree $TREE is only ${size_mb} MB (< ${BENCH_MIN_MB:-300} MB)" >&2
	exit 1
fi
echo "tree: $TREE, ${size_mb} MB, $files entries, $(nproc) CPUs"

# Warm the page cache so every tool reads from memory.
tar -cf - -C "$TREE" . >/dev/null

declare -a t_tar t_pigz t_rtool
for ((i = 0; i < RUNS; i++)); do
	s=$(now); tar -czf "$OUT/tar.tar.gz" -C "$TREE" .; e=$(now); t_tar+=($(((e - s) / 1000000)))
	s=$(now); tar -cf - -C "$TREE" . | pigz >"$OUT/pigz.tar.gz"; e=$(now); t_pigz+=($(((e - s) / 1000000)))
	s=$(now); "$RTOOL" package "$TREE" -o "$OUT/rtool.tar.gz" >/dev/null; e=$(now); t_rtool+=($(((e - s) / 1000000)))
done

m_tar=$(median_of "${t_tar[@]}")
m_pigz=$(median_of "${t_pigz[@]}")
m_rtool=$(median_of "${t_rtool[@]}")
s_tar=$(stat -c %s "$OUT/tar.tar.gz")
s_pigz=$(stat -c %s "$OUT/pigz.tar.gz")
s_rtool=$(stat -c %s "$OUT/rtool.tar.gz")

printf '%-14s %10s %14s   %s\n' tool median_ms bytes runs_ms
printf '%-14s %10s %14s   %s\n' "tar -czf" "$m_tar" "$s_tar" "${t_tar[*]}"
printf '%-14s %10s %14s   %s\n' "tar | pigz" "$m_pigz" "$s_pigz" "${t_pigz[*]}"
printf '%-14s %10s %14s   %s\n' "rtool package" "$m_rtool" "$s_rtool" "${t_rtool[*]}"
awk -v t="$m_tar" -v p="$m_pigz" -v r="$m_rtool" -v st="$s_tar" -v sr="$s_rtool" 'BEGIN {
	speed = t / r; size = sr / st; vs = r / p
	printf "speedup vs tar -czf: %.2fx (target >= 2.00x) %s\n", speed, (speed >= 2 ? "ok" : "MISSED")
	printf "size vs tar -czf:    %.3f (target <= 1.050) %s\n", size, (size <= 1.05 ? "ok" : "MISSED")
	printf "time vs tar | pigz:  %.2f (target <= 1.10) %s\n", vs, (vs <= 1.10 ? "ok" : "MISSED")
	exit !(speed >= 2 && size <= 1.05 && vs <= 1.10)
}'
