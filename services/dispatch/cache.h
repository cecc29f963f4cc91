/* cache.h - the open tasks of every subdistrict, held in memory (store.h
 * says why), with what one transaction changed in them.
 *
 * A change is seen at once by what follows in the transaction; the value
 * it replaced is remembered, so dispatch_cache_rollback() puts it back and
 * dispatch_cache_commit() forgets it (and drops tasks no longer open).
 * Merge candidates come from an index by place: the compound, school and
 * key area a task names, and cells about duplicates.distance_m wide for
 * tasks with a point. No SQL here. */
#ifndef AIRGUARD_DISPATCH_CACHE_H
#define AIRGUARD_DISPATCH_CACHE_H

#include <stddef.h>

#include "routing.h"
#include "rules.h"
#include "task.h"

typedef struct dispatch_cache dispatch_cache_t;

/* Returns NULL when out of memory. */
dispatch_cache_t *dispatch_cache_new(void);
void dispatch_cache_destroy(dispatch_cache_t **self_p);

/* Forgets every task (and any open transaction's changes). */
void dispatch_cache_clear(dispatch_cache_t *c);

/* The task id and its rules; NULL when it is not held. Valid until the
 * next change, commit or rollback. */
const dispatch_task_t *dispatch_cache_find(const dispatch_cache_t *c, const char *id,
                                           const dispatch_rules_t **r);

/* Holds t (of rules r) as it stands; in a transaction, remembers the value
 * it replaces and counts it as changed. -1 when out of memory. */
int dispatch_cache_change(dispatch_cache_t *c, const dispatch_rules_t *r, const dispatch_task_t *t);

/* Tasks changed since the last commit or rollback, each once, as they
 * stand now: i from 0 to dispatch_cache_changed_count() - 1. */
size_t dispatch_cache_changed_count(const dispatch_cache_t *c);
const dispatch_task_t *dispatch_cache_changed(const dispatch_cache_t *c, size_t i,
                                              const dispatch_rules_t **r);

/* The transaction committed: forget old values, drop tasks no longer open. */
void dispatch_cache_commit(dispatch_cache_t *c);
/* It rolled back: put the old values back. */
void dispatch_cache_rollback(dispatch_cache_t *c);

/* Open tasks of kind near loc (of rules r): a superset of those
 * dispatch_merge_find() could pick, copied into an array the cache owns
 * (valid until the next call); *n entries. */
const dispatch_task_t *dispatch_cache_candidates(dispatch_cache_t *c, const dispatch_rules_t *r,
                                                 const char *kind, const dispatch_location_t *loc,
                                                 size_t *n);

/* Every task held, one by one: start with *cursor = 0; NULL at the end. */
const dispatch_task_t *dispatch_cache_next(const dispatch_cache_t *c, size_t *cursor,
                                           const dispatch_rules_t **r);

#endif
