/* deadlines.h - how long a unit has to acknowledge, arrive and resolve.
 *
 * The first row of the rules' `deadlines` whose kinds and priority match
 * gives the three durations, counted from the moment the unit was given
 * the task. Inside a key area they are multiplied by tighten.key_area, in
 * sensitive-date mode by tighten.sensitive (both when both hold), rounded
 * down to whole seconds and never below one minute. */
#ifndef AIRGUARD_DISPATCH_DEADLINES_H
#define AIRGUARD_DISPATCH_DEADLINES_H

#include <stdbool.h>
#include <stdint.h>

#include "rules.h"

/* Absolute deadlines, UTC ms. */
typedef struct dispatch_due {
    int64_t ack_ms;
    int64_t arrive_ms;
    int64_t resolve_ms;
    const dispatch_deadline_row_t *row; /* the row used */
} dispatch_due_t;

/* Deadlines for a task of kind and priority given to a unit at from_ms.
 * Returns -1 (out untouched) when no row matches, which the loader rules
 * out for every kind that opens a task. */
int dispatch_deadlines_for(const dispatch_rules_t *r, const char *kind,
                           dispatch_priority_t priority, bool in_key_area, bool sensitive,
                           int64_t from_ms, dispatch_due_t *out);

/* Time between escalation steps (tightened in sensitive-date mode). */
int64_t dispatch_deadlines_step_ms(const dispatch_rules_t *r, bool sensitive);

#endif
