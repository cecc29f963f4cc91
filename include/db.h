/* db.h - one service's PostgreSQL connection: connect with back-off,
 * reconnect after failures, tell "retry later" from "never", and bring the
 * service's own schema up to date with numbered migrations.
 *
 * Every service logs in with its own role and works in its own schema
 * (search_path is set to it on connect), so no service can touch another's
 * tables. synchronous_commit is forced on: an acknowledgement must never
 * precede durability.
 *
 * The server may go away at any time. db_conn() never blocks for long: it
 * returns NULL while the server is unreachable, trying again on a doubling
 * delay (100 ms .. 5 s). After any failed statement call db_failure() with
 * the result: it decides whether the failure is transient (connection lost,
 * server shutting down or starting, serialization/deadlock) and, if the
 * connection is broken, drops it so that the next db_conn() reconnects. */
#ifndef AIRGUARD_DB_H
#define AIRGUARD_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "err.h"

typedef struct db db_t;

/* One migration: version N brings the schema from N-1 to N. */
typedef struct migration {
    int version;      /* from the file name NNN_xxx.sql; 0 ends a list */
    const char *name; /* the file name, for the version table and logs */
    const char *sql;  /* the statements, run in one transaction */
} migration_t;

/* Declares the migration list tools/embed.c generates for a component
 * (services/<name>/sql, or common/sql for "stream"). */
#define DB_DECLARE_MIGRATIONS(component) extern const migration_t component##_migrations[]

DB_DECLARE_MIGRATIONS(stream);

/* What a failure means for the caller. */
typedef enum db_rc {
    DB_OK = 0,
    DB_TRANSIENT = -1, /* server unreachable / restarting: retry later, never dead-letter */
    DB_FAILED = -2, /* the data made the statement fail (SQLSTATE class 22, 23, P0): retrying will
                       not help */
} db_rc_t;

/* Connection settings: conninfo is a libpq URL or key=value string; user,
 * password and schema override/extend it (password may be NULL: libpq then
 * uses ~/.pgpass or trust). Strings are copied. Does not connect yet.
 * Returns NULL only if out of memory. */
db_t *db_new(const char *conninfo, const char *user, const char *password, const char *schema,
             const char *application_name);

/* How long a statement waits for a lock before it fails (SQLSTATE 55P03,
 * retried as transient), for connections made from now on. */
#define DB_LOCK_TIMEOUT_DEFAULT_MS 10000
void db_set_lock_timeout(db_t *db, int ms);

/* Closes the connection and frees; sets *self_p to NULL; safe twice. */
void db_destroy(db_t **self_p);

/* A live connection, connecting first if needed. NULL when the server cannot
 * be reached now (err says why; the next attempt waits for the back-off).
 * The PGconn stays owned by db. */
PGconn *db_conn(db_t *db, err_t *err);

/* Classifies a failed result (res may be NULL when libpq returned none) and
 * fills err with the server's message and SQLSTATE. Drops a broken
 * connection. Does not PQclear res. */
db_rc_t db_failure(db_t *db, const PGresult *res, err_t *err);

/* The policy behind db_failure(): 1 when a failure with this SQLSTATE (NULL:
 * none, a client-side failure) is about the server or its setup and so
 * worth retrying, 0 when the data made the statement fail (classes 22, 23,
 * P0) and retrying the same thing will not help. */
int db_sqlstate_is_transient(const char *state);

/* Runs a command without parameters and without result rows (DDL, SET
 * ...). Returns DB_OK or what db_failure() says. Transactions are opened
 * and ended only with db_tx_*(), never with a BEGIN string here. */
db_rc_t db_exec(db_t *db, const char *sql, err_t *err);

/* Runs one statement with parameters (text unless formats says binary;
 * lengths only for binary ones) on conn, results in binary format. On
 * success returns DB_OK and, when out is not NULL, the result in *out for
 * the caller to PQclear(); otherwise the result is cleared. On failure
 * returns what db_failure() says (nothing to clear). */
db_rc_t db_query(db_t *db, PGconn *conn, const char *sql, int n, const char *const *params,
                 const int *lengths, const int *formats, PGresult **out, err_t *err);

/* Transactions: the one way to open and end one, so that no failure path
 * can leave the connection "idle in transaction (aborted)", where every
 * later statement fails with SQLSTATE 25P02.
 *
 *   PGconn *conn;
 *   if (db_tx_begin(db, &conn, err) != DB_OK) goto out;   // nothing to undo
 *   ... statements on conn ...                            // any failure: goto out
 *   rc = db_tx_commit(db, err);                           // ends it either way
 * out:
 *   db_tx_rollback(db);                                   // no-op when ended
 *
 * db_tx_begin() returns DB_OK with a live connection in *conn, or
 * DB_TRANSIENT (database unreachable; err says why). db_tx_commit() returns
 * DB_OK only when the server answered that it committed; DB_FAILED when it
 * rolled back instead (a statement in the transaction had failed and the
 * caller went on regardless); DB_TRANSIENT when the connection broke, so the
 * outcome is unknown (reload whatever you cached). The transaction is over
 * after db_tx_commit() whatever it returns. db_tx_rollback() ends an open
 * transaction and is safe to call when none is open.
 *
 * While no transaction is open, db_conn() hands out only an idle
 * connection: one left inside a transaction is rolled back (or dropped if
 * that fails) first. While one is open, a connection lost under it is not
 * replaced until db_tx_rollback(): statements meant for the transaction
 * must never run autocommitted on a new connection. */
db_rc_t db_tx_begin(db_t *db, PGconn **conn, err_t *err);
db_rc_t db_tx_commit(db_t *db, err_t *err);
void db_tx_rollback(db_t *db);

/* 1 while a transaction opened with db_tx_begin() has not been ended. */
int db_in_tx(const db_t *db);

/* Counts the connections made so far: a change means the session (and
 * whatever it held, such as advisory locks) is new. 0 before the first. */
uint64_t db_generation(const db_t *db);

/* Applies, in one transaction under an advisory lock (several instances may
 * start at once), every migration of component (e.g. "stream", "intake")
 * whose version is above the component's current one, recording each in
 * <schema>.schema_version. Creates the schema if it does not exist and the
 * role may. Returns DB_OK, DB_TRANSIENT (try again) or DB_FAILED (a
 * migration is broken; err names it). */
db_rc_t db_migrate(db_t *db, const char *component, const migration_t *migrations, err_t *err);

/* The schema this connection works in. */
const char *db_schema(const db_t *db);

/* Reads a big-endian int64 from a binary-format result field. */
int64_t db_get_int64(const PGresult *res, int row, int col);

/* Big-endian encoders for binary parameters and binary arrays. */
void db_put_int64(unsigned char out[8], int64_t v);
void db_put_int32(unsigned char out[4], int32_t v);
void db_put_int16(unsigned char out[2], int16_t v);

#endif
