/* consumer_replay.c - catching up: the DEALER socket to each producer's
 * control endpoint, replay requests (Lazy Pirate: abandoned with their
 * socket after a timeout), their replies, and the prefetch of the next
 * batch while this one is applied (consumer_txn.c). */
#include "consumer_internal.h"

#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "frames.h"
#include "log.h"

#define REPLAY_TIMEOUT_MS 3000

/* Lazy Pirate: a request that got no answer in time is abandoned with its
 * socket, so a late answer can never be mistaken for the next one. */
int consumer_replay_reset_dealer(consumer_t *c, source_t *src)
{
    err_t err;
    if (src->dealer) {
        loop_remove_reader(c->loop, src->dealer);
        zmq_close(src->dealer);
    }
    src->dealer = consumer_new_socket(c, ZMQ_DEALER, src->control_endpoint, &err);
    src->replay_inflight = 0;
    if (!src->dealer) {
        log_error("cannot open replay socket", LF_STR("stream", src->stream),
                  LF_STR("error", err.msg));
        return -1;
    }
    return loop_add_reader(c->loop, src->dealer, consumer_replay_on_dealer, c);
}

/* Sends a replay request for src from seq `from`. */
static void s_send_replay(consumer_t *c, source_t *src, int64_t from)
{
    streamwire_pack_replay_request(&c->request, src->stream, from, STREAMWIRE_REPLAY_MAX_RECORDS);
    if (zmq_send(src->dealer, c->request.data, c->request.size, ZMQ_DONTWAIT) < 0) {
        consumer_replay_reset_dealer(c, src);
        return;
    }
    src->need_replay = 0;
    src->replay_inflight = 1;
    src->replay_deadline = aclock_system_mono_ms() + REPLAY_TIMEOUT_MS;
}

void consumer_replay_request(consumer_t *c, source_t *src)
{
    if (src->halted || src->replay_inflight || !consumer_txn_db_ready(c) ||
        aclock_system_mono_ms() < src->hold_until)
        return;
    if (!src->offset_loaded) {
        err_t err;
        db_rc_t rc = consumer_txn_load_offset(c, src, &err);
        if (rc != DB_OK) {
            consumer_txn_backoff(c, err.msg);
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

int consumer_replay_on_dealer(loop_t *loop, void *socket, void *arg)
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
        c->retry_at = aclock_system_mono_ms() + CONSUMER_RETRY_MAX_MS;
        frames_close(&in);
        return 0;
    }
    if (!consumer_txn_identity_ok(c, src, reply.stream_id)) {
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
    if (n > 0 && reply.to < reply.last_seq && consumer_txn_db_ready(c) &&
        aclock_system_mono_ms() >= src->hold_until)
        s_send_replay(c, src, reply.to + 1);
    if (n > 0) {
        consumer_txn_apply(c, src, c->batch, n);
        log_debug("replayed", LF_STR("stream", src->stream), LF_INT("n", n),
                  LF_INT("applied", src->applied), LF_INT("last_seq", reply.last_seq));
    }
    frames_close(&in);
    /* Keep asking while the producer is ahead and we are making progress;
     * a reply that brought nothing usable is asked again only later. */
    if (src->applied < src->head && consumer_txn_db_ready(c)) {
        src->need_replay = 1;
        if (n == 0)
            src->hold_until = aclock_system_mono_ms() + CONSUMER_HOLD_BASE_MS;
    }
    if (src->need_replay)
        consumer_replay_request(c, src);
    return 0;
}
