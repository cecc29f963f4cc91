/* consumer_txn.c - the consumer's side of the database: the stored offset
 * and stream identity of each followed stream, halting a recreated stream,
 * back-off while the database is unreachable, and the apply transaction
 * (offset locked, records applied, failures counted or dead-lettered,
 * offset stored, one commit) that makes each message count exactly once. */
#include "consumer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* The database is unreachable: back off, and replay from the stored offset
 * when it is back (the in-memory batch is abandoned, never dead-lettered). */
void consumer_txn_backoff(consumer_t *c, const char *why)
{
    log_warn("consumer backing off", LF_STR("consumer", c->name), LF_STR("error", why),
             LF_INT("retry_ms", c->retry_delay));
    c->retry_at = aclock_system_mono_ms() + c->retry_delay;
    c->retry_delay =
        c->retry_delay * 2 > CONSUMER_RETRY_MAX_MS ? CONSUMER_RETRY_MAX_MS : c->retry_delay * 2;
    for (size_t i = 0; i < c->nsources; i++) {
        c->sources[i].need_replay = 1;
        c->sources[i].offset_loaded = 0;
    }
}

int consumer_txn_db_ready(const consumer_t *c)
{
    return aclock_system_mono_ms() >= c->retry_at;
}

/* Ends the open transaction without effect and tells the hooks. */
static void s_rollback(consumer_t *c)
{
    db_tx_rollback(c->db);
    if (c->hooks.on_commit)
        c->hooks.on_commit(c->hooks.arg, 0);
}

/* Creates the offset row if missing and reads it into src->applied. */
db_rc_t consumer_txn_load_offset(consumer_t *c, source_t *src, err_t *err)
{
    PGconn *conn = db_conn(c->db, err);
    if (!conn)
        return DB_TRANSIENT;
    const char *params[2] = {c->name, src->stream};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO stream_offset (consumer, stream) VALUES ($1, $2)"
                                 " ON CONFLICT (consumer, stream)"
                                 " DO UPDATE SET applied = stream_offset.applied"
                                 " RETURNING applied, coalesce(stream_id::text, ''), halted",
                                 2, NULL, params, NULL, NULL, 1);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = db_failure(c->db, res, err);
    else {
        src->applied = db_get_int64(res, 0, 0);
        snprintf(src->stream_id, sizeof src->stream_id, "%.*s", PQgetlength(res, 0, 1),
                 PQgetvalue(res, 0, 1));
        src->halted = !PQgetisnull(res, 0, 2);
        src->offset_loaded = 1;
    }
    PQclear(res);
    return rc;
}

/* Stops following src for good (until an operator resets it): the stream
 * under its name is not the one our offset belongs to. */
void consumer_txn_halt(consumer_t *c, source_t *src, const char *heard)
{
    err_t err;
    char reason[256];
    snprintf(reason, sizeof reason,
             "stream identity changed from %s to %s: the stream was recreated; applied %lld of"
             " the old stream",
             src->stream_id, heard, (long long)src->applied);
    const char *params[3] = {c->name, src->stream, reason};
    PGconn *conn = db_conn(c->db, &err);
    PGresult *res = conn ? PQexecParams(conn,
                                        "UPDATE stream_offset SET halted = $3, updated_at = now()"
                                        " WHERE consumer = $1 AND stream = $2",
                                        3, NULL, params, NULL, NULL, 0)
                         : NULL;
    PQclear(res);
    src->halted = 1;
    src->need_replay = 0;
    log_error("stopped following a recreated stream; nothing more is applied from it until an"
              " operator runs 'airguard reset-stream'",
              LF_STR("consumer", c->name), LF_STR("stream", src->stream), LF_STR("reason", reason));
}

/* Checks what the producer says the stream's identity is against the one
 * our offset belongs to, adopting it when we have none yet (a new consumer,
 * or one reset by an operator). Returns 1 when src may be applied from. */
int consumer_txn_identity_ok(consumer_t *c, source_t *src, const char *heard)
{
    if (src->halted || !src->offset_loaded)
        return 0;
    if (src->stream_id[0])
        goto compare;
    err_t err;
    PGconn *conn = db_conn(c->db, &err);
    if (!conn) {
        consumer_txn_backoff(c, err.msg);
        return 0;
    }
    const char *params[3] = {c->name, src->stream, heard};
    /* A twin may have adopted one first: the stored value wins. */
    PGresult *res =
        PQexecParams(conn,
                     "UPDATE stream_offset SET stream_id = coalesce(stream_id, $3::uuid)"
                     " WHERE consumer = $1 AND stream = $2 RETURNING stream_id::text",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        db_failure(c->db, res, &err);
        PQclear(res);
        consumer_txn_backoff(c, err.msg);
        return 0;
    }
    snprintf(src->stream_id, sizeof src->stream_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    log_info("following stream identity", LF_STR("stream", src->stream),
             LF_STR("stream_id", src->stream_id));
compare:
    if (strcmp(src->stream_id, heard) == 0)
        return 1;
    consumer_txn_halt(c, src, heard);
    return 0;
}

static db_rc_t s_dead_letter(consumer_t *c, PGconn *conn, const source_t *src,
                             const stream_record_t *rec, const char *reason, err_t *err)
{
    char seq[24], id[64], type[64];
    snprintf(seq, sizeof seq, "%" PRId64, rec->seq);
    snprintf(id, sizeof id, "%.*s", (int)(rec->id_len < 63 ? rec->id_len : 63), rec->id);
    snprintf(type, sizeof type, "%.*s", (int)(rec->type_len < 63 ? rec->type_len : 63), rec->type);
    const char *params[7] = {c->name, src->stream, seq, id, type, rec->msg, reason};
    int lengths[7] = {0, 0, 0, 0, 0, (int)rec->msg_len, 0};
    int formats[7] = {0, 0, 0, 0, 0, 1, 0};
    log_warn("message dead-lettered", LF_STR("consumer", c->name), LF_STR("stream", src->stream),
             LF_INT("seq", rec->seq), LF_STR("type", type), LF_STR("reason", reason));
    return db_query(c->db, conn,
                    "INSERT INTO dead_letter (consumer, stream, seq, msg_id, type, body, reason)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    7, params, lengths, formats, NULL, err);
}

/* Counts one more failure of rec, in the open transaction; returns the count
 * through *failures. */
static db_rc_t s_count_failure(consumer_t *c, PGconn *conn, const source_t *src,
                               const stream_record_t *rec, const char *reason, int *failures,
                               err_t *err)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, rec->seq);
    const char *params[4] = {c->name, src->stream, seq, reason};
    PGresult *res = NULL;
    db_rc_t rc =
        db_query(c->db, conn,
                 "INSERT INTO stream_failure (consumer, stream, seq, failures, last_error)"
                 " VALUES ($1, $2, $3, 1, $4) ON CONFLICT (consumer, stream, seq) DO UPDATE"
                 " SET failures = stream_failure.failures + 1, last_error = $4,"
                 " updated_at = now() RETURNING failures::int8",
                 4, params, NULL, NULL, &res, err);
    if (rc == DB_OK) {
        *failures = (int)db_get_int64(res, 0, 0);
        PQclear(res);
    }
    return rc;
}

/* How one transaction over a run of records ended. */
typedef enum txn_status {
    TXN_COMMITTED, /* everything it could take is committed */
    TXN_PROBLEM,   /* rolled back: record at o->bad needs special handling */
    TXN_TRANSIENT, /* rolled back: database unreachable */
    TXN_HOLD,      /* committed up to a failing record that must wait */
} txn_status_t;

typedef struct txn_outcome {
    size_t bad;                 /* index of the problem record */
    consumer_apply_rc_t bad_rc; /* APPLY_REJECT or APPLY_FAILED */
    err_t why;                  /* its reason */
} txn_outcome_t;

/* One transaction: lock the offset, apply recs[0..n) that follow it,
 * dead-letter or count the record `special` (if >= 0) as o says, flush what
 * the applies buffered, store the new offset, commit. A flush that fails on
 * the data is reported as TXN_PROBLEM with o->bad = n (no single record
 * known to be at fault). */
static txn_status_t s_txn(consumer_t *c, source_t *src, const stream_record_t *recs, size_t n,
                          long special, txn_outcome_t *o)
{
    err_t err;
    PGresult *res = NULL;
    PGconn *conn = NULL;
    int hold = 0;
    if (db_tx_begin(c->db, &conn, &err) != DB_OK) {
        err_set(&o->why, "%s", err.msg);
        return TXN_TRANSIENT;
    }
    const char *key[2] = {c->name, src->stream};
    if (db_query(c->db, conn,
                 "SELECT applied FROM stream_offset WHERE consumer = $1 AND stream = $2 FOR UPDATE",
                 2, key, NULL, NULL, &res, &err) != DB_OK)
        goto transient;
    if (PQntuples(res) != 1) {
        PQclear(res);
        err_set(&err, "offset row of %s vanished", src->stream);
        goto transient;
    }
    int64_t applied = db_get_int64(res, 0, 0);
    PQclear(res);
    res = NULL;

    for (size_t j = 0; j < n; j++) {
        const stream_record_t *rec = &recs[j];
        if (rec->seq <= applied)
            continue; /* already applied: by us before a crash, or a twin */
        if (rec->seq != applied + 1)
            break; /* a hole: what follows waits for a replay */
        if ((long)j == special) {
            if (o->bad_rc == APPLY_FAILED) {
                int failures = 0;
                if (s_count_failure(c, conn, src, rec, o->why.msg, &failures, &err) != DB_OK)
                    goto transient;
                if (failures < CONSUMER_MAX_FAILURES) {
                    /* Wait longer after each failure (1 s, 2 s, 4 s ...), so a
                     * passing condition has time to pass before the message
                     * is given up. */
                    hold = failures;
                    break;
                }
                char reason[ERR_MSG_MAX];
                snprintf(reason, sizeof reason, "failed %d times: %s", failures, o->why.msg);
                if (s_dead_letter(c, conn, src, rec, reason, &err) != DB_OK)
                    goto transient;
            } else if (s_dead_letter(c, conn, src, rec, o->why.msg, &err) != DB_OK) {
                goto transient;
            }
            applied = rec->seq;
            continue;
        }
        consumer_apply_rc_t rc = APPLY_REJECT;
        err_t why;
        err_clear(&why);
        if (envelope_decode(&c->env, rec->msg, rec->msg_len, &why) == ENVELOPE_OK)
            rc = c->hooks.apply(c->hooks.arg, c->db, conn, src->stream, rec, &c->env, &why);
        if (rc == APPLY_OK && PQtransactionStatus(conn) == PQTRANS_INERROR) {
            /* The apply function swallowed a failed statement. */
            err_set(&why, "apply of a %s left the transaction aborted", c->env.type);
            rc = APPLY_FAILED;
        }
        if (rc == APPLY_OK) {
            applied = rec->seq;
            continue;
        }
        s_rollback(c);
        o->why = why;
        if (rc == APPLY_TRANSIENT)
            return TXN_TRANSIENT;
        o->bad = j;
        o->bad_rc = rc;
        return TXN_PROBLEM;
    }

    if (c->hooks.flush) {
        db_rc_t frc = c->hooks.flush(c->hooks.arg, c->db, conn, &err);
        if (frc == DB_FAILED) {
            s_rollback(c);
            o->why = err;
            o->bad = n;
            o->bad_rc = APPLY_FAILED;
            return TXN_PROBLEM;
        }
        if (frc != DB_OK)
            goto transient;
    }
    char applied_text[24];
    snprintf(applied_text, sizeof applied_text, "%" PRId64, applied);
    const char *upd[3] = {c->name, src->stream, applied_text};
    if (db_query(c->db, conn,
                 "UPDATE stream_offset SET applied = $3, updated_at = now()"
                 " WHERE consumer = $1 AND stream = $2",
                 3, upd, NULL, NULL, NULL, &err) != DB_OK)
        goto transient;
    db_rc_t crc = db_tx_commit(c->db, &err);
    if (crc != DB_OK) {
        if (c->hooks.on_commit)
            c->hooks.on_commit(c->hooks.arg, 0);
        err_set(&o->why, "%s", err.msg);
        return TXN_TRANSIENT; /* outcome unknown: the stored offset decides */
    }
    src->applied = applied;
    if (applied > src->head)
        src->head = applied;
    c->retry_delay = CONSUMER_RETRY_MIN_MS;
    if (hold)
        src->hold_until = aclock_system_mono_ms() + ((int64_t)CONSUMER_HOLD_BASE_MS << (hold - 1));
    if (c->hooks.on_commit)
        c->hooks.on_commit(c->hooks.arg, 1);
    return hold ? TXN_HOLD : TXN_COMMITTED;

transient:
    err_set(&o->why, "%s", err.msg);
    s_rollback(c);
    return TXN_TRANSIENT;
}

/* Applies a run of records of one source, in as few transactions as the
 * problems in it allow: one when all goes well; after a problem record, one
 * that commits what precedes it together with its handling, then onwards. */
void consumer_txn_apply(consumer_t *c, source_t *src, const stream_record_t *recs, size_t n)
{
    size_t start = 0, single_until = 0;
    if (n > 0 && recs[0].seq > src->applied + 1) {
        src->need_replay = 1; /* a prefetched batch after one that stopped short */
        return;
    }
    while (start < n) {
        txn_outcome_t o;
        memset(&o, 0, sizeof o);
        /* After a flush failed on the data, one message per transaction
         * until past the run, so the message at fault is found. */
        size_t run = single_until > start ? 1 : n - start;
        txn_status_t st = s_txn(c, src, recs + start, run, -1, &o);
        if (st == TXN_PROBLEM && o.bad == run && run > 1) {
            single_until = start + run;
            continue;
        }
        if (st == TXN_PROBLEM) {
            size_t bad = o.bad < run ? o.bad : run - 1;
            st = s_txn(c, src, recs + start, bad + 1, (long)bad, &o);
            if (st == TXN_COMMITTED) {
                start += bad + 1;
                continue;
            }
        }
        if (st == TXN_COMMITTED && run < n - start) {
            start += run;
            continue;
        }
        if (st == TXN_TRANSIENT) {
            consumer_txn_backoff(c, o.why.msg);
            return;
        }
        if (st == TXN_HOLD) {
            /* A failing message waits, and comes back by replay. */
            log_warn("message failed, will retry", LF_STR("stream", src->stream),
                     LF_INT("seq", src->applied + 1), LF_STR("error", o.why.msg),
                     LF_INT("retry_in_ms", src->hold_until - aclock_system_mono_ms()));
            src->need_replay = 1;
            return;
        }
        if (st == TXN_PROBLEM) {
            src->need_replay = 1; /* a record before the problem failed this time */
            return;
        }
        break;
    }
    if (n > 0 && recs[n - 1].seq > src->applied)
        src->need_replay = 1; /* stopped at a hole */
}
