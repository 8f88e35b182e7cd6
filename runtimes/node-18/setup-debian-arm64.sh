#!/usr/bin/env bash
# Builds the node-18 runtime for debian-arm64 in rtool's build chroot; the
# steps are shared with the other Debian architecture in build-debian.sh.
set -euo pipefail
exec bash "$(dirname "$0")/build-debian.sh" arm64
