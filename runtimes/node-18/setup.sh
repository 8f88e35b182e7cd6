#!/usr/bin/env bash
# Entry point: detects the platform (<os>-<arch>) of this machine and runs
# setup-<platform>.sh, like upstream's setup.sh. rtool build runs the
# platform script directly with PLATFORM set.
set -euo pipefail

cd "$(dirname "$0")"

if [ -z "${PLATFORM:-}" ]; then
	os_id=unknown
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091
		os_id="$(. /etc/os-release && echo "${ID:-unknown}")"
	fi
	case "$(uname -m)" in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*)
		echo "setup.sh: unsupported architecture $(uname -m)" >&2
		exit 1
		;;
	esac
	PLATFORM="$os_id-$arch"
fi

script="setup-$PLATFORM.sh"
if [ ! -f "$script" ]; then
	supported=""
	for s in setup-*-*.sh; do
		s="${s#setup-}"
		supported="$supported ${s%.sh}"
	done
	echo "setup.sh: no $script; this runtime supports:$supported" >&2
	exit 1
fi
export PLATFORM
exec bash "./$script" "$@"
