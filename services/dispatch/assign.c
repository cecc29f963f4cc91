/* assign.c - holder, deadlines, timers and records of an assignment (see
 * assign.h). */
#include "assign.h"

#include <stdio.h>
#include <string.h>

#include "deadlines.h"
#include "sensitive.h"

void dispatch_assign(const dispatch_rules_t *r, dispatch_task_t *t, const dispatch_unit_t *owner,
                     const char *why, const dispatch_route_result_t *route, bool is_new,
                     const char *event, int64_t now_ms, dispatch_decision_t *d)
{
    bool sensitive = dispatch_sensitive_at(r, now_ms) != NULL;
    dispatch_due_t due = {0};
    t->holder = owner;
    t->route = why;
    t->assigned_ms = now_ms;
    if (dispatch_deadlines_for(r, t->kind, t->priority, t->key_area != NULL, sensitive, now_ms,
                               &due) == 0) {
        t->due_ack_ms = due.ack_ms;
        t->due_arrive_ms = due.arrive_ms;
        t->due_resolve_ms = due.resolve_ms;
    }
    dispatch_record_t *rec = dispatch_decision_record(
        d, is_new ? DISPATCH_REC_TASK_CREATED : DISPATCH_REC_TASK_ASSIGNED, t, now_ms);
    if (rec) {
        rec->unit = owner->id;
        rec->why = why;
        if (event)
            snprintf(rec->event, sizeof rec->event, "%s", event);
    }
    for (size_t i = 0; route && i < route->n_notify; i++) {
        rec = dispatch_decision_record(d, DISPATCH_REC_TASK_NOTIFIED, t, now_ms);
        if (rec) {
            rec->unit = route->notify[i]->id;
            rec->why = route->notify_why[i];
        }
    }
    if (!is_new)
        dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ESCALATE, t->id);
    /* One deadline timer, at the first stage; it moves itself on
     * (escalation.h). */
    dispatch_decision_timer_set(d, DISPATCH_TIMER_ACK, t->id, NULL, t->due_ack_ms);
    dispatch_decision_task(d, t);
}

int dispatch_assign_new_task(const dispatch_rules_t *r, dispatch_task_t *t, const char *task_id,
                             const char *event, const char *kind, bool ongoing,
                             const dispatch_location_t *loc, int64_t event_ms, int64_t now_ms)
{
    const dispatch_event_rule_t *er = dispatch_rules_event(r, kind);
    if (!er)
        return -1;
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", task_id);
    snprintf(t->event, sizeof t->event, "%s", event ? event : "");
    t->kind = er->kind;
    t->priority = ongoing ? er->ongoing_priority : er->priority;
    t->state = DISPATCH_TASK_CREATED;
    t->community = loc->community;
    t->grid = loc->grid;
    t->key_area = loc->key_area;
    t->compound = loc->compound;
    t->school = loc->school;
    t->has_geo = loc->has_geo;
    t->geo = loc->geo;
    t->sensitive = dispatch_sensitive_at(r, now_ms) != NULL;
    t->created_ms = now_ms;
    t->last_report_ms = event_ms;
    t->reports = 1;
    return 0;
}

void dispatch_assign_location_of(const dispatch_task_t *t, dispatch_location_t *loc)
{
    memset(loc, 0, sizeof *loc);
    loc->community = t->community;
    loc->grid = t->grid;
    loc->key_area = t->key_area;
    loc->compound = t->compound;
    loc->school = t->school;
    loc->has_geo = t->has_geo;
    loc->geo = t->geo;
}
