#!/usr/bin/env bash
# run.sh - `make run`: the whole suite in the foreground on this machine.
#
# Without AIRGUARD_DATABASE_URL it starts the embedded PostgreSQL (a private
# cluster under var/pg, unix socket only) and creates the database, roles
# and schemas. With AIRGUARD_DATABASE_URL set it uses that server; set
# AIRGUARD_ADMIN_DATABASE_URL too if the roles and schemas still need
# creating (tools/db-bootstrap.sh). Every service found in BUILD/bin starts
# with config/<service>.yaml; their JSON log lines go to this terminal.
# Ctrl-C (or SIGTERM) stops the services, then the embedded PostgreSQL.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
cd "$root"

services=()
for bin in "$build"/bin/airguard-*; do
    [ -x "$bin" ] && services+=("${bin##*/airguard-}")
done
if [ ${#services[@]} -eq 0 ]; then
    echo "run: no service binaries in $build/bin (run make first)" >&2
    exit 1
fi

embedded=0
if [ -z "${AIRGUARD_DATABASE_URL:-}" ]; then
    embedded=1
    echo "run: starting the embedded PostgreSQL in var/pg" >&2
    admin=$(tools/pg.sh start var/pg) || exit 1
    tools/db-bootstrap.sh "$admin" airguard "${services[@]}" || exit 1
    sock=$(printf '%s' "$admin" | sed -E 's#.*host=([^&]*).*#\1#')
    export AIRGUARD_DATABASE_URL="postgresql:///airguard?host=$sock"
elif [ -n "${AIRGUARD_ADMIN_DATABASE_URL:-}" ]; then
    db=$(printf '%s' "$AIRGUARD_DATABASE_URL" | sed -E 's#^[^/]*//[^/]*/([^?]*).*#\1#')
    tools/db-bootstrap.sh "$AIRGUARD_ADMIN_DATABASE_URL" "${db:-airguard}" "${services[@]}" || exit 1
fi

pids=()
stop() {
    trap - INT TERM
    echo "run: stopping ${services[*]}" >&2
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    if [ "$embedded" = 1 ]; then
        echo "run: stopping the embedded PostgreSQL" >&2
        tools/pg.sh stop var/pg
    fi
    exit 0
}
trap stop INT TERM

# tools/prepare-<service>.sh, where present, makes what the service needs
# locally (keys) and prints VAR=value lines for its environment.
for svc in "${services[@]}"; do
    extra=()
    if [ -x "tools/prepare-$svc.sh" ]; then
        mapfile -t extra < <("tools/prepare-$svc.sh" "$build") || exit 1
    fi
    env "${extra[@]}" "$build/bin/airguard-$svc" --config "config/$svc.yaml" &
    pids+=($!)
done
cat >&2 <<TEXT
run: started ${services[*]}; Ctrl-C stops everything.
run: try   $build/bin/airguard health --service intake
run: and   export AIRGUARD_SERVER_KEY=\$(cat var/keys/intake-server.pub) AIRGUARD_KEY_FILE=var/keys/operator.key
run:       $build/bin/airguard catalogue --examples | $build/bin/airguard submit -
run: then  $build/bin/airguard query '{"op":"tasks"}' --service dispatch
TEXT

# If a service dies, say so and keep the rest running; Ctrl-C still stops all.
while :; do
    wait -n "${pids[@]}" 2>/dev/null
    rc=$?
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    if [ ${#alive[@]} -lt ${#pids[@]} ] && [ "$rc" -ne 0 ]; then
        echo "run: a service exited with status $rc; see its last log lines above" >&2
    fi
    pids=("${alive[@]}")
    [ ${#pids[@]} -eq 0 ] && stop
done
