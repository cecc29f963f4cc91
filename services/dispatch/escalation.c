/* escalation.c - overdue deadlines climbing the chain of the rules, with
 * a bound (see escalation.h). */
#include "escalation.h"

#include "deadlines.h"
#include "sensitive.h"

static bool s_reached(const dispatch_task_t *t, dispatch_stage_t s)
{
    switch (s) {
    case DISPATCH_STAGE_ACK:
        return t->acked_ms != 0;
    case DISPATCH_STAGE_ARRIVE:
        return t->arrived_ms != 0;
    case DISPATCH_STAGE_RESOLVE:
        return t->done_ms != 0;
    case DISPATCH_STAGE_NONE:
        break;
    }
    return true;
}

static int64_t s_due(const dispatch_task_t *t, dispatch_stage_t s)
{
    return s == DISPATCH_STAGE_ACK      ? t->due_ack_ms
           : s == DISPATCH_STAGE_ARRIVE ? t->due_arrive_ms
                                        : t->due_resolve_ms;
}

static dispatch_timer_kind_t s_timer_of(dispatch_stage_t s)
{
    return s == DISPATCH_STAGE_ACK      ? DISPATCH_TIMER_ACK
           : s == DISPATCH_STAGE_ARRIVE ? DISPATCH_TIMER_ARRIVE
                                        : DISPATCH_TIMER_RESOLVE;
}

/* The first stage after `after` not reached yet, or DISPATCH_STAGE_NONE. */
static dispatch_stage_t s_unreached_after(const dispatch_task_t *t, dispatch_stage_t after)
{
    for (int s = (int)after + 1; s <= DISPATCH_STAGE_RESOLVE; s++)
        if (!s_reached(t, (dispatch_stage_t)s))
            return (dispatch_stage_t)s;
    return DISPATCH_STAGE_NONE;
}

int dispatch_escalation_addressee(const dispatch_rules_t *r, const dispatch_task_t *t, int step,
                                  const dispatch_unit_t **unit, const char **role)
{
    if (step < 1 || (size_t)step > r->n_chain)
        return -1;
    const dispatch_step_t *s = &r->chain[step - 1];
    *role = NULL;
    switch (s->kind) {
    case DISPATCH_STEP_UNIT:
        *unit = s->unit;
        return 0;
    case DISPATCH_STEP_HOLDER:
        *unit = t->holder;
        return *unit ? 0 : -1;
    case DISPATCH_STEP_PATROL_DEPUTIES:
    case DISPATCH_STEP_PATROL_LEADERS: {
        const campaign_group_t *g =
            t->community ? campaign_patrol_group(r->campaign, t->community->id) : NULL;
        *unit = g ? dispatch_rules_unit(r, g->id) : NULL;
        if (!*unit || (s->kind == DISPATCH_STEP_PATROL_DEPUTIES && g->n_deputies == 0))
            return -1;
        *role = s->kind == DISPATCH_STEP_PATROL_DEPUTIES ? "deputies" : "leaders";
        return 0;
    }
    }
    return -1;
}

/* Sends the next step of the chain, or records exhaustion. */
static void s_next_step(const dispatch_rules_t *r, dispatch_task_t *t, int64_t now_ms,
                        dispatch_decision_t *d)
{
    /* Each pass moves one step; skipped steps count, so this ends. */
    size_t budget = r->n_chain * (size_t)(r->repeats + 1) + 1;
    while (budget--) {
        t->esc_step++;
        if ((size_t)t->esc_step > r->n_chain) {
            if (t->esc_round >= r->repeats) {
                dispatch_record_t *rec =
                    dispatch_decision_record(d, DISPATCH_REC_ESCALATION_EXHAUSTED, t, now_ms);
                if (rec) {
                    rec->stage = t->esc_stage;
                    rec->step = (int)r->n_chain;
                    rec->round = t->esc_round;
                }
                t->esc_step = (int)r->n_chain + 1; /* marks it exhausted */
                return;
            }
            t->esc_round++;
            t->esc_step = 1;
        }
        const dispatch_unit_t *unit;
        const char *role;
        if (dispatch_escalation_addressee(r, t, t->esc_step, &unit, &role) != 0)
            continue;
        dispatch_record_t *rec =
            dispatch_decision_record(d, DISPATCH_REC_TASK_ESCALATED, t, now_ms);
        if (rec) {
            rec->unit = unit->id;
            rec->role = role;
            rec->stage = t->esc_stage;
            rec->step = t->esc_step;
            rec->round = t->esc_round;
        }
        bool sensitive = dispatch_sensitive_at(r, now_ms) != NULL;
        dispatch_decision_timer_set(d, DISPATCH_TIMER_ESCALATE, t->id, NULL,
                                    now_ms + dispatch_deadlines_step_ms(r, sensitive));
        return;
    }
}

static bool s_exhausted(const dispatch_rules_t *r, const dispatch_task_t *t)
{
    return (size_t)t->esc_step > r->n_chain;
}

void dispatch_escalation_on_timer(const dispatch_rules_t *r, dispatch_task_t *t,
                                  dispatch_timer_kind_t kind, int64_t now_ms,
                                  dispatch_decision_t *d)
{
    if (!dispatch_task_is_open(t) || t->state == DISPATCH_TASK_RETURNED)
        return;
    if (kind >= DISPATCH_TIMER_ACK && kind <= DISPATCH_TIMER_RESOLVE) {
        /* The one deadline timer moves on to the next stage not reached,
         * whether or not this one was (it fires at once if already due). */
        dispatch_stage_t fired = kind == DISPATCH_TIMER_ACK      ? DISPATCH_STAGE_ACK
                                 : kind == DISPATCH_TIMER_ARRIVE ? DISPATCH_STAGE_ARRIVE
                                                                 : DISPATCH_STAGE_RESOLVE;
        dispatch_stage_t next = s_unreached_after(t, fired);
        if (next != DISPATCH_STAGE_NONE)
            dispatch_decision_timer_set(d, s_timer_of(next), t->id, NULL, s_due(t, next));
    }
    if (kind == DISPATCH_TIMER_ESCALATE) {
        if (t->esc_stage == DISPATCH_STAGE_NONE || s_exhausted(r, t))
            return;
        s_next_step(r, t, now_ms, d);
        dispatch_decision_task(d, t);
        return;
    }
    dispatch_stage_t stage = kind == DISPATCH_TIMER_ACK       ? DISPATCH_STAGE_ACK
                             : kind == DISPATCH_TIMER_ARRIVE  ? DISPATCH_STAGE_ARRIVE
                             : kind == DISPATCH_TIMER_RESOLVE ? DISPATCH_STAGE_RESOLVE
                                                              : DISPATCH_STAGE_NONE;
    if (stage == DISPATCH_STAGE_NONE || s_reached(t, stage))
        return;
    dispatch_record_t *rec = dispatch_decision_record(d, DISPATCH_REC_TASK_OVERDUE, t, now_ms);
    if (rec) {
        rec->unit = t->holder ? t->holder->id : NULL;
        rec->stage = stage;
    }
    if (t->esc_stage == DISPATCH_STAGE_NONE) {
        dispatch_task_apply(t, DISPATCH_ACT_ESCALATE, now_ms, NULL, 0);
        t->esc_stage = stage;
        t->esc_step = 0;
        t->esc_round = 0;
        s_next_step(r, t, now_ms, d);
    }
    dispatch_decision_task(d, t);
}

void dispatch_escalation_on_progress(const dispatch_rules_t *r, dispatch_task_t *t, int64_t now_ms,
                                     dispatch_decision_t *d)
{
    (void)r;
    /* The deadline timer stands at the first stage neither reached nor
     * fired. If the first stage not reached is still ahead (due after
     * now), every earlier one is reached, so the timer belongs there;
     * if it is already due, the timer has fired for it or is about to
     * (and moves on by itself): left alone. */
    dispatch_stage_t next = s_unreached_after(t, DISPATCH_STAGE_NONE);
    if (next == DISPATCH_STAGE_NONE)
        dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ACK, t->id);
    else if (s_due(t, next) > now_ms)
        dispatch_decision_timer_set(d, s_timer_of(next), t->id, NULL, s_due(t, next));
    if (t->esc_stage == DISPATCH_STAGE_NONE)
        return;
    if (!s_reached(t, t->esc_stage)) { /* a later stage arrived first: still late */
        t->state = DISPATCH_TASK_ESCALATED;
        return;
    }
    for (int s = (int)t->esc_stage + 1; s <= DISPATCH_STAGE_RESOLVE; s++)
        if (!s_reached(t, (dispatch_stage_t)s) && s_due(t, (dispatch_stage_t)s) <= now_ms) {
            t->esc_stage = (dispatch_stage_t)s; /* carry on from the step reached */
            t->state = DISPATCH_TASK_ESCALATED;
            return;
        }
    t->esc_stage = DISPATCH_STAGE_NONE;
    t->esc_step = t->esc_round = 0;
    t->state = dispatch_task_progress_state(t);
    dispatch_decision_timer_cancel(d, DISPATCH_TIMER_ESCALATE, t->id);
}
