#!/usr/bin/env bash
# bench_dispatch.sh - dispatch catching up on a backlog, printed as rows of
# the markdown table `| figure | measured | baseline | ratio | goal |`.
#
# A backlog of BENCH_DISPATCH_EVENTS (default 200000) actionable reports is
# written through the real intake first (stream_load, 64 clients x 8 in
# flight; every report opens a task: a grid, no point, so nothing merges);
# then dispatch starts and is timed from its start until it has applied
# intake's head: routed, decided, tasks, history, the deadline timer of each
# task and the records on its stream all committed. The figure includes
# start-up (migrations, loading open tasks). Peak RSS is the process's
# VmHWM just before it stops. BASELINE_ROWS_PER_S is the raw 1000-row
# multi-row INSERT figure tests/bench/run.sh measures in the same run.
# Each figure is the median of BENCH_RUNS runs (default 3).
set -uo pipefail
export AG_BUILD=${AG_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
export AIRGUARD_LOG_LEVEL=${AIRGUARD_LOG_LEVEL:-warn}
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/lib.sh"
ag_pg_start >/dev/null

RUNS=${BENCH_RUNS:-3}
N=${BENCH_DISPATCH_EVENTS:-200000}
BASE=${BASELINE_ROWS_PER_S:-}
P=$AG_PORT


rates=()
rss=()
for ((run = 1; run <= RUNS; run++)); do
    ag_db_create "ag_bench_dispatch$run" intake dispatch
    cat >"$AG_WORK/intake.yaml" <<EOF
database: {url: "$AG_DB_URL"}
control: tcp://127.0.0.1:$P
publish: tcp://127.0.0.1:$((P + 1))
intake:
  submit: tcp://127.0.0.1:$((P + 2))
  campaigns: $AG_ROOT/seeds
  security: {insecure: true}
EOF
    cat >"$AG_WORK/dispatch.yaml" <<EOF
database: {url: "$AG_DB_URL"}
control: tcp://127.0.0.1:$((P + 3))
publish: tcp://127.0.0.1:$((P + 4))
follow:
  - {stream: events.intake-1, publish: "tcp://127.0.0.1:$((P + 1))", control: "tcp://127.0.0.1:$P"}
dispatch: {campaigns: $AG_ROOT/seeds}
EOF
    ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
    ag_wait_health "tcp://127.0.0.1:$P" >/dev/null || exit 1
    # Four kinds over four grids, so the backlog is not one routing answer.
    per=$((N / 4))
    for body in 'report.meat_smoking {"grid":"baima-g01"}' \
        'report.open_burning {"grid":"modou-g02","material":"rubbish"}' \
        'report.fireworks_set_off {"grid":"xinhua-g04","ongoing":true}' \
        'report.fireworks_storage_sales {"grid":"fengyi-g02","activity":"sales"}'; do
        "$AG_TESTBIN/stream_load" --endpoint "tcp://127.0.0.1:$((P + 2))" --clients 64 --inflight 8 \
            --count "$per" --type "${body%% *}" --body-json "${body#* }" --source bench \
            --timeout-ms 10000 >>"$AG_WORK/load.out" 2>&1 || exit 1
    done
    head=$(ag_sql "SELECT last_seq FROM intake.stream_head")
    t0=$(date +%s.%N)
    ag_start dispatch ${BENCH_DISPATCH_WRAP:-} "$AG_BIN/airguard-dispatch" --config "$AG_WORK/dispatch.yaml"
    # Waited for inside one server session, polled every 20 ms: a psql
    # started every 200 ms would take CPU from what is measured and add up
    # to 200 ms to it. The session starts once dispatch's migrations made
    # the table (a session does not see a table created while it waits).
    ag_wait_sql "SELECT to_regclass('dispatch.stream_offset') IS NOT NULL" t 60 >/dev/null || exit 1
    ag_sql "DO \$\$ BEGIN
              FOR i IN 1..30000 LOOP
                EXIT WHEN (SELECT applied FROM dispatch.stream_offset
                           WHERE stream = 'events.intake-1') = $head;
                PERFORM pg_sleep(0.02);
              END LOOP; END \$\$" >/dev/null || exit 1
    t1=$(date +%s.%N)
    applied=$(ag_sql "SELECT applied FROM dispatch.stream_offset WHERE stream = 'events.intake-1'")
    [ "$applied" = "$head" ] || { ag_log "dispatch applied $applied of $head in 600 s"; exit 1; }
    rates+=("$(awk -v a="$t0" -v b="$t1" -v n="$head" 'BEGIN { printf "%.0f", n / (b - a) }')")
    rss+=("$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/${AG_PIDS[dispatch]}/status")")
    tasks=$(ag_sql "SELECT count(*) FROM dispatch.task")
    [ "$tasks" = "$head" ] || { ag_log "expected $head tasks, found $tasks"; exit 1; }
    ag_stop dispatch
    ag_stop intake
    ag_db_drop
done
rate=$(printf '%s\n' "${rates[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | median)
row "dispatch catching up on $N reports: tasks + history + deadline timer + records committed" "$rate" "ev/s" "≥ 30000 ev/s" vs
row "dispatch peak RSS after that backlog" "$peak" "MiB" -
echo "# dispatch runs: ${rates[*]} ev/s; peak RSS ${rss[*]} MiB" >&2
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$AG_WORK"
if [ "${AG_PG_OWNED:-0}" = 1 ]; then "$AG_ROOT/tools/pg.sh" stop "$AG_PG_DIR"; fi
