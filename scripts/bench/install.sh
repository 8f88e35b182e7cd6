#!/usr/bin/env bash
# Benchmark: `rtool runtime install` of a large local artifact (one pass:
# sha256 while decompressing with parallel read-ahead, hardened extract,
# runtime.yml check, atomic rename) against the baseline a shell script
# would do, `sha256sum FILE && tar -xzf FILE`, run one after the other.
# Runs alternate; prints the medians and the ratio baseline/rtool
# (target: >= 1.3).
#
# The artifact (>= 300 MB unpacked: GOROOT + the host's Python library) is
# built once with `$RTOOL package` into $BENCH_DIR and reused.
# Env: RTOOL (default bin/rtool), BENCH_DIR (default /var/tmp/rtool-bench),
# RUNS (default 5), BENCH_ARTIFACT (a built runtime artifact to install
# instead of the generated one; see runtime-ml.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
RTOOL="${RTOOL:-$PWD/bin/rtool}"
BENCH_DIR="${BENCH_DIR:-/var/tmp/rtool-bench}"
RUNS="${RUNS:-5}"
[ -x "$RTOOL" ] || { echo "install.sh: $RTOOL not built (make build)" >&2; exit 2; }
mkdir -p "$BENCH_DIR"

# write_registry ART NAME VERSION UNPACKED ENTRIES writes $reg naming ART
# (which sits beside it) as NAME@VERSION for debian-amd64.
write_registry() {
	local sum size
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	cat >"$reg" <<JSON
{
  "version": "1",
  "updated_at": "2026-01-01T00:00:00Z",
  "runtimes": {
    "$2": {
      "$3": {
        "version": "$3",
        "description": "runtime for the install benchmark",
        "download_url": "$(basename "$1")",
        "checksum": "sha256:$sum",
        "size": $size,
        "platforms": ["debian-amd64"],
        "artifacts": {
          "debian-amd64": {
            "download_url": "$(basename "$1")",
            "checksum": "sha256:$sum",
            "size": $size,
            "unpacked_size": $4,
            "entries": $5
          }
        }
      }
    }
  }
}
JSON
}

if [ -n "${BENCH_ARTIFACT:-}" ]; then
	# A real runtime artifact (runtime-ml.sh): its own name and version.
	[ -s "$BENCH_ARTIFACT" ] || { echo "install.sh: BENCH_ARTIFACT=$BENCH_ARTIFACT is missing" >&2; exit 2; }
	yml=$(tar -xzOf "$BENCH_ARTIFACT" ./runtime.yml 2>/dev/null || tar -xzOf "$BENCH_ARTIFACT" runtime.yml)
	name=$(printf '%s\n' "$yml" | sed -n 's/^name:[[:space:]]*//p' | tr -d "\"'")
	version=$(printf '%s\n' "$yml" | sed -n 's/^version:[[:space:]]*//p' | tr -d "\"'")
	art="$BENCH_DIR/$(basename "$BENCH_ARTIFACT")"
	reg="$BENCH_DIR/registry-$name.json"
	ln -f "$BENCH_ARTIFACT" "$art" 2>/dev/null || cp "$BENCH_ARTIFACT" "$art"
	read -r unpacked entries < <(tar -tvzf "$art" | awk '{ s += $3; n++ } END { print s, n }')
	write_registry "$art" "$name" "$version" "$unpacked" "$entries"
else
	name=bench version=1.0.0
	art="$BENCH_DIR/bench-1.0.0-debian-amd64.tar.gz"
	reg="$BENCH_DIR/registry.json"
	# A registry names its artifact relative to itself (registry verify and
	# runtime install refuse absolute paths); one kept from an older run that
	# names the absolute path is written again.
	if [ ! -s "$art" ] || [ ! -s "$reg" ] || grep -q '"download_url": "/' "$reg"; then
		echo "install.sh: building the benchmark artifact in $BENCH_DIR" >&2
		tree="$BENCH_DIR/tree"
		rm -rf "$tree"
		mkdir -p "$tree/isolated"
		cp -a "$(go env GOROOT)" "$tree/isolated/go"
		for p in /usr/lib/python3 /usr/lib/python3.*; do
			[ -d "$p" ] && cp -a "$p" "$tree/isolated/$(basename "$p")"
		done
		# Absolute symlinks (to /etc/...) would leave the tree: drop them.
		find "$tree" -type l -lname '/*' -delete
		cat >"$tree/runtime.yml" <<'YML'
name: bench
version: "1.0.0"
description: large runtime for the install benchmark
mounts:
  - source: isolated/go
    target: /usr/local/go
    readonly: true
YML
		SOURCE_DATE_EPOCH=0 "$RTOOL" package "$tree" -o "$art" --json >"$BENCH_DIR/package.json"
		rm -rf "$tree"
		write_registry "$art" bench 1.0.0 \
			"$(sed -n 's/.*"unpacked_size": *\([0-9]*\).*/\1/p' "$BENCH_DIR/package.json")" \
			"$(sed -n 's/.*"entries": *\([0-9]*\).*/\1/p' "$BENCH_DIR/package.json")"
	fi
fi
echo "artifact: $(basename "$art"), $(stat -c %s "$art") bytes compressed, $(sed -n 's/.*"unpacked_size": *\([0-9]*\).*/\1/p' "$reg") bytes unpacked, $(sed -n 's/.*"entries": *\([0-9]*\).*/\1/p' "$reg") entries"

root="$BENCH_DIR/root"
out="$BENCH_DIR/out"
trash="$BENCH_DIR/trash"
cleanup() { rm -rf "$root" "$out" "$trash"; }
trap cleanup EXIT
rm -rf "$root" "$out" "$trash"
mkdir -p "$trash"
# The previous run's output is moved aside, not deleted, before a timed run,
# and deleted at the end: on ext4 without a journal (this machine) creating
# inodes right after deleting ~21k of them scans past every recently
# deleted inode (ialloc.c recently_deleted), which added ~2.7 s of system
# time to whichever run came next (tar: 0.9 s sys after an idle disk, 3.6 s
# right after an rm -rf of the same tree).
discard() {
	if [ -e "$1" ]; then
		mv "$1" "$(mktemp -d "$trash/XXXXXX")/"
	fi
}

# Before each timed run: move the previous output aside (see discard) and
# flush dirty pages, so one run's writeback does not land in the next one's
# time.
run_rtool() {
	discard "$root"
	sync
	local t0 t1
	t0=$(now)
	"$RTOOL" runtime install "$name@$version" --registry "$reg" --root "$root" --platform debian-amd64 >/dev/null 2>&1
	t1=$(now)
	[ -f "$root/$name/$version/runtime.yml" ] || { echo "install.sh: rtool install failed" >&2; exit 1; }
	echo $(((t1 - t0) / 1000000))
}
run_baseline() {
	discard "$out"
	mkdir -p "$out"
	sync
	local t0 t1
	t0=$(now)
	sha256sum "$art" >/dev/null && tar -xzf "$art" -C "$out"
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}

# Warm the page cache once for both.
cat "$art" >/dev/null
alternate "$RUNS" run_rtool run_baseline
r_times=("${FIRST_TIMES[@]}")
b_times=("${SECOND_TIMES[@]}")
r_med=$(median_of "${r_times[@]}")
b_med=$(median_of "${b_times[@]}")
echo "rtool runtime install:          runs ${r_times[*]} ms, median ${r_med} ms"
echo "sha256sum && tar -xzf baseline: runs ${b_times[*]} ms, median ${b_med} ms"
awk -v b="$b_med" -v r="$r_med" 'BEGIN { printf "ratio baseline/rtool: %.2fx (target >= 1.3x)\n", b / r }'
