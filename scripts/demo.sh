#!/usr/bin/env bash
# make demo: the main job on this repository's own runtimes, on a fresh
# machine, as root: install host tools, validate every runtime, build each
# one for every platform in rtool.yaml (bases are bootstrapped and cached on
# first use), write out/registry.json the way a release would, verify it
# against the artifacts, and run every runtime's smoke tests inside the
# installed, mounted runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: builds use chroots, overlayfs and namespaces; run as root (sudo make demo)" >&2
	exit 2
fi
out=${OUT:-out}
jobs=${JOBS:-2}
# rtool first, quietly (the same build as make build), so that the first
# line can say how long the rest takes.
go build -trimpath -buildvcs=auto -o bin/rtool ./cmd/rtool
rtool=bin/rtool

# minutes_of NAME PLATFORM: the build time README.md's runtime table gives
# for NAME on PLATFORM (measured on a 2-core machine), 10 when it has none.
minutes_of() {
	awk -F '|' -v name="$1" -v platform="$2" '
		/^\| runtime \|/ { for (i = 1; i <= NF; i++) if (index($i, platform)) col = i }
		col && index($2, "[`" name "`]") {
			if (match($col, /[0-9.]+ min/)) { print substr($col, RSTART, RLENGTH - 4); found = 1; exit }
		}
		END { if (!found) print 10 }' README.md
}

# estimate prints the demo's first line: what rtool build --dry-run says
# is to build, to reuse and to bootstrap, timed with README's figures.
estimate() {
	local plan action nv platform base rest builds=0 reused=0 bootstrap=0 total=0 key
	local -A seen=()
	plan=$($rtool build --all --dry-run --out "$out") || return 1
	while IFS=$'\t' read -r action nv platform base rest; do
		if [ "$action" = build ]; then
			builds=$((builds + 1))
			total=$(awk -v t="$total" -v m="$(minutes_of "${nv%@*}" "$platform")" 'BEGIN { print t + m }')
		else
			reused=$((reused + 1))
		fi
		key="$platform $base"
		if [[ $base == *"to bootstrap"* && -z ${seen[$key]:-} ]]; then
			seen[$key]=1
			bootstrap=$((bootstrap + 1))
			# debootstrap (docs/performance.md): ~4 min natively, ~18 under qemu
			case "$platform" in *-amd64) total=$((${total%.*} + 4)) ;; *) total=$((${total%.*} + 18)) ;; esac
		fi
		total=$(awk -v t="$total" 'BEGIN { print t + 1 }') # install and smoke tests
	done <<<"$plan"
	# Builds run $jobs at once but share the CPUs: about 0.7 of the sum.
	total=$(awk -v t="$total" -v j="$jobs" 'BEGIN { f = (j > 1 ? 0.7 : 1); printf "%d", t * f + 2.5 }')
	echo "demo: about $total min on a 2-core machine: $builds builds to run, $reused reused from $out/, $bootstrap bases to bootstrap (README.md's runtime table has each build's time); started $(date +%H:%M)"
}
estimate >&2 || echo "demo: (no estimate: rtool build --dry-run failed; the validate step below says why)" >&2

./scripts/setup-host.sh --builds
# Download URLs: files beside out/registry.json (relative, so the
# registry installs from where it is: a path, or any web server serving
# out/). RTOOL_BASE_URL=http://HOST:PORT makes them absolute, which
# Joblet nodes need (their client does not resolve relative URLs).
if [ -n "${RTOOL_BASE_URL:-}" ]; then
	url="${RTOOL_BASE_URL%/}/{file}"
else
	url='{file}'
fi

echo "== validate" >&2
$rtool validate

echo "== build (every runtime x platform; unchanged inputs are reused)" >&2
$rtool build --all -j "$jobs" --out "$out"

echo "== registry ($out/registry.json)" >&2
# out/registry.json describes this build's artifacts, so it is made anew;
# the published registry.json only ever grows, through rtool publish.
rm -f "$out/registry.json"
for dir in runtimes/*/; do
	name=$(basename "$dir")
	version=$(sed -n 's/^version:[[:space:]]*//p' "$dir/manifest.yaml" | tr -d "\"'")
	args=()
	for artifact in "$out/$name-$version-"*.tar.gz; do
		[ -e "$artifact" ] && args+=(--artifact "$artifact")
	done
	$rtool registry add --registry "$out/registry.json" --manifest "$dir" \
		--source "$out/$name-$version.tar.gz" "${args[@]}" --url "$url"
done
# registry.json and its per-platform views (out/platforms/<platform>/)
$rtool registry verify --registry "$out/registry.json" --artifacts "$out"

echo "== smoke tests inside the installed, mounted runtimes" >&2
for dir in runtimes/*/; do
	name=$(basename "$dir")
	sed -n 's/^[[:space:]]*-[[:space:]]*\(debian-[a-z0-9]*\)[[:space:]]*$/\1/p' "$dir/manifest.yaml" |
		while read -r platform; do
			$rtool test "$name" --platform "$platform" --out "$out" </dev/null
		done
done
echo "== install from $out/registry.json as a node would" >&2
dirs=(runtimes/*/)
first=$(basename "${dirs[0]}")
tmp_root=$(mktemp -d)
trap 'rm -rf "$tmp_root"' EXIT
$rtool runtime install "$first@latest" --registry "$out/registry.json" --root "$tmp_root" --platform debian-amd64
for view in "$out"/platforms/*/; do
	p=$(basename "$view")
	$rtool runtime install "$first@latest" --joblet --registry "$view" --root "$tmp_root/$p"
done
echo "demo: done in $((SECONDS / 60))m$((SECONDS % 60))s; artifacts, registry.json and its per-platform views in $out/" >&2
