#!/usr/bin/env bash
# dispatch.sh - the dispatch service end to end: real intake (no CURVE, a
# test-only config), real dispatch on a manual clock
# (AIRGUARD_CLOCK=manual:<ms>) driven with the `clock` and `idle` control
# ops, a real PostgreSQL. Events go in through intake's submit door, the
# way field apps send them; what dispatch did is read from its stream log,
# its tables and its query ops. Cases:
#   route      a report becomes a task on the dispatch stream, held by the
#              squad of its grid; the query ops show it
#   respond    acknowledged / arrived / done through intake move it; a
#              response from a unit that does not hold it is rejected and
#              changes nothing
#   escalate   a deadline passing escalates exactly once; the same with a
#              SIGKILL of dispatch between the deadline being set and passing
#   returns    returned up to the bound, then held by the fallback owner, who
#              cannot return it
#   merge      a second report of the same incident merges into the task
#   rollback   a batch with a message dispatch must dead-letter is redone
#              without it: the open-task cache is put back first
#   crash      a burst of reports with dispatch SIGKILLed while applying, and
#              PostgreSQL restarted: replaying the input after each crash
#              creates no second task
#   sensitive  sensitive-date mode starts at the campaign's local midnight:
#              a report just before gets normal deadlines, one just after
#              half of them and the coordination group told
# After each case, SQL invariants: one task per actionable event, the
# dispatch log gap-free, no record id twice, no dead letter but those expected.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

A=$AG_BIN/airguard
T0=1575252000000          # 2019-12-02 10:00 in Asia/Shanghai: an ordinary campaign day
NYE=1579795200000         # 2020-01-24 00:00 in Asia/Shanghai: 除夕 begins sensitive-date mode
MIN=60000
P=$AG_PORT
I_CTL=tcp://127.0.0.1:$P
I_PUB=tcp://127.0.0.1:$((P + 1))
I_SUB=tcp://127.0.0.1:$((P + 2))
D_CTL=tcp://127.0.0.1:$((P + 3))
D_PUB=tcp://127.0.0.1:$((P + 4))
NOW=$T0
DEAD=0                    # dead letters the cases so far expect

ag_db_create ag_dispatch intake dispatch
cat >"$AG_WORK/intake.yaml" <<EOF
instance: intake-1
database: {url: "$AG_DB_URL"}
control: $I_CTL
publish: $I_PUB
intake:
  submit: $I_SUB
  campaigns: $AG_ROOT/seeds
  max_future_s: 0
  security: {insecure: true}
EOF
cat >"$AG_WORK/dispatch.yaml" <<EOF
instance: dispatch-1
database: {url: "$AG_DB_URL"}
control: $D_CTL
publish: $D_PUB
follow:
  - {stream: events.intake-1, publish: "$I_PUB", control: "$I_CTL"}
dispatch: {campaigns: $AG_ROOT/seeds}
EOF

q() { "$A" query "$2" --endpoint "$1" --timeout-ms 5000 --retries 2 2>&1; }
start_dispatch() {
    ag_start dispatch env AIRGUARD_CLOCK="manual:$NOW" "$AG_BIN/airguard-dispatch" --config "$AG_WORK/${1:-dispatch}.yaml"
    ag_wait_health "$D_CTL"
}
head_of() { ag_sql "SELECT coalesce(max(last_seq), 0) FROM $1.stream_head"; }
# settle: until dispatch applied intake's head and has no timer due.
settle() {
    local h i out
    h=$(head_of intake)
    for i in $(seq 1 300); do
        out=$(q "$D_CTL" "{\"op\":\"idle\",\"heads\":{\"events.intake-1\":$h}}")
        grep -q '"idle":true' <<<"$out" && return 0
        sleep 0.1
    done
    ag_log "dispatch not idle: $out"
    return 1
}
# clock MS: moves dispatch's clock and waits until what became due is done.
clock() {
    NOW=$1
    q "$D_CTL" "{\"op\":\"clock\",\"set_ms\":$1}" >/dev/null
    settle
}
uuid() { cat /proc/sys/kernel/random/uuid; }
# submit ID TYPE BODY [TIME]: one event through intake; fails unless acked.
submit() {
    local out
    out=$(printf '{"id":"%s","type":"%s","subdistrict":"baiyang","time":%s,"body":%s}\n' \
        "$1" "$2" "${4:-$NOW}" "$3" | "$A" submit - --endpoint "$I_SUB" --timeout-ms 5000 2>&1)
    grep -q '"ok":true' <<<"$out" || { ag_log "submit $2: $out"; return 1; }
}
task_of() { ag_sql "SELECT id FROM dispatch.task WHERE event = '$1'"; }
# history TASK: the task's history from the task op, one entry (a flat
# JSON object) a line, oldest first.
history() {
    "$A" task "$1" --endpoint "$D_CTL" 2>&1 | sed -n 's/.*"history":\[\(.*\)\].*/\1/p' | grep -o '{[^{}]*}'
}
# records TASK TYPE [FRAGMENT]: how many history entries of the task have
# type dispatch.TYPE (and contain the JSON fragment, e.g. "unit":"x").
records() {
    history "$1" | grep -F "\"type\":\"dispatch.$2\"" | grep -cF "${3:-\"type\"}"
}
# field NAME: the value of NAME in the JSON entries read from stdin.
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
# invariants CASE: what must hold whatever happened.
invariants() {
    local h n
    h=$(head_of dispatch)
    n=$(ag_sql "SELECT count(*) FROM dispatch.task")
    ag_eq "$1: dispatch log gap-free" \
        "$(ag_sql "SELECT count(*) || '/' || coalesce(max(seq), 0) FROM dispatch.stream_log")" "$h/$h"
    ag_eq "$1: no record id twice" \
        "$(ag_sql "SELECT count(*) - count(DISTINCT msg_id) FROM dispatch.stream_log")" 0
    ag_eq "$1: one task per event that opened one" \
        "$(ag_sql "SELECT count(DISTINCT event) FROM dispatch.task")" "$n"
    ag_eq "$1: every task created once, on the stream and in its history" \
        "$(ag_sql "SELECT count(*) FROM dispatch.stream_log WHERE type = 'dispatch.task_created'")/$(ag_sql "SELECT coalesce(sum(regexp_count(encode(history, 'escape'), 'dispatch\.task_created')), 0) FROM dispatch.task")" \
        "$n/$n"
    ag_eq "$1: dispatch applied intake's head" \
        "$(ag_sql "SELECT applied FROM dispatch.stream_offset WHERE stream = 'events.intake-1'")" "$(head_of intake)"
    ag_eq "$1: dead letters: only those expected" "$(ag_sql "SELECT count(*) FROM dispatch.dead_letter")" "$DEAD"
}

ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake starts" ag_wait_health "$I_CTL"
ag_check "dispatch starts on the manual clock" start_dispatch

# ---- route ----------------------------------------------------------------
E1=$(uuid)
submit "$E1" report.open_burning '{"grid":"baima-g01","material":"rubbish"}' && settle
T1=$(task_of "$E1")
ag_check "route: the report opened a task" test -n "$T1"
ag_eq "route: held by the squad of its grid, created, 15 min to acknowledge" \
    "$(ag_sql "SELECT holder || '/' || state || '/' || (due_ack_ms - assigned_ms) FROM dispatch.task WHERE id = '$T1'")" \
    "baima-sq1/created/$((15 * MIN))"
ag_eq "route: task_created on the dispatch stream" \
    "$(ag_sql "SELECT count(*) FROM dispatch.stream_log WHERE type = 'dispatch.task_created'")" 1
ag_check "route: the task op shows it with its history" \
    grep -q "\"holder\":\"baima-sq1\".*\"history\":\[{\"type\":\"dispatch.task_created\"" <<<"$(q "$D_CTL" "{\"op\":\"task\",\"id\":\"$T1\"}")"
ag_check "route: the tasks op lists it under its unit" \
    grep -q "\"count\":1,.*$T1" <<<"$(q "$D_CTL" '{"op":"tasks","unit":"baima-sq1"}')"
ag_check "route: the units op says who holds it" \
    grep -q "\"unit\":\"baima-sq1\"[^}]*\"holds\":1,\"tasks\":\[\"$T1\"\]" <<<"$(q "$D_CTL" '{"op":"units"}')"
ag_check "route: airguard task ID shows it" \
    grep -q "\"holder\":\"baima-sq1\"" <<<"$("$A" task "$T1" --endpoint "$D_CTL" 2>&1)"
ag_check "route: airguard tasks --unit lists it" \
    grep -q "\"count\":1,.*$T1" <<<"$("$A" tasks --unit baima-sq1 --endpoint "$D_CTL" 2>&1)"
ag_check "route: airguard tasks --unit of another unit does not" \
    grep -q '"count":0' <<<"$("$A" tasks --unit modou-sq1 --endpoint "$D_CTL" 2>&1)"
ag_check "route: airguard units says who holds it" \
    grep -q "\"unit\":\"baima-sq1\"[^}]*\"holds\":1" <<<"$("$A" units --endpoint "$D_CTL" 2>&1)"
ag_check "route: airguard task with a bad id is a usage error" \
    bash -c "! '$A' task not-a-uuid --endpoint '$D_CTL' 2>/dev/null"
ag_check "route: an unknown task is E_NOT_FOUND" \
    grep -q E_NOT_FOUND <<<"$(q "$D_CTL" "{\"op\":\"task\",\"id\":\"$(uuid)\"}")"
ag_check "route: dispatch stops cleanly on SIGTERM" ag_stop dispatch
start_dispatch
ag_check "route: the open task is loaded again after a restart" \
    grep -q "$T1" <<<"$(q "$D_CTL" '{"op":"tasks","community":"baima"}')"
invariants route

# ---- respond --------------------------------------------------------------
submit "$(uuid)" task.acknowledged "{\"task\":\"$T1\",\"by\":\"modou-sq1\"}" && settle
ag_eq "respond: a unit that does not hold it is rejected, nothing changes" \
    "$(ag_sql "SELECT state FROM dispatch.task WHERE id = '$T1'")/$(ag_sql "SELECT count(*) FROM dispatch.stream_log WHERE type = 'dispatch.response_rejected'")" \
    "created/1"
submit "$(uuid)" task.acknowledged "{\"task\":\"$T1\",\"by\":\"baima-sq1\"}" && settle
ag_eq "respond: acknowledged, its one deadline timer moved from ack to arrive" \
    "$(ag_sql "SELECT state FROM dispatch.task WHERE id = '$T1'")/$(ag_sql "SELECT string_agg(kind || ':' || (due_ms = (SELECT due_arrive_ms FROM dispatch.task WHERE id = '$T1')), ',') FROM dispatch.timer WHERE key LIKE '$T1/%'")" \
    "acknowledged/arrive:true"
submit "$(uuid)" task.arrived "{\"task\":\"$T1\",\"by\":\"baima-sq1\"}" && settle
ag_eq "respond: arrived" "$(ag_sql "SELECT state FROM dispatch.task WHERE id = '$T1'")" arrived
submit "$(uuid)" task.done "{\"task\":\"$T1\",\"by\":\"baima-sq1\",\"outcome\":\"persuaded\"}" && settle
ag_eq "respond: done and closed, no timer left" \
    "$(ag_sql "SELECT state || '/' || outcome || '/' || is_open FROM dispatch.task WHERE id = '$T1'")/$(ag_sql "SELECT count(*) FROM dispatch.timer WHERE key LIKE '$T1/%'")" \
    "closed/persuaded/false/0"
submit "$(uuid)" task.done "{\"task\":\"$T1\",\"by\":\"baima-sq1\",\"outcome\":\"persuaded\"}" && settle
ag_check "respond: a response to a closed task is rejected as closed" \
    grep -q "closed" <<<"$(history "$T1" | grep -F '"type":"dispatch.response_rejected"' | tail -n 1 | field reason)"
ag_eq "respond: the history, in order" \
    "$(history "$T1" | field type | sed 's/^dispatch\.//' | paste -sd,)" \
    "task_created,response_rejected,task_acknowledged,task_arrived,task_done,task_closed,response_rejected"
invariants respond

# ---- escalate -------------------------------------------------------------
E2=$(uuid)
submit "$E2" report.meat_smoking '{"grid":"modou-g01"}' && settle
T2=$(task_of "$E2")
due=$(ag_sql "SELECT due_ack_ms FROM dispatch.task WHERE id = '$T2'")
clock $((due - 1))
ag_eq "escalate: nothing before the deadline" "$(records "$T2" task_overdue)" 0
clock "$due"
ag_eq "escalate: the ack deadline passed: overdue once, step 1 once, to the patrol deputies" \
    "$(records "$T2" task_overdue)/$(records "$T2" task_escalated):$(history "$T2" | grep -F '"type":"dispatch.task_escalated"' | field unit):$(history "$T2" | grep -F '"type":"dispatch.task_escalated"' | field role)" \
    "1/1:patrol-modou:deputies"
ag_check "escalate: the tasks op says overdue" \
    grep -q "$T2" <<<"$(q "$D_CTL" '{"op":"tasks","overdue":true}')"
clock $((due + 1))
ag_eq "escalate: moving on a little fires nothing more" "$(records "$T2" task_escalated)" 1
# SIGKILL between the deadline being set and passing, and again right after.
E3=$(uuid)
submit "$E3" report.meat_smoking '{"grid":"modou-g03"}' && settle
T3=$(task_of "$E3")
due=$(ag_sql "SELECT due_ack_ms FROM dispatch.task WHERE id = '$T3'")
ag_kill9 dispatch
start_dispatch
clock "$due"
ag_kill9 dispatch
start_dispatch
settle
ag_eq "escalate: across SIGKILLs, overdue once and step 1 once" \
    "$(records "$T3" task_overdue)/$(records "$T3" task_escalated)" "1/1"
invariants escalate

# ---- returns --------------------------------------------------------------
E4=$(uuid)
submit "$E4" report.open_burning '{"grid":"xinhua-g01","material":"straw"}' && settle
T4=$(task_of "$E4")
holder() { ag_sql "SELECT holder || '/' || returns || '/' || held_by_fallback FROM dispatch.task WHERE id = '$T4'"; }
ag_eq "returns: first holder" "$(holder)" "xinhua-sq1/0/false"
submit "$(uuid)" task.returned "{\"task\":\"$T4\",\"by\":\"xinhua-sq1\",\"reason\":\"not_our_area\"}" && settle
ag_eq "returns: re-routed to the community's patrol group" "$(holder)" "patrol-xinhua/1/false"
submit "$(uuid)" task.returned "{\"task\":\"$T4\",\"by\":\"patrol-xinhua\",\"reason\":\"cannot_reach\"}" && settle
ag_eq "returns: at the bound, the fallback owner holds it" "$(holder)" "coordination/2/true"
submit "$(uuid)" task.returned "{\"task\":\"$T4\",\"by\":\"coordination\",\"reason\":\"cannot_find\"}" && settle
ag_eq "returns: the fallback owner cannot return it" \
    "$(holder)/$(records "$T4" response_rejected)" "coordination/2/true/1"
ag_eq "returns: one live deadline timer (ack), two re-assignments recorded" \
    "$(ag_sql "SELECT string_agg(kind, ',') FROM dispatch.timer WHERE key LIKE '$T4/%'")/$(records "$T4" task_assigned)" "ack/2"
invariants returns

# ---- merge ----------------------------------------------------------------
E5=$(uuid)
E6=$(uuid)
submit "$E5" report.fireworks_set_off '{"grid":"fengyi-g01","lat":31.40,"lon":109.63}' && settle
submit "$E6" report.fireworks_set_off '{"grid":"fengyi-g01","lat":31.4005,"lon":109.6302}' $((NOW + 10 * MIN)) && settle
T5=$(task_of "$E5")
ag_eq "merge: the second report opened no task" "$(task_of "$E6")" ""
ag_eq "merge: it joined the first (reports = 2, the merge recorded)" \
    "$(ag_sql "SELECT reports FROM dispatch.task WHERE id = '$T5'")/$(records "$T5" task_merged "\"event\":\"$E6\"")" "2/1"
E7=$(uuid)
submit "$E7" report.fireworks_set_off '{"grid":"fengyi-g01","lat":31.4,"lon":109.63}' $((NOW + 200 * MIN)) && settle
ag_check "merge: outside the time window it is a new task" test -n "$(task_of "$E7")"
invariants merge

# ---- camera: a smoke camera's alarm -----------------------------------------
# Only the camera's point (baima-g02's centre) and what it saw: placed in the
# nearest grid, routed to that grid's squad, urgent while still seen; its
# point is stored for merging, and a second alarm from the spot joins it.
EC1=$(uuid)
EC2=$(uuid)
submit "$EC1" alarm.camera '{"camera":"cam-baima-07","detected":"smoke","lat":31.4071,"lon":109.6249,"ongoing":true}' && settle
TC1=$(task_of "$EC1")
ag_eq "camera: a point alone goes to the nearest grid's squad, urgent while ongoing" \
    "$(ag_sql "SELECT holder || '/' || grid || '/' || priority || '/' || lat || ',' || lon FROM dispatch.task WHERE id = '$TC1'")" \
    "baima-sq1/baima-g02/urgent/31.4071,109.6249"
submit "$EC2" alarm.camera '{"camera":"cam-baima-07","detected":"fire","lat":31.4072,"lon":109.6249}' $((NOW + 5 * MIN)) && settle
ag_eq "camera: the same camera's next alarm joins the open task" \
    "$(task_of "$EC2")/$(ag_sql "SELECT reports FROM dispatch.task WHERE id = '$TC1'")" "/2"
invariants camera

# ---- rollback: a batch redone without a message it cannot apply ------------
# This dispatch has Baiyang's rules only, so a Shanhe event is a dead letter;
# the batch it arrives in is rolled back and redone without it. The store
# must put back what the rolled-back applies changed in memory: redone, the
# acknowledgement must apply again, not be refused as "already acknowledged".
mkdir -p "$AG_WORK/baiyang-only"
cp "$AG_ROOT/seeds/baiyang-2019.yaml" "$AG_WORK/baiyang-only/"
sed "s#campaigns: $AG_ROOT/seeds#campaigns: $AG_WORK/baiyang-only#" "$AG_WORK/dispatch.yaml" >"$AG_WORK/baiyang.yaml"
E10=$(uuid)
submit "$E10" report.open_burning '{"grid":"xinhua-g02","material":"rubbish"}' && settle
T10=$(task_of "$E10")
ag_stop dispatch
submit "$(uuid)" task.acknowledged "{\"task\":\"$T10\",\"by\":\"xinhua-sq1\"}"
printf '{"type":"report.open_burning","subdistrict":"shanhe","time":%s,"body":{"grid":"xiacun-g01","material":"straw"}}\n' "$NOW" |
    "$A" submit - --endpoint "$I_SUB" --timeout-ms 5000 >/dev/null
submit "$(uuid)" task.arrived "{\"task\":\"$T10\",\"by\":\"xinhua-sq1\"}"
start_dispatch baiyang
settle
DEAD=1
ag_eq "rollback: the other subdistrict's event is a dead letter, with the reason" \
    "$(ag_sql "SELECT reason FROM dispatch.dead_letter")" "no dispatch rules for subdistrict 'shanhe'"
ag_eq "rollback: acknowledged and arrived once each, nothing refused" \
    "$(ag_sql "SELECT state FROM dispatch.task WHERE id = '$T10'")/$(records "$T10" task_acknowledged)/$(records "$T10" task_arrived)/$(records "$T10" response_rejected)" \
    "arrived/1/1/0"
invariants rollback
ag_stop dispatch
start_dispatch

# ---- crash: replaying the input after SIGKILLs -----------------------------
before=$(ag_sql "SELECT count(*) FROM dispatch.task")
"$AG_TESTBIN/stream_load" --endpoint "$I_SUB" --count 6000 --clients 4 --type report.meat_smoking \
    --body-json '{"grid":"baima-g02"}' --source test --subdistrict baiyang >"$AG_WORK/load.out" 2>&1 &
load=$!
# PostgreSQL restarted under it: transactions cut off mid-way, maybe after
# their COMMIT (the store then reads its open tasks again).
if ag_can_crash_pg; then
    sleep 0.7
    ag_pg_crash
fi
for i in 1 2 3; do
    sleep 1
    ag_kill9 dispatch
    start_dispatch
done
wait "$load"
ag_check "crash: every report acknowledged" grep -q "acked=6000" "$AG_WORK/load.out"
ag_log "crash: dispatch re-read its open tasks after a lost connection $(grep -c 'reading the open tasks again' "$AG_WORK/dispatch.log") time(s)"
settle
ag_eq "crash: one task per report, none twice" \
    "$(ag_sql "SELECT count(*) - $before FROM dispatch.task")" 6000
invariants crash

# ---- sensitive-date mode ----------------------------------------------------
clock $((NYE - 2 * MIN))
# Mode records carry no task: find Baiyang's by the subdistrict in the envelope.
mode_started() {
    ag_sql "SELECT count(*) FROM dispatch.stream_log WHERE type = 'dispatch.sensitive_started' AND position(convert_to('baiyang', 'UTF8') IN body) > 0"
}
started=$(mode_started)
E8=$(uuid)
submit "$E8" report.open_burning '{"grid":"baima-g01","material":"paper_offerings"}' && settle
clock "$NYE"
E9=$(uuid)
submit "$E9" report.open_burning '{"grid":"baima-g02","material":"paper_offerings"}' && settle
T8=$(task_of "$E8")
T9=$(task_of "$E9")
ag_eq "sensitive: the mode started at 除夕's local midnight, once" \
    "$(mode_started)" "$((started + 1))"
ag_eq "sensitive: before midnight normal deadlines, after it half of them, flagged" \
    "$(ag_sql "SELECT string_agg((due_ack_ms - assigned_ms) || ':' || sensitive, ',' ORDER BY created_ms) FROM dispatch.task WHERE id IN ('$T8', '$T9')")" \
    "$((15 * MIN)):false,$((15 * MIN / 2)):true"
ag_eq "sensitive: the coordination group is told of the new task" \
    "$(records "$T9" task_notified '"unit":"coordination"')" 1
invariants sensitive

# ---- rewind: an input applied twice changes nothing twice -------------------
# An offset set back by hand (a restore gone wrong) makes dispatch meet a
# report whose task it has opened and closed already, and the responses
# that closed it. None may change anything: the report's task COPY collides
# with the task's row, the responses' records with the ids the first pass
# derived; each is dead-lettered after its retries, and the task stays as
# it was (closed, its history as it was).
ER=$(uuid)
submit "$ER" report.meat_smoking '{"grid":"xinhua-g04"}' && settle
TR=$(task_of "$ER")
holder=$(ag_sql "SELECT holder FROM dispatch.task WHERE id = '$TR'")
submit "$(uuid)" task.acknowledged "{\"task\":\"$TR\",\"by\":\"$holder\"}" && settle
submit "$(uuid)" task.arrived "{\"task\":\"$TR\",\"by\":\"$holder\"}" && settle
submit "$(uuid)" task.done "{\"task\":\"$TR\",\"by\":\"$holder\",\"outcome\":\"persuaded\"}" && settle
was=$(ag_sql "SELECT state || '/' || md5(history) FROM dispatch.task WHERE id = '$TR'")
ag_eq "rewind: the task is closed" "${was%%/*}" closed
ag_stop dispatch
ag_sql "UPDATE dispatch.stream_offset SET applied = applied - 4 WHERE stream = 'events.intake-1'" >/dev/null
start_dispatch
settle
DEAD=$((DEAD + 4))
ag_eq "rewind: the report and the responses are dead letters, naming what collided" \
    "$(ag_sql "SELECT string_agg(CASE WHEN reason LIKE '%task_pkey%' THEN 'task' WHEN reason LIKE '%stream_log_msg_id%' THEN 'record' ELSE reason END, ',' ORDER BY seq) FROM dispatch.dead_letter WHERE seq > (SELECT applied - 4 FROM dispatch.stream_offset WHERE stream = 'events.intake-1')")" \
    "task,record,record,record"
ag_eq "rewind: the task is as it was" \
    "$(ag_sql "SELECT state || '/' || md5(history) FROM dispatch.task WHERE id = '$TR'")" "$was"
invariants rewind

ag_check "dispatch stops cleanly on SIGTERM" ag_stop dispatch
ag_check "intake stops cleanly on SIGTERM" ag_stop intake
[ "$AG_FAILED" -eq 0 ] && ag_db_drop
ag_summary
