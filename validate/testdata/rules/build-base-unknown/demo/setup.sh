#!/usr/bin/env bash
# Entry point: runs the setup script for this platform.
set -euo pipefail
cd "$(dirname "$0")"
exec "./setup-${RTOOL_PLATFORM:?}.sh"
