set -euo pipefail
echo setup
