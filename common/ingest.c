/* ingest.c - the door: read submits from a ROUTER, validate them, hand the
 * valid ones to groupcommit.c, answer each after the commit; see
 * include/ingest.h. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "control.h"
#include "frames.h"
#include "log.h"

typedef struct slot {
    frames_t req;          /* the request, held until it is answered (at most 65 KiB) */
    msgpack_sbuffer canon; /* canonical envelope, reused */
    char id[ENVELOPE_ID_LEN + 1];
    char type[ENVELOPE_NAME_MAX + 1];
    /* A refused message waits for its lookup with its refusal: */
    const char *code; /* the validator's stable E_... string */
    char field[64];   /* the offending field, "" for none */
    err_t refusal;    /* the message naming it */
} slot_t;

struct ingest_server {
    loop_t *loop;         /* borrowed */
    void *router;         /* borrowed, bound by the caller */
    producer_t *producer; /* borrowed */
    db_t *db;             /* borrowed */
    ingest_validate_fn validate;
    groupcommit_store_fn store;
    void *arg;          /* for validate and store */
    envelope_t env;     /* reused decoder */
    envelope_t scratch; /* a refused message decoded again, untouched by validate */
    msgpack_sbuffer reply;
    slot_t slots[INGEST_BATCH_MAX];
    groupcommit_item_t items[INGEST_BATCH_MAX];
    ingest_stats_t stats;
    groupcommit_stats_t gc; /* lookups, added to stats */
};

static int s_on_readable(loop_t *loop, void *socket, void *arg);

int ingest_socket_options(void *router)
{
    int64_t max = INGEST_SOCKET_MAX_BYTES;
    int one = 1;
    if (zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        return -1;
    return 0;
}

ingest_server_t *ingest_server_new(loop_t *loop, void *router, producer_t *p, db_t *db,
                                   ingest_validate_fn validate, groupcommit_store_fn store,
                                   void *arg, err_t *err)
{
    ingest_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->router = router;
    self->producer = p;
    self->db = db;
    self->validate = validate;
    self->store = store;
    self->arg = arg;
    envelope_init(&self->env);
    envelope_init(&self->scratch);
    msgpack_sbuffer_init(&self->reply);
    for (int i = 0; i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_init(&self->slots[i].canon);
    if (loop_add_reader(loop, router, s_on_readable, self) != 0) {
        err_set(err, "event loop is full");
        ingest_server_destroy(&self);
        return NULL;
    }
    return self;
}

void ingest_server_destroy(ingest_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_server_t *self = *self_p;
    loop_remove_reader(self->loop, self->router);
    envelope_fini(&self->env);
    envelope_fini(&self->scratch);
    msgpack_sbuffer_destroy(&self->reply);
    for (int i = 0; i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_destroy(&self->slots[i].canon);
    free(self);
    *self_p = NULL;
}

void ingest_server_stats(const ingest_server_t *s, ingest_stats_t *out)
{
    *out = s->stats;
    out->lookups = s->gc.lookups;
    out->lookup_queries = s->gc.lookup_queries;
}

/* Sends the packed reply to the slot's peer and releases its request. */
static void s_reply(ingest_server_t *self, slot_t *slot)
{
    if (frames_reply(self->router, &slot->req, self->reply.data, self->reply.size) != 0)
        log_debug("reply not delivered: client gone");
    frames_close(&slot->req);
}

static void s_reply_error(ingest_server_t *self, slot_t *slot, const char *code, const char *field,
                          const char *text)
{
    msgpack_sbuffer_clear(&self->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->reply, msgpack_sbuffer_write);
    control_pack_error_id(&pk, code, field, text, slot->id[0] ? slot->id : NULL);
    s_reply(self, slot);
}

static void s_reply_ok(ingest_server_t *self, slot_t *slot, const groupcommit_item_t *item)
{
    msgpack_sbuffer_clear(&self->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->reply, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    control_pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    control_pack_str(&pk, "id");
    control_pack_str(&pk, slot->id);
    control_pack_str(&pk, "stream");
    control_pack_str(&pk, item->stream);
    control_pack_str(&pk, "seq");
    msgpack_pack_int64(&pk, item->seq);
    control_pack_str(&pk, "duplicate");
    if (item->outcome == GROUPCOMMIT_DUPLICATE)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_reply(self, slot);
}

/* The field an envelope error names ("field 'time': ..."), for the reply's
 * "field" key; NULL when the message names none. */
static const char *s_field_of(const char *msg, char *out, size_t cap)
{
    const char *p = strstr(msg, "field '");
    if (!p)
        return NULL;
    p += 7;
    size_t n = strcspn(p, "'");
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Reads one request into slot. Returns 1 for a request, 0 when none is
 * waiting, -1 for a request of the wrong shape (answered, or dropped when
 * it came without an identity). */
static int s_read_request(ingest_server_t *self, slot_t *slot)
{
    slot->id[0] = '\0';
    if (!frames_recv(&slot->req, self->router))
        return 0;
    if (frames_is_request(&slot->req))
        return 1;
    log_warn("submit of the wrong shape", LF_INT("frames", slot->req.total));
    self->stats.misshapen++;
    s_reply_error(self, slot, "E_MALFORMED", NULL,
                  "expected one frame: the envelope (after REQ's empty delimiter)");
    return -1;
}

/* Makes slot index's message (decoded in env, canonical form in the
 * slot's canon) item index of the batch. */
static void s_join(ingest_server_t *self, size_t index, const envelope_t *env, int extra,
                   int lookup)
{
    slot_t *slot = &self->slots[index];
    memcpy(slot->id, env->id, sizeof slot->id);
    memcpy(slot->type, env->type, sizeof slot->type);
    self->items[index] = (groupcommit_item_t){
        .rec = {.id = slot->id,
                .id_len = strlen(slot->id),
                .type = slot->type,
                .type_len = strlen(slot->type),
                .msg = slot->canon.data,
                .msg_len = slot->canon.size},
        .slot = index,
        .extra = extra,
        .lookup = lookup,
    };
}

/* A refused message whose id is stored with the same content gets its
 * original ack. The lookup is not made here, one round trip per refused
 * submit on the loop that also serves ZAP and the other submits: the
 * message joins the batch as a lookup item (its canonical form as
 * received, the refusal kept in its slot) and groupcommit.c looks up all
 * of a batch's at once. Returns 0 when it joins, -1 when it cannot (it is
 * then refused at once). */
static int s_defer_refusal(ingest_server_t *self, size_t index, const zmq_msg_t *payload,
                           const char *code, const char *field, const err_t *why)
{
    slot_t *slot = &self->slots[index];
    err_t err;
    if (envelope_decode(&self->scratch, zmq_msg_data((zmq_msg_t *)payload), zmq_msg_size(payload),
                        &err) != ENVELOPE_OK)
        return -1;
    msgpack_sbuffer_clear(&slot->canon);
    if (envelope_encode(&self->scratch, &slot->canon, &err) != 0)
        return -1;
    slot->code = code;
    snprintf(slot->field, sizeof slot->field, "%s", field ? field : "");
    slot->refusal = *why;
    s_join(self, index, &self->scratch, 0, 1);
    return 0;
}

/* Decodes, validates and canonicalises the request in slot index; 0 if it
 * joins the batch, -1 if it was answered. */
static int s_admit(ingest_server_t *self, size_t index, zmq_msg_t *payload)
{
    slot_t *slot = &self->slots[index];
    err_t err;
    char field_buf[64];
    slot->id[0] = '\0';
    envelope_status_t st =
        envelope_decode(&self->env, zmq_msg_data(payload), zmq_msg_size(payload), &err);
    if (st != ENVELOPE_OK) {
        self->stats.rejected++;
        s_reply_error(self, slot, envelope_status_code(st),
                      s_field_of(err.msg, field_buf, sizeof field_buf), err.msg);
        return -1;
    }
    /* From here on every answer names the message it is about. */
    memcpy(slot->id, self->env.id, sizeof slot->id);
    const char *code = "E_INTERNAL", *field = NULL;
    const char *user_id = zmq_msg_gets(payload, "User-Id");
    int verdict = self->validate
                      ? self->validate(self->arg, &self->env, user_id, index, &code, &field, &err)
                      : 0;
    if (verdict < 0) {
        /* Never tell an unauthorised sender what is stored. */
        if (strcmp(code, "E_FORBIDDEN") != 0 &&
            s_defer_refusal(self, index, payload, code, field, &err) == 0)
            return 0;
        self->stats.rejected++;
        s_reply_error(self, slot, code, field, err.msg);
        return -1;
    }
    msgpack_sbuffer_clear(&slot->canon);
    if (envelope_encode(&self->env, &slot->canon, &err) != 0) {
        self->stats.internal++;
        log_error("decoded envelope failed to encode", LF_STR("error", err.msg));
        s_reply_error(self, slot, "E_INTERNAL", NULL, "not stored: internal error");
        return -1;
    }
    s_join(self, index, &self->env, verdict == 1, 0);
    return 0;
}

static int s_on_readable(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    (void)socket;
    ingest_server_t *self = arg;
    size_t n = 0;
    /* Refused requests count against the turn too, so a flood of bad ones
     * cannot keep timers and other sockets waiting. */
    for (int reads = 0; n < INGEST_BATCH_MAX && reads < 2 * INGEST_BATCH_MAX; reads++) {
        int got = s_read_request(self, &self->slots[n]);
        if (got == 0)
            break;
        if (got < 0)
            continue;
        frames_t *req = &self->slots[n].req;
        int admitted = s_admit(self, n, &req->part[req->n - 1]);
        if (admitted == 0)
            n++;
    }
    if (n == 0)
        return 0;

    err_t err;
    size_t nstore = 0;
    for (size_t i = 0; i < n; i++)
        nstore += !self->items[i].lookup;
    db_rc_t rc = groupcommit_commit(self->producer, self->db, self->items, n, self->store,
                                    self->arg, &self->gc, &err);
    if (rc == DB_OK && nstore > 0)
        self->stats.batches++;
    else
        log_warn("submit batch not stored", LF_INT("n", n), LF_STR("error", err.msg),
                 LF_STR("answer", rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL"));
    for (size_t i = 0; i < n; i++) {
        slot_t *slot = &self->slots[i];
        const groupcommit_item_t *item = &self->items[i];
        if (item->lookup && item->outcome != GROUPCOMMIT_DUPLICATE) {
            self->stats.rejected++;
            s_reply_error(self, slot, slot->code, slot->field[0] ? slot->field : NULL,
                          slot->refusal.msg);
        } else if (item->lookup) {
            self->stats.duplicates++;
            s_reply_ok(self, slot, item);
        } else if (rc == DB_TRANSIENT) {
            self->stats.unavailable++;
            s_reply_error(
                self, slot, "E_UNAVAILABLE", NULL,
                "database unavailable: retry with the same id (it is stored at most once)");
        } else if (rc != DB_OK) {
            self->stats.internal++;
            s_reply_error(self, slot, "E_INTERNAL", NULL,
                          "internal error: retry with the same id (it is stored at most once)");
        } else if (item->outcome == GROUPCOMMIT_CONFLICT) {
            self->stats.rejected++;
            s_reply_error(self, slot, "E_ID_CONFLICT", "id",
                          "field 'id': already used for a different message");
        } else {
            if (item->outcome == GROUPCOMMIT_NEW)
                self->stats.accepted++;
            else
                self->stats.duplicates++;
            s_reply_ok(self, slot, item);
        }
    }
    return 0;
}
