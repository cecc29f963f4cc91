#!/usr/bin/env bash
# bench_door.sh - submit throughput of intake with and without a client
# flooding `health` on the control socket (issue 7, item 3), printed as rows
# of the markdown table `| figure | measured | baseline | ratio | goal |`:
# the baseline of the flooded figure is the quiet one, measured in the same
# run, and the goal is a ratio of at least 0.80.
#
# The load is 64 clients with 8 submits in flight each (tests/stream/
# stream_load.c); the flood is one DEALER keeping 256 health requests in
# flight (tests/stream/control_flood.c) for the whole measurement. Quiet
# and flooded runs alternate, BENCH_RUNS (default 3) of each, medians
# reported. Release build; a private PostgreSQL like the tests.
set -uo pipefail
export AG_BUILD=${AG_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
export AIRGUARD_LOG_LEVEL=warn
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/lib.sh"
ag_pg_start >/dev/null

RUNS=${BENCH_RUNS:-3}
COUNT=${BENCH_DOOR_COUNT:-60000}
P=$AG_PORT
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))

ag_db_create ag_bench_door intake
ag_intake_config "$AG_WORK/intake.yaml" "$P"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_wait_health "$CTL" || exit 1

body=$("$AG_BIN/airguard" catalogue patrol.route_visit | sed 's/.*"example":\(.*\)}$/\1/')
load() { # COUNT: prints stream_load's summary line
    "$AG_TESTBIN/stream_load" --endpoint "$SUB" --clients 64 --inflight 8 --count "$1" \
        --type patrol.route_visit --body-json "$body" --source bench --timeout-ms 10000
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

load 5000 >/dev/null # warm up: connections, plans, caches
quiet=()
flooded=()
health=()
for ((i = 1; i <= RUNS; i++)); do
    quiet+=("$(load "$COUNT" | field rate)")
    ag_start "flood$i" "$AG_TESTBIN/control_flood" --endpoint "$CTL" --request '{"op":"health"}' --inflight 256
    sleep 0.5 # the flood is under way before the load starts
    flooded+=("$(load "$COUNT" | field rate)")
    ag_stop "flood$i"
    health+=("$(tail -n 1 "$AG_WORK/flood$i.log" | field rate)")
done
q=$(printf '%s\n' "${quiet[@]}" | median)
f=$(printf '%s\n' "${flooded[@]}" | median)
h=$(printf '%s\n' "${health[@]}" | median)
ratio=$(awk -v a="$f" -v b="$q" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
printf '| %s | %s | %s | %s | %s |\n' \
    "intake acked events/s, 64 clients x 8 in flight, no control traffic" "$q ev/s" "-" "-" "(baseline of the next row)" \
    "the same while one client floods health (256 in flight; $h health/s answered)" "$f ev/s" "$q ev/s" "$ratio" "≥ 0.80"
ag_log "door runs: quiet ${quiet[*]}; flooded ${flooded[*]}; health/s ${health[*]}"

ag_stop_all
ag_db_drop
rm -rf "$AG_WORK"
if [ "${AG_PG_OWNED:-0}" = 1 ]; then "$AG_ROOT/tools/pg.sh" stop "$AG_PG_DIR"; fi
