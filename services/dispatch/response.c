/* response.c - acknowledged, arrived, returned, done: checked, then
 * applied (see response.h). */
#include "response.h"

#include <stdio.h>
#include <string.h>

#include "assign.h"
#include "catalogue.h"
#include "escalation.h"
#include "returns.h"
#include "routing.h"

static const char *const s_types[] = {"task.acknowledged", "task.arrived", "task.returned",
                                      "task.done", NULL};

int dispatch_response_kind_of(const char *type)
{
    for (int i = 0; type && s_types[i]; i++)
        if (strcmp(s_types[i], type) == 0)
            return i;
    return -1;
}

/* The catalogue's own copy of an enum value (static storage), or NULL. */
static const char *s_enum_value(const char *type, const char *field, const char *value)
{
    const catalogue_field_t *f = catalogue_field(catalogue_find(type), field);
    for (size_t i = 0; value && f && f->values && f->values[i]; i++)
        if (strcmp(f->values[i], value) == 0)
            return f->values[i];
    return NULL;
}

static void s_reject(const dispatch_response_t *resp, int64_t now_ms, dispatch_decision_t *d,
                     const char *why)
{
    dispatch_decision_init(d);
    d->rejected = true;
    dispatch_record_t *rec =
        dispatch_decision_record(d, DISPATCH_REC_RESPONSE_REJECTED, NULL, now_ms);
    if (!rec)
        return;
    snprintf(rec->task, sizeof rec->task, "%s", resp->task ? resp->task : "");
    snprintf(rec->event, sizeof rec->event, "%s", resp->event ? resp->event : "");
    snprintf(rec->by, sizeof rec->by, "%s", resp->by ? resp->by : "");
    rec->why = (unsigned)resp->kind < 4 ? s_types[resp->kind] : "?";
    snprintf(rec->reason, sizeof rec->reason, "%s", why);
}

static void s_progress_record(dispatch_decision_t *d, dispatch_record_type_t type,
                              const dispatch_task_t *t, const char *event, const char *why,
                              int64_t now_ms)
{
    dispatch_record_t *rec = dispatch_decision_record(d, type, t, now_ms);
    if (!rec)
        return;
    rec->unit = t->holder ? t->holder->id : NULL;
    rec->why = why;
    snprintf(rec->event, sizeof rec->event, "%s", event ? event : "");
}

static void s_done(const dispatch_rules_t *r, dispatch_task_t *t, const dispatch_response_t *resp,
                   const char *outcome, const char *follow_up_id, int64_t now_ms,
                   dispatch_decision_t *d)
{
    t->outcome = outcome;
    s_progress_record(d, DISPATCH_REC_TASK_DONE, t, resp->event, outcome, now_ms);
    dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ACK, t->id); /* the deadline timer */
    dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ESCALATE, t->id);
    dispatch_task_apply(t, DISPATCH_ACT_CLOSE, now_ms, NULL, 0);
    s_progress_record(d, DISPATCH_REC_TASK_CLOSED, t, resp->event, outcome, now_ms);
    dispatch_decision_task(d, t);

    char kind[80];
    snprintf(kind, sizeof kind, "task.done:%s", outcome);
    dispatch_location_t loc;
    dispatch_assign_location_of(t, &loc);
    dispatch_task_t f;
    if (!follow_up_id || dispatch_assign_new_task(r, &f, follow_up_id, resp->event, kind, false,
                                                  &loc, now_ms, now_ms) != 0)
        return;
    dispatch_route_result_t route;
    dispatch_routing_route(r, f.kind, &loc, f.sensitive, NULL, 0, &route);
    f.police_liaison = t->police_liaison || route.police_liaison;
    dispatch_assign(r, &f, route.owner, route.rule, &route, true, resp->event, now_ms, d);
}

void dispatch_response_decide(const dispatch_rules_t *r, const dispatch_task_t *task,
                              const dispatch_response_t *resp, const dispatch_task_t *open,
                              size_t n_open, const char *follow_up_id, int64_t now_ms,
                              dispatch_decision_t *d)
{
    static const dispatch_action_t actions[] = {DISPATCH_ACT_ACK, DISPATCH_ACT_ARRIVE,
                                                DISPATCH_ACT_RETURN, DISPATCH_ACT_DONE};
    char why[DISPATCH_REASON_MAX];
    if ((unsigned)resp->kind > DISPATCH_RESP_DONE) {
        s_reject(resp, now_ms, d, "not a task response");
        return;
    }
    if (!task) {
        snprintf(why, sizeof why, "unknown task %s", resp->task ? resp->task : "(none)");
        s_reject(resp, now_ms, d, why);
        return;
    }
    dispatch_task_t t = *task;
    if (dispatch_task_check(&t, actions[resp->kind], why, sizeof why) != 0 &&
        !dispatch_task_is_open(&t)) {
        s_reject(resp, now_ms, d, why);
        return;
    }
    if (!resp->by || !t.holder || strcmp(resp->by, t.holder->id) != 0) {
        snprintf(why, sizeof why, "unit '%s' does not hold the task (held by '%s')",
                 resp->by ? resp->by : "", t.holder ? t.holder->id : "nobody");
        s_reject(resp, now_ms, d, why);
        return;
    }
    const char *value = NULL;
    if (resp->kind == DISPATCH_RESP_RETURNED &&
        !(value = s_enum_value("task.returned", "reason", resp->reason))) {
        s_reject(resp, now_ms, d, "unknown return reason");
        return;
    }
    if (resp->kind == DISPATCH_RESP_DONE &&
        !(value = s_enum_value("task.done", "outcome", resp->outcome))) {
        s_reject(resp, now_ms, d, "unknown outcome");
        return;
    }
    if (resp->kind == DISPATCH_RESP_RETURNED) {
        if (dispatch_returns_apply(r, &t, value, resp->event, open, n_open, now_ms, d, why,
                                   sizeof why) != 0)
            s_reject(resp, now_ms, d, why);
        return;
    }
    if (dispatch_task_apply(&t, actions[resp->kind], now_ms, why, sizeof why) != 0) {
        s_reject(resp, now_ms, d, why);
        return;
    }
    switch (resp->kind) {
    case DISPATCH_RESP_ACKNOWLEDGED:
        s_progress_record(d, DISPATCH_REC_TASK_ACKNOWLEDGED, &t, resp->event, NULL, now_ms);
        dispatch_escalation_on_progress(r, &t, now_ms, d);
        dispatch_decision_task(d, &t);
        break;
    case DISPATCH_RESP_ARRIVED:
        s_progress_record(d, DISPATCH_REC_TASK_ARRIVED, &t, resp->event, NULL, now_ms);
        dispatch_escalation_on_progress(r, &t, now_ms, d);
        dispatch_decision_task(d, &t);
        break;
    case DISPATCH_RESP_DONE:
        s_done(r, &t, resp, value, follow_up_id, now_ms, d);
        break;
    case DISPATCH_RESP_RETURNED:
        break;
    }
}
