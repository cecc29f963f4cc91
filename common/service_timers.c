/* service_timers.c - a service's deadlines: the service_timer_* calls by
 * which the domain sets and cancels timers inside its open transaction, and
 * the firing of those due on the service's clock, a batch per transaction
 * through the same hooks as a message (service_hooks.c), so a deadline is
 * applied exactly once like any input. A failing timer is found by firing
 * one per transaction, retried with back-off, and dead-lettered in the end. */
#include "service_internal.h"

#include <stdio.h>

#include "log.h"

#define FIRE_ROUNDS_MAX 20      /* firing transactions per turn, so sockets are served too */
#define FIRE_RETRY_BASE_MS 1000 /* a failing timer waits 1 s, 2 s, 4 s ... */
#define FIRE_BACKOFF_MS 1000    /* after the database was unreachable */

/* The open transaction's connection for a timer change (what: "timer K
 * set"), marking the timers changed; NULL with err outside a transaction. */
static PGconn *s_timer_conn(service_t *svc, const char *what, err_t *err)
{
    PGconn *conn = db_in_tx(svc->db) ? db_conn(svc->db, err) : NULL;
    if (!conn)
        err_set(err, "%s outside a transaction", what);
    else
        svc->timers_dirty = 1;
    return conn;
}

db_rc_t service_timer_set(service_t *svc, const char *key, const char *kind, int64_t due_ms,
                          const char *payload, size_t payload_len, err_t *err)
{
    char what[TIMER_KEY_MAX + 16];
    snprintf(what, sizeof what, "timer %s: set", key);
    PGconn *conn = s_timer_conn(svc, what, err);
    return conn ? timer_set(svc->db, conn, key, kind, due_ms, payload, payload_len, err)
                : DB_FAILED;
}

db_rc_t service_timer_cancel(service_t *svc, const char *key, err_t *err)
{
    char what[TIMER_KEY_MAX + 24];
    snprintf(what, sizeof what, "timer %s: cancelled", key);
    PGconn *conn = s_timer_conn(svc, what, err);
    return conn ? timer_cancel(svc->db, conn, key, err) : DB_FAILED;
}

db_rc_t service_timer_set_many(service_t *svc, pgarray_t *keys, pgarray_t *kinds, pgarray_t *dues,
                               err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: set", err);
    return conn ? timer_set_many(svc->db, conn, keys, kinds, dues, err) : DB_FAILED;
}

db_rc_t service_timer_copy_new(service_t *svc, pgarray_t *rows, err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: set", err);
    return conn ? timer_copy_new(svc->db, conn, rows, err) : DB_FAILED;
}

db_rc_t service_timer_cancel_many(service_t *svc, pgarray_t *keys, err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: cancelled", err);
    return conn ? timer_cancel_many(svc->db, conn, keys, err) : DB_FAILED;
}

/* Reads the earliest timer again; -1 (unknown) when the database says no. */
void service_timers_refresh_next_due(service_t *svc)
{
    err_t err;
    if (!svc->handlers.fire || timer_next_due(svc->db, &svc->next_due, &err) != DB_OK)
        svc->next_due = svc->handlers.fire ? -1 : TIMER_NONE;
}

/* In the open transaction: a timer that can never fire goes to the dead
 * letters (stream "timer:<key>", seq its due time), like a message. */
static db_rc_t s_timer_dead_letter(service_t *svc, PGconn *conn, const timer_row_t *t,
                                   const char *reason, err_t *err)
{
    char stream[TIMER_KEY_MAX + 8], due[24];
    snprintf(stream, sizeof stream, "timer:%s", t->key);
    snprintf(due, sizeof due, "%lld", (long long)t->due_ms);
    const char *params[6] = {svc->consumer_name, stream, due, t->kind, t->payload, reason};
    const int lengths[6] = {0, 0, 0, 0, (int)t->payload_len, 0};
    const int formats[6] = {0, 0, 0, 0, 1, 0};
    log_warn("timer dead-lettered", LF_STR("key", t->key), LF_STR("kind", t->kind),
             LF_STR("reason", reason));
    return db_query(svc->db, conn,
                    "INSERT INTO dead_letter (consumer, stream, seq, type, body, reason)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    6, params, lengths, formats, NULL, err);
}

/* How one firing transaction ended. */
typedef enum fire_status {
    FIRE_DONE,     /* committed */
    FIRE_SPLIT,    /* rolled back: fire one timer per transaction to find the bad one */
    FIRE_DEFERRED, /* rolled back: the one timer failed, and waits or is dead-lettered */
    FIRE_TRANSIENT /* rolled back: database unreachable */
} fire_status_t;

/* After a lone timer failed: dead-letter it (rejected) or push it back. */
static fire_status_t s_fire_failed(service_t *svc, const timer_row_t *t, consumer_apply_rc_t rc,
                                   const char *why, int64_t now)
{
    err_t err;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    if (rc == APPLY_FAILED && t->failures + 1 < CONSUMER_MAX_FAILURES) {
        int64_t delay = (int64_t)FIRE_RETRY_BASE_MS << t->failures;
        log_warn("timer failed, will retry", LF_STR("key", t->key), LF_STR("error", why),
                 LF_INT("retry_in_ms", delay));
        if (timer_defer(svc->db, t->key, now, delay, why, &err) != DB_OK)
            return FIRE_TRANSIENT;
        svc->next_due = -1;
        return FIRE_DEFERRED;
    }
    char reason[ERR_MSG_MAX];
    if (rc == APPLY_FAILED)
        snprintf(reason, sizeof reason, "failed %d times: %s", t->failures + 1, why);
    else
        snprintf(reason, sizeof reason, "%s", why);
    const char *key[1] = {t->key};
    if (db_tx_begin(svc->db, &conn, &err) != DB_OK)
        return FIRE_TRANSIENT;
    res = PQexecParams(conn, "DELETE FROM timer WHERE key = $1", 1, NULL, key, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
             s_timer_dead_letter(svc, conn, t, reason, &err) == DB_OK &&
             db_tx_commit(svc->db, &err) == DB_OK;
    PQclear(res);
    db_tx_rollback(svc->db);
    svc->next_due = -1;
    return ok ? FIRE_DEFERRED : FIRE_TRANSIENT;
}

/* One transaction: take up to max due timers, fire each, flush, commit. */
static fire_status_t s_fire_batch(service_t *svc, int64_t now, int max)
{
    err_t err, why;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    fire_status_t st = FIRE_TRANSIENT;
    timer_row_t t;
    if (db_tx_begin(svc->db, &conn, &err) != DB_OK)
        goto out;
    if (timer_take_due(svc->db, conn, now, max, &res, &err) != DB_OK)
        goto rollback;
    for (int i = 0; i < PQntuples(res); i++) {
        timer_row(res, i, &t);
        if (t.failures >= CONSUMER_MAX_FAILURES) {
            if (s_timer_dead_letter(svc, conn, &t, "failed too often", &err) != DB_OK)
                goto rollback;
            continue;
        }
        char origin[TIMER_KEY_MAX + 8];
        snprintf(origin, sizeof origin, "timer:%s", t.key);
        outbox_cause(svc->outbox, origin, t.due_ms);
        err_clear(&why);
        consumer_apply_rc_t rc = svc->handlers.fire(svc->handlers.arg, svc->db, conn, &t, &why);
        if (rc == APPLY_OK && PQtransactionStatus(conn) == PQTRANS_INERROR) {
            err_set(&why, "timer %s left the transaction aborted", t.kind);
            rc = APPLY_FAILED;
        }
        if (rc == APPLY_OK)
            continue;
        db_tx_rollback(svc->db);
        service_hooks_after(svc, 0);
        if (rc == APPLY_TRANSIENT) {
            err = why;
            goto out;
        }
        if (max > 1) {
            st = FIRE_SPLIT;
            goto out;
        }
        st = s_fire_failed(svc, &t, rc, why.msg, now);
        goto out;
    }
    db_rc_t frc = service_hooks_flush(svc, svc->db, conn, &err);
    if (frc == DB_FAILED) {
        db_tx_rollback(svc->db);
        service_hooks_after(svc, 0);
        if (max > 1) {
            st = FIRE_SPLIT;
        } else if (PQntuples(res) == 1) {
            timer_row(res, 0, &t);
            st = s_fire_failed(svc, &t, APPLY_FAILED, err.msg, now);
        }
        goto out;
    }
    if (frc != DB_OK || db_tx_commit(svc->db, &err) != DB_OK)
        goto rollback;
    svc->timers_dirty = 1; /* what fired is gone: read the next due again */
    service_hooks_after(svc, 1);
    st = FIRE_DONE;
    goto out;
rollback:
    db_tx_rollback(svc->db);
    service_hooks_after(svc, 0);
out:
    if (st == FIRE_TRANSIENT)
        log_warn("timers wait for the database", LF_STR("error", err.msg));
    PQclear(res);
    return st;
}

/* Fires what is due on the service's clock, a bounded number of
 * transactions per call (the loop comes back every SERVICE_FIRE_TICK_MS). */
void service_timers_fire_due(service_t *svc)
{
    int single = 0;
    if (!svc->handlers.fire || aclock_system_mono_ms() < svc->fire_retry_at)
        return;
    for (int round = 0; round < FIRE_ROUNDS_MAX; round++) {
        int64_t now = service_now_ms(svc);
        if (svc->next_due < 0)
            service_timers_refresh_next_due(svc);
        if (svc->next_due < 0) {
            svc->fire_retry_at = aclock_system_mono_ms() + FIRE_BACKOFF_MS;
            return;
        }
        if (svc->next_due > now)
            return;
        fire_status_t st = s_fire_batch(svc, now, single ? 1 : TIMER_BATCH_MAX);
        if (st == FIRE_TRANSIENT) {
            svc->next_due = -1;
            svc->fire_retry_at = aclock_system_mono_ms() + FIRE_BACKOFF_MS;
            return;
        }
        if (st == FIRE_SPLIT)
            single = 1;
    }
}

int service_timers_on_tick(loop_t *loop, void *arg)
{
    (void)loop;
    service_timers_fire_due(arg);
    return 0;
}
