#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/joblet/runtimes/demo
echo "building for ubuntu-amd64"
