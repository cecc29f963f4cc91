#!/usr/bin/env bash
# run_supervisor.sh - `make run` (tools/run.sh on the built tree) as a
# supervisor, on its own embedded PostgreSQL under this test's work folder
# and its own ports:
#   - the operator's lines are printed after every service answers health,
#     with absolute key paths, and they work (export, health, submit);
#   - the README's "Talking to it" block runs line by line (with this
#     suite's endpoints in place of the default ports);
#   - intake SIGKILLed: restarted with back-off, the exit status logged,
#     answers health again; PostgreSQL kept running throughout; a second
#     kill waits longer;
#   - SIGINT (Ctrl-C) stops everything: no service or PostgreSQL process is
#     left.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"

W=$AG_WORK
A=$AG_BIN/airguard
P=$AG_PORT
CTL=tcp://127.0.0.1:$P
SUB=tcp://127.0.0.1:$((P + 2))
mkdir -p "$W/config" "$W/var"
sed -e "s#tcp://127.0.0.1:7100#$CTL#" -e "s#tcp://127.0.0.1:7101#tcp://127.0.0.1:$((P + 1))#" \
    -e "s#tcp://127.0.0.1:7200#$SUB#" "$AG_ROOT/config/intake.yaml" >"$W/config/intake.yaml"
DCTL=tcp://127.0.0.1:$((P + 3))
sed -e "s#tcp://127.0.0.1:7110#$DCTL#" -e "s#tcp://127.0.0.1:7111#tcp://127.0.0.1:$((P + 4))#" \
    -e "s#tcp://127.0.0.1:7100#$CTL#" -e "s#tcp://127.0.0.1:7101#tcp://127.0.0.1:$((P + 1))#" \
    "$AG_ROOT/config/dispatch.yaml" >"$W/config/dispatch.yaml"
ag_check "the test config moved every port" \
    bash -c "! grep -q ':7[12][01][01]' '$W/config/intake.yaml' '$W/config/dispatch.yaml'"

# Started with SIGINT at its default disposition (a background job of a
# script would ignore it), in its own process group.
unset AIRGUARD_DATABASE_URL AIRGUARD_ADMIN_DATABASE_URL AIRGUARD_SUBMIT_ENDPOINT
AIRGUARD_RUN_DIR=$W/var AIRGUARD_RUN_CONFIG=$W/config \
    python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.setpgrp(); os.execvp(sys.argv[1], sys.argv[1:])' \
    "$AG_ROOT/tools/run.sh" "$AG_BUILD" >"$W/run.log" 2>&1 &
RUN=$!

wait_log() { # PATTERN SECONDS: until run.log has a line matching PATTERN
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        grep -q -- "$1" "$W/run.log" && return 0
        kill -0 "$RUN" 2>/dev/null || break
        sleep 0.2
    done
    ag_log "no [$1] in run.log after $2 s"
    return 1
}
intake_pid() { pgrep -P "$RUN" -x airguard-intake | head -n 1; }
pg_data() { local d=$W/var/pg; [ -L "$d/cluster" ] && d=$(readlink "$d/cluster"); echo "$d/data"; }
postmaster() { head -n 1 "$(pg_data)/postmaster.pid" 2>/dev/null; }

ag_check "run.sh prints the operator's lines" wait_log "run:   export AIRGUARD_SERVER_KEY_FILE" 120
ready_line=$(grep -n "intake is ready" "$W/run.log" | head -n 1 | cut -d: -f1)
hint_line=$(grep -n "export AIRGUARD_SERVER_KEY_FILE" "$W/run.log" | head -n 1 | cut -d: -f1)
ag_check "the lines come after intake reports ready" test "${ready_line:-999999}" -lt "${hint_line:-0}"
export_line=$(sed -n 's/^run:   //p' "$W/run.log" | grep '^export ')
ag_eq "the key paths are absolute and exist" \
    "$(grep -o '=[^ ]*' <<<"$export_line" | cut -c2- | while read -r f; do [[ $f == /* ]] && [ -f "$f" ] && echo ok; done | tr '\n' ' ')" "ok ok "
(
    eval "$export_line"
    "$A" catalogue --examples | grep '"patrol.check_in"' | "$A" submit - --endpoint "$SUB" >"$W/hint.replies"
)
ag_eq "the printed export line lets the CLI submit" "$(jq -r .ok "$W/hint.replies")" true

# The README's block, pasted line by line into a fresh shell in the project
# folder (here: a folder whose build/ and var/ are this suite's).
mkdir -p "$W/project"
ln -s "$(cd "$AG_BUILD" && pwd)" "$W/project/build"
ln -s "$W/var" "$W/project/var"
awk '/^### Talking to it/{t=1} t && /^```sh/{b=1; next} b && /^```/{exit} b' "$AG_ROOT/README.md" >"$W/readme.sh"
ag_check "the README has a Talking to it block" test -s "$W/readme.sh"
readme_ok=1
while IFS= read -r line; do
    case $line in "" | "#"*) continue ;; esac
    cmd=${line//--service intake/--endpoint $CTL}
    cmd=${cmd//--service dispatch/--endpoint $DCTL}
    if ! (cd "$W/project" && env -i PATH="$PATH" HOME="$W" AIRGUARD_SUBMIT_ENDPOINT="$SUB" \
        AIRGUARD_JOURNAL_DIR="$W/journal" bash -c "$(cat "$W/readme.env" 2>/dev/null)
$cmd" >>"$W/readme.out" 2>&1); then
        ag_log "README line failed: $line"
        readme_ok=0
    fi
    # what the line exported stays for the next ones, as in one shell
    case $cmd in export*) echo "$cmd" >>"$W/readme.env" ;; esac
done <"$W/readme.sh"
ag_check "every line of the README's block works" test "$readme_ok" = 1
ag_check "the README's submit stored events" \
    bash -c "grep -q '\"ok\":true' '$W/readme.out'"

# SIGKILL intake: restarted, PostgreSQL untouched.
pg1=$(postmaster)
old=$(intake_pid)
ag_check "intake runs under run.sh" test -n "$old"
kill -9 "$old"
ag_check "the death is logged with its status" wait_log "intake (pid $old) exited with status 137, killed by SIGKILL" 10
ag_check "the restart is logged" wait_log "intake restarted" 10
new=$(intake_pid)
ag_check "intake runs again, a new process" test -n "$new" -a "$new" != "$old"
ag_check "restarted intake answers health" ag_wait_health "$CTL" 30
ag_eq "PostgreSQL kept running (same postmaster)" "$(postmaster)" "$pg1"
ag_check "PostgreSQL answers" kill -0 "$pg1"
kill -9 "$new"
ag_check "a second death waits longer (back-off)" wait_log "intake (pid $new) exited .*restarting it in 2 s" 10
ag_check "and intake comes back" ag_wait_health "$CTL" 30
last=$(intake_pid)

# Ctrl-C: everything stops.
kill -INT "$RUN"
stopped=0
for ((i = 0; i < 150; i++)); do kill -0 "$RUN" 2>/dev/null || { stopped=1; break; }; sleep 0.2; done
ag_check "SIGINT stops run.sh within 30 s" test "$stopped" = 1
wait "$RUN" 2>/dev/null
ag_check "intake stopped" bash -c "! kill -0 '$last' 2>/dev/null"
gone() { local i; for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
ag_check "PostgreSQL stopped" gone "$pg1"
ag_eq "no process of the suite left" "$(pgrep -f "$W" | grep -v "^$$\$" | wc -l)" 0
ag_check "run.sh said it stopped PostgreSQL" grep -q "stopping the embedded PostgreSQL" "$W/run.log"

if [ "$AG_FAILED" -eq 0 ]; then
    d=$W/var/pg
    [ -L "$d/cluster" ] && rm -rf "$(readlink "$d/cluster")"
else
    cp "$W/run.log" "$W/run-copy.log" # ag_summary shows the tail of *.log
fi
ag_summary
