/* response.h - field responses to a task, as they come in through intake
 * (task.acknowledged, task.arrived, task.returned, task.done).
 *
 * A response is checked before anything changes: the task must exist, be
 * open, be held by the unit in the response's `by`, and the state machine
 * (task.h) must allow it. A refused response gives one
 * RESPONSE_REJECTED record with the reason and changes nothing else. An
 * accepted one records what happened and moves deadlines and escalation;
 * a done task is closed, and an outcome that has its own event rule
 * ("task.done:refused" -> the enforcement group) opens a follow-up task. */
#ifndef AIRGUARD_DISPATCH_RESPONSE_H
#define AIRGUARD_DISPATCH_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "decision.h"
#include "rules.h"
#include "task.h"

typedef enum dispatch_response_kind {
    DISPATCH_RESP_ACKNOWLEDGED = 0, /* "task.acknowledged" */
    DISPATCH_RESP_ARRIVED,          /* "task.arrived" */
    DISPATCH_RESP_RETURNED,         /* "task.returned" (reason) */
    DISPATCH_RESP_DONE,             /* "task.done" (outcome) */
} dispatch_response_kind_t;

/* A field response (borrowed strings). */
typedef struct dispatch_response {
    const char *event;             /* its message id */
    dispatch_response_kind_t kind; /* what it says */
    const char *task;              /* the task id it names */
    const char *by;                /* the unit answering, as it names itself */
    const char *reason;            /* RETURNED: not_our_area, cannot_reach ... */
    const char *outcome;           /* DONE: persuaded, refused, unfounded */
} dispatch_response_t;

/* The kind of an event type name; -1 when it is not a task response. */
int dispatch_response_kind_of(const char *type);

/* Decides on a response at now_ms. task: the task it names as the store has
 * it (NULL when there is none). open: merge candidates for a "duplicate"
 * return. follow_up_id: the id a follow-up task gets. */
void dispatch_response_decide(const dispatch_rules_t *r, const dispatch_task_t *task,
                              const dispatch_response_t *resp, const dispatch_task_t *open,
                              size_t n_open, const char *follow_up_id, int64_t now_ms,
                              dispatch_decision_t *d);

#endif
