# harness.sh - shared helpers for the integration tests (bash, sourced).
#
# Every test script runs real processes against a real PostgreSQL:
#   - the cluster is the test run's private one (tools/pg.sh under
#     var/test/pg), started by tests/run.sh and passed in AG_PG_DIR, or one
#     the script starts itself when run alone; with AIRGUARD_TEST_ADMIN_URL
#     set, that server is used instead (tests needing a server restart skip);
#   - each test case creates its own database (ag_db_create), so tests never
#     touch data they did not create, and drops it when it passes;
#   - services listen on TCP loopback ports from a per-script random base.
#
# Results: ag_check prints "ok NAME" / "FAIL NAME"; ag_summary prints the
# plain "N passed, N failed" line and returns non-zero on a failure.

AG_ROOT=${AG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AG_BUILD=${AG_BUILD:-$AG_ROOT/build/san}
AG_BIN=$AG_BUILD/bin
AG_TESTBIN=$AG_BUILD/tests
AG_PASSED=0
AG_FAILED=0
declare -A AG_PIDS=()
declare -A AG_CMDS=()

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export AIRGUARD_LOG_LEVEL=${AIRGUARD_LOG_LEVEL:-info}

mkdir -p "$AG_ROOT/var/test"
AG_WORK=$(mktemp -d "$AG_ROOT/var/test/$(basename "$0" .sh).XXXXXX")
# The CLI's journal of stdin submits stays with the test, not in ~/.local/state.
export AIRGUARD_JOURNAL_DIR=$AG_WORK/journal
AG_RUN_ID=$(basename "$AG_WORK" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z' | tail -c 7)
# A base port per script run, so parallel runs on one machine do not collide.
# Below the kernel's ephemeral range (32768 and up): a port there can be
# taken by any outgoing connection, and a client connecting to a port in it
# that nobody listens on can even end up connected to itself.
AG_PORT=$((20000 + (RANDOM % 120) * 100))

ag_log() { printf '# %s\n' "$*" >&2; }

# Starts the private cluster when the runner did not.
ag_pg_start() {
    if [ -n "${AIRGUARD_TEST_ADMIN_URL:-}" ]; then
        AG_ADMIN_URL=$AIRGUARD_TEST_ADMIN_URL
        AG_PG_DIR=
        return 0
    fi
    if [ -z "${AG_PG_DIR:-}" ]; then
        AG_PG_DIR=$AG_ROOT/var/test/pg
        AG_PG_OWNED=1
    fi
    AG_ADMIN_URL=$("$AG_ROOT/tools/pg.sh" start "$AG_PG_DIR")
}

ag_can_crash_pg() { [ -n "${AG_PG_DIR:-}" ]; }
ag_pg_crash() { "$AG_ROOT/tools/pg.sh" crash "$AG_PG_DIR"; }

# ag_db_create NAME SERVICE...: a fresh database with the service roles;
# sets AG_DB (its name) and AG_DB_URL (what services use).
ag_db_create() {
    # Suffixed with this run's id: runs sharing one server never meet.
    AG_DB=${1}_$AG_RUN_ID
    shift
    ag_sql_admin "DROP DATABASE IF EXISTS $AG_DB WITH (FORCE)" >/dev/null
    "$AG_ROOT/tools/db-bootstrap.sh" "$AG_ADMIN_URL" "$AG_DB" "$@" >/dev/null
    AG_DB_URL=$(ag_url_for "$AG_DB")
}

ag_db_drop() { ag_sql_admin "DROP DATABASE IF EXISTS $AG_DB WITH (FORCE)" >/dev/null 2>&1 || true; }

# The admin URL pointed at another database.
ag_url_for() {
    case $AG_ADMIN_URL in
    *"///"*) printf '%s' "$AG_ADMIN_URL" | sed -E "s#///[^?]*#///$1#; s#[?&]user=[^&]*##" ;;
    *) printf '%s' "$AG_ADMIN_URL" | sed -E "s#(//[^/]*/)[^?]*#\\1$1#" ;;
    esac
}

# ag_intake_config FILE BASEPORT [SECURITY_LINES [CAMPAIGNS_DIR]]: intake's
# configuration for the current AG_DB: control on BASEPORT, its stream on
# BASEPORT+1, submits on BASEPORT+2; SECURITY_LINES (indented four spaces)
# default to "    insecure: true", campaigns to the seeds.
ag_intake_config() {
    cat >"$1" <<YAML
instance: intake-1
database:
  url: "$AG_DB_URL"
control: tcp://127.0.0.1:$2
publish: tcp://127.0.0.1:$(($2 + 1))
intake:
  submit: tcp://127.0.0.1:$(($2 + 2))
  campaigns: ${4:-$AG_ROOT/seeds}
  security:
${3:-    insecure: true}
YAML
}

# ag_test_producer_config FILE CONTROL PUBLISH SUBMIT: the test producer's
# (tests/stream/stream_producer) configuration for the current AG_DB, as
# instance prod-1, so its stream is test.prod-1.
ag_test_producer_config() {
    cat >"$1" <<YAML
instance: prod-1
database:
  url: "$AG_DB_URL"
control: $2
publish: $3
streamprod:
  submit: $4
YAML
}

# ag_test_consumer_config FILE CONTROL STREAM PUBLISH STREAM_CONTROL: the
# test consumer's (cons-1) configuration, following STREAM.
ag_test_consumer_config() {
    cat >"$1" <<YAML
instance: cons-1
database:
  url: "$AG_DB_URL"
control: $2
follow:
  - stream: $3
    publish: $4
    control: $5
YAML
}

ag_sql_admin() { psql -X -q -tA -v ON_ERROR_STOP=1 "$AG_ADMIN_URL" -c "$1"; }

# Runs SQL as superuser in the current test database; prints rows as a|b.
ag_sql() {
    local url
    url=$(printf '%s' "$AG_ADMIN_URL" | sed -E "s#///[^?]*#///$AG_DB#")
    case $AG_ADMIN_URL in *"///"*) ;; *) url=$(printf '%s' "$AG_ADMIN_URL" | sed -E "s#(//[^/]*/)[^?]*#\\1$AG_DB#") ;; esac
    psql -X -q -tA -v ON_ERROR_STOP=1 "$url" -c "$1"
}

# ag_start NAME CMD...: runs CMD in the background, stderr+stdout to NAME.log.
ag_start() {
    local name=$1
    shift
    AG_CMDS[$name]="$*"
    "$@" >>"$AG_WORK/$name.log" 2>&1 &
    AG_PIDS[$name]=$!
}

# ag_restart NAME: starts NAME again with the command it was started with.
ag_restart() {
    local name=$1
    # shellcheck disable=SC2086
    ag_start "$name" ${AG_CMDS[$name]}
}

ag_kill9() {
    local pid=${AG_PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "AG_PIDS[$1]"
}

# ag_stop NAME: SIGTERM and wait; returns the process's exit status (a
# sanitizer report or a leak makes it non-zero).
ag_stop() {
    local pid=${AG_PIDS[$1]:-} rc=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || rc=$?
    unset "AG_PIDS[$1]"
    return $rc
}

ag_stop_all() {
    local name
    for name in "${!AG_PIDS[@]}"; do ag_stop "$name" || true; done
}

# ag_wait_health ENDPOINT [SECONDS]: until the service answers health ok.
ag_wait_health() {
    local endpoint=$1 limit=${2:-30} i
    for ((i = 0; i < limit * 5; i++)); do
        "$AG_BIN/airguard" health --endpoint "$endpoint" --timeout-ms 500 --retries 1 >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    ag_log "no healthy answer from $endpoint after ${limit}s"
    return 1
}

# ag_wait_sql SQL EXPECTED [SECONDS]: until the query prints EXPECTED.
ag_wait_sql() {
    local sql=$1 expected=$2 limit=${3:-60} i got=
    for ((i = 0; i < limit * 5; i++)); do
        got=$(ag_sql "$sql" 2>/dev/null) || true
        [ "$got" = "$expected" ] && return 0
        sleep 0.2
    done
    ag_log "waited ${limit}s for [$sql] = [$expected], last [$got]"
    return 1
}

# ag_check NAME COMMAND...: one named check.
ag_check() {
    local name=$1
    shift
    if "$@"; then
        AG_PASSED=$((AG_PASSED + 1))
        echo "ok   $name"
    else
        AG_FAILED=$((AG_FAILED + 1))
        echo "FAIL $name"
    fi
}

# ag_eq NAME ACTUAL EXPECTED: a check that prints both values when they differ.
ag_eq() {
    if [ "$2" = "$3" ]; then
        AG_PASSED=$((AG_PASSED + 1))
        echo "ok   $1"
    else
        AG_FAILED=$((AG_FAILED + 1))
        echo "FAIL $1: got [$2], expected [$3]"
    fi
}

ag_summary() {
    ag_stop_all
    if [ "$AG_FAILED" -gt 0 ]; then
        ag_log "logs kept in $AG_WORK"
        for f in "$AG_WORK"/*.log; do
            [ -f "$f" ] || continue
            ag_log "--- tail of $f"
            tail -n 15 "$f" >&2
        done
    else
        rm -rf "$AG_WORK"
    fi
    if [ "${AG_PG_OWNED:-0}" = 1 ]; then "$AG_ROOT/tools/pg.sh" stop "$AG_PG_DIR"; fi
    echo "$AG_PASSED passed, $AG_FAILED failed"
    [ "$AG_FAILED" -eq 0 ]
}

ag_on_exit() {
    local name
    for name in "${!AG_PIDS[@]}"; do kill -9 "${AG_PIDS[$name]}" 2>/dev/null || true; done
}
trap ag_on_exit EXIT
