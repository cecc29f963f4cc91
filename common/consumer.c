/* consumer.c - exactly-once application of followed streams; see
 * include/consumer.h for the contract and docs/streams.md for the protocol. */
#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "frames.h"
#include "log.h"
#include "sockopt.h"

#define REPLAY_TIMEOUT_MS 3000
#define SILENCE_MS 3000 /* no heartbeat for this long: ask the producer */
#define HOLD_BASE_MS 1000
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
#define TICK_MS 100
#define LIVE_ARENA_INITIAL (256u * 1024u)

typedef struct source {
    char stream[STREAM_NAME_MAX + 1];  /* followed stream */
    char *pub_endpoint;                /* producer's PUB */
    char *control_endpoint;            /* producer's control socket */
    void *dealer;                      /* replay requests; replaced after a timeout */
    int64_t applied;                   /* committed offset as last read or written */
    int64_t head;                      /* highest seq announced by the producer */
    int offset_loaded;                 /* applied came from the database */
    int need_replay;                   /* a gap or restart: ask for a replay */
    int replay_inflight;               /* a request is out */
    int64_t replay_deadline;           /* monotonic ms when we give up waiting */
    int64_t last_heard;                /* monotonic ms of the last frame or reply from it */
    int64_t hold_until;                /* monotonic ms before which a failing message waits */
    size_t pending;                    /* live records queued in this drain */
    char stream_id[STREAM_ID_LEN + 1]; /* identity of the stream we follow; "" until heard */
    int halted;                        /* its identity changed: apply nothing until reset */
} source_t;

/* A live record copied out of its ZeroMQ frame; offsets into live_arena
 * because the arena may move while it grows. */
typedef struct live_rec {
    size_t src; /* index into sources */
    int64_t seq;
    size_t id_off, id_len, type_off, type_len, msg_off, msg_len;
} live_rec_t;

struct consumer {
    void *ctx;    /* borrowed ZeroMQ context */
    loop_t *loop; /* borrowed */
    db_t *db;     /* borrowed */
    char *name;   /* consumer name, key of stream_offset */
    source_t sources[CONSUMER_MAX_SOURCES];
    size_t nsources;
    void *sub;                 /* live data and heartbeats of every source */
    consumer_hooks_t hooks;    /* apply, flush, on_commit and their arg */
    int64_t retry_at;          /* monotonic ms before which we do not touch the database */
    int64_t retry_delay;       /* current back-off */
    int drop_every;            /* test hook: drop one in this many live messages */
    uint64_t live_seen;        /* live data messages received, for the hook */
    envelope_t env;            /* reused for every message */
    msgpack_unpacked unpacked; /* reused for frames */
    msgpack_sbuffer request;   /* reused for replay requests */
    live_rec_t live[CONSUMER_BATCH_MAX];
    size_t nlive;
    char *live_arena;
    size_t live_len, live_cap;
    stream_record_t batch[CONSUMER_BATCH_MAX]; /* records handed to s_apply */
};

static int s_on_sub(loop_t *loop, void *socket, void *arg);
static int s_on_dealer(loop_t *loop, void *socket, void *arg);
static int s_on_tick(loop_t *loop, void *arg);

/* ---- sockets ----------------------------------------------------------- */

static void *s_new_socket(consumer_t *c, int type, const char *endpoint, err_t *err)
{
    void *s = zmq_socket(c->ctx, type);
    int big = 100000;
    int64_t max_frame = STREAMWIRE_FRAME_MAX + 1024;
    if (!s) {
        err_set(err, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    sockopt_liveness(s);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_frame, sizeof max_frame);
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_RCVHWM, &big, sizeof big);
    if (endpoint && zmq_connect(s, endpoint) != 0) {
        err_set(err, "connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Lazy Pirate: a request that got no answer in time is abandoned with its
 * socket, so a late answer can never be mistaken for the next one. */
static int s_reset_dealer(consumer_t *c, source_t *src)
{
    err_t err;
    if (src->dealer) {
        loop_remove_reader(c->loop, src->dealer);
        zmq_close(src->dealer);
    }
    src->dealer = s_new_socket(c, ZMQ_DEALER, src->control_endpoint, &err);
    src->replay_inflight = 0;
    if (!src->dealer) {
        log_error("cannot open replay socket", LF_STR("stream", src->stream),
                  LF_STR("error", err.msg));
        return -1;
    }
    return loop_add_reader(c->loop, src->dealer, s_on_dealer, c);
}

consumer_t *consumer_new(void *zmq_ctx, loop_t *loop, db_t *db, const char *name,
                         const consumer_source_t *sources, size_t n, const consumer_hooks_t *hooks,
                         err_t *err)
{
    consumer_t *self = NULL;
    if (!hooks || !hooks->apply) {
        err_set(err, "a consumer needs an apply function");
        goto fail;
    }
    if (n == 0 || n > CONSUMER_MAX_SOURCES) {
        err_set(err, "a consumer follows 1..%d streams, not %zu", CONSUMER_MAX_SOURCES, n);
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self || !(self->name = strdup(name))) {
        err_set(err, "out of memory");
        goto fail;
    }
    self->ctx = zmq_ctx;
    self->loop = loop;
    self->db = db;
    self->hooks = *hooks;
    self->retry_delay = RETRY_MIN_MS;
    envelope_init(&self->env);
    msgpack_unpacked_init(&self->unpacked);
    msgpack_sbuffer_init(&self->request);
    if (!(self->sub = s_new_socket(self, ZMQ_SUB, NULL, err)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        source_t *src = &self->sources[i];
        if (strlen(sources[i].stream) > STREAM_NAME_MAX) {
            err_set(err, "stream name '%s' too long", sources[i].stream);
            goto fail;
        }
        snprintf(src->stream, sizeof src->stream, "%s", sources[i].stream);
        src->pub_endpoint = strdup(sources[i].pub_endpoint);
        src->control_endpoint = strdup(sources[i].control_endpoint);
        self->nsources++;
        if (!src->pub_endpoint || !src->control_endpoint) {
            err_set(err, "out of memory");
            goto fail;
        }
        src->need_replay = 1;
        /* Subscribe before the first replay so nothing falls between them. */
        if (zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, src->stream, strlen(src->stream)) != 0 ||
            zmq_connect(self->sub, src->pub_endpoint) != 0) {
            err_set(err, "subscribe to %s at %s: %s", src->stream, src->pub_endpoint,
                    zmq_strerror(zmq_errno()));
            goto fail;
        }
        if (s_reset_dealer(self, src) != 0) {
            err_set(err, "cannot open replay socket to %s", src->control_endpoint);
            goto fail;
        }
    }
    if (loop_add_reader(loop, self->sub, s_on_sub, self) != 0 ||
        loop_add_timer(loop, TICK_MS, s_on_tick, self) < 0) {
        err_set(err, "event loop is full");
        goto fail;
    }
    return self;
fail:
    consumer_destroy(&self);
    return NULL;
}

void consumer_destroy(consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    consumer_t *self = *self_p;
    for (size_t i = 0; i < self->nsources; i++) {
        source_t *src = &self->sources[i];
        if (src->dealer) {
            loop_remove_reader(self->loop, src->dealer);
            zmq_close(src->dealer);
        }
        free(src->pub_endpoint);
        free(src->control_endpoint);
    }
    if (self->sub) {
        loop_remove_reader(self->loop, self->sub);
        zmq_close(self->sub);
    }
    /* The timer stays registered with the loop; the loop must be destroyed
     * with (or before running again after) the consumer. */
    envelope_fini(&self->env);
    msgpack_unpacked_destroy(&self->unpacked);
    msgpack_sbuffer_destroy(&self->request);
    free(self->live_arena);
    free(self->name);
    free(self);
    *self_p = NULL;
}

/* The index of the source following stream, or -1. */
static long s_source_index(const consumer_t *c, const char *stream)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (strcmp(c->sources[i].stream, stream) == 0)
            return (long)i;
    return -1;
}

int consumer_position(const consumer_t *c, const char *stream, int64_t *applied, int64_t *head)
{
    long i = s_source_index(c, stream);
    if (i < 0)
        return -1;
    const source_t *src = &c->sources[i];
    *applied = src->applied;
    *head = src->head > src->applied ? src->head : src->applied;
    return 0;
}

int consumer_halted(const consumer_t *c, const char *stream)
{
    long i = s_source_index(c, stream);
    return i < 0 ? 0 : c->sources[i].halted;
}

const char *consumer_stream_id(const consumer_t *c, const char *stream)
{
    long i = s_source_index(c, stream);
    return i < 0 ? NULL : c->sources[i].stream_id;
}

db_rc_t consumer_reset_stream(consumer_t *c, const char *stream, err_t *err)
{
    long i = s_source_index(c, stream);
    source_t *src = i < 0 ? NULL : &c->sources[i];
    if (!src) {
        err_set(err, "stream '%s' is not followed here", stream);
        return DB_FAILED;
    }
    PGconn *conn = NULL;
    db_rc_t rc = db_tx_begin(c->db, &conn, err);
    if (rc != DB_OK)
        return rc;
    const char *params[2] = {c->name, stream};
    PGresult *res = PQexecParams(conn,
                                 "UPDATE stream_offset SET applied = 0, stream_id = NULL,"
                                 " halted = NULL, updated_at = now()"
                                 " WHERE consumer = $1 AND stream = $2",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = db_failure(c->db, res, err);
    PQclear(res);
    res = NULL;
    if (rc == DB_OK) {
        res = PQexecParams(conn, "DELETE FROM stream_failure WHERE consumer = $1 AND stream = $2",
                           2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = db_failure(c->db, res, err);
        PQclear(res);
    }
    if (rc == DB_OK)
        rc = db_tx_commit(c->db, err);
    db_tx_rollback(c->db);
    if (rc != DB_OK)
        return rc;
    log_warn("stream reset by an operator: following it again from seq 1",
             LF_STR("consumer", c->name), LF_STR("stream", stream),
             LF_INT("applied_before", src->applied));
    src->applied = 0;
    src->head = 0;
    src->stream_id[0] = '\0';
    src->halted = 0;
    src->offset_loaded = 0;
    src->hold_until = 0;
    src->need_replay = 1;
    return DB_OK;
}

int consumer_caught_up(const consumer_t *c)
{
    for (size_t i = 0; i < c->nsources; i++) {
        const source_t *src = &c->sources[i];
        if (src->halted || src->applied < src->head || src->need_replay || src->replay_inflight ||
            !src->offset_loaded)
            return 0;
    }
    return 1;
}

size_t consumer_source_count(const consumer_t *c)
{
    return c->nsources;
}

const char *consumer_source_stream(const consumer_t *c, size_t i)
{
    return i < c->nsources ? c->sources[i].stream : NULL;
}

const char *consumer_name(const consumer_t *c)
{
    return c->name;
}

void consumer_drop_live_for_test(consumer_t *c, int every)
{
    c->drop_every = every > 0 ? every : 0;
}

/* ---- database ---------------------------------------------------------- */

/* The database is unreachable: back off, and replay from the stored offset
 * when it is back (the in-memory batch is abandoned, never dead-lettered). */
static void s_backoff(consumer_t *c, const char *why)
{
    log_warn("consumer backing off", LF_STR("consumer", c->name), LF_STR("error", why),
             LF_INT("retry_ms", c->retry_delay));
    c->retry_at = aclock_system_mono_ms() + c->retry_delay;
    c->retry_delay = c->retry_delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->retry_delay * 2;
    for (size_t i = 0; i < c->nsources; i++) {
        c->sources[i].need_replay = 1;
        c->sources[i].offset_loaded = 0;
    }
}

static int s_db_ready(const consumer_t *c)
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
static db_rc_t s_load_offset(consumer_t *c, source_t *src, err_t *err)
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
static void s_halt(consumer_t *c, source_t *src, const char *heard)
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
static int s_identity_ok(consumer_t *c, source_t *src, const char *heard)
{
    if (src->halted || !src->offset_loaded)
        return 0;
    if (src->stream_id[0])
        goto compare;
    err_t err;
    PGconn *conn = db_conn(c->db, &err);
    if (!conn) {
        s_backoff(c, err.msg);
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
        s_backoff(c, err.msg);
        return 0;
    }
    snprintf(src->stream_id, sizeof src->stream_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    log_info("following stream identity", LF_STR("stream", src->stream),
             LF_STR("stream_id", src->stream_id));
compare:
    if (strcmp(src->stream_id, heard) == 0)
        return 1;
    s_halt(c, src, heard);
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
    c->retry_delay = RETRY_MIN_MS;
    if (hold)
        src->hold_until = aclock_system_mono_ms() + ((int64_t)HOLD_BASE_MS << (hold - 1));
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
static void s_apply(consumer_t *c, source_t *src, const stream_record_t *recs, size_t n)
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
            s_backoff(c, o.why.msg);
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

/* ---- replay ------------------------------------------------------------ */

/* Sends a replay request for src from seq `from`. */
static void s_send_replay(consumer_t *c, source_t *src, int64_t from)
{
    streamwire_pack_replay_request(&c->request, src->stream, from, STREAMWIRE_REPLAY_MAX_RECORDS);
    if (zmq_send(src->dealer, c->request.data, c->request.size, ZMQ_DONTWAIT) < 0) {
        s_reset_dealer(c, src);
        return;
    }
    src->need_replay = 0;
    src->replay_inflight = 1;
    src->replay_deadline = aclock_system_mono_ms() + REPLAY_TIMEOUT_MS;
}

static void s_request_replay(consumer_t *c, source_t *src)
{
    if (src->halted || src->replay_inflight || !s_db_ready(c) ||
        aclock_system_mono_ms() < src->hold_until)
        return;
    if (!src->offset_loaded) {
        err_t err;
        db_rc_t rc = s_load_offset(c, src, &err);
        if (rc != DB_OK) {
            s_backoff(c, err.msg);
            return;
        }
    }
    s_send_replay(c, src, src->applied + 1);
}

static source_t *s_source_of_dealer(consumer_t *c, void *socket)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (c->sources[i].dealer == socket)
            return &c->sources[i];
    return NULL;
}

static int s_on_dealer(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    consumer_t *c = arg;
    source_t *src = s_source_of_dealer(c, socket);
    frames_t in; /* the records point into it until it is closed */
    if (!frames_recv(&in, socket))
        return 0;
    if (!src) {
        frames_close(&in);
        return 0;
    }
    src->replay_inflight = 0;
    err_t err;
    err_set(&err, "a reply of %d frames, expected 1", in.total);
    src->last_heard = aclock_system_mono_ms();
    streamwire_replay_t reply;
    if (in.total != 1 ||
        streamwire_unpack_replay(&c->unpacked, zmq_msg_data(&in.part[0]), zmq_msg_size(&in.part[0]),
                                 &reply, &err) != 0 ||
        strcmp(reply.stream, src->stream) != 0) {
        log_warn("bad replay reply", LF_STR("stream", src->stream), LF_STR("error", err.msg));
        src->need_replay = 1;
        c->retry_at = aclock_system_mono_ms() + RETRY_MAX_MS;
        frames_close(&in);
        return 0;
    }
    if (!s_identity_ok(c, src, reply.stream_id)) {
        frames_close(&in);
        return 0;
    }
    /* The reply's head is the producer's committed head, read with the
     * records: the authority, even when it is below what we believed. */
    src->head = reply.last_seq > src->applied ? reply.last_seq : src->applied;
    size_t n = 0;
    for (uint32_t i = 0; i < reply.records->via.array.size && n < CONSUMER_BATCH_MAX; i++) {
        if (streamwire_replay_record(&reply, i, &c->batch[n], &err) != 0) {
            log_warn("bad replay record", LF_STR("stream", src->stream), LF_STR("error", err.msg));
            break;
        }
        n++;
    }
    /* Catching up: ask for the next batch before applying this one, so the
     * producer reads it while we write. Should this batch stop short (a
     * failure, a hole), the next reply starts past our offset and is
     * skipped as a hole: the offset row, not this guess, decides. */
    if (n > 0 && reply.to < reply.last_seq && s_db_ready(c) &&
        aclock_system_mono_ms() >= src->hold_until)
        s_send_replay(c, src, reply.to + 1);
    if (n > 0) {
        s_apply(c, src, c->batch, n);
        log_debug("replayed", LF_STR("stream", src->stream), LF_INT("n", n),
                  LF_INT("applied", src->applied), LF_INT("last_seq", reply.last_seq));
    }
    frames_close(&in);
    /* Keep asking while the producer is ahead and we are making progress;
     * a reply that brought nothing usable is asked again only later. */
    if (src->applied < src->head && s_db_ready(c)) {
        src->need_replay = 1;
        if (n == 0)
            src->hold_until = aclock_system_mono_ms() + HOLD_BASE_MS;
    }
    if (src->need_replay)
        s_request_replay(c, src);
    return 0;
}

/* ---- live -------------------------------------------------------------- */

static source_t *s_source_of_stream(consumer_t *c, const char *stream, size_t *index)
{
    for (size_t i = 0; i < c->nsources; i++) {
        if (strcmp(c->sources[i].stream, stream) == 0) {
            *index = i;
            return &c->sources[i];
        }
    }
    return NULL;
}

static int s_arena_put(consumer_t *c, const char *data, size_t len, size_t *off)
{
    if (c->live_len + len > c->live_cap) {
        size_t cap = c->live_cap ? c->live_cap : LIVE_ARENA_INITIAL;
        while (cap < c->live_len + len)
            cap *= 2;
        char *grown = realloc(c->live_arena, cap);
        if (!grown)
            return -1;
        c->live_arena = grown;
        c->live_cap = cap;
    }
    memcpy(c->live_arena + c->live_len, data, len);
    *off = c->live_len;
    c->live_len += len;
    return 0;
}

/* Handles one decoded PUB message. */
static void s_on_pub(consumer_t *c, const streamwire_pub_t *pub)
{
    size_t index = 0;
    source_t *src = s_source_of_stream(c, pub->stream, &index);
    if (!src)
        return; /* a stream that shares our prefix but is not ours */
    src->last_heard = aclock_system_mono_ms();
    if (src->halted)
        return;
    if (src->stream_id[0] && strcmp(src->stream_id, pub->stream_id) != 0) {
        s_halt(c, src, pub->stream_id);
        return;
    }
    int64_t expected = src->applied + (int64_t)src->pending + 1;
    if (pub->kind == STREAMWIRE_HEARTBEAT) {
        if (pub->last_seq > src->head)
            src->head = pub->last_seq;
        if (pub->last_seq >= expected && !src->replay_inflight)
            src->need_replay = 1;
        return;
    }
    const stream_record_t *r = &pub->record;
    if (r->seq > src->head)
        src->head = r->seq;
    if (c->drop_every && ++c->live_seen % (uint64_t)c->drop_every == 0) {
        log_info("test hook: live message dropped", LF_STR("stream", src->stream),
                 LF_INT("seq", r->seq));
        return;
    }
    if (r->seq < expected)
        return; /* duplicate */
    if (aclock_system_mono_ms() < src->hold_until) {
        src->need_replay = 1; /* a failing message is waiting its turn */
        return;
    }
    if (r->seq > expected || src->replay_inflight || src->need_replay || !src->offset_loaded ||
        !src->stream_id[0] || c->nlive == CONSUMER_BATCH_MAX) {
        src->need_replay = 1; /* the gap (or the rest) comes by replay */
        return;
    }
    live_rec_t *l = &c->live[c->nlive];
    if (s_arena_put(c, r->id, r->id_len, &l->id_off) != 0 ||
        s_arena_put(c, r->type, r->type_len, &l->type_off) != 0 ||
        s_arena_put(c, r->msg, r->msg_len, &l->msg_off) != 0) {
        src->need_replay = 1;
        return;
    }
    l->src = index;
    l->seq = r->seq;
    l->id_len = r->id_len;
    l->type_len = r->type_len;
    l->msg_len = r->msg_len;
    c->nlive++;
    src->pending++;
}

/* Applies the live records drained in this turn, one batch per source. */
static void s_flush_live(consumer_t *c)
{
    for (size_t s = 0; s < c->nsources; s++) {
        source_t *src = &c->sources[s];
        size_t n = 0;
        for (size_t i = 0; i < c->nlive; i++) {
            const live_rec_t *l = &c->live[i];
            if (l->src != s)
                continue;
            c->batch[n++] = (stream_record_t){
                .seq = l->seq,
                .id = c->live_arena + l->id_off,
                .id_len = l->id_len,
                .type = c->live_arena + l->type_off,
                .type_len = l->type_len,
                .msg = c->live_arena + l->msg_off,
                .msg_len = l->msg_len,
            };
        }
        src->pending = 0;
        if (n > 0 && s_db_ready(c))
            s_apply(c, src, c->batch, n);
        else if (n > 0)
            src->need_replay = 1;
    }
    c->nlive = 0;
    c->live_len = 0;
}

static int s_on_sub(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    consumer_t *c = arg;
    frames_t in;
    for (int i = 0; i < CONSUMER_BATCH_MAX && frames_recv(&in, socket); i++) {
        /* Two frames: the topic (the stream's name) and the map. */
        streamwire_pub_t pub;
        err_t err;
        err_set(&err, "a message of %d frames, expected 2", in.total);
        int ok = in.total == 2 && streamwire_unpack_pub(&c->unpacked, zmq_msg_data(&in.part[1]),
                                                        zmq_msg_size(&in.part[1]), &pub, &err) == 0;
        if (ok && (zmq_msg_size(&in.part[0]) != strlen(pub.stream) ||
                   memcmp(zmq_msg_data(&in.part[0]), pub.stream, zmq_msg_size(&in.part[0])) != 0)) {
            err_set(&err, "topic frame does not match the stream");
            ok = 0;
        }
        if (ok)
            s_on_pub(c, &pub);
        else
            log_warn("bad stream frame", LF_STR("error", err.msg));
        frames_close(&in);
    }
    s_flush_live(c);
    for (size_t s = 0; s < c->nsources; s++)
        if (c->sources[s].need_replay)
            s_request_replay(c, &c->sources[s]);
    return 0;
}

static int s_on_tick(loop_t *loop, void *arg)
{
    (void)loop;
    consumer_t *c = arg;
    int64_t now = aclock_system_mono_ms();
    for (size_t s = 0; s < c->nsources; s++) {
        source_t *src = &c->sources[s];
        if (src->replay_inflight && now > src->replay_deadline) {
            /* A long apply may have kept us past the deadline while the
             * answer was already waiting: take it rather than drop it. */
            int events = 0;
            size_t size = sizeof events;
            if (zmq_getsockopt(src->dealer, ZMQ_EVENTS, &events, &size) == 0 &&
                (events & ZMQ_POLLIN)) {
                s_on_dealer(loop, src->dealer, c);
                continue;
            }
            log_warn("replay timed out", LF_STR("stream", src->stream),
                     LF_STR("endpoint", src->control_endpoint));
            s_reset_dealer(c, src);
            src->need_replay = 1;
        }
        /* Heartbeats come every second. Silence means the producer, or the
         * way to it, is gone; a replay request asks it directly (and its
         * timeout replaces the connection). */
        if (src->halted)
            continue;
        if (!src->replay_inflight && now - src->last_heard > SILENCE_MS) {
            src->last_heard = now;
            src->need_replay = 1;
        }
        if (src->need_replay)
            s_request_replay(c, src);
    }
    return 0;
}
