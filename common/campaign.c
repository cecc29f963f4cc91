/* campaign.c - loads and validates a campaign seed file and answers
 * lookups. See include/campaign.h for the file layout, the id rules, the
 * date representation and ownership; civildate.c does the calendar
 * arithmetic and campaignset.c loads a county's directory of campaigns.
 *
 * How loading works: config_load() gives a tree whose nodes know their
 * lines; the parser walks it in dependency order - bans and channels, people,
 * places (communities, grids with their compounds and schools, key areas with
 * their checkpoints), then groups (which refer to people and communities),
 * then the calendar (which refers to groups) - and fills plain arrays. Each
 * id namespace is an index: a sorted array of (id -> item). Sorting it finds
 * duplicate ids right after the items are parsed, before anything refers to
 * them, and later serves every lookup by binary search.
 *
 * Memory: every array handed out is allocated through s_alloc(), which
 * records the block on the campaign so campaign_destroy() is a flat walk.
 * Strings are never copied: they point into the YAML tree, which the
 * campaign keeps until it is destroyed. */
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civildate.h"

/* ---- private state ---------------------------------------------------- */

/* What an entry of the places index names. */
enum place_kind {
    PLACE_COMMUNITY = 1,
    PLACE_GRID,
    PLACE_COMPOUND,
    PLACE_SCHOOL,
    PLACE_KEY_AREA,
    PLACE_CHECKPOINT, /* item is the key area that holds the checkpoint */
};

static const char *const s_place_names[] = {"",       "community", "grid",      "compound",
                                            "school", "key area",  "checkpoint"};

typedef struct index_entry {
    const char *id;            /* the key, borrowed from the tree */
    const void *item;          /* the struct it names */
    int kind;                  /* enum place_kind in the places index, 0 elsewhere */
    size_t order;              /* insertion order, so duplicates blame the later one */
    const config_node_t *node; /* where the id is written, for messages */
} index_entry_t;

typedef struct index {
    index_entry_t *v; /* entries; sorted by (id, order) once finished */
    size_t n;         /* entries in use */
    size_t cap;       /* entries allocated */
} index_t;

/* Top-level sections other services own; accepted here without validation. */
static const char *const s_reserved[] = {"rosters", "dispatch", "cases", "attendance", "scoring"};
#define N_RESERVED (sizeof s_reserved / sizeof s_reserved[0])

struct campaign_priv {
    config_t *cfg;                             /* the parsed file; every string points into it */
    void **blocks;                             /* every block from s_alloc(), freed on destroy */
    size_t n_blocks;                           /* blocks in use */
    size_t cap_blocks;                         /* blocks allocated */
    index_t places;                            /* communities, grids, compounds, schools, key
                                                  areas, checkpoints: one namespace */
    index_t people;                            /* people by id */
    index_t groups;                            /* groups by id */
    index_t bans;                              /* bans by id */
    index_t channels;                          /* publicity channels by id */
    index_t measures;                          /* measures by id (duplicate check only) */
    index_t sensitive;                         /* sensitive dates by id (duplicate check only) */
    const campaign_group_t **patrol_of;        /* patrol group by community index */
    const config_node_t *sections[N_RESERVED]; /* reserved sections, NULL when absent */
    const config_node_t *subdistrict_node;     /* the subdistrict id's node, for the set */
};

/* Everything the parser needs, with writable views of the campaign's arrays. */
typedef struct parse {
    campaign_t *c;                        /* being filled in */
    struct campaign_priv *p;              /* c->priv */
    err_t *err;                           /* where the first error goes */
    const config_node_t *root;            /* top-level map */
    campaign_community_t *communities;    /* == c->communities */
    campaign_grid_t *grids;               /* == c->grids */
    campaign_key_area_t *key_areas;       /* == c->key_areas */
    campaign_group_t *groups;             /* == c->groups */
    const config_node_t *communities_seq; /* the sections, for second passes */
    const config_node_t *grids_seq;
    const config_node_t *key_areas_seq;
    const config_node_t *groups_seq;
} parse_t;

typedef enum id_kind {
    ID_ENTITY, /* [a-z0-9-], first a letter or digit */
    ID_CODE,   /* [a-z0-9_], first a letter */
} id_kind_t;

/* ---- memory ------------------------------------------------------------ */

/* Allocates n zeroed elements of size bytes, owned by the campaign. n == 0
 * gives *out == NULL and success. -1 with err filled in when out of memory. */
static int s_alloc(parse_t *ps, size_t n, size_t size, void **out)
{
    struct campaign_priv *p = ps->p;
    void *mem = NULL;
    *out = NULL;
    if (n == 0)
        return 0;
    if (p->n_blocks == p->cap_blocks) {
        size_t cap = p->cap_blocks ? p->cap_blocks * 2 : 64;
        void **blocks = realloc(p->blocks, cap * sizeof *blocks);
        if (!blocks)
            goto oom;
        p->blocks = blocks;
        p->cap_blocks = cap;
    }
    mem = calloc(n, size); /* calloc checks n * size for overflow */
    if (!mem)
        goto oom;
    p->blocks[p->n_blocks++] = mem;
    *out = mem;
    return 0;
oom:
    err_set(ps->err, "%s: out of memory", ps->c->path);
    return -1;
}

/* ---- indexes ----------------------------------------------------------- */

static int s_index_add(parse_t *ps, index_t *idx, const char *id, const void *item, int kind,
                       const config_node_t *node)
{
    if (idx->n == idx->cap) {
        size_t cap = idx->cap ? idx->cap * 2 : 16;
        index_entry_t *v = realloc(idx->v, cap * sizeof *v);
        if (!v) {
            err_set(ps->err, "%s: out of memory", ps->c->path);
            return -1;
        }
        idx->v = v;
        idx->cap = cap;
    }
    idx->v[idx->n] =
        (index_entry_t){.id = id, .item = item, .kind = kind, .order = idx->n, .node = node};
    idx->n++;
    return 0;
}

static int s_entry_cmp(const void *a, const void *b)
{
    const index_entry_t *x = a, *y = b;
    int rc = strcmp(x->id, y->id);
    if (rc)
        return rc;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the index. Returns the later-defined entry of the duplicate that
 * appears earliest in the file (its earlier twin is the entry before it),
 * or NULL when all ids are distinct. */
static const index_entry_t *s_index_sort(index_t *idx)
{
    const index_entry_t *dup = NULL;
    if (idx->n > 1)
        qsort(idx->v, idx->n, sizeof *idx->v, s_entry_cmp);
    for (size_t i = 1; i < idx->n; i++) {
        if (strcmp(idx->v[i - 1].id, idx->v[i].id) == 0 && (!dup || idx->v[i].order < dup->order))
            dup = &idx->v[i];
    }
    return dup;
}

/* Sorts and rejects duplicates: "duplicate <what> id 'x' (already defined
 * at line n)". */
static int s_index_finish(parse_t *ps, index_t *idx, const char *what)
{
    const index_entry_t *dup = s_index_sort(idx);
    if (!dup)
        return 0;
    return config_error(dup->node, ps->err, "duplicate %s id '%s' (already defined at line %d)",
                        what, dup->id, config_line(dup[-1].node));
}

static const index_entry_t *s_index_find(const index_t *idx, const char *id)
{
    size_t lo = 0, hi = idx->n;
    if (!id)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int rc = strcmp(id, idx->v[mid].id);
        if (rc == 0)
            return &idx->v[mid];
        if (rc < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- scalar checks ----------------------------------------------------- */

static bool s_id_ok(const char *s, id_kind_t kind)
{
    size_t n = strlen(s);
    if (n == 0 || n > CAMPAIGN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool lower = ch >= 'a' && ch <= 'z', digit = ch >= '0' && ch <= '9';
        if (kind == ID_ENTITY) {
            if (!(lower || digit || (ch == '-' && i > 0)))
                return false;
        } else {
            if (!(lower || (digit && i > 0) || (ch == '_' && i > 0)))
                return false;
        }
    }
    return true;
}

/* An IANA zone name such as "Asia/Shanghai" or "UTC": [A-Za-z0-9_+-/],
 * not starting with '/', no "..". The zone database is not consulted. */
static bool s_timezone_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CAMPAIGN_ID_MAX || s[0] == '/' || strstr(s, ".."))
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") == n;
}

/* An id at key of map (or the scalar node itself when key is NULL). */
static int s_id(parse_t *ps, const config_node_t *map, const char *key, id_kind_t kind,
                const char **out)
{
    const char *s = NULL;
    const config_node_t *node = key ? config_get(map, key) : map;
    if (config_string(map, key, &s, ps->err))
        return -1;
    if (!s_id_ok(s, kind)) {
        const char *rule = kind == ID_ENTITY ? "1..63 of [a-z0-9-], not starting with '-'"
                                             : "1..63 of [a-z0-9_], starting with a letter";
        if (key)
            return config_error(node, ps->err, "key '%s': '%s' is not a valid id (%s)", key, s,
                                rule);
        return config_error(node, ps->err, "'%s' is not a valid id (%s)", s, rule);
    }
    *out = s;
    return 0;
}

/* A non-empty text of at most CAMPAIGN_TEXT_MAX bytes; *out = NULL when
 * optional and absent. */
static int s_text(parse_t *ps, const config_node_t *map, const char *key, bool required,
                  const char **out)
{
    const char *s = NULL;
    int rc =
        required ? config_string(map, key, &s, ps->err) : config_string_opt(map, key, &s, ps->err);
    if (rc)
        return -1;
    if (s && (s[0] == '\0' || strlen(s) > CAMPAIGN_TEXT_MAX))
        return config_error(key ? config_get(map, key) : map, ps->err,
                            "key '%s': must be 1..%d bytes", key ? key : "", CAMPAIGN_TEXT_MAX);
    *out = s;
    return 0;
}

/* ---- dates ------------------------------------------------------------- */

/* "2020-01-24" into buf (>= 11 bytes). */
static const char *s_fmt_date(int32_t date, char *buf, size_t cap)
{
    snprintf(buf, cap, "%04d-%02d-%02d", (int)(date / 10000), (int)(date / 100 % 100),
             (int)(date % 100));
    return buf;
}

/* A date at key; *out = 0 when optional and absent. */
static int s_date(parse_t *ps, const config_node_t *map, const char *key, bool required,
                  int32_t *out)
{
    const char *s = NULL;
    int rc =
        required ? config_string(map, key, &s, ps->err) : config_string_opt(map, key, &s, ps->err);
    *out = 0;
    if (rc)
        return -1;
    if (s && civildate_parse(s, out) != 0)
        return config_error(config_get(map, key), ps->err,
                            "key '%s': '%s' is not a date YYYY-MM-DD (a real day, years "
                            "1970..9999)",
                            key, s);
    return 0;
}

/* from <= to, else an error at the 'to' node of map. */
static int s_range(parse_t *ps, const config_node_t *map, int32_t from, int32_t to)
{
    char a[16], b[16];
    if (from <= to)
        return 0;
    return config_error(config_get(map, "to"), ps->err, "key 'to': %s is before 'from' %s",
                        s_fmt_date(to, a, sizeof a), s_fmt_date(from, b, sizeof b));
}

/* The date at key of map lies within the campaign's calendar. */
static int s_within(parse_t *ps, const config_node_t *map, const char *key, int32_t date)
{
    char a[16], b[16], x[16];
    if (date >= ps->c->from && date <= ps->c->to)
        return 0;
    return config_error(config_get(map, key), ps->err,
                        "key '%s': %s is outside the campaign calendar %s..%s", key,
                        s_fmt_date(date, x, sizeof x), s_fmt_date(ps->c->from, a, sizeof a),
                        s_fmt_date(ps->c->to, b, sizeof b));
}

/* ---- structure helpers ------------------------------------------------- */

/* A sequence at key; required ones must also be non-empty. *out = NULL when
 * optional and absent. */
static int s_list(parse_t *ps, const config_node_t *map, const char *key, bool required,
                  const config_node_t **out)
{
    *out = NULL;
    if (required ? config_seq(map, key, out, ps->err) : config_seq_opt(map, key, out, ps->err))
        return -1;
    if (required && config_len(*out) == 0)
        return config_error(*out, ps->err, "key '%s': must not be empty", key);
    return 0;
}

/* The i-th item of a section: a map with only the allowed keys. */
static int s_item(parse_t *ps, const config_node_t *seq, size_t i, const char *const *keys,
                  const config_node_t **out)
{
    const config_node_t *item = config_at(seq, i);
    if (config_map(item, NULL, out, ps->err))
        return -1;
    return config_only_keys(item, keys, ps->err);
}

/* A geographic point at key ({lat, lon}). */
static int s_geo(parse_t *ps, const config_node_t *map, const char *key, campaign_geo_t *out)
{
    static const char *const keys[] = {"lat", "lon", NULL};
    const config_node_t *m = NULL;
    if (config_map(map, key, &m, ps->err) || config_only_keys(m, keys, ps->err))
        return -1;
    if (config_double(m, "lat", -90.0, 90.0, &out->lat, ps->err) ||
        config_double(m, "lon", -180.0, 180.0, &out->lon, ps->err))
        return -1;
    return 0;
}

/* A list of references, each a scalar id that must be found in idx with
 * the given kind (0: any). Fills a fresh array of the items found. Rejects
 * an id listed twice. what names the referenced thing in messages. */
static int s_refs(parse_t *ps, const config_node_t *map, const char *key, bool required,
                  const index_t *idx, int kind, const char *what, const void ***out, size_t *n_out)
{
    const config_node_t *seq = NULL;
    index_t seen = {0};
    void *mem = NULL;
    const void **items = NULL;
    int rc = -1;
    *out = NULL;
    *n_out = 0;
    if (s_list(ps, map, key, required, &seq))
        goto out;
    if (!seq) {
        rc = 0;
        goto out;
    }
    if (s_alloc(ps, config_len(seq), sizeof *items, &mem))
        goto out;
    items = mem;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *el = config_at(seq, i);
        const char *id = config_scalar(el);
        const index_entry_t *e;
        if (!id) {
            config_error(el, ps->err, "key '%s': expected a list of %s ids", key, what);
            goto out;
        }
        e = s_index_find(idx, id);
        if (!e || (kind && e->kind != kind)) {
            config_error(el, ps->err, "key '%s': unknown %s '%s'", key, what, id);
            goto out;
        }
        items[i] = e->item;
        if (s_index_add(ps, &seen, id, e->item, 0, el))
            goto out;
    }
    const index_entry_t *dup = s_index_sort(&seen);
    if (dup) {
        config_error(dup->node, ps->err, "key '%s': %s '%s' is listed twice", key, what, dup->id);
        goto out;
    }
    *out = items;
    *n_out = config_len(seq);
    rc = 0;
out:
    free(seen.v);
    return rc;
}

/* ---- sections ---------------------------------------------------------- */

static int s_parse_subdistrict(parse_t *ps)
{
    static const char *const keys[] = {
        "id", "name", "county", "province", "timezone", "utc_offset_minutes", NULL};
    campaign_t *c = ps->c;
    const config_node_t *m = NULL;
    int64_t offset = 0;
    if (config_map(ps->root, "subdistrict", &m, ps->err) || config_only_keys(m, keys, ps->err))
        return -1;
    if (s_id(ps, m, "id", ID_ENTITY, &c->subdistrict_id) ||
        s_text(ps, m, "name", true, &c->subdistrict_name) ||
        s_text(ps, m, "county", true, &c->county) ||
        s_text(ps, m, "province", false, &c->province) ||
        s_text(ps, m, "timezone", true, &c->timezone))
        return -1;
    if (!s_timezone_ok(c->timezone))
        return config_error(config_get(m, "timezone"), ps->err,
                            "key 'timezone': '%s' is not a time zone name like Asia/Shanghai",
                            c->timezone);
    if (config_int(m, "utc_offset_minutes", -720, 840, &offset, ps->err))
        return -1;
    c->utc_offset_minutes = (int)offset;
    ps->p->subdistrict_node = config_get(m, "id");
    return 0;
}

static int s_parse_campaign_info(parse_t *ps)
{
    static const char *const keys[] = {
        "id", "name", "notice", "notice_title", "issued", "published", "principle", "goal", NULL};
    campaign_t *c = ps->c;
    const config_node_t *m = NULL;
    char a[16], b[16];
    if (config_map(ps->root, "campaign", &m, ps->err) || config_only_keys(m, keys, ps->err))
        return -1;
    if (s_id(ps, m, "id", ID_ENTITY, &c->campaign_id) ||
        s_text(ps, m, "name", true, &c->campaign_name) ||
        s_text(ps, m, "notice", false, &c->notice) ||
        s_text(ps, m, "notice_title", false, &c->notice_title) ||
        s_date(ps, m, "issued", false, &c->issued) ||
        s_date(ps, m, "published", false, &c->published) ||
        s_text(ps, m, "principle", false, &c->principle) || s_text(ps, m, "goal", false, &c->goal))
        return -1;
    if (c->issued && c->published && c->published < c->issued)
        return config_error(
            config_get(m, "published"), ps->err, "key 'published': %s is before 'issued' %s",
            s_fmt_date(c->published, a, sizeof a), s_fmt_date(c->issued, b, sizeof b));
    return 0;
}

static int s_parse_bans(parse_t *ps)
{
    static const char *const keys[] = {"id", "name", "description", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_ban_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, ps->root, "bans", true, &seq) || s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->c->bans = v;
    ps->c->n_bans = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_CODE, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) ||
            s_text(ps, m, "description", false, &v[i].description))
            return -1;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->bans, v[i].id, &v[i], 0, config_get(m, "id")))
            return -1;
    }
    return s_index_finish(ps, &ps->p->bans, "ban");
}

static int s_parse_channels(parse_t *ps)
{
    static const char *const keys[] = {"id", "name", "phrase", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_channel_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, ps->root, "publicity_channels", true, &seq) ||
        s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->c->channels = v;
    ps->c->n_channels = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_CODE, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) || s_text(ps, m, "phrase", false, &v[i].phrase))
            return -1;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->channels, v[i].id, &v[i], 0, config_get(m, "id")))
            return -1;
    }
    return s_index_finish(ps, &ps->p->channels, "publicity channel");
}

static int s_parse_people(parse_t *ps)
{
    static const char *const keys[] = {"id", "name", "title", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_person_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, ps->root, "people", true, &seq) || s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->c->people = v;
    ps->c->n_people = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) || s_text(ps, m, "title", false, &v[i].title))
            return -1;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->people, v[i].id, &v[i], 0, config_get(m, "id")))
            return -1;
    }
    return s_index_finish(ps, &ps->p->people, "person");
}

static int s_parse_communities(parse_t *ps)
{
    static const char *const keys[] = {"id", "name", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_community_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, ps->root, "communities", true, &seq) ||
        s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->communities = v;
    ps->communities_seq = seq;
    ps->c->communities = v;
    ps->c->n_communities = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name))
            return -1;
        v[i].index = i;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->places, v[i].id, &v[i], PLACE_COMMUNITY, config_get(m, "id")))
            return -1;
    }
    return 0;
}

/* compounds or schools of a grid. */
static int s_parse_places(parse_t *ps, const config_node_t *grid, const char *key, int kind,
                          const campaign_place_t **out, size_t *n_out)
{
    static const char *const compound_keys[] = {"id", "name", "households", NULL};
    static const char *const school_keys[] = {"id", "name", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_place_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, grid, key, false, &seq))
        return -1;
    if (!seq)
        return 0;
    if (s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    *out = v;
    *n_out = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        v[i].households = -1;
        if (s_item(ps, seq, i, kind == PLACE_COMPOUND ? compound_keys : school_keys, &m) ||
            s_id(ps, m, "id", ID_ENTITY, &v[i].id) || s_text(ps, m, "name", true, &v[i].name))
            return -1;
        if (kind == PLACE_COMPOUND &&
            config_int_opt(m, "households", 0, 10000000, &v[i].households, ps->err))
            return -1;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->places, v[i].id, &v[i], kind, config_get(m, "id")))
            return -1;
    }
    return 0;
}

static int s_parse_grids(parse_t *ps)
{
    static const char *const keys[] = {"id",         "name",      "community", "centre",
                                       "households", "compounds", "schools",   NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_grid_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, ps->root, "grids", true, &seq) || s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->grids = v;
    ps->grids_seq = seq;
    ps->c->grids = v;
    ps->c->n_grids = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) ||
            s_id(ps, m, "community", ID_ENTITY, &v[i].community_id) ||
            s_geo(ps, m, "centre", &v[i].centre) ||
            config_int(m, "households", 0, 10000000, &v[i].households, ps->err))
            return -1;
        v[i].index = i;
        v[i].line = config_line(m);
        if (s_index_add(ps, &ps->p->places, v[i].id, &v[i], PLACE_GRID, config_get(m, "id")) ||
            s_parse_places(ps, m, "compounds", PLACE_COMPOUND, &v[i].compounds,
                           &v[i].n_compounds) ||
            s_parse_places(ps, m, "schools", PLACE_SCHOOL, &v[i].schools, &v[i].n_schools))
            return -1;
    }
    return 0;
}

static int s_parse_checkpoint(parse_t *ps, const config_node_t *area, campaign_key_area_t *ka)
{
    static const char *const keys[] = {"id", "name", "with_police", "staff", NULL};
    const config_node_t *m = NULL;
    campaign_checkpoint_t *cp = &ka->checkpoint;
    if (config_map(area, "checkpoint", &m, ps->err) || config_only_keys(m, keys, ps->err))
        return -1;
    cp->with_police = true;
    cp->staff = 2;
    if (s_id(ps, m, "id", ID_ENTITY, &cp->id) || s_text(ps, m, "name", true, &cp->name) ||
        config_bool_opt(m, "with_police", &cp->with_police, ps->err) ||
        config_int_opt(m, "staff", 1, 1000, &cp->staff, ps->err))
        return -1;
    cp->line = config_line(m);
    ka->has_checkpoint = true;
    return s_index_add(ps, &ps->p->places, cp->id, ka, PLACE_CHECKPOINT, config_get(m, "id"));
}

static int s_parse_key_areas(parse_t *ps)
{
    static const char *const keys[] = {
        "id",    "name",       "kind",          "community",         "centre",
        "grids", "checkpoint", "rewarded_tips", "patrol_multiplier", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_key_area_t *v = NULL;
    void *mem = NULL;
    const char *kind = NULL;
    if (s_list(ps, ps->root, "key_areas", false, &seq))
        return -1;
    if (!seq)
        return 0;
    if (s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->key_areas = v;
    ps->key_areas_seq = seq;
    ps->c->key_areas = v;
    ps->c->n_key_areas = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        campaign_key_area_t *ka = &v[i];
        ka->patrol_multiplier = 1.0;
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &ka->id) ||
            s_text(ps, m, "name", true, &ka->name) || config_string(m, "kind", &kind, ps->err) ||
            s_id(ps, m, "community", ID_ENTITY, &ka->community_id))
            return -1;
        ka->index = i;
        ka->line = config_line(m);
        if (strcmp(kind, "grave_site") == 0)
            ka->kind = CAMPAIGN_AREA_GRAVE_SITE;
        else if (strcmp(kind, "non_demolished") == 0)
            ka->kind = CAMPAIGN_AREA_NON_DEMOLISHED;
        else
            return config_error(config_get(m, "kind"), ps->err,
                                "key 'kind': unknown key area kind '%s' (expected grave_site "
                                "or non_demolished)",
                                kind);
        if (config_get(m, "centre")) {
            if (s_geo(ps, m, "centre", &ka->centre))
                return -1;
            ka->has_centre = true;
        }
        if (s_index_add(ps, &ps->p->places, ka->id, ka, PLACE_KEY_AREA, config_get(m, "id")))
            return -1;
        /* A grave site is held by a checkpoint; other areas may have one. */
        if (ka->kind == CAMPAIGN_AREA_GRAVE_SITE || config_get(m, "checkpoint")) {
            if (s_parse_checkpoint(ps, m, ka))
                return -1;
        }
        /* Non-demolished areas must say how they are watched. */
        if (ka->kind == CAMPAIGN_AREA_NON_DEMOLISHED) {
            if (config_bool(m, "rewarded_tips", &ka->rewarded_tips, ps->err) ||
                config_double(m, "patrol_multiplier", 1.0, 100.0, &ka->patrol_multiplier, ps->err))
                return -1;
        } else {
            if (config_bool_opt(m, "rewarded_tips", &ka->rewarded_tips, ps->err))
                return -1;
            if (config_get(m, "patrol_multiplier") &&
                config_double(m, "patrol_multiplier", 1.0, 100.0, &ka->patrol_multiplier, ps->err))
                return -1;
        }
    }
    return 0;
}

/* The places namespace is complete: reject duplicates across all kinds. */
static int s_finish_places(parse_t *ps)
{
    const index_entry_t *dup = s_index_sort(&ps->p->places);
    const index_entry_t *first = dup ? dup - 1 : NULL;
    if (!dup)
        return 0;
    if (first->kind == dup->kind)
        return config_error(dup->node, ps->err, "duplicate %s id '%s' (already defined at line %d)",
                            s_place_names[dup->kind], dup->id, config_line(first->node));
    return config_error(dup->node, ps->err,
                        "duplicate id '%s': this %s reuses the id of the %s at line %d "
                        "(communities, grids, compounds, schools, key areas and checkpoints "
                        "share one namespace)",
                        dup->id, s_place_names[dup->kind], s_place_names[first->kind],
                        config_line(first->node));
}

static const campaign_community_t *s_community_ref(parse_t *ps, const config_node_t *map,
                                                   const char *id)
{
    const index_entry_t *e = s_index_find(&ps->p->places, id);
    if (!e || e->kind != PLACE_COMMUNITY) {
        config_error(config_get(map, "community"), ps->err,
                     "key 'community': unknown community '%s'", id);
        return NULL;
    }
    return e->item;
}

/* Second pass over places: communities of grids and key areas, key areas'
 * grids, and every community has at least one grid. */
static int s_resolve_places(parse_t *ps)
{
    campaign_t *c = ps->c;
    for (size_t i = 0; i < c->n_grids; i++) {
        campaign_grid_t *g = &ps->grids[i];
        g->community = s_community_ref(ps, config_at(ps->grids_seq, i), g->community_id);
        if (!g->community)
            return -1;
    }
    for (size_t i = 0; i < c->n_communities; i++) {
        bool has_grid = false;
        for (size_t j = 0; j < c->n_grids && !has_grid; j++)
            has_grid = c->grids[j].community == &c->communities[i];
        if (!has_grid)
            return config_error(config_at(ps->communities_seq, i), ps->err,
                                "community '%s' has no grid (every grid names its community)",
                                c->communities[i].id);
    }
    for (size_t i = 0; i < c->n_key_areas; i++) {
        campaign_key_area_t *ka = &ps->key_areas[i];
        const config_node_t *m = config_at(ps->key_areas_seq, i);
        const void **grids = NULL;
        ka->community = s_community_ref(ps, m, ka->community_id);
        if (!ka->community ||
            s_refs(ps, m, "grids", false, &ps->p->places, PLACE_GRID, "grid", &grids, &ka->n_grids))
            return -1;
        ka->grids = (const campaign_grid_t *const *)grids;
        for (size_t j = 0; j < ka->n_grids; j++) {
            if (ka->grids[j]->community != ka->community)
                return config_error(config_at(config_get(m, "grids"), j), ps->err,
                                    "key 'grids': grid '%s' belongs to community '%s', not to "
                                    "'%s'",
                                    ka->grids[j]->id, ka->grids[j]->community_id, ka->community_id);
        }
    }
    return 0;
}

static int s_group_kind(const char *s, campaign_group_kind_t *out)
{
    static const struct {
        const char *name;
        campaign_group_kind_t kind;
    } kinds[] = {
        {"leadership", CAMPAIGN_GROUP_LEADERSHIP},
        {"coordination", CAMPAIGN_GROUP_COORDINATION},
        {"patrol", CAMPAIGN_GROUP_PATROL},
        {"collaboration", CAMPAIGN_GROUP_COLLABORATION},
        {"enforcement", CAMPAIGN_GROUP_ENFORCEMENT},
        {"supervision", CAMPAIGN_GROUP_SUPERVISION},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

/* member_roles: a list of non-empty texts. */
static int s_roles(parse_t *ps, const config_node_t *map, campaign_group_t *g)
{
    const config_node_t *seq = NULL;
    const char **roles = NULL;
    void *mem = NULL;
    if (s_list(ps, map, "member_roles", false, &seq))
        return -1;
    if (!seq)
        return 0;
    if (s_alloc(ps, config_len(seq), sizeof *roles, &mem))
        return -1;
    roles = mem;
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *el = config_at(seq, i);
        const char *s = config_scalar(el);
        if (!s || s[0] == '\0' || strlen(s) > CAMPAIGN_TEXT_MAX)
            return config_error(el, ps->err,
                                "key 'member_roles': expected a list of 1..%d byte "
                                "texts",
                                CAMPAIGN_TEXT_MAX);
        roles[i] = s;
    }
    g->member_roles = roles;
    g->n_member_roles = config_len(seq);
    return 0;
}

/* A person in at most one of leaders, deputies and members of one group. */
static int s_group_people_distinct(parse_t *ps, const config_node_t *map)
{
    static const char *const lists[] = {"leaders", "deputies", "members"};
    index_t seen = {0};
    int rc = -1;
    for (size_t l = 0; l < 3; l++) {
        const config_node_t *seq = config_get(map, lists[l]);
        for (size_t i = 0; i < config_len(seq); i++) {
            const config_node_t *el = config_at(seq, i);
            if (s_index_add(ps, &seen, config_scalar(el), NULL, 0, el))
                goto out;
        }
    }
    const index_entry_t *dup = s_index_sort(&seen);
    if (dup) {
        config_error(dup->node, ps->err,
                     "person '%s' is listed twice in this group (also at line %d)", dup->id,
                     config_line(dup[-1].node));
        goto out;
    }
    rc = 0;
out:
    free(seen.v);
    return rc;
}

static int s_parse_groups(parse_t *ps)
{
    static const char *const keys[] = {"id",           "name",    "kind",     "parent",
                                       "community",    "leaders", "deputies", "members",
                                       "member_roles", "duties",  NULL};
    campaign_t *c = ps->c;
    const config_node_t *seq = NULL, *m = NULL;
    campaign_group_t *v = NULL;
    void *mem = NULL;
    const char *kind = NULL;
    if (s_list(ps, ps->root, "groups", true, &seq) || s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->groups = v;
    ps->groups_seq = seq;
    c->groups = v;
    c->n_groups = config_len(seq);
    if (s_alloc(ps, c->n_communities, sizeof *ps->p->patrol_of, &mem))
        return -1;
    ps->p->patrol_of = mem;

    for (size_t i = 0; i < c->n_groups; i++) {
        campaign_group_t *g = &v[i];
        const void **people = NULL;
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &g->id) ||
            s_text(ps, m, "name", true, &g->name) || config_string(m, "kind", &kind, ps->err))
            return -1;
        g->index = i;
        g->line = config_line(m);
        if (s_group_kind(kind, &g->kind))
            return config_error(config_get(m, "kind"), ps->err,
                                "key 'kind': unknown group kind '%s' (expected leadership, "
                                "coordination, patrol, collaboration, enforcement or "
                                "supervision)",
                                kind);
        if (s_refs(ps, m, "leaders", true, &ps->p->people, 0, "person", &people, &g->n_leaders))
            return -1;
        g->leaders = (const campaign_person_t *const *)people;
        if (s_refs(ps, m, "deputies", false, &ps->p->people, 0, "person", &people, &g->n_deputies))
            return -1;
        g->deputies = (const campaign_person_t *const *)people;
        if (s_refs(ps, m, "members", false, &ps->p->people, 0, "person", &people, &g->n_members))
            return -1;
        g->members = (const campaign_person_t *const *)people;
        if (s_group_people_distinct(ps, m) || s_roles(ps, m, g) ||
            s_text(ps, m, "duties", false, &g->duties))
            return -1;

        if (config_get(m, "community")) {
            if (s_id(ps, m, "community", ID_ENTITY, &g->community_id))
                return -1;
            g->community = s_community_ref(ps, m, g->community_id);
            if (!g->community)
                return -1;
        } else if (g->kind == CAMPAIGN_GROUP_PATROL) {
            return config_error(m, ps->err, "patrol group '%s': key 'community': missing", g->id);
        }
        if (g->kind == CAMPAIGN_GROUP_PATROL) {
            const campaign_group_t **slot = &ps->p->patrol_of[g->community->index];
            if (*slot)
                return config_error(config_get(m, "community"), ps->err,
                                    "key 'community': community '%s' already has patrol group "
                                    "'%s' (line %d)",
                                    g->community_id, (*slot)->id, (*slot)->line);
            *slot = g;
        }
        if (s_index_add(ps, &ps->p->groups, g->id, g, 0, config_get(m, "id")))
            return -1;
    }
    if (s_index_finish(ps, &ps->p->groups, "group"))
        return -1;

    /* Parents, now that every group id is known; no cycles. */
    for (size_t i = 0; i < c->n_groups; i++) {
        const config_node_t *gm = config_at(seq, i);
        const char *parent = NULL;
        const index_entry_t *e;
        if (config_string_opt(gm, "parent", &parent, ps->err))
            return -1;
        if (!parent)
            continue;
        e = s_index_find(&ps->p->groups, parent);
        if (!e)
            return config_error(config_get(gm, "parent"), ps->err,
                                "key 'parent': unknown group '%s'", parent);
        v[i].parent = e->item;
    }
    for (size_t i = 0; i < c->n_groups; i++) {
        const campaign_group_t *g = v[i].parent;
        for (size_t steps = 0; g && steps <= c->n_groups; steps++) {
            if (g == &v[i])
                return config_error(config_get(config_at(seq, i), "parent"), ps->err,
                                    "key 'parent': group '%s' is its own ancestor", v[i].id);
            g = g->parent;
        }
    }
    for (size_t i = 0; i < c->n_communities; i++) {
        if (!ps->p->patrol_of[i])
            return config_error(config_at(ps->communities_seq, i), ps->err,
                                "community '%s' has no patrol group (a group with kind: patrol, "
                                "community: %s)",
                                c->communities[i].id, c->communities[i].id);
    }
    return 0;
}

static int s_parse_measures(parse_t *ps, const config_node_t *cal)
{
    static const char *const keys[] = {"id", "name", "from", "to", "groups", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_measure_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, cal, "measures", false, &seq))
        return -1;
    if (!seq)
        return 0;
    if (s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->c->measures = v;
    ps->c->n_measures = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        const void **groups = NULL;
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_CODE, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) || s_date(ps, m, "from", true, &v[i].from) ||
            s_date(ps, m, "to", false, &v[i].to))
            return -1;
        v[i].line = config_line(m);
        v[i].open_ended = v[i].to == 0;
        if (v[i].open_ended)
            v[i].to = ps->c->to;
        if (s_within(ps, m, "from", v[i].from) ||
            (!v[i].open_ended && s_within(ps, m, "to", v[i].to)) ||
            s_range(ps, m, v[i].from, v[i].to))
            return -1;
        if (s_refs(ps, m, "groups", false, &ps->p->groups, 0, "group", &groups, &v[i].n_groups))
            return -1;
        v[i].groups = (const campaign_group_t *const *)groups;
        if (s_index_add(ps, &ps->p->measures, v[i].id, &v[i], 0, config_get(m, "id")))
            return -1;
    }
    return s_index_finish(ps, &ps->p->measures, "measure");
}

static int s_parse_sensitive(parse_t *ps, const config_node_t *cal)
{
    static const char *const keys[] = {"id", "name",      "date",     "from",
                                       "to", "all_hands", "invented", NULL};
    const config_node_t *seq = NULL, *m = NULL;
    campaign_sensitive_t *v = NULL;
    void *mem = NULL;
    if (s_list(ps, cal, "sensitive_dates", false, &seq))
        return -1;
    if (!seq)
        return 0;
    if (s_alloc(ps, config_len(seq), sizeof *v, &mem))
        return -1;
    v = mem;
    ps->c->sensitive = v;
    ps->c->n_sensitive = config_len(seq);
    for (size_t i = 0; i < config_len(seq); i++) {
        if (s_item(ps, seq, i, keys, &m) || s_id(ps, m, "id", ID_ENTITY, &v[i].id) ||
            s_text(ps, m, "name", true, &v[i].name) ||
            config_bool_opt(m, "all_hands", &v[i].all_hands, ps->err) ||
            config_bool_opt(m, "invented", &v[i].invented, ps->err))
            return -1;
        v[i].line = config_line(m);
        if (config_get(m, "date")) {
            if (config_get(m, "from") || config_get(m, "to"))
                return config_error(m, ps->err,
                                    "sensitive date '%s': give either 'date' or "
                                    "'from' and 'to', not both",
                                    v[i].id);
            if (s_date(ps, m, "date", true, &v[i].from) || s_within(ps, m, "date", v[i].from))
                return -1;
            v[i].to = v[i].from;
        } else {
            if (!config_get(m, "from") && !config_get(m, "to"))
                return config_error(m, ps->err,
                                    "sensitive date '%s': key 'date' (or 'from' and "
                                    "'to'): missing",
                                    v[i].id);
            if (s_date(ps, m, "from", true, &v[i].from) || s_date(ps, m, "to", true, &v[i].to) ||
                s_within(ps, m, "from", v[i].from) || s_within(ps, m, "to", v[i].to) ||
                s_range(ps, m, v[i].from, v[i].to))
                return -1;
        }
        if (s_index_add(ps, &ps->p->sensitive, v[i].id, &v[i], 0, config_get(m, "id")))
            return -1;
    }
    return s_index_finish(ps, &ps->p->sensitive, "sensitive date");
}

static int s_parse_calendar(parse_t *ps)
{
    static const char *const keys[] = {"from", "to", "measures", "sensitive_dates", NULL};
    const config_node_t *cal = NULL;
    if (config_map(ps->root, "calendar", &cal, ps->err) || config_only_keys(cal, keys, ps->err) ||
        s_date(ps, cal, "from", true, &ps->c->from) || s_date(ps, cal, "to", true, &ps->c->to) ||
        s_range(ps, cal, ps->c->from, ps->c->to))
        return -1;
    return s_parse_measures(ps, cal) || s_parse_sensitive(ps, cal) ? -1 : 0;
}

static int s_parse(parse_t *ps)
{
    /* Top-level keys: this loader's sections, then the reserved ones. */
    static const char *const keys[] = {
        "subdistrict", "campaign",   "bans",      "publicity_channels",
        "communities", "grids",      "key_areas", "people",
        "groups",      "calendar",   "rosters",   "dispatch",
        "cases",       "attendance", "scoring",   NULL};
    if (config_kind(ps->root) != CONFIG_MAP)
        return config_error(ps->root, ps->err, "expected a map at the top of a campaign file");
    if (config_only_keys(ps->root, keys, ps->err))
        return -1;
    for (size_t i = 0; i < N_RESERVED; i++)
        ps->p->sections[i] = config_get(ps->root, s_reserved[i]);
    /* Calendar bounds first: measures and sensitive dates are checked
     * against them, and groups must exist before measures refer to them,
     * so the calendar's own lists come last. */
    if (s_parse_subdistrict(ps) || s_parse_campaign_info(ps) || s_parse_bans(ps) ||
        s_parse_channels(ps) || s_parse_people(ps) || s_parse_communities(ps) ||
        s_parse_grids(ps) || s_parse_key_areas(ps) || s_finish_places(ps) || s_resolve_places(ps) ||
        s_parse_groups(ps) || s_parse_calendar(ps))
        return -1;
    return 0;
}

/* ---- public: one campaign ---------------------------------------------- */

campaign_t *campaign_load(const char *path, err_t *err)
{
    campaign_t *c = NULL, *result = NULL;
    config_t *cfg = NULL;
    parse_t ps;

    if (!path) {
        err_set(err, "campaign_load: no path");
        goto out;
    }
    cfg = config_load(path, err);
    if (!cfg)
        goto out;
    c = calloc(1, sizeof *c);
    if (!c || !(c->priv = calloc(1, sizeof *c->priv))) {
        err_set(err, "%s: out of memory", path);
        goto out;
    }
    c->priv->cfg = cfg;
    cfg = NULL; /* owned by c now */
    c->path = config_path(c->priv->cfg);
    ps = (parse_t){.c = c, .p = c->priv, .err = err, .root = config_root(c->priv->cfg)};
    if (s_parse(&ps))
        goto out;
    result = c;
    c = NULL;
out:
    campaign_destroy(&c);
    config_destroy(&cfg);
    return result;
}

void campaign_destroy(campaign_t **self_p)
{
    campaign_t *c;
    if (!self_p || !*self_p)
        return;
    c = *self_p;
    if (c->priv) {
        struct campaign_priv *p = c->priv;
        for (size_t i = 0; i < p->n_blocks; i++)
            free(p->blocks[i]);
        free(p->blocks);
        free(p->places.v);
        free(p->people.v);
        free(p->groups.v);
        free(p->bans.v);
        free(p->channels.v);
        free(p->measures.v);
        free(p->sensitive.v);
        config_destroy(&p->cfg);
        free(p);
    }
    free(c);
    *self_p = NULL;
}

const char *campaign_subdistrict(const campaign_t *c)
{
    return c ? c->subdistrict_id : NULL;
}

const config_node_t *campaign_subdistrict_node(const campaign_t *c)
{
    return c && c->priv ? c->priv->subdistrict_node : NULL;
}

static const void *s_find_place(const campaign_t *c, const char *id, int kind)
{
    const index_entry_t *e;
    if (!c || !id)
        return NULL;
    e = s_index_find(&c->priv->places, id);
    return e && e->kind == kind ? e->item : NULL;
}

const campaign_community_t *campaign_find_community(const campaign_t *c, const char *id)
{
    return s_find_place(c, id, PLACE_COMMUNITY);
}

const campaign_grid_t *campaign_find_grid(const campaign_t *c, const char *id)
{
    return s_find_place(c, id, PLACE_GRID);
}

const campaign_key_area_t *campaign_find_key_area(const campaign_t *c, const char *id)
{
    return s_find_place(c, id, PLACE_KEY_AREA);
}

const campaign_key_area_t *campaign_find_checkpoint(const campaign_t *c, const char *id)
{
    return s_find_place(c, id, PLACE_CHECKPOINT);
}

const campaign_person_t *campaign_find_person(const campaign_t *c, const char *id)
{
    const index_entry_t *e = c ? s_index_find(&c->priv->people, id) : NULL;
    return e ? e->item : NULL;
}

const campaign_group_t *campaign_find_group(const campaign_t *c, const char *id)
{
    const index_entry_t *e = c ? s_index_find(&c->priv->groups, id) : NULL;
    return e ? e->item : NULL;
}

bool campaign_has_channel(const campaign_t *c, const char *id)
{
    return c && s_index_find(&c->priv->channels, id) != NULL;
}

bool campaign_has_ban(const campaign_t *c, const char *id)
{
    return c && s_index_find(&c->priv->bans, id) != NULL;
}

const campaign_group_t *campaign_patrol_group(const campaign_t *c, const char *community_id)
{
    const campaign_community_t *cm = campaign_find_community(c, community_id);
    return cm ? c->priv->patrol_of[cm->index] : NULL;
}

const campaign_sensitive_t *campaign_sensitive_on(const campaign_t *c, int32_t yyyymmdd)
{
    if (!c || !civildate_valid(yyyymmdd))
        return NULL;
    for (size_t i = 0; i < c->n_sensitive; i++) {
        if (yyyymmdd >= c->sensitive[i].from && yyyymmdd <= c->sensitive[i].to)
            return &c->sensitive[i];
    }
    return NULL;
}

bool campaign_is_sensitive_date(const campaign_t *c, int yyyy, int mm, int dd)
{
    int32_t day = civildate_make(yyyy, mm, dd);
    if (!day)
        return false;
    return campaign_sensitive_on(c, day) != NULL;
}

const config_node_t *campaign_section(const campaign_t *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < N_RESERVED; i++) {
        if (strcmp(name, s_reserved[i]) == 0)
            return c->priv->sections[i];
    }
    return NULL;
}
