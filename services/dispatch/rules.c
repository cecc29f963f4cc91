/* rules.c - loads and checks the `dispatch:` section of a campaign file;
 * see rules.h and docs/dispatch.md. Data in, a consistent dispatch_rules_t
 * out, or the first mistake as "file:line: message". */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "config.h"

struct dispatch_rules_priv {
    void **allocs;   /* every block owned by the rules */
    size_t n_allocs; /* entries in allocs */
};

/* Parsing state: where we are, what we fill in. */
typedef struct parse {
    dispatch_rules_t *r;       /* being filled */
    const campaign_t *c;       /* the campaign */
    const config_node_t *root; /* the dispatch section */
    dispatch_unit_t *units;    /* r->units, writable */
    size_t n_units;            /* units filled so far */
    const dispatch_unit_t **squad_of_grid;
    const dispatch_unit_t **post_of_area;
    double *area_radius;
    err_t *err;
} parse_t;

static const char *const s_prio_names[] = {"low", "normal", "urgent", NULL};
static const char *const s_where_names[] = {
    "anywhere", "key_area", "grave_site",         "non_demolished", "grid",
    "compound", "school",   "compound_or_school", "community",      NULL};

/* A zeroed block that the rules own; NULL (with err) when out of memory. */
static void *s_alloc(parse_t *ps, size_t n, size_t size)
{
    struct dispatch_rules_priv *p = ps->r->priv;
    void **grown = realloc(p->allocs, (p->n_allocs + 1) * sizeof *grown);
    if (!grown)
        goto oom;
    p->allocs = grown;
    void *block = calloc(n ? n : 1, size);
    if (!block)
        goto oom;
    p->allocs[p->n_allocs++] = block;
    return block;
oom:
    err_set(ps->err, "%s: out of memory loading the dispatch rules", ps->c->path);
    return NULL;
}

/* Index of text in a NULL-terminated list, -1 when absent. */
static int s_index_of(const char *const *list, const char *text)
{
    for (int i = 0; text && list[i]; i++)
        if (strcmp(list[i], text) == 0)
            return i;
    return -1;
}

/* An entity id: 1..63 bytes of [a-z0-9-], starting with a letter or digit. */
static bool s_entity_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CAMPAIGN_ID_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* The scalar text of a node, or an error naming what was expected. */
static int s_scalar(parse_t *ps, const config_node_t *node, const char *what, const char **out)
{
    *out = config_scalar(node);
    if (!*out || !**out)
        return config_error(node, ps->err, "%s: expected a non-empty scalar", what);
    return 0;
}

static int s_unit_ref(parse_t *ps, const config_node_t *node, const char *what,
                      const dispatch_unit_t **out)
{
    const char *id;
    if (s_scalar(ps, node, what, &id))
        return -1;
    *out = dispatch_rules_unit(ps->r, id);
    if (!*out)
        return config_error(node, ps->err, "%s: unknown unit '%s'", what, id);
    return 0;
}

static int s_unit_key(parse_t *ps, const config_node_t *map, const char *key,
                      const dispatch_unit_t **out)
{
    const char *ignored;
    if (config_string(map, key, &ignored, ps->err))
        return -1;
    return s_unit_ref(ps, config_get(map, key), key, out);
}

/* A new unit with an unused id. */
static dispatch_unit_t *s_new_unit(parse_t *ps, const config_node_t *at, const char *id,
                                   const char *name, dispatch_unit_kind_t kind)
{
    if (!s_entity_id(id)) {
        config_error(at, ps->err, "unit id '%s': expected 1..63 bytes of [a-z0-9-]", id);
        return NULL;
    }
    const dispatch_unit_t *old = dispatch_rules_unit(ps->r, id);
    if (old) {
        if (old->line > 0)
            config_error(at, ps->err, "unit '%s' is already defined at line %d", id, old->line);
        else
            config_error(at, ps->err, "unit '%s' is already a group of the campaign", id);
        return NULL;
    }
    dispatch_unit_t *u = &ps->units[ps->n_units++];
    u->id = id;
    u->name = name ? name : id;
    u->kind = kind;
    u->line = config_line(at);
    ps->r->n_units = ps->n_units;
    return u;
}

/* A sequence of strings (kinds, only ...) into an owned array. */
static int s_str_list(parse_t *ps, const config_node_t *map, const char *key,
                      const char *const **out, size_t *n)
{
    const config_node_t *seq = NULL;
    if (config_seq_opt(map, key, &seq, ps->err))
        return -1;
    if (!seq)
        return 0;
    if (config_len(seq) == 0)
        return config_error(seq, ps->err, "key '%s': empty list (leave it out instead)", key);
    const char **v = s_alloc(ps, config_len(seq), sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < config_len(seq); i++)
        if (s_scalar(ps, config_at(seq, i), key, &v[i]))
            return -1;
    *out = v;
    *n = config_len(seq);
    return 0;
}

static int s_enum(parse_t *ps, const config_node_t *map, const char *key, bool required,
                  const char *const *names, int *out)
{
    const char *text = NULL;
    if ((required ? config_string : config_string_opt)(map, key, &text, ps->err))
        return -1;
    if (!text)
        return 0;
    int i = s_index_of(names, text);
    if (i < 0)
        return config_error(config_get(map, key), ps->err, "key '%s': unknown value '%s'", key,
                            text);
    *out = i;
    return 0;
}

/* ---- units ------------------------------------------------------------ */

static int s_squads(parse_t *ps, const config_node_t *seq)
{
    static const char *const keys[] = {"id", "name", "group", "grids", NULL};
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i), *grids;
        const char *id, *name = NULL, *group_id;
        if (config_only_keys(m, keys, ps->err) || config_string(m, "id", &id, ps->err) ||
            config_string_opt(m, "name", &name, ps->err) ||
            config_string(m, "group", &group_id, ps->err) ||
            config_seq(m, "grids", &grids, ps->err))
            return -1;
        const campaign_group_t *g = campaign_find_group(ps->c, group_id);
        if (!g || g->kind != CAMPAIGN_GROUP_PATROL)
            return config_error(config_get(m, "group"), ps->err,
                                "squad '%s': '%s' is not a patrol group", id, group_id);
        dispatch_unit_t *u = s_new_unit(ps, m, id, name, DISPATCH_UNIT_SQUAD);
        if (!u)
            return -1;
        u->group = g;
        u->community = g->community;
        if (config_len(grids) == 0)
            return config_error(grids, ps->err, "squad '%s': no grids", id);
        for (size_t j = 0; j < config_len(grids); j++) {
            const config_node_t *gn = config_at(grids, j);
            const char *gid;
            if (s_scalar(ps, gn, "grids", &gid))
                return -1;
            const campaign_grid_t *grid = campaign_find_grid(ps->c, gid);
            if (!grid)
                return config_error(gn, ps->err, "squad '%s': unknown grid '%s'", id, gid);
            if (grid->community != g->community)
                return config_error(gn, ps->err,
                                    "squad '%s': grid '%s' is not in community '%s' of %s", id, gid,
                                    g->community->id, g->id);
            if (ps->squad_of_grid[grid->index])
                return config_error(gn, ps->err, "grid '%s' already has squad '%s'", gid,
                                    ps->squad_of_grid[grid->index]->id);
            ps->squad_of_grid[grid->index] = u;
        }
    }
    for (size_t i = 0; i < ps->c->n_grids; i++)
        if (!ps->squad_of_grid[i])
            return config_error(seq, ps->err, "grid '%s' has no squad", ps->c->grids[i].id);
    return 0;
}

static int s_posts(parse_t *ps, const config_node_t *seq)
{
    static const char *const keys[] = {"id", "name", "checkpoint", "radius_m", NULL};
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i);
        const char *id, *name = NULL, *cp;
        if (config_only_keys(m, keys, ps->err) || config_string(m, "id", &id, ps->err) ||
            config_string_opt(m, "name", &name, ps->err) ||
            config_string(m, "checkpoint", &cp, ps->err))
            return -1;
        const campaign_key_area_t *ka = campaign_find_checkpoint(ps->c, cp);
        if (!ka)
            return config_error(config_get(m, "checkpoint"), ps->err,
                                "post '%s': unknown checkpoint '%s'", id, cp);
        if (ps->post_of_area[ka->index])
            return config_error(config_get(m, "checkpoint"), ps->err,
                                "checkpoint '%s' already has post '%s'", cp,
                                ps->post_of_area[ka->index]->id);
        double radius = 0;
        if (ka->has_centre && config_double(m, "radius_m", 1, 10000, &radius, ps->err))
            return -1;
        if (!ka->has_centre && config_get(m, "radius_m"))
            return config_error(config_get(m, "radius_m"), ps->err,
                                "post '%s': key area '%s' has no centre to measure from", id,
                                ka->id);
        dispatch_unit_t *u = s_new_unit(ps, m, id, name, DISPATCH_UNIT_POST);
        if (!u)
            return -1;
        u->community = ka->community;
        u->key_area = ka;
        ps->post_of_area[ka->index] = u;
        ps->area_radius[ka->index] = radius;
    }
    for (size_t i = 0; i < ps->c->n_key_areas; i++)
        if (ps->c->key_areas[i].has_checkpoint && !ps->post_of_area[i])
            return config_error(seq, ps->err, "checkpoint '%s' has no post",
                                ps->c->key_areas[i].checkpoint.id);
    return 0;
}

static int s_extra_units(parse_t *ps, const config_node_t *seq)
{
    static const char *const keys[] = {"id", "name", "community", NULL};
    for (size_t i = 0; seq && i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i);
        const char *id, *name, *cid = NULL;
        if (config_only_keys(m, keys, ps->err) || config_string(m, "id", &id, ps->err) ||
            config_string(m, "name", &name, ps->err) ||
            config_string_opt(m, "community", &cid, ps->err))
            return -1;
        const campaign_community_t *cm = NULL;
        if (cid && !(cm = campaign_find_community(ps->c, cid)))
            return config_error(config_get(m, "community"), ps->err, "unknown community '%s'", cid);
        dispatch_unit_t *u = s_new_unit(ps, m, id, name, DISPATCH_UNIT_OTHER);
        if (!u)
            return -1;
        u->community = cm;
    }
    return 0;
}

static int s_units(parse_t *ps)
{
    const config_node_t *squads, *posts = NULL, *extra = NULL;
    if (config_seq(ps->root, "squads", &squads, ps->err) ||
        config_seq_opt(ps->root, "posts", &posts, ps->err) ||
        config_seq_opt(ps->root, "units", &extra, ps->err))
        return -1;
    size_t cap = ps->c->n_groups + config_len(squads) + (posts ? config_len(posts) : 0) +
                 (extra ? config_len(extra) : 0);
    ps->units = s_alloc(ps, cap, sizeof *ps->units);
    ps->squad_of_grid = s_alloc(ps, ps->c->n_grids, sizeof *ps->squad_of_grid);
    ps->post_of_area = s_alloc(ps, ps->c->n_key_areas, sizeof *ps->post_of_area);
    ps->area_radius = s_alloc(ps, ps->c->n_key_areas, sizeof *ps->area_radius);
    if (!ps->units || !ps->squad_of_grid || !ps->post_of_area || !ps->area_radius)
        return -1;
    ps->r->units = ps->units;
    ps->r->squad_of_grid = ps->squad_of_grid;
    ps->r->post_of_area = ps->post_of_area;
    ps->r->area_radius_m = ps->area_radius;
    for (size_t i = 0; i < ps->c->n_groups; i++) {
        dispatch_unit_t *u = &ps->units[ps->n_units++];
        const campaign_group_t *g = &ps->c->groups[i];
        *u = (dispatch_unit_t){.id = g->id,
                               .name = g->name,
                               .kind = DISPATCH_UNIT_GROUP,
                               .group = g,
                               .community = g->community,
                               .line = 0};
    }
    ps->r->n_units = ps->n_units;
    if (s_squads(ps, squads) || (posts ? s_posts(ps, posts) : 0) || s_extra_units(ps, extra))
        return -1;
    if (!posts)
        for (size_t i = 0; i < ps->c->n_key_areas; i++)
            if (ps->c->key_areas[i].has_checkpoint)
                return config_error(ps->root, ps->err, "checkpoint '%s' has no post (no 'posts')",
                                    ps->c->key_areas[i].checkpoint.id);
    return 0;
}

/* ---- events, routes ---------------------------------------------------- */

/* A kind dispatch knows: a catalogue type, or "task.done:<outcome>". */
static int s_check_kind(parse_t *ps, const config_node_t *at, const char *kind)
{
    static const char prefix[] = "task.done:";
    if (strncmp(kind, prefix, sizeof prefix - 1) == 0) {
        const catalogue_field_t *f = catalogue_field(catalogue_find("task.done"), "outcome");
        if (f && f->values && s_index_of(f->values, kind + sizeof prefix - 1) >= 0)
            return 0;
        return config_error(at, ps->err, "kind '%s': not an outcome of task.done", kind);
    }
    if (!catalogue_find(kind))
        return config_error(at, ps->err, "kind '%s': not an event type of the catalogue", kind);
    return 0;
}

static int s_events(parse_t *ps)
{
    static const char *const keys[] = {"kind", "field", "only", "priority", "ongoing_priority",
                                       NULL};
    const config_node_t *seq;
    if (config_seq(ps->root, "events", &seq, ps->err))
        return -1;
    dispatch_event_rule_t *v = s_alloc(ps, config_len(seq), sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i);
        dispatch_event_rule_t *e = &v[i];
        int prio = -1, ongoing = -1;
        e->line = config_line(m);
        if (config_only_keys(m, keys, ps->err) || config_string(m, "kind", &e->kind, ps->err) ||
            s_check_kind(ps, config_get(m, "kind"), e->kind) ||
            config_string_opt(m, "field", &e->field, ps->err) ||
            s_str_list(ps, m, "only", &e->only, &e->n_only) ||
            s_enum(ps, m, "priority", true, s_prio_names, &prio) ||
            s_enum(ps, m, "ongoing_priority", false, s_prio_names, &ongoing))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j].kind, e->kind) == 0)
                return config_error(m, ps->err, "kind '%s' is already listed at line %d", e->kind,
                                    v[j].line);
        e->priority = (dispatch_priority_t)prio;
        e->has_ongoing_priority = ongoing >= 0;
        e->ongoing_priority = ongoing >= 0 ? (dispatch_priority_t)ongoing : e->priority;
        if ((e->field == NULL) != (e->only == NULL))
            return config_error(m, ps->err, "kind '%s': 'field' and 'only' go together", e->kind);
        if (e->field) {
            const catalogue_field_t *f = catalogue_field(catalogue_find(e->kind), e->field);
            if (!f || f->kind != CAT_ENUM)
                return config_error(config_get(m, "field"), ps->err,
                                    "kind '%s': '%s' is not an enum field of it", e->kind,
                                    e->field);
            for (size_t j = 0; j < e->n_only; j++)
                if (s_index_of(f->values, e->only[j]) < 0)
                    return config_error(config_at(config_get(m, "only"), j), ps->err,
                                        "kind '%s': '%s' is not a value of field '%s'", e->kind,
                                        e->only[j], e->field);
        }
    }
    ps->r->events = v;
    ps->r->n_events = config_len(seq);
    return 0;
}

/* Kinds named by a rule must open tasks, or the rule could never apply. */
static int s_kinds_known(parse_t *ps, const config_node_t *m, const char *const *kinds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!dispatch_rules_event(ps->r, kinds[i]))
            return config_error(config_at(config_get(m, "kinds"), i), ps->err,
                                "kind '%s' opens no task (not under 'events')", kinds[i]);
    return 0;
}

static int s_route_list(parse_t *ps, const char *key, bool required, const dispatch_route_t **out,
                        size_t *n_out)
{
    static const char *const keys[] = {"name", "kinds", "where", "to", "police_liaison", NULL};
    static const char *const targets[] = {"", "$squad", "$post", "$patrol_group", NULL};
    const config_node_t *seq = NULL;
    if ((required ? config_seq : config_seq_opt)(ps->root, key, &seq, ps->err))
        return -1;
    if (!seq)
        return 0;
    dispatch_route_t *v = s_alloc(ps, config_len(seq), sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i);
        dispatch_route_t *rt = &v[i];
        int where = 0;
        const char *to;
        rt->line = config_line(m);
        if (config_only_keys(m, keys, ps->err) || config_string(m, "name", &rt->name, ps->err) ||
            s_str_list(ps, m, "kinds", &rt->kinds, &rt->n_kinds) ||
            s_kinds_known(ps, m, rt->kinds, rt->n_kinds) ||
            s_enum(ps, m, "where", false, s_where_names, &where) ||
            config_string(m, "to", &to, ps->err) ||
            config_bool_opt(m, "police_liaison", &rt->police_liaison, ps->err))
            return -1;
        rt->where = (dispatch_where_t)where;
        int t = to[0] == '$' ? s_index_of(targets, to) : 0;
        if (t < 0)
            return config_error(config_get(m, "to"), ps->err,
                                "key 'to': unknown '%s' (one of $squad, $post, $patrol_group, or "
                                "a unit id)",
                                to);
        rt->target = (dispatch_target_t)t;
        if (rt->target == DISPATCH_TO_UNIT && s_unit_ref(ps, config_get(m, "to"), "to", &rt->unit))
            return -1;
        if (rt->target == DISPATCH_TO_POST && rt->where != DISPATCH_WHERE_KEY_AREA &&
            rt->where != DISPATCH_WHERE_GRAVE_SITE)
            return config_error(m, ps->err, "route '%s': $post needs where: key_area or grave_site",
                                rt->name);
        if (rt->target == DISPATCH_TO_SQUAD && rt->where != DISPATCH_WHERE_GRID &&
            rt->where != DISPATCH_WHERE_COMPOUND && rt->where != DISPATCH_WHERE_SCHOOL &&
            rt->where != DISPATCH_WHERE_COMPOUND_OR_SCHOOL)
            return config_error(m, ps->err, "route '%s': $squad needs a where that gives a grid",
                                rt->name);
    }
    *out = v;
    *n_out = config_len(seq);
    return 0;
}

/* ---- deadlines, escalation, returns, sensitive, duplicates ------------- */

static int s_deadlines(parse_t *ps)
{
    static const char *const keys[] = {"kinds",          "priority",        "ack_minutes",
                                       "arrive_minutes", "resolve_minutes", NULL};
    const config_node_t *seq;
    if (config_seq(ps->root, "deadlines", &seq, ps->err))
        return -1;
    dispatch_deadline_row_t *v = s_alloc(ps, config_len(seq), sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *m = config_at(seq, i);
        dispatch_deadline_row_t *d = &v[i];
        int prio = -1;
        int64_t ack, arrive, resolve;
        d->line = config_line(m);
        if (config_only_keys(m, keys, ps->err) ||
            s_str_list(ps, m, "kinds", &d->kinds, &d->n_kinds) ||
            s_kinds_known(ps, m, d->kinds, d->n_kinds) ||
            s_enum(ps, m, "priority", false, s_prio_names, &prio) ||
            config_int(m, "ack_minutes", 1, 10080, &ack, ps->err) ||
            config_int(m, "arrive_minutes", 1, 10080, &arrive, ps->err) ||
            config_int(m, "resolve_minutes", 1, 43200, &resolve, ps->err))
            return -1;
        if (ack > arrive || arrive > resolve)
            return config_error(m, ps->err,
                                "deadlines must not shrink: ack %lld <= arrive %lld <= resolve "
                                "%lld minutes",
                                (long long)ack, (long long)arrive, (long long)resolve);
        d->any_priority = prio < 0;
        d->priority = prio < 0 ? DISPATCH_PRIO_NORMAL : (dispatch_priority_t)prio;
        d->ack_ms = ack * 60000;
        d->arrive_ms = arrive * 60000;
        d->resolve_ms = resolve * 60000;
    }
    ps->r->deadlines = v;
    ps->r->n_deadlines = config_len(seq);
    return 0;
}

/* Every event kind, at each priority it can have, finds a deadline row. */
static int s_deadlines_cover(parse_t *ps)
{
    for (size_t i = 0; i < ps->r->n_events; i++) {
        const dispatch_event_rule_t *e = &ps->r->events[i];
        dispatch_priority_t prios[2] = {e->priority, e->ongoing_priority};
        for (int k = 0; k < 2; k++) {
            bool found = false;
            for (size_t j = 0; j < ps->r->n_deadlines && !found; j++) {
                const dispatch_deadline_row_t *d = &ps->r->deadlines[j];
                found = dispatch_rules_kind_in(d->kinds, d->n_kinds, e->kind) &&
                        (d->any_priority || d->priority == prios[k]);
            }
            if (!found) {
                err_set(ps->err, "%s:%d: kind '%s' at priority %s has no deadline row", ps->c->path,
                        e->line, e->kind, dispatch_rules_priority_name(prios[k]));
                return -1;
            }
        }
    }
    return 0;
}

static int s_tighten(parse_t *ps)
{
    static const char *const keys[] = {"key_area", "sensitive", NULL};
    const config_node_t *m;
    return config_map(ps->root, "tighten", &m, ps->err) || config_only_keys(m, keys, ps->err) ||
                   config_double(m, "key_area", 0.05, 1, &ps->r->key_area_factor, ps->err) ||
                   config_double(m, "sensitive", 0.05, 1, &ps->r->sensitive_factor, ps->err)
               ? -1
               : 0;
}

static int s_escalation(parse_t *ps)
{
    static const char *const keys[] = {"chain", "interval_minutes", "repeats", NULL};
    static const char *const steps[] = {"", "$holder", "$patrol_deputies", "$patrol_leaders", NULL};
    const config_node_t *m, *seq;
    int64_t interval, repeats;
    if (config_map(ps->root, "escalation", &m, ps->err) || config_only_keys(m, keys, ps->err) ||
        config_seq(m, "chain", &seq, ps->err) ||
        config_int(m, "interval_minutes", 1, 1440, &interval, ps->err) ||
        config_int(m, "repeats", 0, 10, &repeats, ps->err))
        return -1;
    if (config_len(seq) == 0 || config_len(seq) > 16)
        return config_error(seq, ps->err, "key 'chain': 1..16 steps");
    dispatch_step_t *v = s_alloc(ps, config_len(seq), sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *n = config_at(seq, i);
        const char *text;
        if (s_scalar(ps, n, "chain", &text))
            return -1;
        v[i].line = config_line(n);
        int k = text[0] == '$' ? s_index_of(steps, text) : 0;
        if (k < 0)
            return config_error(n, ps->err,
                                "chain step '%s': one of $holder, $patrol_deputies, "
                                "$patrol_leaders, or a unit id",
                                text);
        v[i].kind = (dispatch_step_kind_t)k;
        if (k == DISPATCH_STEP_UNIT && s_unit_ref(ps, n, "chain", &v[i].unit))
            return -1;
    }
    ps->r->chain = v;
    ps->r->n_chain = config_len(seq);
    ps->r->step_ms = interval * 60000;
    ps->r->repeats = (int)repeats;
    return 0;
}

static int s_returns(parse_t *ps)
{
    static const char *const keys[] = {"max", "fallback", NULL};
    const config_node_t *m;
    int64_t max;
    if (config_map(ps->root, "returns", &m, ps->err) || config_only_keys(m, keys, ps->err) ||
        config_int(m, "max", 0, 10, &max, ps->err) ||
        s_unit_key(ps, m, "fallback", &ps->r->fallback))
        return -1;
    ps->r->max_returns = (int)max;
    return 0;
}

static int s_sensitive(parse_t *ps)
{
    static const char *const keys[] = {"dates", "notify", NULL};
    const config_node_t *m, *dates = NULL;
    bool *on = s_alloc(ps, ps->c->n_sensitive, sizeof *on);
    if (!on || config_map(ps->root, "sensitive", &m, ps->err) ||
        config_only_keys(m, keys, ps->err) || config_seq_opt(m, "dates", &dates, ps->err) ||
        s_unit_key(ps, m, "notify", &ps->r->sensitive_notify))
        return -1;
    for (size_t i = 0; i < ps->c->n_sensitive; i++)
        on[i] = dates == NULL;
    for (size_t i = 0; dates && i < config_len(dates); i++) {
        const char *id;
        if (s_scalar(ps, config_at(dates, i), "dates", &id))
            return -1;
        size_t j = 0;
        while (j < ps->c->n_sensitive && strcmp(ps->c->sensitive[j].id, id) != 0)
            j++;
        if (j == ps->c->n_sensitive)
            return config_error(config_at(dates, i), ps->err,
                                "unknown sensitive date '%s' (not in the calendar)", id);
        on[j] = true;
    }
    ps->r->sensitive_on = on;
    return 0;
}

static int s_duplicates(parse_t *ps)
{
    static const char *const keys[] = {"distance_m", "window_minutes", NULL};
    const config_node_t *m;
    int64_t window;
    if (config_map(ps->root, "duplicates", &m, ps->err) || config_only_keys(m, keys, ps->err) ||
        config_double(m, "distance_m", 0, 10000, &ps->r->duplicate_distance_m, ps->err) ||
        config_int(m, "window_minutes", 1, 1440, &window, ps->err))
        return -1;
    ps->r->duplicate_window_ms = window * 60000;
    return 0;
}

/* ---- the section ---------------------------------------------------------- */

dispatch_rules_t *dispatch_rules_load(const campaign_t *campaign, err_t *err)
{
    static const char *const keys[] = {"grid_max_distance_m",
                                       "squads",
                                       "posts",
                                       "units",
                                       "events",
                                       "routes",
                                       "notify",
                                       "default",
                                       "deadlines",
                                       "tighten",
                                       "escalation",
                                       "returns",
                                       "sensitive",
                                       "duplicates",
                                       NULL};
    dispatch_rules_t *r = NULL;
    if (!campaign) {
        err_set(err, "no campaign to read dispatch rules from");
        goto fail;
    }
    r = calloc(1, sizeof *r);
    if (!r || !(r->priv = calloc(1, sizeof *r->priv))) {
        err_set(err, "%s: out of memory loading the dispatch rules", campaign->path);
        goto fail;
    }
    r->campaign = campaign;
    r->path = campaign->path;
    parse_t ps = {.r = r, .c = campaign, .err = err};
    ps.root = campaign_section(campaign, "dispatch");
    if (!ps.root) {
        err_set(err, "%s: no 'dispatch' section", campaign->path);
        goto fail;
    }
    if (config_only_keys(ps.root, keys, err) ||
        config_double(ps.root, "grid_max_distance_m", 1, 100000, &r->grid_max_distance_m, err) ||
        s_units(&ps) || s_events(&ps) ||
        s_route_list(&ps, "routes", true, &r->routes, &r->n_routes) ||
        s_route_list(&ps, "notify", false, &r->notify, &r->n_notify) ||
        s_unit_key(&ps, ps.root, "default", &r->default_unit) || s_deadlines(&ps) ||
        s_deadlines_cover(&ps) || s_tighten(&ps) || s_escalation(&ps) || s_returns(&ps) ||
        s_sensitive(&ps) || s_duplicates(&ps))
        goto fail;
    return r;
fail:
    dispatch_rules_destroy(&r);
    return NULL;
}

void dispatch_rules_destroy(dispatch_rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dispatch_rules_t *r = *self_p;
    if (r->priv) {
        for (size_t i = 0; i < r->priv->n_allocs; i++)
            free(r->priv->allocs[i]);
        free(r->priv->allocs);
        free(r->priv);
    }
    free(r);
    *self_p = NULL;
}

const dispatch_unit_t *dispatch_rules_unit(const dispatch_rules_t *r, const char *id)
{
    for (size_t i = 0; r && id && i < r->n_units; i++)
        if (strcmp(r->units[i].id, id) == 0)
            return &r->units[i];
    return NULL;
}

const dispatch_event_rule_t *dispatch_rules_event(const dispatch_rules_t *r, const char *kind)
{
    for (size_t i = 0; r && kind && i < r->n_events; i++)
        if (strcmp(r->events[i].kind, kind) == 0)
            return &r->events[i];
    return NULL;
}

const char *dispatch_rules_priority_name(dispatch_priority_t p)
{
    return (unsigned)p <= DISPATCH_PRIO_URGENT ? s_prio_names[p] : "?";
}

bool dispatch_rules_kind_in(const char *const *kinds, size_t n, const char *kind)
{
    if (!kinds)
        return true;
    for (size_t i = 0; kind && i < n; i++)
        if (strcmp(kinds[i], kind) == 0)
            return true;
    return false;
}
