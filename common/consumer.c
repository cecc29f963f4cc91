/* consumer.c - exactly-once application of followed streams; see
 * include/consumer.h for the contract and docs/streams.md for the protocol.
 * Here: creating and destroying a consumer, its accessors, the operator's
 * reset and the tick that times out replays and notices silence. Its other
 * jobs live beside it: consumer_txn.c (offsets and the apply transaction),
 * consumer_replay.c (asking the producer) and consumer_live.c (the SUB
 * socket). */
#include "consumer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "sockopt.h"

#define SILENCE_MS 3000 /* no heartbeat for this long: ask the producer */
#define TICK_MS 100

static int s_on_tick(loop_t *loop, void *arg);

void *consumer_new_socket(consumer_t *c, int type, const char *endpoint, err_t *err)
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
    self->retry_delay = CONSUMER_RETRY_MIN_MS;
    envelope_init(&self->env);
    msgpack_unpacked_init(&self->unpacked);
    msgpack_sbuffer_init(&self->request);
    if (!(self->sub = consumer_new_socket(self, ZMQ_SUB, NULL, err)))
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
        if (consumer_replay_reset_dealer(self, src) != 0) {
            err_set(err, "cannot open replay socket to %s", src->control_endpoint);
            goto fail;
        }
    }
    int tick = -1;
    if (loop_add_reader(loop, self->sub, consumer_live_on_sub, self) != 0 ||
        (tick = loop_add_timer(loop, TICK_MS, s_on_tick, self)) < 0) {
        err_set(err, "event loop is full");
        goto fail;
    }
    /* The first replay (catching up from the stored offset) need not wait
     * for a tick. */
    loop_timer_soon(loop, tick);
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
                consumer_replay_on_dealer(loop, src->dealer, c);
                continue;
            }
            log_warn("replay timed out", LF_STR("stream", src->stream),
                     LF_STR("endpoint", src->control_endpoint));
            consumer_replay_reset_dealer(c, src);
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
            consumer_replay_request(c, src);
    }
    return 0;
}
