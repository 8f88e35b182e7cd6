#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/joblet/runtimes/broken
echo "building for ubuntu-arm64"
