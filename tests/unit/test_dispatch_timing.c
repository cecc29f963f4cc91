/* test_dispatch_timing.c - deadlines per kind and priority, their
 * tightening inside key areas and in sensitive-date mode (exactly at the
 * campaign's local midnight), the mode's start and end records and timer,
 * and escalation: each step addressed to a unit, the bound, stopping and
 * carrying on when stages are reached. */
#include "check.h"
#include "dispatch_fixture.h"

typedef struct due_case {
    const char *kind;
    const char *grid;
    const char *key_area;
    const char *detail;
    bool ongoing;
    int64_t now;
    int64_t ack_s, arrive_s, resolve_s; /* seconds after now */
} due_case_t;

static void test_deadlines_table(void)
{
    static const due_case_t cases[] = {
        /* normal: 15 / 60 / 480 minutes */
        {"report.open_burning", "baima-g01", NULL, NULL, false, T_ORDINARY, 900, 3600, 28800},
        /* ongoing: urgent 5 / 20 / 120 */
        {"report.open_burning", "baima-g01", NULL, NULL, true, T_ORDINARY, 300, 1200, 7200},
        /* meat smoking has no ongoing priority: still normal */
        {"report.meat_smoking", "modou-g01", NULL, NULL, true, T_ORDINARY, 900, 3600, 28800},
        /* inside a grave site: x0.5 */
        {"report.open_burning", NULL, "hejiaping", NULL, false, T_ORDINARY, 450, 1800, 14400},
        /* inside a non-demolished area (by its grid): x0.5 */
        {"report.open_burning", "baima-g03", NULL, NULL, false, T_ORDINARY, 450, 1800, 14400},
        /* sensitive-date mode, one ms before local midnight: not yet */
        {"report.open_burning", "baima-g01", NULL, NULL, false, T_NYE_MIDNIGHT - 1, 900, 3600,
         28800},
        /* exactly at local midnight of 除夕: x0.5 */
        {"report.open_burning", "baima-g01", NULL, NULL, false, T_NYE_MIDNIGHT, 450, 1800, 14400},
        /* the last ms of 春节, then the first of the day after */
        {"report.open_burning", "baima-g01", NULL, NULL, false, T_AFTER_SPRING - 1, 450, 1800,
         14400},
        {"report.open_burning", "baima-g01", NULL, NULL, false, T_AFTER_SPRING, 900, 3600, 28800},
        /* key area and sensitive: x0.25 of urgent (75 s, 5 min, 30 min) */
        {"report.fireworks_set_off", NULL, "yilian", NULL, true, T_NYE_MIDNIGHT, 75, 300, 1800},
        /* a kind with its own row */
        {"task.done:refused", "baima-g01", NULL, NULL, false, T_ORDINARY, 1800, 14400, 172800},
        /* low priority */
        {"survey.smoking_household_visited", "modou-g03", NULL, "refused", false, T_ORDINARY, 1800,
         43200, 129600},
    };
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    for (size_t i = 0; f.r && i < sizeof cases / sizeof cases[0]; i++) {
        const due_case_t *c = &cases[i];
        dispatch_report_t rep = fx_report(c->kind, c->grid);
        rep.place.key_area = c->key_area;
        rep.detail = c->detail;
        rep.ongoing = c->ongoing;
        rep.at_ms = c->now;
        dispatch_task_t t = fx_open(&f, &rep, TASK_A, c->now);
        CHECKF(t.due_ack_ms == c->now + c->ack_s * 1000 &&
                   t.due_arrive_ms == c->now + c->arrive_s * 1000 &&
                   t.due_resolve_ms == c->now + c->resolve_s * 1000,
               "case %zu (%s): %lld / %lld / %lld s", i, c->kind,
               (long long)(t.due_ack_ms - c->now) / 1000,
               (long long)(t.due_arrive_ms - c->now) / 1000,
               (long long)(t.due_resolve_ms - c->now) / 1000);
    }
    fx_free(&f);
}

/* Shanhe: the catch-all row, its own factors, and only the dates it lists. */
static void test_deadlines_shanhe(void)
{
    fixture_t f = fx_load(SHANHE);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.meat_smoking", "shangcun-g01");
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(t.due_ack_ms - T_ORDINARY == 20 * MIN_MS &&
          t.due_resolve_ms - T_ORDINARY == 600 * MIN_MS);
    rep = fx_report("report.open_burning", NULL);
    rep.place.key_area = "songling";
    t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(t.due_ack_ms - T_ORDINARY == 6 * MIN_MS); /* 10 min x 0.6 */
    /* 2020-02-08 (元宵节) is in Shanhe's calendar but not in its sensitive.dates */
    int64_t lantern = T_AFTER_SPRING + 13 * DISPATCH_DAY_MS + 10 * 3600000LL;
    CHECK(dispatch_sensitive_at(f.r, lantern) == NULL);
    CHECK(dispatch_sensitive_at(f.r, T_AFTER_SPRING + 4 * DISPATCH_DAY_MS) != NULL); /* 01-30 */
    CHECK(dispatch_sensitive_at(f.r, T_AFTER_SPRING + 5 * DISPATCH_DAY_MS) == NULL); /* 01-31 */
    fx_free(&f);
}

static void test_sensitive_mode(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    const campaign_sensitive_t *s;
    CHECK(dispatch_sensitive_at(f.r, T_ORDINARY) == NULL);
    CHECK(dispatch_sensitive_at(f.r, T_NYE_MIDNIGHT - 1) == NULL);
    s = dispatch_sensitive_at(f.r, T_NYE_MIDNIGHT);
    CHECK(s && fx_streq(s->id, "new-years-eve"));
    s = dispatch_sensitive_at(f.r, T_NYE_MIDNIGHT + DISPATCH_DAY_MS);
    CHECK(s && fx_streq(s->id, "spring-festival"));
    CHECK(dispatch_sensitive_at(f.r, T_AFTER_SPRING) == NULL);
    /* next changes: 冬至 from an ordinary day; 除夕 and 春节 are one stretch */
    CHECK(dispatch_sensitive_next_change(f.r, T_ORDINARY) == T_SOLSTICE_MIDNIGHT);
    CHECK(dispatch_sensitive_next_change(f.r, T_NYE_MIDNIGHT - 1) == T_NYE_MIDNIGHT);
    CHECK(dispatch_sensitive_next_change(f.r, T_NYE_MIDNIGHT) == T_AFTER_SPRING);
    /* after 元宵节 (2020-02-08) nothing changes any more */
    CHECK(dispatch_sensitive_next_change(f.r, T_AFTER_SPRING + 14 * DISPATCH_DAY_MS) == -1);

    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_sensitive_arm(f.r, T_ORDINARY, &d);
    CHECK(d.n_records == 0 && d.n_timers == 1 && d.timers[0].due_ms == T_SOLSTICE_MIDNIGHT &&
          strcmp(d.timers[0].key, "sensitive/baiyang") == 0);

    dispatch_decision_init(&d);
    dispatch_sensitive_on_timer(f.r, T_NYE_MIDNIGHT, T_NYE_MIDNIGHT, &d);
    const dispatch_record_t *r = fx_rec(&d, DISPATCH_REC_SENSITIVE_STARTED);
    CHECK(d.n_records == 1 && r && fx_streq(r->sensitive_id, "new-years-eve") &&
          fx_streq(r->unit, "coordination"));
    CHECK(d.n_timers == 1 && d.timers[0].due_ms == T_AFTER_SPRING);

    dispatch_decision_init(&d);
    dispatch_sensitive_on_timer(f.r, T_AFTER_SPRING, T_AFTER_SPRING + 5, &d);
    r = fx_rec(&d, DISPATCH_REC_SENSITIVE_ENDED);
    CHECK(d.n_records == 1 && r && fx_streq(r->sensitive_id, "spring-festival") &&
          r->at_ms == T_AFTER_SPRING + 5);
    CHECK(d.n_timers == 1 && d.timers[0].due_ms == T_AFTER_SPRING + 13 * DISPATCH_DAY_MS);

    /* a timer fired three days late still records the start it was for,
     * and the next one (already due) catches up on the end */
    dispatch_decision_init(&d);
    dispatch_sensitive_on_timer(f.r, T_NYE_MIDNIGHT, T_NYE_MIDNIGHT + 3 * DISPATCH_DAY_MS, &d);
    CHECK(fx_count(&d, DISPATCH_REC_SENSITIVE_STARTED) == 1 && d.n_timers == 1 &&
          d.timers[0].due_ms == T_AFTER_SPRING);
    /* a timer at a midnight that changes nothing records nothing */
    dispatch_decision_init(&d);
    dispatch_sensitive_on_timer(f.r, T_NYE_MIDNIGHT + DISPATCH_DAY_MS,
                                T_NYE_MIDNIGHT + DISPATCH_DAY_MS, &d);
    CHECK(d.n_records == 0);

    /* a task opened at local midnight also notifies the coordination group */
    dispatch_report_t rep = fx_report("report.fireworks_set_off", "xinhua-g04");
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &rep, NULL, 0, TASK_A, T_NYE_MIDNIGHT - 1, &d);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_NOTIFIED) == 0 && !d.tasks[0].sensitive);
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &rep, NULL, 0, TASK_A, T_NYE_MIDNIGHT, &d);
    r = fx_rec(&d, DISPATCH_REC_TASK_NOTIFIED);
    CHECK(r && fx_streq(r->unit, "coordination") && fx_streq(r->why, "sensitive") &&
          d.tasks[0].sensitive);
    fx_free(&f);
}

/* Fires the timer of kind for t at now; returns the decision, updates t. */
static dispatch_decision_t s_fire(const fixture_t *f, dispatch_task_t *t,
                                  dispatch_timer_kind_t kind, int64_t now)
{
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_escalation_on_timer(f->r, t, kind, now, &d);
    if (d.n_tasks == 1)
        *t = d.tasks[0];
    return d;
}

typedef struct step_case {
    const char *unit;
    const char *role;
    int step, round;
} step_case_t;

static void test_escalation_chain_and_bound(void)
{
    static const step_case_t expected[] = {
        {"patrol-baima", "deputies", 1, 0}, {"patrol-baima", "leaders", 2, 0},
        {"coordination", NULL, 3, 0},       {"leadership", NULL, 4, 0},
        {"patrol-baima", "deputies", 1, 1}, {"patrol-baima", "leaders", 2, 1},
        {"coordination", NULL, 3, 1},       {"leadership", NULL, 4, 1},
    };
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.open_burning", "baima-g02");
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    int64_t now = t.due_ack_ms;
    dispatch_decision_t d = s_fire(&f, &t, DISPATCH_TIMER_ACK, now);
    const dispatch_record_t *od = fx_rec(&d, DISPATCH_REC_TASK_OVERDUE);
    CHECK(od && od->stage == DISPATCH_STAGE_ACK && fx_streq(od->unit, "baima-sq1"));
    CHECK(t.state == DISPATCH_TASK_ESCALATED && t.esc_stage == DISPATCH_STAGE_ACK);
    size_t steps = 0;
    for (int guard = 0; guard < 20; guard++) {
        const dispatch_record_t *e = fx_rec(&d, DISPATCH_REC_TASK_ESCALATED);
        const dispatch_timer_t *tm = fx_timer(&d, DISPATCH_TIMER_ESCALATE);
        if (!e) {
            CHECK(fx_count(&d, DISPATCH_REC_ESCALATION_EXHAUSTED) == 1 && tm == NULL);
            break;
        }
        CHECKF(steps < 8 && fx_streq(e->unit, expected[steps].unit) &&
                   (expected[steps].role ? fx_streq(e->role, expected[steps].role) : !e->role) &&
                   e->step == expected[steps].step && e->round == expected[steps].round,
               "step %zu: %s %s step %d round %d", steps, e->unit, e->role ? e->role : "-", e->step,
               e->round);
        CHECK(e->stage == DISPATCH_STAGE_ACK);
        CHECK(tm && !tm->cancel && tm->due_ms == now + 15 * MIN_MS);
        steps++;
        now += 15 * MIN_MS;
        d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, now);
    }
    CHECKF(steps == 8, "%zu steps, expected n_chain x (repeats + 1) = 8", steps);
    /* exhausted: more timers change nothing */
    d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, now + MIN_MS);
    CHECK(d.n_records == 0 && d.n_timers == 0 && d.n_tasks == 0);
    /* the resolve deadline still records overdue, without a new chain */
    d = s_fire(&f, &t, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_OVERDUE) == 1 &&
          fx_count(&d, DISPATCH_REC_TASK_ESCALATED) == 0);
    fx_free(&f);
}

static dispatch_decision_t s_respond(const fixture_t *f, dispatch_task_t *t,
                                     dispatch_response_kind_t kind, const char *by, int64_t now)
{
    dispatch_decision_t d;
    dispatch_decision_init(&d);
    dispatch_response_t resp = fx_resp(kind, t->id, by);
    resp.outcome = "persuaded";
    dispatch_response_decide(f->r, t, &resp, NULL, 0, TASK_C, now, &d);
    for (size_t i = 0; i < d.n_tasks; i++)
        if (strcmp(d.tasks[i].id, t->id) == 0)
            *t = d.tasks[i];
    return d;
}

static bool s_cancels(const dispatch_decision_t *d, dispatch_timer_kind_t kind)
{
    for (size_t i = 0; i < d->n_timers; i++)
        if (d->timers[i].kind == kind && d->timers[i].cancel)
            return true;
    return false;
}

/* The last operation on the task's one deadline timer, or NULL. */
static const dispatch_timer_t *s_deadline(const dispatch_decision_t *d)
{
    const dispatch_timer_t *last = NULL;
    for (size_t i = 0; i < d->n_timers; i++) {
        const char *slash = strchr(d->timers[i].key, '/');
        if (slash && strcmp(slash, "/deadline") == 0)
            last = &d->timers[i];
    }
    return last;
}

/* The deadline timer of d is set for kind at due_ms. */
static bool s_deadline_at(const dispatch_decision_t *d, dispatch_timer_kind_t kind, int64_t due_ms)
{
    const dispatch_timer_t *tm = s_deadline(d);
    return tm && !tm->cancel && tm->kind == kind && tm->due_ms == due_ms;
}

static void test_escalation_stops_and_carries_on(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.open_burning", "fengyi-g01");
    /* acknowledged while escalating: the chain stops */
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms);
    dispatch_decision_t d =
        s_respond(&f, &t, DISPATCH_RESP_ACKNOWLEDGED, "fengyi-sq1", t.due_ack_ms + MIN_MS);
    CHECK(!d.rejected && fx_count(&d, DISPATCH_REC_TASK_ACKNOWLEDGED) == 1);
    CHECK(t.state == DISPATCH_TASK_ACKNOWLEDGED && t.esc_stage == DISPATCH_STAGE_NONE);
    /* the deadline timer (already moved to arrive when ack fired) is
     * set for arrive again, the chain stopped */
    CHECK(s_deadline_at(&d, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms) &&
          s_cancels(&d, DISPATCH_TIMER_ESCALATE));
    /* a stale ack timer changes nothing but moves itself on */
    d = s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms + 2 * MIN_MS);
    CHECK(d.n_records == 0 && d.n_tasks == 0 &&
          s_deadline_at(&d, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms));

    /* acknowledged only after the arrive deadline passed: goes on for arrive */
    t = fx_open(&f, &rep, TASK_B, T_ORDINARY);
    s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms);
    s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, t.due_ack_ms + 15 * MIN_MS);
    d = s_fire(&f, &t, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_OVERDUE) == 1 &&
          fx_count(&d, DISPATCH_REC_TASK_ESCALATED) == 0 && t.esc_stage == DISPATCH_STAGE_ACK);
    d = s_respond(&f, &t, DISPATCH_RESP_ACKNOWLEDGED, "fengyi-sq1", t.due_arrive_ms + MIN_MS);
    CHECK(t.state == DISPATCH_TASK_ESCALATED && t.esc_stage == DISPATCH_STAGE_ARRIVE &&
          t.esc_step == 2 && !s_cancels(&d, DISPATCH_TIMER_ESCALATE));
    d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, t.due_arrive_ms + 2 * MIN_MS);
    const dispatch_record_t *e = fx_rec(&d, DISPATCH_REC_TASK_ESCALATED);
    CHECK(e && e->step == 3 && e->stage == DISPATCH_STAGE_ARRIVE &&
          fx_streq(e->unit, "coordination"));
    d = s_respond(&f, &t, DISPATCH_RESP_ARRIVED, "fengyi-sq1", t.due_arrive_ms + 3 * MIN_MS);
    CHECK(t.state == DISPATCH_TASK_ARRIVED && t.esc_stage == DISPATCH_STAGE_NONE &&
          s_cancels(&d, DISPATCH_TIMER_ESCALATE) &&
          s_deadline_at(&d, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms));
    /* done while escalating for resolve: closed, every timer cancelled */
    d = s_fire(&f, &t, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms);
    CHECK(t.state == DISPATCH_TASK_ESCALATED && t.esc_stage == DISPATCH_STAGE_RESOLVE);
    d = s_respond(&f, &t, DISPATCH_RESP_DONE, "fengyi-sq1", t.due_resolve_ms + MIN_MS);
    CHECK(t.state == DISPATCH_TASK_CLOSED && fx_count(&d, DISPATCH_REC_TASK_DONE) == 1 &&
          fx_count(&d, DISPATCH_REC_TASK_CLOSED) == 1 && s_cancels(&d, DISPATCH_TIMER_ESCALATE) &&
          s_deadline(&d) && s_deadline(&d)->cancel);
    d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, t.due_resolve_ms + 15 * MIN_MS);
    CHECK(d.n_records == 0);
    fx_free(&f);
}

static void test_deadline_timer_moves(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_report_t rep = fx_report("report.open_burning", "fengyi-g01");
    /* acknowledged in time: the timer moves from ack to arrive */
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(t.due_ack_ms < t.due_arrive_ms && t.due_arrive_ms < t.due_resolve_ms);
    dispatch_decision_t d =
        s_respond(&f, &t, DISPATCH_RESP_ACKNOWLEDGED, "fengyi-sq1", t.due_ack_ms - MIN_MS);
    CHECK(s_deadline_at(&d, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms));
    /* arrive passes: overdue, and the timer moves on to resolve */
    d = s_fire(&f, &t, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_OVERDUE) == 1 &&
          s_deadline_at(&d, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms));
    /* resolve passes: overdue, nothing left to set */
    d = s_fire(&f, &t, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_OVERDUE) == 1 && s_deadline(&d) == NULL);

    /* acknowledged after the arrive deadline, before the (pending) ack
     * timer fired: the timer is left to fire, and then moves to arrive,
     * which fires at once and records arrive overdue exactly once */
    t = fx_open(&f, &rep, TASK_B, T_ORDINARY);
    d = s_respond(&f, &t, DISPATCH_RESP_ACKNOWLEDGED, "fengyi-sq1", t.due_arrive_ms + MIN_MS);
    CHECK(s_deadline(&d) == NULL);
    d = s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_arrive_ms + MIN_MS);
    CHECK(d.n_records == 0 && s_deadline_at(&d, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms));
    d = s_fire(&f, &t, DISPATCH_TIMER_ARRIVE, t.due_arrive_ms + MIN_MS);
    const dispatch_record_t *od = fx_rec(&d, DISPATCH_REC_TASK_OVERDUE);
    CHECK(od && od->stage == DISPATCH_STAGE_ARRIVE &&
          fx_count(&d, DISPATCH_REC_TASK_OVERDUE) == 1 &&
          s_deadline_at(&d, DISPATCH_TIMER_RESOLVE, t.due_resolve_ms));
    fx_free(&f);
}

static void test_escalation_skips_and_tightens(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    /* outside every community: the patrol-group steps name nobody */
    dispatch_report_t rep = fx_report("tip.received", NULL);
    rep.place.has_geo = true;
    rep.place.geo = (campaign_geo_t){30.0, 100.0};
    dispatch_task_t t = fx_open(&f, &rep, TASK_A, T_ORDINARY);
    CHECK(t.holder && fx_streq(t.holder->id, "coordination"));
    dispatch_decision_t d = s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms);
    const dispatch_record_t *e = fx_rec(&d, DISPATCH_REC_TASK_ESCALATED);
    CHECK(e && e->step == 3 && fx_streq(e->unit, "coordination"));
    /* in sensitive-date mode the interval is halved too */
    rep = fx_report("report.open_burning", "modou-g02");
    t = fx_open(&f, &rep, TASK_B, T_NYE_MIDNIGHT);
    d = s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms);
    const dispatch_timer_t *tm = fx_timer(&d, DISPATCH_TIMER_ESCALATE);
    CHECK(tm && tm->due_ms == t.due_ack_ms + 7 * MIN_MS + 30000);
    fx_free(&f);

    /* Shanhe: no deputies, so leaders first; no repeats */
    f = fx_load(SHANHE);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    rep = fx_report("report.meat_smoking", "xiacun-g02");
    t = fx_open(&f, &rep, TASK_C, T_ORDINARY);
    d = s_fire(&f, &t, DISPATCH_TIMER_ACK, t.due_ack_ms);
    e = fx_rec(&d, DISPATCH_REC_TASK_ESCALATED);
    CHECK(e && e->step == 2 && fx_streq(e->unit, "patrol-xiacun") && fx_streq(e->role, "leaders"));
    d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, t.due_ack_ms + 20 * MIN_MS);
    e = fx_rec(&d, DISPATCH_REC_TASK_ESCALATED);
    CHECK(e && e->step == 3 && fx_streq(e->unit, "leadership"));
    d = s_fire(&f, &t, DISPATCH_TIMER_ESCALATE, t.due_ack_ms + 40 * MIN_MS);
    CHECK(fx_count(&d, DISPATCH_REC_ESCALATION_EXHAUSTED) == 1 && d.n_timers == 0);
    fx_free(&f);
}

int main(void)
{
    RUN(test_deadlines_table);
    RUN(test_deadlines_shanhe);
    RUN(test_sensitive_mode);
    RUN(test_escalation_chain_and_bound);
    RUN(test_escalation_stops_and_carries_on);
    RUN(test_deadline_timer_moves);
    RUN(test_escalation_skips_and_tightens);
    return check_summary();
}
