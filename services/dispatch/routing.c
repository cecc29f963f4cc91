/* routing.c - locating an event and choosing its owner from the rules'
 * routes (see routing.h). No rule is written here: only how the route
 * table is read. */
#include "routing.h"

#include <math.h>
#include <string.h>

double dispatch_routing_distance_m(campaign_geo_t a, campaign_geo_t b)
{
    const double rad = M_PI / 180.0, earth_m = 6371008.8;
    double dlat = (b.lat - a.lat) * rad, dlon = (b.lon - a.lon) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a.lat * rad) * cos(b.lat * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * earth_m * asin(sqrt(h < 1 ? h : 1));
}

/* The compound or school id among the grids of the campaign. */
static const campaign_place_t *s_find_place(const campaign_t *c, const char *id, bool school,
                                            const campaign_grid_t **grid)
{
    for (size_t i = 0; id && i < c->n_grids; i++) {
        const campaign_grid_t *g = &c->grids[i];
        const campaign_place_t *v = school ? g->schools : g->compounds;
        size_t n = school ? g->n_schools : g->n_compounds;
        for (size_t j = 0; j < n; j++)
            if (strcmp(v[j].id, id) == 0) {
                *grid = g;
                return &v[j];
            }
    }
    return NULL;
}

static const campaign_grid_t *s_nearest_grid(const dispatch_rules_t *r, campaign_geo_t p)
{
    const campaign_grid_t *best = NULL;
    double best_m = 0;
    for (size_t i = 0; i < r->campaign->n_grids; i++) {
        const campaign_grid_t *g = &r->campaign->grids[i];
        double m = dispatch_routing_distance_m(p, g->centre);
        /* Strictly nearer by more than 1 cm: ties keep the earlier grid. */
        if (m <= r->grid_max_distance_m && (!best || m < best_m - 0.01)) {
            best = g;
            best_m = m;
        }
    }
    return best;
}

/* The key area containing p by its radius, nearest centre first. */
static const campaign_key_area_t *s_area_by_geo(const dispatch_rules_t *r, campaign_geo_t p)
{
    const campaign_key_area_t *best = NULL;
    double best_m = 0;
    for (size_t i = 0; i < r->campaign->n_key_areas; i++) {
        const campaign_key_area_t *ka = &r->campaign->key_areas[i];
        if (!ka->has_centre || r->area_radius_m[i] <= 0)
            continue;
        double m = dispatch_routing_distance_m(p, ka->centre);
        if (m <= r->area_radius_m[i] && (!best || m < best_m - 0.01)) {
            best = ka;
            best_m = m;
        }
    }
    return best;
}

static const campaign_key_area_t *s_area_by_grid(const campaign_t *c, const campaign_grid_t *g)
{
    for (size_t i = 0; g && i < c->n_key_areas; i++)
        for (size_t j = 0; j < c->key_areas[i].n_grids; j++)
            if (c->key_areas[i].grids[j] == g)
                return &c->key_areas[i];
    return NULL;
}

void dispatch_routing_locate(const dispatch_rules_t *r, const dispatch_place_t *place,
                             dispatch_location_t *out)
{
    const campaign_t *c = r->campaign;
    memset(out, 0, sizeof *out);
    out->has_geo = place->has_geo;
    out->geo = place->geo;
    /* Most specific first: a named place fixes its grid. */
    const campaign_grid_t *g = NULL;
    out->compound = s_find_place(c, place->compound, false, &g);
    if (!out->compound)
        g = NULL;
    const campaign_grid_t *gs = NULL;
    out->school = s_find_place(c, place->school, true, &gs);
    if (!g)
        g = gs;
    if (!g)
        g = campaign_find_grid(c, place->grid);
    if (!g && place->has_geo) {
        g = s_nearest_grid(r, place->geo);
        out->grid_from_geo = g != NULL;
    }
    out->grid = g;

    const campaign_key_area_t *ka = campaign_find_checkpoint(c, place->checkpoint);
    if (!ka)
        ka = campaign_find_key_area(c, place->key_area);
    if (!ka && place->has_geo)
        ka = s_area_by_geo(r, place->geo);
    if (!ka)
        ka = s_area_by_grid(c, g);
    out->key_area = ka;

    if (g)
        out->community = g->community;
    else if (ka)
        out->community = ka->community;
    else
        out->community = campaign_find_community(c, place->community);
}

static bool s_where(dispatch_where_t w, const dispatch_location_t *loc)
{
    switch (w) {
    case DISPATCH_WHERE_ANYWHERE:
        return true;
    case DISPATCH_WHERE_KEY_AREA:
        return loc->key_area != NULL;
    case DISPATCH_WHERE_GRAVE_SITE:
        return loc->key_area && loc->key_area->kind == CAMPAIGN_AREA_GRAVE_SITE;
    case DISPATCH_WHERE_NON_DEMOLISHED:
        return loc->key_area && loc->key_area->kind == CAMPAIGN_AREA_NON_DEMOLISHED;
    case DISPATCH_WHERE_GRID:
        return loc->grid != NULL;
    case DISPATCH_WHERE_COMPOUND:
        return loc->compound != NULL;
    case DISPATCH_WHERE_SCHOOL:
        return loc->school != NULL;
    case DISPATCH_WHERE_COMPOUND_OR_SCHOOL:
        return loc->compound || loc->school;
    case DISPATCH_WHERE_COMMUNITY:
        return loc->community != NULL;
    }
    return false;
}

/* The unit a route's target names at loc; NULL when it names none there. */
static const dispatch_unit_t *s_target(const dispatch_rules_t *r, const dispatch_route_t *rt,
                                       const dispatch_location_t *loc)
{
    switch (rt->target) {
    case DISPATCH_TO_UNIT:
        return rt->unit;
    case DISPATCH_TO_SQUAD:
        return loc->grid ? r->squad_of_grid[loc->grid->index] : NULL;
    case DISPATCH_TO_POST:
        return loc->key_area ? r->post_of_area[loc->key_area->index] : NULL;
    case DISPATCH_TO_PATROL_GROUP: {
        const campaign_group_t *g =
            loc->community ? campaign_patrol_group(r->campaign, loc->community->id) : NULL;
        return g ? dispatch_rules_unit(r, g->id) : NULL;
    }
    }
    return NULL;
}

static bool s_excluded(const dispatch_unit_t *u, const dispatch_unit_t *const *ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ex[i] == u)
            return true;
    return false;
}

static void s_notify(dispatch_route_result_t *out, const dispatch_unit_t *u, const char *why)
{
    if (!u || u == out->owner || out->n_notify >= DISPATCH_MAX_NOTIFY)
        return;
    for (size_t i = 0; i < out->n_notify; i++)
        if (out->notify[i] == u)
            return;
    out->notify[out->n_notify] = u;
    out->notify_why[out->n_notify++] = why;
}

void dispatch_routing_route(const dispatch_rules_t *r, const char *kind,
                            const dispatch_location_t *loc, bool sensitive,
                            const dispatch_unit_t *const *excluded, size_t n_excluded,
                            dispatch_route_result_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < r->n_routes && !out->owner; i++) {
        const dispatch_route_t *rt = &r->routes[i];
        if (!dispatch_rules_kind_in(rt->kinds, rt->n_kinds, kind) || !s_where(rt->where, loc))
            continue;
        const dispatch_unit_t *u = s_target(r, rt, loc);
        if (!u || s_excluded(u, excluded, n_excluded))
            continue;
        out->owner = u;
        out->rule = rt->name;
        out->police_liaison = rt->police_liaison && loc->key_area &&
                              loc->key_area->has_checkpoint &&
                              loc->key_area->checkpoint.with_police;
    }
    if (!out->owner && !s_excluded(r->default_unit, excluded, n_excluded)) {
        out->owner = r->default_unit;
        out->rule = "default";
    }
    for (size_t i = 0; i < r->n_notify; i++) {
        const dispatch_route_t *rt = &r->notify[i];
        if (dispatch_rules_kind_in(rt->kinds, rt->n_kinds, kind) && s_where(rt->where, loc))
            s_notify(out, s_target(r, rt, loc), rt->name);
    }
    if (sensitive)
        s_notify(out, r->sensitive_notify, "sensitive");
}
