#!/usr/bin/env bash
# cli.sh - the operator CLI (build/bin/airguard) driving real services
# against a real PostgreSQL:
#   1. submit names its input: every reply line carries the event's file
#      and line, in input order with 16 clients in flight (JSON lines, a
#      JSON array, YAML);
#   2. a rerun of the same input is idempotent (the journal): every event
#      is acknowledged as a duplicate, nothing is stored twice, also after a
#      run that got no answer and for stdin; --new stores new events;
#   3. --source and AIRGUARD_SOURCE;
#   4. events: the stored events decoded (--type, --from, --follow), a
#      tip's contact never shown; dead-letters and the streams count, with
#      the stream test pair dead-lettering poison messages;
#   5. catalogue: a table on a terminal, JSON in a pipe or with --json;
#   6. CURVE: no keys and a key not in the allow-list are told at once,
#      a wrong server key and nothing listening after the timeout, each
#      with the settings to change;
#   7. make run builds only what it runs.
# Needs jq and script (util-linux).
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
for tool in jq script; do
    command -v $tool >/dev/null || { ag_log "$tool is required"; exit 1; }
done

count_log() { ag_sql "SELECT count(*) FROM intake.stream_log"; }

ag_db_create ag_cli intake
P=$AG_PORT
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
ag_intake_config "$AG_WORK/intake.yaml" "$P" "    insecure: true"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts" ag_wait_health "$CTL"
export AIRGUARD_SUBMIT_ENDPOINT=$SUB # for the CLI (intake reads it too: unset it to start one)

# ---- 1. every reply names its input line, in input order
W=$AG_WORK
"$A" catalogue --examples >"$W/examples.jsonl"
# Every third event is refused at once (an unknown subdistrict) while the
# others wait for their commit: completion order is not input order.
awk '{ print } NR % 3 == 0 { print "{\"type\":\"report.open_burning\",\"subdistrict\":\"nowhere\",\"body\":{}}" } NR == 5 { print "" }' \
    "$W/examples.jsonl" >"$W/mixed.jsonl"
"$A" submit "$W/mixed.jsonl" >"$W/mixed.replies"
ag_eq "submit: exit 1 when some events are refused" "$?" 1
grep -n . "$W/mixed.jsonl" | cut -d: -f1 >"$W/want.lines"
jq -r .line "$W/mixed.replies" >"$W/got.lines"
ag_check "submit: one reply per event, in input order, naming its line" diff "$W/want.lines" "$W/got.lines"
ag_eq "submit: replies name the file" "$(jq -r .file "$W/mixed.replies" | sort -u)" "$W/mixed.jsonl"
bad_lines=$(grep -n nowhere "$W/mixed.jsonl" | cut -d: -f1 | tr '\n' ' ')
ag_eq "submit: the refused events are the lines that are wrong" \
    "$(jq -r 'select(.ok | not) | "\(.line)"' "$W/mixed.replies" | tr '\n' ' ')" "$bad_lines"
ag_eq "submit: a refusal names code and id" \
    "$(jq -r 'select(.ok | not) | "\(.code) \(.id | length)"' "$W/mixed.replies" | sort -u)" "E_UNKNOWN_SUBDISTRICT 36"
stored=$(count_log)
ag_eq "submit: every valid event stored" "$stored" "$(wc -l <"$W/examples.jsonl")"

# A JSON array and a YAML sequence: the line where each event starts.
cat >"$W/array.json" <<'JSON'
[
  {"type": "patrol.check_in", "subdistrict": "baiyang",
   "body": {"squad": "sq1", "grid": "baima-g01", "group": "patrol-baima", "headcount": 2}},

  {"type": "patrol.check_in", "subdistrict": "baiyang",
   "body": {"squad": "sq1", "grid": "no-such-grid", "group": "patrol-baima", "headcount": 2}}
]
JSON
ag_eq "JSON array: lines of its events" "$("$A" submit "$W/array.json" | jq -r '"\(.line) \(.ok)"' | tr '\n' ' ')" "2 true 5 false "
cat >"$W/seq.yaml" <<'YAML'
# two check-ins written by hand
- type: patrol.check_in
  subdistrict: baiyang
  body: {squad: sq2, grid: baima-g01, group: patrol-baima, headcount: 3}

- type: patrol.check_in
  subdistrict: baiyang
  body: {squad: sq2, grid: baima-g01, group: patrol-baima, headcount: -1}
YAML
ag_eq "YAML sequence: lines of its events" "$("$A" submit "$W/seq.yaml" | jq -r '"\(.line) \(.ok) \(.field)"' | tr '\n' ' ')" "2 true null 6 false headcount "

# ---- 2. a rerun is idempotent
stored=$(count_log)
"$A" submit "$W/mixed.jsonl" >"$W/rerun.replies"
ag_eq "rerun: every accepted event acknowledged as a duplicate" \
    "$(jq -r 'select(.ok) | .duplicate' "$W/rerun.replies" | sort | uniq -c | awk '{print $1, $2}')" "$(wc -l <"$W/examples.jsonl") true"
ag_eq "rerun: same ids as the first run" "$(jq -r .id "$W/rerun.replies")" "$(jq -r .id "$W/mixed.replies")"
ag_eq "rerun: nothing stored twice" "$(count_log)" "$stored"
ag_check "rerun: the journal is next to the input" test -s "$W/mixed.jsonl.journal"
# An event added at the top: the others keep their ids, only it is new.
{ grep '"patrol.check_out"' "$W/examples.jsonl" | jq -c '.body.squad = "sq9"'; cat "$W/examples.jsonl"; } >"$W/edited.jsonl"
cp "$W/mixed.jsonl.journal" "$W/edited.jsonl.journal"
"$A" submit "$W/edited.jsonl" >"$W/edited.replies"
ag_eq "edited input: only the new event is new" \
    "$(jq -r '.duplicate' "$W/edited.replies" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
    "1 false $(wc -l <"$W/examples.jsonl") true "
ag_eq "edited input: stored once more" "$(count_log)" "$((stored + 1))"
stored=$(count_log)
"$A" submit "$W/examples.jsonl" --new >"$W/new.replies"
ag_eq "--new: every event stored as a new one" \
    "$(jq -r '"\(.ok) \(.duplicate)"' "$W/new.replies" | sort -u)" "true false"
ag_eq "--new: stored" "$(count_log)" "$((stored + $(wc -l <"$W/examples.jsonl")))"
# stdin: the same input piped twice
stored=$(count_log)
grep '"survey.' "$W/examples.jsonl" | jq -c '.body += {}' | sed 's/"baiyang"/"baiyang" /' >"$W/survey.jsonl"
"$A" submit - <"$W/survey.jsonl" >"$W/stdin1.replies"
"$A" submit - <"$W/survey.jsonl" >"$W/stdin2.replies"
ag_eq "stdin rerun: acknowledged as duplicates" "$(jq -r .duplicate "$W/stdin2.replies" | sort -u)" true
ag_eq "stdin rerun: stored once" "$(count_log)" "$((stored + $(wc -l <"$W/survey.jsonl")))"
ag_eq "stdin: replies name '-' and the line" "$(jq -r '"\(.file):\(.line)"' "$W/stdin1.replies" | head -n 2 | tr '\n' ' ')" "-:1 -:2 "
# No answer (intake stopped), then a rerun: the same ids, stored once.
grep '"leave.requested"' "$W/examples.jsonl" >"$W/late.jsonl"
ag_stop intake
"$A" submit "$W/late.jsonl" --retries 1 --timeout-ms 300 >"$W/late1.replies" 2>"$W/late1.err"
ag_eq "no answer: exit 3" "$?" 3
ag_eq "no answer: a reply line per event, E_NO_ANSWER" "$(jq -r '"\(.line) \(.code)"' "$W/late1.replies")" "1 E_NO_ANSWER"
ag_check "no answer: the likely cause is named" grep -q "No connection could be made: intake is not running" "$W/late1.err"
AIRGUARD_SUBMIT_ENDPOINT= ag_restart intake
ag_wait_health "$CTL"
late=$("$A" submit "$W/late.jsonl")
ag_eq "after no answer, the rerun sends the same id" "$(jq -r .id <<<"$late")" "$(jq -r .id "$W/late1.replies")"
ag_eq "after no answer, the rerun stores it once" \
    "$(ag_sql "SELECT count(*) FROM intake.stream_log WHERE msg_id = '$(jq -r .id <<<"$late")'")" 1

# ---- 3. --source and AIRGUARD_SOURCE (insecure intake stores what it is given)
ev=$(grep '"patrol.route_visit"' "$W/examples.jsonl")
seq1=$("$A" submit - --source county-it --new <<<"$ev" | jq -r .seq)
seq2=$(AIRGUARD_SOURCE=hotline-12345 "$A" submit - --new <<<"$ev" | jq -r .seq)
"$A" submit - --source 'bad source' <<<"$ev" >/dev/null 2>&1
ag_eq "an invalid --source is a usage error" "$?" 2

# ---- 4. events: the stored events, decoded
"$A" events --endpoint "$CTL" >"$W/events.jsonl"
ag_eq "events: one line per stored event" "$(wc -l <"$W/events.jsonl")" "$(count_log)"
ag_eq "events: --source became the envelope's source" \
    "$(jq -r "select(.seq == $seq1 or .seq == $seq2) | .source" "$W/events.jsonl" | tr '\n' ' ')" "county-it hotline-12345 "
ag_eq "events: --type" "$("$A" events --endpoint "$CTL" --type tip.received | jq -r .type | sort -u)" tip.received
ag_check "events: a tip shows its contact's digest" \
    bash -c "'$A' events --endpoint '$CTL' --type tip.received | jq -e -s 'all(.[]; .body.contact_digest | length == 64)' >/dev/null"
ag_check "events: never the tip's contact" bash -c "! grep -q -e contact_phone -e contact_name -e '138 0000' '$W/events.jsonl'"
ag_eq "events: --from" "$("$A" events --endpoint "$CTL" --from 5 | head -n 1 | jq -r .seq)" 5
last=$(count_log)
"$A" events --endpoint "$CTL" --from $((last + 1)) --follow >"$W/follow.jsonl" 2>&1 &
follow_pid=$!
sleep 1
"$A" submit - --new <<<"$ev" >/dev/null
for _ in $(seq 50); do [ -s "$W/follow.jsonl" ] && break; sleep 0.2; done
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null
ag_eq "events --follow: a new event appears" "$(jq -r '"\(.seq) \(.type)"' "$W/follow.jsonl")" "$((last + 1)) patrol.route_visit"
ag_eq "dead-letters on a service that consumes nothing: none" "$("$A" dead-letters --endpoint "$CTL" | wc -l)" 0

# ---- 5. catalogue: a table for people, JSON for programs
ag_eq "catalogue on a terminal: a table" "$(script -qec "$A catalogue" /dev/null | head -n 1 | awk '{print $1}')" TYPE
ag_check "catalogue TYPE on a terminal: its fields" \
    bash -c "script -qec '$A catalogue task.arrived' /dev/null | grep -q '^task  *uuid  *yes'"
ag_eq "catalogue --json on a terminal: JSON" \
    "$(script -qec "$A catalogue --json" /dev/null | head -n 1 | tr -d '\r' | jq -r .type)" report.fireworks_set_off
ag_eq "catalogue in a pipe: JSON lines" "$("$A" catalogue | jq -r .type | wc -l)" "$(wc -l <"$W/examples.jsonl")"
ag_check "intake stops cleanly" ag_stop intake
[ "$AG_FAILED" -eq 0 ] && ag_db_drop

# ---- 4b. dead letters, with the stream test pair
ag_db_create ag_cli_dl streamprod streamcons
P=$((AG_PORT + 20))
P_CTL=tcp://127.0.0.1:$P P_PUB=tcp://127.0.0.1:$((P + 1)) P_SUBMIT=tcp://127.0.0.1:$((P + 2)) C_CTL=tcp://127.0.0.1:$((P + 3))
ag_test_producer_config "$W/prod.yaml" "$P_CTL" "$P_PUB" "$P_SUBMIT"
ag_test_consumer_config "$W/cons.yaml" "$C_CTL" test.prod-1 "$P_PUB" "$P_CTL"
ag_start prod "$AG_TESTBIN/stream_producer" --config "$W/prod.yaml"
ag_wait_health "$P_CTL"
ag_start cons "$AG_TESTBIN/stream_consumer" --config "$W/cons.yaml"
ag_wait_health "$C_CTL"
"$AG_TESTBIN/stream_load" --endpoint "$P_SUBMIT" --count 300 --clients 4 --poison-every 100 >"$W/load.out" 2>&1
ag_check "300 messages, 3 of them poison, applied" \
    ag_wait_sql "SELECT applied FROM streamcons.stream_offset WHERE stream = 'test.prod-1'" 300 60
"$A" dead-letters --endpoint "$C_CTL" >"$W/dead.jsonl"
ag_eq "dead-letters: the poison messages with their reason" \
    "$(jq -r 'select(.kind == "dead_letter") | "\(.stream) \(.type) \(.reason)"' "$W/dead.jsonl" | sort -u)" \
    "test.prod-1 poison type 'poison' is never processable"
ag_eq "dead-letters: at their seqs" "$(jq -r 'select(.kind == "dead_letter") | .seq' "$W/dead.jsonl" | tr '\n' ' ')" "100 200 300 "
ag_eq "streams: the dead-letter count of the consumed stream" \
    "$("$A" streams --endpoint "$C_CTL" | jq -r '.consumed[] | "\(.stream) \(.dead_letters)"')" "test.prod-1 3"
ag_eq "dead-letters --stream of another stream: none" "$("$A" dead-letters --endpoint "$C_CTL" --stream other.x | wc -l)" 0
ag_eq "dead_letters op pages: max 2 gives 2 and more" \
    "$("$A" query '{"op":"dead_letters","max":2}' --endpoint "$C_CTL" | jq -r '"\(.dead_letters | length) \(.more)"')" "2 true"
ag_eq "dead_letters op: max out of range refused" \
    "$("$A" query '{"op":"dead_letters","max":0}' --endpoint "$C_CTL" | jq -r '"\(.code) \(.field)"')" "E_BAD_REQUEST max"
# A message failing with a SQL error is retried, then dead-lettered.
"$AG_TESTBIN/stream_load" --endpoint "$P_SUBMIT" --count 1 --type flaky >>"$W/load.out" 2>&1
seen_failing=0
for _ in $(seq 100); do
    "$A" dead-letters --endpoint "$C_CTL" >"$W/dead2.jsonl"
    grep -q '"kind":"failing"' "$W/dead2.jsonl" && seen_failing=1
    grep -q '"type":"flaky"' "$W/dead2.jsonl" && break
    sleep 0.1
done
ag_log "a failing message was seen while it was retried: $seen_failing"
ag_eq "dead-letters: the failing message, dead-lettered after 3 failures" \
    "$(jq -r 'select(.type == "flaky") | .reason' "$W/dead2.jsonl" | cut -c1-14)" "failed 3 times"
ag_eq "dead-letters: nothing failing once it is dead-lettered" "$(grep -c '"kind":"failing"' "$W/dead2.jsonl")" 0
# A message that failed and waits for its next attempt is listed as failing
# (made by hand: the consumer's own are over too quickly to catch).
ag_sql "INSERT INTO streamcons.stream_failure (consumer, stream, seq, failures, last_error)
        VALUES ('cons-1', 'test.prod-1', 100000, 1, 'test: division by zero')" >/dev/null
ag_eq "dead-letters: a message still being retried, with its error" \
    "$("$A" dead-letters --endpoint "$C_CTL" | jq -r 'select(.kind == "failing") | "\(.seq) \(.failures) \(.last_error)"')" \
    "100000 1 test: division by zero"
ag_check "consumer stops cleanly" ag_stop cons
ag_check "producer stops cleanly" ag_stop prod
[ "$AG_FAILED" -eq 0 ] && ag_db_drop

# ---- 6. CURVE: what is wrong is said at once
ag_db_create ag_cli_curve intake
P=$((AG_PORT + 40))
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
K=$W/keys
mkdir -p "$K"
for k in server patrol stranger; do "$A" keygen --out "$K/$k" >/dev/null; done
cat >"$W/clients.yaml" <<YAML
clients:
  - source: county-it
    keys: ['$(cat "$K/patrol.pub")']
    types: ['*']
YAML
(umask 077 && echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$K/contact.key")
ag_intake_config "$W/curve.yaml" "$P" "    secret_key_file: $K/server.key
    allow_list: $W/clients.yaml
    contact_key_file: $K/contact.key"
# (The CLI's AIRGUARD_SUBMIT_ENDPOINT would also move intake's endpoint.)
unset AIRGUARD_SUBMIT_ENDPOINT
ag_start curve "$AG_BIN/airguard-intake" --config "$W/curve.yaml"
ag_check "CURVE intake starts" ag_wait_health "$CTL"
export AIRGUARD_SUBMIT_ENDPOINT=$SUB
# quick CMD...: runs CMD, stderr to $W/quick.err; fails unless it exits 3 within 2.5 s
quick() {
    local t0 t1 rc
    t0=$(date +%s%N)
    "$@" <<<"$ev" >/dev/null 2>"$W/quick.err"
    rc=$?
    t1=$(date +%s%N)
    ag_log "exit $rc after $(((t1 - t0) / 1000000)) ms: $(head -c 300 "$W/quick.err")"
    [ "$rc" -eq 3 ] && [ $(((t1 - t0) / 1000000)) -lt 2500 ]
}
ag_check "no keys for a CURVE endpoint: said at once" quick "$A" submit - --new
ag_check "no keys: names the settings" grep -q "AIRGUARD_SERVER_KEY_FILE.*AIRGUARD_KEY_FILE" "$W/quick.err"
"$A" submit - --new --server-key-file "$K/stranger.pub" --key-file "$K/patrol.key" \
    --timeout-ms 1000 --budget-ms 2000 <<<"$ev" >/dev/null 2>"$W/wrong.err"
ag_eq "wrong server key: no answer" "$?" 3
ag_check "wrong server key: named as the likely cause" grep -q "not this" "$W/wrong.err"
ag_check "key not in the allow-list: said at once" quick "$A" submit - --new --server-key-file "$K/server.pub" --key-file "$K/stranger.key"
ag_check "key not in the allow-list: names the key" grep -qF "'$(cat "$K/stranger.pub")' is not in intake's allow-list" "$W/quick.err"
"$A" submit - --key-file "$K/patrol.key" <<<"$ev" >/dev/null 2>"$W/half.err"
ag_eq "a key file without the server key: usage error" "$?" 2
ag_check "a key file without the server key: names the setting" grep -q AIRGUARD_SERVER_KEY_FILE "$W/half.err"
export AIRGUARD_SERVER_KEY_FILE=$K/server.pub AIRGUARD_KEY_FILE=$K/patrol.key
ag_eq "the allow-list's source is needed: default source refused" \
    "$("$A" submit - --new <<<"$ev" | jq -r '"\(.code) \(.field)"')" "E_FORBIDDEN source"
ag_eq "--source of the allow-list entry: accepted" "$("$A" submit - --new --source county-it <<<"$ev" | jq -r .ok)" true
ag_eq "AIRGUARD_SOURCE: accepted" "$(AIRGUARD_SOURCE=county-it "$A" submit - --new <<<"$ev" | jq -r .ok)" true
ag_check "curve intake stops cleanly" ag_stop curve
"$A" submit - --new --source county-it --timeout-ms 500 --budget-ms 1200 <<<"$ev" >/dev/null 2>"$W/down.err"
ag_check "intake down: the likely causes" grep -q "No connection could be made" "$W/down.err"
unset AIRGUARD_SERVER_KEY_FILE AIRGUARD_KEY_FILE
[ "$AG_FAILED" -eq 0 ] && ag_db_drop

# ---- 7. make run builds only what it runs
plan=$(make -s -n -B -C "$AG_ROOT" run 2>&1)
ag_check "make run: builds the services and the CLI" grep -q 'bin/airguard-intake' <<<"$plan"
ag_eq "make run: builds no test or benchmark" "$(grep -c -e 'tests/unit' -e 'tests/bench' -e 'tests/stream' <<<"$plan")" 0

ag_summary
