#!/usr/bin/env bash
# stream_contract.sh - the stream contract (docs/streams.md) under real
# failures: the test producer and consumer (tests/stream/) run as separate
# processes against a real PostgreSQL, a load generator submits thousands of
# messages, and we SIGKILL the consumer, SIGKILL the producer, crash
# PostgreSQL, start a consumer late, drop live messages, and send poison.
# Every case ends with the SQL invariants:
#   the log is gap-free (count = max(seq)) and its head row agrees;
#   every acknowledged message is in the log exactly once, at its acked seq;
#   the consumer's applied = the producer's max(seq);
#   effects + dead letters = max(seq), and no message has two effects.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"

ag_pg_start

# sc_setup CASE: a database and configs; starts producer (and consumer
# unless NO_CONSUMER=1). Sets P_SUBMIT, P_CTL, C_CTL.
case_no=0
sc_setup() {
    CASE=$1
    case_no=$((case_no + 1))
    local port=$((AG_PORT + case_no * 10))
    P_CTL=tcp://127.0.0.1:$port
    P_PUB=tcp://127.0.0.1:$((port + 1))
    P_SUBMIT=tcp://127.0.0.1:$((port + 2))
    C_CTL=tcp://127.0.0.1:$((port + 3))
    ag_db_create "sc_$CASE" streamprod streamcons
    mkdir -p "$AG_WORK/$CASE"
    ag_test_producer_config "$AG_WORK/$CASE/prod.yaml" "$P_CTL" "$P_PUB" "$P_SUBMIT"
    ag_test_consumer_config "$AG_WORK/$CASE/cons.yaml" "$C_CTL" test.prod-1 "$P_PUB" "$P_CTL"
    ag_start "$CASE-prod" "$AG_TESTBIN/stream_producer" --config "$AG_WORK/$CASE/prod.yaml"
    ag_wait_health "$P_CTL" || return 1
    if [ "${NO_CONSUMER:-0}" != 1 ]; then
        ag_start "$CASE-cons" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/$CASE/cons.yaml"
        ag_wait_health "$C_CTL" || return 1
    fi
}

# sc_load NAME ARGS...: runs the load generator in the background; acks go
# to $AG_WORK/$CASE/NAME.acks.
sc_load() {
    local name=$1
    shift
    "$AG_TESTBIN/stream_load" --endpoint "$P_SUBMIT" --out "$AG_WORK/$CASE/$name.acks" "$@" \
        >"$AG_WORK/$CASE/$name.out" 2>&1 &
    LOAD_PID=$!
}

sc_wait_load() {
    wait "$LOAD_PID"
    local rc=$?
    cat "$AG_WORK/$CASE/$1.out" >&2
    return $rc
}

# sc_invariants EXPECTED_ACKS [EXPECTED_DEAD]: the checks every case ends with.
sc_invariants() {
    local expected_acks=$1 expected_dead=${2:-0}
    cat "$AG_WORK/$CASE"/*.acks 2>/dev/null | grep -v REJECT >"$AG_WORK/$CASE/acked.tsv"
    ag_sql "CREATE TABLE public.acks (id uuid, key text, stream text, seq bigint, dup int)"
    ag_sql "\\copy public.acks FROM '$AG_WORK/$CASE/acked.tsv'"
    local max
    max=$(ag_sql "SELECT coalesce(max(seq), 0) FROM streamprod.stream_log")
    ag_eq "$CASE: every message acknowledged" \
        "$(ag_sql "SELECT count(DISTINCT id) FROM public.acks")" "$expected_acks"
    ag_eq "$CASE: log gap-free (count = max(seq))" \
        "$(ag_sql "SELECT count(*) FROM streamprod.stream_log")" "$max"
    ag_eq "$CASE: head row = max(seq)" \
        "$(ag_sql "SELECT last_seq FROM streamprod.stream_head WHERE stream = 'test.prod-1'")" "$max"
    ag_eq "$CASE: every ack in the log exactly once, at its acked seq" \
        "$(ag_sql "SELECT count(*) FROM public.acks a LEFT JOIN streamprod.stream_log l
                   ON l.msg_id = a.id AND l.seq = a.seq WHERE l.seq IS NULL")" "0"
    ag_eq "$CASE: nothing stored twice" \
        "$(ag_sql "SELECT count(*) - count(DISTINCT msg_id) FROM streamprod.stream_log")" "0"
    ag_check "$CASE: consumer caught up (applied = max(seq))" \
        ag_wait_sql "SELECT applied FROM streamcons.stream_offset WHERE stream = 'test.prod-1'" "$max" 90
    ag_eq "$CASE: effects + dead letters = max(seq)" \
        "$(ag_sql "SELECT (SELECT count(*) FROM streamcons.effects) + (SELECT count(*) FROM streamcons.dead_letter)")" "$max"
    ag_eq "$CASE: no duplicate effect" \
        "$(ag_sql "SELECT count(*) FROM (SELECT msg_id FROM streamcons.effects GROUP BY 1 HAVING count(*) > 1) d")" "0"
    ag_eq "$CASE: every effect is of a logged message, at its seq" \
        "$(ag_sql "SELECT count(*) FROM streamcons.effects e LEFT JOIN streamprod.stream_log l
                   ON l.msg_id = e.msg_id AND l.seq = e.seq WHERE l.seq IS NULL")" "0"
    ag_eq "$CASE: counts agree with effects" \
        "$(ag_sql "SELECT coalesce(sum(n), 0) FROM streamcons.counts")" \
        "$(ag_sql "SELECT count(*) FROM streamcons.effects")"
    ag_eq "$CASE: dead letters" "$(ag_sql "SELECT count(*) FROM streamcons.dead_letter")" "$expected_dead"
}

# sc_finish: clean shutdown must succeed (sanitizers report leaks at exit).
sc_finish() {
    local name
    for name in "$CASE-cons" "$CASE-prod"; do
        [ -n "${AG_PIDS[$name]:-}" ] || continue
        ag_check "$CASE: $name stops cleanly on SIGTERM" ag_stop "$name"
    done
    [ "$AG_FAILED" -eq 0 ] && ag_db_drop
}

# --- the consumer is killed with SIGKILL mid-run and restarted ------------
sc_setup consumer_kill9
sc_load a --count 6000 --rate 1500 --clients 16
sleep 1.5
ag_kill9 "$CASE-cons"
sleep 1
ag_restart "$CASE-cons"
ag_check "$CASE: load finished" sc_wait_load a
sc_invariants 6000
sc_finish

# --- the producer is killed with SIGKILL mid-run and restarted -----------
sc_setup producer_kill9
sc_load a --count 6000 --rate 1500 --clients 16 --timeout-ms 1000
sleep 1.5
ag_kill9 "$CASE-prod"
sleep 0.5
ag_restart "$CASE-prod"
ag_check "$CASE: load finished, clients retried" sc_wait_load a
sc_invariants 6000
sc_finish

# --- PostgreSQL restarts with -m immediate mid-run ---------------------
if ag_can_crash_pg; then
    sc_setup pg_crash
    sc_load a --count 6000 --rate 1500 --clients 16 --timeout-ms 1000
    sleep 1.5
    ag_check "$CASE: pg_ctl restart -m immediate" ag_pg_crash
    ag_check "$CASE: load finished, clients retried" sc_wait_load a
    sc_invariants 6000
    ag_check "$CASE: producer healthy again" ag_wait_health "$P_CTL" 30
    ag_check "$CASE: consumer healthy again" ag_wait_health "$C_CTL" 30
    sc_finish
else
    ag_log "pg_crash skipped: the server is not ours (AIRGUARD_TEST_ADMIN_URL)"
fi

# --- a consumer that starts after 10,000 messages catches up -------------
NO_CONSUMER=1 sc_setup late_consumer
sc_load a --count 10000 --clients 32
ag_check "$CASE: 10,000 messages stored first" sc_wait_load a
ag_start "$CASE-cons" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/$CASE/cons.yaml"
ag_wait_health "$C_CTL"
sc_invariants 10000
sc_finish

# --- live messages lost on the way are healed by replay ------------------
export AIRGUARD_TEST_DROP_EVERY=97
sc_setup forced_gap
unset AIRGUARD_TEST_DROP_EVERY
sc_load a --count 3000 --rate 1500 --clients 8
ag_check "$CASE: load finished" sc_wait_load a
sc_invariants 3000
dropped=$(grep -c 'test hook: live message dropped' "$AG_WORK/$CASE-cons.log")
ag_check "$CASE: live messages really were dropped ($dropped)" test "$dropped" -gt 0
sc_finish

# --- poison messages go to dead letters and the stream moves on ----------
sc_setup poison
sc_load a --count 3000 --rate 1500 --clients 8 --poison-every 100
ag_check "$CASE: load finished" sc_wait_load a
sc_load flaky --count 1 --type flaky
ag_check "$CASE: flaky message stored" sc_wait_load flaky
sc_load b --count 200 --clients 4
ag_check "$CASE: load after the poison finished" sc_wait_load b
sc_invariants 3201 31
ag_eq "$CASE: poison dead letters name their reason" \
    "$(ag_sql "SELECT count(*) FROM streamcons.dead_letter WHERE type = 'poison' AND reason LIKE '%never processable%'")" "30"
ag_eq "$CASE: a failing message is dead-lettered after 3 attempts" \
    "$(ag_sql "SELECT count(*) FROM streamcons.dead_letter WHERE type = 'flaky' AND reason LIKE 'failed 3 times:%division by zero%'")" "1"
ag_eq "$CASE: its failures were counted in the database" \
    "$(ag_sql "SELECT failures FROM streamcons.stream_failure")" "3"
sc_finish

# --- two copies of one consumer never apply a message twice --------------
sc_setup twin_consumers
sed -e "s/instance: cons-1/instance: cons-2/" -e "s/:$((AG_PORT + case_no * 10 + 3))/:$((AG_PORT + case_no * 10 + 4))/" \
    "$AG_WORK/$CASE/cons.yaml" >"$AG_WORK/$CASE/cons2.yaml"
ag_start "$CASE-cons2" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/$CASE/cons2.yaml"
sc_load a --count 4000 --rate 1500 --clients 8
ag_check "$CASE: load finished" sc_wait_load a
sc_invariants 4000
ag_eq "$CASE: one offset row, shared by both" \
    "$(ag_sql "SELECT count(*) FROM streamcons.stream_offset")" "1"
ag_check "$CASE: the second copy stops cleanly" ag_stop "$CASE-cons2"
sc_finish

# --- hostile bytes on a control socket are refused, the service lives on --
sc_setup hostile_control
port=${P_CTL##*:}
reply=$(python3 "$AG_ROOT/tests/lib/zmtp_send.py" "$port" dfffffffff)
ag_check "$CASE: a map claiming 4 billion entries gets E_MALFORMED" \
    grep -q "$(printf 'E_MALFORMED' | od -An -tx1 | tr -d ' \n')" <<<"$reply"
reply=$(python3 "$AG_ROOT/tests/lib/zmtp_send.py" "$port" "$(printf '\x81\xa2op\xa6replay' | od -An -tx1 | tr -d ' \n')")
ag_check "$CASE: replay without a stream gets E_BAD_REQUEST" \
    grep -q "$(printf 'E_BAD_REQUEST' | od -An -tx1 | tr -d ' \n')" <<<"$reply"
reply=$(python3 "$AG_ROOT/tests/lib/zmtp_send.py" "$port" 0102 "$(printf '\x81\xa2op\xa6health' | od -An -tx1 | tr -d ' \n')")
ag_check "$CASE: a request of two frames gets E_MALFORMED, its frames not echoed" \
    bash -c '[ "$(wc -l <<<"$0")" = 1 ] && grep -q "$1" <<<"$0"' "$reply" \
    "$(printf 'E_MALFORMED' | od -An -tx1 | tr -d ' \n')"
ag_check "$CASE: producer still healthy" ag_wait_health "$P_CTL" 5
sc_finish

ag_summary
