# shellcheck shell=bash
# Sourced by scripts/bench/*.sh: the timing helpers every benchmark shares.

# now prints the time in nanoseconds.
now() { date +%s%N; }

# median prints the median of the numbers on standard input (the mean of
# the middle two, rounded, for an even count).
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# median_of prints the median of its arguments.
median_of() { printf '%s\n' "$@" | median; }

# alternate N FIRST SECOND runs the commands FIRST and SECOND (each prints
# one figure) N times, swapping which goes first every run so that neither
# always meets a warmer or colder machine, and fills the arrays
# FIRST_TIMES and SECOND_TIMES.
alternate() {
	local n=$1 first=$2 second=$3 i
	FIRST_TIMES=()
	SECOND_TIMES=()
	for ((i = 1; i <= n; i++)); do
		if ((i % 2)); then
			FIRST_TIMES+=("$("$first")")
			SECOND_TIMES+=("$("$second")")
		else
			SECOND_TIMES+=("$("$second")")
			FIRST_TIMES+=("$("$first")")
		fi
	done
}
