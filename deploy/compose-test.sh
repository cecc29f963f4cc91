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
#      answer; backup with pg_dump, restore into an emptied database with
#      pg_restore (docs/deploy.md's procedure), and the stream goes on.
#   7. Image sizes (service images must be <= 150 MB); `down -v`.
#
# Prints "ok NAME" / "FAIL NAME" per check and a closing "N passed, N failed"
# line; exits non-zero on any failure. Work files in build/compose-test/.
# Settings: AIRGUARD_TEST_PROJECT (compose project, default airguard-ctest),
# AIRGUARD_TEST_SUBMIT_PORT (host port, default: the first free from 17200),
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
T0=$(date +%s)
PASSED=0
FAILED=0
ENGINE_STARTED=0
STACK_UP=0

log() { printf '# [%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
pass() { PASSED=$((PASSED + 1)); echo "ok $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@" >>"$WORK/checks.log" 2>&1; then pass "$name"; else fail "$name"; fi
}
# eq NAME GOT WANT
eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

compose() {
    docker-compose -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" --env-file "$WORK/test.env" "$@"
}
sql() { compose exec -T postgres psql -X -q -tA -v ON_ERROR_STOP=1 -d airguard -c "$1"; }
cid() { compose ps -q "$1" 2>/dev/null; }

summary() {
    echo "$PASSED passed, $FAILED failed"
}

cleanup() {
    local rc=$?
    if [ "$STACK_UP" = 1 ]; then
        if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
            compose ps >"$WORK/ps.txt" 2>&1 || true
            compose logs --no-color --tail 200 >"$WORK/compose.log" 2>&1 || true
            log "on failure: container logs in $WORK/compose.log"
        fi
        if [ "${AIRGUARD_TEST_KEEP:-0}" = 1 ]; then
            log "AIRGUARD_TEST_KEEP=1: stack left up (project $PROJECT, env $WORK/test.env)"
        else
            compose down -v --remove-orphans >>"$WORK/compose-down.log" 2>&1 || true
        fi
    fi
    if [ "$ENGINE_STARTED" = 1 ] && [ "${AIRGUARD_TEST_KEEP:-0}" != 1 ]; then
        "$ROOT/deploy/base-image.sh" engine-stop || true
    fi
}
trap cleanup EXIT

# The stack's end, checked and reported before the summary line.
teardown() {
    [ "$STACK_UP" = 1 ] || return 0
    [ "${AIRGUARD_TEST_KEEP:-0}" = 1 ] && return 0
    check "docker-compose down -v" compose down -v --remove-orphans
    STACK_UP=0
    if docker volume ls -q | grep -qx "${PROJECT//-/}_pgdata\|${PROJECT}_pgdata"; then
        fail "data volume removed"
    else
        pass "data volume removed"
    fi
}

finish() {
    teardown
    log "total $(($(date +%s) - T0)) s"
    summary
    [ "$FAILED" -eq 0 ]
    exit $?
}

# A fatal precondition: counted, reported, and the run ends.
die() {
    fail "$1" "${2:-}"
    finish
}

rm -rf "$WORK"
mkdir -p "$WORK"

# ---- 1. engine, packages, base image, the host CLI ------------------------
log "preparing: packages, Docker engine, base image"
[ "$(id -u)" -eq 0 ] || die "running as root" "the compose test starts dockerd and debootstraps: run it as root"
"$ROOT/deploy/base-image.sh" packages || die "docker.io, docker-compose, debootstrap installed"
engine_was_up=0
timeout 10 docker info >/dev/null 2>&1 && engine_was_up=1
"$ROOT/deploy/base-image.sh" engine-start || die "Docker engine running"
[ "$engine_was_up" = 0 ] && ENGINE_STARTED=1
pass "Docker engine running$([ "$ENGINE_STARTED" = 1 ] && echo ' (started by the test)')"
t=$(date +%s)
"$ROOT/deploy/base-image.sh" image || die "base image debian:bookworm-slim"
pass "base image debian:bookworm-slim ($(($(date +%s) - t)) s)"
if [ ! -x "$A" ]; then
    log "build/bin/airguard missing: building it (make)"
    "$ROOT/tools/deps.sh" && make -C "$ROOT" --no-print-directory build/bin/airguard >"$WORK/make.log" 2>&1 ||
        die "host CLI build/bin/airguard" "see $WORK/make.log"
fi

# ---- 2. the test's own secrets and settings --------------------------------
SECRETS=$WORK/secrets
mkdir -p "$SECRETS" "$WORK/keys"
"$A" keygen --out "$SECRETS/intake-server" >/dev/null || die "airguard keygen (server)"
"$A" keygen --out "$WORK/keys/client" >/dev/null || die "airguard keygen (client)"
"$A" keygen --out "$WORK/keys/stranger" >/dev/null || die "airguard keygen (stranger)"
cat >"$SECRETS/intake-clients.yaml" <<EOF
clients:
  - source: compose-test
    keys: ['$(cat "$WORK/keys/client.pub")']
    types: ['*']
EOF
# The services run as uid 10001; the key must be theirs and private.
chown 10001:10001 "$SECRETS/intake-server.key" "$SECRETS/intake-clients.yaml"
chmod 600 "$SECRETS/intake-server.key"
chmod 644 "$SECRETS/intake-clients.yaml"

port=${AIRGUARD_TEST_SUBMIT_PORT:-}
if [ -z "$port" ]; then
    port=17200
    while ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
fi
SUBMIT=tcp://127.0.0.1:$port

# The build context: the files the images are built from, copied out of the
# working tree (the repository root may hold GBs of local test data).
CTX=$WORK/context
mkdir -p "$CTX"
(cd "$ROOT" && tar -cf - --exclude=deploy/secrets --exclude=deploy/.env \
    Makefile include common tools services deploy) | tar -C "$CTX" -xf - ||
    die "build context staged"

cat >"$WORK/test.env" <<EOF
COMPOSE_PROJECT_NAME=$PROJECT
AIRGUARD_TAG=$TAG
AIRGUARD_BUILD_CONTEXT=$CTX
AIRGUARD_INTAKE_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
AIRGUARD_DISPATCH_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
AIRGUARD_SUBMIT_PORT=127.0.0.1:$port
AIRGUARD_CAMPAIGNS_DIR=$ROOT/seeds
AIRGUARD_SECRETS_DIR=$SECRETS
AIRGUARD_LOG_LEVEL=info
EOF
chmod 600 "$WORK/test.env"

# ---- 3. config, build, up, healthy ----------------------------------------
check "docker-compose config validates (test env)" compose config -q
check "docker-compose config validates (.env.example)" \
    docker-compose -p "$PROJECT" -f "$ROOT/deploy/docker-compose.yml" --env-file "$ROOT/deploy/.env.example" config -q

log "building images (docker-compose build; log: $WORK/build.log)"
t=$(date +%s)
compose build >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; die "docker-compose build"; }
pass "docker-compose build ($(($(date +%s) - t)) s)"
# Keep this build's compile stage as the cache of the next run (a tag keeps
# it from being dangling), and drop what earlier runs left: with a copying
# storage driver (vfs) every stale layer is a full copy of its image.
docker build -q --network host -f "$CTX/deploy/Dockerfile" --target build \
    -t "airguard/build:$TAG" "$CTX" >>"$WORK/build.log" 2>&1 || true
docker image prune -f --filter label=org.airguard.part >>"$WORK/build.log" 2>&1 || true

# Every service of the compose file, postgres first.
mapfile -t SERVICES < <(compose config --services)
log "services: ${SERVICES[*]}"

log "docker-compose up -d"
STACK_UP=1
check "docker-compose up -d" compose up -d

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
    check "$s healthy" wait_healthy "$s" 180
done
log "healthy after $(($(date +%s) - t)) s"

# ---- 4. submit from the host -------------------------------------------------
"$A" catalogue --examples >"$WORK/examples.jsonl" 2>"$WORK/catalogue.err" || die "airguard catalogue --examples"
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
# submit FILE [options]: one reply per event on stdout.
submit() {
    local file=$1
    shift
    "$A" submit "$file" --endpoint "$SUBMIT" --server-key-file "$SECRETS/intake-server.pub" \
        --key-file "$WORK/keys/client.key" --clients 1 "$@"
}
# acked REPLIES: "id seq" of every ok reply.
acked() {
    grep '"ok":true' "$1" | sed -n 's/.*"id":"\([^"]*\)".*"seq":\([0-9]*\).*/\1 \2/p'
}
# The log as "id seq", sorted.
log_rows() { sql "SELECT msg_id || ' ' || seq FROM intake.stream_log" | sort; }

make_events 48 "$WORK/batch1.jsonl"
submit "$WORK/batch1.jsonl" --timeout-ms 5000 >"$WORK/batch1.replies" 2>"$WORK/batch1.err"
acked "$WORK/batch1.replies" | sort >"$WORK/acked.txt"
eq "48 events from the host: 48 acks" "$(grep -c . "$WORK/acked.txt")" 48
eq "every acked event stored" "$(log_rows | comm -12 - "$WORK/acked.txt" | grep -c .)" 48
eq "stored once each" "$(sql "SELECT count(*) - count(DISTINCT msg_id) FROM intake.stream_log")" 0

# Resubmitting an acked id returns the original ack.
head -n 1 "$WORK/batch1.jsonl" >"$WORK/again.jsonl"
again=$(submit "$WORK/again.jsonl" --timeout-ms 5000 2>/dev/null)
first_seq=$(head -n 1 "$WORK/batch1.replies" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
eq "resubmit: same seq, flagged duplicate" \
    "$(sed -n 's/.*"seq":\([0-9]*\).*"duplicate":\([a-z]*\).*/\1 \2/p' <<<"$again")" "$first_seq true"

# A client without a key (or with an unknown one) gets no answer at all.
"$A" submit "$WORK/again.jsonl" --endpoint "$SUBMIT" --retries 1 --timeout-ms 1500 >/dev/null 2>&1
eq "client without CURVE: no answer" "$?" 3
"$A" submit "$WORK/again.jsonl" --endpoint "$SUBMIT" --server-key-file "$SECRETS/intake-server.pub" \
    --key-file "$WORK/keys/stranger.key" --retries 1 --timeout-ms 1500 >/dev/null 2>&1
eq "client key not in the allow-list: no answer" "$?" 3

# ---- 5. crashes while a client submits ---------------------------------------
# submitter NAME BATCHES: submits batches of 5 events, one after another,
# as a careful client does: a request without an answer is retried with the
# same id (the CLI's Lazy Pirate, up to 40 s), and so is an event refused
# with E_UNAVAILABLE (the database is away): no ack means "send it again".
submitter() {
    local name=$1 n=$2 b try
    make_events $((5 * n)) "$WORK/$name.jsonl"
    for ((b = 0; b < n; b++)); do
        sed -n "$((b * 5 + 1)),$((b * 5 + 5))p" "$WORK/$name.jsonl" >"$WORK/$name.part"
        for ((try = 0; try < 60; try++)); do
            submit "$WORK/$name.part" --timeout-ms 1000 --retries 40 >"$WORK/$name.got" 2>>"$WORK/$name.err"
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

intake=$(cid intake)
restarts0=$(docker inspect -f '{{.RestartCount}}' "$intake")
log "crash 1: SIGKILL to intake's process while a client submits"
submitter crash1 40 &
sub=$!
sleep 1.5
pid=$(docker inspect -f '{{.State.Pid}}' "$intake")
started=$(docker inspect -f '{{.State.StartedAt}}' "$intake")
check "crash 1: intake process SIGKILLed" kill -KILL "$pid"
check "crash 1: the engine restarts intake by itself" wait_restarted "$intake" "$started"
check "crash 1: intake healthy again" wait_healthy intake 120
wait "$sub"
eq "crash 1: restart count went up by one" \
    "$(($(docker inspect -f '{{.RestartCount}}' "$intake") - restarts0))" 1
after_crash crash1

log "crash 2: docker kill -s KILL intake, then docker-compose up -d"
submitter crash2 40 &
sub=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$intake")
check "crash 2: docker kill -s KILL" docker kill -s KILL "$intake"
sleep 2
state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$intake")
log "after docker kill: $state (Docker counts docker kill as an operator's stop: no automatic restart)"
check "crash 2: docker-compose up -d restarts intake" compose up -d
check "crash 2: intake started anew" wait_restarted "$intake" "$started"
check "crash 2: intake healthy again" wait_healthy intake 120
wait "$sub"
after_crash crash2
log "crash 3: SIGKILL to PostgreSQL while a client submits"
pg=$(cid postgres)
submitter crash3 40 &
sub=$!
sleep 1.5
started=$(docker inspect -f '{{.State.StartedAt}}' "$pg")
check "crash 3: PostgreSQL SIGKILLed" kill -KILL "$(docker inspect -f '{{.State.Pid}}' "$pg")"
check "crash 3: the engine restarts PostgreSQL by itself" wait_restarted "$pg" "$started"
check "crash 3: PostgreSQL healthy again" wait_healthy postgres 120
check "crash 3: intake healthy again" wait_healthy intake 120
wait "$sub"
log "crash 3: $(grep -c . "$WORK/crash3.refused" 2>/dev/null || echo 0) submits refused while the database was away, then sent again"
after_crash crash3
log "events stored: $(sql "SELECT count(*) FROM intake.stream_log")"

# ---- 6. operator checks ---------------------------------------------------------
for s in "${SERVICES[@]}"; do
    c=$(cid "$s")
    uids=$(docker top "$c" -eo pid,uid,comm 2>/dev/null | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
    if [ -n "$uids" ] && ! grep -qw 0 <<<"$uids"; then
        pass "$s: processes run as non-root (uid ${uids% })"
    else
        fail "$s: processes run as non-root" "uids: ${uids:-none}"
    fi
done
for s in "${SERVICES[@]}"; do
    [ "$s" = postgres ] && continue
    img=airguard/$s:$TAG
    eq "$s image: no compiler, no -dev package" \
        "$(docker run --rm --entrypoint /bin/sh "$img" -c \
            'command -v gcc cc c99 clang tcc; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"' | tr '\n' ' ')" ""
done
eq "campaigns mounted read-only" \
    "$(compose exec -T intake sh -c 'touch /etc/airguard/campaigns/x 2>/dev/null && echo writable || echo read-only')" read-only

# Backup, then restore into an emptied database, as docs/deploy.md says.
APPS=()
for s in "${SERVICES[@]}"; do [ "$s" = postgres ] || APPS+=("$s"); done
events=$(sql "SELECT count(*) FROM intake.stream_log")
compose exec -T postgres pg_dump -Fc -d airguard >"$WORK/backup.dump" 2>"$WORK/backup.err"
check "backup: pg_dump -Fc through docker-compose exec" test -s "$WORK/backup.dump"
{
    compose stop "${APPS[@]}" &&
        compose exec -T postgres dropdb --force airguard &&
        compose restart postgres && wait_healthy postgres 120
} >>"$WORK/restore.log" 2>&1
eq "restore: database emptied (no intake tables)" \
    "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'intake'" 2>>"$WORK/restore.log")" 0
compose exec -T postgres pg_restore --clean --if-exists -d airguard <"$WORK/backup.dump" >>"$WORK/restore.log" 2>&1
check "restore: pg_restore --clean --if-exists" test $? -eq 0
check "restore: services up again" compose up -d
for s in "${APPS[@]}"; do check "restore: $s healthy" wait_healthy "$s" 120; done
eq "restore: every event back" "$(sql "SELECT count(*) FROM intake.stream_log")" "$events"
make_events 1 "$WORK/after-restore.jsonl"
eq "restore: the stream goes on at the next seq" \
    "$(submit "$WORK/after-restore.jsonl" --timeout-ms 5000 --retries 10 | sed -n 's/.*"ok":true.*"seq":\([0-9]*\).*/\1/p')" \
    "$((events + 1))"

# ---- 7. image sizes ----------------------------------------------------------------
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
