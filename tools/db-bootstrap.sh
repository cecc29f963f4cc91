#!/usr/bin/env bash
# db-bootstrap.sh - creates the airguard database, and for each service a
# login role airguard_<service> and a schema <service> owned by it, so that
# each service can touch only its own tables. Idempotent.
#
#   tools/db-bootstrap.sh ADMIN_URL DBNAME SERVICE...
#
# ADMIN_URL reaches the server as a superuser (any database). A role's
# password is taken from AIRGUARD_<SERVICE>_DB_PASSWORD when set (embedded
# clusters use local trust and need none).
set -euo pipefail
admin=${1:?usage: db-bootstrap.sh ADMIN_URL DBNAME SERVICE...}
dbname=${2:?usage: db-bootstrap.sh ADMIN_URL DBNAME SERVICE...}
shift 2

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

exists=$(psql_admin "$admin" -tA -v db="$dbname" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)
if [ "$exists" = 0 ]; then
    psql_admin "$admin" -v db="$dbname" <<'SQL'
SELECT format('CREATE DATABASE %I ENCODING ''UTF8'' TEMPLATE template0', :'db') \gexec
SQL
fi

# The same server, the new database.
case $admin in
*"///"*) db_url=$(printf '%s' "$admin" | sed -E "s#///[^?]*#///$dbname#") ;;
*) db_url=$(printf '%s' "$admin" | sed -E "s#(//[^/]*/)[^?]*#\\1$dbname#") ;;
esac

for svc in "$@"; do
    var=AIRGUARD_$(printf '%s' "$svc" | tr 'a-z' 'A-Z')_DB_PASSWORD
    password=${!var:-}
    psql_admin "$db_url" -v svc="$svc" -v role="airguard_$svc" -v db="$dbname" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') WHERE :'pw' <> '' \gexec
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'svc', :'role') \gexec
SELECT format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', :'role', :'db', :'svc') \gexec
SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', :'svc') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'role') \gexec
SQL
done
# Only the service roles (and superusers) may connect; nobody creates in public.
psql_admin "$db_url" -v db="$dbname" <<'SQL'
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
