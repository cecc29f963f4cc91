/* db.c - connection with back-off, failure classification and migrations;
 * see include/db.h. */
#include "db.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 5000
#define DB_CONNECT_TIMEOUT_MS 5000 /* give up on an attempt after this */
#define DB_CONNECT_STEP_MS 200     /* longest one call waits for the handshake */

struct db {
    char *conninfo;              /* URL or key=value string given by the operator */
    char *user;                  /* login role; NULL keeps the conninfo's */
    char *password;              /* NULL keeps the conninfo's / .pgpass */
    char *schema;                /* the service's schema, set as search_path */
    char *application_name;      /* shows in pg_stat_activity */
    PGconn *conn;                /* live connection, one being made, or NULL */
    int connecting;              /* conn is still in its handshake */
    int64_t connect_deadline_ms; /* monotonic time the handshake must end by */
    int64_t next_try_ms;         /* monotonic time before which we do not reconnect */
    int64_t backoff_ms;          /* current reconnect delay */
    int was_up;                  /* to log "lost" once, not at every retry */
    int in_tx;                   /* db_tx_begin() opened one not yet ended */
    int tx_lost;                 /* the connection broke under the open transaction */
    uint64_t generation;         /* connections made so far */
    char lock_timeout[24];       /* session lock_timeout, e.g. "10000ms" */
};

static char *s_strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

db_t *db_new(const char *conninfo, const char *user, const char *password, const char *schema,
             const char *application_name)
{
    db_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->conninfo = strdup(conninfo ? conninfo : "");
    self->user = s_strdup_or_null(user);
    self->password = s_strdup_or_null(password);
    self->schema = strdup(schema ? schema : "public");
    self->application_name = strdup(application_name ? application_name : "airguard");
    self->backoff_ms = DB_BACKOFF_MIN_MS;
    snprintf(self->lock_timeout, sizeof self->lock_timeout, "%dms", DB_LOCK_TIMEOUT_DEFAULT_MS);
    if (!self->conninfo || !self->schema || !self->application_name || (user && !self->user) ||
        (password && !self->password))
        db_destroy(&self);
    return self;
}

void db_destroy(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    free(self->conninfo);
    free(self->user);
    if (self->password) /* a secret: cleared in a way the compiler keeps */
        explicit_bzero(self->password, strlen(self->password));
    free(self->password);
    free(self->schema);
    free(self->application_name);
    free(self);
    *self_p = NULL;
}

void db_set_lock_timeout(db_t *db, int ms)
{
    snprintf(db->lock_timeout, sizeof db->lock_timeout, "%dms", ms);
}

const char *db_schema(const db_t *db)
{
    return db->schema;
}

static void s_drop(db_t *self)
{
    if (self->in_tx)
        self->tx_lost = 1;
    if (self->conn) {
        PQfinish(self->conn);
        self->conn = NULL;
    }
    self->connecting = 0;
    self->next_try_ms = aclock_system_mono_ms() + self->backoff_ms;
    self->backoff_ms =
        self->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : self->backoff_ms * 2;
}

/* Server notices ("relation already exists, skipping") are not errors;
 * they go to the debug log instead of raw stderr. */
static void s_on_notice(void *arg, const char *message)
{
    (void)arg;
    char text[300];
    snprintf(text, sizeof text, "%s", message);
    text[strcspn(text, "\n")] = '\0';
    log_debug("database notice", LF_STR("notice", text));
}

/* Session settings every connection needs before it does any work. */
static int s_prepare_session(db_t *self, err_t *err)
{
    const char *params[2] = {self->schema, self->lock_timeout};
    PGresult *res = PQexecParams(self->conn,
                                 "SELECT set_config('search_path', $1, false),"
                                 " set_config('synchronous_commit', 'on', false),"
                                 " set_config('TimeZone', 'UTC', false),"
                                 " set_config('statement_timeout', '60s', false),"
                                 " set_config('lock_timeout', $2, false)",
                                 2, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        err_set(err, "database session setup failed: %s", PQerrorMessage(self->conn));
    PQclear(res);
    return rc;
}

/* Gives up on a connection attempt: says why, and backs off. */
static PGconn *s_connect_failed(db_t *db, const char *why, err_t *err)
{
    char text[300];
    snprintf(text, sizeof text, "%s", why);
    text[strcspn(text, "\n")] = '\0';
    err_set(err, "cannot connect to database: %s", text);
    if (db->was_up)
        log_warn("database connection lost", LF_STR("error", text));
    db->was_up = 0;
    s_drop(db);
    return NULL;
}

/* Starts a connection without waiting for it (PQconnectStartParams). */
static int s_connect_start(db_t *db)
{
    const char *keys[12], *vals[12];
    int n = 0;
    keys[n] = "dbname", vals[n++] = db->conninfo;
    /* A server host that vanishes mid-query must not hang the service for
     * the kernel's two hours: probe idle TCP connections and give up on
     * unacknowledged data after 30 s (no effect on unix sockets). */
    keys[n] = "keepalives_idle", vals[n++] = "10";
    keys[n] = "keepalives_interval", vals[n++] = "5";
    keys[n] = "keepalives_count", vals[n++] = "3";
    keys[n] = "tcp_user_timeout", vals[n++] = "30000";
    keys[n] = "application_name", vals[n++] = db->application_name;
    if (db->user)
        keys[n] = "user", vals[n++] = db->user;
    if (db->password)
        keys[n] = "password", vals[n++] = db->password;
    keys[n] = NULL, vals[n] = NULL;
    db->conn = PQconnectStartParams(keys, vals, 1);
    db->connecting = 1;
    db->connect_deadline_ms = aclock_system_mono_ms() + DB_CONNECT_TIMEOUT_MS;
    return db->conn && PQstatus(db->conn) != CONNECTION_BAD ? 0 : -1;
}

/* Drives the handshake for at most DB_CONNECT_STEP_MS, so that a server
 * that does not answer (a vanished host) never stalls the event loop for
 * long: returns 1 when connected, 0 while still connecting, -1 on failure. */
static int s_connect_step(db_t *db)
{
    int64_t until = aclock_system_mono_ms() + DB_CONNECT_STEP_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING; /* as PQconnectStart leaves it */
    for (;;) {
        if (st == PGRES_POLLING_OK)
            return 1;
        if (st == PGRES_POLLING_FAILED)
            return -1;
        int64_t now = aclock_system_mono_ms();
        if (now >= db->connect_deadline_ms)
            return -1;
        if (now >= until)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(db->conn),
                             .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (pfd.fd < 0)
            return -1;
        if (poll(&pfd, 1, (int)(until - now)) == 0)
            return 0;
        st = PQconnectPoll(db->conn);
    }
}

/* A connection taken outside a transaction must be idle: one left inside a
 * transaction (a failure path that forgot to end it, a cancelled COMMIT) is
 * rolled back, and dropped if even that fails. Returns 1 when idle now. */
static int s_make_idle(db_t *db)
{
    PGTransactionStatusType st = PQtransactionStatus(db->conn);
    if (st == PQTRANS_IDLE)
        return 1;
    log_warn("database connection was left inside a transaction; rolling it back",
             LF_STR("state", st == PQTRANS_INERROR ? "aborted" : "open"));
    if (st == PQTRANS_INTRANS || st == PQTRANS_INERROR) {
        PGresult *res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
        if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
            return 1;
    }
    PQfinish(db->conn);
    db->conn = NULL;
    db->connecting = 0;
    return 0;
}

PGconn *db_conn(db_t *db, err_t *err)
{
    if (db->in_tx && (db->tx_lost || !db->conn)) {
        err_set(err, "the connection was lost inside a transaction");
        return NULL;
    }
    if (db->conn && !db->connecting && PQstatus(db->conn) == CONNECTION_OK &&
        (db->in_tx || s_make_idle(db)))
        return db->conn;
    if (db->conn && !db->connecting)
        s_drop(db);
    if (!db->conn) {
        if (aclock_system_mono_ms() < db->next_try_ms) {
            err_set(err, "database unavailable, next attempt in %lld ms",
                    (long long)(db->next_try_ms - aclock_system_mono_ms()));
            return NULL;
        }
        if (s_connect_start(db) != 0)
            return s_connect_failed(db, db->conn ? PQerrorMessage(db->conn) : "out of memory", err);
    }
    int step = s_connect_step(db);
    if (step < 0)
        return s_connect_failed(db,
                                aclock_system_mono_ms() >= db->connect_deadline_ms
                                    ? "no answer within the connect timeout"
                                    : PQerrorMessage(db->conn),
                                err);
    if (step == 0) {
        err_set(err, "database connection in progress");
        return NULL;
    }
    db->connecting = 0;
    PQsetNoticeProcessor(db->conn, s_on_notice, NULL);
    if (s_prepare_session(db, err) != 0) {
        s_drop(db);
        return NULL;
    }
    db->backoff_ms = DB_BACKOFF_MIN_MS;
    db->next_try_ms = 0;
    db->generation++;
    if (!db->was_up)
        log_info("database connected", LF_STR("schema", db->schema));
    db->was_up = 1;
    return db->conn;
}

/* Only errors that the data itself can cause mean "retrying this will not
 * help": data exceptions (22: bad value, division by zero ...), integrity
 * violations (23: unique, foreign key, check) and errors raised on purpose
 * (P0). Everything else is about the server or its setup, not the message
 * (connection lost, shutdown, timeouts, read-only standby, missing grants,
 * out of disk), so it is retried, never dead-lettered: a wrong grant must
 * not send a whole backlog to the dead letters. */
int db_sqlstate_is_transient(const char *state)
{
    if (!state)
        return 1;
    return !(strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
             strncmp(state, "P0", 2) == 0);
}

db_rc_t db_failure(db_t *db, const PGresult *res, err_t *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = db->conn ? PQerrorMessage(db->conn) : "no connection";
    char text[400];
    snprintf(text, sizeof text, "%s", msg);
    text[strcspn(text, "\n")] = '\0';
    err_set(err, "%s%s%s", text, state ? " SQLSTATE " : "", state ? state : "");
    int broken = !db->conn || PQstatus(db->conn) != CONNECTION_OK;
    if (broken) {
        if (db->was_up)
            log_warn("database connection lost", LF_STR("error", text));
        db->was_up = 0;
        db->backoff_ms = DB_BACKOFF_MIN_MS;
        s_drop(db);
    }
    return broken || db_sqlstate_is_transient(state) ? DB_TRANSIENT : DB_FAILED;
}

/* 1 when sql opens or ends a transaction: only db_tx_*() may. */
static int s_is_tx_control(const char *sql)
{
    static const char *const words[] = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"};
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(sql, words[i], n) == 0 &&
            (sql[n] == '\0' || sql[n] == ' ' || sql[n] == ';'))
            return 1;
    }
    return 0;
}

db_rc_t db_exec(db_t *db, const char *sql, err_t *err)
{
    if (s_is_tx_control(sql)) {
        err_set(err, "'%.20s' through db_exec: transactions go through db_tx_begin/commit/rollback",
                sql);
        return DB_FAILED;
    }
    PGconn *conn = db_conn(db, err);
    if (!conn)
        return DB_TRANSIENT;
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    db_rc_t rc =
        (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? DB_OK : db_failure(db, res, err);
    PQclear(res);
    return rc;
}

db_rc_t db_query(db_t *db, PGconn *conn, const char *sql, int n, const char *const *params,
                 const int *lengths, const int *formats, PGresult **out, err_t *err)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, lengths, formats, 1);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return DB_OK;
    }
    db_rc_t rc = db_failure(db, res, err);
    PQclear(res);
    return rc;
}

db_rc_t db_tx_begin(db_t *db, PGconn **conn, err_t *err)
{
    if (db->in_tx) {
        /* A programming error: nested transactions are not supported. */
        err_set(err, "a transaction is already open on this connection");
        return DB_FAILED;
    }
    PGconn *c = db_conn(db, err);
    if (!c)
        return DB_TRANSIENT;
    PGresult *res = PQexec(c, "BEGIN");
    db_rc_t rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : db_failure(db, res, err);
    PQclear(res);
    if (rc != DB_OK)
        return rc == DB_FAILED ? DB_TRANSIENT : rc; /* BEGIN never fails on the data */
    db->in_tx = 1;
    db->tx_lost = 0;
    *conn = c;
    return DB_OK;
}

db_rc_t db_tx_commit(db_t *db, err_t *err)
{
    db_rc_t rc = DB_TRANSIENT;
    PGresult *res = NULL;
    if (!db->in_tx) {
        err_set(err, "commit without an open transaction");
        return DB_FAILED;
    }
    if (db->tx_lost || !db->conn) {
        err_set(err, "the connection was lost inside the transaction; nothing was committed");
        goto out;
    }
    res = PQexec(db->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        /* Lost connection: the server may or may not have committed. */
        db_failure(db, res, err);
        rc = DB_TRANSIENT;
        goto out;
    }
    /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        err_set(err, "the server rolled the transaction back instead of committing"
                     " (a statement in it had failed)");
        rc = DB_FAILED;
        goto out;
    }
    rc = DB_OK;
out:
    PQclear(res);
    db->in_tx = 0;
    db->tx_lost = 0;
    return rc;
}

void db_tx_rollback(db_t *db)
{
    if (!db->in_tx)
        return;
    db->in_tx = 0;
    db->tx_lost = 0;
    if (db->conn && !db->connecting && PQstatus(db->conn) == CONNECTION_OK)
        s_make_idle(db);
}

int db_in_tx(const db_t *db)
{
    return db->in_tx;
}

uint64_t db_generation(const db_t *db)
{
    return db->generation;
}

/* Runs one parameterised statement that must succeed; rows are discarded. */
static db_rc_t s_exec_params(db_t *db, const char *sql, int n, const char *const *params,
                             err_t *err)
{
    PGresult *res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    db_rc_t rc =
        (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? DB_OK : db_failure(db, res, err);
    PQclear(res);
    return rc;
}

db_rc_t db_migrate(db_t *db, const char *component, const migration_t *migrations, err_t *err)
{
    db_rc_t rc = DB_TRANSIENT;
    PGresult *res = NULL;
    const char *schema_param[1] = {db->schema};
    PGconn *conn = NULL;

    if ((rc = db_tx_begin(db, &conn, err)) != DB_OK)
        goto out;
    /* A migration may take longer than the session's statement timeout. */
    if ((rc = db_exec(db, "SET LOCAL statement_timeout = 0", err)) != DB_OK)
        goto out;
    /* Serialise concurrent starters of the same service. */
    rc = s_exec_params(db, "SELECT pg_advisory_xact_lock(hashtext('airguard.migrate.' || $1))", 1,
                       schema_param, err);
    if (rc != DB_OK)
        goto out;
    res = PQexecParams(conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, NULL, schema_param,
                       NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(db, res, err);
        goto out;
    }
    if (PQntuples(res) == 0) {
        char *ident = PQescapeIdentifier(conn, db->schema, strlen(db->schema));
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", ident ? ident : "\"\"");
        PQfreemem(ident);
        if ((rc = db_exec(db, sql, err)) != DB_OK)
            goto out;
    }
    PQclear(res);
    res = NULL;
    rc = db_exec(db,
                 "CREATE TABLE IF NOT EXISTS schema_version ("
                 " component text NOT NULL,"
                 " version integer NOT NULL,"
                 " name text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now(),"
                 " PRIMARY KEY (component, version))",
                 err);
    if (rc != DB_OK)
        goto out;
    const char *component_param[1] = {component};
    res = PQexecParams(conn,
                       "SELECT coalesce(max(version), 0) FROM schema_version WHERE component = $1",
                       1, NULL, component_param, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(db, res, err);
        goto out;
    }
    int current = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    for (const migration_t *m = migrations; m && m->version; m++) {
        if (m->version <= current)
            continue;
        res = PQexec(conn, m->sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            /* Broken SQL is not "try later", unless the server went away. */
            rc = db_failure(db, res, err) == DB_TRANSIENT && !db->conn ? DB_TRANSIENT : DB_FAILED;
            char why[ERR_MSG_MAX];
            memcpy(why, err->msg, sizeof why);
            err_set(err, "migration %s failed: %.400s", m->name, why);
            goto out;
        }
        PQclear(res);
        res = NULL;
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[3] = {component, version, m->name};
        rc = s_exec_params(
            db, "INSERT INTO schema_version (component, version, name) VALUES ($1, $2, $3)", 3,
            params, err);
        if (rc != DB_OK)
            goto out;
        log_info("migration applied", LF_STR("schema", db->schema), LF_STR("name", m->name));
    }
    rc = db_tx_commit(db, err);
out:
    PQclear(res);
    db_tx_rollback(db);
    return rc;
}

int64_t db_get_int64(const PGresult *res, int row, int col)
{
    if (PQgetlength(res, row, col) != 8)
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

void db_put_int64(unsigned char out[8], int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        out[i] = (unsigned char)(u & 0xff);
}

void db_put_int32(unsigned char out[4], int32_t v)
{
    uint32_t u = (uint32_t)v;
    for (int i = 3; i >= 0; i--, u >>= 8)
        out[i] = (unsigned char)(u & 0xff);
}

void db_put_int16(unsigned char out[2], int16_t v)
{
    uint16_t u = (uint16_t)v;
    out[0] = (unsigned char)(u >> 8);
    out[1] = (unsigned char)(u & 0xff);
}
