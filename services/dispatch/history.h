/* history.h - the history entries one transaction adds to its tasks: each
 * record about a task becomes an entry (a msgpack map in the shape the
 * `task` op returns), kept per task in the order made, until the store's
 * flush takes them into the task rows (docs/dispatch.md, "Store"). No SQL.
 *
 *   dispatch_history_add(h, rec);                  // as records are made
 *   bytes = dispatch_history_take(h, task, &len);  // a task's, once, at flush
 *   while ((task = dispatch_history_next(h, &cursor))) ... // those not taken
 *   dispatch_history_clear(h);                     // after commit or rollback */
#ifndef AIRGUARD_DISPATCH_HISTORY_H
#define AIRGUARD_DISPATCH_HISTORY_H

#include <msgpack.h>
#include <stddef.h>

#include "decision.h"

typedef struct dispatch_history dispatch_history_t;

/* Returns NULL when out of memory. */
dispatch_history_t *dispatch_history_new(void);
void dispatch_history_destroy(dispatch_history_t **self_p);

/* Appends rec's entry to its task's (rec->task not empty). -1 when out of
 * memory (nothing added). */
int dispatch_history_add(dispatch_history_t *h, const dispatch_record_t *rec);

/* Entries added since the last clear. */
size_t dispatch_history_count(const dispatch_history_t *h);

/* The entries about task not taken yet, one after the other (borrowed until
 * the next take or clear; *len 0 when none), and marks them taken. */
const char *dispatch_history_take(dispatch_history_t *h, const char *task, size_t *len);

/* A task with entries not taken yet, or NULL: start with *cursor = 0 and
 * take each task's entries before asking for the next. */
const char *dispatch_history_next(const dispatch_history_t *h, size_t *cursor);

/* Forgets every entry. */
void dispatch_history_clear(dispatch_history_t *h);

/* Appends rec's entry to out: a map of type, at_ms and the record's
 * non-empty fields (docs/dispatch.md, the `task` op). */
void dispatch_history_pack(msgpack_sbuffer *out, const dispatch_record_t *rec);

#endif
