#!/usr/bin/env bash
# Shared build steps, run as: bash build-debian.sh ARCH
set -euo pipefail
if [ "$1" = amd64 ]; then
  echo amd64
