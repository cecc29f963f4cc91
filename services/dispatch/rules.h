/* rules.h - the `dispatch:` section of a campaign file: who can hold a task
 * (units), which events open one, where each goes (routes), how fast it
 * must be handled (deadlines), who hears when it is not (escalation),
 * returns, sensitive-date mode and duplicate reports. docs/dispatch.md
 * documents every key.
 *
 * dispatch_rules_load() reads the section with config.h's getters and
 * checks it against the campaign it belongs to: every unit a rule names
 * exists, every grid has exactly one squad, every checkpoint one post,
 * every event kind is in the catalogue and has a deadline row. The first
 * mistake is reported as "file:line: what is wrong".
 *
 * Units. A task is always held by a unit: a group of the campaign (by its
 * id), a patrol squad or a checkpoint's fixed post (defined here), or an
 * extra unit listed under `units` (e.g. a property manager's contact).
 * They share one namespace of ids.
 *
 * Ownership: the rules borrow the campaign (and the YAML tree its strings
 * live in); destroy the rules before the campaign. Everything reachable
 * from a dispatch_rules_t is read-only after loading. */
#ifndef AIRGUARD_DISPATCH_RULES_H
#define AIRGUARD_DISPATCH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "err.h"

/* Priorities an event may be given; deadline rows are per priority. */
typedef enum dispatch_priority {
    DISPATCH_PRIO_LOW = 0, /* "low" */
    DISPATCH_PRIO_NORMAL,  /* "normal" */
    DISPATCH_PRIO_URGENT,  /* "urgent" */
} dispatch_priority_t;

typedef enum dispatch_unit_kind {
    DISPATCH_UNIT_GROUP = 1, /* a group of the campaign */
    DISPATCH_UNIT_SQUAD,     /* a patrol squad covering some grids */
    DISPATCH_UNIT_POST,      /* the fixed post at a checkpoint */
    DISPATCH_UNIT_OTHER,     /* an extra unit from `units` */
} dispatch_unit_kind_t;

/* Someone who can hold a task or be told about it. */
typedef struct dispatch_unit {
    const char *id;                        /* unique among all units */
    const char *name;                      /* display name */
    dispatch_unit_kind_t kind;             /* what it is */
    const campaign_group_t *group;         /* GROUP: the group; SQUAD: its patrol group */
    const campaign_community_t *community; /* community it serves; NULL for
                                              subdistrict-wide units */
    const campaign_key_area_t *key_area;   /* POST: the key area of its checkpoint */
    int line;                              /* line of its entry in the file */
} dispatch_unit_t;

/* Where an event must be for a route or notify rule to apply. */
typedef enum dispatch_where {
    DISPATCH_WHERE_ANYWHERE = 0,       /* "anywhere" (the default) */
    DISPATCH_WHERE_KEY_AREA,           /* "key_area": inside any key area */
    DISPATCH_WHERE_GRAVE_SITE,         /* "grave_site": inside a grave-relocation site */
    DISPATCH_WHERE_NON_DEMOLISHED,     /* "non_demolished": inside a non-demolished area */
    DISPATCH_WHERE_GRID,               /* "grid": a grid is known */
    DISPATCH_WHERE_COMPOUND,           /* "compound": a compound is named */
    DISPATCH_WHERE_SCHOOL,             /* "school": a school is named */
    DISPATCH_WHERE_COMPOUND_OR_SCHOOL, /* "compound_or_school" */
    DISPATCH_WHERE_COMMUNITY,          /* "community": a community is known */
} dispatch_where_t;

/* Whom a route sends to: a fixed unit, or one that depends on the place. */
typedef enum dispatch_target {
    DISPATCH_TO_UNIT = 0,     /* the unit named */
    DISPATCH_TO_SQUAD,        /* "$squad": the squad of the event's grid */
    DISPATCH_TO_POST,         /* "$post": the post of the event's key area */
    DISPATCH_TO_PATROL_GROUP, /* "$patrol_group": the community's patrol group */
} dispatch_target_t;

/* One routing rule (routes: first match wins; notify: every match). */
typedef struct dispatch_route {
    const char *name;            /* for records and messages */
    const char *const *kinds;    /* event kinds it applies to; NULL = all */
    size_t n_kinds;              /* entries in kinds */
    dispatch_where_t where;      /* place condition */
    dispatch_target_t target;    /* whom */
    const dispatch_unit_t *unit; /* DISPATCH_TO_UNIT: the unit */
    bool police_liaison;         /* set the police-liaison flag when the key
                                    area's checkpoint is held with the police */
    int line;                    /* line in the file */
} dispatch_route_t;

/* An event kind that opens a task. */
typedef struct dispatch_event_rule {
    const char *kind;                     /* catalogue type, or "task.done:<outcome>" */
    const char *field;                    /* body field whose value is the input's
                                             detail; NULL when none */
    const char *const *only;              /* open a task only for these values of
                                             field; NULL = any */
    size_t n_only;                        /* entries in only */
    dispatch_priority_t priority;         /* its priority */
    bool has_ongoing_priority;            /* ongoing_priority given */
    dispatch_priority_t ongoing_priority; /* priority when the report says ongoing */
    int line;                             /* line in the file */
} dispatch_event_rule_t;

/* Deadlines, measured from the moment a unit is given the task. */
typedef struct dispatch_deadline_row {
    const char *const *kinds;     /* kinds it applies to; NULL = all */
    size_t n_kinds;               /* entries in kinds */
    bool any_priority;            /* no priority given: applies to all */
    dispatch_priority_t priority; /* when !any_priority */
    int64_t ack_ms;               /* to acknowledge */
    int64_t arrive_ms;            /* to arrive on site (>= ack_ms) */
    int64_t resolve_ms;           /* to report done (>= arrive_ms) */
    int line;                     /* line in the file */
} dispatch_deadline_row_t;

typedef enum dispatch_step_kind {
    DISPATCH_STEP_UNIT = 0,        /* a named unit */
    DISPATCH_STEP_HOLDER,          /* "$holder": the unit holding the task */
    DISPATCH_STEP_PATROL_DEPUTIES, /* "$patrol_deputies": deputies of the community's
                                      patrol group */
    DISPATCH_STEP_PATROL_LEADERS,  /* "$patrol_leaders": its leaders */
} dispatch_step_kind_t;

/* One step of the escalation chain. */
typedef struct dispatch_step {
    dispatch_step_kind_t kind;   /* whom */
    const dispatch_unit_t *unit; /* DISPATCH_STEP_UNIT: the unit */
    int line;                    /* line in the file */
} dispatch_step_t;

struct dispatch_rules_priv; /* owned memory; see rules.c */

/* The loaded rules of one campaign. Arrays are in file order. */
typedef struct dispatch_rules {
    const campaign_t *campaign; /* borrowed: the campaign they belong to */
    const char *path;           /* its file, for messages */

    const dispatch_unit_t *units; /* every unit: groups first, then squads,
                                     posts and extra units */
    size_t n_units;
    const dispatch_unit_t *const *squad_of_grid; /* by campaign grid index */
    const dispatch_unit_t *const *post_of_area;  /* by key area index; NULL when
                                                    the area has no checkpoint */
    const double *area_radius_m;                 /* by key area index: a point this close to its
                                                    centre is inside it; 0 when unknown */
    double grid_max_distance_m;                  /* a point farther from every grid centre is
                                                    outside every grid */

    const dispatch_event_rule_t *events; /* kinds that open tasks */
    size_t n_events;
    const dispatch_route_t *routes; /* owner: first match wins */
    size_t n_routes;
    const dispatch_route_t *notify; /* also told: every match */
    size_t n_notify;
    const dispatch_unit_t *default_unit; /* owner when no route matches */

    const dispatch_deadline_row_t *deadlines; /* first match wins */
    size_t n_deadlines;
    double key_area_factor;  /* deadlines inside a key area are multiplied by it */
    double sensitive_factor; /* deadlines and escalation intervals in
                                sensitive-date mode are multiplied by it */

    const dispatch_step_t *chain; /* escalation chain, step 1 first */
    size_t n_chain;
    int64_t step_ms; /* time between escalation steps */
    int repeats;     /* times the chain is walked again after its end */

    int max_returns;                 /* returns before the fallback owner takes it */
    const dispatch_unit_t *fallback; /* the fallback owner (兜底) */

    const bool *sensitive_on;                /* by campaign sensitive index: counts
                                                for sensitive-date mode */
    const dispatch_unit_t *sensitive_notify; /* told of every task in the mode */

    double duplicate_distance_m; /* same kind this close ... */
    int64_t duplicate_window_ms; /* ... and this soon after the task's last
                                    report is one incident */

    struct dispatch_rules_priv *priv; /* private */
} dispatch_rules_t;

/* Reads and checks the campaign's `dispatch:` section. Returns NULL and
 * fills err ("file:line: ...") when it is missing or wrong. The caller owns
 * the result (dispatch_rules_destroy()); it borrows campaign. */
dispatch_rules_t *dispatch_rules_load(const campaign_t *campaign, err_t *err);

/* Frees the rules and sets *self_p to NULL; safe on NULL and twice. */
void dispatch_rules_destroy(dispatch_rules_t **self_p);

/* The unit with this id; NULL when none (or id is NULL). */
const dispatch_unit_t *dispatch_rules_unit(const dispatch_rules_t *r, const char *id);

/* The event rule of kind; NULL when that kind opens no task. */
const dispatch_event_rule_t *dispatch_rules_event(const dispatch_rules_t *r, const char *kind);

/* "low" / "normal" / "urgent". */
const char *dispatch_rules_priority_name(dispatch_priority_t p);

/* True when kinds (n entries; NULL = all) contains kind. */
bool dispatch_rules_kind_in(const char *const *kinds, size_t n, const char *kind);

#endif
