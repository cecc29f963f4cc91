#!/usr/bin/env bash
# run.sh - `make run`: the whole suite in the foreground on this machine,
# supervised.
#
#   tools/run.sh [BUILD]      (BUILD defaults to build/)
#
# Without AIRGUARD_DATABASE_URL it starts the embedded PostgreSQL (a private
# cluster under var/pg, unix socket only) and creates the database, roles
# and schemas. With AIRGUARD_DATABASE_URL set it uses that server; set
# AIRGUARD_ADMIN_DATABASE_URL too if the roles and schemas still need
# creating (tools/db-bootstrap.sh).
#
# Every service built into BUILD/bin/airguard-<service> that has a
# config/<service>.yaml starts with it; their JSON log lines go to this
# terminal. Once each answers `health`, the lines an operator needs to talk
# to the suite are printed (absolute paths). Then this script supervises:
# a service that exits is started again after a pause (1 s, doubling up to
# 30 s; back to 1 s once it ran for a minute), each restart logged with the
# exit status; the other services and PostgreSQL keep running. Ctrl-C (or
# SIGTERM, SIGHUP) stops the services, then the embedded PostgreSQL.
#
# AIRGUARD_RUN_DIR (default var/) holds pg/ and keys/, AIRGUARD_RUN_CONFIG
# (default config/) the service configurations: tests run a private suite
# with their own.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
cd "$root"
rundir=$(mkdir -p "${AIRGUARD_RUN_DIR:-var}" && cd "${AIRGUARD_RUN_DIR:-var}" && pwd)
confdir=$(cd "${AIRGUARD_RUN_CONFIG:-config}" && pwd)

BACKOFF_MIN=1
BACKOFF_MAX=30
STABLE_S=60

say() { echo "run: $*" >&2; }

services=()
for bin in "$build"/bin/airguard-*; do
    [ -x "$bin" ] || continue
    svc=${bin##*/airguard-}
    if [ -f "$confdir/$svc.yaml" ]; then
        services+=("$svc")
    else
        say "not starting $svc: no $confdir/$svc.yaml"
    fi
done
if [ ${#services[@]} -eq 0 ]; then
    say "no service binaries with a configuration in $build/bin (run make first)"
    exit 1
fi

embedded=0
if [ -z "${AIRGUARD_DATABASE_URL:-}" ]; then
    embedded=1
    say "starting the embedded PostgreSQL in $rundir/pg"
    admin=$(tools/pg.sh start "$rundir/pg") || exit 1
    tools/db-bootstrap.sh "$admin" airguard "${services[@]}" || exit 1
    sock=$(printf '%s' "$admin" | sed -E 's#.*host=([^&]*).*#\1#')
    export AIRGUARD_DATABASE_URL="postgresql:///airguard?host=$sock"
elif [ -n "${AIRGUARD_ADMIN_DATABASE_URL:-}" ]; then
    db=$(printf '%s' "$AIRGUARD_DATABASE_URL" | sed -E 's#^[^/]*//[^/]*/([^?]*).*#\1#')
    tools/db-bootstrap.sh "$AIRGUARD_ADMIN_DATABASE_URL" "${db:-airguard}" "${services[@]}" || exit 1
fi

declare -A pid=()      # service -> its process, while it runs
declare -A env_of=()   # service -> VAR=value lines from tools/prepare-<service>.sh
declare -A backoff=()  # service -> the pause before its next restart (s)
declare -A started=()  # service -> $SECONDS when it last started
declare -A due=()      # service -> $SECONDS when it is to start again, while it is down
declare -A restarts=() # service -> how many times it was restarted
ticker=

stop() {
    trap '' INT TERM HUP # a second signal (make sends SIGTERM after Ctrl-C) must not cut the stop short
    [ -n "$ticker" ] && kill "$ticker" 2>/dev/null
    say "stopping ${services[*]}"
    local svc p i
    for svc in "${!pid[@]}"; do kill -TERM "${pid[$svc]}" 2>/dev/null; done
    for svc in "${!pid[@]}"; do
        p=${pid[$svc]}
        for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            say "$svc (pid $p) did not stop in 10 s: SIGKILL"
            kill -KILL "$p" 2>/dev/null
        fi
        wait "$p" 2>/dev/null
    done
    if [ "$embedded" = 1 ]; then
        say "stopping the embedded PostgreSQL"
        tools/pg.sh stop "$rundir/pg"
    fi
    exit 0
}
trap stop INT TERM HUP

start() {
    local svc=$1 extra=()
    [ -n "${env_of[$svc]:-}" ] && mapfile -t extra <<<"${env_of[$svc]}"
    env "${extra[@]}" "$build/bin/airguard-$svc" --config "$confdir/$svc.yaml" &
    pid[$svc]=$!
    started[$svc]=$SECONDS
    unset "due[$svc]"
}

# The control endpoint of a service, from its configuration (a wildcard
# address becomes 127.0.0.1), for the readiness check.
control_of() {
    sed -n 's/^control:[[:space:]]*["'\'']\{0,1\}\([^"'\''#[:space:]]*\).*/\1/p' "$confdir/$1.yaml" |
        head -n 1 | sed -e 's#^tcp://0\.0\.0\.0:#tcp://127.0.0.1:#' -e 's#^tcp://\*:#tcp://127.0.0.1:#'
}

# tools/prepare-<service>.sh, where present, makes what the service needs
# locally (keys, in $rundir/keys) and prints VAR=value lines for its
# environment.
for svc in "${services[@]}"; do
    if [ -x "tools/prepare-$svc.sh" ]; then
        env_of[$svc]=$("tools/prepare-$svc.sh" "$build" "$rundir/keys") || { say "tools/prepare-$svc.sh failed"; stop; }
    fi
    backoff[$svc]=$BACKOFF_MIN
    restarts[$svc]=0
    start "$svc"
done

# Ready means: answers health (its database reachable).
for svc in "${services[@]}"; do
    ep=$(control_of "$svc")
    ok=0
    for ((i = 0; i < 300 && ok == 0; i++)); do
        kill -0 "${pid[$svc]}" 2>/dev/null || break
        "$build/bin/airguard" health --endpoint "${ep:-none}" --timeout-ms 500 --retries 1 >/dev/null 2>&1 && ok=1 || sleep 0.2
    done
    if [ "$ok" = 1 ]; then
        say "$svc is ready (pid ${pid[$svc]}, control $ep)"
    else
        say "$svc is NOT ready (control $ep); see its log lines above"
    fi
done
{
    echo "run: started ${services[*]}; Ctrl-C stops everything. In another terminal:"
    if [ -f "$rundir/keys/intake-server.pub" ]; then
        echo "run:   export AIRGUARD_SERVER_KEY_FILE=$rundir/keys/intake-server.pub AIRGUARD_KEY_FILE=$rundir/keys/operator.key"
    fi
    echo "run:   $build/bin/airguard health --service intake"
    echo "run:   $build/bin/airguard catalogue --examples | $build/bin/airguard submit -"
    if [ -x "$build/bin/airguard-dispatch" ]; then
        echo "run:   $build/bin/airguard query '{\"op\":\"tasks\"}' --service dispatch"
    fi
} >&2

describe() { # exit status -> words
    if [ "$1" -gt 128 ]; then
        echo "status $1, killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
    else
        echo "status $1"
    fi
}

# Supervise: a dead service is noticed within half a second and started
# again after its back-off; the rest keep running.
while :; do
    for svc in "${services[@]}"; do
        if [ -n "${pid[$svc]:-}" ] && ! kill -0 "${pid[$svc]}" 2>/dev/null; then
            wait "${pid[$svc]}"
            rc=$?
            ran=$((SECONDS - started[$svc]))
            [ "$ran" -ge "$STABLE_S" ] && backoff[$svc]=$BACKOFF_MIN
            say "$svc (pid ${pid[$svc]}) exited with $(describe "$rc") after ${ran} s; restarting it in ${backoff[$svc]} s"
            unset "pid[$svc]"
            due[$svc]=$((SECONDS + backoff[$svc]))
            next=$((backoff[$svc] * 2))
            backoff[$svc]=$((next > BACKOFF_MAX ? BACKOFF_MAX : next))
        fi
        if [ -z "${pid[$svc]:-}" ] && [ -n "${due[$svc]:-}" ] && [ "$SECONDS" -ge "${due[$svc]}" ]; then
            restarts[$svc]=$((restarts[$svc] + 1))
            start "$svc"
            say "$svc restarted (pid ${pid[$svc]}, restart ${restarts[$svc]})"
        fi
    done
    sleep 0.5 &
    ticker=$!
    wait "$ticker"
    ticker=
done
