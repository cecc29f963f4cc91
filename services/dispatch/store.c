/* store.c - dispatch's persistence: the open-task cache, its undo log, the
 * batch buffers and their SQL (see store.h). No decision is taken here. */
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "log.h"
#include "pgarray.h"
#include "sensitive.h"

#define ID_BUCKETS_MIN 4096
#define INDEX_BUCKETS 65536 /* merge index: hashed buckets, a collision only costs a scan */
#define CANDIDATES_MAX 4096 /* merge candidates copied per report */
#define TASK_COLS 36
#define HISTORY_COLS 12

/* One link of an open task into a merge-index bucket. */
typedef struct node {
    struct node *prev, *next;
    struct entry *owner;
    int on; /* linked now */
    size_t bucket;
} node_t;

/* A task the cache holds. */
typedef struct entry {
    dispatch_task_t task;
    const dispatch_rules_t *rules; /* its subdistrict's */
    struct entry *hnext;           /* id hash chain */
    node_t idx[4];                 /* compound, school, key area, geo cell */
    uint64_t dirty_gen;            /* == store gen: changed in the open transaction */
    uint64_t seen;                 /* candidate collection stamp */
} entry_t;

/* What a rollback needs to put back. */
typedef struct undo {
    char id[DISPATCH_UUID_LEN + 1];
    int existed; /* 0: the task was new in this transaction */
    dispatch_task_t old;
    const dispatch_rules_t *rules;
} undo_t;

typedef struct timer_op {
    char key[DISPATCH_TIMER_KEY_MAX];
    int cancel;
    dispatch_timer_kind_t kind;
    int64_t due_ms;
} timer_op_t;

struct dispatch_store {
    service_t *svc;
    dispatch_rules_t *const *rules; /* one per subdistrict (borrowed) */
    size_t n_rules;
    entry_t **ids; /* id hash table */
    size_t n_ids_buckets, n_entries;
    node_t *index[INDEX_BUCKETS]; /* merge index heads */
    uint64_t gen, stamp;
    /* A rollback on connection db_gen_rolled_back (0: none since the last
     * commit): if the connection was lost, the COMMIT may have succeeded
     * after all (db.h), so the cache is read again from the table. */
    uint64_t db_gen_rolled_back;
    /* The open transaction: */
    undo_t *undo;
    size_t n_undo, cap_undo;
    entry_t **dirty;
    size_t n_dirty, cap_dirty;
    timer_op_t *timers;
    size_t n_timers, cap_timers;
    pgarray_t task_cols[TASK_COLS], hist_cols[HISTORY_COLS];
    size_t n_history;
    char *upsert_sql, *history_sql;
    /* Scratch: */
    dispatch_task_t *cands;
    size_t cap_cands;
    dispatch_task_t scratch; /* a task read from the table */
    msgpack_sbuffer body;
};

static const char *const s_task_cols[TASK_COLS] = {"id",
                                                   "subdistrict",
                                                   "event",
                                                   "kind",
                                                   "priority",
                                                   "state",
                                                   "holder",
                                                   "route",
                                                   "held_by_fallback",
                                                   "returns",
                                                   "returned_by",
                                                   "community",
                                                   "grid",
                                                   "key_area",
                                                   "compound",
                                                   "school",
                                                   "lat",
                                                   "lon",
                                                   "police_liaison",
                                                   "sensitive",
                                                   "created_ms",
                                                   "assigned_ms",
                                                   "acked_ms",
                                                   "arrived_ms",
                                                   "done_ms",
                                                   "last_report_ms",
                                                   "reports",
                                                   "due_ack_ms",
                                                   "due_arrive_ms",
                                                   "due_resolve_ms",
                                                   "esc_stage",
                                                   "esc_step",
                                                   "esc_round",
                                                   "merged_into",
                                                   "outcome",
                                                   "is_open"};
/* How each column's text is cast ("" NULLIF'd first where the column may be NULL). */
static const char *const s_task_casts[TASK_COLS] = {
    "uuid", "text", "uuid",  "text",  "text",  "text",  "?text", "text",    "bool",
    "int4", "text", "?text", "?text", "?text", "?text", "?text", "?float8", "?float8",
    "bool", "bool", "int8",  "int8",  "int8",  "int8",  "int8",  "int8",    "int4",
    "int8", "int8", "int8",  "?text", "int4",  "int4",  "?uuid", "?text",   "bool"};
static const char *const s_hist_cols[HISTORY_COLS] = {"task", "type",  "at_ms",   "event",
                                                      "unit", "role",  "why",     "stage",
                                                      "step", "round", "by_unit", "reason"};
static const char *const s_hist_casts[HISTORY_COLS] = {
    "uuid", "text", "int8", "text", "text", "text", "text", "text", "int4", "int4", "text", "text"};

static void s_clear(dispatch_store_t *s);

/* ---- small helpers ------------------------------------------------------- */

static uint64_t s_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t s_hash_str(uint64_t h, const char *s)
{
    return s_fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

void dispatch_store_task_id(const char *event_id, const char *purpose,
                            char out[DISPATCH_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = s_hash_str(s_hash_str(14695981039346656037ull, "dispatch task"), event_id);
    a = s_hash_str(a, purpose);
    uint64_t b = s_hash_str(s_hash_str(a ^ 0x9e3779b97f4a7c15ull, event_id), purpose);
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(a >> (56 - 8 * i));
        bytes[8 + i] = (unsigned char)(b >> (56 - 8 * i));
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x80); /* version 8: custom */
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[bytes[i] >> 4];
        out[k++] = hex[bytes[i] & 15];
    }
    out[k] = '\0';
}

/* Grows *arr (elements of size) to hold at least need; -1 when out of memory. */
static int s_grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

static char *s_build_sql(const char *head, const char *const *cols, const char *const *casts,
                         size_t n, const char *tail)
{
    size_t cap = 8192, len = 0;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    len += (size_t)snprintf(sql + len, cap - len, "%s (", head);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", cols[i]);
    len += (size_t)snprintf(sql + len, cap - len, ") SELECT ");
    for (size_t i = 0; i < n; i++) {
        const char *cast = casts[i][0] == '?' ? casts[i] + 1 : casts[i];
        if (casts[i][0] == '?')
            len += (size_t)snprintf(sql + len, cap - len, "%sNULLIF(c%zu, '')::%s", i ? ", " : "",
                                    i, cast);
        else
            len += (size_t)snprintf(sql + len, cap - len, "%sc%zu::%s", i ? ", " : "", i, cast);
    }
    len += (size_t)snprintf(sql + len, cap - len, " FROM unnest(");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s$%zu::text[]", i ? ", " : "", i + 1);
    len += (size_t)snprintf(sql + len, cap - len, ") AS u(");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%sc%zu", i ? ", " : "", i);
    len += (size_t)snprintf(sql + len, cap - len, ")%s", tail);
    for (size_t i = 1; tail[0] && i < n; i++) /* ON CONFLICT: every column but the id */
        len += (size_t)snprintf(sql + len, cap - len, "%s%s = excluded.%s", i > 1 ? ", " : "",
                                cols[i], cols[i]);
    if (tail[0])
        len += (size_t)snprintf(sql + len, cap - len, ", updated_at = now()");
    if (len >= cap) {
        free(sql);
        return NULL;
    }
    return sql;
}

/* ---- the cache: ids ------------------------------------------------------- */

static size_t s_id_bucket(const dispatch_store_t *s, const char *id)
{
    return (size_t)(s_hash_str(14695981039346656037ull, id) & (s->n_ids_buckets - 1));
}

static entry_t *s_find(const dispatch_store_t *s, const char *id)
{
    for (entry_t *e = s->ids[s_id_bucket(s, id)]; e; e = e->hnext)
        if (strcmp(e->task.id, id) == 0)
            return e;
    return NULL;
}

static int s_rehash(dispatch_store_t *s)
{
    size_t n = s->n_ids_buckets * 2;
    entry_t **ids = calloc(n, sizeof *ids);
    if (!ids)
        return -1;
    entry_t **old = s->ids;
    size_t n_old = s->n_ids_buckets;
    s->ids = ids;
    s->n_ids_buckets = n;
    for (size_t i = 0; i < n_old; i++)
        for (entry_t *e = old[i], *next; e; e = next) {
            next = e->hnext;
            size_t b = s_id_bucket(s, e->task.id);
            e->hnext = ids[b];
            ids[b] = e;
        }
    free(old);
    return 0;
}

/* ---- the cache: merge index ------------------------------------------------ */

/* Cells of about the duplicate distance: two points within it are at most
 * one cell apart in latitude and ceil(1 / cos(lat)) apart in longitude. */
static double s_cell_deg(const dispatch_rules_t *r)
{
    double m = r->duplicate_distance_m > 1 ? r->duplicate_distance_m : 1;
    return m / 110000.0;
}

static size_t s_bucket(const dispatch_rules_t *r, const char *kind, int tag, const char *id,
                       int64_t cx, int64_t cy)
{
    uint64_t h = s_fnv(14695981039346656037ull, &r, sizeof r);
    h = s_hash_str(h, kind);
    h = s_fnv(h, &tag, sizeof tag);
    h = id ? s_hash_str(h, id) : s_fnv(s_fnv(h, &cx, sizeof cx), &cy, sizeof cy);
    return (size_t)(h % INDEX_BUCKETS);
}

static void s_unlink(dispatch_store_t *s, entry_t *e)
{
    for (int i = 0; i < 4; i++) {
        node_t *n = &e->idx[i];
        if (!n->on)
            continue;
        if (n->prev)
            n->prev->next = n->next;
        else
            s->index[n->bucket] = n->next;
        if (n->next)
            n->next->prev = n->prev;
        n->on = 0;
    }
}

static void s_link_one(dispatch_store_t *s, entry_t *e, int i, size_t bucket)
{
    node_t *n = &e->idx[i];
    n->owner = e;
    n->bucket = bucket;
    n->prev = NULL;
    n->next = s->index[bucket];
    if (n->next)
        n->next->prev = n;
    s->index[bucket] = n;
    n->on = 1;
}

static void s_index(dispatch_store_t *s, entry_t *e)
{
    s_unlink(s, e);
    const dispatch_task_t *t = &e->task;
    const dispatch_rules_t *r = e->rules;
    if (!dispatch_task_is_open(t) || !t->kind)
        return;
    if (t->compound)
        s_link_one(s, e, 0, s_bucket(r, t->kind, 0, t->compound->id, 0, 0));
    if (t->school)
        s_link_one(s, e, 1, s_bucket(r, t->kind, 1, t->school->id, 0, 0));
    if (t->key_area)
        s_link_one(s, e, 2, s_bucket(r, t->kind, 2, t->key_area->id, 0, 0));
    if (t->has_geo) {
        double c = s_cell_deg(r);
        s_link_one(s, e, 3,
                   s_bucket(r, t->kind, 3, NULL, (int64_t)floor(t->geo.lon / c),
                            (int64_t)floor(t->geo.lat / c)));
    }
}

/* Copies the tasks of bucket into the candidates (each entry once). */
static void s_collect(dispatch_store_t *s, size_t bucket, const dispatch_rules_t *r, size_t *n,
                      int geo_only_without)
{
    for (node_t *nd = s->index[bucket]; nd && *n < s->cap_cands; nd = nd->next) {
        entry_t *e = nd->owner;
        if (e->seen == s->stamp || e->rules != r || (geo_only_without && e->task.has_geo))
            continue;
        e->seen = s->stamp;
        s->cands[(*n)++] = e->task;
    }
}

const dispatch_task_t *dispatch_store_candidates(dispatch_store_t *s, const dispatch_rules_t *r,
                                                 const char *kind, const dispatch_location_t *loc,
                                                 size_t *n)
{
    *n = 0;
    s->stamp++;
    /* A report with a point matches tasks with a point by distance, and
     * tasks without one by the named place; a report without a point
     * matches every task by the named place. */
    int by_place_without_geo = loc->has_geo;
    if (loc->compound)
        s_collect(s, s_bucket(r, kind, 0, loc->compound->id, 0, 0), r, n, by_place_without_geo);
    if (loc->school)
        s_collect(s, s_bucket(r, kind, 1, loc->school->id, 0, 0), r, n, by_place_without_geo);
    if (loc->key_area)
        s_collect(s, s_bucket(r, kind, 2, loc->key_area->id, 0, 0), r, n, by_place_without_geo);
    if (loc->has_geo) {
        double c = s_cell_deg(r), lat = fabs(loc->geo.lat) + 0.1;
        int64_t kx = lat >= 89 ? 1000 : (int64_t)ceil(1.0 / cos(lat * M_PI / 180.0));
        int64_t cx = (int64_t)floor(loc->geo.lon / c), cy = (int64_t)floor(loc->geo.lat / c);
        for (int64_t dy = -1; dy <= 1; dy++)
            for (int64_t dx = -kx; dx <= kx; dx++)
                s_collect(s, s_bucket(r, kind, 3, NULL, cx + dx, cy + dy), r, n, 0);
    }
    if (*n == s->cap_cands)
        log_warn("merge candidates capped", LF_INT("max", (int64_t)s->cap_cands));
    return s->cands;
}

/* ---- rows <-> tasks ------------------------------------------------------------ */

static const char *s_str_or_empty(const char *s)
{
    return s ? s : "";
}

static void s_add_int(pgarray_t *a, int64_t v)
{
    pgarray_add_int(a, v);
}

static void s_add(pgarray_t *a, const char *s)
{
    s = s_str_or_empty(s);
    pgarray_add(a, s, strlen(s));
}

static void s_add_bool(pgarray_t *a, bool v)
{
    pgarray_add(a, v ? "t" : "f", 1);
}

static void s_task_row(dispatch_store_t *s, const entry_t *e)
{
    const dispatch_task_t *t = &e->task;
    pgarray_t *c = s->task_cols;
    char returned[DISPATCH_MAX_RETURNS * 64 + 1] = "", num[40];
    size_t len = 0;
    for (int i = 0; i < t->returns && i < DISPATCH_MAX_RETURNS; i++)
        if (t->returned_by[i])
            len += (size_t)snprintf(returned + len, sizeof returned - len, "%s%s", len ? "," : "",
                                    t->returned_by[i]->id);
    s_add(&c[0], t->id);
    s_add(&c[1], e->rules->campaign->subdistrict_id);
    s_add(&c[2], t->event);
    s_add(&c[3], t->kind);
    s_add(&c[4], dispatch_rules_priority_name(t->priority));
    s_add(&c[5], dispatch_task_state_name(t->state));
    s_add(&c[6], t->holder ? t->holder->id : NULL);
    s_add(&c[7], t->route ? t->route : "default");
    s_add_bool(&c[8], t->held_by_fallback);
    s_add_int(&c[9], t->returns);
    s_add(&c[10], returned);
    s_add(&c[11], t->community ? t->community->id : NULL);
    s_add(&c[12], t->grid ? t->grid->id : NULL);
    s_add(&c[13], t->key_area ? t->key_area->id : NULL);
    s_add(&c[14], t->compound ? t->compound->id : NULL);
    s_add(&c[15], t->school ? t->school->id : NULL);
    snprintf(num, sizeof num, "%.17g", t->geo.lat);
    s_add(&c[16], t->has_geo ? num : NULL);
    snprintf(num, sizeof num, "%.17g", t->geo.lon);
    s_add(&c[17], t->has_geo ? num : NULL);
    s_add_bool(&c[18], t->police_liaison);
    s_add_bool(&c[19], t->sensitive);
    s_add_int(&c[20], t->created_ms);
    s_add_int(&c[21], t->assigned_ms);
    s_add_int(&c[22], t->acked_ms);
    s_add_int(&c[23], t->arrived_ms);
    s_add_int(&c[24], t->done_ms);
    s_add_int(&c[25], t->last_report_ms);
    s_add_int(&c[26], t->reports);
    s_add_int(&c[27], t->due_ack_ms);
    s_add_int(&c[28], t->due_arrive_ms);
    s_add_int(&c[29], t->due_resolve_ms);
    s_add(&c[30], t->esc_stage ? dispatch_task_stage_name(t->esc_stage) : NULL);
    s_add_int(&c[31], t->esc_step);
    s_add_int(&c[32], t->esc_round);
    s_add(&c[33], t->merged_into);
    s_add(&c[34], t->outcome);
    s_add_bool(&c[35], dispatch_task_is_open(t));
}

/* The campaign's compound or school id (NULL when unknown). */
static const campaign_place_t *s_place(const campaign_t *c, const char *id, bool school)
{
    for (size_t i = 0; id && *id && i < c->n_grids; i++) {
        const campaign_grid_t *g = &c->grids[i];
        const campaign_place_t *v = school ? g->schools : g->compounds;
        size_t n = school ? g->n_schools : g->n_compounds;
        for (size_t j = 0; j < n; j++)
            if (strcmp(v[j].id, id) == 0)
                return &v[j];
    }
    return NULL;
}

/* The rules' own copy of a route name (tasks borrow it). */
static const char *s_route(const dispatch_rules_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_routes; i++)
        if (strcmp(r->routes[i].name, name) == 0)
            return r->routes[i].name;
    return strcmp(name, "fallback") == 0 ? "fallback" : "default";
}

static const char *s_outcome(const char *value)
{
    const catalogue_field_t *f = catalogue_field(catalogue_find("task.done"), "outcome");
    for (size_t i = 0; value && f && f->values && f->values[i]; i++)
        if (strcmp(f->values[i], value) == 0)
            return f->values[i];
    return NULL;
}

static const char *s_val(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Row i of a SELECT of s_task_cols into t with its rules; -1 with err. */
static int s_row_task(const dispatch_store_t *s, const PGresult *res, int i, dispatch_task_t *t,
                      const dispatch_rules_t **rules, err_t *err)
{
    memset(t, 0, sizeof *t);
    const char *id = s_val(res, i, 0);
    const dispatch_rules_t *r = dispatch_store_rules(s, s_val(res, i, 1));
    const dispatch_event_rule_t *er = r ? dispatch_rules_event(r, s_val(res, i, 3)) : NULL;
    if (!r || !er) {
        err_set(err, "task %s: subdistrict '%s' or kind '%s' is not in the dispatch rules", id,
                s_val(res, i, 1), s_val(res, i, 3));
        return -1;
    }
    const campaign_t *c = r->campaign;
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->event, sizeof t->event, "%s", s_val(res, i, 2));
    t->kind = er->kind;
    for (int p = DISPATCH_PRIO_LOW; p <= DISPATCH_PRIO_URGENT; p++)
        if (strcmp(dispatch_rules_priority_name((dispatch_priority_t)p), s_val(res, i, 4)) == 0)
            t->priority = (dispatch_priority_t)p;
    for (int st = DISPATCH_TASK_CREATED; st <= DISPATCH_TASK_CLOSED; st++)
        if (strcmp(dispatch_task_state_name((dispatch_state_t)st), s_val(res, i, 5)) == 0)
            t->state = (dispatch_state_t)st;
    const char *holder = s_val(res, i, 6);
    t->holder = dispatch_rules_unit(r, holder);
    if (holder && !t->holder) {
        err_set(err, "task %s: unit '%s' is not in the dispatch rules of %s", id, holder,
                c->subdistrict_id);
        return -1;
    }
    t->route = s_route(r, s_val(res, i, 7));
    t->held_by_fallback = s_val(res, i, 8)[0] == 't';
    t->returns = atoi(s_val(res, i, 9));
    char returned[DISPATCH_MAX_RETURNS * 64 + 1];
    snprintf(returned, sizeof returned, "%s", s_val(res, i, 10));
    int k = 0;
    for (char *save = NULL, *u = strtok_r(returned, ",", &save); u && k < DISPATCH_MAX_RETURNS;
         u = strtok_r(NULL, ",", &save))
        t->returned_by[k++] = dispatch_rules_unit(r, u);
    t->community = campaign_find_community(c, s_val(res, i, 11));
    t->grid = campaign_find_grid(c, s_val(res, i, 12));
    t->key_area = campaign_find_key_area(c, s_val(res, i, 13));
    t->compound = s_place(c, s_val(res, i, 14), false);
    t->school = s_place(c, s_val(res, i, 15), true);
    if (s_val(res, i, 16) && s_val(res, i, 17)) {
        t->has_geo = true;
        t->geo.lat = atof(s_val(res, i, 16));
        t->geo.lon = atof(s_val(res, i, 17));
    }
    t->police_liaison = s_val(res, i, 18)[0] == 't';
    t->sensitive = s_val(res, i, 19)[0] == 't';
    int64_t *times[] = {&t->created_ms,    &t->assigned_ms,    &t->acked_ms, &t->arrived_ms,
                        &t->done_ms,       &t->last_report_ms, NULL,         &t->due_ack_ms,
                        &t->due_arrive_ms, &t->due_resolve_ms};
    for (int j = 0; j < 10; j++)
        if (times[j])
            *times[j] = strtoll(s_val(res, i, 20 + j), NULL, 10);
    t->reports = atoi(s_val(res, i, 26));
    const char *stage = s_val(res, i, 30);
    for (int st = DISPATCH_STAGE_ACK; stage && st <= DISPATCH_STAGE_RESOLVE; st++)
        if (strcmp(dispatch_task_stage_name((dispatch_stage_t)st), stage) == 0)
            t->esc_stage = (dispatch_stage_t)st;
    t->esc_step = atoi(s_val(res, i, 31));
    t->esc_round = atoi(s_val(res, i, 32));
    snprintf(t->merged_into, sizeof t->merged_into, "%s", s_str_or_empty(s_val(res, i, 33)));
    t->outcome = s_outcome(s_val(res, i, 34));
    *rules = r;
    return 0;
}

static char *s_select_sql(const char *where)
{
    size_t cap = 2048, len = 0;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    len += (size_t)snprintf(sql + len, cap - len, "SELECT ");
    for (size_t i = 0; i < TASK_COLS; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", s_task_cols[i]);
    snprintf(sql + len, cap - len, " FROM task WHERE %s", where);
    return sql;
}

/* ---- life cycle ------------------------------------------------------------------ */

dispatch_store_t *dispatch_store_new(service_t *svc, dispatch_rules_t *const *rules, size_t n)
{
    dispatch_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->svc = svc;
    s->rules = rules;
    s->n_rules = n;
    s->gen = 1; /* entries start at 0: not changed in any transaction */
    s->n_ids_buckets = ID_BUCKETS_MIN;
    s->ids = calloc(s->n_ids_buckets, sizeof *s->ids);
    s->cap_cands = CANDIDATES_MAX;
    s->cands = malloc(s->cap_cands * sizeof *s->cands);
    s->upsert_sql = s_build_sql("INSERT INTO task", s_task_cols, s_task_casts, TASK_COLS,
                                " ON CONFLICT (id) DO UPDATE SET ");
    s->history_sql =
        s_build_sql("INSERT INTO task_history", s_hist_cols, s_hist_casts, HISTORY_COLS, "");
    msgpack_sbuffer_init(&s->body);
    for (size_t i = 0; i < TASK_COLS; i++)
        pgarray_reset(&s->task_cols[i]);
    for (size_t i = 0; i < HISTORY_COLS; i++)
        pgarray_reset(&s->hist_cols[i]);
    if (!s->ids || !s->cands || !s->upsert_sql || !s->history_sql)
        dispatch_store_destroy(&s);
    return s;
}

void dispatch_store_destroy(dispatch_store_t **self_p)
{
    dispatch_store_t *s = *self_p;
    if (!s)
        return;
    if (s->ids)
        s_clear(s);
    free(s->ids);
    free(s->undo);
    free(s->dirty);
    free(s->timers);
    free(s->cands);
    free(s->upsert_sql);
    free(s->history_sql);
    for (size_t i = 0; i < TASK_COLS; i++)
        pgarray_fini(&s->task_cols[i]);
    for (size_t i = 0; i < HISTORY_COLS; i++)
        pgarray_fini(&s->hist_cols[i]);
    msgpack_sbuffer_destroy(&s->body);
    free(s);
    *self_p = NULL;
}

const dispatch_rules_t *dispatch_store_rules(const dispatch_store_t *s, const char *subdistrict)
{
    for (size_t i = 0; subdistrict && i < s->n_rules; i++)
        if (strcmp(s->rules[i]->campaign->subdistrict_id, subdistrict) == 0)
            return s->rules[i];
    return NULL;
}

size_t dispatch_store_rules_count(const dispatch_store_t *s)
{
    return s->n_rules;
}

const dispatch_rules_t *dispatch_store_rules_at(const dispatch_store_t *s, size_t i)
{
    return i < s->n_rules ? s->rules[i] : NULL;
}

/* Puts t (of rules r) into the cache as it stands; NULL when out of memory. */
static entry_t *s_put(dispatch_store_t *s, const dispatch_rules_t *r, const dispatch_task_t *t)
{
    entry_t *e = s_find(s, t->id);
    if (!e) {
        if (s->n_entries >= s->n_ids_buckets && s_rehash(s) != 0)
            return NULL;
        if (!(e = calloc(1, sizeof *e)))
            return NULL;
        size_t b = s_id_bucket(s, t->id);
        e->hnext = s->ids[b];
        s->ids[b] = e;
        s->n_entries++;
    }
    e->task = *t;
    e->rules = r;
    s_index(s, e);
    return e;
}

static void s_remove(dispatch_store_t *s, entry_t *e)
{
    s_unlink(s, e);
    for (entry_t **p = &s->ids[s_id_bucket(s, e->task.id)]; *p; p = &(*p)->hnext)
        if (*p == e) {
            *p = e->hnext;
            break;
        }
    s->n_entries--;
    free(e);
}

/* Empties the cache (outside any transaction's changes). */
static void s_clear(dispatch_store_t *s)
{
    for (size_t i = 0; i < s->n_ids_buckets; i++) {
        for (entry_t *e = s->ids[i], *next; e; e = next) {
            next = e->hnext;
            free(e);
        }
        s->ids[i] = NULL;
    }
    memset(s->index, 0, sizeof s->index);
    s->n_entries = 0;
}

/* Reads every open task into the (empty) cache, on conn. */
static db_rc_t s_load(dispatch_store_t *s, PGconn *conn, err_t *err)
{
    db_rc_t rc = DB_TRANSIENT;
    char *sql = s_select_sql("is_open");
    PGresult *res = NULL;
    if (!sql) {
        err_set(err, "out of memory");
        goto out;
    }
    res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(s->svc->db, res, err);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const dispatch_rules_t *r = NULL;
        if (s_row_task(s, res, i, &s->scratch, &r, err) != 0) {
            rc = DB_FAILED;
            goto out;
        }
        if (!s_put(s, r, &s->scratch)) {
            err_set(err, "out of memory loading open tasks");
            goto out;
        }
    }
    log_info("open tasks loaded", LF_INT("tasks", PQntuples(res)));
    rc = DB_OK;
out:
    PQclear(res);
    free(sql);
    return rc;
}

db_rc_t dispatch_store_load(dispatch_store_t *s, err_t *err)
{
    PGconn *conn = db_conn(s->svc->db, err);
    if (!conn)
        return DB_TRANSIENT;
    s_clear(s);
    db_rc_t rc = s_load(s, conn, err);
    if (rc != DB_OK)
        s_clear(s);
    return rc;
}

db_rc_t dispatch_store_sync(dispatch_store_t *s, PGconn *conn, err_t *err)
{
    if (!s->db_gen_rolled_back || s->db_gen_rolled_back == db_generation(s->svc->db))
        return DB_OK;
    log_warn("connection lost in a rollback: reading the open tasks again");
    s_clear(s);
    db_rc_t rc = s_load(s, conn, err);
    if (rc != DB_OK)
        s_clear(s); /* the rollback that follows leaves db_gen_rolled_back set: next time */
    else
        s->db_gen_rolled_back = 0;
    return rc;
}

db_rc_t dispatch_store_arm(dispatch_store_t *s, int64_t now_ms, err_t *err)
{
    PGconn *conn = NULL;
    db_rc_t rc = db_tx_begin(s->svc->db, &conn, err);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < s->n_rules; i++) {
        dispatch_decision_t d;
        dispatch_decision_init(&d);
        dispatch_sensitive_arm(s->rules[i], now_ms, &d);
        for (size_t j = 0; j < d.n_timers; j++) {
            const char *key[1] = {d.timers[j].key};
            PGresult *res = PQexecParams(conn, "SELECT 1 FROM timer WHERE key = $1", 1, NULL, key,
                                         NULL, NULL, 0);
            int ok = PQresultStatus(res) == PGRES_TUPLES_OK, set = ok && PQntuples(res) > 0;
            if (!ok)
                rc = db_failure(s->svc->db, res, err);
            PQclear(res);
            if (ok && !set)
                rc = service_timer_set(s->svc, d.timers[j].key,
                                       dispatch_timer_name(d.timers[j].kind), d.timers[j].due_ms,
                                       NULL, 0, err);
            if (rc != DB_OK)
                goto out;
        }
    }
    rc = db_tx_commit(s->svc->db, err);
out:
    db_tx_rollback(s->svc->db);
    return rc;
}

/* ---- inside the transaction --------------------------------------------------------- */

db_rc_t dispatch_store_task(dispatch_store_t *s, PGconn *conn, const char *id,
                            const dispatch_task_t **out, const dispatch_rules_t **r, err_t *err)
{
    *out = NULL;
    *r = NULL;
    entry_t *e = s_find(s, id);
    if (e) {
        *out = &e->task;
        *r = e->rules;
        return DB_OK;
    }
    /* Not open (or unknown): the table says. */
    char *sql = s_select_sql("id = $1::uuid");
    if (!sql) {
        err_set(err, "out of memory");
        return DB_TRANSIENT;
    }
    const char *params[1] = {id};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    free(sql);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = db_failure(s->svc->db, res, err);
    else if (PQntuples(res) == 1 && s_row_task(s, res, 0, &s->scratch, r, err) == 0)
        *out = &s->scratch;
    PQclear(res);
    return rc;
}

/* The task of id among d's, or NULL. */
static const dispatch_task_t *s_decided(const dispatch_decision_t *d, const char *id)
{
    for (size_t i = 0; i < d->n_tasks; i++)
        if (strcmp(d->tasks[i].id, id) == 0)
            return &d->tasks[i];
    return NULL;
}

/* One key of a record body: a string (s) or an integer. */
typedef struct kv {
    const char *key;
    const char *s;
    int64_t i;
    int is_int;
} kv_t;

static void s_kv_str(kv_t *kv, size_t *n, const char *key, const char *s)
{
    if (s && *s)
        kv[(*n)++] = (kv_t){key, s, 0, 0};
}

static void s_kv_int(kv_t *kv, size_t *n, const char *key, int64_t v)
{
    kv[(*n)++] = (kv_t){key, NULL, v, 1};
}

/* The record's body (msgpack map) in s->body: its non-empty fields, and
 * for a new holder the task's kind, priority, place and deadlines. */
static void s_pack_record(dispatch_store_t *s, const dispatch_record_t *rec,
                          const dispatch_task_t *t)
{
    kv_t kv[32];
    size_t n = 0;
    s_kv_str(kv, &n, "task", rec->task);
    s_kv_str(kv, &n, "event", rec->event);
    s_kv_str(kv, &n, "unit", rec->unit);
    s_kv_str(kv, &n, "role", rec->role);
    s_kv_str(kv, &n, "why", rec->why);
    if (rec->stage)
        s_kv_str(kv, &n, "stage", dispatch_task_stage_name(rec->stage));
    if (rec->step)
        s_kv_int(kv, &n, "step", rec->step);
    if (rec->type == DISPATCH_REC_TASK_ESCALATED)
        s_kv_int(kv, &n, "round", rec->round);
    s_kv_int(kv, &n, "at", rec->at_ms);
    s_kv_str(kv, &n, "date", rec->sensitive_id);
    s_kv_str(kv, &n, "by", rec->by);
    s_kv_str(kv, &n, "reason", rec->reason);
    if (t && (rec->type == DISPATCH_REC_TASK_CREATED || rec->type == DISPATCH_REC_TASK_ASSIGNED)) {
        s_kv_str(kv, &n, "kind", t->kind);
        s_kv_str(kv, &n, "priority", dispatch_rules_priority_name(t->priority));
        s_kv_str(kv, &n, "community", t->community ? t->community->id : NULL);
        s_kv_str(kv, &n, "grid", t->grid ? t->grid->id : NULL);
        s_kv_str(kv, &n, "key_area", t->key_area ? t->key_area->id : NULL);
        s_kv_int(kv, &n, "due_ack", t->due_ack_ms);
        s_kv_int(kv, &n, "due_arrive", t->due_arrive_ms);
        s_kv_int(kv, &n, "due_resolve", t->due_resolve_ms);
        if (t->police_liaison)
            s_kv_str(kv, &n, "police_liaison", "yes");
        if (t->sensitive)
            s_kv_str(kv, &n, "sensitive", "yes");
    }
    msgpack_packer pk;
    msgpack_sbuffer_clear(&s->body);
    msgpack_packer_init(&pk, &s->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str_with_body(&pk, kv[i].key, strlen(kv[i].key));
        if (kv[i].is_int)
            msgpack_pack_int64(&pk, kv[i].i);
        else
            msgpack_pack_str_with_body(&pk, kv[i].s, strlen(kv[i].s));
    }
}

static void s_history_row(dispatch_store_t *s, const dispatch_record_t *rec)
{
    pgarray_t *c = s->hist_cols;
    s_add(&c[0], rec->task);
    s_add(&c[1], dispatch_record_name(rec->type));
    s_add_int(&c[2], rec->at_ms);
    s_add(&c[3], rec->event);
    s_add(&c[4], rec->unit);
    s_add(&c[5], rec->role);
    s_add(&c[6], rec->why);
    s_add(&c[7], rec->stage ? dispatch_task_stage_name(rec->stage) : NULL);
    s_add_int(&c[8], rec->step);
    s_add_int(&c[9], rec->round);
    s_add(&c[10], rec->by);
    s_add(&c[11], rec->reason);
    s->n_history++;
}

consumer_apply_rc_t dispatch_store_apply(dispatch_store_t *s, const dispatch_rules_t *r,
                                         const dispatch_decision_t *d, err_t *why)
{
    if (d->overflow) {
        err_set(why,
                "dispatch decision overflow (a bug): more than %d tasks, %d records or %d"
                " timers",
                DISPATCH_MAX_TASKS, DISPATCH_MAX_RECORDS, DISPATCH_MAX_TIMERS);
        return APPLY_REJECT;
    }
    for (size_t i = 0; i < d->n_tasks; i++) {
        const dispatch_task_t *t = &d->tasks[i];
        entry_t *e = s_find(s, t->id);
        if ((!e || e->dirty_gen != s->gen) &&
            s_grow((void **)&s->undo, &s->cap_undo, s->n_undo + 1, sizeof *s->undo) != 0)
            goto oom;
        if (!e || e->dirty_gen != s->gen) {
            undo_t *u = &s->undo[s->n_undo++];
            snprintf(u->id, sizeof u->id, "%s", t->id);
            u->existed = e != NULL;
            if (e) {
                u->old = e->task;
                u->rules = e->rules;
            }
        }
        if (s_grow((void **)&s->dirty, &s->cap_dirty, s->n_dirty + 1, sizeof *s->dirty) != 0 ||
            !(e = s_put(s, r, t)))
            goto oom;
        if (e->dirty_gen != s->gen) {
            e->dirty_gen = s->gen;
            s->dirty[s->n_dirty++] = e;
        }
    }
    for (size_t i = 0; i < d->n_records; i++) {
        const dispatch_record_t *rec = &d->records[i];
        s_pack_record(s, rec, rec->task[0] ? s_decided(d, rec->task) : NULL);
        if (service_emit(s->svc, dispatch_record_name(rec->type), r->campaign->subdistrict_id,
                         s->body.data, s->body.size, why) != 0)
            return APPLY_FAILED;
        if (rec->task[0])
            s_history_row(s, rec);
    }
    if (s_grow((void **)&s->timers, &s->cap_timers, s->n_timers + d->n_timers, sizeof *s->timers) !=
        0)
        goto oom;
    for (size_t i = 0; i < d->n_timers; i++) {
        timer_op_t *op = &s->timers[s->n_timers++];
        snprintf(op->key, sizeof op->key, "%s", d->timers[i].key);
        op->cancel = d->timers[i].cancel;
        op->kind = d->timers[i].kind;
        op->due_ms = d->timers[i].due_ms;
    }
    return APPLY_OK;
oom:
    err_set(why, "out of memory applying a decision");
    return APPLY_FAILED;
}

static db_rc_t s_exec_arrays(dispatch_store_t *s, PGconn *conn, const char *sql, pgarray_t *cols,
                             size_t n, err_t *err)
{
    const char *params[TASK_COLS];
    for (size_t i = 0; i < n; i++)
        if (!(params[i] = pgarray_finish(&cols[i]))) {
            err_set(err, "out of memory for the batch's rows");
            return DB_TRANSIENT;
        }
    PGresult *res = PQexecParams(conn, sql, (int)n, NULL, params, NULL, NULL, 0);
    db_rc_t rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : db_failure(s->svc->db, res, err);
    PQclear(res);
    return rc;
}

/* The timers: the last operation on each key wins; sets and cancels are
 * one statement each. */
static db_rc_t s_flush_timers(dispatch_store_t *s, err_t *err)
{
    db_rc_t rc = DB_OK;
    size_t cap = 16;
    while (cap < s->n_timers * 2)
        cap *= 2;
    const timer_op_t **seen = calloc(cap, sizeof *seen);
    pgarray_t keys = PGARRAY_INIT, kinds = PGARRAY_INIT, dues = PGARRAY_INIT, gone = PGARRAY_INIT;
    if (!seen) {
        err_set(err, "out of memory for the batch's timers");
        return DB_TRANSIENT;
    }
    pgarray_reset(&keys);
    pgarray_reset(&kinds);
    pgarray_reset(&dues);
    pgarray_reset(&gone);
    for (size_t i = s->n_timers; i-- > 0;) {
        const timer_op_t *op = &s->timers[i];
        size_t b = (size_t)s_hash_str(14695981039346656037ull, op->key) & (cap - 1);
        while (seen[b] && strcmp(seen[b]->key, op->key) != 0)
            b = (b + 1) & (cap - 1);
        if (seen[b])
            continue; /* a later operation on the key decides */
        seen[b] = op;
        if (op->cancel) {
            s_add(&gone, op->key);
        } else {
            s_add(&keys, op->key);
            s_add(&kinds, dispatch_timer_name(op->kind));
            s_add_int(&dues, op->due_ms);
        }
    }
    const char *k = pgarray_finish(&keys), *ki = pgarray_finish(&kinds),
               *du = pgarray_finish(&dues), *g = pgarray_finish(&gone);
    if (!k || !ki || !du || !g) {
        err_set(err, "out of memory for the batch's timers");
        rc = DB_TRANSIENT;
    }
    if (rc == DB_OK && gone.n > 0)
        rc = service_timer_cancel_many(s->svc, g, err);
    if (rc == DB_OK && keys.n > 0)
        rc = service_timer_set_many(s->svc, k, ki, du, err);
    free(seen);
    pgarray_fini(&keys);
    pgarray_fini(&kinds);
    pgarray_fini(&dues);
    pgarray_fini(&gone);
    return rc;
}

db_rc_t dispatch_store_flush(dispatch_store_t *s, PGconn *conn, err_t *err)
{
    db_rc_t rc = DB_OK;
    if (s->n_dirty > 0) {
        for (size_t i = 0; i < TASK_COLS; i++)
            pgarray_reset(&s->task_cols[i]);
        for (size_t i = 0; i < s->n_dirty; i++)
            s_task_row(s, s->dirty[i]);
        rc = s_exec_arrays(s, conn, s->upsert_sql, s->task_cols, TASK_COLS, err);
    }
    if (rc == DB_OK && s->n_history > 0)
        rc = s_exec_arrays(s, conn, s->history_sql, s->hist_cols, HISTORY_COLS, err);
    if (rc == DB_OK && s->n_timers > 0)
        rc = s_flush_timers(s, err);
    return rc;
}

void dispatch_store_after(dispatch_store_t *s, int committed)
{
    if (committed) {
        s->db_gen_rolled_back = 0;
        for (size_t i = 0; i < s->n_dirty; i++)
            if (!dispatch_task_is_open(&s->dirty[i]->task))
                s_remove(s, s->dirty[i]);
    } else {
        uint64_t gen = db_generation(s->svc->db);
        if (!s->db_gen_rolled_back)
            s->db_gen_rolled_back = gen ? gen : 1;
        for (size_t i = s->n_undo; i-- > 0;) {
            const undo_t *u = &s->undo[i];
            entry_t *e = s_find(s, u->id);
            if (!e)
                continue;
            if (u->existed) {
                e->task = u->old;
                e->rules = u->rules;
                s_index(s, e);
            } else {
                s_remove(s, e);
            }
        }
    }
    s->n_undo = s->n_dirty = s->n_timers = s->n_history = 0;
    for (size_t i = 0; i < HISTORY_COLS; i++)
        pgarray_reset(&s->hist_cols[i]);
    s->gen++;
}

/* ---- queries ------------------------------------------------------------------------ */

const dispatch_task_t *dispatch_store_open_next(const dispatch_store_t *s, size_t *cursor,
                                                const dispatch_rules_t **r)
{
    /* cursor: bucket index * 2^20 + position in its chain. */
    for (size_t b = *cursor >> 20, pos = *cursor & 0xfffff; b < s->n_ids_buckets; b++, pos = 0) {
        size_t k = 0;
        for (const entry_t *e = s->ids[b]; e; e = e->hnext, k++)
            if (k == pos) {
                *cursor = (b << 20) | (pos + 1);
                *r = e->rules;
                return &e->task;
            }
    }
    return NULL;
}

db_rc_t dispatch_store_read(dispatch_store_t *s, const char *id, dispatch_task_t *out,
                            const dispatch_rules_t **r, err_t *err)
{
    PGconn *conn = db_conn(s->svc->db, err);
    if (!conn)
        return DB_TRANSIENT;
    char *sql = s_select_sql("id = $1::uuid");
    if (!sql) {
        err_set(err, "out of memory");
        return DB_TRANSIENT;
    }
    const char *params[1] = {id};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    free(sql);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = db_failure(s->svc->db, res, err);
    else if (PQntuples(res) != 1 || s_row_task(s, res, 0, out, r, err) != 0) {
        if (PQntuples(res) != 1)
            err_set(err, "unknown task %s", id);
        rc = DB_FAILED;
    }
    PQclear(res);
    return rc;
}

db_rc_t dispatch_store_history(dispatch_store_t *s, const char *id, PGresult **res, err_t *err)
{
    PGconn *conn = db_conn(s->svc->db, err);
    if (!conn)
        return DB_TRANSIENT;
    const char *params[1] = {id};
    *res = PQexecParams(conn,
                        "SELECT type, at_ms, event, unit, role, why, stage, step, round, by_unit,"
                        " reason FROM task_history WHERE task = $1::uuid ORDER BY id",
                        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(*res) == PGRES_TUPLES_OK)
        return DB_OK;
    db_rc_t rc = db_failure(s->svc->db, *res, err);
    PQclear(*res);
    *res = NULL;
    return rc;
}
