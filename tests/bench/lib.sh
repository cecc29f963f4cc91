# lib.sh - what every bench script prints its figures with; sourced after
# tests/lib/harness.sh.

# median: the median of the numbers on stdin, one a line (of an even count,
# the mean of the two middle ones, rounded down).
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# row FIGURE MEASURED UNIT GOAL [vs]: one row of the bench table
# `| figure | measured | baseline | ratio | goal |`; with a fifth argument
# the ratio to BASE (the same run's raw baseline, rows/s) as a percentage.
row() {
    local ratio=- base=-
    if [ -n "${5:-}" ] && [ -n "${BASE:-}" ]; then
        base="$BASE rows/s"
        ratio=$(awk -v m="$2" -v b="$BASE" 'BEGIN {printf "%.0f%%", 100 * m / b}')
    fi
    printf '| %s | %s %s | %s | %s | %s |\n' "$1" "$2" "$3" "$base" "$ratio" "$4"
}
