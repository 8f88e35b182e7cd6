#!/usr/bin/env bash
set -euo pipefail
for p in a b; do
  echo "$p"
