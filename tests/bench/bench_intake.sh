#!/usr/bin/env bash
# bench_intake.sh - intake's throughput and ack latency, printed as rows of
# the markdown table `| figure | measured | baseline | ratio | goal |`.
#
#   acknowledged events/s with 1, 8 and 64 concurrent clients (each client
#   one request in flight, a fresh id per event, the body of a real
#   catalogue type), against BASELINE_ROWS_PER_S (the raw 1000-row
#   multi-row INSERT figure tests/bench/run.sh measures in the same run);
#   single-client ack latency p50/p99 at low load (200 events/s).
#
# Each figure is the median of BENCH_RUNS runs (default 3). Uses the release
# build (build/bin, build/tests) and a private PostgreSQL like the tests
# (AG_PG_DIR / AIRGUARD_TEST_ADMIN_URL honoured). The service runs without
# CURVE here: the figure is the door and the database, not the cipher.
set -uo pipefail
export AG_BUILD=${AG_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
export AIRGUARD_LOG_LEVEL=warn
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/lib.sh"
ag_pg_start >/dev/null

RUNS=${BENCH_RUNS:-3}
BASE=${BASELINE_ROWS_PER_S:-}
P=$AG_PORT
SUB=tcp://127.0.0.1:$((P + 2))

ag_db_create ag_bench_intake intake
ag_intake_config "$AG_WORK/intake.yaml" "$P"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_wait_health "tcp://127.0.0.1:$P" || exit 1

body=$("$AG_BIN/airguard" catalogue patrol.route_visit | sed 's/.*"example":\(.*\)}$/\1/')

# load CLIENTS COUNT [RATE [INFLIGHT]]: prints stream_load's summary line.
load() {
    local rate=()
    [ -n "${3:-}" ] && [ "$3" != 0 ] && rate=(--rate "$3")
    "$AG_TESTBIN/stream_load" --endpoint "$SUB" --clients "$1" --count "$2" "${rate[@]}" \
        --inflight "${4:-1}" --type patrol.route_visit --body-json "$body" --source bench \
        --timeout-ms 10000
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }


load 8 2000 >/dev/null # warm up: connections, plans, caches
for clients in 1 8 64; do
    count=$((clients == 1 ? 3000 : clients == 8 ? 20000 : 60000))
    rate=$(for _ in $(seq "$RUNS"); do load "$clients" "$count" | field rate; done | median)
    goal=-
    [ "$clients" = 64 ] && goal="≥ 60% of baseline"
    row "intake acked events/s, $clients client$([ "$clients" = 1 ] || echo s)" "$rate" "ev/s" "$goal" vs
done
# The same 64 clients, each with 8 submits in flight (matched by id): what
# intake does when the clients do not wait for each ack before the next.
rate=$(for _ in $(seq "$RUNS"); do load 64 100000 0 8 | field rate; done | median)
row "intake acked events/s, 64 clients x 8 in flight" "$rate" "ev/s" - vs
lat=$(for _ in $(seq "$RUNS"); do load 1 1000 200; done)
p50=$(field p50_us <<<"$lat" | median)
p99=$(field p99_us <<<"$lat" | median)
row "intake ack latency p50, 1 client at 200 ev/s" "$(awk -v u="$p50" 'BEGIN {printf "%.2f", u / 1000}')" ms "≤ 1 ms"
row "intake ack latency p99, 1 client at 200 ev/s" "$(awk -v u="$p99" 'BEGIN {printf "%.2f", u / 1000}')" ms -

ag_stop_all
ag_db_drop
rm -rf "$AG_WORK"
if [ "${AG_PG_OWNED:-0}" = 1 ]; then "$AG_ROOT/tools/pg.sh" stop "$AG_PG_DIR"; fi
