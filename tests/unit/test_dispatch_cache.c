/* test_dispatch_cache.c - dispatch's open-task cache (services/dispatch/
 * cache.c) without a database: changes seen at once, put back by a
 * rollback, kept by a commit that also drops tasks no longer open; merge
 * candidates a superset of what dispatch_merge_find() may choose, across
 * cell borders, and none from another subdistrict. */
#include "check.h"
#include "dispatch_fixture.h"
#include "../services/dispatch/cache.h"

static fixture_t by, sh;

/* A task for a report of kind at place (geo when lat != 0), opened at now. */
static dispatch_task_t s_task(const fixture_t *f, const char *id, const char *kind,
                              dispatch_place_t place, double lat, double lon)
{
    dispatch_report_t rep = {.event = EVENT_1, .kind = kind, .at_ms = T_ORDINARY};
    rep.place = place;
    if (lat != 0) {
        rep.place.has_geo = true;
        rep.place.geo.lat = lat;
        rep.place.geo.lon = lon;
    }
    return fx_open(f, &rep, id, T_ORDINARY);
}

static bool s_has(const dispatch_task_t *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return true;
    return false;
}

static void test_change_rollback_commit(void)
{
    dispatch_cache_t *c = dispatch_cache_new();
    const dispatch_rules_t *r = NULL;
    dispatch_place_t p = {.grid = "baima-g01"};
    dispatch_task_t a = s_task(&by, TASK_A, "report.open_burning", p, 0, 0);
    CHECK(a.holder != NULL);
    CHECK(dispatch_cache_change(c, by.r, &a) == 0);
    CHECK(dispatch_cache_find(c, TASK_A, &r) != NULL && r == by.r); /* seen at once */
    dispatch_cache_rollback(c);
    CHECK(dispatch_cache_find(c, TASK_A, &r) == NULL); /* new in the transaction: gone */

    CHECK(dispatch_cache_change(c, by.r, &a) == 0);
    dispatch_cache_commit(c);
    dispatch_task_t acked = a;
    acked.state = DISPATCH_TASK_ACKNOWLEDGED;
    CHECK(dispatch_cache_change(c, by.r, &acked) == 0);
    CHECK(dispatch_cache_change(c, by.r, &acked) == 0);
    CHECK(dispatch_cache_changed_count(c) == 1); /* each task once */
    dispatch_cache_rollback(c);
    CHECK(dispatch_cache_find(c, TASK_A, &r)->state == DISPATCH_TASK_CREATED); /* put back */

    dispatch_task_t closed = a;
    closed.state = DISPATCH_TASK_CLOSED;
    CHECK(dispatch_cache_change(c, by.r, &closed) == 0);
    CHECK(dispatch_cache_find(c, TASK_A, &r) != NULL); /* still there until the commit */
    dispatch_cache_commit(c);
    CHECK(dispatch_cache_find(c, TASK_A, &r) == NULL); /* no longer open: dropped */
    CHECK(dispatch_cache_changed_count(c) == 0);
    dispatch_cache_destroy(&c);
    CHECK(c == NULL);
}

/* Every open task merge_find could choose is among the candidates. */
static void test_candidates_superset(void)
{
    static const struct {
        double lat, lon;   /* the task's point */
        double rlat, rlon; /* the report's */
        bool merges;       /* merge_find picks it */
    } cases[] = {
        {31.4052, 109.6218, 31.4052, 109.6218, true},  /* same point */
        {31.4052, 109.6218, 31.4068, 109.6218, true},  /* 178 m north */
        {31.4052, 109.6218, 31.4052, 109.6238, true},  /* 190 m east, across cells */
        {31.4052, 109.6218, 31.4064, 109.6232, true},  /* 187 m diagonal */
        {31.4052, 109.6218, 31.4072, 109.6218, false}, /* 222 m: too far */
        {31.4052, 109.6218, 31.4200, 109.6400, false}, /* far away */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dispatch_cache_t *c = dispatch_cache_new();
        dispatch_place_t p = {.grid = "baima-g01"};
        dispatch_task_t t =
            s_task(&by, TASK_A, "report.fireworks_set_off", p, cases[k].lat, cases[k].lon);
        CHECK(dispatch_cache_change(c, by.r, &t) == 0);
        dispatch_cache_commit(c);
        dispatch_place_t rp = {.grid = "baima-g01", .has_geo = true};
        rp.geo.lat = cases[k].rlat;
        rp.geo.lon = cases[k].rlon;
        dispatch_location_t loc;
        dispatch_routing_locate(by.r, &rp, &loc);
        size_t n = 0;
        const dispatch_task_t *v =
            dispatch_cache_candidates(c, by.r, "report.fireworks_set_off", &loc, &n);
        const dispatch_task_t *m =
            dispatch_merge_find(by.r, v, n, "report.fireworks_set_off", &loc, T_ORDINARY, NULL);
        CHECKF((m != NULL) == cases[k].merges, "case %zu: merged %d, %zu candidates", k, m != NULL,
               n);
        /* What merge_find would choose among all tasks, it finds among the candidates. */
        const dispatch_task_t *all =
            dispatch_merge_find(by.r, &t, 1, "report.fireworks_set_off", &loc, T_ORDINARY, NULL);
        CHECKF(!all || s_has(v, n, all->id), "case %zu: a merge missed", k);
        dispatch_cache_destroy(&c);
    }
}

static void test_candidates_by_place_and_subdistrict(void)
{
    dispatch_cache_t *c = dispatch_cache_new();
    dispatch_place_t at_compound = {.grid = "baima-g01", .compound = "baima-binhe"};
    dispatch_place_t grid_only = {.grid = "baima-g01"};
    dispatch_task_t a = s_task(&by, TASK_A, "report.meat_smoking", at_compound, 0, 0);
    dispatch_task_t b = s_task(&by, TASK_B, "report.meat_smoking", grid_only, 0, 0);
    dispatch_place_t other = {.grid = "shangcun-g01"};
    dispatch_task_t s = s_task(&sh, TASK_C, "report.meat_smoking", other, 0, 0);
    CHECK(dispatch_cache_change(c, by.r, &a) == 0 && dispatch_cache_change(c, by.r, &b) == 0);
    if (s.holder)
        CHECK(dispatch_cache_change(c, sh.r, &s) == 0);
    dispatch_cache_commit(c);
    dispatch_location_t loc;
    dispatch_routing_locate(by.r, &at_compound, &loc);
    size_t n = 0;
    const dispatch_task_t *v = dispatch_cache_candidates(c, by.r, "report.meat_smoking", &loc, &n);
    CHECK(s_has(v, n, TASK_A));  /* same compound */
    CHECK(!s_has(v, n, TASK_B)); /* a grid alone is not a place to merge at */
    CHECK(!s_has(v, n, TASK_C)); /* another subdistrict */
    v = dispatch_cache_candidates(c, by.r, "report.open_burning", &loc, &n);
    CHECK(n == 0); /* another kind */
    size_t cursor = 0, seen = 0;
    const dispatch_rules_t *r;
    while (dispatch_cache_next(c, &cursor, &r))
        seen++;
    CHECK(seen == (s.holder ? 3u : 2u));
    dispatch_cache_destroy(&c);
}

int main(void)
{
    by = fx_load(BAIYANG);
    sh = fx_load(SHANHE);
    if (!by.r || !sh.r)
        return 1;
    RUN(test_change_rollback_commit);
    RUN(test_candidates_superset);
    RUN(test_candidates_by_place_and_subdistrict);
    fx_free(&sh);
    fx_free(&by);
    return check_summary();
}
