/* outbox.h - the records a service derives inside one transaction
 * (consume-and-produce): collected while the transaction runs, appended to
 * the service's stream just before it commits, published only after it
 * committed, dropped if it rolled back.
 *
 * Each record is a full envelope (source = the instance, time = the
 * service's clock) whose id is derived from who derived it and what caused
 * it: the emitting instance, the input's stream and seq (or the fired
 * timer's key and due time) and the record's index among those it caused.
 * Two services deriving from the same input get different ids. Re-applying the same input after a
 * crash therefore derives the same ids, and the log's unique msg_id makes a second copy impossible,
 * not merely unlikely. */
#ifndef AIRGUARD_OUTBOX_H
#define AIRGUARD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "producer.h"

typedef struct outbox outbox_t;

/* emitter names the producing instance (copied; it enters every derived
 * id). Returns NULL if out of memory. */
outbox_t *outbox_new(const char *emitter);
void outbox_destroy(outbox_t **self_p);

/* Names the input that what follows is derived from: a stream and seq, or a
 * timer ("timer:<key>") and its due time. Resets the per-input index. */
void outbox_cause(outbox_t *o, const char *origin, int64_t position);

/* Adds a record of type with body (one packed msgpack map, copied) for
 * subdistrict, stamped with source and time_ms. Returns 0, or -1 with err
 * (bad type, body not a map, out of memory). */
int outbox_add(outbox_t *o, const char *type, const char *subdistrict, const char *source,
               int64_t time_ms, const char *body, size_t body_len, err_t *err);

/* Number of records waiting. */
size_t outbox_count(const outbox_t *o);

/* The last record added (id, type and envelope borrowed until the next
 * add or clear), for tests and logs; -1 when empty. */
int outbox_peek_last(const outbox_t *o, stream_record_t *out);

/* Appends the waiting records to p's stream inside the caller's open
 * transaction (one statement). */
db_rc_t outbox_append(outbox_t *o, producer_t *p, err_t *err);

/* After COMMIT: publishes what was appended and empties the outbox. */
void outbox_committed(outbox_t *o, producer_t *p);

/* After a rollback: drops the records (the producer's head is reloaded). */
void outbox_discard(outbox_t *o, producer_t *p);

#endif
