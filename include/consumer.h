/* consumer.h - the reading side of streams (docs/streams.md; the stream
 * contract, points 5-6): apply every message of every followed stream
 * exactly once, whatever crashes.
 *
 * For each stream the consumer keeps `applied` in <schema>.stream_offset
 * and updates it in the same transaction as the effects, so a crash either
 * keeps both or neither. Live messages arrive on a SUB socket; on start, on
 * a gap (live seq > applied+1), and when a heartbeat shows last_seq >
 * applied, the consumer asks the producer's control socket for a replay.
 * Duplicates (seq <= applied) are dropped; the offset row is read FOR
 * UPDATE at the start of each batch, so even a stale in-memory position or a
 * second copy of the same consumer cannot apply a message twice.
 *
 * A message that can never be processed (envelope does not decode, the
 * apply function rejects it, or it failed CONSUMER_MAX_FAILURES times)
 * goes to dead_letter with the reason, and the stream moves on. While the
 * database is unreachable nothing is dead-lettered: the consumer backs off
 * and replays from its stored offset once it is back. */
#ifndef AIRGUARD_CONSUMER_H
#define AIRGUARD_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "envelope.h"
#include "err.h"
#include "loop.h"
#include "streamwire.h"

#define CONSUMER_MAX_SOURCES 16
#define CONSUMER_MAX_FAILURES 3
#define CONSUMER_BATCH_MAX 4000

typedef struct consumer consumer_t;

/* Where a followed stream comes from. */
typedef struct consumer_source {
    const char *stream;           /* e.g. "events.intake-1" */
    const char *pub_endpoint;     /* producer's PUB, e.g. "tcp://127.0.0.1:7101" */
    const char *control_endpoint; /* producer's control socket, for replay */
} consumer_source_t;

/* What applying one message came to. */
typedef enum consumer_apply_rc {
    APPLY_OK = 0,        /* effects written in the open transaction */
    APPLY_REJECT = 1,    /* can never be processed: dead-letter it (why says why) */
    APPLY_TRANSIENT = 2, /* database unreachable: retry the batch later */
    APPLY_FAILED = 3,    /* a statement failed: count a failure, dead-letter after the limit */
} consumer_apply_rc_t;

/* Applies one message of stream inside the consumer's open transaction on
 * conn. env is the decoded envelope, rec its stream position. It may run
 * statements on conn, or (faster) only record what to write and leave the
 * writing to the flush hook, once for the whole batch. Writes nothing
 * outside the transaction. */
typedef consumer_apply_rc_t (*consumer_apply_fn)(void *arg, db_t *db, PGconn *conn,
                                                 const char *stream, const stream_record_t *rec,
                                                 const envelope_t *env, err_t *why);

/* Writes what the applies of this transaction buffered, before the offset
 * is stored and the transaction commits. DB_FAILED (the data made a
 * statement fail) makes the consumer retry the batch one message per
 * transaction, so the message at fault is found and handled like a failed
 * apply; DB_TRANSIENT backs off. */
typedef db_rc_t (*consumer_flush_fn)(void *arg, db_t *db, PGconn *conn, err_t *err);

/* Called after every committed transaction (for example to publish an
 * outbox), and after every rolled-back one with committed = 0 (drop what
 * was buffered, forget cached state the transaction changed). */
typedef void (*consumer_commit_fn)(void *arg, int committed);

/* What the consumer calls; apply is required, the rest may be NULL. */
typedef struct consumer_hooks {
    consumer_apply_fn apply;      /* each message, inside the transaction */
    consumer_flush_fn flush;      /* once per transaction, before the offset and COMMIT */
    consumer_commit_fn on_commit; /* after COMMIT or ROLLBACK */
    void *arg;                    /* passed to each */
} consumer_hooks_t;

/* Creates a consumer named name (offsets are per name and stream) that
 * follows the n sources; strings and hooks are copied. zmq_ctx is
 * borrowed. Opens its sockets and registers them and a timer with loop.
 * Returns NULL with err on a bad argument or socket failure. */
consumer_t *consumer_new(void *zmq_ctx, loop_t *loop, db_t *db, const char *name,
                         const consumer_source_t *sources, size_t n, const consumer_hooks_t *hooks,
                         err_t *err);

/* Unregisters from the loop, closes sockets, frees; *self_p = NULL. */
void consumer_destroy(consumer_t **self_p);

/* Position of a followed stream: applied (committed) and the highest seq
 * seen announced. -1 if the stream is not followed. */
int consumer_position(const consumer_t *c, const char *stream, int64_t *applied, int64_t *head);

/* Stream identity (docs/streams.md): each followed stream's identity is
 * stored beside its offset when first heard. A producer that answers with
 * another identity under the same name (its database was replaced, or a
 * restore went wrong) makes the consumer stop following that stream: it
 * logs why, stores the reason, and applies nothing from it until an
 * operator resets it. */

/* 1 when stream is halted that way. */
int consumer_halted(const consumer_t *c, const char *stream);

/* The identity followed for stream ("" until heard); NULL if not followed. */
const char *consumer_stream_id(const consumer_t *c, const char *stream);

/* The operator's reset: follow stream anew from seq 1, adopting whatever
 * identity it has now (offset to 0, failure counts cleared). Effects
 * already applied from the old stream stay. */
db_rc_t consumer_reset_stream(consumer_t *c, const char *stream, err_t *err);

/* 1 when every followed stream is applied up to the head last announced,
 * nothing is waiting for a replay, and none is halted. */
int consumer_caught_up(const consumer_t *c);

/* Number of followed streams and the name of the i-th. */
size_t consumer_source_count(const consumer_t *c);
const char *consumer_source_stream(const consumer_t *c, size_t i);

/* The name its offsets and dead letters are kept under. */
const char *consumer_name(const consumer_t *c);

/* Test hook: drop one in every `every` live data messages, as if the
 * network lost them (0 turns it off); replay must heal each hole. */
void consumer_drop_live_for_test(consumer_t *c, int every);

#endif
