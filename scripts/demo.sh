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
./scripts/setup-host.sh
make --no-print-directory build
rtool=bin/rtool
out=${OUT:-out}
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
$rtool build --all -j "${JOBS:-2}" --out "$out"

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
