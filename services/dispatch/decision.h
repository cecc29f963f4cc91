/* decision.h - what a dispatch decision says to do, as plain data.
 *
 * Every decision function (report.c, response.c, escalation.c,
 * sensitive.c) fills one dispatch_decision_t and touches nothing else. The
 * store layer applies it in the transaction of the input: it upserts each
 * task in `tasks`, appends each record to the dispatch stream (type name
 * from dispatch_record_name(), fields packed to msgpack), and sets or
 * cancels each timer. A set timer replaces one with the same key; a cancel
 * of a key that is not set does nothing.
 *
 * Fixed capacities, no allocation: a decision lives on the stack. The
 * worst case (a return that re-routes to a unit notified twice over in
 * sensitive mode, and a follow-up task) stays well under the limits; a
 * decision that would exceed them sets `overflow`, which the store treats
 * as a bug (dead letter with the reason), never a silent drop.
 *
 * Strings: unit ids, kinds and names are borrowed from the rules and the
 * campaign (valid while they are loaded); ids and reasons are copied. */
#ifndef AIRGUARD_DISPATCH_DECISION_H
#define AIRGUARD_DISPATCH_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task.h"

#define DISPATCH_MAX_TASKS 2
#define DISPATCH_MAX_RECORDS 16
#define DISPATCH_MAX_TIMERS 12
#define DISPATCH_REASON_MAX 160
#define DISPATCH_TIMER_KEY_MAX 80

typedef enum dispatch_record_type {
    DISPATCH_REC_TASK_CREATED = 1,     /* "dispatch.task_created": a new task and its holder */
    DISPATCH_REC_TASK_ASSIGNED,        /* "dispatch.task_assigned": a new holder (re-route,
                                          fallback) */
    DISPATCH_REC_TASK_NOTIFIED,        /* "dispatch.task_notified": a unit told too */
    DISPATCH_REC_TASK_ACKNOWLEDGED,    /* "dispatch.task_acknowledged" */
    DISPATCH_REC_TASK_ARRIVED,         /* "dispatch.task_arrived" */
    DISPATCH_REC_TASK_DONE,            /* "dispatch.task_done": with the outcome */
    DISPATCH_REC_TASK_RETURNED,        /* "dispatch.task_returned": with the reason */
    DISPATCH_REC_TASK_OVERDUE,         /* "dispatch.task_overdue": a deadline passed */
    DISPATCH_REC_TASK_ESCALATED,       /* "dispatch.task_escalated": one chain step */
    DISPATCH_REC_ESCALATION_EXHAUSTED, /* "dispatch.escalation_exhausted": bound reached */
    DISPATCH_REC_TASK_MERGED,          /* "dispatch.task_merged": a report joined a task, or a
                                          task joined another */
    DISPATCH_REC_TASK_CLOSED,          /* "dispatch.task_closed" */
    DISPATCH_REC_RESPONSE_REJECTED,    /* "dispatch.response_rejected": with the reason */
    DISPATCH_REC_SENSITIVE_STARTED,    /* "dispatch.sensitive_started" */
    DISPATCH_REC_SENSITIVE_ENDED,      /* "dispatch.sensitive_ended" */
} dispatch_record_type_t;

/* One record for the dispatch stream. Fields unused by a type are zero. */
typedef struct dispatch_record {
    dispatch_record_type_t type;
    char task[DISPATCH_UUID_LEN + 1];  /* the task; "" for mode records */
    char event[DISPATCH_UUID_LEN + 1]; /* the input event; "" when a timer fired */
    const char *unit;                  /* the unit addressed (holder, notified, escalation
                                          step, rejected responder's claimed unit) */
    const char *role;                  /* escalation to a patrol group: "deputies" or
                                          "leaders"; NULL for the whole unit */
    const char *why;                   /* route name, "collaboration", "sensitive",
                                          return reason, outcome ... */
    dispatch_stage_t stage;            /* overdue / escalated: which deadline */
    int step;                          /* escalated: chain step, 1-based */
    int round;                         /* escalated: walk of the chain, 0-based */
    int64_t at_ms;                     /* when the decision was taken (now) */
    const char *sensitive_id;          /* mode records: the sensitive date */
    char by[65];                       /* rejected: the responder as it named itself */
    char reason[DISPATCH_REASON_MAX];  /* rejected: why; merged: the other task */
} dispatch_record_t;

typedef enum dispatch_timer_kind {
    DISPATCH_TIMER_ACK = 1,   /* "ack": acknowledgement deadline of a task */
    DISPATCH_TIMER_ARRIVE,    /* "arrive" */
    DISPATCH_TIMER_RESOLVE,   /* "resolve" */
    DISPATCH_TIMER_ESCALATE,  /* "escalate": next escalation step of a task */
    DISPATCH_TIMER_SENSITIVE, /* "sensitive": next start or end of the mode */
} dispatch_timer_kind_t;

typedef struct dispatch_timer {
    bool cancel;                      /* true: cancel key; false: set it */
    dispatch_timer_kind_t kind;       /* what fires */
    char key[DISPATCH_TIMER_KEY_MAX]; /* dispatch_timer_key(), or "sensitive/<subdistrict>" */
    char task[DISPATCH_UUID_LEN + 1]; /* the task, "" for the mode timer */
    int64_t due_ms;                   /* set: when, UTC ms */
} dispatch_timer_t;

typedef struct dispatch_decision {
    dispatch_task_t tasks[DISPATCH_MAX_TASKS]; /* tasks created or changed: store them */
    size_t n_tasks;
    dispatch_record_t records[DISPATCH_MAX_RECORDS]; /* to append, in order */
    size_t n_records;
    dispatch_timer_t timers[DISPATCH_MAX_TIMERS]; /* to set or cancel, in order */
    size_t n_timers;
    bool rejected; /* the input was refused (one RESPONSE_REJECTED record, nothing else) */
    bool overflow; /* a capacity was exceeded: a bug, see above */
} dispatch_decision_t;

/* Empties d. */
void dispatch_decision_init(dispatch_decision_t *d);

/* Appends a record of type about task (NULL for none) at now; returns it
 * for the caller to fill the type's fields, or NULL (and overflow) when
 * full. */
dispatch_record_t *dispatch_decision_record(dispatch_decision_t *d, dispatch_record_type_t type,
                                            const dispatch_task_t *task, int64_t now_ms);

/* Sets / cancels the timer of kind for task (NULL: the mode timer of
 * subdistrict). */
void dispatch_decision_timer_set(dispatch_decision_t *d, dispatch_timer_kind_t kind,
                                 const char *task_id, const char *subdistrict, int64_t due_ms);
void dispatch_decision_timer_cancel(dispatch_decision_t *d, dispatch_timer_kind_t kind,
                                    const char *task_id);

/* Stores a copy of t as changed (replacing an earlier copy of the same id). */
void dispatch_decision_task(dispatch_decision_t *d, const dispatch_task_t *t);

/* Wire names: "dispatch.task_created" ..., "ack" / "arrive" ... */
const char *dispatch_record_name(dispatch_record_type_t type);
const char *dispatch_timer_name(dispatch_timer_kind_t kind);

/* The timer key of kind for a task, into out: "<task>/deadline" for the
 * three deadline kinds (one timer per task, moved from stage to stage),
 * "<task>/escalate" for the escalate timer. */
void dispatch_timer_key(dispatch_timer_kind_t kind, const char *task_id, char *out, size_t cap);

#endif
