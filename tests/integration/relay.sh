#!/usr/bin/env bash
# relay.sh - the service skeleton under real failures (docs/streams.md,
# "Consume-and-produce", "Timers", "Stream identity"): the test producer,
# the relay (tests/stream/stream_relay.c: one derived record per input,
# timers for "timed" inputs) and a second consumer following the relay's
# stream, as separate processes on a real PostgreSQL. Each case ends with
# the invariants:
#   both logs gap-free (count = max(seq) = head);
#   exactly one derived record per input, and one firing per timer;
#   the second consumer applied = the relay's head, one effect per record.
# Also here: transactions cancelled mid-way (lock + pg_cancel_backend) in a
# consumer's apply and a producer's append, two producers of one stream,
# and a stream recreated under the same name.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"

ag_pg_start
# RL_CASES="timers identity" runs only those cases (for development).
rl_want() { [ -z "${RL_CASES:-}" ] || [[ " $RL_CASES " == *" $1 "* ]]; }
T0=1574640000000 # 2019-11-25T00:00Z: stream_load's event times start here
case_no=0

# rl_setup CASE: database, configs; starts producer, relay and consumer
# (RELAY=0 / CONS=0 leave one out). The relay runs on a manual clock at T0.
rl_setup() {
    CASE=$1
    case_no=$((case_no + 1))
    local port=$((AG_PORT + case_no * 10))
    P_CTL=tcp://127.0.0.1:$port
    P_PUB=tcp://127.0.0.1:$((port + 1))
    P_SUBMIT=tcp://127.0.0.1:$((port + 2))
    R_CTL=tcp://127.0.0.1:$((port + 3))
    R_PUB=tcp://127.0.0.1:$((port + 4))
    C_CTL=tcp://127.0.0.1:$((port + 5))
    ag_db_create "rl_$CASE" streamprod streamrelay streamcons
    local dir=$AG_WORK/$CASE
    mkdir -p "$dir"
    ag_test_producer_config "$dir/prod.yaml" "$P_CTL" "$P_PUB" "$P_SUBMIT"
    cat >"$dir/relay.yaml" <<YAML
instance: relay-1
database:
  url: "$AG_DB_URL"
control: $R_CTL
publish: $R_PUB
follow:
  - stream: test.prod-1
    publish: $P_PUB
    control: $P_CTL
YAML
    ag_test_consumer_config "$dir/cons.yaml" "$C_CTL" relay.relay-1 "$R_PUB" "$R_CTL"
    ag_start "$CASE-prod" "$AG_TESTBIN/stream_producer" --config "$dir/prod.yaml"
    ag_wait_health "$P_CTL" || return 1
    if [ "${RELAY:-1}" = 1 ]; then rl_start_relay "$T0" || return 1; fi
    if [ "${CONS:-1}" = 1 ]; then
        ag_start "$CASE-cons" "$AG_TESTBIN/stream_consumer" --config "$dir/cons.yaml"
        ag_wait_health "$C_CTL" || return 1
    fi
}

# rl_start_relay CLOCK_MS [ENV=VALUE...]: (re)starts the relay.
rl_start_relay() {
    local clock=$1
    shift
    ag_start "$CASE-relay" env AIRGUARD_CLOCK="manual:$clock" "$@" \
        "$AG_TESTBIN/stream_relay" --config "$AG_WORK/$CASE/relay.yaml"
    ag_wait_health "$R_CTL"
}

rl_load() {
    "$AG_TESTBIN/stream_load" --endpoint "$P_SUBMIT" --out "$AG_WORK/$CASE/load.acks" "$@" \
        >>"$AG_WORK/$CASE/load.out" 2>&1
}

rl_ctl() { "$AG_BIN/airguard" query "$2" --endpoint "$1" --timeout-ms 3000 --retries 2 2>&1; }

rl_head() { ag_sql "SELECT coalesce(max(last_seq), 0) FROM $1.stream_head"; }

# rl_settle: until the relay applied the producer's head and the consumer
# the relay's.
rl_settle() {
    local p r
    p=$(rl_head streamprod)
    ag_wait_sql "SELECT applied FROM streamrelay.stream_offset WHERE stream = 'test.prod-1'" "$p" 90 || return 1
    r=$(rl_head streamrelay)
    [ "${CONS:-1}" = 1 ] || return 0
    ag_wait_sql "SELECT applied FROM streamcons.stream_offset WHERE stream = 'relay.relay-1'" "$r" 90
}

# rl_invariants EXPECTED_INPUTS [EXPECTED_FIRED]
rl_invariants() {
    local inputs=$1 fired=${2:-0} p r
    p=$(rl_head streamprod)
    r=$(rl_head streamrelay)
    ag_eq "$CASE: producer log gap-free" \
        "$(ag_sql "SELECT count(*) || '/' || coalesce(max(seq), 0) FROM streamprod.stream_log")" "$p/$p"
    ag_eq "$CASE: every input acknowledged is in the log" "$p" "$inputs"
    ag_eq "$CASE: relay log gap-free" \
        "$(ag_sql "SELECT count(*) || '/' || coalesce(max(seq), 0) FROM streamrelay.stream_log")" "$r/$r"
    ag_eq "$CASE: exactly one derived record per input" \
        "$(ag_sql "SELECT count(*) || '/' || count(DISTINCT (stream, seq)) FROM streamrelay.relayed WHERE kind = 'relayed'")" "$p/$p"
    ag_eq "$CASE: exactly one firing per timer" \
        "$(ag_sql "SELECT count(*) || '/' || count(DISTINCT stream) FROM streamrelay.relayed WHERE kind = 'fired'")" "$fired/$fired"
    ag_eq "$CASE: relay log = derived records" "$r" "$((p + fired))"
    ag_eq "$CASE: relay applied = producer head" \
        "$(ag_sql "SELECT applied FROM streamrelay.stream_offset WHERE stream = 'test.prod-1'")" "$p"
    if [ "${CONS:-1}" = 1 ]; then
        ag_eq "$CASE: consumer applied = relay head, one effect per record" \
            "$(ag_sql "SELECT o.applied || '/' || (SELECT count(DISTINCT msg_id) || '/' || count(*) FROM streamcons.effects) FROM streamcons.stream_offset o WHERE stream = 'relay.relay-1'")" "$r/$r/$r"
    fi
}

rl_teardown() {
    local name
    for name in prod relay cons; do
        [ -n "${AG_PIDS[$CASE-$name]:-}" ] || continue
        ag_check "$CASE: $name stops cleanly on SIGTERM" ag_stop "$CASE-$name"
    done
    [ "$AG_FAILED" -eq 0 ] && ag_db_drop
}

# ---- consume-and-produce --------------------------------------------------

if rl_want basic; then
rl_setup basic && rl_load --count 3000 --clients 4 --keys 40 && rl_settle
rl_invariants 3000
ag_check "basic: idle once the producer's head is applied" \
    grep -q '"idle":true' <<<"$(rl_ctl "$R_CTL" "{\"op\":\"idle\",\"heads\":{\"test.prod-1\":$(rl_head streamprod)}}")"
rl_teardown
fi

if rl_want kill_apply; then
rl_setup kill_apply
rl_load --count 20000 --clients 8 --keys 50 --deadline-s 240 &
load=$!
for i in 1 2 3; do
    sleep 1.5
    ag_kill9 "$CASE-relay"
    rl_start_relay "$T0" || true
done
wait "$load"
rl_settle
rl_invariants 20000
rl_teardown
fi

if rl_want kill_publish; then
rl_setup kill_publish
ag_kill9 "$CASE-relay"
# Dies right after its third commit, before publishing what it derived.
rl_start_relay "$T0" AIRGUARD_TEST_KILL_AFTER_COMMITS=3
rl_load --count 4000 --clients 4 --keys 10 --deadline-s 120
for i in $(seq 1 50); do kill -0 "${AG_PIDS[$CASE-relay]}" 2>/dev/null || break; sleep 0.2; done
ag_check "kill_publish: the relay died between commit and publish" \
    grep -q "between commit and publish" "$AG_WORK/$CASE-relay.log"
ag_kill9 "$CASE-relay"
rl_start_relay "$T0"
rl_settle
rl_invariants 4000
rl_teardown
fi

if rl_want pg_restart; then
if ag_can_crash_pg; then
    rl_setup pg_restart
    rl_load --count 15000 --clients 8 --keys 50 --deadline-s 240 &
    load=$!
    sleep 2
    ag_pg_crash
    wait "$load"
    rl_settle
    rl_invariants 15000
    rl_teardown
fi
fi

if rl_want late_joiner; then
CONS=0 rl_setup late_joiner && rl_load --count 5000 --clients 4 && CONS=0 rl_settle
ag_start "$CASE-cons" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/$CASE/cons.yaml"
ag_wait_health "$C_CTL"
rl_settle
rl_invariants 5000
rl_teardown
fi

# ---- timers on the manual clock --------------------------------------------

if rl_want timers; then
rl_setup timers
rl_load --count 500 --clients 4 --type timed --body-json '{"key":"t","delay_ms":60000}'
rl_settle
ag_eq "timers: one timer per timed input, none fired yet" \
    "$(ag_sql "SELECT count(*) FROM streamrelay.timer")/$(ag_sql "SELECT count(*) FROM streamrelay.relayed WHERE kind = 'fired'")" "500/0"
ag_check "timers: idle before the deadline (no timer due)" \
    grep -q '"idle":true' <<<"$(rl_ctl "$R_CTL" '{"op":"idle"}')"
ag_check "timers: the clock refuses to go back" \
    grep -q E_RANGE <<<"$(rl_ctl "$R_CTL" "{\"op\":\"clock\",\"set_ms\":$((T0 - 1))}")"
ag_check "timers: a service on the system clock refuses to be driven" \
    grep -q E_NOT_MANUAL <<<"$(rl_ctl "$P_CTL" "{\"op\":\"clock\",\"set_ms\":$((T0 + 1))}")"
# Half the deadlines pass: inputs 0..249 are due at T0 + i + 60000.
"$AG_BIN/airguard" clock --set-ms $((T0 + 60000 + 249)) --endpoint "$R_CTL" >/dev/null
ag_wait_sql "SELECT count(*) FROM streamrelay.relayed WHERE kind = 'fired'" 250 30
ag_eq "timers: exactly the due half fired" "$(ag_sql "SELECT count(*) FROM streamrelay.timer")" 250
# The other deadlines pass while the relay is down (SIGKILL), and it comes
# back on a clock past them: each fires once, on start.
ag_kill9 "$CASE-relay"
rl_start_relay "$((T0 + 10000000))" AIRGUARD_TEST_KILL_AFTER_COMMITS=1
for i in $(seq 1 50); do kill -0 "${AG_PIDS[$CASE-relay]}" 2>/dev/null || break; sleep 0.2; done
ag_kill9 "$CASE-relay"
rl_start_relay "$((T0 + 10000000))"
ag_wait_sql "SELECT count(*) FROM streamrelay.timer" 0 30
rl_settle
ag_check "timers: idle once everything fired and was applied" \
    grep -q '"idle":true' <<<"$(rl_ctl "$R_CTL" "{\"op\":\"idle\",\"heads\":{\"test.prod-1\":$(rl_head streamprod)}}")"
rl_invariants 500 500
rl_teardown
fi

# ---- transactions cancelled midway -----------------------------------------

# rl_cancel_while_locked TABLE APP: while a client submits (its own load,
# so there is always work in flight), holds an exclusive lock on TABLE,
# waits until APP's backend is blocked on it, cancels that statement and
# releases the lock; then lets the load finish.
rl_cancel_while_locked() {
    local table=$1 app=$2 i pid= load locker try
    # A lock window can pass with no statement of APP in it (its client
    # between requests): try again, up to three windows.
    for try in 1 2 3; do
        rl_load --count 400 --clients 2 --rate 200 --deadline-s 120 &
        load=$!
        psql -X -q "$(printf '%s' "$AG_ADMIN_URL" | sed -E "s#///[^?]*#///$AG_DB#")" -v ON_ERROR_STOP=1 -c "BEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
        locker=$!
        for i in $(seq 1 100); do
            pid=$(ag_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND wait_event_type = 'Lock' LIMIT 1")
            [ -n "$pid" ] && break
            sleep 0.05
        done
        [ -n "$pid" ] && ag_sql "SELECT pg_cancel_backend($pid)" >/dev/null
        [ -n "$pid" ] || ag_log "no statement of $app waited on $table (try $try)"
        wait "$locker"
        wait "$load"
        RL_LOADED=$((RL_LOADED + 400))
        [ -n "$pid" ] && return 0
    done
    return 1
}

if rl_want cancel; then
rl_setup cancel
rl_load --count 500 --clients 2
rl_settle
RL_LOADED=500
ag_check "cancel: the consumer's apply was cancelled while it waited on a lock" \
    rl_cancel_while_locked streamcons.effects cons-1
ag_check "cancel: the relay's append was cancelled while it waited on a lock" \
    rl_cancel_while_locked streamrelay.stream_log relay-1
ag_check "cancel: the producer's append was cancelled while it waited on a lock" \
    rl_cancel_while_locked streamprod.stream_log prod-1
# Within a second of the lock's end every service takes work again.
ag_check "cancel: submits acknowledged right after" rl_load --count 20 --clients 1 --deadline-s 2
rl_settle
rl_invariants $((RL_LOADED + 20))
ag_eq "cancel: nothing dead-lettered" \
    "$(ag_sql "SELECT (SELECT count(*) FROM streamrelay.dead_letter) + (SELECT count(*) FROM streamcons.dead_letter)")" 0
rl_teardown
fi

# ---- one writer per stream --------------------------------------------------

if rl_want two_writers; then
RELAY=0 CONS=0 rl_setup two_writers
sed "s#$P_CTL#tcp://127.0.0.1:$((AG_PORT + 7))#; s#$P_PUB#tcp://127.0.0.1:$((AG_PORT + 8))#; s#$P_SUBMIT#tcp://127.0.0.1:$((AG_PORT + 9))#" \
    "$AG_WORK/$CASE/prod.yaml" >"$AG_WORK/$CASE/prod2.yaml"
timeout 20 "$AG_TESTBIN/stream_producer" --config "$AG_WORK/$CASE/prod2.yaml" >"$AG_WORK/$CASE/prod2.log" 2>&1
ag_check "two_writers: a second producer of the stream refuses to start" test $? -ne 0
ag_check "two_writers: and names the stream and the holder" \
    grep -q "stream test.prod-1 is already written by instance 'prod-1'" "$AG_WORK/$CASE/prod2.log"
ag_check "two_writers: the first still serves" rl_load --count 10 --clients 1 --deadline-s 5
rl_teardown
fi

# ---- a stream recreated under the same name ---------------------------------

if rl_want identity; then
RELAY=0 CONS=0 rl_setup identity
sed -i "s#relay.relay-1#test.prod-1#; s#$R_PUB#$P_PUB#; s#$R_CTL#$P_CTL#" "$AG_WORK/$CASE/cons.yaml"
ag_start "$CASE-cons" "$AG_TESTBIN/stream_consumer" --config "$AG_WORK/$CASE/cons.yaml"
ag_wait_health "$C_CTL"
rl_load --count 300 --clients 2
ag_wait_sql "SELECT applied FROM streamcons.stream_offset" 300 60
old_id=$(ag_sql "SELECT stream_id FROM streamprod.stream_head")
ag_eq "identity: the consumer stored the stream's identity" \
    "$(ag_sql "SELECT stream_id FROM streamcons.stream_offset")" "$old_id"
# A restore gone wrong: the producer comes back on an empty stream.
ag_stop "$CASE-prod"
ag_sql "DELETE FROM streamprod.stream_log; DELETE FROM streamprod.stream_head"
ag_restart "$CASE-prod"
ag_wait_health "$P_CTL"
rl_load --count 400 --clients 2
ag_wait_sql "SELECT halted IS NOT NULL FROM streamcons.stream_offset" t 30
ag_eq "identity: nothing applied from the new stream" \
    "$(ag_sql "SELECT applied || '/' || (SELECT count(*) FROM streamcons.effects) FROM streamcons.stream_offset")" "300/300"
ag_check "identity: streams op says halted" grep -q '"halted":true' <<<"$(rl_ctl "$C_CTL" '{"op":"streams"}')"
ag_check "identity: health says so" grep -q E_HALTED <<<"$(rl_ctl "$C_CTL" '{"op":"health"}')"
ag_check "identity: the log says so" grep -q "recreated stream" "$AG_WORK/$CASE-cons.log"
ag_check "identity: idle says so" grep -q '"idle":false' <<<"$(rl_ctl "$C_CTL" '{"op":"idle"}')"
ag_check "identity: an operator resets it (airguard reset-stream)" \
    grep -q '"ok":true' <<<"$("$AG_BIN/airguard" reset-stream --stream test.prod-1 --endpoint "$C_CTL" 2>&1)"
ag_wait_sql "SELECT applied FROM streamcons.stream_offset" 400 60
ag_eq "identity: after the reset the new stream is applied from seq 1" \
    "$(ag_sql "SELECT (SELECT count(*) FROM streamcons.effects) || '/' || (stream_id = (SELECT stream_id FROM streamprod.stream_head))::text FROM streamcons.stream_offset")" "700/true"
rl_teardown
fi

ag_summary
