/* merge.c - is this report one more of an incident we already hold? (see
 * merge.h) */
#include "merge.h"

#include <string.h>

/* Distance in metres between a task's place and loc; -1 when they cannot
 * be said to be the same place. */
static double s_distance(const dispatch_task_t *t, const dispatch_location_t *loc)
{
    if (t->has_geo && loc->has_geo)
        return dispatch_routing_distance_m(t->geo, loc->geo);
    if ((t->compound && t->compound == loc->compound) || (t->school && t->school == loc->school) ||
        (t->key_area && t->key_area == loc->key_area))
        return 0;
    return -1;
}

const dispatch_task_t *dispatch_merge_find(const dispatch_rules_t *r, const dispatch_task_t *tasks,
                                           size_t n, const char *kind,
                                           const dispatch_location_t *loc, int64_t at_ms,
                                           const char *exclude_id)
{
    const dispatch_task_t *best = NULL;
    double best_m = 0;
    for (size_t i = 0; i < n; i++) {
        const dispatch_task_t *t = &tasks[i];
        if (!dispatch_task_is_open(t) || !t->kind || strcmp(t->kind, kind) != 0 ||
            (exclude_id && strcmp(t->id, exclude_id) == 0))
            continue;
        int64_t gap = at_ms - t->last_report_ms;
        if (gap < 0)
            gap = -gap;
        if (gap > r->duplicate_window_ms)
            continue;
        double m = s_distance(t, loc);
        if (m < 0 || m > r->duplicate_distance_m)
            continue;
        if (!best || m < best_m || (m == best_m && t->last_report_ms > best->last_report_ms)) {
            best = t;
            best_m = m;
        }
    }
    return best;
}
