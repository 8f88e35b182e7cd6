#!/usr/bin/env bash
set -euo pipefail
unused_var=1
echo "building"
