/* consumer_live.c - the live path: the SUB socket's messages and
 * heartbeats. Messages that follow the offset are copied into an arena and
 * applied as one batch per source per drain (consumer_txn.c); duplicates
 * are dropped; a gap, or a heartbeat ahead of us, is left to replay
 * (consumer_replay.c). */
#include "consumer_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "frames.h"
#include "log.h"

#define LIVE_ARENA_INITIAL (256u * 1024u)

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
        consumer_txn_halt(c, src, pub->stream_id);
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
        if (n > 0 && consumer_txn_db_ready(c))
            consumer_txn_apply(c, src, c->batch, n);
        else if (n > 0)
            src->need_replay = 1;
    }
    c->nlive = 0;
    c->live_len = 0;
}

int consumer_live_on_sub(loop_t *loop, void *socket, void *arg)
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
            consumer_replay_request(c, &c->sources[s]);
    return 0;
}
