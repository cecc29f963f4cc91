/* test_dispatch_routing.c - routing tables over both seed files: every grid
 * (by id and by its centre), every key area (by id, centre, just inside and
 * just outside its radius), a point on the boundary between two grids, at
 * the edge of the farthest grid and outside every grid, kinds that go to
 * enforcement, schools and compounds, sensitive-date notification and
 * re-routing with units excluded. The expected units are written here, not
 * read from the loaded rules. */
#include "check.h"
#include "dispatch_fixture.h"

/* metres per degree of latitude at the haversine's radius */
#define M_PER_DEG_LAT 111195.08

typedef struct grid_case {
    const char *grid;
    const char *squad;
    const char *key_area; /* non-demolished area covering it, or NULL */
} grid_case_t;

static const grid_case_t s_baiyang_grids[] = {
    {"baima-g01", "baima-sq1", NULL},
    {"baima-g02", "baima-sq1", NULL},
    {"baima-g03", "baima-sq2", "baima-old-street"},
    {"baima-g04", "baima-sq2", "baima-old-street"},
    {"modou-g01", "modou-sq1", NULL},
    {"modou-g02", "modou-sq1", NULL},
    {"modou-g03", "modou-sq2", "modou-riverside"},
    {"xinhua-g01", "xinhua-sq1", NULL},
    {"xinhua-g02", "xinhua-sq1", NULL},
    {"xinhua-g03", "xinhua-sq2", NULL},
    {"xinhua-g04", "xinhua-sq3", NULL},
    {"xinhua-g05", "xinhua-sq3", NULL},
    {"fengyi-g01", "fengyi-sq1", NULL},
    {"fengyi-g02", "fengyi-sq1", NULL},
    {"fengyi-g03", "fengyi-sq2", "fengyi-hillside"},
};
static const grid_case_t s_shanhe_grids[] = {
    {"shangcun-g01", "shangcun-sq1", NULL},
    {"shangcun-g02", "shangcun-sq1", NULL},
    {"xiacun-g01", "xiacun-sq1", NULL},
    {"xiacun-g02", "xiacun-sq2", NULL},
};

typedef struct area_case {
    const char *key_area;
    const char *owner_by_id; /* owner when the report names the area */
    bool police;             /* police-liaison flag */
} area_case_t;

static const area_case_t s_baiyang_areas[] = {
    {"hejiaping", "hejiaping-post", true},
    {"huangjiawan", "huangjiawan-post", true},
    {"yilian", "yilian-post", true},
    {"sanitation-centre", "sanitation-centre-post", true},
    {"sansuo-liangdui", "sansuo-liangdui-post", true},
    {"baima-old-street", "patrol-baima", false},
    {"modou-riverside", "patrol-modou", false},
    {"fengyi-hillside", "patrol-fengyi", false},
};
static const area_case_t s_shanhe_areas[] = {
    {"songling", "songling-post", true},
};

static void s_route(const fixture_t *f, const char *kind, const dispatch_place_t *p, bool sensitive,
                    dispatch_location_t *loc, dispatch_route_result_t *out)
{
    dispatch_routing_locate(f->r, p, loc);
    dispatch_routing_route(f->r, kind, loc, sensitive, NULL, 0, out);
}

static void s_check_grids(const char *path, const grid_case_t *cases, size_t n)
{
    fixture_t f = fx_load(path);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    CHECKF(f.c->n_grids == n, "%s: %zu grids in the seed, %zu in the table", path, f.c->n_grids, n);
    for (size_t i = 0; i < n; i++) {
        const campaign_grid_t *g = campaign_find_grid(f.c, cases[i].grid);
        CHECKF(g != NULL, "%s", cases[i].grid);
        if (!g)
            continue;
        dispatch_location_t loc;
        dispatch_route_result_t rt;
        /* by id */
        dispatch_place_t p = {.grid = cases[i].grid};
        s_route(&f, "report.open_burning", &p, false, &loc, &rt);
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].squad), "%s by id: %s", cases[i].grid,
               rt.owner ? rt.owner->id : "(none)");
        CHECKF(fx_streq(rt.rule, "grid-squad"), "%s: rule %s", cases[i].grid, rt.rule);
        CHECK(loc.community == g->community);
        CHECKF(cases[i].key_area ? loc.key_area && fx_streq(loc.key_area->id, cases[i].key_area)
                                 : loc.key_area == NULL,
               "%s: key area %s", cases[i].grid, loc.key_area ? loc.key_area->id : "(none)");
        CHECK(rt.n_notify == 0);
        /* by its centre */
        dispatch_place_t q = {.has_geo = true, .geo = g->centre};
        s_route(&f, "report.open_burning", &q, false, &loc, &rt);
        CHECKF(loc.grid == g && loc.grid_from_geo, "%s: centre located in %s", cases[i].grid,
               loc.grid ? loc.grid->id : "(none)");
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].squad), "%s by centre: %s",
               cases[i].grid, rt.owner ? rt.owner->id : "(none)");
    }
    fx_free(&f);
}

static void test_every_grid_baiyang(void)
{
    s_check_grids(BAIYANG, s_baiyang_grids, sizeof s_baiyang_grids / sizeof s_baiyang_grids[0]);
}

static void test_every_grid_shanhe(void)
{
    s_check_grids(SHANHE, s_shanhe_grids, sizeof s_shanhe_grids / sizeof s_shanhe_grids[0]);
}

static void s_check_areas(const char *path, const area_case_t *cases, size_t n)
{
    fixture_t f = fx_load(path);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    CHECKF(f.c->n_key_areas == n, "%s: %zu key areas in the seed, %zu in the table", path,
           f.c->n_key_areas, n);
    for (size_t i = 0; i < n; i++) {
        const campaign_key_area_t *ka = campaign_find_key_area(f.c, cases[i].key_area);
        CHECKF(ka != NULL, "%s", cases[i].key_area);
        if (!ka)
            continue;
        dispatch_location_t loc;
        dispatch_route_result_t rt;
        dispatch_place_t p = {.key_area = ka->id};
        s_route(&f, "report.open_burning", &p, false, &loc, &rt);
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].owner_by_id), "%s by id: %s", ka->id,
               rt.owner ? rt.owner->id : "(none)");
        CHECKF(rt.police_liaison == cases[i].police, "%s: police %d", ka->id, rt.police_liaison);
        CHECK(loc.key_area == ka && loc.community == ka->community);
        if (!ka->has_checkpoint)
            continue;
        /* the checkpoint named instead of the area */
        dispatch_place_t cp = {.checkpoint = ka->checkpoint.id};
        s_route(&f, "report.open_burning", &cp, false, &loc, &rt);
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].owner_by_id), "%s by checkpoint",
               ka->id);
        /* coordinates: the centre, just inside the radius, just outside */
        double radius = f.r->area_radius_m[ka->index];
        CHECK(radius > 0);
        campaign_geo_t in = {ka->centre.lat + (radius - 5) / M_PER_DEG_LAT, ka->centre.lon};
        campaign_geo_t out = {ka->centre.lat - (radius + 5) / M_PER_DEG_LAT, ka->centre.lon};
        dispatch_place_t pc = {.has_geo = true, .geo = ka->centre};
        s_route(&f, "report.open_burning", &pc, false, &loc, &rt);
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].owner_by_id) && rt.police_liaison,
               "%s by centre: %s", ka->id, rt.owner ? rt.owner->id : "(none)");
        dispatch_place_t pi = {.has_geo = true, .geo = in};
        s_route(&f, "report.open_burning", &pi, false, &loc, &rt);
        CHECKF(loc.key_area == ka && rt.owner && fx_streq(rt.owner->id, cases[i].owner_by_id),
               "%s: %.0f m from the centre is inside", ka->id, radius - 5);
        dispatch_place_t po = {.has_geo = true, .geo = out};
        s_route(&f, "report.open_burning", &po, false, &loc, &rt);
        CHECKF(loc.key_area != ka && rt.owner && !fx_streq(rt.owner->id, cases[i].owner_by_id) &&
                   !rt.police_liaison,
               "%s: %.0f m from the centre is outside (owner %s)", ka->id, radius + 5,
               rt.owner ? rt.owner->id : "(none)");
        /* outside the area, a grave-site point is still in some grid: its squad */
        CHECKF(loc.grid && rt.owner && rt.owner->kind == DISPATCH_UNIT_SQUAD,
               "%s: outside the radius goes to a squad", ka->id);
    }
    fx_free(&f);
}

static void test_every_key_area_baiyang(void)
{
    s_check_areas(BAIYANG, s_baiyang_areas, sizeof s_baiyang_areas / sizeof s_baiyang_areas[0]);
}

static void test_every_key_area_shanhe(void)
{
    s_check_areas(SHANHE, s_shanhe_areas, sizeof s_shanhe_areas / sizeof s_shanhe_areas[0]);
}

/* Equidistant from two centres: the grid first in the file; a metre
 * either way decides. */
static void test_boundary_between_grids(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    const campaign_grid_t *a = campaign_find_grid(f.c, "baima-g01");
    const campaign_grid_t *b = campaign_find_grid(f.c, "baima-g02");
    campaign_geo_t mid = {(a->centre.lat + b->centre.lat) / 2, (a->centre.lon + b->centre.lon) / 2};
    double da = dispatch_routing_distance_m(mid, a->centre);
    double db = dispatch_routing_distance_m(mid, b->centre);
    CHECKF(da - db < 0.01 && db - da < 0.01, "midpoint: %.4f vs %.4f m", da, db);
    dispatch_location_t loc;
    dispatch_route_result_t rt;
    dispatch_place_t p = {.has_geo = true, .geo = mid};
    s_route(&f, "report.fireworks_set_off", &p, false, &loc, &rt);
    CHECK(loc.grid == a && fx_streq(rt.owner->id, "baima-sq1"));
    /* 1 m towards b along the line between the centres */
    double len = dispatch_routing_distance_m(a->centre, b->centre);
    campaign_geo_t towards_b = {mid.lat + (b->centre.lat - a->centre.lat) / len,
                                mid.lon + (b->centre.lon - a->centre.lon) / len};
    p.geo = towards_b;
    s_route(&f, "report.fireworks_set_off", &p, false, &loc, &rt);
    CHECK(loc.grid == b);
    /* The same tie across communities: modou-g03 / fengyi ... uses file order
     * too; the squads then differ by community. */
    const campaign_grid_t *c3 = campaign_find_grid(f.c, "xinhua-g04");
    const campaign_grid_t *c4 = campaign_find_grid(f.c, "xinhua-g05");
    campaign_geo_t mid2 = {(c3->centre.lat + c4->centre.lat) / 2,
                           (c3->centre.lon + c4->centre.lon) / 2};
    p.geo = mid2;
    s_route(&f, "report.fireworks_set_off", &p, false, &loc, &rt);
    CHECK(loc.grid == c3);
    fx_free(&f);
}

/* grid_max_distance_m from the southernmost centre, and far away. */
static void test_outside_every_grid(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    const campaign_grid_t *g = campaign_find_grid(f.c, "fengyi-g03");
    double max = f.r->grid_max_distance_m;
    dispatch_location_t loc;
    dispatch_route_result_t rt;
    dispatch_place_t p = {.has_geo = true,
                          .geo = {g->centre.lat - (max - 1) / M_PER_DEG_LAT, g->centre.lon}};
    s_route(&f, "report.open_burning", &p, false, &loc, &rt);
    CHECKF(loc.grid == g, "1 m inside the edge: %s", loc.grid ? loc.grid->id : "(none)");
    p.geo.lat = g->centre.lat - (max + 1) / M_PER_DEG_LAT;
    s_route(&f, "report.open_burning", &p, false, &loc, &rt);
    CHECK(loc.grid == NULL && loc.community == NULL && loc.key_area == NULL);
    CHECK(rt.owner && fx_streq(rt.owner->id, "coordination") && fx_streq(rt.rule, "default"));
    /* far away, but the report names its community */
    dispatch_place_t q = {.has_geo = true, .geo = {30.0, 100.0}, .community = "modou"};
    s_route(&f, "tip.received", &q, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "patrol-modou") &&
          fx_streq(rt.rule, "community-patrol"));
    /* nothing at all, or unknown ids: never nowhere */
    dispatch_place_t none = {.grid = "no-such-grid", .community = "atlantis"};
    s_route(&f, "tip.received", &none, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "coordination"));
    fx_free(&f);

    f = fx_load(SHANHE);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_place_t far = {.has_geo = true, .geo = {31.0, 109.0}};
    s_route(&f, "report.open_burning", &far, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "leadership") && fx_streq(rt.rule, "default"));
    fx_free(&f);
}

typedef struct kind_case {
    const char *kind;
    const char *grid;
    const char *key_area;
    const char *owner;
    const char *rule;
} kind_case_t;

static void test_kinds_to_enforcement(void)
{
    static const kind_case_t cases[] = {
        {"report.fireworks_storage_sales", "xinhua-g02", NULL, "enforcement", "storage-and-sales"},
        {"report.fireworks_storage_sales", NULL, "hejiaping", "enforcement", "storage-and-sales"},
        {"survey.sales_point_inspected", "fengyi-g01", NULL, "enforcement", "storage-and-sales"},
        {"task.done:refused", "baima-g01", NULL, "enforcement", "refused-after-persuasion"},
        {"task.done:refused", NULL, "yilian", "enforcement", "refused-after-persuasion"},
        {"report.fireworks_set_off", NULL, "yilian", "yilian-post", "checkpoint"},
        {"report.meat_smoking", "modou-g01", NULL, "modou-sq1", "grid-squad"},
        {"patrol.route_visit", "xinhua-g03", NULL, "xinhua-sq2", "grid-squad"},
    };
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    for (size_t i = 0; f.r && i < sizeof cases / sizeof cases[0]; i++) {
        dispatch_location_t loc;
        dispatch_route_result_t rt;
        dispatch_place_t p = {.grid = cases[i].grid, .key_area = cases[i].key_area};
        s_route(&f, cases[i].kind, &p, false, &loc, &rt);
        CHECKF(rt.owner && fx_streq(rt.owner->id, cases[i].owner) &&
                   fx_streq(rt.rule, cases[i].rule),
               "case %zu (%s): %s by %s", i, cases[i].kind, rt.owner ? rt.owner->id : "(none)",
               rt.rule);
    }
    fx_free(&f);
}

static void test_school_and_compound_notify(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_location_t loc;
    dispatch_route_result_t rt;
    dispatch_place_t p = {.compound = "baima-binhe"};
    s_route(&f, "report.meat_smoking", &p, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "baima-sq1"));
    CHECK(rt.n_notify == 1 && fx_streq(rt.notify[0]->id, "collaboration") &&
          fx_streq(rt.notify_why[0], "school-or-compound"));
    CHECK(loc.grid && fx_streq(loc.grid->id, "baima-g01"));
    dispatch_place_t s = {.school = "xinhua-kindergarten"};
    s_route(&f, "report.fireworks_set_off", &s, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "xinhua-sq1") && rt.n_notify == 1 &&
          fx_streq(rt.notify[0]->id, "collaboration"));
    /* a compound named with a grid that disagrees: the compound's grid wins */
    dispatch_place_t both = {.compound = "modou-shuian", .grid = "modou-g01"};
    s_route(&f, "report.meat_smoking", &both, false, &loc, &rt);
    CHECK(loc.grid && fx_streq(loc.grid->id, "modou-g03") && fx_streq(rt.owner->id, "modou-sq2"));
    /* plain grid: nobody else told */
    dispatch_place_t g = {.grid = "baima-g01"};
    s_route(&f, "report.meat_smoking", &g, false, &loc, &rt);
    CHECK(rt.n_notify == 0);
    fx_free(&f);

    f = fx_load(SHANHE);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_place_t c = {.compound = "shangcun-demo-court"};
    s_route(&f, "report.meat_smoking", &c, false, &loc, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "shangcun-sq1") && rt.n_notify == 1 &&
          fx_streq(rt.notify[0]->id, "shanhe-collab-contact"));
    fx_free(&f);
}

static void test_sensitive_notifies(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_location_t loc;
    dispatch_route_result_t rt;
    dispatch_place_t p = {.school = "baima-primary"};
    s_route(&f, "report.fireworks_set_off", &p, true, &loc, &rt);
    CHECK(rt.n_notify == 2 && fx_streq(rt.notify[0]->id, "collaboration") &&
          fx_streq(rt.notify[1]->id, "coordination") && fx_streq(rt.notify_why[1], "sensitive"));
    /* the owner itself is never also notified */
    dispatch_place_t far = {.has_geo = true, .geo = {0, 0}};
    s_route(&f, "report.fireworks_set_off", &far, true, &loc, &rt);
    CHECK(fx_streq(rt.owner->id, "coordination") && rt.n_notify == 0);
    fx_free(&f);
}

static void test_excluded_units(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_location_t loc;
    dispatch_route_result_t rt;
    dispatch_place_t p = {.grid = "baima-g01"};
    dispatch_routing_locate(f.r, &p, &loc);
    const dispatch_unit_t *ex[3] = {dispatch_rules_unit(f.r, "baima-sq1"),
                                    dispatch_rules_unit(f.r, "patrol-baima"),
                                    dispatch_rules_unit(f.r, "coordination")};
    dispatch_routing_route(f.r, "report.open_burning", &loc, false, ex, 1, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "patrol-baima"));
    dispatch_routing_route(f.r, "report.open_burning", &loc, false, ex, 2, &rt);
    CHECK(rt.owner && fx_streq(rt.owner->id, "coordination") && fx_streq(rt.rule, "default"));
    dispatch_routing_route(f.r, "report.open_burning", &loc, false, ex, 3, &rt);
    CHECK(rt.owner == NULL);
    fx_free(&f);
}

/* End to end through dispatch_report_decide: a created record addressed
 * to the owner, a notification, and findings that need no action. */
static void test_report_opens_task(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r != NULL);
    if (!f.r)
        return;
    dispatch_decision_t d;
    dispatch_report_t rep = fx_report("report.meat_smoking", NULL);
    rep.place.compound = "xinhua-huafu";
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &rep, NULL, 0, TASK_A, T_ORDINARY, &d);
    CHECK(d.n_tasks == 1 && d.tasks[0].state == DISPATCH_TASK_CREATED && !d.overflow);
    const dispatch_record_t *c = fx_rec(&d, DISPATCH_REC_TASK_CREATED);
    CHECK(c && fx_streq(c->unit, "xinhua-sq2") && fx_streq(c->why, "grid-squad") &&
          strcmp(c->task, TASK_A) == 0 && strcmp(c->event, EVENT_1) == 0);
    CHECK(fx_count(&d, DISPATCH_REC_TASK_NOTIFIED) == 1);
    /* one deadline timer per task, standing at the first stage */
    CHECK(d.n_timers == 1 && fx_timer(&d, DISPATCH_TIMER_ACK) &&
          strcmp(fx_timer(&d, DISPATCH_TIMER_ACK)->key, TASK_A "/deadline") == 0 &&
          fx_timer(&d, DISPATCH_TIMER_ACK)->due_ms == d.tasks[0].due_ack_ms);

    /* a sales-point inspection that found nothing opens nothing */
    dispatch_report_t sp = fx_report("survey.sales_point_inspected", "fengyi-g01");
    sp.detail = "none";
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &sp, NULL, 0, TASK_B, T_ORDINARY, &d);
    CHECK(d.n_tasks == 0 && d.n_records == 0 && d.n_timers == 0);
    sp.detail = "sales_found";
    dispatch_report_decide(f.r, &sp, NULL, 0, TASK_B, T_ORDINARY, &d);
    CHECK(d.n_tasks == 1 && fx_streq(fx_rec(&d, DISPATCH_REC_TASK_CREATED)->unit, "enforcement"));
    /* a kind that never opens a task */
    dispatch_report_t pl = fx_report("pledge.signed", "baima-g01");
    dispatch_decision_init(&d);
    dispatch_report_decide(f.r, &pl, NULL, 0, TASK_C, T_ORDINARY, &d);
    CHECK(d.n_tasks == 0 && d.n_records == 0);
    /* a grave site: the police-liaison flag is on the task */
    dispatch_report_t gs = fx_report("report.open_burning", NULL);
    gs.place.key_area = "huangjiawan";
    dispatch_task_t t = fx_open(&f, &gs, TASK_C, T_ORDINARY);
    CHECK(t.police_liaison && fx_streq(t.holder->id, "huangjiawan-post"));
    fx_free(&f);
}

int main(void)
{
    RUN(test_every_grid_baiyang);
    RUN(test_every_grid_shanhe);
    RUN(test_every_key_area_baiyang);
    RUN(test_every_key_area_shanhe);
    RUN(test_boundary_between_grids);
    RUN(test_outside_every_grid);
    RUN(test_kinds_to_enforcement);
    RUN(test_school_and_compound_notify);
    RUN(test_sensitive_notifies);
    RUN(test_excluded_units);
    RUN(test_report_opens_task);
    return check_summary();
}
