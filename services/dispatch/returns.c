/* returns.c - re-routing a returned task, the bound, the fallback owner
 * and "duplicate" returns (see returns.h). */
#include "returns.h"

#include <stdio.h>
#include <string.h>

#include "assign.h"
#include "merge.h"
#include "routing.h"
#include "sensitive.h"

static void s_cancel_all(dispatch_decision_t *d, const char *task_id)
{
    dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ACK, task_id); /* the deadline timer */
    dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ESCALATE, task_id);
}

/* A "duplicate" return that names a real duplicate: merged into it. */
static bool s_merge(const dispatch_rules_t *r, dispatch_task_t *t, const char *event,
                    const dispatch_task_t *open, size_t n_open, int64_t now_ms,
                    dispatch_decision_t *d)
{
    dispatch_location_t loc;
    dispatch_assign_location_of(t, &loc);
    const dispatch_task_t *into =
        dispatch_merge_find(r, open, n_open, t->kind, &loc, t->last_report_ms, t->id);
    if (!into)
        return false;
    dispatch_task_t target = *into;
    target.reports += t->reports;
    if (t->last_report_ms > target.last_report_ms)
        target.last_report_ms = t->last_report_ms;
    dispatch_task_apply(t, DISPATCH_ACT_MERGE, now_ms, NULL, 0);
    snprintf(t->merged_into, sizeof t->merged_into, "%s", target.id);
    dispatch_record_t *rec = dispatch_decision_record(d, DISPATCH_REC_TASK_MERGED, t, now_ms);
    if (rec) {
        snprintf(rec->event, sizeof rec->event, "%s", event ? event : "");
        snprintf(rec->reason, sizeof rec->reason, "%s", target.id);
        rec->unit = target.holder ? target.holder->id : NULL;
        rec->why = "returned as duplicate";
    }
    s_cancel_all(d, t->id);
    dispatch_decision_task(d, t);
    dispatch_decision_task(d, &target);
    return true;
}

int dispatch_returns_apply(const dispatch_rules_t *r, dispatch_task_t *t, const char *reason,
                           const char *event, const dispatch_task_t *open, size_t n_open,
                           int64_t now_ms, dispatch_decision_t *d, char *why, size_t cap)
{
    if (dispatch_task_apply(t, DISPATCH_ACT_RETURN, now_ms, why, cap) != 0)
        return -1;
    const dispatch_unit_t *from = t->holder;
    dispatch_record_t *rec = dispatch_decision_record(d, DISPATCH_REC_TASK_RETURNED, t, now_ms);
    if (rec) {
        rec->unit = from ? from->id : NULL;
        rec->why = reason;
        snprintf(rec->event, sizeof rec->event, "%s", event ? event : "");
    }
    if (from && t->returns < DISPATCH_MAX_RETURNS)
        t->returned_by[t->returns] = from;
    t->returns++;
    if (reason && strcmp(reason, "duplicate") == 0 && s_merge(r, t, event, open, n_open, now_ms, d))
        return 0;

    const dispatch_unit_t *owner = NULL;
    const char *rule = "fallback";
    dispatch_route_result_t route;
    if (t->returns < r->max_returns) {
        dispatch_location_t loc;
        dispatch_assign_location_of(t, &loc);
        size_t n_ex =
            (size_t)(t->returns < DISPATCH_MAX_RETURNS ? t->returns : DISPATCH_MAX_RETURNS);
        dispatch_routing_route(r, t->kind, &loc, dispatch_sensitive_at(r, now_ms) != NULL,
                               t->returned_by, n_ex, &route);
        owner = route.owner;
        rule = route.rule;
    }
    if (!owner) {
        owner = r->fallback;
        rule = "fallback";
        t->held_by_fallback = true;
    }
    dispatch_task_apply(t, DISPATCH_ACT_REASSIGN, now_ms, NULL, 0);
    dispatch_assign(r, t, owner, rule, NULL, false, event, now_ms, d);
    return 0;
}
