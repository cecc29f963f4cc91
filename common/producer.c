/* producer.c - stream log writer, publisher and replay source; see
 * include/producer.h. */
#include "producer.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "pgarray.h"
#include "uuid.h"

struct producer {
    db_t *db;                          /* borrowed */
    void *pub;                         /* borrowed PUB socket */
    char stream[STREAM_NAME_MAX + 1];  /* our stream's name */
    char stream_id[STREAM_ID_LEN + 1]; /* the stream's identity, from stream_head */
    int64_t last_seq;                  /* committed head as far as we know */
    int loaded;                        /* last_seq is trustworthy */
    uint64_t lock_generation;          /* db_generation() when we took the stream's lock */
    int locked;                        /* we hold the lock on that connection */
    msgpack_sbuffer frame;             /* reused publish buffer */
    pgarray_t arrays[3];               /* a batch's ids, types, bodies */
};

/* Stream names are topic prefixes on the wire: keep them to a safe charset. */
static int s_valid_stream_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > STREAM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

producer_t *producer_new(db_t *db, void *pub, const char *stream, err_t *err)
{
    if (!s_valid_stream_name(stream)) {
        err_set(err, "stream name '%s' must be 1..%d of [a-z0-9._-]", stream, STREAM_NAME_MAX);
        return NULL;
    }
    producer_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, "out of memory");
        return NULL;
    }
    self->db = db;
    self->pub = pub;
    snprintf(self->stream, sizeof self->stream, "%s", stream);
    msgpack_sbuffer_init(&self->frame);
    for (int i = 0; i < 3; i++)
        self->arrays[i] = (pgarray_t)PGARRAY_INIT;
    return self;
}

void producer_destroy(producer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    producer_t *self = *self_p;
    msgpack_sbuffer_destroy(&self->frame);
    for (int i = 0; i < 3; i++)
        pgarray_fini(&self->arrays[i]);
    free(self);
    *self_p = NULL;
}

const char *producer_stream(const producer_t *p)
{
    return p->stream;
}

int64_t producer_last_seq(const producer_t *p)
{
    return p->last_seq;
}

/* The advisory lock that makes us the stream's only writer: the two-key
 * form (PRODUCER_LOCK_CLASS, hashtext(stream)), held by the session. */
#define PRODUCER_LOCK_CLASS 1634169715 /* "agst" */

/* Names the session that holds the stream's lock, for the refusal. */
static void s_describe_holder(producer_t *p, PGconn *conn, char *out, size_t cap)
{
    char cls[16];
    snprintf(cls, sizeof cls, "%d", PRODUCER_LOCK_CLASS);
    const char *params[2] = {cls, p->stream};
    PGresult *res =
        PQexecParams(conn,
                     "SELECT coalesce(nullif(a.application_name, ''), '?'), a.pid,"
                     " coalesce(host(a.client_addr), 'local socket')"
                     " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                     " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid"
                     " AND l.objid = hashtext($2)::oid AND l.objsubid = 2",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(out, cap, "instance '%s' (server pid %s, from %s)", PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    else
        snprintf(out, cap, "another session");
    PQclear(res);
}

/* Takes the stream's lock on a connection that does not hold it yet (the
 * first, or a new one after a reconnect). DB_FAILED, naming the holder,
 * when another process writes this stream. */
static db_rc_t s_lock_stream(producer_t *p, PGconn *conn, err_t *err)
{
    if (p->locked && p->lock_generation == db_generation(p->db))
        return DB_OK;
    char cls[16];
    snprintf(cls, sizeof cls, "%d", PRODUCER_LOCK_CLASS);
    const char *params[2] = {cls, p->stream};
    PGresult *res = PQexecParams(conn, "SELECT pg_try_advisory_lock($1::int, hashtext($2))", 2,
                                 NULL, params, NULL, NULL, 0);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(p->db, res, err);
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        char holder[200];
        s_describe_holder(p, conn, holder, sizeof holder);
        err_set(err,
                "stream %s is already written by %s: two producers must never share a stream"
                " (give each instance its own name)",
                p->stream, holder);
        rc = DB_FAILED;
    } else {
        p->locked = 1;
        p->lock_generation = db_generation(p->db);
    }
    PQclear(res);
    return rc;
}

db_rc_t producer_load(producer_t *p, err_t *err)
{
    PGconn *conn = db_conn(p->db, err);
    if (!conn)
        return DB_TRANSIENT;
    db_rc_t rc = s_lock_stream(p, conn, err);
    if (rc != DB_OK)
        return rc;
    const char *params[1] = {p->stream};
    PGresult *res =
        PQexecParams(conn,
                     "INSERT INTO stream_head (stream) VALUES ($1)"
                     " ON CONFLICT (stream) DO UPDATE SET last_seq = stream_head.last_seq"
                     " RETURNING last_seq, stream_id::text",
                     1, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = db_failure(p->db, res, err);
    else {
        p->last_seq = db_get_int64(res, 0, 0);
        snprintf(p->stream_id, sizeof p->stream_id, "%.*s", PQgetlength(res, 0, 1),
                 PQgetvalue(res, 0, 1));
        p->loaded = 1;
    }
    PQclear(res);
    return rc;
}

const char *producer_stream_id(const producer_t *p)
{
    return p->stream_id;
}

void producer_forget(producer_t *p)
{
    p->loaded = 0;
}

/* Takes n numbers from the stream's counter row and inserts the records
 * with them, in one statement and so one round trip. The counter row stays
 * locked until the transaction ends, so no other writer of this stream can
 * commit numbers in between: gap-free and in commit order. (A COPY of the
 * rows after taking the numbers was measured no faster: the two indexes,
 * not the unnest, are the cost.) */
static const char *const s_append_sql =
    "WITH head AS (UPDATE stream_head SET last_seq = last_seq + $2"
    "              WHERE stream = $1 RETURNING last_seq)"
    " INSERT INTO stream_log (stream, seq, msg_id, type, body)"
    " SELECT $1, head.last_seq - $2 + r.ord, r.id, r.type, r.body"
    " FROM head, unnest($3::uuid[], $4::text[], $5::bytea[])"
    "   WITH ORDINALITY AS r(id, type, body, ord)"
    " RETURNING seq";

/* Appends the n records (ids, types and bodies as three binary arrays);
 * returns the new head in *last. */
static db_rc_t s_append(producer_t *p, PGconn *conn, const stream_record_t *recs, size_t n,
                        int64_t *last, err_t *err)
{
    pgarray_reset_as(&p->arrays[0], PGARRAY_UUID);
    pgarray_reset_as(&p->arrays[1], PGARRAY_TEXT);
    pgarray_reset_as(&p->arrays[2], PGARRAY_BYTEA);
    for (size_t i = 0; i < n; i++) {
        if (pgarray_add_uuid(&p->arrays[0], recs[i].id, recs[i].id_len) != 0 &&
            p->arrays[0].failed == 2) {
            err_set(err, "record %zu: id is not a UUID", i);
            return DB_FAILED;
        }
        pgarray_add(&p->arrays[1], recs[i].type, recs[i].type_len);
        pgarray_add(&p->arrays[2], recs[i].msg, recs[i].msg_len);
    }
    unsigned char count[8];
    db_put_int64(count, (int64_t)n);
    const char *values[5] = {p->stream, (const char *)count};
    int lengths[5] = {0, 8}, formats[5] = {0, 1};
    for (int i = 0; i < 3; i++)
        if (pgarray_param(&p->arrays[i], &values[2 + i], &lengths[2 + i], &formats[2 + i]) != 0) {
            err_set(err, "stream %s: %s", p->stream, pgarray_failure(&p->arrays[i]));
            return DB_TRANSIENT; /* the ids were checked: out of memory */
        }
    const Oid types[5] = {25, 20, 0, 0, 0}; /* text, int8; arrays typed by the casts */
    PGresult *res = PQexecParams(conn, s_append_sql, 5, types, values, lengths, formats, 1);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(p->db, res, err);
    } else if ((size_t)PQntuples(res) != n) {
        err_set(err, "stream %s has no head row (producer_load not called?)", p->stream);
        rc = DB_FAILED;
    } else {
        /* Record i got head - n + ordinality(i); the rows may come back in
         * any order, so only their maximum (the new head) is used. */
        *last = 0;
        for (int i = 0; i < PQntuples(res); i++)
            if (db_get_int64(res, i, 0) > *last)
                *last = db_get_int64(res, i, 0);
    }
    PQclear(res);
    return rc;
}

db_rc_t producer_append_in_tx(producer_t *p, stream_record_t *recs, size_t n, err_t *err)
{
    if (n == 0)
        return DB_OK;
    db_rc_t rc = DB_TRANSIENT;
    PGconn *conn = db_conn(p->db, err);
    if (!conn)
        return rc;
    if (!p->loaded || !p->locked || p->lock_generation != db_generation(p->db)) {
        /* A new connection: the lock went with the old one. Losing it to
         * another writer is not the data's fault, so it is retried. */
        if ((rc = s_lock_stream(p, conn, err)) != DB_OK) {
            log_error("stream lock lost", LF_STR("stream", p->stream), LF_STR("error", err->msg));
            return DB_TRANSIENT;
        }
        if (!p->stream_id[0] && (rc = producer_load(p, err)) != DB_OK)
            return rc;
    }
    int64_t last = 0;
    rc = s_append(p, conn, recs, n, &last, err);
    if (rc == DB_OK)
        for (size_t i = 0; i < n; i++)
            recs[i].seq = last - (int64_t)n + 1 + (int64_t)i;
    return rc;
}

static void s_send_frame(producer_t *p, const msgpack_sbuffer *frame)
{
    /* PUB never blocks; at the high-water mark it drops, which consumers
     * detect as a gap and heal by replay. */
    if (zmq_send(p->pub, p->stream, strlen(p->stream), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(p->pub, frame->data, frame->size, ZMQ_DONTWAIT) < 0)
        log_debug("publish dropped", LF_STR("stream", p->stream));
}

void producer_committed(producer_t *p, const stream_record_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        streamwire_pack_data(&p->frame, p->stream, p->stream_id, &recs[i]);
        s_send_frame(p, &p->frame);
        if (recs[i].seq > p->last_seq)
            p->last_seq = recs[i].seq;
    }
}

void producer_heartbeat(producer_t *p)
{
    if (!p->loaded) {
        err_t err;
        if (producer_load(p, &err) != DB_OK)
            return; /* a wrong head is worse than none */
    }
    streamwire_pack_heartbeat(&p->frame, p->stream, p->stream_id, p->last_seq);
    s_send_frame(p, &p->frame);
}

static void s_pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

db_rc_t producer_replay(producer_t *p, db_t *db, int64_t from, int64_t max, msgpack_packer *pk,
                        err_t *err)
{
    db_rc_t rc = DB_TRANSIENT;
    PGresult *res = NULL;
    if (!db)
        db = p->db;
    PGconn *conn = db_conn(db, err);
    if (!conn)
        goto out;
    if (from < 1)
        from = 1;
    if (max < 1 || max > STREAMWIRE_REPLAY_MAX_RECORDS)
        max = STREAMWIRE_REPLAY_MAX_RECORDS;
    char from_text[24], max_text[24];
    snprintf(from_text, sizeof from_text, "%lld", (long long)from);
    snprintf(max_text, sizeof max_text, "%lld", (long long)max);
    const char *params[3] = {p->stream, from_text, max_text};
    /* The head is read in the same snapshot as the rows, so last_seq never
     * claims rows this reply could not see. */
    res = PQexecParams(conn,
                       "SELECT l.seq, l.msg_id, l.type, l.body, h.last_seq, h.stream_id::text"
                       " FROM stream_head h"
                       " LEFT JOIN LATERAL (SELECT seq, msg_id, type, body FROM stream_log"
                       "   WHERE stream = h.stream AND seq >= $2 ORDER BY seq LIMIT $3) l ON true"
                       " WHERE h.stream = $1",
                       3, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(db, res, err);
        goto out;
    }
    int rows = PQntuples(res);
    int64_t head = rows > 0 ? db_get_int64(res, 0, 4) : 0;
    /* Count the rows that fit the byte cap (always at least one). */
    int take = 0;
    size_t bytes = 0;
    for (int i = 0; i < rows && !PQgetisnull(res, i, 0); i++) {
        bytes += (size_t)PQgetlength(res, i, 3) + 64;
        if (take > 0 && bytes > STREAMWIRE_REPLAY_MAX_BYTES)
            break;
        take++;
    }
    msgpack_pack_map(pk, 8);
    s_pack_cstr(pk, "ok");
    msgpack_pack_true(pk);
    s_pack_cstr(pk, "kind");
    s_pack_cstr(pk, "replay");
    s_pack_cstr(pk, "stream");
    s_pack_cstr(pk, p->stream);
    s_pack_cstr(pk, "stream_id");
    s_pack_cstr(pk, rows > 0 ? PQgetvalue(res, 0, 5) : p->stream_id);
    s_pack_cstr(pk, "from");
    msgpack_pack_int64(pk, from);
    s_pack_cstr(pk, "to");
    msgpack_pack_int64(pk, from + take - 1);
    s_pack_cstr(pk, "last_seq");
    msgpack_pack_int64(pk, head);
    s_pack_cstr(pk, "records");
    msgpack_pack_array(pk, (size_t)take);
    for (int i = 0; i < take; i++) {
        char id[37];
        uuid_format((const unsigned char *)PQgetvalue(res, i, 1), id);
        msgpack_pack_array(pk, 4);
        msgpack_pack_int64(pk, db_get_int64(res, i, 0));
        s_pack_cstr(pk, id);
        msgpack_pack_str(pk, (size_t)PQgetlength(res, i, 2));
        msgpack_pack_str_body(pk, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
        msgpack_pack_bin(pk, (size_t)PQgetlength(res, i, 3));
        msgpack_pack_bin_body(pk, PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3));
    }
    rc = DB_OK;
out:
    PQclear(res);
    return rc;
}
