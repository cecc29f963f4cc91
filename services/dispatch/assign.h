/* assign.h - giving a task to a unit: the holder, its deadlines (with
 * their timers) and the record saying so. Shared by a new report, a
 * follow-up task and a re-route after a return, so that every holder gets
 * its deadlines the same way. */
#ifndef AIRGUARD_DISPATCH_ASSIGN_H
#define AIRGUARD_DISPATCH_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "decision.h"
#include "routing.h"
#include "rules.h"
#include "task.h"

/* Gives t to owner at now_ms for reason why (borrowed, static or rules):
 * sets holder and deadlines (tightened inside a key area and in
 * sensitive-date mode at now_ms), sets the deadline timer at ack (and
 * cancels a running escalation's timer when not new), records
 * TASK_CREATED (is_new) or TASK_ASSIGNED naming event (may be NULL), one
 * TASK_NOTIFIED per unit in route's notify list (route may be NULL), and
 * stores t in d. */
void dispatch_assign(const dispatch_rules_t *r, dispatch_task_t *t, const dispatch_unit_t *owner,
                     const char *why, const dispatch_route_result_t *route, bool is_new,
                     const char *event, int64_t now_ms, dispatch_decision_t *d);

/* A new task (state created, no holder yet) for kind at loc, from event at
 * event_ms, opened at now_ms; priority from the kind's event rule
 * (ongoing_priority when ongoing). Returns -1 when kind opens no task. */
int dispatch_assign_new_task(const dispatch_rules_t *r, dispatch_task_t *t, const char *task_id,
                             const char *event, const char *kind, bool ongoing,
                             const dispatch_location_t *loc, int64_t event_ms, int64_t now_ms);

/* The location a task was opened at, for re-routing it. */
void dispatch_assign_location_of(const dispatch_task_t *t, dispatch_location_t *loc);

#endif
