/* report.c - a new actionable event: merge or open (see report.h). */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "assign.h"
#include "merge.h"
#include "sensitive.h"

static bool s_actionable(const dispatch_event_rule_t *er, const char *detail)
{
    if (!er->only)
        return true;
    return detail && dispatch_rules_kind_in(er->only, er->n_only, detail);
}

void dispatch_report_decide(const dispatch_rules_t *r, const dispatch_report_t *report,
                            const dispatch_task_t *open, size_t n_open, const char *new_task_id,
                            int64_t now_ms, dispatch_decision_t *d)
{
    const dispatch_event_rule_t *er = dispatch_rules_event(r, report->kind);
    if (!er || !s_actionable(er, report->detail))
        return;
    dispatch_location_t loc;
    dispatch_routing_locate(r, &report->place, &loc);

    const dispatch_task_t *dup =
        dispatch_merge_find(r, open, n_open, er->kind, &loc, report->at_ms, NULL);
    if (dup) {
        dispatch_task_t t = *dup;
        t.reports++;
        if (report->at_ms > t.last_report_ms)
            t.last_report_ms = report->at_ms;
        dispatch_record_t *rec = dispatch_decision_record(d, DISPATCH_REC_TASK_MERGED, &t, now_ms);
        if (rec) {
            snprintf(rec->event, sizeof rec->event, "%s", report->event);
            rec->unit = t.holder ? t.holder->id : NULL;
            rec->why = "duplicate report";
        }
        dispatch_decision_task(d, &t);
        return;
    }

    dispatch_task_t t;
    if (dispatch_assign_new_task(r, &t, new_task_id, report->event, er->kind, report->ongoing, &loc,
                                 report->at_ms, now_ms) != 0)
        return;
    dispatch_route_result_t route;
    dispatch_routing_route(r, t.kind, &loc, t.sensitive, NULL, 0, &route);
    t.police_liaison = route.police_liaison;
    dispatch_assign(r, &t, route.owner, route.rule, &route, true, report->event, now_ms, d);
}
