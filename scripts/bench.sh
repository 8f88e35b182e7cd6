#!/usr/bin/env bash
# make bench: runs every scripts/bench/*.sh in name order. Each prints its
# medians and its ratio against the baseline its issue names. Needs only
# what scripts/setup-host.sh installs; no external timing tool.
set -euo pipefail
cd "$(dirname "$0")/.."
export RTOOL="${RTOOL:-$PWD/bin/rtool}"
status=0
for b in scripts/bench/*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	bash "$b" || status=1
done
exit $status
