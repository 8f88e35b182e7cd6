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
default_url='https://github.com/joblet/rtool/releases/download/{tag}/{file}'
url=${RTOOL_URL:-$default_url}

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
	$rtool registry add --registry "$out/registry.json" --name "$name" --version "$version" \
		--source "$out/$name-$version.tar.gz" "${args[@]}" --url "$url"
done
$rtool registry verify --registry "$out/registry.json" --artifacts "$out"

echo "== smoke tests inside the installed, mounted runtimes" >&2
for dir in runtimes/*/; do
	name=$(basename "$dir")
	sed -n 's/^[[:space:]]*-[[:space:]]*\(debian-[a-z0-9]*\)[[:space:]]*$/\1/p' "$dir/manifest.yaml" |
		while read -r platform; do
			$rtool test "$name" --platform "$platform" --out "$out" </dev/null
		done
done
echo "demo: done; artifacts and registry.json in $out/" >&2
