/* sensitive.h - sensitive-date mode (敏感节点: 除夕, 春节 and the seed
 * calendar's other dates).
 *
 * The mode is on for every local day (in the campaign's time zone, from
 * local midnight to local midnight) that the calendar marks sensitive and
 * the rules' `sensitive.dates` selects (all of them when not listed). While
 * it is on, deadlines and escalation intervals are multiplied by
 * tighten.sensitive and every new task also notifies sensitive.notify.
 * Adjacent days are one stretch: the mode starts and ends once around
 * them. Its start and end are records, driven by one timer per
 * subdistrict that always points at the next change. */
#ifndef AIRGUARD_DISPATCH_SENSITIVE_H
#define AIRGUARD_DISPATCH_SENSITIVE_H

#include <stdint.h>

#include "decision.h"
#include "rules.h"

#define DISPATCH_DAY_MS 86400000LL

/* The sensitive date in force at now_ms; NULL when the mode is off. */
const campaign_sensitive_t *dispatch_sensitive_at(const dispatch_rules_t *r, int64_t now_ms);

/* UTC ms of the next local midnight after now_ms at which the mode turns
 * on or off; -1 when it never changes again within the campaign. */
int64_t dispatch_sensitive_next_change(const dispatch_rules_t *r, int64_t now_ms);

/* UTC ms of the local midnight that starts the local day of now_ms. */
int64_t dispatch_sensitive_local_midnight(const dispatch_rules_t *r, int64_t now_ms);

/* At service start: sets the mode timer for the next change (nothing when
 * none). Records nothing: a restart is not a change of mode. */
void dispatch_sensitive_arm(const dispatch_rules_t *r, int64_t now_ms, dispatch_decision_t *d);

/* The mode timer set for due_ms fired at now_ms (>= due_ms): records the
 * start or end that happened at due_ms (nothing when the mode is the same
 * on both sides of it), and sets the timer for the next change after
 * due_ms. A service that was down across several changes thus catches up
 * on them one by one, in order, each record stamped now_ms. */
void dispatch_sensitive_on_timer(const dispatch_rules_t *r, int64_t due_ms, int64_t now_ms,
                                 dispatch_decision_t *d);

#endif
