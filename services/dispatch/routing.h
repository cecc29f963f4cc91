/* routing.h - where an event is, and which unit must act on it.
 *
 * Two steps, both pure:
 *   1. dispatch_routing_locate(): from what the event says (ids and/or
 *      coordinates) to a resolved place: key area, grid, community,
 *      compound or school. The seed has grid centres only, so a point is in
 *      the grid with the nearest centre, when that centre is within
 *      grid_max_distance_m (else outside every grid); ties within 1 cm go
 *      to the grid first in the file. A point is inside a key area when it
 *      is within its post's radius_m of the area's centre, or when its grid
 *      is one of the area's grids (non-demolished areas).
 *   2. dispatch_routing_route(): the first route of the rules whose kinds
 *      and place condition hold and whose target resolves gives the owner;
 *      every matching notify rule (and, in sensitive-date mode, the mode's
 *      unit) adds a unit to tell. No match: the rules' default unit. The
 *      same with some units excluded re-routes a returned task.
 * docs/dispatch.md has the full order. */
#ifndef AIRGUARD_DISPATCH_ROUTING_H
#define AIRGUARD_DISPATCH_ROUTING_H

#include <stdbool.h>
#include <stddef.h>

#include "campaign.h"
#include "rules.h"

#define DISPATCH_MAX_NOTIFY 6

/* What an event says about where it happened (borrowed strings, NULL when
 * the event does not say). Unknown ids are ignored, not trusted. */
typedef struct dispatch_place {
    const char *community;  /* community id */
    const char *grid;       /* grid id */
    const char *key_area;   /* key area id */
    const char *checkpoint; /* checkpoint id */
    const char *compound;   /* compound id */
    const char *school;     /* school id */
    bool has_geo;           /* geo is set */
    campaign_geo_t geo;     /* WGS-84 point */
} dispatch_place_t;

/* The place, resolved against the campaign. */
typedef struct dispatch_location {
    const campaign_community_t *community; /* NULL when unknown */
    const campaign_grid_t *grid;           /* NULL when outside every grid */
    const campaign_key_area_t *key_area;   /* NULL when in none */
    const campaign_place_t *compound;      /* named compound, NULL if none */
    const campaign_place_t *school;        /* named school, NULL if none */
    bool grid_from_geo;                    /* grid found from the coordinates */
    bool has_geo;                          /* geo is set */
    campaign_geo_t geo;                    /* the event's point */
} dispatch_location_t;

/* The routing answer. */
typedef struct dispatch_route_result {
    const dispatch_unit_t *owner;                       /* NULL only when every candidate
                                                           was excluded */
    const char *rule;                                   /* route name, or "default" */
    bool police_liaison;                                /* the route asks for it here */
    const dispatch_unit_t *notify[DISPATCH_MAX_NOTIFY]; /* also told, no repeats, never
                                                          the owner */
    const char *notify_why[DISPATCH_MAX_NOTIFY];        /* notify rule name, or "sensitive" */
    size_t n_notify;
} dispatch_route_result_t;

/* Great-circle distance in metres (haversine, mean Earth radius). */
double dispatch_routing_distance_m(campaign_geo_t a, campaign_geo_t b);

/* Resolves place against the rules' campaign into *out. */
void dispatch_routing_locate(const dispatch_rules_t *r, const dispatch_place_t *place,
                             dispatch_location_t *out);

/* Routes an event of kind at loc. sensitive: the mode is on now (adds the
 * mode's unit to notify). excluded: units that may not own it (they
 * returned it), n_excluded entries. */
void dispatch_routing_route(const dispatch_rules_t *r, const char *kind,
                            const dispatch_location_t *loc, bool sensitive,
                            const dispatch_unit_t *const *excluded, size_t n_excluded,
                            dispatch_route_result_t *out);

#endif
