/* returns.h - return with reason (退回) and the fallback owner (兜底).
 *
 * The holder hands a task back with a reason. A task returned as a
 * "duplicate" that matches another open task (merge.h) is merged into it.
 * Otherwise it is re-routed with every unit that returned it excluded; the
 * `returns.max`-th return, or a re-route that finds nobody left, gives it
 * to the fallback owner, who cannot return it. */
#ifndef AIRGUARD_DISPATCH_RETURNS_H
#define AIRGUARD_DISPATCH_RETURNS_H

#include <stddef.h>
#include <stdint.h>

#include "decision.h"
#include "rules.h"
#include "task.h"

/* t (held, open, checked by the caller to be returnable by its holder) is
 * returned for reason (borrowed, static or catalogue) by event at now_ms.
 * open: merge candidates for a "duplicate" return. Fills d. Returns -1
 * with why when the return is refused (held by the fallback owner); d is
 * then untouched. */
int dispatch_returns_apply(const dispatch_rules_t *r, dispatch_task_t *t, const char *reason,
                           const char *event, const dispatch_task_t *open, size_t n_open,
                           int64_t now_ms, dispatch_decision_t *d, char *why, size_t cap);

#endif
