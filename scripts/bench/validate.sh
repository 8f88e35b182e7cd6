#!/usr/bin/env bash
# Benchmark: `rtool validate` over 1,000 generated runtimes (manifest.yaml,
# setup.sh and two setup-<platform>.sh each: 3,000 scripts), every check
# but shellcheck, against the baseline of checking only the scripts' syntax the
# way a shell script would, one `bash -n` per script (run in parallel, one
# per core, with xargs -P). Runs alternate; prints the medians, the ratio
# baseline/rtool, and whether rtool met its target of < 1 s.
# Env: RTOOL (default bin/rtool), RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
RTOOL="${RTOOL:-$PWD/bin/rtool}"
RUNS="${RUNS:-5}"
[ -x "$RTOOL" ] || { echo "validate.sh: $RTOOL not built (make build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/runtimes"

for i in $(seq 0 999); do
	name=$(printf 'runtime-%04d' "$i")
	d="$root/$name"
	mkdir -p "$d"
	cat >"$d/manifest.yaml" <<EOF
name: $name
version: 1.$i.0
description: Generated runtime number $i
python_version: 3.11.7
platforms:
  - ubuntu-amd64
  - ubuntu-arm64
packages:
  - numpy==1.26.$i
  - pandas==2.1.3
smoke:
  - name: version
    command: [python3, --version]
build:
  timeout: 20m
EOF
	printf '#!/usr/bin/env bash\n# %s\nset -euo pipefail\ncd "$(dirname "$0")"\nexec "./setup-${RTOOL_PLATFORM:?}.sh"\n' "$name" >"$d/setup.sh"
	for p in ubuntu-amd64 ubuntu-arm64; do
		printf '#!/usr/bin/env bash\nset -euo pipefail\nmkdir -p /opt/joblet/runtimes/%s\nfor pkg in python3 python3-venv; do\n  echo "installing $pkg for %s"\ndone\n' "$name" "$p" >"$d/setup-$p.sh"
	done
	chmod +x "$d"/*.sh
done

run_rtool() {
	local t0 t1
	t0=$(now)
	"$RTOOL" validate --runtimes "$root" --no-shellcheck >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}
run_baseline() {
	local t0 t1
	t0=$(now)
	find "$root" -name '*.sh' -print0 | xargs -0 -n1 -P"$(nproc)" bash -n
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}

alternate "$RUNS" run_rtool run_baseline
r_times=("${FIRST_TIMES[@]}")
b_times=("${SECOND_TIMES[@]}")
r_med=$(median_of "${r_times[@]}")
b_med=$(median_of "${b_times[@]}")
echo "rtool validate (1000 runtimes, all checks but shellcheck): runs ${r_times[*]} ms, median ${r_med} ms (target < 1000 ms)"
echo "bash -n per script baseline (syntax only, -P$(nproc)):      runs ${b_times[*]} ms, median ${b_med} ms"
awk -v b="$b_med" -v r="$r_med" 'BEGIN { printf "ratio baseline/rtool: %.2fx\n", b / r }'
[ "$r_med" -lt 1000 ]
