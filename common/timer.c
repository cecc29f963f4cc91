/* timer.c - the SQL of persistent deadlines; see include/timer.h. */
#include "timer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

db_rc_t timer_set(db_t *db, PGconn *conn, const char *key, const char *kind, int64_t due_ms,
                  const char *payload, size_t payload_len, err_t *err)
{
    if (strlen(key) > TIMER_KEY_MAX || strlen(kind) > TIMER_KIND_MAX ||
        payload_len > TIMER_PAYLOAD_MAX) {
        err_set(err, "timer '%.40s': key, kind or payload too long", key);
        return DB_FAILED;
    }
    char due[24];
    snprintf(due, sizeof due, "%" PRId64, due_ms);
    const char *params[4] = {key, kind, due, payload ? payload : ""};
    const int lengths[4] = {0, 0, 0, (int)payload_len};
    const int formats[4] = {0, 0, 0, 1};
    return db_query(db, conn,
                    "INSERT INTO timer (key, kind, due_ms, payload) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (key) DO UPDATE SET kind = $2, due_ms = $3, payload = $4,"
                    " failures = 0, last_error = NULL",
                    4, params, lengths, formats, NULL, err);
}

db_rc_t timer_cancel(db_t *db, PGconn *conn, const char *key, err_t *err)
{
    const char *params[1] = {key};
    return db_query(db, conn, "DELETE FROM timer WHERE key = $1", 1, params, NULL, NULL, NULL, err);
}

/* The n arrays as parameters; DB_FAILED with err when one failed. */
static db_rc_t s_array_params(pgarray_t **arrays, int n, const char **values, int *lengths,
                              int *formats, err_t *err)
{
    for (int i = 0; i < n; i++)
        if (pgarray_param(arrays[i], &values[i], &lengths[i], &formats[i]) != 0) {
            err_set(err, "timers: %s", pgarray_failure(arrays[i]));
            return DB_FAILED;
        }
    return DB_OK;
}

db_rc_t timer_set_many(db_t *db, PGconn *conn, pgarray_t *keys, pgarray_t *kinds, pgarray_t *dues,
                       err_t *err)
{
    pgarray_t *arrays[3] = {keys, kinds, dues};
    const char *values[3];
    int lengths[3], formats[3];
    db_rc_t rc = s_array_params(arrays, 3, values, lengths, formats, err);
    if (rc != DB_OK)
        return rc;
    return db_query(
        db, conn,
        "INSERT INTO timer (key, kind, due_ms)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])"
        " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_ms = excluded.due_ms,"
        " payload = '', failures = 0, last_error = NULL",
        3, values, lengths, formats, NULL, err);
}

int timer_copy_add(pgarray_t *rows, const char *key, const char *kind, int64_t due_ms)
{
    pgarray_copy_row(rows, 3);
    pgarray_add_str(rows, key);
    pgarray_add_str(rows, kind);
    return pgarray_add_int_as(rows, PGARRAY_INT8, due_ms);
}

db_rc_t timer_copy_new(db_t *db, PGconn *conn, pgarray_t *rows, err_t *err)
{
    return pgarray_copy(rows, db, conn, "COPY timer (key, kind, due_ms) FROM STDIN (FORMAT binary)",
                        err);
}

db_rc_t timer_cancel_many(db_t *db, PGconn *conn, pgarray_t *keys, err_t *err)
{
    const char *values[1];
    int lengths[1], formats[1];
    db_rc_t rc = s_array_params(&keys, 1, values, lengths, formats, err);
    if (rc != DB_OK)
        return rc;
    return db_query(db, conn, "DELETE FROM timer WHERE key = ANY($1::text[])", 1, values, lengths,
                    formats, NULL, err);
}

db_rc_t timer_next_due(db_t *db, int64_t *next_due, err_t *err)
{
    PGconn *conn = db_conn(db, err);
    PGresult *res = NULL;
    if (!conn)
        return DB_TRANSIENT;
    db_rc_t rc =
        db_query(db, conn, "SELECT min(due_ms) FROM timer", 0, NULL, NULL, NULL, &res, err);
    if (rc == DB_OK) {
        *next_due = PQgetisnull(res, 0, 0) ? TIMER_NONE : db_get_int64(res, 0, 0);
        PQclear(res);
    }
    return rc;
}

db_rc_t timer_take_due(db_t *db, PGconn *conn, int64_t now_ms, int max, PGresult **res, err_t *err)
{
    char now[24], limit[16];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(limit, sizeof limit, "%d", max);
    const char *params[2] = {now, limit};
    return db_query(db, conn,
                    "DELETE FROM timer WHERE key IN (SELECT key FROM timer WHERE due_ms <= $1"
                    "   ORDER BY due_ms, key LIMIT $2 FOR UPDATE SKIP LOCKED)"
                    " RETURNING key, kind, due_ms, payload, failures::int8",
                    2, params, NULL, NULL, res, err);
}

void timer_row(const PGresult *res, int i, timer_row_t *out)
{
    snprintf(out->key, sizeof out->key, "%s", PQgetvalue(res, i, 0));
    snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(res, i, 1));
    out->due_ms = db_get_int64(res, i, 2);
    out->payload = PQgetvalue(res, i, 3);
    out->payload_len = (size_t)PQgetlength(res, i, 3);
    out->failures = (int)db_get_int64(res, i, 4);
}

db_rc_t timer_defer(db_t *db, const char *key, int64_t due_ms, int64_t delay_ms, const char *why,
                    err_t *err)
{
    PGconn *conn = db_conn(db, err);
    if (!conn)
        return DB_TRANSIENT;
    char due[24];
    snprintf(due, sizeof due, "%" PRId64, due_ms + delay_ms);
    const char *params[3] = {key, due, why};
    return db_query(db, conn,
                    "UPDATE timer SET due_ms = $2, failures = failures + 1, last_error = $3"
                    " WHERE key = $1",
                    3, params, NULL, NULL, NULL, err);
}
