#!/usr/bin/env bash
# txn_intake.sh - an ordinary database error in the middle of intake's
# transaction must not leave intake refusing everything (issue: a tip's
# contact store hit a lock timeout, the connection stayed "idle in
# transaction (aborted)", and every later submit got E_UNAVAILABLE until a
# restart). Here a tip's batch is cancelled while it waits on a lock held on
# intake.confidential; once the lock is gone, submits are acknowledged on
# their first attempt, and nothing of the cancelled tip was stored. Then
# the same with a lock timeout (AIRGUARD_DB_LOCK_TIMEOUT_MS) instead.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
ag_db_create ag_txn intake
CTL=tcp://127.0.0.1:$AG_PORT
SUB=tcp://127.0.0.1:$((AG_PORT + 2))
ag_intake_config "$AG_WORK/intake.yaml" "$AG_PORT"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts" ag_wait_health "$CTL"

"$A" catalogue --examples >"$AG_WORK/examples.jsonl"
tip=$(grep '"tip.received"' "$AG_WORK/examples.jsonl" | head -n 1)
plain=$(grep '"report.open_burning"' "$AG_WORK/examples.jsonl" | head -n 1)

# Hold the lock, send the tip, cancel its statement while it waits.
psql -X -q "$(printf '%s' "$AG_ADMIN_URL" | sed -E "s#///[^?]*#///$AG_DB#")" -v ON_ERROR_STOP=1 -c "BEGIN; LOCK TABLE intake.confidential IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null 2>&1 &
locker=$!
sleep 0.3
"$A" submit - --endpoint "$SUB" --timeout-ms 1000 --retries 1 <<<"$tip" >"$AG_WORK/tip.reply" 2>&1 &
submitter=$!
pid=
for i in $(seq 1 60); do
    pid=$(ag_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'intake-1' AND wait_event_type = 'Lock' LIMIT 1")
    [ -n "$pid" ] && break
    sleep 0.05
done
ag_check "the tip's batch waits on the lock" test -n "$pid"
[ -n "$pid" ] && ag_sql "SELECT pg_cancel_backend($pid)" >/dev/null
wait "$submitter"
wait "$locker"
ag_check "the cancelled tip was not acknowledged" bash -c "! grep -q '\"ok\":true' '$AG_WORK/tip.reply'"
ag_eq "nothing of the cancelled tip was stored" \
    "$(ag_sql "SELECT (SELECT count(*) FROM intake.stream_log) + (SELECT count(*) FROM intake.confidential)")" 0

# The lock is gone: the next submits are acknowledged at once (one attempt,
# one second each), a tip included.
ok=0
for i in 1 2 3 4 5; do
    "$A" submit - --new --endpoint "$SUB" --timeout-ms 1000 --retries 1 <<<"$plain" | grep -q '"ok":true' && ok=$((ok + 1))
done
ag_eq "plain submits acknowledged right after" "$ok" 5
ag_check "a tip acknowledged right after" \
    grep -q '"ok":true' <<<"$("$A" submit - --endpoint "$SUB" --timeout-ms 1000 --retries 1 <<<"$tip")"
ag_check "health says the database is up" grep -q '"db":"up"' <<<"$("$A" health --endpoint "$CTL" --timeout-ms 1000 --retries 1)"
ag_eq "stored: 5 plain events and one tip with its contact" \
    "$(ag_sql "SELECT (SELECT count(*) FROM intake.stream_log) || '/' || (SELECT count(*) FROM intake.confidential)")" "6/1"
ag_check "intake stops cleanly" ag_stop intake

# The same with a lock timeout instead of a cancel (55P03, the issue's own
# case): a short timeout, set by the operator's environment variable.
ag_start intake env AIRGUARD_DB_LOCK_TIMEOUT_MS=300 "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts with a 300 ms lock timeout" ag_wait_health "$CTL"
psql -X -q "$(printf '%s' "$AG_ADMIN_URL" | sed -E "s#///[^?]*#///$AG_DB#")" -v ON_ERROR_STOP=1 -c "BEGIN; LOCK TABLE intake.confidential IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" >/dev/null 2>&1 &
locker=$!
sleep 0.3
tip2=$(jq -c '.id = "7d0c3e4a-1b2c-4d5e-8f90-a1b2c3d4e5f6"' <<<"$tip")
ag_check "a tip during the lock times out and is not acknowledged"     grep -q E_UNAVAILABLE <<<"$("$A" submit - --endpoint "$SUB" --timeout-ms 1500 --retries 1 <<<"$tip2" 2>&1)"
ag_check "intake logged the lock timeout" grep -q "lock timeout" "$AG_WORK/intake.log"
wait "$locker"
ok=0
for i in 1 2 3; do
    "$A" submit - --new --endpoint "$SUB" --timeout-ms 1000 --retries 1 <<<"$plain" | grep -q '"ok":true' && ok=$((ok + 1))
done
ag_eq "after the lock: plain submits acknowledged at once" "$ok" 3
ag_check "after the lock: the same tip acknowledged"     grep -q '"ok":true' <<<"$("$A" submit - --endpoint "$SUB" --timeout-ms 1000 --retries 1 <<<"$tip2")"
ag_eq "stored: 10 events, 2 contacts" \
    "$(ag_sql "SELECT (SELECT count(*) FROM intake.stream_log) || '/' || (SELECT count(*) FROM intake.confidential)")" "10/2"
ag_check "intake stops cleanly (lock timeout run)" ag_stop intake
ag_db_drop
ag_summary
