/* cache.c - open tasks in memory, their merge index and the open
 * transaction's undo log (see cache.h). */
#include "cache.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "grow.h"

#include "log.h"

#define ID_BUCKETS_MIN 4096
#define INDEX_BUCKETS 65536 /* merge index: hashed buckets, a collision only costs a scan */
#define CANDIDATES_MAX 4096 /* merge candidates copied per report */

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
    uint64_t dirty_gen;            /* == cache gen: changed in the open transaction */
    uint64_t seen;                 /* candidate collection stamp */
} entry_t;

/* What a rollback needs to put back. */
typedef struct undo {
    char id[DISPATCH_UUID_LEN + 1];
    int existed; /* 0: the task was new in this transaction */
    dispatch_task_t old;
    const dispatch_rules_t *rules;
} undo_t;

struct dispatch_cache {
    entry_t **ids; /* id hash table */
    size_t n_ids_buckets, n_entries;
    node_t *index[INDEX_BUCKETS]; /* merge index heads */
    uint64_t gen;                 /* transaction generation, from 1 */
    uint64_t stamp;               /* candidate collections so far */
    undo_t *undo;                 /* the open transaction's old values */
    size_t n_undo, cap_undo;
    entry_t **dirty; /* the entries it changed */
    size_t n_dirty, cap_dirty;
    dispatch_task_t *cands; /* candidates handed out */
    size_t cap_cands;
};

static size_t s_id_bucket(const dispatch_cache_t *s, const char *id)
{
    return (size_t)(fnv_str(FNV_OFFSET_BASIS, id) & (s->n_ids_buckets - 1));
}

static entry_t *s_find(const dispatch_cache_t *s, const char *id)
{
    for (entry_t *e = s->ids[s_id_bucket(s, id)]; e; e = e->hnext)
        if (strcmp(e->task.id, id) == 0)
            return e;
    return NULL;
}

static int s_rehash(dispatch_cache_t *s)
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
    uint64_t h = fnv_bytes(FNV_OFFSET_BASIS, &r, sizeof r);
    h = fnv_str(h, kind);
    h = fnv_bytes(h, &tag, sizeof tag);
    h = id ? fnv_str(h, id) : fnv_bytes(fnv_bytes(h, &cx, sizeof cx), &cy, sizeof cy);
    return (size_t)(h % INDEX_BUCKETS);
}

static void s_unlink(dispatch_cache_t *s, entry_t *e)
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

static void s_link_one(dispatch_cache_t *s, entry_t *e, int i, size_t bucket)
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

static void s_index(dispatch_cache_t *s, entry_t *e)
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
static void s_collect(dispatch_cache_t *s, size_t bucket, const dispatch_rules_t *r, size_t *n,
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

const dispatch_task_t *dispatch_cache_candidates(dispatch_cache_t *s, const dispatch_rules_t *r,
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

/* Puts t (of rules r) into the cache as it stands; NULL when out of memory. */
static entry_t *s_put(dispatch_cache_t *s, const dispatch_rules_t *r, const dispatch_task_t *t)
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

static void s_remove(dispatch_cache_t *s, entry_t *e)
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

dispatch_cache_t *dispatch_cache_new(void)
{
    dispatch_cache_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->gen = 1; /* entries start at 0: not changed in any transaction */
    s->n_ids_buckets = ID_BUCKETS_MIN;
    s->ids = calloc(s->n_ids_buckets, sizeof *s->ids);
    s->cap_cands = CANDIDATES_MAX;
    s->cands = malloc(s->cap_cands * sizeof *s->cands);
    if (!s->ids || !s->cands)
        dispatch_cache_destroy(&s);
    return s;
}

void dispatch_cache_clear(dispatch_cache_t *s)
{
    for (size_t i = 0; i < s->n_ids_buckets; i++) {
        for (entry_t *e = s->ids[i], *next; e; e = next) {
            next = e->hnext;
            free(e);
        }
        s->ids[i] = NULL;
    }
    memset(s->index, 0, sizeof s->index);
    s->n_entries = s->n_undo = s->n_dirty = 0;
    s->gen++;
}

void dispatch_cache_destroy(dispatch_cache_t **self_p)
{
    dispatch_cache_t *s = *self_p;
    if (!s)
        return;
    if (s->ids)
        dispatch_cache_clear(s);
    free(s->ids);
    free(s->undo);
    free(s->dirty);
    free(s->cands);
    free(s);
    *self_p = NULL;
}

const dispatch_task_t *dispatch_cache_find(const dispatch_cache_t *s, const char *id,
                                           const dispatch_rules_t **r)
{
    const entry_t *e = s_find(s, id);
    *r = e ? e->rules : NULL;
    return e ? &e->task : NULL;
}

int dispatch_cache_change(dispatch_cache_t *s, const dispatch_rules_t *r, const dispatch_task_t *t)
{
    entry_t *e = s_find(s, t->id);
    if (!e || e->dirty_gen != s->gen) {
        if (grow_array((void **)&s->undo, &s->cap_undo, s->n_undo + 1, sizeof *s->undo) != 0)
            return -1;
        undo_t *u = &s->undo[s->n_undo++];
        memcpy(u->id, t->id, sizeof u->id);
        u->existed = e != NULL;
        if (e) {
            u->old = e->task;
            u->rules = e->rules;
        }
    }
    if (grow_array((void **)&s->dirty, &s->cap_dirty, s->n_dirty + 1, sizeof *s->dirty) != 0 ||
        !(e = s_put(s, r, t)))
        return -1;
    if (e->dirty_gen != s->gen) {
        e->dirty_gen = s->gen;
        s->dirty[s->n_dirty++] = e;
    }
    return 0;
}

size_t dispatch_cache_changed_count(const dispatch_cache_t *s)
{
    return s->n_dirty;
}

const dispatch_task_t *dispatch_cache_changed(const dispatch_cache_t *s, size_t i,
                                              const dispatch_rules_t **r)
{
    *r = s->dirty[i]->rules;
    return &s->dirty[i]->task;
}

void dispatch_cache_commit(dispatch_cache_t *s)
{
    for (size_t i = 0; i < s->n_dirty; i++)
        s->dirty[i]->task.stored = true; /* written by the transaction that committed */
    for (size_t i = 0; i < s->n_dirty; i++)
        if (!dispatch_task_is_open(&s->dirty[i]->task))
            s_remove(s, s->dirty[i]);
    s->n_undo = s->n_dirty = 0;
    s->gen++;
}

void dispatch_cache_rollback(dispatch_cache_t *s)
{
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
    s->n_undo = s->n_dirty = 0;
    s->gen++;
}

const dispatch_task_t *dispatch_cache_next(const dispatch_cache_t *s, size_t *cursor,
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
