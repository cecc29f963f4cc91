#!/usr/bin/env bash
# roles.sh - each service's database role may touch only its own schema
# (architecture: one schema and one login role per service), as
# tools/db-bootstrap.sh sets them up for the five services:
#   1. as its own role, every service can create, read, write, alter and
#      drop in its own schema (so the refusals below are not a login or a
#      syntax failure in disguise); intake's schema holds its real tables
#      (intake runs its migrations as airguard_intake);
#   2. for every ordered pair of roles A != B, connected as A: every read,
#      write, DDL and create on schema B, its tables, sequence, function and
#      view, and SET ROLE to B, is refused with SQLSTATE 42501
#      (insufficient privilege);
#   3. nobody creates in public or makes temporary tables (a channel
#      between roles that would bypass the schemas);
#   4. afterwards, as superuser: no role holds any privilege on another's
#      schema or objects, every object in a schema belongs to its role,
#      and the rows are the ones the owner wrote.
# Connections are real logins as each role (the test cluster trusts its
# unix socket); psql's :SQLSTATE variable reports each statement's outcome.
set -uo pipefail
source "$(dirname "$0")/../lib/harness.sh"
ag_pg_start

ROLES=(intake dispatch cases attendance scoring)
ag_db_create ag_roles "${ROLES[@]}"

# as ROLE: runs psql as the login role airguard_ROLE on the test database,
# script on stdin, each statement on its own (no ON_ERROR_STOP); errors go
# to as.log, stdout is what the script \echoes.
# With AIRGUARD_TEST_ADMIN_URL over TCP, the URL's own user is dropped and
# the server must let the service roles in without a password.
as() {
    local url=$AG_DB_URL
    case $url in *"///"*) ;; *) url=$(printf '%s' "$url" | sed -E 's#^(postgres(ql)?://)[^@/]*@#\1#') ;; esac
    psql -X -q -tA -U "airguard_$1" -v VERBOSITY=terse "$url" 2>>"$AG_WORK/as.log"
}

# The intake schema as the service leaves it: start intake once (it
# migrates as airguard_intake), then stop it.
P=$AG_PORT
ag_intake_config "$AG_WORK/intake.yaml" "$P"
ag_start intake "$AG_BIN/airguard-intake" --config "$AG_WORK/intake.yaml"
ag_check "intake migrates its schema as airguard_intake" ag_wait_health "tcp://127.0.0.1:$P"
ag_check "intake stops cleanly" ag_stop intake
ag_check "intake's schema holds its tables" \
    test "$(ag_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'intake'")" -ge 4

# ---- 1. each role in its own schema: every statement succeeds
for r in "${ROLES[@]}"; do
    got=$(as "$r" <<SQL
SELECT current_user, current_schema;
CREATE TABLE t (x int);                                           \echo create-table :SQLSTATE
CREATE SEQUENCE s;                                                \echo create-sequence :SQLSTATE
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';       \echo create-function :SQLSTATE
CREATE VIEW v AS SELECT x FROM t;                                 \echo create-view :SQLSTATE
INSERT INTO $r.t VALUES (1), (2);                                 \echo insert :SQLSTATE
UPDATE $r.t SET x = x + 10;                                       \echo update :SQLSTATE
DELETE FROM $r.t WHERE x = 12;                                    \echo delete :SQLSTATE
SELECT count(*) FROM $r.v;                                        \echo select :SQLSTATE
SELECT nextval('$r.s');                                           \echo nextval :SQLSTATE
SELECT $r.f();                                                    \echo call :SQLSTATE
CREATE TABLE $r.scratch (y int);                                  \echo create-qualified :SQLSTATE
ALTER TABLE $r.scratch ADD COLUMN z int;                          \echo alter :SQLSTATE
TRUNCATE $r.scratch;                                              \echo truncate :SQLSTATE
DROP TABLE $r.scratch;                                            \echo drop :SQLSTATE
SQL
    )
    want="airguard_$r|$r"
    for op in create-table create-sequence create-function create-view insert update delete; do
        want+=$'\n'"$op 00000"
    done
    want+=$'\n1\nselect 00000\n1\nnextval 00000\n1\ncall 00000'
    for op in create-qualified alter truncate drop; do want+=$'\n'"$op 00000"; done
    ag_eq "$r: logs in as airguard_$r and works in its own schema" "$got" "$want"
done

# ---- 2. every other schema: every statement refused
# refusals_sql B: the statements another role tries on schema B, each
# followed by "\echo op :SQLSTATE".
refusals_sql() {
    local b=$1 tables t
    tables=$(ag_sql "SELECT tablename FROM pg_tables WHERE schemaname = '$b' ORDER BY 1")
    cat <<SQL
SELECT 1 FROM $b.t;                                               \echo select :SQLSTATE
SELECT * FROM $b.v;                                               \echo select-view :SQLSTATE
INSERT INTO $b.t VALUES (666);                                    \echo insert :SQLSTATE
UPDATE $b.t SET x = 666;                                          \echo update :SQLSTATE
DELETE FROM $b.t;                                                 \echo delete :SQLSTATE
TRUNCATE $b.t;                                                    \echo truncate :SQLSTATE
COPY $b.t TO STDOUT;                                              \echo copy-out :SQLSTATE
BEGIN; LOCK TABLE $b.t;                                           \echo lock :SQLSTATE
ROLLBACK;
SELECT nextval('$b.s');                                           \echo nextval :SQLSTATE
SELECT $b.f();                                                    \echo call :SQLSTATE
CREATE TABLE $b.intruder (x int);                                 \echo create-table :SQLSTATE
CREATE VIEW $b.intruder_v AS SELECT 1 AS x;                       \echo create-view :SQLSTATE
CREATE FUNCTION $b.intruder_f() RETURNS int LANGUAGE sql AS 'SELECT 1'; \echo create-function :SQLSTATE
CREATE SEQUENCE $b.intruder_s;                                    \echo create-sequence :SQLSTATE
ALTER TABLE $b.t ADD COLUMN intruder int;                         \echo alter-table :SQLSTATE
DROP TABLE $b.t;                                                  \echo drop-table :SQLSTATE
DROP FUNCTION $b.f();                                             \echo drop-function :SQLSTATE
ALTER SCHEMA $b RENAME TO intruder;                               \echo rename-schema :SQLSTATE
DROP SCHEMA $b CASCADE;                                           \echo drop-schema :SQLSTATE
SET ROLE airguard_$b;                                             \echo set-role :SQLSTATE
SQL
    # Every table the owner has, the service's real ones included.
    for t in $tables; do
        printf 'SELECT 1 FROM %s.%s LIMIT 1; \\echo select:%s :SQLSTATE\n' "$b" "$t" "$t"
        printf 'INSERT INTO %s.%s DEFAULT VALUES; \\echo insert:%s :SQLSTATE\n' "$b" "$t" "$t"
        printf 'DELETE FROM %s.%s; \\echo delete:%s :SQLSTATE\n' "$b" "$t" "$t"
    done
    # A schema without USAGE is skipped in the search path: the name does
    # not resolve (42P01) instead of being refused.
    printf 'SET search_path = %s; SELECT 1 FROM t; \\echo search-path :SQLSTATE\n' "$b"
}
pairs=0
for a in "${ROLES[@]}"; do
    for b in "${ROLES[@]}"; do
        [ "$a" = "$b" ] && continue
        pairs=$((pairs + 1))
        refusals_sql "$b" >"$AG_WORK/refuse-$b.sql"
        tried=$(grep -c '\\echo' "$AG_WORK/refuse-$b.sql")
        got=$(as "$a" <"$AG_WORK/refuse-$b.sql")
        # Every statement answered, each refused; name any that was not.
        allowed=$(grep -v -e ' 42501$' -e '^search-path 42P01$' <<<"$got" | tr '\n' ' ')
        ag_eq "airguard_$a on schema $b: all $tried statements refused" \
            "$(grep -c . <<<"$got") ${allowed% }" "$tried "
    done
done
ag_eq "ordered pairs of roles tried" "$pairs" 20

# ---- 3. no shared ground
for r in "${ROLES[@]}"; do
    ag_eq "$r: no table in public, no temporary table" "$(as "$r" <<'SQL'
CREATE TABLE public.drop_box (x int); \echo public :SQLSTATE
CREATE TEMP TABLE drop_box (x int);   \echo temp :SQLSTATE
SQL
    )" $'public 42501\ntemp 42501'
done

# ---- 4. the superuser's view afterwards
roles_list=$(printf "'airguard_%s'," "${ROLES[@]}")
roles_list=${roles_list%,}
ag_eq "no role holds a privilege on another's schema" "$(ag_sql "
    SELECT string_agg(r.rolname || ' on ' || n.nspname, ', ')
      FROM pg_roles r, pg_namespace n
     WHERE r.rolname IN ($roles_list) AND n.nspname IN ($(printf "'%s'," "${ROLES[@]}" | sed 's/,$//'))
       AND r.rolname <> 'airguard_' || n.nspname
       AND (has_schema_privilege(r.oid, n.oid, 'USAGE') OR has_schema_privilege(r.oid, n.oid, 'CREATE'))")" ""
ag_eq "no role holds a privilege on another's table or sequence" "$(ag_sql "
    SELECT string_agg(r.rolname || ' on ' || n.nspname || '.' || c.relname, ', ')
      FROM pg_roles r, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE r.rolname IN ($roles_list) AND c.relkind IN ('r', 'v', 'S', 'p')
       AND n.nspname IN ($(printf "'%s'," "${ROLES[@]}" | sed 's/,$//'))
       AND r.rolname <> 'airguard_' || n.nspname
       AND (has_table_privilege(r.oid, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
            OR (c.relkind = 'S' AND has_sequence_privilege(r.oid, c.oid, 'USAGE,SELECT,UPDATE')))")" ""
ag_eq "every object in a schema belongs to its service's role" "$(ag_sql "
    SELECT string_agg(n.nspname || '.' || c.relname || ' owned by ' || pg_get_userbyid(c.relowner), ', ')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ($(printf "'%s'," "${ROLES[@]}" | sed 's/,$//'))
       AND pg_get_userbyid(c.relowner) <> 'airguard_' || n.nspname")" ""
ag_eq "no intruder object was created" \
    "$(ag_sql "SELECT count(*) FROM pg_class WHERE relname LIKE 'intruder%' OR relname = 'drop_box'")" 0
for r in "${ROLES[@]}"; do
    ag_eq "$r: its rows are the ones it wrote" "$(ag_sql "SELECT string_agg(x::text, ',' ORDER BY x) FROM $r.t")" 11
done
ag_eq "no role is a member of another" "$(ag_sql "
    SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
     WHERE r.rolname IN ($roles_list)")" 0

ag_db_drop
ag_summary
