#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/joblet/runtimes/nomanifest
echo "building for ubuntu-arm64"
