/* store.h - dispatch's persistence: the thin layer between the pure
 * decision functions and the service skeleton's transaction. The open
 * tasks in memory are cache.c's; the rows and their SQL columns rows.c's.
 *
 * Design: every open task lives in memory (loaded once at start from the
 * `task` table, where is_open), so a decision's state costs no round trip;
 * merge candidates come from an in-memory index by place (compound,
 * school, key area, and a grid of geographic cells as large as the
 * duplicate distance). A task that is not open (a response naming a closed
 * task) is read from the table. Applying a decision changes the cache at
 * once, so later inputs of the same transaction see it, and remembers the
 * old value: dispatch_store_after(0) (a rollback) puts it back,
 * dispatch_store_after(1) (a commit) forgets it and drops tasks no longer
 * open. What the transaction wrote is buffered and written by
 * dispatch_store_flush() with one statement per table: the changed tasks
 * (upsert), their history rows, the timers set and the timers cancelled.
 * Records go to the dispatch stream through service_emit() at once (the
 * skeleton appends them before COMMIT).
 *
 * Task ids are derived from the input event's id (dispatch_store_task_id),
 * so re-applying an input after a crash names the same task; the stream's
 * offset, stored in the same transaction, keeps it from being applied
 * twice in the first place. */
#ifndef AIRGUARD_DISPATCH_STORE_H
#define AIRGUARD_DISPATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "decision.h"
#include "routing.h"
#include "rules.h"
#include "service.h"
#include "task.h"

typedef struct dispatch_store dispatch_store_t;

/* A store for the campaigns whose rules are given (one per subdistrict;
 * the array and the rules are borrowed and must outlive the store).
 * Returns NULL when out of memory. */
dispatch_store_t *dispatch_store_new(service_t *svc, dispatch_rules_t *const *rules, size_t n);
void dispatch_store_destroy(dispatch_store_t **self_p);

/* The rules of subdistrict; NULL when dispatch has no campaign for it. */
const dispatch_rules_t *dispatch_store_rules(const dispatch_store_t *s, const char *subdistrict);

/* The rules sets, in the order given. */
size_t dispatch_store_rules_count(const dispatch_store_t *s);
const dispatch_rules_t *dispatch_store_rules_at(const dispatch_store_t *s, size_t i);

/* At start, outside a transaction: loads every open task into memory.
 * Returns DB_OK, DB_TRANSIENT (try again) or DB_FAILED (a row names what
 * the rules do not know; err says which). */
db_rc_t dispatch_store_load(dispatch_store_t *s, err_t *err);

/* At the start of each apply and firing, inside the transaction: when a
 * rollback happened on a connection that has since been replaced, the
 * COMMIT before it may have succeeded unseen (db.h: outcome unknown), so
 * the open tasks are read again on conn. Otherwise does nothing. */
db_rc_t dispatch_store_sync(dispatch_store_t *s, PGconn *conn, err_t *err);

/* At start, in a transaction of its own: sets each subdistrict's
 * sensitive-mode timer when it is not set yet (a set one is kept: it may
 * be due already, and must then fire to record the change). */
db_rc_t dispatch_store_arm(dispatch_store_t *s, int64_t now_ms, err_t *err);

/* The id of the task event_id opens ("report") or the follow-up a
 * response opens ("follow-up"): a UUID derived from both, so a replay
 * derives the same one. */
void dispatch_store_task_id(const char *event_id, const char *purpose,
                            char out[DISPATCH_UUID_LEN + 1]);

/* Inside the transaction: the task id as it stands now (this
 * transaction's changes included) and its rules; *out NULL when there is
 * none. *out is valid until the next store call. */
db_rc_t dispatch_store_task(dispatch_store_t *s, PGconn *conn, const char *id,
                            const dispatch_task_t **out, const dispatch_rules_t **r, err_t *err);

/* Open tasks of kind near loc (a superset of those dispatch_merge_find()
 * could pick), copied into an array the store owns; *n entries. */
const dispatch_task_t *dispatch_store_candidates(dispatch_store_t *s, const dispatch_rules_t *r,
                                                 const char *kind, const dispatch_location_t *loc,
                                                 size_t *n);

/* Applies d (decided with r for subdistrict) in the open transaction:
 * tasks into the cache (and the flush buffer), records emitted, timers
 * buffered. An overflowing decision is APPLY_REJECT with the reason;
 * running out of memory APPLY_FAILED. */
consumer_apply_rc_t dispatch_store_apply(dispatch_store_t *s, const dispatch_rules_t *r,
                                         const dispatch_decision_t *d, err_t *why);

/* The flush hook's work: writes what the transaction's applies buffered. */
db_rc_t dispatch_store_flush(dispatch_store_t *s, PGconn *conn, err_t *err);

/* After COMMIT (1) or ROLLBACK (0): see above. */
void dispatch_store_after(dispatch_store_t *s, int committed);

/* ---- for queries, between transactions ---------------------------------- */

/* Open tasks one by one: start with *cursor = 0; NULL at the end. *r gets
 * the task's rules. */
const dispatch_task_t *dispatch_store_open_next(const dispatch_store_t *s, size_t *cursor,
                                                const dispatch_rules_t **r);

/* A task as stored (open or not) into *out, with its rules; DB_FAILED with
 * err "unknown task" when there is none. */
db_rc_t dispatch_store_read(dispatch_store_t *s, const char *id, dispatch_task_t *out,
                            const dispatch_rules_t **r, err_t *err);

/* The task's history: one row, one binary bytea field holding its
 * entries (rows.h), oldest first; DB_FAILED with err "unknown task" when
 * there is none. The caller PQclear()s *res. */
db_rc_t dispatch_store_history(dispatch_store_t *s, const char *id, PGresult **res, err_t *err);

#endif
