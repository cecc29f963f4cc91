/* escalation.h - what happens when a deadline passes (and when the late
 * stage is finally reached).
 *
 * A task has one deadline timer, standing at the first stage neither
 * reached nor fired: set for ack when the task is given to a unit, moved
 * to the next stage not reached when it fires, and forward when a
 * response reaches its stage before it is due. A deadline timer (kind
 * ack / arrive / resolve) that fires before its stage is reached records
 * TASK_OVERDUE; if the task is not escalating yet it turns
 * ESCALATED and the chain starts: step 1 is recorded as TASK_ESCALATED
 * addressed to its unit (a patrol group step names the group of the task's
 * community and the role, "deputies" or "leaders"; a step with no such
 * group is skipped), and the escalate timer is set one interval later.
 * Each escalate timer sends the next step. After the last step the chain
 * starts again at step 1, `repeats` times; then ESCALATION_EXHAUSTED is
 * recorded and no timer is set: at most n_chain * (repeats + 1) steps per
 * escalation. When the stage is reached the escalation stops (timer
 * cancelled), unless a later stage is already overdue: then it goes on for
 * that stage from the step it had reached. */
#ifndef AIRGUARD_DISPATCH_ESCALATION_H
#define AIRGUARD_DISPATCH_ESCALATION_H

#include <stdint.h>

#include "decision.h"
#include "rules.h"
#include "task.h"

/* A timer of t fired at now_ms (deadline or escalate kind); t is updated
 * and stored in d when anything changes. A timer for a stage already
 * reached, or for a task no longer open, changes nothing. */
void dispatch_escalation_on_timer(const dispatch_rules_t *r, dispatch_task_t *t,
                                  dispatch_timer_kind_t kind, int64_t now_ms,
                                  dispatch_decision_t *d);

/* After t reached a stage (acknowledged, arrived) at now_ms: moves the
 * deadline timer past reached stages (see above) and stops or carries on escalation as
 * above. Does not store t (the caller does). */
void dispatch_escalation_on_progress(const dispatch_rules_t *r, dispatch_task_t *t, int64_t now_ms,
                                     dispatch_decision_t *d);

/* The addressee of chain step (1-based) for t: unit and role ("deputies",
 * "leaders" or NULL). Returns -1 when the step names nobody for this task
 * (no patrol group for its community). */
int dispatch_escalation_addressee(const dispatch_rules_t *r, const dispatch_task_t *t, int step,
                                  const dispatch_unit_t **unit, const char **role);

#endif
