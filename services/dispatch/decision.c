/* decision.c - filling a dispatch decision (see decision.h): bounded
 * appends, so no decision function writes past a fixed array. */
#include "decision.h"

#include <stdio.h>
#include <string.h>

void dispatch_decision_init(dispatch_decision_t *d)
{
    memset(d, 0, sizeof *d);
}

dispatch_record_t *dispatch_decision_record(dispatch_decision_t *d, dispatch_record_type_t type,
                                            const dispatch_task_t *task, int64_t now_ms)
{
    if (d->n_records >= DISPATCH_MAX_RECORDS) {
        d->overflow = true;
        return NULL;
    }
    dispatch_record_t *r = &d->records[d->n_records++];
    memset(r, 0, sizeof *r);
    r->type = type;
    r->at_ms = now_ms;
    if (task)
        snprintf(r->task, sizeof r->task, "%s", task->id);
    return r;
}

void dispatch_timer_key(dispatch_timer_kind_t kind, const char *task_id, char *out, size_t cap)
{
    /* The three deadlines share one key: only the next one is ever set
     * (escalation.h), so a task costs one timer row, not three. */
    bool deadline = kind == DISPATCH_TIMER_ACK || kind == DISPATCH_TIMER_ARRIVE ||
                    kind == DISPATCH_TIMER_RESOLVE;
    snprintf(out, cap, "%s/%s", task_id ? task_id : "",
             deadline ? "deadline" : dispatch_timer_name(kind));
}

static dispatch_timer_t *s_timer(dispatch_decision_t *d)
{
    if (d->n_timers >= DISPATCH_MAX_TIMERS) {
        d->overflow = true;
        return NULL;
    }
    dispatch_timer_t *t = &d->timers[d->n_timers++];
    memset(t, 0, sizeof *t);
    return t;
}

void dispatch_decision_timer_set(dispatch_decision_t *d, dispatch_timer_kind_t kind,
                                 const char *task_id, const char *subdistrict, int64_t due_ms)
{
    dispatch_timer_t *t = s_timer(d);
    if (!t)
        return;
    t->kind = kind;
    t->due_ms = due_ms;
    if (task_id) {
        snprintf(t->task, sizeof t->task, "%s", task_id);
        dispatch_timer_key(kind, task_id, t->key, sizeof t->key);
    } else {
        snprintf(t->key, sizeof t->key, "%s/%s", dispatch_timer_name(kind),
                 subdistrict ? subdistrict : "");
    }
}

void dispatch_decision_timer_cancel(dispatch_decision_t *d, dispatch_timer_kind_t kind,
                                    const char *task_id)
{
    dispatch_timer_t *t = s_timer(d);
    if (!t)
        return;
    t->cancel = true;
    t->kind = kind;
    snprintf(t->task, sizeof t->task, "%s", task_id);
    dispatch_timer_key(kind, task_id, t->key, sizeof t->key);
}

void dispatch_decision_task(dispatch_decision_t *d, const dispatch_task_t *t)
{
    for (size_t i = 0; i < d->n_tasks; i++)
        if (strcmp(d->tasks[i].id, t->id) == 0) {
            d->tasks[i] = *t;
            return;
        }
    if (d->n_tasks >= DISPATCH_MAX_TASKS) {
        d->overflow = true;
        return;
    }
    d->tasks[d->n_tasks++] = *t;
}

const char *dispatch_record_name(dispatch_record_type_t type)
{
    static const char *const names[] = {"?",
                                        "dispatch.task_created",
                                        "dispatch.task_assigned",
                                        "dispatch.task_notified",
                                        "dispatch.task_acknowledged",
                                        "dispatch.task_arrived",
                                        "dispatch.task_done",
                                        "dispatch.task_returned",
                                        "dispatch.task_overdue",
                                        "dispatch.task_escalated",
                                        "dispatch.escalation_exhausted",
                                        "dispatch.task_merged",
                                        "dispatch.task_closed",
                                        "dispatch.response_rejected",
                                        "dispatch.sensitive_started",
                                        "dispatch.sensitive_ended"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

const char *dispatch_timer_name(dispatch_timer_kind_t kind)
{
    static const char *const names[] = {"?", "ack", "arrive", "resolve", "escalate", "sensitive"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}
