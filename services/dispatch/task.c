/* task.c - the task state machine (see task.h): one table of what each
 * state allows, one place that says why a transition is refused. */
#include "task.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int s_refuse(char *why, size_t cap, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && cap)
        vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int dispatch_task_check(const dispatch_task_t *t, dispatch_action_t a, char *why, size_t cap)
{
    const char *act = dispatch_task_action_name(a);
    switch (t->state) {
    case DISPATCH_TASK_CLOSED:
        return s_refuse(why, cap, "task is closed (%s refused)", act);
    case DISPATCH_TASK_MERGED:
        return s_refuse(why, cap, "task was merged into %s", t->merged_into);
    case DISPATCH_TASK_DONE:
        return a == DISPATCH_ACT_CLOSE ? 0 : s_refuse(why, cap, "task is done (%s refused)", act);
    case DISPATCH_TASK_RETURNED:
        return a == DISPATCH_ACT_REASSIGN || a == DISPATCH_ACT_MERGE
                   ? 0
                   : s_refuse(why, cap, "task is being re-routed (%s refused)", act);
    default:
        break;
    }
    /* Open states: created, acknowledged, arrived, escalated. */
    switch (a) {
    case DISPATCH_ACT_ACK:
        if (t->arrived_ms)
            return s_refuse(why, cap, "%s: already arrived", act);
        if (t->acked_ms)
            return s_refuse(why, cap, "%s: already acknowledged", act);
        return 0;
    case DISPATCH_ACT_ARRIVE:
        return t->arrived_ms ? s_refuse(why, cap, "%s: already arrived", act) : 0;
    case DISPATCH_ACT_DONE:
        return t->acked_ms ? 0 : s_refuse(why, cap, "%s: not acknowledged yet", act);
    case DISPATCH_ACT_RETURN:
        return t->held_by_fallback
                   ? s_refuse(why, cap, "%s: held by the fallback owner, it cannot be returned",
                              act)
                   : 0;
    case DISPATCH_ACT_ESCALATE:
    case DISPATCH_ACT_REASSIGN:
    case DISPATCH_ACT_MERGE:
        return 0;
    case DISPATCH_ACT_CLOSE:
        return s_refuse(why, cap, "%s: task is not done", act);
    }
    return s_refuse(why, cap, "unknown action %s", act);
}

dispatch_state_t dispatch_task_progress_state(const dispatch_task_t *t)
{
    if (t->arrived_ms)
        return DISPATCH_TASK_ARRIVED;
    return t->acked_ms ? DISPATCH_TASK_ACKNOWLEDGED : DISPATCH_TASK_CREATED;
}

int dispatch_task_apply(dispatch_task_t *t, dispatch_action_t a, int64_t now_ms, char *why,
                        size_t cap)
{
    if (dispatch_task_check(t, a, why, cap))
        return -1;
    switch (a) {
    case DISPATCH_ACT_ACK:
        t->acked_ms = now_ms;
        t->state = DISPATCH_TASK_ACKNOWLEDGED;
        break;
    case DISPATCH_ACT_ARRIVE: /* arriving says "I have it" too */
        if (!t->acked_ms)
            t->acked_ms = now_ms;
        t->arrived_ms = now_ms;
        t->state = DISPATCH_TASK_ARRIVED;
        break;
    case DISPATCH_ACT_DONE:
        t->done_ms = now_ms;
        t->state = DISPATCH_TASK_DONE;
        t->esc_stage = DISPATCH_STAGE_NONE;
        break;
    case DISPATCH_ACT_RETURN:
        t->state = DISPATCH_TASK_RETURNED;
        break;
    case DISPATCH_ACT_ESCALATE:
        t->state = DISPATCH_TASK_ESCALATED;
        break;
    case DISPATCH_ACT_REASSIGN: /* the new holder starts from scratch */
        t->state = DISPATCH_TASK_CREATED;
        t->acked_ms = t->arrived_ms = 0;
        t->esc_stage = DISPATCH_STAGE_NONE;
        t->esc_step = t->esc_round = 0;
        t->assigned_ms = now_ms;
        break;
    case DISPATCH_ACT_MERGE:
        t->state = DISPATCH_TASK_MERGED;
        t->esc_stage = DISPATCH_STAGE_NONE;
        break;
    case DISPATCH_ACT_CLOSE:
        t->state = DISPATCH_TASK_CLOSED;
        break;
    }
    return 0;
}

bool dispatch_task_is_open(const dispatch_task_t *t)
{
    return t->state != DISPATCH_TASK_DONE && t->state != DISPATCH_TASK_MERGED &&
           t->state != DISPATCH_TASK_CLOSED;
}

const char *dispatch_task_state_name(dispatch_state_t s)
{
    static const char *const names[] = {"?",    "created",  "acknowledged", "arrived", "escalated",
                                        "done", "returned", "merged",       "closed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *dispatch_task_stage_name(dispatch_stage_t s)
{
    static const char *const names[] = {"none", "ack", "arrive", "resolve"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *dispatch_task_action_name(dispatch_action_t a)
{
    static const char *const names[] = {"acknowledge", "arrive",   "done",  "return",
                                        "escalate",    "reassign", "merge", "close"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
