#!/usr/bin/env bash
# The package and install benchmarks on a real runtime of realistic size:
# this repository's python-3.11-ml for debian-amd64 (NumPy, SciPy, pandas,
# scikit-learn, Matplotlib: hundreds of MB, mostly shared libraries and
# Python sources). `rtool package` of its unpacked tree against `tar -czf`
# and `tar | pigz` (package.sh), and `rtool runtime install` of its
# artifact against `sha256sum && tar -xzf` (install.sh).
# The artifact is out/python-3.11-ml-VERSION-debian-amd64.tar.gz (make demo
# builds it); when it is missing, root builds it (a few minutes with a
# cached base), anyone else skips this benchmark with the reason.
# Env: RTOOL, RUNS, BENCH_ML_ARTIFACT (another artifact to use).
set -euo pipefail
cd "$(dirname "$0")/../.."
RTOOL="${RTOOL:-$PWD/bin/rtool}"
export RTOOL
runtime=python-3.11-ml
art="${BENCH_ML_ARTIFACT:-}"
if [ -z "$art" ]; then
	version=$(sed -n 's/^version:[[:space:]]*//p' "runtimes/$runtime/manifest.yaml" | tr -d "\"'")
	art="out/$runtime-$version-debian-amd64.tar.gz"
fi
if [ ! -s "$art" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "runtime-ml: skipped: $art is missing and building it needs root (sudo make bench, or make demo first)"
		exit 0
	fi
	echo "runtime-ml: building $art first" >&2
	"$RTOOL" build "$runtime" --platform debian-amd64 --out "$(dirname "$art")" -q >&2
fi
dir="${BENCH_DIR:-/var/tmp/rtool-bench}/ml"
mkdir -p "$dir"
sum=$(sha256sum "$art" | cut -d' ' -f1)
tree="$dir/tree-${sum:0:16}"
if [ ! -d "$tree" ]; then
	rm -rf "$dir"/tree-*
	mkdir -p "$tree.tmp"
	tar -xzf "$art" -C "$tree.tmp"
	mv "$tree.tmp" "$tree"
fi
echo "-- package: the unpacked tree of $(basename "$art") ($(du -sm "$tree" | cut -f1) MB, $(find "$tree" | wc -l) entries)"
BENCH_PACKAGE_TREE="$tree" BENCH_MIN_MB=1 bash scripts/bench/package.sh
echo "-- install: $(basename "$art")"
BENCH_ARTIFACT="$art" BENCH_DIR="$dir" bash scripts/bench/install.sh
