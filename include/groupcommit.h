/* groupcommit.h - the transaction behind the ingest door: commit a batch
 * of validated messages at once, each stored at most once by its id.
 *
 * Fast path: ids are almost always new, so the batch is appended in one
 * autocommitted statement (one round trip with the commit). When an id is
 * already stored (the unique index refuses the statement) or the batch
 * repeats an id, one transaction looks the ids up: a stored id gets its
 * original stream and seq back (GROUPCOMMIT_DUPLICATE), a stored id with other
 * content is GROUPCOMMIT_CONFLICT, and only the new ones are appended. New
 * messages are published through the producer after the commit.
 *
 * Lookups: a message the door refused may still be a retry of one stored
 * before the rules changed, which gets its original ack. Such items
 * (item->lookup set) are never stored; all of a batch's lookups are one
 * autocommitted SELECT, so a flood of refused submits costs one round trip
 * per batch, not one per submit.
 *
 * No sockets here: ingest.c reads the requests and writes the replies. */
#ifndef AIRGUARD_GROUPCOMMIT_H
#define AIRGUARD_GROUPCOMMIT_H

#include "db.h"
#include "err.h"
#include "producer.h"
#include "streamwire.h"

/* How a message that was validated stands after groupcommit_commit(). */
typedef enum groupcommit_outcome {
    GROUPCOMMIT_NEW,       /* stored now, at item->seq of our stream */
    GROUPCOMMIT_DUPLICATE, /* stored before: item->stream/seq say where */
    GROUPCOMMIT_CONFLICT,  /* the id is stored with a different message */
    GROUPCOMMIT_ABSENT,    /* a lookup: not stored with this message (answer the refusal) */
} groupcommit_outcome_t;

typedef struct groupcommit_item {
    stream_record_t rec;           /* in: id, type, msg (canonical envelope) */
    size_t slot;                   /* in: its position in the drained batch */
    int extra;                     /* in: the service stores more with it (groupcommit_store_fn) */
    int lookup;                    /* in: refused, only asks "stored with this message?" */
    groupcommit_outcome_t outcome; /* out */
    char stream[STREAM_NAME_MAX + 1]; /* out: where the message is stored */
    int64_t seq;                      /* out: its position there */
} groupcommit_item_t;

/* Writes a service's own effects of one new item (item->extra set) in the
 * transaction that appends it, e.g. fields kept out of the log. Returns
 * DB_OK or the failure; a failure rolls the whole batch back. */
typedef db_rc_t (*groupcommit_store_fn)(void *arg, PGconn *conn, const groupcommit_item_t *item,
                                        err_t *err);

/* Counters a caller keeps across batches; groupcommit_commit() adds to them. */
typedef struct groupcommit_stats {
    uint64_t lookups;        /* lookup items answered */
    uint64_t lookup_queries; /* statements that looked them up (one per batch with any) */
} groupcommit_stats_t;

/* Commits the n items in one transaction (see above), calling store (may
 * be NULL) for each new item with extra set, and after the commit publishes
 * the new ones through p. Returns DB_OK, DB_TRANSIENT (outcome unknown,
 * answer "try again with the same id") or DB_FAILED; the return value is
 * about the items to store only. Lookup items always get an outcome,
 * DUPLICATE (stored before, or stored by this batch, with the same message)
 * or ABSENT (otherwise, also when the lookup failed: the refusal stands).
 * stats may be NULL. */
db_rc_t groupcommit_commit(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                           groupcommit_store_fn store, void *arg, groupcommit_stats_t *stats,
                           err_t *err);

#endif
