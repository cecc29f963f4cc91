/* merge.h - duplicate reports of one incident.
 *
 * A report is a duplicate of an open task when it is of the same kind, its
 * event time is within duplicates.window_minutes of the task's latest
 * report, and it is within duplicates.distance_m of the task's point. When
 * either side has no coordinates, distance is unknown: the report counts
 * as the same place only when both name the same compound, school or key
 * area (a grid alone is too coarse to call two reports one incident). Of
 * several candidates the nearest wins, then the most recently reported,
 * then the first given. */
#ifndef AIRGUARD_DISPATCH_MERGE_H
#define AIRGUARD_DISPATCH_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "routing.h"
#include "rules.h"
#include "task.h"

/* The open task among tasks[0..n) that a report of kind at loc, with event
 * time at_ms, joins; NULL when none. exclude_id (may be NULL) is skipped. */
const dispatch_task_t *dispatch_merge_find(const dispatch_rules_t *r, const dispatch_task_t *tasks,
                                           size_t n, const char *kind,
                                           const dispatch_location_t *loc, int64_t at_ms,
                                           const char *exclude_id);

#endif
