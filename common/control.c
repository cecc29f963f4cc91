/* control.c - health, version, stream positions and replay over a ROUTER
 * socket; see include/control.h. */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "frames.h"
#include "log.h"
#include "mp.h"
#include "mpscan.h"
#include "sockopt.h"

#define CONTROL_MAX_STREAMS 16

typedef struct handler {
    char op[32];
    control_handler_fn fn;
    void *arg;
} handler_t;

struct control {
    void *router; /* bound ROUTER socket */
    loop_t *loop; /* borrowed */
    db_t *db;     /* owned: our own connection, for health and replay */
    char service[32];
    char instance[64];
    handler_t handlers[CONTROL_MAX_HANDLERS];
    int nhandlers;
    producer_t *producers[CONTROL_MAX_STREAMS];
    int nproducers;
    consumer_t *consumers[CONTROL_MAX_STREAMS];
    int nconsumers;
    msgpack_sbuffer reply;    /* reused */
    msgpack_unpacked request; /* reused */
    int health;               /* this turn's health check: -1 not made, 0 down, 1 up */
    err_t health_err;         /* why it is down */
    control_stats_t stats;
};

static int s_on_request(loop_t *loop, void *socket, void *arg);

void control_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void control_pack_error(msgpack_packer *pk, const char *code, const char *field,
                        const char *message)
{
    control_pack_error_id(pk, code, field, message, NULL);
}

void control_pack_error_id(msgpack_packer *pk, const char *code, const char *field,
                           const char *message, const char *id)
{
    msgpack_pack_map(pk, 3 + (field != NULL) + (id != NULL));
    if (id) {
        control_pack_str(pk, "id");
        control_pack_str(pk, id);
    }
    control_pack_str(pk, "ok");
    msgpack_pack_false(pk);
    control_pack_str(pk, "code");
    control_pack_str(pk, code);
    if (field) {
        control_pack_str(pk, "field");
        control_pack_str(pk, field);
    }
    control_pack_str(pk, "error");
    control_pack_str(pk, message);
}

static void s_health(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)request;
    control_t *ctl = arg;
    /* A round trip, not just the connection state: a server that died
     * since the last statement still looks connected to libpq. One per
     * turn: a flood of health requests costs one round trip per turn. */
    if (ctl->health < 0) {
        ctl->health = db_exec(ctl->db, "SELECT 1", &ctl->health_err) == DB_OK;
        ctl->stats.health_checks++;
    }
    int up = ctl->health;
    const err_t *err = &ctl->health_err;
    /* A halted stream needs an operator: say so where monitoring looks. */
    const char *halted = NULL;
    for (int i = 0; i < ctl->nconsumers && !halted; i++)
        for (size_t j = 0; j < consumer_source_count(ctl->consumers[i]) && !halted; j++)
            if (consumer_halted(ctl->consumers[i], consumer_source_stream(ctl->consumers[i], j)))
                halted = consumer_source_stream(ctl->consumers[i], j);
    int ok = up && !halted;
    msgpack_pack_map(pk, ok ? 5 : 7);
    control_pack_str(pk, "ok");
    if (ok)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (!up) {
        control_pack_str(pk, "code");
        control_pack_str(pk, "E_UNAVAILABLE");
        control_pack_str(pk, "error");
        control_pack_str(pk, err->msg);
    } else if (halted) {
        char text[200];
        snprintf(text, sizeof text,
                 "stream %s was recreated under the same name; nothing is applied from it"
                 " until an operator runs 'airguard reset-stream'",
                 halted);
        control_pack_str(pk, "code");
        control_pack_str(pk, "E_HALTED");
        control_pack_str(pk, "error");
        control_pack_str(pk, text);
    }
    control_pack_str(pk, "service");
    control_pack_str(pk, ctl->service);
    control_pack_str(pk, "instance");
    control_pack_str(pk, ctl->instance);
    control_pack_str(pk, "version");
    control_pack_str(pk, AIRGUARD_VERSION);
    control_pack_str(pk, "db");
    control_pack_str(pk, up ? "up" : "down");
}

static void s_version(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)arg;
    (void)request;
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "version");
    control_pack_str(pk, AIRGUARD_VERSION);
}

/* ---- dead letters: what consumers gave up on, and what they retry ---- */

#define DEAD_LETTERS_DEFAULT 100
#define DEAD_LETTERS_MAX 1000

/* Dead letters of consumer on stream, or -1 when the database cannot say
 * now (the streams op then leaves the count out rather than fail). */
static int64_t s_dead_letter_count(control_t *ctl, const char *consumer, const char *stream)
{
    err_t err;
    PGconn *conn = db_conn(ctl->db, &err);
    if (!conn)
        return -1;
    const char *params[2] = {consumer, stream};
    PGresult *res = PQexecParams(conn,
                                 "SELECT count(*) FROM dead_letter WHERE consumer = $1"
                                 " AND stream = $2",
                                 2, NULL, params, NULL, NULL, 0);
    int64_t n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        db_failure(ctl->db, res, &err);
    PQclear(res);
    return n;
}

/* Packs column col of row r as a str, or nil when it is NULL. */
static void s_pack_column(msgpack_packer *pk, const PGresult *res, int r, int col)
{
    if (PQgetisnull(res, r, col))
        msgpack_pack_nil(pk);
    else
        control_pack_str(pk, PQgetvalue(res, r, col));
}

/* {"op":"dead_letters", "stream"?, "after"?, "max"?}: the dead letters with
 * an id above after (oldest first, at most max, "more" when there are
 * others) and the messages that failed and are still being retried (past
 * the consumer's offset), of every consumer in this service's schema.
 * Read-only. */
static void s_dead_letters(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    control_t *ctl = arg;
    err_t err;
    char stream[STREAM_NAME_MAX + 1] = "", after_text[24], limit_text[24];
    int64_t after = 0, max = DEAD_LETTERS_DEFAULT;
    PGresult *dead = NULL, *failing = NULL;
    if ((mp_get(request, "stream") &&
         mp_get_strcpy(request, "stream", stream, sizeof stream, &err) != 0) ||
        (mp_get(request, "after") && mp_get_int(request, "after", &after, &err) != 0) ||
        (mp_get(request, "max") && mp_get_int(request, "max", &max, &err) != 0)) {
        control_pack_error(pk, "E_BAD_REQUEST", NULL, err.msg);
        return;
    }
    if (max < 1 || max > DEAD_LETTERS_MAX) {
        control_pack_error(pk, "E_BAD_REQUEST", "max", "field 'max': must be 1 .. 1000");
        return;
    }
    PGconn *conn = db_conn(ctl->db, &err);
    if (!conn) {
        control_pack_error(pk, "E_UNAVAILABLE", NULL, err.msg);
        return;
    }
    snprintf(after_text, sizeof after_text, "%lld", (long long)after);
    snprintf(limit_text, sizeof limit_text, "%lld", (long long)max + 1);
    const char *params[3] = {after_text, stream[0] ? stream : NULL, limit_text};
    dead =
        PQexecParams(conn,
                     "SELECT id, consumer, stream, seq, msg_id, type, reason,"
                     " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                     " FROM dead_letter WHERE id > $1 AND ($2::text IS NULL OR stream = $2)"
                     " ORDER BY id LIMIT $3",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(dead) == PGRES_TUPLES_OK)
        failing = PQexecParams(
            conn,
            "SELECT f.consumer, f.stream, f.seq, f.failures, f.last_error,"
            " to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            " FROM stream_failure f LEFT JOIN stream_offset o"
            "   ON o.consumer = f.consumer AND o.stream = f.stream"
            " WHERE f.seq > coalesce(o.applied, 0) AND ($1::text IS NULL OR f.stream = $1)"
            " ORDER BY f.consumer, f.stream, f.seq LIMIT 1000",
            1, NULL, params + 1, NULL, NULL, 0);
    if (PQresultStatus(dead) != PGRES_TUPLES_OK || PQresultStatus(failing) != PGRES_TUPLES_OK) {
        db_rc_t rc =
            db_failure(ctl->db, PQresultStatus(dead) != PGRES_TUPLES_OK ? dead : failing, &err);
        control_pack_error(pk, rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL", NULL, err.msg);
        goto out;
    }
    int n = PQntuples(dead) > max ? (int)max : PQntuples(dead);
    msgpack_pack_map(pk, 4);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "dead_letters");
    msgpack_pack_array(pk, (size_t)n);
    for (int r = 0; r < n; r++) {
        static const char *const keys[] = {"id",     "consumer", "stream", "seq",
                                           "msg_id", "type",     "reason", "at"};
        msgpack_pack_map(pk, 8);
        for (int c = 0; c < 8; c++) {
            control_pack_str(pk, keys[c]);
            if (c == 0 || c == 3)
                msgpack_pack_int64(pk, strtoll(PQgetvalue(dead, r, c), NULL, 10));
            else
                s_pack_column(pk, dead, r, c);
        }
    }
    control_pack_str(pk, "failing");
    msgpack_pack_array(pk, (size_t)PQntuples(failing));
    for (int r = 0; r < PQntuples(failing); r++) {
        static const char *const keys[] = {"consumer", "stream",     "seq",
                                           "failures", "last_error", "at"};
        msgpack_pack_map(pk, 6);
        for (int c = 0; c < 6; c++) {
            control_pack_str(pk, keys[c]);
            if (c == 2 || c == 3)
                msgpack_pack_int64(pk, strtoll(PQgetvalue(failing, r, c), NULL, 10));
            else
                s_pack_column(pk, failing, r, c);
        }
    }
    control_pack_str(pk, "more");
    if (PQntuples(dead) > max)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
out:
    PQclear(dead);
    PQclear(failing);
}

static void s_streams(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)request;
    control_t *ctl = arg;
    msgpack_pack_map(pk, 3);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "produced");
    msgpack_pack_array(pk, (size_t)ctl->nproducers);
    for (int i = 0; i < ctl->nproducers; i++) {
        msgpack_pack_map(pk, 3);
        control_pack_str(pk, "stream");
        control_pack_str(pk, producer_stream(ctl->producers[i]));
        control_pack_str(pk, "stream_id");
        control_pack_str(pk, producer_stream_id(ctl->producers[i]));
        control_pack_str(pk, "last_seq");
        msgpack_pack_int64(pk, producer_last_seq(ctl->producers[i]));
    }
    size_t total = 0;
    for (int i = 0; i < ctl->nconsumers; i++)
        total += consumer_source_count(ctl->consumers[i]);
    control_pack_str(pk, "consumed");
    msgpack_pack_array(pk, total);
    for (int i = 0; i < ctl->nconsumers; i++) {
        for (size_t j = 0; j < consumer_source_count(ctl->consumers[i]); j++) {
            const char *stream = consumer_source_stream(ctl->consumers[i], j);
            int64_t applied = 0, head = 0;
            consumer_position(ctl->consumers[i], stream, &applied, &head);
            int64_t dead = s_dead_letter_count(ctl, consumer_name(ctl->consumers[i]), stream);
            msgpack_pack_map(pk, dead >= 0 ? 6 : 5);
            control_pack_str(pk, "stream");
            control_pack_str(pk, stream);
            control_pack_str(pk, "stream_id");
            control_pack_str(pk, consumer_stream_id(ctl->consumers[i], stream));
            control_pack_str(pk, "halted");
            if (consumer_halted(ctl->consumers[i], stream))
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            control_pack_str(pk, "applied");
            msgpack_pack_int64(pk, applied);
            control_pack_str(pk, "head");
            msgpack_pack_int64(pk, head);
            if (dead >= 0) {
                control_pack_str(pk, "dead_letters");
                msgpack_pack_int64(pk, dead);
            }
        }
    }
}

static void s_replay(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    control_t *ctl = arg;
    err_t err;
    char stream[STREAM_NAME_MAX + 1];
    int64_t from = 0, max = STREAMWIRE_REPLAY_MAX_RECORDS;
    if (mp_get_strcpy(request, "stream", stream, sizeof stream, &err) != 0 ||
        mp_get_int(request, "from", &from, &err) != 0) {
        control_pack_error(pk, "E_BAD_REQUEST", NULL, err.msg);
        return;
    }
    if (mp_get(request, "max") && mp_get_int(request, "max", &max, &err) != 0) {
        control_pack_error(pk, "E_BAD_REQUEST", "max", err.msg);
        return;
    }
    if (from < 1) {
        control_pack_error(pk, "E_BAD_REQUEST", "from", "field 'from': must be >= 1");
        return;
    }
    for (int i = 0; i < ctl->nproducers; i++) {
        if (strcmp(producer_stream(ctl->producers[i]), stream) != 0)
            continue;
        /* The reply is packed into a scratch buffer first so a database
         * failure halfway leaves no partial map behind. */
        msgpack_sbuffer scratch;
        msgpack_sbuffer_init(&scratch);
        msgpack_packer spk;
        msgpack_packer_init(&spk, &scratch, msgpack_sbuffer_write);
        db_rc_t rc = producer_replay(ctl->producers[i], ctl->db, from, max, &spk, &err);
        if (rc == DB_OK)
            pk->callback(pk->data, scratch.data, scratch.size);
        else
            control_pack_error(pk, rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL", NULL,
                               err.msg);
        msgpack_sbuffer_destroy(&scratch);
        return;
    }
    char text[128];
    snprintf(text, sizeof text, "stream '%s' is not produced here", stream);
    control_pack_error(pk, "E_UNKNOWN_STREAM", "stream", text);
}

control_t *control_new(void *zmq_ctx, loop_t *loop, const char *endpoint, const char *service,
                       const char *instance, db_t *db, err_t *err)
{
    control_t *self = calloc(1, sizeof *self);
    if (!self) {
        db_destroy(&db);
        err_set(err, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->db = db;
    self->health = -1;
    snprintf(self->service, sizeof self->service, "%s", service);
    snprintf(self->instance, sizeof self->instance, "%s", instance);
    msgpack_sbuffer_init(&self->reply);
    msgpack_unpacked_init(&self->request);
    self->router = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    int zero = 0, one = 1, hwm = 10000;
    int64_t max_request = CONTROL_REQUEST_MAX + 1024;
    if (self->router) {
        zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero);
        /* Bigger requests drop the sender before they are buffered. */
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max_request, sizeof max_request);
        sockopt_liveness(self->router);
        /* A departed peer is an error we see, not a silent drop. */
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    }
    if (!self->router || zmq_bind(self->router, endpoint) != 0) {
        err_set(err, "control socket: cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        control_destroy(&self);
        return NULL;
    }
    if (loop_add_reader(loop, self->router, s_on_request, self) != 0) {
        err_set(err, "event loop is full");
        control_destroy(&self);
        return NULL;
    }
    control_add_handler(self, "health", s_health, self);
    control_add_handler(self, "version", s_version, self);
    control_add_handler(self, "streams", s_streams, self);
    control_add_handler(self, "replay", s_replay, self);
    control_add_handler(self, "dead_letters", s_dead_letters, self);
    return self;
}

void control_destroy(control_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    control_t *self = *self_p;
    if (self->router) {
        loop_remove_reader(self->loop, self->router);
        zmq_close(self->router);
    }
    msgpack_sbuffer_destroy(&self->reply);
    msgpack_unpacked_destroy(&self->request);
    db_destroy(&self->db);
    free(self);
    *self_p = NULL;
}

void control_stats(const control_t *ctl, control_stats_t *out)
{
    *out = ctl->stats;
}

int control_add_handler(control_t *ctl, const char *op, control_handler_fn fn, void *arg)
{
    if (ctl->nhandlers == CONTROL_MAX_HANDLERS || strlen(op) >= sizeof ctl->handlers[0].op)
        return -1;
    for (int i = 0; i < ctl->nhandlers; i++)
        if (strcmp(ctl->handlers[i].op, op) == 0)
            return -1;
    handler_t *h = &ctl->handlers[ctl->nhandlers++];
    snprintf(h->op, sizeof h->op, "%s", op);
    h->fn = fn;
    h->arg = arg;
    return 0;
}

void control_add_producer(control_t *ctl, producer_t *p)
{
    if (ctl->nproducers < CONTROL_MAX_STREAMS)
        ctl->producers[ctl->nproducers++] = p;
}

void control_add_consumer(control_t *ctl, consumer_t *c)
{
    if (ctl->nconsumers < CONTROL_MAX_STREAMS)
        ctl->consumers[ctl->nconsumers++] = c;
}

/* Decodes the request and packs the reply into ctl->reply. */
static void s_dispatch(control_t *ctl, const char *data, size_t size)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &ctl->reply, msgpack_sbuffer_write);
    if (size > CONTROL_REQUEST_MAX) {
        control_pack_error(&pk, "E_TOO_LARGE", NULL, "request exceeds 65536 bytes");
        return;
    }
    size_t off = 0;
    err_t scan;
    if (mpscan_check(data, size, &scan) != 0) {
        char text[ERR_MSG_MAX];
        snprintf(text, sizeof text, "request is not valid msgpack: %s", scan.msg);
        control_pack_error(&pk, "E_MALFORMED", NULL, text);
        return;
    }
    if (msgpack_unpack_next(&ctl->request, data, size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != size || ctl->request.data.type != MSGPACK_OBJECT_MAP) {
        control_pack_error(&pk, "E_MALFORMED", NULL, "request is not one msgpack map");
        return;
    }
    const msgpack_object *req = &ctl->request.data;
    char op[32];
    err_t err;
    if (mp_get_strcpy(req, "op", op, sizeof op, &err) != 0) {
        control_pack_error(&pk, "E_BAD_REQUEST", "op", err.msg);
        return;
    }
    for (int i = 0; i < ctl->nhandlers; i++) {
        if (strcmp(ctl->handlers[i].op, op) == 0) {
            ctl->handlers[i].fn(ctl->handlers[i].arg, req, &pk);
            return;
        }
    }
    char text[96];
    snprintf(text, sizeof text, "unknown op '%s'", op);
    control_pack_error(&pk, "E_UNKNOWN_OP", "op", text);
}

const char *control_handle(control_t *ctl, const void *data, size_t size, size_t *reply_size)
{
    msgpack_sbuffer_clear(&ctl->reply);
    s_dispatch(ctl, data, size);
    *reply_size = ctl->reply.size;
    return ctl->reply.data;
}

/* One request: routing frames (identity, and the empty delimiter a REQ
 * client adds), then the payload; see frames.h. The budget (control.h)
 * leaves what is left queued in the socket; the loop polls it again next
 * turn, after the other sockets and the timers had theirs. */
static int s_on_request(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    control_t *ctl = arg;
    frames_t req;
    uint64_t answered = 0;
    size_t bytes = 0;
    ctl->health = -1;
    ctl->stats.turns++;
    while (answered < CONTROL_TURN_REQUESTS && bytes < CONTROL_TURN_BYTES &&
           frames_recv(&req, socket)) {
        msgpack_sbuffer_clear(&ctl->reply);
        if (frames_is_request(&req)) {
            size_t size = 0;
            const void *data = frames_payload(&req, &size);
            s_dispatch(ctl, data, size);
        } else {
            log_warn("control request of the wrong shape", LF_INT("frames", req.total));
            msgpack_packer pk;
            msgpack_packer_init(&pk, &ctl->reply, msgpack_sbuffer_write);
            control_pack_error(&pk, "E_MALFORMED", NULL,
                               "expected one frame: the request (after REQ's empty delimiter)");
        }
        if (req.n > 0 && frames_reply(socket, &req, ctl->reply.data, ctl->reply.size) != 0)
            log_debug("control reply not delivered: peer gone");
        frames_close(&req);
        answered++;
        bytes += ctl->reply.size;
    }
    int events = 0;
    size_t len = sizeof events;
    if ((answered == CONTROL_TURN_REQUESTS || bytes >= CONTROL_TURN_BYTES) &&
        zmq_getsockopt(socket, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN))
        ctl->stats.budget_stops++;
    ctl->stats.requests += answered;
    if (answered > ctl->stats.max_per_turn)
        ctl->stats.max_per_turn = answered;
    return 0;
}
