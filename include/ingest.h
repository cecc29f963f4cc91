/* ingest.h - the door through which outside messages enter a stream:
 * validate, commit in groups, acknowledge only after the commit, publish.
 *
 * Contract (docs/streams.md; stream contract point 1): a submit is answered
 * "ok" only after its transaction committed; a message id that is already
 * stored gets the original answer (same stream and seq, "duplicate":true),
 * never a second copy; the same id with a different message is refused
 * (E_ID_CONFLICT). While the database is unreachable every submit is
 * answered E_UNAVAILABLE ("try again with the same id"), never "ok".
 *
 * Group commit: each turn of the loop drains whatever requests have
 * arrived (up to INGEST_BATCH_MAX) and commits them in one transaction with
 * one statement, so under load batches grow and throughput follows the database's
 * batch limit, while a lone request still costs one commit.
 *
 * The caller creates and binds the ROUTER socket (so it can set up CURVE)
 * and supplies a validate callback for its event catalogue. Replies:
 *   {"ok":true, "id":ID, "stream":S, "seq":N, "duplicate":bool}
 *   {"ok":false, "code":C, "field":F (when one is at fault), "error":text} */
#ifndef AIRGUARD_INGEST_H
#define AIRGUARD_INGEST_H

#include "db.h"
#include "envelope.h"
#include "err.h"
#include "groupcommit.h"
#include "loop.h"
#include "producer.h"

#define INGEST_BATCH_MAX 1024
/* Largest frame the socket accepts at all: ZeroMQ drops the sender's
 * connection on a bigger one before buffering it, so a client cannot make
 * us hold more than this per message. */
#define INGEST_SOCKET_MAX_BYTES (ENVELOPE_MAX_BYTES + 1024)

/* Validation of a decoded envelope beyond the envelope itself. user_id is
 * the sender's authenticated name (the ZAP "User-Id" of the message, see
 * zap.h), NULL on a socket without authentication; slot is the request's
 * position in the batch (0..INGEST_BATCH_MAX-1), for a service that keeps
 * per-request data until groupcommit_store_fn. The callback may remove entries
 * from env->body (fields that must not be stored in the log); the canonical
 * encoding is made afterwards. Returns 0 to accept, 1 to accept with effects
 * of its own to store (see groupcommit_store_fn); -1 to refuse, setting *code (a
 * stable E_... string), *field (the offending field or NULL; it must stay
 * valid until the next call) and err (a message naming it).
 *
 * A refused message whose id is already stored with the same content is
 * answered with its original ack instead: a retry must not be refused
 * because the rules changed after its first submit was stored. The lookup
 * is batched with the turn's group commit (one statement for all of the
 * turn's refused messages), so its answer goes out with the others'. */
typedef int (*ingest_validate_fn)(void *arg, envelope_t *env, const char *user_id, size_t slot,
                                  const char **code, const char **field, err_t *err);

typedef struct ingest_server ingest_server_t;

/* Serves submits arriving on router (bound by the caller, borrowed; set
 * ingest_socket_options() on it before binding) and registers it with loop.
 * store may be NULL. */
ingest_server_t *ingest_server_new(loop_t *loop, void *router, producer_t *p, db_t *db,
                                   ingest_validate_fn validate, groupcommit_store_fn store,
                                   void *arg, err_t *err);

/* Options a submit socket needs before zmq_bind (ZeroMQ copies them to the
 * listener at bind time): the frame size limit and ROUTER_MANDATORY.
 * Returns 0, or -1 if ZeroMQ refused one. */
int ingest_socket_options(void *router);
void ingest_server_destroy(ingest_server_t **self_p);

/* Counters for the control socket and benchmarks. */
typedef struct ingest_stats {
    uint64_t accepted;       /* acknowledged as new */
    uint64_t duplicates;     /* acknowledged as already stored */
    uint64_t rejected;       /* refused as invalid */
    uint64_t unavailable;    /* answered "try again" */
    uint64_t internal;       /* answered E_INTERNAL */
    uint64_t misshapen;      /* requests of the wrong frame shape (answered or dropped) */
    uint64_t batches;        /* group commits that stored (one transaction each) */
    uint64_t lookups;        /* refused messages looked up (were they stored before?) */
    uint64_t lookup_queries; /* statements that did those lookups: one per batch */
} ingest_stats_t;
void ingest_server_stats(const ingest_server_t *s, ingest_stats_t *out);

#endif
