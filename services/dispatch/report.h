/* report.h - an intake event that may need someone to act: open a task
 * (routed, with deadlines), attach it to the open task of the same
 * incident, or ignore it (its kind, or its finding, opens no task). */
#ifndef AIRGUARD_DISPATCH_REPORT_H
#define AIRGUARD_DISPATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decision.h"
#include "routing.h"
#include "rules.h"
#include "task.h"

/* An intake event as dispatch reads it (borrowed strings). */
typedef struct dispatch_report {
    const char *event;      /* its message id (UUID) */
    const char *kind;       /* its type, e.g. "report.open_burning" */
    const char *detail;     /* value of its kind's `field` (rules.h), NULL if none */
    bool ongoing;           /* the report says it is still going on */
    int64_t at_ms;          /* event time, UTC ms */
    dispatch_place_t place; /* where it says it happened */
} dispatch_report_t;

/* Decides on a report at now_ms. open: open tasks the store offers as
 * merge candidates (it may offer more than needed, e.g. every open task of
 * the kind in the subdistrict), n_open entries. new_task_id: the id a new
 * task gets. Fills d: nothing (ignored), a merge (the task updated and
 * TASK_MERGED), or a new task (TASK_CREATED, notifications, timers). */
void dispatch_report_decide(const dispatch_rules_t *r, const dispatch_report_t *report,
                            const dispatch_task_t *open, size_t n_open, const char *new_task_id,
                            int64_t now_ms, dispatch_decision_t *d);

#endif
