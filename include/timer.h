/* timer.h - persistent deadlines (a task's acknowledge-by, a shift's end, a
 * day's close): rows in the service's own timer table, set inside the
 * transaction of the decision that made them and fired inside the
 * transaction that applies their consequences, so a deadline fires exactly
 * once across restarts and crashes.
 *
 * The service skeleton (service.h) owns firing: it takes due timers in
 * batches when its clock passes them, calls the service's timer handler for
 * each inside one transaction, and commits the deletion with the handler's
 * effects and derived records. These functions are the SQL underneath. */
#ifndef AIRGUARD_TIMER_H
#define AIRGUARD_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "pgarray.h"

#define TIMER_KEY_MAX 127
#define TIMER_KIND_MAX 63
#define TIMER_PAYLOAD_MAX 4096
#define TIMER_BATCH_MAX 500
#define TIMER_NONE INT64_MAX /* next_due when no timer is set */

/* One timer as taken for firing; strings point into the caller's storage. */
typedef struct timer_row {
    char key[TIMER_KEY_MAX + 1];   /* the deadline's name */
    char kind[TIMER_KIND_MAX + 1]; /* what the handler should do */
    int64_t due_ms;                /* UTC ms */
    const char *payload;           /* what the setter stored (borrowed) */
    size_t payload_len;
    int failures; /* earlier failed firings */
} timer_row_t;

/* Sets (or moves) the timer key in the open transaction on conn. */
db_rc_t timer_set(db_t *db, PGconn *conn, const char *key, const char *kind, int64_t due_ms,
                  const char *payload, size_t payload_len, err_t *err);

/* Sets (or moves) many timers with one statement, in the open transaction
 * on conn: keys, kinds (text) and dues (int8) are arrays of one length
 * (pgarray.h, literal or binary), keys without repeats; payloads are left
 * empty. */
db_rc_t timer_set_many(db_t *db, PGconn *conn, pgarray_t *keys, pgarray_t *kinds, pgarray_t *dues,
                       err_t *err);

/* Timers whose keys are certainly not set (a deadline of something
 * created in the open transaction), inserted in bulk with COPY: a key that
 * is set after all fails the statement (23505), so only a caller that
 * knows uses this. rows is a COPY buffer (pgarray_reset_copy) of
 * timer_copy_add() rows. */
int timer_copy_add(pgarray_t *rows, const char *key, const char *kind, int64_t due_ms);
db_rc_t timer_copy_new(db_t *db, PGconn *conn, pgarray_t *rows, err_t *err);

/* Removes every timer of the array keys that is set. */
db_rc_t timer_cancel_many(db_t *db, PGconn *conn, pgarray_t *keys, err_t *err);

/* Removes timer key if set, in the open transaction. */
db_rc_t timer_cancel(db_t *db, PGconn *conn, const char *key, err_t *err);

/* The earliest due time, or TIMER_NONE; outside or inside a transaction. */
db_rc_t timer_next_due(db_t *db, int64_t *next_due, err_t *err);

/* In the open transaction: deletes up to max timers due at or before now_ms
 * (earliest first) and returns them in *res (the caller PQclear()s it) for
 * timer_row() to read. Rows locked by another instance are skipped. */
db_rc_t timer_take_due(db_t *db, PGconn *conn, int64_t now_ms, int max, PGresult **res, err_t *err);

/* The i-th row of timer_take_due()'s result; payload borrows from res. */
void timer_row(const PGresult *res, int i, timer_row_t *out);

/* Outside a transaction: a firing of key failed; push it back by delay_ms
 * and count the failure (why is kept for operators). */
db_rc_t timer_defer(db_t *db, const char *key, int64_t due_ms, int64_t delay_ms, const char *why,
                    err_t *err);

#endif
