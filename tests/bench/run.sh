#!/usr/bin/env bash
# run.sh - `make bench`: measured figures beside a baseline measured in the
# same run, on this machine, with the release build. Never part of make test.
#
# Each figure is the median of RUNS runs (default 3). The baseline is the raw
# database's durable batch limit: multi-row INSERTs of 1000 rows per
# statement and transaction into a table shaped like the stream log, made by
# tests/bench/bench_stream.c against the same PostgreSQL. Further figures
# come from tests/bench/bench_*.sh scripts, which get the baseline in
# BASELINE_ROWS_PER_S and print table rows.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
runs=${RUNS:-3}
cd "$root"
export AG_BUILD=$build
source tests/lib/harness.sh
source tests/bench/lib.sh
export AIRGUARD_LOG_LEVEL=warn

AG_PG_DIR=$root/var/bench/pg
tools/pg.sh stop "$AG_PG_DIR" 2>/dev/null
rm -rf "$AG_PG_DIR"
AG_PG_OWNED=1
ag_pg_start

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
table_row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

base_runs=()
prod_runs=()
for ((i = 1; i <= runs; i++)); do
    ag_db_create bench_raw
    out=$("$AG_TESTBIN/bench_stream" "$(ag_url_for "$AG_DB")&user=postgres" 100000)
    base_runs+=("$(awk '/^baseline_rows_per_s/ {print $2}' <<<"$out")")
    prod_runs+=("$(awk '/^producer_msgs_per_s/ {print $2}' <<<"$out")")
    ag_db_drop
done
baseline=$(printf '%s\n' "${base_runs[@]}" | median)
producer=$(printf '%s\n' "${prod_runs[@]}" | median)
export BASELINE_ROWS_PER_S=$baseline

# End to end through the ingest door (the test producer: decode, canonical
# re-encode, idempotency lookup, COPY, commit, ack, publish), 64 clients;
# then a consumer started afterwards applies the whole stream.
e2e_runs=()
apply_runs=()
n=50000
for ((i = 1; i <= runs; i++)); do
    ag_db_create "bench_e2e$i" streamprod streamcons
    port=$((AG_PORT + i * 10))
    cat >"$AG_WORK/prod$i.yaml" <<YAML
instance: prod-1
database: {url: "$AG_DB_URL"}
control: tcp://127.0.0.1:$port
publish: tcp://127.0.0.1:$((port + 1))
streamprod: {submit: "tcp://127.0.0.1:$((port + 2))"}
YAML
    cat >"$AG_WORK/cons$i.yaml" <<YAML
instance: cons-1
database: {url: "$AG_DB_URL"}
control: tcp://127.0.0.1:$((port + 3))
follow: [{stream: test.prod-1, publish: "tcp://127.0.0.1:$((port + 1))", control: "tcp://127.0.0.1:$port"}]
YAML
    ag_start "prod$i" "$AG_TESTBIN/stream_producer" --config "$AG_WORK/prod$i.yaml"
    ag_wait_health "tcp://127.0.0.1:$port" >/dev/null
    out=$("$AG_TESTBIN/stream_load" --endpoint "tcp://127.0.0.1:$((port + 2))" --count $n --clients 64)
    e2e_runs+=("$(sed -E 's/.* rate=([0-9]+).*/\1/' <<<"$out")")
    t0=$(date +%s.%N)
    ag_start "cons$i" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/cons$i.yaml"
    ag_wait_sql "SELECT applied FROM streamcons.stream_offset" "$n" 120 >/dev/null
    t1=$(date +%s.%N)
    apply_runs+=("$(awk -v a="$t0" -v b="$t1" -v n=$n 'BEGIN { printf "%.0f", n / (b - a) }')")
    ag_stop "cons$i"
    ag_stop "prod$i"
    ag_db_drop
done
e2e=$(printf '%s\n' "${e2e_runs[@]}" | median)
apply=$(printf '%s\n' "${apply_runs[@]}" | median)

echo
echo "airguard benchmarks ($(nproc) cores, $runs runs each, medians; all rates per second)"
echo
table_row "figure" "measured" "baseline" "ratio" "goal"
table_row "---" "---" "---" "---" "---"
table_row "raw baseline: multi-row INSERT, 1000 rows/txn" "$baseline" "$baseline" "1.00" "(reference)"
table_row "stream producer: committed + published, 1000/batch" "$producer" "$baseline" "$(ratio "$producer" "$baseline")" ">= 0.60"
table_row "ingest door end to end: acked, 64 clients" "$e2e" "$baseline" "$(ratio "$e2e" "$baseline")" "-"
table_row "consumer apply (late start, $n msgs, 1 row + 1 upsert each)" "$apply" "$baseline" "$(ratio "$apply" "$baseline")" "-"
for script in tests/bench/bench_*.sh; do
    [ -f "$script" ] || continue
    AG_PG_DIR=$AG_PG_DIR AG_ADMIN_URL=$AG_ADMIN_URL bash "$script" "$build"
done
echo
echo "runs: baseline ${base_runs[*]}; producer ${prod_runs[*]}; e2e ${e2e_runs[*]}; apply ${apply_runs[*]}"
ag_stop_all
tools/pg.sh stop "$AG_PG_DIR"
rm -rf "$AG_WORK" "$AG_PG_DIR"
