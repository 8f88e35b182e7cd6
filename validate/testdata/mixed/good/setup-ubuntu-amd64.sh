#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/joblet/runtimes/good
echo "building for ubuntu-amd64"
