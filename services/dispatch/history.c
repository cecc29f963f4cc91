/* history.c - a transaction's history entries, per task (see history.h).
 * Entries sit in one buffer in the order made; a task's entries form a
 * chain whose ends a hash slot holds, so taking a task's entries costs its
 * own entries, not a search of the batch's. */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "grow.h"
#include "mp.h"

/* Bytes [off, off + len) of the buffer, about task; indices are plus one
 * (0: none). */
typedef struct entry {
    char task[DISPATCH_UUID_LEN + 1];
    size_t off, len;
    size_t next; /* the task's next entry */
    int taken;
} entry_t;

typedef struct slot {
    size_t first, last; /* first 0: a free slot */
} slot_t;

struct dispatch_history {
    entry_t *entries;
    size_t n, cap;
    slot_t *map; /* open addressing, a power of two, at most half full */
    size_t cap_map;
    msgpack_sbuffer bytes; /* the entries */
    msgpack_sbuffer one;   /* one task's, taken */
};

dispatch_history_t *dispatch_history_new(void)
{
    dispatch_history_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    msgpack_sbuffer_init(&h->bytes);
    msgpack_sbuffer_init(&h->one);
    return h;
}

void dispatch_history_destroy(dispatch_history_t **self_p)
{
    dispatch_history_t *h = *self_p;
    if (!h)
        return;
    free(h->entries);
    free(h->map);
    msgpack_sbuffer_destroy(&h->bytes);
    msgpack_sbuffer_destroy(&h->one);
    free(h);
    *self_p = NULL;
}

/* The slot of task: its chain's, or the free one to take. */
static slot_t *s_slot(const dispatch_history_t *h, const char *task)
{
    size_t mask = h->cap_map - 1, b = (size_t)fnv_str(FNV_OFFSET_BASIS, task) & mask;
    while (h->map[b].first && strcmp(h->entries[h->map[b].first - 1].task, task) != 0)
        b = (b + 1) & mask;
    return &h->map[b];
}

/* Links entry i at the end of its task's chain. */
static void s_link(dispatch_history_t *h, size_t i)
{
    slot_t *slot = s_slot(h, h->entries[i].task);
    h->entries[i].next = 0;
    if (slot->first)
        h->entries[slot->last - 1].next = i + 1;
    else
        slot->first = i + 1;
    slot->last = i + 1;
}

/* Keeps the map at most half full for n entries: grown, every entry linked
 * again. */
static int s_fit(dispatch_history_t *h, size_t n)
{
    if (n * 2 <= h->cap_map)
        return 0;
    size_t cap = h->cap_map ? h->cap_map * 2 : 1024;
    while (n * 2 > cap)
        cap *= 2;
    slot_t *map = calloc(cap, sizeof *map);
    if (!map)
        return -1;
    free(h->map);
    h->map = map;
    h->cap_map = cap;
    for (size_t i = 0; i < h->n; i++)
        s_link(h, i);
    return 0;
}

int dispatch_history_add(dispatch_history_t *h, const dispatch_record_t *rec)
{
    if (grow_array((void **)&h->entries, &h->cap, h->n + 1, sizeof *h->entries) != 0 ||
        s_fit(h, h->n + 1) != 0)
        return -1;
    entry_t *e = &h->entries[h->n];
    size_t before = h->bytes.size;
    dispatch_history_pack(&h->bytes, rec);
    memcpy(e->task, rec->task, sizeof e->task);
    e->off = before;
    e->len = h->bytes.size - before;
    e->taken = 0;
    s_link(h, h->n++);
    return 0;
}

size_t dispatch_history_count(const dispatch_history_t *h)
{
    return h->n;
}

const char *dispatch_history_take(dispatch_history_t *h, const char *task, size_t *len)
{
    msgpack_sbuffer_clear(&h->one);
    for (size_t i = h->n ? s_slot(h, task)->first : 0; i; i = h->entries[i - 1].next) {
        entry_t *e = &h->entries[i - 1];
        if (!e->taken)
            msgpack_sbuffer_write(&h->one, h->bytes.data + e->off, e->len);
        e->taken = 1;
    }
    *len = h->one.size;
    return h->one.data;
}

const char *dispatch_history_next(const dispatch_history_t *h, size_t *cursor)
{
    for (; *cursor < h->n; (*cursor)++)
        if (!h->entries[*cursor].taken)
            return h->entries[*cursor].task;
    return NULL;
}

void dispatch_history_clear(dispatch_history_t *h)
{
    if (h->n > 0)
        memset(h->map, 0, h->cap_map * sizeof *h->map);
    h->n = 0;
    msgpack_sbuffer_clear(&h->bytes);
}

void dispatch_history_pack(msgpack_sbuffer *out, const dispatch_record_t *rec)
{
    mp_map_t m = MP_MAP_INIT;
    mp_map_str(&m, "type", dispatch_record_name(rec->type));
    mp_map_int(&m, "at_ms", rec->at_ms);
    mp_map_str(&m, "event", rec->event);
    mp_map_str(&m, "unit", rec->unit);
    mp_map_str(&m, "role", rec->role);
    mp_map_str(&m, "why", rec->why);
    mp_map_str(&m, "stage", rec->stage ? dispatch_task_stage_name(rec->stage) : NULL);
    if (rec->step)
        mp_map_int(&m, "step", rec->step);
    if (rec->round)
        mp_map_int(&m, "round", rec->round);
    mp_map_str(&m, "by", rec->by);
    mp_map_str(&m, "reason", rec->reason);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    mp_map_pack(&m, &pk);
}
