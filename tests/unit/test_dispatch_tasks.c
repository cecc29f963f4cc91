/* test_dispatch_tasks.c - the task state machine (every state against
 * every field action), responses refused with the reason and no change,
 * returns up to the bound and then the fallback owner, duplicate reports
 * merged in and out of the window and distance, a "duplicate" return, and
 * the enforcement follow-up of a refusal. */
#include "check.h"
#include "dispatch_fixture.h"

typedef struct sm_case {
    dispatch_state_t state;
    bool acked, arrived, fallback;
    dispatch_action_t action;
    const char *refusal; /* NULL: allowed; else a part of the reason */
} sm_case_t;

static void test_state_machine(void)
{
    static const sm_case_t cases[] = {
        {DISPATCH_TASK_CREATED, false, false, false, DISPATCH_ACT_ACK, NULL},
        {DISPATCH_TASK_CREATED, false, false, false, DISPATCH_ACT_ARRIVE, NULL},
        {DISPATCH_TASK_CREATED, false, false, false, DISPATCH_ACT_DONE, "not acknowledged yet"},
        {DISPATCH_TASK_CREATED, false, false, false, DISPATCH_ACT_RETURN, NULL},
        {DISPATCH_TASK_CREATED, false, false, false, DISPATCH_ACT_CLOSE, "task is not done"},
        {DISPATCH_TASK_CREATED, false, false, true, DISPATCH_ACT_RETURN,
         "held by the fallback owner"},
        {DISPATCH_TASK_ACKNOWLEDGED, true, false, false, DISPATCH_ACT_ACK, "already acknowledged"},
        {DISPATCH_TASK_ACKNOWLEDGED, true, false, false, DISPATCH_ACT_ARRIVE, NULL},
        {DISPATCH_TASK_ACKNOWLEDGED, true, false, false, DISPATCH_ACT_DONE, NULL},
        {DISPATCH_TASK_ARRIVED, true, true, false, DISPATCH_ACT_ACK, "already arrived"},
        {DISPATCH_TASK_ARRIVED, true, true, false, DISPATCH_ACT_ARRIVE, "already arrived"},
        {DISPATCH_TASK_ARRIVED, true, true, false, DISPATCH_ACT_DONE, NULL},
        {DISPATCH_TASK_ARRIVED, true, true, false, DISPATCH_ACT_RETURN, NULL},
        {DISPATCH_TASK_ESCALATED, false, false, false, DISPATCH_ACT_ACK, NULL},
        {DISPATCH_TASK_ESCALATED, false, false, false, DISPATCH_ACT_DONE, "not acknowledged yet"},
        {DISPATCH_TASK_ESCALATED, true, false, false, DISPATCH_ACT_ACK, "already acknowledged"},
        {DISPATCH_TASK_ESCALATED, true, false, false, DISPATCH_ACT_ARRIVE, NULL},
        {DISPATCH_TASK_DONE, true, true, false, DISPATCH_ACT_ACK, "task is done"},
        {DISPATCH_TASK_DONE, true, true, false, DISPATCH_ACT_RETURN, "task is done"},
        {DISPATCH_TASK_DONE, true, true, false, DISPATCH_ACT_CLOSE, NULL},
        {DISPATCH_TASK_CLOSED, true, true, false, DISPATCH_ACT_ACK, "task is closed"},
        {DISPATCH_TASK_CLOSED, true, true, false, DISPATCH_ACT_RETURN, "task is closed"},
        {DISPATCH_TASK_CLOSED, true, true, false, DISPATCH_ACT_ESCALATE, "task is closed"},
        {DISPATCH_TASK_MERGED, false, false, false, DISPATCH_ACT_ARRIVE, "merged into"},
        {DISPATCH_TASK_RETURNED, false, false, false, DISPATCH_ACT_ACK, "re-routed"},
        {DISPATCH_TASK_RETURNED, false, false, false, DISPATCH_ACT_REASSIGN, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sm_case_t *c = &cases[i];
        dispatch_task_t t;
        memset(&t, 0, sizeof t);
        t.state = c->state;
        t.acked_ms = c->acked ? T_ORDINARY : 0;
        t.arrived_ms = c->arrived ? T_ORDINARY : 0;
        t.held_by_fallback = c->fallback;
        dispatch_task_t before = t;
        char why[128] = "";
        int rc = dispatch_task_apply(&t, c->action, T_ORDINARY + 1, why, sizeof why);
        if (c->refusal) {
            CHECKF(rc == -1 && CONTAINS(why, c->refusal), "case %zu: %s %s -> rc %d '%s'", i,
                   dispatch_task_state_name(c->state), dispatch_task_action_name(c->action), rc,
                   why);
            CHECKF(memcmp(&t, &before, sizeof t) == 0, "case %zu: a refusal changed the task", i);
        } else {
            CHECKF(rc == 0, "case %zu: %s %s refused: %s", i, dispatch_task_state_name(c->state),
                   dispatch_task_action_name(c->action), why);
        }
    }
}

static dispatch_decision_t s_respond(const fixture_t *f, const dispatch_task_t *t,
                                     const dispatch_task_t *open, size_t n_open,
                                     dispatch_response_t resp, int64_t now)
{
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_response_decide(f->r, t, &resp, open, n_open, TASK_C, now, &d);
    return d;
}

static bool s_rejected(const dispatch_decision_t *d, const char *reason)
{
    const dispatch_record_t *r = fx_rec(d, DISPATCH_REC_RESPONSE_REJECTED);
    return d->rejected && d->n_records == 1 && r && CONTAINS(r->reason, reason) &&
           d->n_tasks == 0 && d->n_timers == 0;
}

static void test_responses_rejected(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.open_burning", "baima-g01");
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    int64_t now = T_ORDINARY + MIN_MS;
    dispatch_decision_t d;

    d = s_respond(&f, NULL, NULL, 0, fx_resp(DISPATCH_RESP_ACKNOWLEDGED, TASK_B, "baima-sq1"), now);
    CHECK(s_rejected(&d, "unknown task " TASK_B));
    CHECK(strcmp(d.records[0].task, TASK_B) == 0 && strcmp(d.records[0].by, "baima-sq1") == 0 &&
          fx_streq(d.records[0].why, "task.acknowledged") &&
          strcmp(d.records[0].event, EVENT_2) == 0);

    d = s_respond(&f, &t, NULL, 0, fx_resp(DISPATCH_RESP_ACKNOWLEDGED, TASK_A, "modou-sq1"), now);
    CHECK(s_rejected(&d, "unit 'modou-sq1' does not hold the task (held by 'baima-sq1')"));
    /* the patrol group above the squad does not hold it either */
    d = s_respond(&f, &t, NULL, 0, fx_resp(DISPATCH_RESP_ARRIVED, TASK_A, "patrol-baima"), now);
    CHECK(s_rejected(&d, "does not hold"));

    dispatch_response_t done = fx_resp(DISPATCH_RESP_DONE, TASK_A, "baima-sq1");
    done.outcome = "persuaded";
    d = s_respond(&f, &t, NULL, 0, done, now);
    CHECK(s_rejected(&d, "not acknowledged yet"));
    done.outcome = "vanished";
    dispatch_task_t acked = t;
    acked.acked_ms = now;
    acked.state = DISPATCH_TASK_ACKNOWLEDGED;
    d = s_respond(&f, &acked, NULL, 0, done, now);
    CHECK(s_rejected(&d, "unknown outcome"));
    dispatch_response_t ret = fx_resp(DISPATCH_RESP_RETURNED, TASK_A, "baima-sq1");
    ret.reason = "bored";
    d = s_respond(&f, &t, NULL, 0, ret, now);
    CHECK(s_rejected(&d, "unknown return reason"));

    /* done: closed, and then every response is refused as closed */
    done.outcome = "persuaded";
    d = s_respond(&f, &acked, NULL, 0, done, now);
    CHECK(!d.rejected && d.n_tasks == 1 && d.tasks[0].state == DISPATCH_TASK_CLOSED);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_CREATED) == 0); /* persuaded: no follow-up */
    dispatch_task_t closed = d.tasks[0];
    d = s_respond(&f, &closed, NULL, 0, fx_resp(DISPATCH_RESP_ARRIVED, TASK_A, "baima-sq1"), now);
    CHECK(s_rejected(&d, "task is closed"));
    /* closed wins over a wrong unit: the reason says what matters */
    d = s_respond(&f, &closed, NULL, 0, fx_resp(DISPATCH_RESP_ARRIVED, TASK_A, "nobody"), now);
    CHECK(s_rejected(&d, "task is closed"));
    fx_free(&f);
}

static void test_refused_goes_to_enforcement(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.fireworks_set_off", NULL);
    rep.place.school = "xinhua-primary";
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    t.acked_ms = T_ORDINARY + MIN_MS;
    t.state = DISPATCH_TASK_ACKNOWLEDGED;
    dispatch_response_t done = fx_resp(DISPATCH_RESP_DONE, TASK_A, "xinhua-sq1");
    done.outcome = "refused";
    dispatch_decision_t d = s_respond(&f, &t, NULL, 0, done, T_ORDINARY + 10 * MIN_MS);
    CHECK(!d.rejected && d.n_tasks == 2 && !d.overflow);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_DONE) == 1 && fx_count(&d, DISPATCH_REC_TASK_CLOSED) == 1);
    const dispatch_record_t *c = fx_rec(&d, DISPATCH_REC_TASK_CREATED);
    CHECK(c && strcmp(c->task, TASK_C) == 0 && fx_streq(c->unit, "enforcement") &&
          fx_streq(c->why, "refused-after-persuasion"));
    const dispatch_task_t *fu = &d.tasks[1];
    CHECK(fx_streq(fu->kind, "task.done:refused") && fu->school &&
          fx_streq(fu->school->id, "xinhua-primary"));
    CHECK(fu->due_ack_ms - fu->assigned_ms == 30 * MIN_MS);
    /* the school's contact hears of the follow-up too */
    CHECK(fx_count(&d, DISPATCH_REC_TASK_NOTIFIED) == 1);
    fx_free(&f);
}

static void test_returns_then_fallback(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    CHECK(f.r->max_returns == 2);
    dispatch_report_t rep = fx_report("report.meat_smoking", "modou-g02");
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(fx_streq(t.holder->id, "modou-sq1"));
    /* escalating when returned: the chain is reset for the next holder */
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_escalation_on_timer(f.r, &t, DISPATCH_TIMER_ACK, t.due_ack_ms, &d);
    t = d.tasks[0];
    CHECK(t.state == DISPATCH_TASK_ESCALATED);

    int64_t now = t.due_ack_ms + MIN_MS;
    dispatch_response_t ret = fx_resp(DISPATCH_RESP_RETURNED, TASK_A, "modou-sq1");
    ret.reason = "not_our_area";
    d = s_respond(&f, &t, NULL, 0, ret, now);
    CHECK(!d.rejected && d.n_tasks == 1);
    t = d.tasks[0];
    const dispatch_record_t *r = fx_rec(&d, DISPATCH_REC_TASK_RETURNED);
    CHECK(r && fx_streq(r->unit, "modou-sq1") && fx_streq(r->why, "not_our_area"));
    r = fx_rec(&d, DISPATCH_REC_TASK_ASSIGNED);
    CHECK(r && fx_streq(r->unit, "patrol-modou") && fx_streq(r->why, "community-patrol"));
    CHECK(t.state == DISPATCH_TASK_CREATED && t.returns == 1 && !t.held_by_fallback &&
          t.esc_stage == DISPATCH_STAGE_NONE && t.assigned_ms == now &&
          t.due_ack_ms == now + 15 * MIN_MS);
    const dispatch_timer_t *tm = fx_timer(&d, DISPATCH_TIMER_ESCALATE);
    CHECK(tm && tm->cancel);
    /* the old holder can no longer answer */
    d = s_respond(&f, &t, NULL, 0, fx_resp(DISPATCH_RESP_ACKNOWLEDGED, TASK_A, "modou-sq1"), now);
    CHECK(s_rejected(&d, "does not hold"));

    /* second return: the bound; the fallback owner takes it */
    ret.by = "patrol-modou";
    ret.reason = "cannot_reach";
    d = s_respond(&f, &t, NULL, 0, ret, now + MIN_MS);
    t = d.tasks[0];
    r = fx_rec(&d, DISPATCH_REC_TASK_ASSIGNED);
    CHECK(r && fx_streq(r->unit, "coordination") && fx_streq(r->why, "fallback"));
    CHECK(t.held_by_fallback && t.returns == 2 && fx_streq(t.holder->id, "coordination"));

    /* and it cannot bounce again */
    ret.by = "coordination";
    d = s_respond(&f, &t, NULL, 0, ret, now + 2 * MIN_MS);
    CHECK(s_rejected(&d, "held by the fallback owner"));
    /* but the fallback owner can work it */
    d = s_respond(&f, &t, NULL, 0, fx_resp(DISPATCH_RESP_ACKNOWLEDGED, TASK_A, "coordination"),
                  now + 2 * MIN_MS);
    CHECK(!d.rejected && d.tasks[0].state == DISPATCH_TASK_ACKNOWLEDGED);
    fx_free(&f);

    /* Shanhe: max 1, the first return goes to the fallback */
    f = fx_load(SHANHE);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    rep = fx_report("report.meat_smoking", "xiacun-g01");
    t = fx_open(&f, &rep, TASK_B, T_ORDINARY);
    ret = fx_resp(DISPATCH_RESP_RETURNED, TASK_B, "xiacun-sq1");
    ret.reason = "cannot_find";
    d = s_respond(&f, &t, NULL, 0, ret, T_ORDINARY + MIN_MS);
    CHECK(d.n_tasks == 1 && d.tasks[0].held_by_fallback &&
          fx_streq(d.tasks[0].holder->id, "leadership"));
    fx_free(&f);
}

typedef struct merge_case {
    const char *name;
    const char *kind;
    double north_m;    /* from task A's point */
    int64_t later_min; /* after task A's last report */
    bool merged;
} merge_case_t;

static void test_duplicates(void)
{
    static const merge_case_t cases[] = {
        {"same spot, same time", "report.open_burning", 0, 0, true},
        {"150 m, 30 min", "report.open_burning", 150, 30, true},
        {"199 m, 60 min (both edges)", "report.open_burning", 199, 60, true},
        {"201 m", "report.open_burning", 201, 5, false},
        {"61 min later", "report.open_burning", 10, 61, false},
        {"reported 30 min earlier", "report.open_burning", 10, -30, true},
        {"other kind", "report.fireworks_set_off", 0, 0, false},
    };
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    const campaign_grid_t *g = campaign_find_grid(f.c, "xinhua-g01");
    dispatch_report_t rep = fx_report("report.open_burning", NULL);
    rep.place.has_geo = true;
    rep.place.geo = g->centre;
    dispatch_task_t open[2];
    open[0] = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(fx_streq(open[0].holder->id, "xinhua-sq1"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const merge_case_t *c = &cases[i];
        dispatch_report_t dup = rep;
        dup.event = EVENT_2;
        dup.kind = c->kind;
        dup.place.geo.lat += c->north_m / 111195.08;
        dup.at_ms = T_ORDINARY + c->later_min * MIN_MS;
        dispatch_decision_t d;
        dispatch_decision_init(&d);
        dispatch_report_decide(f.r, &dup, open, 1, TASK_B, dup.at_ms, &d);
        const dispatch_record_t *m = fx_rec(&d, DISPATCH_REC_TASK_MERGED);
        if (c->merged)
            CHECKF(m && strcmp(m->task, TASK_A) == 0 && strcmp(m->event, EVENT_2) == 0 &&
                       d.n_tasks == 1 && d.tasks[0].reports == 2 && d.n_timers == 0 &&
                       fx_count(&d, DISPATCH_REC_TASK_CREATED) == 0,
                   "%s: not merged", c->name);
        else
            CHECKF(!m && d.n_tasks == 1 && strcmp(d.tasks[0].id, TASK_B) == 0,
                   "%s: merged but should not be", c->name);
    }
    /* a closed task takes no duplicates */
    dispatch_task_t closed = open[0];
    closed.state = DISPATCH_TASK_CLOSED;
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &rep, &closed, 1, TASK_B, T_ORDINARY, &d);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_CREATED) == 1);
    /* the nearer of two open tasks wins */
    dispatch_report_t far = rep;
    far.place.geo.lat += 120 / 111195.08;
    open[1] = fx_open(&f, &far, TASK_B, T_ORDINARY);
    dispatch_report_t near_b = rep;
    near_b.place.geo.lat += 100 / 111195.08;
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &near_b, open, 2, TASK_C, T_ORDINARY, &d);
    CHECK(d.n_tasks == 1 && strcmp(d.tasks[0].id, TASK_B) == 0);
    /* without coordinates: the same compound is one place, the same grid is not */
    dispatch_report_t cp = fx_report("report.meat_smoking", NULL);
    cp.place.compound = "xinhua-xinhuayuan";
    open[0] = fx_open(&f, &cp, TASK_A, T_ORDINARY);
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &cp, open, 1, TASK_B, T_ORDINARY + MIN_MS, &d);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_MERGED) == 1);
    dispatch_report_t gr = fx_report("report.meat_smoking", "xinhua-g01");
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &gr, open, 1, TASK_B, T_ORDINARY + MIN_MS, &d);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_MERGED) == 0 &&
          fx_count(&d, DISPATCH_REC_TASK_CREATED) == 1);
    fx_free(&f);
}

static void test_return_as_duplicate(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.open_burning", NULL);
    rep.place.key_area = "yilian";
    dispatch_task_t tasks[2];
    tasks[0] = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    /* the same incident reported to another door with different words,
     * opened before the first was known (e.g. in another transaction) */
    tasks[1] = fx_open(&f, &rep, TASK_B, T_ORDINARY + MIN_MS);
    dispatch_response_t ret = fx_resp(DISPATCH_RESP_RETURNED, TASK_B, "yilian-post");
    ret.reason = "duplicate";
    dispatch_decision_t d = s_respond(&f, &tasks[1], tasks, 2, ret, T_ORDINARY + 2 * MIN_MS);
    CHECK(!d.rejected && d.n_tasks == 2);
    CHECK(strcmp(d.tasks[0].id, TASK_B) == 0 && d.tasks[0].state == DISPATCH_TASK_MERGED &&
          strcmp(d.tasks[0].merged_into, TASK_A) == 0);
    CHECK(strcmp(d.tasks[1].id, TASK_A) == 0 && d.tasks[1].reports == 2);
    const dispatch_record_t *m = fx_rec(&d, DISPATCH_REC_TASK_MERGED);
    CHECK(m && strcmp(m->task, TASK_B) == 0 && strcmp(m->reason, TASK_A) == 0);
    CHECK(d.n_timers == 2); /* B's timers (deadline, escalate) cancelled */
    /* a "duplicate" with nothing to join is an ordinary return */
    d = s_respond(&f, &tasks[1], NULL, 0, ret, T_ORDINARY + 2 * MIN_MS);
    CHECK(!d.rejected && fx_count(&d, DISPATCH_REC_TASK_ASSIGNED) == 1 &&
          d.tasks[0].state == DISPATCH_TASK_CREATED);
    fx_free(&f);
}

int main(void)
{
    RUN(test_state_machine);
    RUN(test_responses_rejected);
    RUN(test_refused_goes_to_enforcement);
    RUN(test_returns_then_fallback);
    RUN(test_duplicates);
    RUN(test_return_as_duplicate);
    return check_summary();
}
