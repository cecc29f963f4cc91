#!/usr/bin/env bash
# compose-test.sh - `make compose-test`: runs the real docker-compose stack
# on this machine and tests it as an operator would.
#
#   1. Docker engine, packages and base image: deploy/base-image.sh (installs
#      docker.io, docker-compose, debootstrap if missing; starts dockerd when
#      no engine answers, and stops it again at the end; builds
#      debian:bookworm-slim by debootstrap when it is missing).
#   2. Its own secrets (never the operator's deploy/.env or deploy/secrets/):
#      random role passwords, intake's CURVE server key, a client key pair
#      and an allow-list naming it; the env file points compose at them.
#   3. `docker-compose config` validates the file (with the test's env file
#      and with .env.example); `docker-compose build`; `up -d`; every
#      container healthy.
#   4. Events submitted from the host with build/bin/airguard over CURVE
#      to the published port: acks, and the events stored once each
#      (psql through `docker-compose exec postgres`).
#   5. intake's process SIGKILLed while a client keeps submitting: the
#      engine's restart policy brings it back; then `docker kill -s KILL`
#      (which Docker treats as an operator's stop: no automatic restart) and
#      `docker-compose up -d` brings it back; then PostgreSQL SIGKILLed
#      (restart policy, crash recovery, intake reconnects). After each,
#      every acknowledged event is in the log exactly once, at the seq of
#      its ack, nothing else is, and the sequence is gap-free.
#   6. Processes run as non-root; no compiler or -dev package in the service
#      images; campaigns mounted read-only; a client without a key gets no
#      answer.
#   7. Backup with pg_dump and deploy/restore.sh (docs/deploy.md's
#      procedure): --verify-only; a damaged dump refused with the database
#      and intake untouched; a restore in place (events acknowledged after
#      the backup are gone, the replaced database kept aside) and one into
#      a fresh volume after `down -v`; each time the log and stream head as
#      at the backup, intake healthy, and the next event gets the next seq.
#   8. Image sizes (service images must be <= 150 MB); `down -v`; the
#      engine's disk use.
#
# Fails fast: a step the rest depends on (engine, build, up, health, a
# crash that did not happen) ends the run at once, prints `docker-compose
# ps` and the containers' last log lines, and the EXIT trap cleans up:
# `down -v` of the project (containers, network, volume) and the engine if
# this run started it (or an earlier, killed run left ours behind). Every
# step has a time limit (docker-compose calls, submits, crash rounds), the
# whole run a budget (AIRGUARD_TEST_BUDGET, default 2400 s) after which a
# watchdog ends it the same way. No pid is signalled unchecked: a
# container's pid must be a live process of that container's program,
# outside this script's process group.
#
# Prints "ok NAME" / "FAIL NAME" per check and a closing "N passed, N failed"
# line; exits non-zero on any failure. Work files in build/compose-test/.
# Settings: AIRGUARD_TEST_PROJECT (compose project, default airguard-ctest),
# AIRGUARD_TEST_SUBMIT_PORT (host port, default: a free one in 17200-19999,
# picked just before `up` and picked again if taken by then),
# AIRGUARD_TEST_KEEP=1 leaves the stack up for inspection.
set -uo pipefail
export LC_ALL=C   # sort and comm agree on one order

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$ROOT/build/compose-test
PROJECT=${AIRGUARD_TEST_PROJECT:-airguard-ctest}
TAG=compose-test
STATE=${AIRGUARD_DOCKER_STATE:-/run/airguard-docker}
export AIRGUARD_DOCKER_STATE=$STATE
A=$ROOT/build/bin/airguard
BUDGET=${AIRGUARD_TEST_BUDGET:-2400}
KEEP=${AIRGUARD_TEST_KEEP:-0}
T0=$(date +%s)
PASSED=0
FAILED=0
ENGINE_STARTED=0 # 1: ours to stop at the end
STACK=0          # 1: compose may have created containers, network or volume
FINISHING=0
WATCHDOG=
SUB=             # the background submitter of a crash round

log() { printf '# [%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
pass() { PASSED=$((PASSED + 1)); echo "ok $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@" >>"$WORK/checks.log" 2>&1; then pass "$name"; else fail "$name"; fi
}
# must NAME COMMAND...: a check the rest of the run depends on.
must() {
    local name=$1
    shift
    if "$@" >>"$WORK/checks.log" 2>&1; then pass "$name"; else fatal "$name" "see $WORK/checks.log"; fi
}
# eq NAME GOT WANT
eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

# Every docker-compose call has a time limit (COMPOSE_TIMEOUT seconds).
compose() {
    timeout -k 10 "${COMPOSE_TIMEOUT:-300}" \
        docker-compose -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" --env-file "$WORK/test.env" "$@"
}
sql() { compose exec -T postgres psql -X -q -tA -v ON_ERROR_STOP=1 -d airguard -c "$1"; }
cid() { compose ps -q "$1" 2>/dev/null; }

# The containers' state and last log lines, on stdout: what a reader of
# the CI log needs when a step failed.
evidence() {
    [ "$STACK" = 1 ] || return 0
    compose ps >"$WORK/ps.txt" 2>&1
    compose logs --no-color --tail 300 >"$WORK/compose.log" 2>&1
    echo "# ---- docker-compose ps"
    sed 's/^/#   /' "$WORK/ps.txt"
    echo "# ---- last 40 lines of docker-compose logs (300 in $WORK/compose.log)"
    tail -n 40 "$WORK/compose.log" | sed 's/^/#   /'
}

# kill_child PID: ends a background job of this script (a subshell) and
# the commands it runs, and nothing else: PID must be our child.
kill_child() {
    local pid=${1:-} kids
    [[ $pid =~ ^[1-9][0-9]*$ ]] || return 0
    [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$$" ] || return 0
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | grep -E '^[1-9][0-9]*$')
    kill -TERM "$pid" 2>/dev/null
    # shellcheck disable=SC2086
    [ -z "$kids" ] || kill -TERM $kids 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# kill_container_pid CONTAINER PROGRAM: SIGKILLs the container's main
# process, after checking that its pid is a live process running PROGRAM
# and not in this script's process group (`kill -KILL 0` would kill us).
kill_container_pid() {
    local c=$1 prog=$2 pid comm pgid
    pid=$(docker inspect -f '{{.State.Pid}}' "$c" 2>/dev/null)
    if ! [[ $pid =~ ^[0-9]+$ ]] || [ "$pid" -le 1 ]; then
        echo "container $c has no running process (pid '$pid')" >&2
        return 1
    fi
    comm=$(cat "/proc/$pid/comm" 2>/dev/null)
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    if [ "$comm" != "${prog:0:15}" ] || [ -z "$pgid" ] || [ "$pgid" = "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
        echo "pid $pid is '$comm' (pgid '$pgid'), not $prog of container $c: not killing it" >&2
        return 1
    fi
    kill -KILL "$pid"
}

summary() { echo "$PASSED passed, $FAILED failed"; }

# The stack's end, checked and reported before the summary line.
teardown() {
    [ "$STACK" = 1 ] || return 0
    [ "$KEEP" = 1 ] && return 0
    check "docker-compose down -v" compose down -v --remove-orphans
    STACK=0
    eq "no container of the project left" \
        "$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | grep -c .)" 0
    eq "no volume of the project left" \
        "$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | grep -c .)" 0
}

engine_disk() {
    local root
    root=$(timeout 10 docker info -f '{{.DockerRootDir}}' 2>/dev/null) || return 0
    [ -d "$root" ] && log "engine disk use ($root, storage driver vfs): $(du -sh "$root" 2>/dev/null | cut -f1)"
}

stop_engine() {
    [ "$ENGINE_STARTED" = 1 ] && [ "$KEEP" != 1 ] || return 0
    ENGINE_STARTED=0
    check "Docker engine stopped (started by this run)" "$ROOT/deploy/base-image.sh" engine-stop
}

finish() {
    FINISHING=1
    kill_child "$SUB"
    SUB=
    teardown
    engine_disk
    stop_engine
    log "total $(($(date +%s) - T0)) s"
    summary
    [ "$FAILED" -eq 0 ]
    exit $?
}

# fatal NAME [DETAIL]: a failed step the rest depends on: counted, the
# evidence printed, and the run ends (cleaning up).
fatal() {
    fail "$1" "${2:-}"
    [ "$FINISHING" = 1 ] && return 1
    log "fatal: $1; the run stops here"
    evidence
    finish
}

# Whatever ends the script (a fatal step, a signal, the watchdog, an
# unexpected exit): nothing of the stack or the engine stays behind.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    exec 1>&3 2>&4
    kill_child "$WATCHDOG"
    kill_child "$SUB"
    if [ "$STACK" = 1 ] && [ "$KEEP" != 1 ]; then
        compose down -v --remove-orphans >>"$WORK/compose-down.log" 2>&1 || true
    fi
    if [ "$ENGINE_STARTED" = 1 ] && [ "$KEEP" != 1 ]; then
        "$ROOT/deploy/base-image.sh" engine-stop || true
    fi
    [ "$KEEP" = 1 ] && log "AIRGUARD_TEST_KEEP=1: stack and engine left up (project $PROJECT, env $WORK/test.env)"
    exit "$rc"
}
trap cleanup EXIT
# The run's own stdout and stderr: a trap runs inside whatever redirection
# the interrupted command had (often `>>checks.log`), so it returns to these.
exec 3>&1 4>&2
on_signal() {
    exec 1>&3 2>&4
    if [ -e "$WORK/budget-spent" ]; then
        fatal "time budget" "the run took longer than AIRGUARD_TEST_BUDGET=$BUDGET s"
    else
        fatal "interrupted" "SIG$1"
    fi
    exit 1
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

rm -rf "$WORK"
mkdir -p "$WORK"
# The watchdog: at the end of the budget it asks this script to stop (the
# TERM trap then fails the run and cleans up). Bash runs a trap only once
# the command in the foreground has ended, so that command (a child of
# this script: timeout, docker-compose, sleep...) is stopped too.
(
    trap - INT TERM HUP EXIT
    end=$((T0 + BUDGET))
    while [ "$(date +%s)" -lt "$end" ]; do sleep 2; done
    : >"$WORK/budget-spent"
    # The children of this moment, taken before the trap starts new ones
    # (the evidence, the teardown).
    kids=$(ps -o pid= --ppid $$)
    kill -TERM $$
    for kid in $kids; do
        [ "$kid" = "$BASHPID" ] || kill -TERM "$kid" 2>/dev/null
    done
) &
WATCHDOG=$!

# ---- 1. engine, packages, base image, the host CLI ------------------------
log "preparing: packages, Docker engine, base image"
[ "$(id -u)" -eq 0 ] || fatal "running as root" "the compose test starts dockerd and debootstraps: run it as root"
"$ROOT/deploy/base-image.sh" packages || fatal "docker.io, docker-compose, debootstrap installed"
# (Without fds 3 and 4: an engine that outlives the run must not hold its output open.)
"$ROOT/deploy/base-image.sh" engine-start 3>&- 4>&- || fatal "Docker engine running"
# The pid file exists only for an engine base-image.sh started: this run's,
# or one an earlier, killed run left behind. Either is ours to stop.
[ -f "$STATE/dockerd.pid" ] && ENGINE_STARTED=1
pass "Docker engine running$([ "$ENGINE_STARTED" = 1 ] && echo ' (started by a test run: stopped at the end)')"
t=$(date +%s)
"$ROOT/deploy/base-image.sh" image || fatal "base image debian:bookworm-slim"
pass "base image debian:bookworm-slim ($(($(date +%s) - t)) s)"
if [ ! -x "$A" ]; then
    log "build/bin/airguard missing: building it (make)"
    "$ROOT/tools/deps.sh" && make -C "$ROOT" --no-print-directory build/bin/airguard >"$WORK/make.log" 2>&1 ||
        fatal "host CLI build/bin/airguard" "see $WORK/make.log"
fi

# ---- 2. the test's own secrets and settings --------------------------------
SECRETS=$WORK/secrets
mkdir -p "$SECRETS" "$WORK/keys"
"$A" keygen --out "$SECRETS/intake-server" >/dev/null || fatal "airguard keygen (server)"
"$A" keygen --out "$WORK/keys/client" >/dev/null || fatal "airguard keygen (client)"
"$A" keygen --out "$WORK/keys/stranger" >/dev/null || fatal "airguard keygen (stranger)"
cat >"$SECRETS/intake-clients.yaml" <<EOF
clients:
  - source: compose-test
    keys: ['$(cat "$WORK/keys/client.pub")']
    types: ['*']
EOF
(umask 077 && echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$SECRETS/intake-contact.key")
# The services run as uid 10001; the keys must be theirs and private.
chown 10001:10001 "$SECRETS/intake-server.key" "$SECRETS/intake-clients.yaml" \
    "$SECRETS/intake-contact.key"
chmod 600 "$SECRETS/intake-server.key" "$SECRETS/intake-contact.key"
chmod 644 "$SECRETS/intake-clients.yaml"

# The build context: the files the images are built from, copied out of the
# working tree (the repository root may hold GBs of local test data).
CTX=$WORK/context
mkdir -p "$CTX"
(cd "$ROOT" && tar -cf - --exclude=deploy/secrets --exclude=deploy/.env \
    Makefile include common tools services deploy) | tar -C "$CTX" -xf - ||
    fatal "build context staged"

# The submit port is chosen just before `up` (set_port); until then none.
cat >"$WORK/test.env" <<EOF
COMPOSE_PROJECT_NAME=$PROJECT
AIRGUARD_TAG=$TAG
AIRGUARD_BUILD_CONTEXT=$CTX
AIRGUARD_INTAKE_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
AIRGUARD_DISPATCH_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
AIRGUARD_SUBMIT_PORT=127.0.0.1:7200
AIRGUARD_CAMPAIGNS_DIR=$ROOT/seeds
AIRGUARD_SECRETS_DIR=$SECRETS
AIRGUARD_LOG_LEVEL=info
EOF
chmod 600 "$WORK/test.env"

# What an earlier, killed run of this project may have left.
STACK=1
compose down -v --remove-orphans >"$WORK/leftovers.log" 2>&1 || fatal "earlier run's stack removed" "$(tail -n 3 "$WORK/leftovers.log")"

# ---- 3. config, build, up, healthy ----------------------------------------
check "docker-compose config validates (test env)" compose config -q
check "docker-compose config validates (.env.example)" \
    docker-compose -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" --env-file "$ROOT/deploy/.env.example" config -q

log "building images (docker-compose build; log: $WORK/build.log)"
t=$(date +%s)
COMPOSE_TIMEOUT=1800 compose build >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" | sed 's/^/#   /'; fatal "docker-compose build"; }
pass "docker-compose build ($(($(date +%s) - t)) s)"
# Keep this build's compile stage as the cache of the next run (a tag keeps
# it from being dangling), and drop what earlier runs left: with a copying
# storage driver (vfs) every stale layer is a full copy of its image.
timeout 600 docker build -q --network host -f "$CTX/deploy/Dockerfile" --target build \
    -t "airguard/build:$TAG" "$CTX" >>"$WORK/build.log" 2>&1 || true
timeout 300 docker image prune -f --filter label=org.airguard.part >>"$WORK/build.log" 2>&1 || true

# Every service of the compose file, postgres first.
mapfile -t SERVICES < <(compose config --services)
log "services: ${SERVICES[*]}"
APPS=()
for s in "${SERVICES[@]}"; do [ "$s" = postgres ] || APPS+=("$s"); done

# A free host port for intake's submit socket, in the env file. Chosen now,
# not before the builds: a port free minutes ago may be taken by now.
set_port() {
    local i
    port=${AIRGUARD_TEST_SUBMIT_PORT:-}
    if [ -z "$port" ]; then
        for ((i = 0; i < 200; i++)); do
            port=$((17200 + RANDOM % 2800))
            ss -Hltn "sport = :$port" 2>/dev/null | grep -q . || break
        done
    fi
    sed -i "s/^AIRGUARD_SUBMIT_PORT=.*/AIRGUARD_SUBMIT_PORT=127.0.0.1:$port/" "$WORK/test.env"
    SUBMIT=tcp://127.0.0.1:$port
}
# up: `docker-compose up -d`; when the port was taken in the meantime,
# again with another one.
up() {
    local try
    for try in 1 2 3 4 5; do
        set_port
        log "docker-compose up -d (submit port $port)"
        compose up -d >"$WORK/up.log" 2>&1 && return 0
        cat "$WORK/up.log" >>"$WORK/checks.log"
        if [ -z "${AIRGUARD_TEST_SUBMIT_PORT:-}" ] &&
            grep -qiE 'port is already allocated|address already in use' "$WORK/up.log"; then
            log "port $port was taken: trying another"
            continue
        fi
        tail -n 5 "$WORK/up.log" | sed 's/^/#   /'
        return 1
    done
    return 1
}
up || fatal "docker-compose up -d"
pass "docker-compose up -d"

# wait_healthy SERVICE SECONDS
wait_healthy() {
    local svc=$1 limit=$2 i status c
    for ((i = 0; i < limit; i++)); do
        c=$(cid "$svc")
        status=$([ -n "$c" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$c" 2>/dev/null)
        [ "$status" = healthy ] && return 0
        sleep 1
    done
    echo "$svc: $status after $limit s" >&2
    return 1
}
# healthy_now SERVICE: the service's own health check passes at this moment
# (Docker's recorded status may still be the one from before a restart).
healthy_now() { compose exec -T "$1" /usr/local/bin/airguard-healthcheck; }
# wait_restarted CONTAINER STARTED_AT: until the engine has started it anew.
wait_restarted() {
    local i
    for ((i = 0; i < 120; i++)); do
        [ "$(docker inspect -f '{{.State.StartedAt}} {{.State.Running}}' "$1" 2>/dev/null)" != "$2 true" ] &&
            [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] && return 0
        sleep 0.5
    done
    return 1
}
t=$(date +%s)
for s in "${SERVICES[@]}"; do
    must "$s healthy" wait_healthy "$s" 180
done
log "healthy after $(($(date +%s) - t)) s"
# The label the teardown's "nothing left" checks filter on is really there.
eq "the data volume carries the project's label" \
    "$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | grep -c .)" 1

# ---- 4. submit from the host -------------------------------------------------
"$A" catalogue --examples >"$WORK/examples.jsonl" 2>"$WORK/catalogue.err" || fatal "airguard catalogue --examples"
NTYPES=$(grep -c . "$WORK/examples.jsonl")
# make_events N FILE: N events cycling through the catalogue's examples,
# each with a fresh id, its time (so that a resubmit is the same event) and
# our source.
make_events() {
    local n=$1 out=$2 i line now
    : >"$out"
    mapfile -t ex <"$WORK/examples.jsonl"
    now=$(date +%s%3N)
    for ((i = 0; i < n; i++)); do
        line=${ex[$((i % NTYPES))]}
        printf '{"id":"%s","time":%s,"source":"compose-test",%s\n' \
            "$(cat /proc/sys/kernel/random/uuid)" "$((now + i))" "${line#\{}" >>"$out"
    done
}
# submit [--total S] FILE [options]: one reply per event on stdout. The
# whole call has a time budget (default 60 s), whatever its retries.
submit() {
    local total=60
    if [ "$1" = --total ]; then
        total=$2
        shift 2
    fi
    local file=$1
    shift
    timeout -k 5 "$total" "$A" submit "$file" --endpoint "$SUBMIT" --server-key-file "$SECRETS/intake-server.pub" \
        --key-file "$WORK/keys/client.key" --clients 1 "$@"
}
# acked REPLIES: "id seq" of every ok reply.
acked() {
    grep '"ok":true' "$1" | sed -n 's/.*"id":"\([^"]*\)".*"seq":\([0-9]*\).*/\1 \2/p'
}
# The log as "id seq", sorted.
log_rows() { sql "SELECT msg_id || ' ' || seq FROM intake.stream_log" | sort; }

make_events 48 "$WORK/batch1.jsonl"
submit "$WORK/batch1.jsonl" --timeout-ms 5000 --budget-ms 20000 >"$WORK/batch1.replies" 2>"$WORK/batch1.err"
acked "$WORK/batch1.replies" | sort >"$WORK/acked.txt"
n=$(grep -c . "$WORK/acked.txt")
[ "$n" = 48 ] || fatal "48 events from the host: 48 acks" "got $n; $(tail -n 2 "$WORK/batch1.err" | tr '\n' ' ')"
pass "48 events from the host: 48 acks"
eq "every acked event stored" "$(log_rows | comm -12 - "$WORK/acked.txt" | grep -c .)" 48
eq "stored once each" "$(sql "SELECT count(*) - count(DISTINCT msg_id) FROM intake.stream_log")" 0

# Resubmitting an acked id returns the original ack.
head -n 1 "$WORK/batch1.jsonl" >"$WORK/again.jsonl"
again=$(submit "$WORK/again.jsonl" --timeout-ms 5000 2>/dev/null)
first_seq=$(head -n 1 "$WORK/batch1.replies" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
eq "resubmit: same seq, flagged duplicate" \
    "$(sed -n 's/.*"seq":\([0-9]*\).*"duplicate":\([a-z]*\).*/\1 \2/p' <<<"$again")" "$first_seq true"

# A client without a key (or with an unknown one) gets no answer at all.
timeout -k 5 30 "$A" submit "$WORK/again.jsonl" --endpoint "$SUBMIT" --retries 1 --timeout-ms 1500 >/dev/null 2>&1
eq "client without CURVE: no answer" "$?" 3
timeout -k 5 30 "$A" submit "$WORK/again.jsonl" --endpoint "$SUBMIT" --server-key-file "$SECRETS/intake-server.pub" \
    --key-file "$WORK/keys/stranger.key" --retries 1 --timeout-ms 1500 >/dev/null 2>&1
eq "client key not in the allow-list: no answer" "$?" 3

# ---- 5. crashes while a client submits ---------------------------------------
# submitter NAME BATCHES: submits batches of 5 events, one after another,
# as a careful client does: a request without an answer is retried with the
# same id (the CLI's Lazy Pirate, up to 40 s), and so is an event refused
# with E_UNAVAILABLE (the database is away): no ack means "send it again".
# The round has a budget (ROUND_BUDGET, default 240 s): past it, it stops
# and the checks count what was not acknowledged.
submitter() {
    local name=$1 n=$2 b try left end
    end=$(($(date +%s) + ${ROUND_BUDGET:-240}))
    make_events $((5 * n)) "$WORK/$name.jsonl"
    for ((b = 0; b < n; b++)); do
        sed -n "$((b * 5 + 1)),$((b * 5 + 5))p" "$WORK/$name.jsonl" >"$WORK/$name.part"
        for ((try = 0; try < 60; try++)); do
            left=$((end - $(date +%s)))
            if [ "$left" -le 0 ]; then
                echo "round budget spent at batch $b" >>"$WORK/$name.err"
                return 1
            fi
            submit --total $((left < 60 ? left : 60)) "$WORK/$name.part" --timeout-ms 1000 --retries 40 \
                >"$WORK/$name.got" 2>>"$WORK/$name.err"
            # Keep the acks; send again what was not acknowledged.
            paste -d '\t' "$WORK/$name.part" "$WORK/$name.got" >"$WORK/$name.pairs"
            grep -P '\t\{"ok":true' "$WORK/$name.pairs" | cut -f2 >>"$WORK/$name.replies"
            grep -vP '\t\{"ok":true' "$WORK/$name.pairs" | cut -f1 | grep . >"$WORK/$name.part" || break
            cut -f2 "$WORK/$name.pairs" | grep -v '"ok":true' >>"$WORK/$name.refused"
            sleep 0.5
        done
        sleep 0.1
    done
}

# after_crash NAME: the checks after a crash round.
after_crash() {
    local name=$1 sent acks
    sent=$(grep -c . "$WORK/$name.jsonl")
    touch "$WORK/$name.replies"
    acked "$WORK/$name.replies" | sort >"$WORK/$name.acked"
    acks=$(grep -c . "$WORK/$name.acked")
    eq "$name: every event acknowledged" "$acks" "$sent"
    sort -o "$WORK/acked.txt" "$WORK/acked.txt" "$WORK/$name.acked"
    log_rows >"$WORK/$name.log"
    eq "$name: every acknowledged event stored, at its acked seq" \
        "$(comm -12 "$WORK/$name.log" "$WORK/acked.txt" | grep -c .)" "$(grep -c . "$WORK/acked.txt")"
    eq "$name: nothing stored twice" "$(sql "SELECT count(*) - count(DISTINCT msg_id) FROM intake.stream_log")" 0
    eq "$name: nothing stored that was not acknowledged" \
        "$(comm -23 "$WORK/$name.log" "$WORK/acked.txt" | grep -c .)" 0
    eq "$name: log seq gap-free" \
        "$(sql "SELECT count(*) = max(seq) AND min(seq) = 1 FROM intake.stream_log")" t
}
# end_round: the round's client finished (within its own budget).
end_round() {
    wait "$SUB"
    SUB=
}

intake=$(cid intake)
[ -n "$intake" ] || fatal "intake container found"
restarts0=$(docker inspect -f '{{.RestartCount}}' "$intake")
log "crash 1: SIGKILL to intake's process while a client submits"
submitter crash1 40 &
SUB=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$intake")
must "crash 1: intake process SIGKILLed" kill_container_pid "$intake" airguard-intake
must "crash 1: the engine restarts intake by itself" wait_restarted "$intake" "$started"
must "crash 1: intake healthy again" wait_healthy intake 120
end_round
eq "crash 1: restart count went up by one" \
    "$(($(docker inspect -f '{{.RestartCount}}' "$intake") - restarts0))" 1
after_crash crash1

log "crash 2: docker kill -s KILL intake, then docker-compose up -d"
submitter crash2 40 &
SUB=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$intake")
must "crash 2: docker kill -s KILL" timeout 60 docker kill -s KILL "$intake"
sleep 2
state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$intake")
log "after docker kill: $state (Docker counts docker kill as an operator's stop: no automatic restart)"
must "crash 2: docker-compose up -d restarts intake" compose up -d
must "crash 2: intake started anew" wait_restarted "$intake" "$started"
must "crash 2: intake healthy again" wait_healthy intake 120
end_round
after_crash crash2

log "crash 3: SIGKILL to PostgreSQL while a client submits"
pg=$(cid postgres)
submitter crash3 40 &
SUB=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$pg")
must "crash 3: PostgreSQL SIGKILLed" kill_container_pid "$pg" postgres
must "crash 3: the engine restarts PostgreSQL by itself" wait_restarted "$pg" "$started"
must "crash 3: PostgreSQL healthy again" wait_healthy postgres 120
must "crash 3: intake healthy again" wait_healthy intake 120
end_round
log "crash 3: $(grep -c . "$WORK/crash3.refused" 2>/dev/null || echo 0) submits refused while the database was away, then sent again"
after_crash crash3
log "events stored: $(sql "SELECT count(*) FROM intake.stream_log")"

# ---- 5b. dispatch follows intake's stream ----------------------------------------
# dispatch_settled: dispatch has applied intake's head (every event so far).
dispatch_settled() {
    local head i got=
    head=$(sql "SELECT last_seq FROM intake.stream_head WHERE stream = 'events.intake-1'")
    for ((i = 0; i < 120; i++)); do
        got=$(sql "SELECT applied FROM dispatch.stream_offset WHERE stream = 'events.intake-1'" 2>/dev/null)
        [ "$got" = "$head" ] && return 0
        sleep 1
    done
    echo "dispatch applied ${got:-nothing} of $head" >&2
    return 1
}
# dispatch_invariants NAME: one task per opening event, the dispatch log
# gap-free, no record twice.
dispatch_invariants() {
    local name=$1
    eq "$name: one task per report, none twice" \
        "$(sql "SELECT count(*) - count(DISTINCT event) FROM dispatch.task")" 0
    eq "$name: dispatch log gap-free, head agrees" \
        "$(sql "SELECT count(*) = max(seq) AND max(seq) = (SELECT last_seq FROM dispatch.stream_head) FROM dispatch.stream_log")" t
    eq "$name: no dispatch record twice" \
        "$(sql "SELECT count(*) - count(DISTINCT msg_id) FROM dispatch.stream_log")" 0
    eq "$name: every task announced once on the dispatch stream" \
        "$(sql "SELECT (SELECT count(*) FROM dispatch.task) = (SELECT count(*) FROM dispatch.stream_log WHERE type = 'dispatch.task_created')")" t
}
must "dispatch: applied every event intake stored" dispatch_settled
report_id=$(grep '"type":"report.open_burning"' "$WORK/batch1.jsonl" | head -n 1 | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
eq "dispatch: the host's open-burning report became one task with a holder" \
    "$(sql "SELECT count(*) FROM dispatch.task WHERE event = '$report_id' AND holder IS NOT NULL")" 1
eq "dispatch: its task is on the dispatch stream" \
    "$(sql "SELECT count(*) > 0 FROM dispatch.stream_log WHERE type = 'dispatch.task_created'")" t
dispatch_invariants "dispatch"

dispatch=$(cid dispatch)
[ -n "$dispatch" ] || fatal "dispatch container found"
log "crash 4: SIGKILL to dispatch's process while a client submits"
tasks_before=$(sql "SELECT count(*) FROM dispatch.task")
submitter crash4 40 &
SUB=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$dispatch")
must "crash 4: dispatch process SIGKILLed" kill_container_pid "$dispatch" airguard-dispatch
must "crash 4: the engine restarts dispatch by itself" wait_restarted "$dispatch" "$started"
must "crash 4: dispatch healthy again" wait_healthy dispatch 120
end_round
after_crash crash4
must "crash 4: dispatch applied every event intake stored" dispatch_settled
check "crash 4: the round's reports opened tasks" test "$(sql "SELECT count(*) FROM dispatch.task")" -gt "$tasks_before"
dispatch_invariants "crash 4"

# ---- 6. operator checks ---------------------------------------------------------
for s in "${SERVICES[@]}"; do
    c=$(cid "$s")
    uids=$(timeout 30 docker top "$c" -eo pid,uid,comm 2>/dev/null | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
    if [ -n "$uids" ] && ! grep -qw 0 <<<"$uids"; then
        pass "$s: processes run as non-root (uid ${uids% })"
    else
        fail "$s: processes run as non-root" "uids: ${uids:-none}"
    fi
done
for s in "${APPS[@]}"; do
    img=airguard/$s:$TAG
    eq "$s image: no compiler, no -dev package" \
        "$(timeout 120 docker run --rm --entrypoint /bin/sh "$img" -c \
            'command -v gcc cc c99 clang tcc; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"' | tr '\n' ' ')" ""
done
eq "campaigns mounted read-only" \
    "$(compose exec -T intake sh -c 'touch /etc/airguard/campaigns/x 2>/dev/null && echo writable || echo read-only')" read-only

# ---- 7. backup and restore, as docs/deploy.md says -------------------------------
restore() {
    timeout -k 10 900 "$ROOT/deploy/restore.sh" -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" \
        --env-file "$WORK/test.env" --timeout 120 "$@"
}
head_of() { sql "SELECT last_seq FROM intake.stream_head WHERE stream = 'events.intake-1'"; }
# after_restore NAME: the log and head as at the backup, every service
# healthy, and the stream goes on at the next seq.
after_restore() {
    local name=$1 next
    log_rows >"$WORK/$name.rows"
    check "$name: the log as at the backup" cmp "$WORK/backup.rows" "$WORK/$name.rows"
    eq "$name: stream head as at the backup" "$(head_of)" "$backup_head"
    for s in "${APPS[@]}"; do check "$name: $s healthy" healthy_now "$s"; done
    make_events 1 "$WORK/$name.next.jsonl"
    next=$(submit "$WORK/$name.next.jsonl" --timeout-ms 5000 --retries 10 | sed -n 's/.*"ok":true.*"seq":\([0-9]*\).*/\1/p')
    eq "$name: the next event gets the next seq" "$next" "$((backup_head + 1))"
}

log_rows >"$WORK/backup.rows"
backup_head=$(head_of)
events=$(grep -c . "$WORK/backup.rows")
compose exec -T postgres pg_dump -Fc -d airguard >"$WORK/backup.dump" 2>"$WORK/backup.err"
check "backup: pg_dump -Fc through docker-compose exec" test -s "$WORK/backup.dump"
eq "backup: head = events stored" "$backup_head" "$events"
log "backup: $events events, $(stat -c %s "$WORK/backup.dump") bytes"

check "restore --verify-only: the backup restores and checks out" \
    restore --verify-only "$WORK/backup.dump"

head -c $(($(stat -c %s "$WORK/backup.dump") * 2 / 3)) "$WORK/backup.dump" >"$WORK/damaged.dump"
restore "$WORK/damaged.dump" >"$WORK/restore-damaged.log" 2>&1
eq "restore of a damaged dump: refused" "$?" 1
log_rows >"$WORK/damaged.rows"
check "restore of a damaged dump: the database untouched" cmp "$WORK/backup.rows" "$WORK/damaged.rows"
check "restore of a damaged dump: intake still running and healthy" healthy_now intake

# In place: three events acknowledged after the backup are lost by it, the
# replaced database stays aside.
make_events 3 "$WORK/after-backup.jsonl"
eq "3 events after the backup: acked at the next seqs" \
    "$(submit "$WORK/after-backup.jsonl" --timeout-ms 5000 | sed -n 's/.*"ok":true.*"seq":\([0-9]*\).*/\1/p' | tr '\n' ' ')" \
    "$((backup_head + 1)) $((backup_head + 2)) $((backup_head + 3)) "
t=$(date +%s)
restore "$WORK/backup.dump" >"$WORK/restore-inplace.log" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/restore-inplace.log"
[ "$rc" = 0 ] || fatal "restore in place" "exit $rc"
pass "restore in place ($(($(date +%s) - t)) s)"
old=$(compose exec -T postgres psql -X -tA -d postgres -c \
    "SELECT datname FROM pg_database WHERE datname LIKE 'airguard\_before\_restore\_%'")
eq "restore in place: the replaced database kept aside, with its $((events + 3)) events" \
    "$(compose exec -T postgres psql -X -tA -d "$old" -c 'SELECT count(*) FROM intake.stream_log' 2>&1)" "$((events + 3))"
after_restore "restore in place"

# Into a fresh volume: the disaster case (the volume is gone).
backup_head=$(head_of)
log_rows >"$WORK/backup.rows"
compose exec -T postgres pg_dump -Fc -d airguard >"$WORK/backup2.dump" 2>>"$WORK/backup.err"
must "fresh volume: docker-compose down -v" compose down -v
eq "fresh volume: the old volume is gone" \
    "$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | grep -c .)" 0
t=$(date +%s)
restore "$WORK/backup2.dump" >"$WORK/restore-fresh.log" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/restore-fresh.log"
[ "$rc" = 0 ] || fatal "restore into a fresh volume" "exit $rc"
pass "restore into a fresh volume ($(($(date +%s) - t)) s)"
eq "restore into a fresh volume: the empty database it replaced is dropped" \
    "$(compose exec -T postgres psql -X -tA -d postgres -c \
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'airguard\_before\_restore\_%'")" 0
after_restore "restore into a fresh volume"

# ---- 8. image sizes ----------------------------------------------------------------
log "image sizes:"
for s in "${SERVICES[@]}"; do
    img=airguard/$s:$TAG
    bytes=$(docker image inspect -f '{{.Size}}' "$img")
    mb=$(((bytes + 500000) / 1000000))
    printf '#   %-28s %4d MB\n' "$img" "$mb"
    [ "$s" = postgres ] && continue
    if [ "$mb" -le 150 ]; then pass "$s image <= 150 MB ($mb MB)"; else fail "$s image <= 150 MB" "$mb MB"; fi
done

finish
