#!/usr/bin/env bash
# restore.sh - restores a `pg_dump -Fc` backup into the docker-compose stack,
# checks what it restored, and only then lets the services see it.
#
#   deploy/restore.sh [OPTIONS] DUMP
#
#   -p, --project-name NAME   compose project (default: COMPOSE_PROJECT_NAME from .env)
#   -f, --file FILE           compose file (default: deploy/docker-compose.yml)
#   --env-file FILE           env file (default: deploy/.env, as docker-compose reads it)
#   --timeout SECONDS         wait at most this long for each health (default 180)
#   --verify-only             restore into a scratch database, check it, drop it;
#                             the running stack is not touched (a backup test)
#   --drop-old                drop the database that the restore replaces
#                             (default: kept as <db>_before_restore_<time>)
#
# Steps, each of which ends the command on failure with a message saying
# what state things are in:
#   1. PostgreSQL running and healthy: `up -d postgres`, then its health
#      check, a query through its socket and its TCP port (open only after
#      the roles and schemas exist) all answer.
#   2. What the dump holds, read from the dump itself: every table's row
#      count and every stream head (schema.stream_head).
#   3. The dump restored into a scratch database <db>_restore (made by the
#      same bootstrap as the real one; pg_restore --single-transaction, so
#      a damaged dump restores nothing), while the services keep running.
#   4. Checked: every table's row count as in the dump, every stream head as
#      in the dump, and each stream's log gap-free up to its head.
#   5. The services (every compose service but postgres) stopped; the
#      scratch database renamed into place, the old one renamed aside (its
#      CONNECT grants revoked) or dropped; the checks of step 4 once more
#      on the database the services will use; the services started and
#      waited for until healthy.
# Before step 5 nothing the services use has changed: a failure there
# leaves the stack as it was. Events acknowledged after the backup was taken
# are lost by a restore; the services continue their streams from the
# restored heads. Exit status 0 only when everything above succeeded.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
compose_args=(-f "$here/docker-compose.yml")
timeout_s=180
verify_only=0
drop_old=0
dump=
T0=$(date +%s)

say() { printf 'restore: [%3ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}
# The header above, up to "Steps".
usage() { sed -n '2,/^# Steps/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
    -p | --project-name) compose_args+=(-p "${2:?$1 needs a value}"); shift 2 ;;
    -f | --file) compose_args[1]=${2:?$1 needs a value}; shift 2 ;;
    --env-file) compose_args+=(--env-file "${2:?$1 needs a value}"); shift 2 ;;
    --timeout) timeout_s=${2:?$1 needs a value}; shift 2 ;;
    --verify-only) verify_only=1; shift ;;
    --drop-old) drop_old=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) [ -z "$dump" ] || die "one dump file only"; dump=$1; shift ;;
    esac
done
[ -n "$dump" ] || { usage >&2; die "no dump file given"; }
if [ ! -r "$dump" ] || [ ! -s "$dump" ]; then die "$dump: not a readable, non-empty file"; fi
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: whole seconds, not '$timeout_s'"
command -v docker-compose >/dev/null || die "docker-compose not found"

compose() { docker-compose "${compose_args[@]}" "$@"; }
# In the postgres container, as its superuser through the unix socket.
pg() { compose exec -T postgres "$@"; }
psql_in() {
    local db=$1
    shift
    pg psql -X -q -tA -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# The state of a container as "status health" (health "-" when it has none).
state_of() {
    local c
    c=$(compose ps -q "$1" 2>/dev/null) || true
    [ -n "$c" ] || { echo "missing -"; return; }
    docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' "$c" 2>/dev/null ||
        echo "missing -"
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND once a second.
wait_until() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    say "$what: not after ${limit} s (state: $(state_of "${svc:-postgres}"))"
    return 1
}

pg_ready() {
    [ "$(state_of postgres)" = "running healthy" ] &&
        pg pg_isready -q -h 127.0.0.1 -p 5432 -U healthcheck -d postgres &&
        [ "$(psql_in postgres -c 'SELECT 1')" = 1 ]
}

# A service is ready when its container runs and its own health check
# passes now (Docker's recorded status can still be the one from before a stop).
svc_ready() {
    [ "$(state_of "$1" | cut -d' ' -f1)" = running ] &&
        compose exec -T "$1" /usr/local/bin/airguard-healthcheck
}

# ---- 1. PostgreSQL healthy
say "starting postgres if needed, waiting until it is healthy"
compose up -d postgres >/dev/null 2>&1 || die "docker-compose up -d postgres failed (docker-compose logs postgres)"
svc=postgres wait_until "$timeout_s" "postgres healthy" pg_ready || die "postgres is not healthy; nothing was changed"
db=$(pg printenv AIRGUARD_DB_NAME 2>/dev/null | tr -d '\r') || true
db=${db:-airguard}
scratch=${db}_restore

# ---- 2. what the dump holds
# pg_restore -a prints each table's data as a COPY block: one line per row.
pg pg_restore --list <"$dump" >/dev/null 2>"/tmp/restore-list.$$" ||
    { cat "/tmp/restore-list.$$" >&2; rm -f "/tmp/restore-list.$$"; die "$dump is not a pg_dump -Fc archive; nothing was changed"; }
rm -f "/tmp/restore-list.$$"
expected=$(pg pg_restore --data-only --file=- <"$dump" | awk '
    /^COPY .* FROM stdin;$/ {
        table = $2; rows = 0; copying = 1; scol = 0; hcol = 0
        if (table ~ /\.stream_head$/) {
            cols = $0; sub(/^[^(]*\(/, "", cols); sub(/\).*$/, "", cols)
            n = split(cols, c, /, /)
            for (i = 1; i <= n; i++) { if (c[i] == "stream") scol = i; if (c[i] == "last_seq") hcol = i }
        }
        next
    }
    copying && $0 == "\\." { print "table", table, rows; copying = 0; next }
    copying {
        rows++
        if (scol && hcol) { split($0, f, "\t"); print "head", table, f[scol], f[hcol] }
    }') || die "could not read the data of $dump; nothing was changed"
ntables=$(grep -c '^table ' <<<"$expected" || true)
[ "$ntables" -gt 0 ] || die "$dump holds no table data; nothing was changed"
say "the dump holds $ntables tables, $(awk '$1 == "table" { n += $3 } END { print n + 0 }' <<<"$expected") rows, $(grep -c '^head ' <<<"$expected" || true) stream heads"

# ---- 3. restore into the scratch database
drop_scratch() { psql_in postgres -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true; }
drop_scratch
bootstrap() {
    # shellcheck disable=SC2016  # expanded in the container, from its environment
    pg sh -c 'PGOPTIONS="-c client_min_messages=warning" exec airguard-db-bootstrap \
        "postgresql:///postgres?host=/var/run/postgresql" "$1" \
        ${AIRGUARD_SERVICES:-intake dispatch cases attendance scoring}' sh "$1"
}
bootstrap "$scratch" >/dev/null || die "could not create the scratch database $scratch; nothing was changed"
say "restoring $dump into $scratch (the services keep running)"
if ! pg pg_restore --clean --if-exists --single-transaction --exit-on-error -d "$scratch" <"$dump" >&2; then
    drop_scratch
    die "pg_restore failed (above); nothing was changed"
fi

# ---- 4. check what was restored
# check_restored DB: compares DB with the dump; fills problems (empty: it
# matches) and heads ("stream=head ...").
check_restored() {
    local on=$1 got want extra row table stream head schema counts_sql
    problems=()
    heads=""
    counts_sql=$(awk '$1 == "table" { printf "%sSELECT %s, count(*) FROM %s\n", (n++ ? "UNION ALL " : ""), "'\''" $2 "'\''", $2 }' <<<"$expected")
    got=$(psql_in "$on" -F ' ' -c "$counts_sql" | sort) || problems+=("row counts could not be read")
    want=$(awk '$1 == "table" { print $2, $3 }' <<<"$expected" | sort)
    [ "$got" = "$want" ] || problems+=("row counts differ from the dump: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')")
    extra=$(psql_in "$on" -c "SELECT schemaname || '.' || tablename FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" | sort | comm -23 - <(awk '$1 == "table" { print $2 }' <<<"$expected" | sort))
    [ -z "$extra" ] || problems+=("tables not in the dump: $(tr '\n' ' ' <<<"$extra")")
    while read -r _ table stream head; do
        schema=${table%.stream_head}
        row=$(psql_in "$on" -F ' ' -v s="$stream" <<<"SELECT h.last_seq, count(l.seq), coalesce(max(l.seq), 0),
               coalesce(min(l.seq), 1)
              FROM $schema.stream_head h LEFT JOIN $schema.stream_log l ON l.stream = h.stream
             WHERE h.stream = :'s' GROUP BY h.last_seq") || row=
        # shellcheck disable=SC2086
        set -- $row
        if [ "${1:-}" != "$head" ]; then
            problems+=("stream $stream: head ${1:-missing}, the dump says $head")
        elif [ "$2" != "$head" ] || [ "$3" != "$head" ] || [ "$4" != 1 ]; then
            problems+=("stream $stream: head $head but log seq $4..$3 with $2 records")
        fi
        heads+="$stream=$head "
    done < <(grep '^head ' <<<"$expected")
    heads=${heads% }
    local p
    for p in "${problems[@]}"; do say "check of $on: $p"; done
    [ ${#problems[@]} -eq 0 ]
}
if ! check_restored "$scratch"; then
    drop_scratch
    die "the restored data does not match the dump; nothing was changed"
fi
say "checked: $ntables tables with the dump's row counts; stream heads ${heads:-(none)}, each log gap-free"

if [ "$verify_only" = 1 ]; then
    drop_scratch
    say "verify only: $dump restores completely; scratch database dropped, the stack untouched"
    exit 0
fi

# ---- 5. swap it in while the services are stopped, then start them
mapfile -t apps < <(compose config --services | grep -vx postgres)
say "stopping ${apps[*]}"
compose stop "${apps[@]}" >/dev/null 2>&1 || die "docker-compose stop failed; the database is unchanged (restore is in $scratch)"
old=${db}_before_restore_$(date -u +%Y%m%dT%H%M%S)
swap_sql="
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN (:'db', :'new') AND pid <> pg_backend_pid();
SELECT format('ALTER DATABASE %I RENAME TO %I', :'db', :'old') FROM pg_database WHERE datname = :'db' \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'new', :'db') \gexec
SELECT format('REVOKE CONNECT ON DATABASE %I FROM %I', :'old', r.rolname)
  FROM pg_roles r, pg_database d WHERE d.datname = :'old' AND r.rolname LIKE 'airguard\_%' \gexec"
psql_in postgres -v db="$db" -v new="$scratch" -v old="$old" >/dev/null <<<"$swap_sql" ||
    die "could not swap the databases (databases: $(psql_in postgres -c "SELECT string_agg(datname, ',') FROM pg_database")); services stopped"
bootstrap "$db" >/dev/null || die "bootstrap of the restored $db failed; services stopped"
# Once more on the database the services are about to use.
check_restored "$db" || die "$db does not hold what the dump holds; services stay stopped"
# A fresh stack's database holds nothing worth keeping.
old_tables=$(psql_in "$old" -c "SELECT count(*) FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" 2>/dev/null) || old_tables=unknown
if [ "$old_tables" = 0 ] && [ "$drop_old" = 0 ]; then
    psql_in postgres -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >/dev/null || say "could not drop $old"
    say "$db replaced; the previous database held no tables: dropped"
elif [ "$old_tables" = unknown ]; then
    say "$db restored (there was no previous database)"
elif [ "$drop_old" = 1 ]; then
    psql_in postgres -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >/dev/null || say "could not drop $old"
    say "$db replaced; the previous database dropped"
else
    say "$db replaced; the previous database kept as $old (drop it with: docker-compose exec postgres dropdb $old)"
fi
say "starting the services"
compose up -d >/dev/null 2>&1 || die "docker-compose up -d failed; $db holds the restored data"
for svc in "${apps[@]}"; do
    wait_until "$timeout_s" "$svc healthy" svc_ready "$svc" || die "$svc is not healthy; $db holds the restored data (docker-compose logs $svc)"
done
say "done: ${apps[*]} healthy on the restored data"
