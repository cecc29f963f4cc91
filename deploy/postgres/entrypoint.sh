#!/bin/bash
# airguard-postgres - the entrypoint of the airguard PostgreSQL image (runs as
# the postgres user). See deploy/postgres/Dockerfile.
#
# Environment:
#   AIRGUARD_DB_NAME                 database to create (default airguard)
#   AIRGUARD_SERVICES                services that get a schema and a role
#                                    (default: intake dispatch cases attendance scoring)
#   AIRGUARD_<SERVICE>_DB_PASSWORD   role passwords, or AIRGUARD_<SERVICE>_DB_PASSWORD_FILE
#   AIRGUARD_PG_SETTINGS             extra postgresql.conf lines, appended at initialisation
set -euo pipefail

PGDATA=${PGDATA:-/var/lib/postgresql/data}
db=${AIRGUARD_DB_NAME:-airguard}
read -r -a services <<<"${AIRGUARD_SERVICES:-intake dispatch cases attendance scoring}"
sock=/var/run/postgresql

log() { echo "airguard-postgres: $*" >&2; }

# Role passwords: the variable, else the file it names.
for svc in "${services[@]}"; do
    var=AIRGUARD_$(printf '%s' "$svc" | tr 'a-z' 'A-Z')_DB_PASSWORD
    file_var=${var}_FILE
    if [ -z "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        [ -r "${!file_var}" ] || { log "$file_var: cannot read ${!file_var}"; exit 1; }
        # shellcheck disable=SC2229  # reads into the variable named by $var
        IFS= read -r "$var" <"${!file_var}" || true
        export "${var?}"
    fi
    [ -n "${!var:-}" ] || log "warning: no $var: role airguard_$svc gets no password and cannot log in over the network"
    case ${!var:-} in
    CHANGE-ME*) log "$var still holds the placeholder of .env.example: set a real password in .env"; exit 1 ;;
    esac
done

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "initialising a new cluster in $PGDATA"
    initdb -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >>"$PGDATA/postgresql.conf" <<CONF

# airguard (deploy/postgres/entrypoint.sh)
listen_addresses = '*'
unix_socket_directories = '$sock'
password_encryption = scram-sha-256
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 128MB
log_timezone = 'UTC'
timezone = 'UTC'
${AIRGUARD_PG_SETTINGS:-}
CONF
    # The superuser only through the socket (docker-compose exec); the
    # services' roles with a password, over the network (each may connect
    # to the airguard database only: db-bootstrap.sh revokes CONNECT from
    # PUBLIC).
    cat >"$PGDATA/pg_hba.conf" <<HBA
# TYPE  DATABASE  USER      ADDRESS    METHOD
local   all       all                  peer
host    all       postgres  all        reject
host    all       all       0.0.0.0/0  scram-sha-256
host    all       all       ::/0       scram-sha-256
HBA
fi

# Bootstrap with the server reachable only through its socket.
pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 300 -l /tmp/bootstrap.log start >/dev/null ||
    { cat /tmp/bootstrap.log >&2; exit 1; }
if ! airguard-db-bootstrap "postgresql:///postgres?host=$sock" "$db" "${services[@]}"; then
    log "bootstrap failed"
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null || true
    exit 1
fi
pg_ctl -D "$PGDATA" -m fast -w -t 300 stop >/dev/null
log "database $db ready for: ${services[*]}"

exec postgres -D "$PGDATA"
