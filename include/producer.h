/* producer.h - the writing side of a stream (docs/streams.md; the stream
 * contract, points 2-4).
 *
 * A producer owns one stream, named after the producing instance
 * ("events.intake-1"). Records are appended to <schema>.stream_log in one
 * statement that also takes their sequence numbers from the stream's row in
 * stream_head, whose row lock (held to the end of the transaction) makes
 * them gap-free and commit-ordered: inside the caller's transaction, or
 * autocommitted when no transaction is open. Only after the COMMIT succeeded
 * does producer_committed() publish them on the PUB socket; a crash in
 * between is healed by the heartbeat (consumers see last_seq ahead of what
 * they have and replay).
 *
 * Usage:
 *   BEGIN; producer_append_in_tx(p, recs, n, &err); ...other effects...; COMMIT;
 *   producer_committed(p, recs, n);          // on success
 *   producer_forget(p);                      // after a ROLLBACK or failure
 *
 * The producer uses the caller's db_t (borrowed) and PUB socket (borrowed,
 * already bound). */
#ifndef AIRGUARD_PRODUCER_H
#define AIRGUARD_PRODUCER_H

#include <msgpack.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "streamwire.h"

typedef struct producer producer_t;

/* Returns NULL on a bad stream name (err says why) or out of memory. */
producer_t *producer_new(db_t *db, void *pub, const char *stream, err_t *err);
void producer_destroy(producer_t **self_p);

const char *producer_stream(const producer_t *p);

/* The stream's identity (a UUID made with the stream; empty before the
 * first producer_load()). Heartbeats, data frames and replay replies carry
 * it, so consumers can tell a stream recreated from scratch from the one
 * they followed. */
const char *producer_stream_id(const producer_t *p);

/* The last sequence number known committed (0 before the first). */
int64_t producer_last_seq(const producer_t *p);

/* Makes us the stream's only writer (a session advisory lock on the
 * stream's name, taken again on every new connection), creates the
 * stream's counter row if missing, and reads the committed head and the
 * stream's identity; call at start and whenever a transaction's outcome is
 * unknown. DB_FAILED, with err naming the stream and the holder, when
 * another process holds the stream. */
db_rc_t producer_load(producer_t *p, err_t *err);

/* Inside the caller's open transaction (or, called outside one, as a
 * transaction of its own that commits on return): assigns recs[i].seq and writes the
 * n records to the log (one statement). recs[i].id must be a UUID not yet in the
 * log (a duplicate fails the statement with SQLSTATE 23505). */
db_rc_t producer_append_in_tx(producer_t *p, stream_record_t *recs, size_t n, err_t *err);

/* After COMMIT: publishes recs (as appended) and advances the known head. */
void producer_committed(producer_t *p, const stream_record_t *recs, size_t n);

/* After a failed or rolled-back transaction: the known head is not trusted
 * until the next producer_load(), which the next heartbeat does itself (an
 * append needs no known head: it takes its numbers from stream_head). */
void producer_forget(producer_t *p);

/* Publishes {stream, last_seq}; call about once a second. */
void producer_heartbeat(producer_t *p);

/* Answers a replay request: packs a reply (see streamwire.h) for records
 * from..from+max-1 into pk, reading with db (borrowed; the control
 * socket's own connection, so a replay never holds up the writer's), or
 * with the producer's when db is NULL. Returns DB_OK, or the failure (err
 * says why; nothing was packed). */
db_rc_t producer_replay(producer_t *p, db_t *db, int64_t from, int64_t max, msgpack_packer *pk,
                        err_t *err);

#endif
