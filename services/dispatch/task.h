/* task.h - a dispatch task and its state machine.
 *
 *   created ──ack──► acknowledged ──arrive──► arrived ──done──► done ──► closed
 *      │  └────────────arrive (implies ack)─────┘ ▲
 *      ├─ deadline passed ─► escalated (until the overdue stage is reached)
 *      ├─ return ─► returned ─► (re-routed) created, held by the next unit
 *      └─ return as a duplicate of an open task ─► merged
 *
 * A task records its progress (acked_ms, arrived_ms) apart from its state,
 * so an escalated task knows which responses are still possible. Every
 * transition goes through dispatch_task_check(), which refuses invalid ones
 * with the reason ("already acknowledged", "task is closed" ...).
 *
 * A task is a plain value: the store layer keeps it as a row (pointers are
 * stored as the ids they point to and looked up again in the rules and
 * campaign on load) and passes it to the decision functions. */
#ifndef AIRGUARD_DISPATCH_TASK_H
#define AIRGUARD_DISPATCH_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "rules.h"

#define DISPATCH_UUID_LEN 36    /* canonical UUID text, without the NUL */
#define DISPATCH_MAX_RETURNS 10 /* the rules' returns.max is at most this */

typedef enum dispatch_state {
    DISPATCH_TASK_CREATED = 1,  /* "created": held, waiting for acknowledgement */
    DISPATCH_TASK_ACKNOWLEDGED, /* "acknowledged" */
    DISPATCH_TASK_ARRIVED,      /* "arrived": the holder is on site */
    DISPATCH_TASK_ESCALATED,    /* "escalated": a deadline passed, the chain is climbing */
    DISPATCH_TASK_DONE,         /* "done": the field work has an outcome */
    DISPATCH_TASK_RETURNED,     /* "returned": handed back, about to be re-routed */
    DISPATCH_TASK_MERGED,       /* "merged": one incident with another open task (final) */
    DISPATCH_TASK_CLOSED,       /* "closed": nothing more to do (final) */
} dispatch_state_t;

/* What a deadline is about; also the stage an escalation is for. */
typedef enum dispatch_stage {
    DISPATCH_STAGE_NONE = 0,
    DISPATCH_STAGE_ACK,     /* "ack" */
    DISPATCH_STAGE_ARRIVE,  /* "arrive" */
    DISPATCH_STAGE_RESOLVE, /* "resolve" */
} dispatch_stage_t;

typedef enum dispatch_action {
    DISPATCH_ACT_ACK = 0,  /* the holder acknowledges */
    DISPATCH_ACT_ARRIVE,   /* the holder is on site */
    DISPATCH_ACT_DONE,     /* the holder reports an outcome */
    DISPATCH_ACT_RETURN,   /* the holder hands it back */
    DISPATCH_ACT_ESCALATE, /* a deadline passed / the next escalation step */
    DISPATCH_ACT_REASSIGN, /* a new holder after a return */
    DISPATCH_ACT_MERGE,    /* merged into another open task */
    DISPATCH_ACT_CLOSE,    /* closed after done */
} dispatch_action_t;

typedef struct dispatch_task {
    char id[DISPATCH_UUID_LEN + 1];    /* the task id (given by the caller) */
    char event[DISPATCH_UUID_LEN + 1]; /* message id of the event that opened it */
    const char *kind;                  /* event kind, borrowed from the rules */
    dispatch_priority_t priority;      /* from the event rule */
    dispatch_state_t state;            /* see above */

    const dispatch_unit_t *holder; /* who must act now */
    const char *route;             /* why it holds it: route name, "default",
                                      "fallback" (borrowed, static or rules) */
    bool held_by_fallback;         /* the fallback owner took it: no more returns */
    int returns;                   /* returns so far */
    const dispatch_unit_t *returned_by[DISPATCH_MAX_RETURNS]; /* in order */

    const campaign_community_t *community; /* where: resolved, may be NULL */
    const campaign_grid_t *grid;           /* may be NULL */
    const campaign_key_area_t *key_area;   /* may be NULL */
    const campaign_place_t *compound;      /* named compound, may be NULL */
    const campaign_place_t *school;        /* named school, may be NULL */
    bool has_geo;                          /* geo is set */
    campaign_geo_t geo;                    /* the first report's coordinates */
    bool police_liaison;                   /* the police are to be told (grave sites) */
    bool sensitive;                        /* opened in sensitive-date mode */

    int64_t created_ms;     /* opened */
    int64_t assigned_ms;    /* given to the current holder */
    int64_t acked_ms;       /* acknowledged by the current holder, 0 if not */
    int64_t arrived_ms;     /* arrived, 0 if not */
    int64_t done_ms;        /* done, 0 if not */
    int64_t last_report_ms; /* event time of the latest report of the incident */
    int reports;            /* reports of the incident (1 + merged ones) */
    int64_t due_ack_ms;     /* deadlines of the current holder */
    int64_t due_arrive_ms;
    int64_t due_resolve_ms;

    dispatch_stage_t esc_stage; /* stage being escalated, NONE when not escalating */
    int esc_step;               /* last chain step sent, 1-based; 0 none;
                                   n_chain + 1 once exhausted */
    int esc_round;              /* walks of the chain completed */

    char merged_into[DISPATCH_UUID_LEN + 1]; /* MERGED: the task it joined */
    const char *outcome;                     /* DONE: persuaded / refused / unfounded
                                                (borrowed from the catalogue) */

    bool stored; /* the table has its row: false for a task opened in the
                    open transaction (the store's, never a decision's) */
} dispatch_task_t;

/* 0 when action is allowed now; else -1 and why (one line, cap bytes). */
int dispatch_task_check(const dispatch_task_t *t, dispatch_action_t action, char *why, size_t cap);

/* Applies an allowed action's state change at now (timestamps, progress);
 * the caller has checked it. Returns the same as dispatch_task_check()
 * and changes nothing when it is not allowed. */
int dispatch_task_apply(dispatch_task_t *t, dispatch_action_t action, int64_t now_ms, char *why,
                        size_t cap);

/* The state the task's progress gives when it is not escalating. */
dispatch_state_t dispatch_task_progress_state(const dispatch_task_t *t);

/* Still someone's job (not done, merged or closed). */
bool dispatch_task_is_open(const dispatch_task_t *t);

const char *dispatch_task_state_name(dispatch_state_t s);
const char *dispatch_task_stage_name(dispatch_stage_t s);
const char *dispatch_task_action_name(dispatch_action_t a);

#endif
