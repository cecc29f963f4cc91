#!/usr/bin/env bash
# bench_relay.sh - the service skeleton's catch-up rate (issue: consumer
# apply throughput), printed as rows of the markdown table
# `| figure | measured | baseline | ratio | goal |`.
#
# A backlog of N messages (default 200,000) is loaded into the test
# producer's stream first; then the relay pair starts: the relay applies
# each message (one row, buffered and written once per batch) and derives
# one record per input into its own stream in the same transaction, and the
# second consumer applies the relay's stream. Measured: messages/s until the
# relay has applied the backlog, and until the second consumer has applied
# everything the relay derived (the pair), beside BASELINE_ROWS_PER_S (the
# raw multi-row INSERT figure of the same run); peak RSS of the relay.
set -uo pipefail
export AG_BUILD=${AG_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
export AIRGUARD_LOG_LEVEL=warn
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/lib.sh"
ag_pg_start >/dev/null

RUNS=${BENCH_RUNS:-3}
N=${BENCH_RELAY_MESSAGES:-200000}
BASE=${BASELINE_ROWS_PER_S:-}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
relay_row() {
    local ratio=- base=-
    if [ -n "$BASE" ]; then
        base=$BASE
        ratio=$(awk -v m="$2" -v b="$BASE" 'BEGIN {printf "%.2f", m / b}')
    fi
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$base" "$ratio" "$3"
}

relay_runs=()
pair_runs=()
rss_runs=()
for ((i = 1; i <= RUNS; i++)); do
    ag_db_create "bench_relay$i" streamprod streamrelay streamcons
    port=$((AG_PORT + i * 10))
    p_ctl=tcp://127.0.0.1:$port p_pub=tcp://127.0.0.1:$((port + 1))
    r_ctl=tcp://127.0.0.1:$((port + 3)) r_pub=tcp://127.0.0.1:$((port + 4))
    cat >"$AG_WORK/prod$i.yaml" <<YAML
instance: prod-1
database: {url: "$AG_DB_URL"}
control: $p_ctl
publish: $p_pub
streamprod: {submit: "tcp://127.0.0.1:$((port + 2))"}
YAML
    cat >"$AG_WORK/relay$i.yaml" <<YAML
instance: relay-1
database: {url: "$AG_DB_URL"}
control: $r_ctl
publish: $r_pub
follow: [{stream: test.prod-1, publish: "$p_pub", control: "$p_ctl"}]
YAML
    cat >"$AG_WORK/cons$i.yaml" <<YAML
instance: cons-1
database: {url: "$AG_DB_URL"}
control: tcp://127.0.0.1:$((port + 5))
follow: [{stream: relay.relay-1, publish: "$r_pub", control: "$r_ctl"}]
YAML
    ag_start "prod$i" "$AG_TESTBIN/stream_producer" --config "$AG_WORK/prod$i.yaml"
    ag_wait_health "$p_ctl" >/dev/null || exit 1
    "$AG_TESTBIN/stream_load" --endpoint "tcp://127.0.0.1:$((port + 2))" --count "$N" \
        --clients 64 --inflight 8 --keys 1000 >/dev/null
    t0=$(now)
    ag_start "relay$i" env AIRGUARD_CLOCK=manual:1574640000000 "$AG_TESTBIN/stream_relay" \
        --config "$AG_WORK/relay$i.yaml"
    ag_start "cons$i" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/cons$i.yaml"
    ag_wait_sql "SELECT applied FROM streamrelay.stream_offset" "$N" 600 >/dev/null
    t1=$(now)
    ag_wait_sql "SELECT applied FROM streamcons.stream_offset" "$N" 600 >/dev/null
    t2=$(now)
    relay_runs+=("$(rate "$N" "$t0" "$t1")")
    pair_runs+=("$(rate "$N" "$t0" "$t2")")
    rss_runs+=("$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/${AG_PIDS[relay$i]}/status" 2>/dev/null)")
    ag_stop "cons$i"
    ag_stop "relay$i"
    ag_stop "prod$i"
    ag_db_drop
done
relay_row "relay catch-up: $N msgs applied + $N derived, 1 txn per replay batch" \
    "$(printf '%s\n' "${relay_runs[@]}" | median)" ">= 30000 and >= 0.25"
relay_row "relay pair catch-up: second consumer applied all derived" \
    "$(printf '%s\n' "${pair_runs[@]}" | median)" ">= 30000 and >= 0.25"
printf '| %s | %s | - | - | - |\n' "relay peak RSS (MiB)" "$(printf '%s\n' "${rss_runs[@]}" | median)"
echo "runs: relay ${relay_runs[*]}; pair ${pair_runs[*]}; rss MiB ${rss_runs[*]}" >&2
ag_stop_all
rm -rf "$AG_WORK"
