/* dispatch_fixture.h - what the dispatch unit tests share: the two seed
 * campaigns with their dispatch rules, instants in the campaign's calendar,
 * and small builders for reports and responses. Runs from the repository
 * root (paths like "seeds/baiyang-2019.yaml"). Static functions only: each
 * test program includes it once. */
#ifndef AIRGUARD_TEST_DISPATCH_FIXTURE_H
#define AIRGUARD_TEST_DISPATCH_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "../services/dispatch/assign.h"
#include "../services/dispatch/deadlines.h"
#include "../services/dispatch/decision.h"
#include "../services/dispatch/escalation.h"
#include "../services/dispatch/merge.h"
#include "../services/dispatch/report.h"
#include "../services/dispatch/response.h"
#include "../services/dispatch/returns.h"
#include "../services/dispatch/routing.h"
#include "../services/dispatch/rules.h"
#include "../services/dispatch/sensitive.h"
#include "../services/dispatch/task.h"

#define BAIYANG "seeds/baiyang-2019.yaml"
#define SHANHE "seeds/demo-shanhe.yaml"

#define MIN_MS 60000LL
/* 2019-12-02 10:00 in Asia/Shanghai (02:00 UTC): an ordinary campaign day. */
#define T_ORDINARY 1575252000000LL
/* 2020-01-24 00:00 in Asia/Shanghai (除夕 begins), 2020-01-23T16:00Z. */
#define T_NYE_MIDNIGHT 1579795200000LL
/* 2020-01-26 00:00 in Asia/Shanghai: the day after 春节. */
#define T_AFTER_SPRING 1579968000000LL
/* 2019-12-22 00:00 in Asia/Shanghai (冬至, an invented sensitive date). */
#define T_SOLSTICE_MIDNIGHT 1576944000000LL

#define TASK_A "5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e51"
#define TASK_B "5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e52"
#define TASK_C "5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e53"
#define EVENT_1 "7e1d2c3b-4a5f-4e6d-8c7b-9a0b1c2d3e41"
#define EVENT_2 "7e1d2c3b-4a5f-4e6d-8c7b-9a0b1c2d3e42"

typedef struct fixture {
    campaign_t *c;
    dispatch_rules_t *r;
} fixture_t;

static inline fixture_t fx_load(const char *path)
{
    fixture_t f = {0};
    err_t err = {{0}};
    f.c = campaign_load(path, &err);
    if (f.c)
        f.r = dispatch_rules_load(f.c, &err);
    if (!f.r)
        fprintf(stderr, "  cannot load %s: %s\n", path, err.msg);
    return f;
}

static inline void fx_free(fixture_t *f)
{
    dispatch_rules_destroy(&f->r);
    campaign_destroy(&f->c);
}

/* A report of kind at a grid (may be NULL), at now. */
static inline dispatch_report_t fx_report(const char *kind, const char *grid)
{
    dispatch_report_t rep = {.event = EVENT_1, .kind = kind, .at_ms = T_ORDINARY};
    rep.place.grid = grid;
    return rep;
}

/* Opens a task for rep at now and returns it (zeroed task on failure). */
static inline dispatch_task_t fx_open(const fixture_t *f, const dispatch_report_t *rep,
                                      const char *id, int64_t now)
{
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_report_decide(f->r, rep, NULL, 0, id, now, &d);
    dispatch_task_t t;
    memset(&t, 0, sizeof t);
    if (d.n_tasks == 1)
        t = d.tasks[0];
    return t;
}

static inline dispatch_response_t fx_resp(dispatch_response_kind_t kind, const char *task,
                                          const char *by)
{
    dispatch_response_t r = {.event = EVENT_2, .kind = kind, .task = task, .by = by};
    return r;
}

/* Number of records of type in d. */
static inline size_t fx_count(const dispatch_decision_t *d, dispatch_record_type_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_records; i++)
        n += d->records[i].type == type;
    return n;
}

/* The first record of type, or NULL. */
static inline const dispatch_record_t *fx_rec(const dispatch_decision_t *d,
                                              dispatch_record_type_t type)
{
    for (size_t i = 0; i < d->n_records; i++)
        if (d->records[i].type == type)
            return &d->records[i];
    return NULL;
}

/* The timer of kind in d (set or cancel), or NULL. */
static inline const dispatch_timer_t *fx_timer(const dispatch_decision_t *d,
                                               dispatch_timer_kind_t kind)
{
    for (size_t i = 0; i < d->n_timers; i++)
        if (d->timers[i].kind == kind)
            return &d->timers[i];
    return NULL;
}

static inline bool fx_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

#endif
