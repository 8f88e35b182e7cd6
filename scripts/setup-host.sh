#!/usr/bin/env bash
# Installs everything rtool's builds and tests need on a Debian or Ubuntu
# host, as root: debootstrap for base systems, qemu-user-static and binfmt
# for arm64 builds, shellcheck for validate, pigz for the benchmark baseline,
# bubblewrap (bwrap) that confines `rtool runtime run` jobs, strace that
# the install durability test watches fsync and rename with, zsh and fish
# for the completion scripts' tests (bash is there), actionlint for the
# workflows and goreleaser for .goreleaser.yaml. Safe to run again.
#
# --builds installs only what building and smoke-testing runtimes need
# (make demo), not the Go tools the tests use.
set -euo pipefail

builds_only=false
case "${1:-}" in
--builds) builds_only=true ;;
"") ;;
*)
	echo "usage: setup-host.sh [--builds]" >&2
	exit 2
	;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-host.sh: run as root (sudo $0)" >&2
	exit 2
fi

pkgs=(debootstrap debian-archive-keyring qemu-user-static binfmt-support shellcheck pigz git ca-certificates util-linux bubblewrap)
if ! $builds_only; then
	pkgs+=(iproute2 strace zsh fish)
fi
need=()
for pkg in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "setup-host.sh: installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# binfmt_misc must be mounted for qemu-user-static to run foreign binaries.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && command -v update-binfmts >/dev/null; then
	update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
fi

if $builds_only; then
	echo "setup-host.sh: ready for builds" >&2
	exit 0
fi

# Go tools used by make lint and the workflow test (sudo may drop go from PATH).
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi
if command -v go >/dev/null; then
	export GOBIN="${GOBIN:-$(go env GOPATH)/bin}"
	if ! command -v actionlint >/dev/null && [ ! -x "$GOBIN/actionlint" ]; then
		go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
	fi
	# goreleaser check on .goreleaser.yaml (release/goreleaser_test.go), at
	# the version release-rtool.yml runs (newer ones need a newer Go). The
	# first install compiles ~1500 packages: 11 CPU-minutes, 25 minutes on a
	# busy 2-core host; with the Go build cache warm it takes seconds. In
	# GitHub Actions the goreleaser action puts its prebuilt binary on PATH
	# first, so this is skipped there.
	if ! command -v goreleaser >/dev/null && [ ! -x "$GOBIN/goreleaser" ]; then
		echo "setup-host.sh: go install goreleaser v2.15.1 (a few minutes the first time)" >&2
		go install github.com/goreleaser/goreleaser/v2@v2.15.1
	fi
else
	echo "setup-host.sh: go not found; skipping actionlint and goreleaser (their tests will report it)" >&2
fi
echo "setup-host.sh: ready" >&2
