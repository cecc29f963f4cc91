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
    db_t *db;     /* borrowed, for health */
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
    err_t err;
    /* A round trip, not just the connection state: a server that died
     * since the last statement still looks connected to libpq. */
    int up = db_exec(ctl->db, "SELECT 1", &err) == DB_OK;
    msgpack_pack_map(pk, up ? 5 : 7);
    control_pack_str(pk, "ok");
    if (up)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (!up) {
        control_pack_str(pk, "code");
        control_pack_str(pk, "E_UNAVAILABLE");
        control_pack_str(pk, "error");
        control_pack_str(pk, err.msg);
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
        msgpack_pack_map(pk, 2);
        control_pack_str(pk, "stream");
        control_pack_str(pk, producer_stream(ctl->producers[i]));
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
            msgpack_pack_map(pk, 3);
            control_pack_str(pk, "stream");
            control_pack_str(pk, stream);
            control_pack_str(pk, "applied");
            msgpack_pack_int64(pk, applied);
            control_pack_str(pk, "head");
            msgpack_pack_int64(pk, head);
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
        db_rc_t rc = producer_replay(ctl->producers[i], from, max, &spk, &err);
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
        err_set(err, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->db = db;
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
    free(self);
    *self_p = NULL;
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
    if (envelope_check_msgpack(data, size, &scan) != 0) {
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
 * client adds), then the payload; see frames.h. A budget per turn keeps a
 * flood of requests from starving the loop's other sockets and timers. */
static int s_on_request(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    control_t *ctl = arg;
    frames_t req;
    for (int budget = 0; budget < 100 && frames_recv(&req, socket); budget++) {
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
    }
    return 0;
}
