#!/usr/bin/env bash
# door.sh - the ingest door and the control socket under floods, against a
# real PostgreSQL (issue 7, items 3 and 11):
#   1. the group commit with batches composed exactly (groupcommit_batch):
#      ids repeated within one batch (same message, other message, 300
#      pairs at once, repeats of a stored id) and lookups of refused
#      messages (one statement per batch, nothing stored for them);
#   2. a refused message that is a retry of one stored before the rules
#      changed (intake restarted without that subdistrict) gets its
#      original ack; one that is not gets its refusal;
#   3. one client floods refused-but-decodable submits while another's
#      plain submits are all acknowledged, the flood still running when they
#      are; the flood's lookups were made in batches (stats: lookup_queries
#      far below lookups) and every flooded submit is refused with its code;
#   4. floods of health and replay on the control socket while a client's
#      submits are all acknowledged, the floods still running: the control
#      socket answered at most its budget per loop turn and stopped at it,
#      shared one health round trip among a turn's requests, and replay ran
#      on the control socket's own database connection, not the one that
#      stores submits.
# Evidence is counts and ordering, never wall-clock thresholds.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
command -v jq >/dev/null || { ag_log "jq is required"; exit 1; }

# ---- 1. the group commit, batch by batch
ag_db_create ag_door_gc streamprod
"$AG_TESTBIN/groupcommit_batch" "$AG_DB_URL" >"$AG_WORK/gc.out" 2>&1
while read -r status name; do
    case $status in
    ok) ag_check "group commit: $name" true ;;
    FAIL) ag_check "group commit: $name" false ;;
    esac
done < <(grep -E '^(ok|FAIL) ' "$AG_WORK/gc.out")
ag_check "group commit: the program ran to its summary" grep -q '^[0-9]* passed, 0 failed' "$AG_WORK/gc.out"
grep -E '^  FAIL|groupcommit_batch:' "$AG_WORK/gc.out" >&2
ag_db_drop

# ---- intake without authentication (test-only config), campaigns in a
# folder of our own so that a rule can change under a restart.
ag_db_create ag_door intake
P=$AG_PORT
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
mkdir -p "$AG_WORK/campaigns"
cp "$AG_ROOT"/seeds/*.yaml "$AG_WORK/campaigns/"
ag_intake_config "$AG_WORK/intake.yaml" "$P" "" "$AG_WORK/campaigns"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts" ag_wait_health "$CTL"
submit() { "$A" submit - --endpoint "$SUB" --timeout-ms 5000 "$@"; }
stats() { "$A" query '{"op":"stats"}' --endpoint "$CTL"; }
count_log() { ag_sql "SELECT count(*) FROM intake.stream_log"; }

# ---- 2. a retry refused only because the rules changed
RID=2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f
NID=3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f7a
shanhe() { printf '{"id":"%s","time":1575000000000,"type":"patrol.check_in","subdistrict":"shanhe","body":{"squad":"sq1","grid":"shangcun-g01","group":"patrol-shangcun","headcount":%s}}' "$1" "$2"; }
first=$(submit <<<"$(shanhe "$RID" 2)")
ag_eq "rules change: stored while shanhe was served" "$(jq -r '"\(.ok) \(.duplicate)"' <<<"$first")" "true false"
ag_stop intake
rm "$AG_WORK/campaigns/demo-shanhe.yaml"
ag_restart intake
ag_check "intake restarts without shanhe" ag_wait_health "$CTL"
again=$(submit --retries 1 <<<"$(shanhe "$RID" 2)")
ag_eq "rules change: the retry gets its original ack" \
    "$(jq -r '"\(.ok) \(.duplicate) \(.seq)"' <<<"$again")" "true true $(jq -r .seq <<<"$first")"
ag_eq "rules change: the same id with another body is refused by the rules" \
    "$(submit --retries 1 <<<"$(shanhe "$RID" 3)" | jq -r '"\(.ok) \(.code)"')" "false E_UNKNOWN_SUBDISTRICT"
ag_eq "rules change: a new shanhe event is refused" \
    "$(submit --retries 1 <<<"$(shanhe "$NID" 2)" | jq -r '"\(.ok) \(.code) \(.id)"')" "false E_UNKNOWN_SUBDISTRICT $NID"
ag_eq "rules change: nothing more stored" "$(count_log)" 1

# ---- 3. a flood of refused-but-decodable submits
good_body=$("$A" catalogue --examples | jq -c 'select(.type == "patrol.route_visit") | .body')
# task.acknowledged without "by": decodable, refused E_MISSING by the rules.
bad_body='{"task":"5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f"}'
flood_args=(--endpoint "$SUB" --clients 8 --inflight 64 --type task.acknowledged
    --body-json "$bad_body" --source flood)
good_client() { # OUT: 400 plain submits, 8 in flight
    "$AG_TESTBIN/stream_load" --endpoint "$SUB" --clients 1 --inflight 8 --count 400 \
        --type patrol.route_visit --body-json "$good_body" --source good --out "$1" --timeout-ms 10000 --deadline-s 120
}
# jqt EXPR: the JSON on stdin satisfies EXPR
jqt() { jq -e "$1" >/dev/null; }
# alive NAME: the background process is still running
alive() { kill -0 "${AG_PIDS[$1]}" 2>/dev/null; }
# wait_stat JQ-EXPR: until the stats satisfy it (30 s at most)
wait_stat() {
    local i
    for ((i = 0; i < 150; i++)); do
        stats | jq -e "$1" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    ag_log "stats never satisfied [$1]: $(stats)"
    return 1
}

stored_before=$(count_log)
ag_start flood "$AG_TESTBIN/stream_load" "${flood_args[@]}" --count 10000000 --deadline-s 600
ag_check "refused flood: under way" wait_stat '.lookups > 2000'
during=$(stats | jq .lookups)
good=$(good_client "$AG_WORK/good1.tsv")
ag_log "good client during the refused flood: $good"
ag_check "refused flood: still running when the good client finished" alive flood
ag_eq "refused flood: all 400 good submits acknowledged" \
    "$(grep -vc REJECT "$AG_WORK/good1.tsv")/$(grep -c REJECT "$AG_WORK/good1.tsv")" "400/0"
ag_check "refused flood: the flood was served meanwhile" test "$(stats | jq .lookups)" -gt "$during"
ag_stop flood
st=$(stats)
ag_log "after the refused flood: $(jq -c '{lookups, lookup_queries, batches, rejected}' <<<"$st")"
ag_check "refused flood: lookups batched (lookup_queries <= lookups / 2)" \
    jqt '.lookups > 2000 and .lookup_queries * 2 <= .lookups' <<<"$st"
ag_eq "refused flood: only the good submits stored" "$(($(count_log) - stored_before))" 400
"$AG_TESTBIN/stream_load" "${flood_args[@]}" --count 500 --out "$AG_WORK/flood.tsv" >/dev/null
ag_eq "refused flood: every flooded submit refused E_MISSING" \
    "$(cut -f2,3 "$AG_WORK/flood.tsv" | sort | uniq -c | awk '{print $1, $2, $3}')" "500 REJECT E_MISSING"

# ---- 4. floods on the control socket
replay_req='{"op":"replay","stream":"events.intake-1","from":1,"max":1000}'
ag_start health_flood "$AG_TESTBIN/control_flood" --endpoint "$CTL" --request '{"op":"health"}' --inflight 256
ag_start replay_flood "$AG_TESTBIN/control_flood" --endpoint "$CTL" --request "$replay_req" --inflight 16
ag_check "control flood: under way" wait_stat '.control.requests > 3000'
during=$(stats | jq .control.requests)
good=$(good_client "$AG_WORK/good2.tsv")
ag_log "good client during the control floods: $good"
ag_check "control flood: health flood still running when the good client finished" alive health_flood
ag_check "control flood: replay flood still running when the good client finished" alive replay_flood
ag_eq "control flood: all 400 good submits acknowledged" \
    "$(grep -vc REJECT "$AG_WORK/good2.tsv")/$(grep -c REJECT "$AG_WORK/good2.tsv")" "400/0"
ag_check "control flood: the floods were served meanwhile" test "$(stats | jq .control.requests)" -gt "$during"
ag_stop health_flood
ag_stop replay_flood
ag_log "health flood: $(tail -n 1 "$AG_WORK/health_flood.log"); replay flood: $(tail -n 1 "$AG_WORK/replay_flood.log")"
ag_check "control flood: health answered ok" grep -q 'ok=[1-9][0-9]* failed=0' "$AG_WORK/health_flood.log"
ag_check "control flood: replay answered ok" grep -q 'ok=[1-9][0-9]* failed=0' "$AG_WORK/replay_flood.log"
st=$(stats)
ag_log "control counters: $(jq -c .control <<<"$st")"
ag_check "control flood: at most 16 requests per loop turn, and the budget was reached" \
    jqt '.control.max_per_turn <= 16 and .control.budget_stops > 0' <<<"$st"
ag_check "control flood: health round trips shared within a turn (<= requests / 4)" \
    jqt '.control.health_checks * 4 <= .control.requests' <<<"$st"
# Which connection ran what: the last statement of each of intake's
# backends, after one replay.
"$A" query "$replay_req" --endpoint "$CTL" >/dev/null
last_query() { ag_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '$1' AND query LIKE '%LATERAL%'"; }
ag_eq "replay runs on the control socket's own connection" "$(last_query intake-1/control)" 1
ag_eq "replay does not run on the connection that stores submits" "$(last_query intake-1)" 0
ag_check "intake stops cleanly" ag_stop intake
ag_db_drop

ag_summary
