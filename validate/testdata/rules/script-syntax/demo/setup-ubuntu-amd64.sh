#!/usr/bin/env bash
set -euo pipefail
if [ -d /opt ]; then
  echo "opt exists"

echo done
