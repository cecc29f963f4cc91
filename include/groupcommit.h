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
} groupcommit_outcome_t;

typedef struct groupcommit_item {
    stream_record_t rec;           /* in: id, type, msg (canonical envelope) */
    size_t slot;                   /* in: its position in the drained batch */
    int extra;                     /* in: the service stores more with it (groupcommit_store_fn) */
    groupcommit_outcome_t outcome; /* out */
    char stream[STREAM_NAME_MAX + 1]; /* out: where the message is stored */
    int64_t seq;                      /* out: its position there */
} groupcommit_item_t;

/* Writes a service's own effects of one new item (item->extra set) in the
 * transaction that appends it, e.g. fields kept out of the log. Returns
 * DB_OK or the failure; a failure rolls the whole batch back. */
typedef db_rc_t (*groupcommit_store_fn)(void *arg, PGconn *conn, const groupcommit_item_t *item,
                                        err_t *err);

/* Commits the n items in one transaction (see above), calling store (may
 * be NULL) for each new item with extra set, and after the commit publishes
 * the new ones through p. Returns DB_OK, DB_TRANSIENT (outcome unknown,
 * answer "try again with the same id") or DB_FAILED. */
db_rc_t groupcommit_commit(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                           groupcommit_store_fn store, void *arg, err_t *err);

#endif
