/* outbox.c - records derived in a transaction, appended before its commit
 * and published after it; see include/outbox.h. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "grow.h"
#include "uuid.h"

#define OUTBOX_ARENA_INITIAL (64u * 1024u)

/* A record's strings live in the arena as offsets, since it may move. */
typedef struct outbox_rec {
    size_t id_off, type_off, type_len, msg_off, msg_len;
} outbox_rec_t;

struct outbox {
    char emitter[64];         /* the producing instance */
    char origin[96];          /* what the current records derive from */
    int64_t position;         /* its seq, or the timer's due time */
    uint32_t index;           /* records derived from it so far */
    outbox_rec_t *recs;       /* waiting records */
    size_t n, cap;            /* used / allocated recs */
    char *arena;              /* ids, types and envelopes */
    size_t len, arena_cap;    /* used / allocated arena bytes */
    stream_record_t *out;     /* the records as handed to the producer */
    size_t out_cap;           /* allocated out */
    msgpack_sbuffer envelope; /* reused encoding buffer */
};

outbox_t *outbox_new(const char *emitter)
{
    outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->emitter, sizeof self->emitter, "%s", emitter);
    msgpack_sbuffer_init(&self->envelope);
    return self;
}

void outbox_destroy(outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_t *self = *self_p;
    free(self->recs);
    free(self->arena);
    free(self->out);
    msgpack_sbuffer_destroy(&self->envelope);
    free(self);
    *self_p = NULL;
}

void outbox_cause(outbox_t *o, const char *origin, int64_t position)
{
    snprintf(o->origin, sizeof o->origin, "%s", origin);
    o->position = position;
    o->index = 0;
}

size_t outbox_count(const outbox_t *o)
{
    return o->n;
}

int outbox_peek_last(const outbox_t *o, stream_record_t *out)
{
    if (o->n == 0)
        return -1;
    const outbox_rec_t *r = &o->recs[o->n - 1];
    *out = (stream_record_t){.id = o->arena + r->id_off,
                             .id_len = ENVELOPE_ID_LEN,
                             .type = o->arena + r->type_off,
                             .type_len = r->type_len,
                             .msg = o->arena + r->msg_off,
                             .msg_len = r->msg_len};
    return 0;
}

/* The id of the next record: derived from the emitter, the cause and the
 * record's index among those the cause derived. */
static void s_derived_id(const outbox_t *o, char out[ENVELOPE_ID_LEN + 1])
{
    char cause[240];
    int n = snprintf(cause, sizeof cause, "%s\n%s\n%lld\n%u", o->emitter, o->origin,
                     (long long)o->position, o->index);
    if (n < 0 || (size_t)n >= sizeof cause)
        n = (int)sizeof cause - 1; /* cannot happen with these bounds; hash what fits */
    uuid_derive(cause, (size_t)n, out);
}

static int s_grow(outbox_t *o, size_t need_bytes)
{
    if (grow_array((void **)&o->recs, &o->cap, o->n + 1, sizeof *o->recs) != 0)
        return -1;
    if (o->len + need_bytes > o->arena_cap) {
        size_t cap = o->arena_cap ? o->arena_cap : OUTBOX_ARENA_INITIAL;
        while (cap < o->len + need_bytes)
            cap *= 2;
        char *grown = realloc(o->arena, cap);
        if (!grown)
            return -1;
        o->arena = grown;
        o->arena_cap = cap;
    }
    return 0;
}

int outbox_add(outbox_t *o, const char *type, const char *subdistrict, const char *source,
               int64_t time_ms, const char *body, size_t body_len, err_t *err)
{
    envelope_t env;
    memset(&env, 0, sizeof env);
    env.version = ENVELOPE_VERSION;
    s_derived_id(o, env.id);
    snprintf(env.type, sizeof env.type, "%s", type);
    snprintf(env.source, sizeof env.source, "%s", source);
    snprintf(env.subdistrict, sizeof env.subdistrict, "%s", subdistrict);
    env.time_ms = time_ms;
    if (strlen(type) > ENVELOPE_NAME_MAX || strlen(subdistrict) > ENVELOPE_NAME_MAX) {
        err_set(err, "emit %s: type or subdistrict longer than %d bytes", type, ENVELOPE_NAME_MAX);
        return -1;
    }
    msgpack_sbuffer_clear(&o->envelope);
    if (envelope_encode_raw_body(&env, body, body_len, &o->envelope, err) != 0)
        return -1;
    size_t type_len = strlen(type);
    if (s_grow(o, ENVELOPE_ID_LEN + type_len + o->envelope.size) != 0) {
        err_set(err, "emit %s: out of memory", type);
        return -1;
    }
    outbox_rec_t *r = &o->recs[o->n];
    r->id_off = o->len;
    memcpy(o->arena + o->len, env.id, ENVELOPE_ID_LEN);
    o->len += ENVELOPE_ID_LEN;
    r->type_off = o->len;
    r->type_len = type_len;
    memcpy(o->arena + o->len, type, type_len);
    o->len += type_len;
    r->msg_off = o->len;
    r->msg_len = o->envelope.size;
    memcpy(o->arena + o->len, o->envelope.data, o->envelope.size);
    o->len += o->envelope.size;
    o->n++;
    o->index++;
    return 0;
}

db_rc_t outbox_append(outbox_t *o, producer_t *p, err_t *err)
{
    if (o->n == 0)
        return DB_OK;
    if (o->n > o->out_cap) {
        stream_record_t *grown = realloc(o->out, o->n * sizeof *grown);
        if (!grown) {
            err_set(err, "out of memory for %zu derived records", o->n);
            return DB_TRANSIENT;
        }
        o->out = grown;
        o->out_cap = o->n;
    }
    for (size_t i = 0; i < o->n; i++) {
        const outbox_rec_t *r = &o->recs[i];
        o->out[i] = (stream_record_t){
            .id = o->arena + r->id_off,
            .id_len = ENVELOPE_ID_LEN,
            .type = o->arena + r->type_off,
            .type_len = r->type_len,
            .msg = o->arena + r->msg_off,
            .msg_len = r->msg_len,
        };
    }
    return producer_append_in_tx(p, o->out, o->n, err);
}

static void s_clear(outbox_t *o)
{
    o->n = 0;
    o->len = 0;
}

void outbox_committed(outbox_t *o, producer_t *p)
{
    if (o->n > 0)
        producer_committed(p, o->out, o->n);
    s_clear(o);
}

void outbox_discard(outbox_t *o, producer_t *p)
{
    if (o->n > 0 && p)
        producer_forget(p);
    s_clear(o);
}
