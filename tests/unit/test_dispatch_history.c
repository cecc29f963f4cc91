/* test_dispatch_history.c - a transaction's history entries per task:
 * taken in the order made, each once; tasks with entries left found in the
 * order their first was made; thousands of tasks (the map grows and links
 * its chains again); cleared between transactions; and each entry a map in
 * the shape the `task` op returns (empty fields left out). */
#include "../services/dispatch/history.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static dispatch_record_t s_rec(const char *task, dispatch_record_type_t type, int64_t at)
{
    dispatch_record_t r;
    memset(&r, 0, sizeof r);
    r.type = type;
    snprintf(r.task, sizeof r.task, "%s", task);
    r.at_ms = at;
    return r;
}

static const char *const A = "00000000-0000-4000-8000-00000000000a";
static const char *const B = "00000000-0000-4000-8000-00000000000b";

/* The maps in bytes[0..len): their "type" and "at_ms", "type@at" comma-separated. */
static void s_entries(const char *bytes, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    while (off < len && msgpack_unpack_next(&u, bytes, len, &off) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *m = &u.data;
        const char *type = "?";
        int type_len = 1;
        long long at = -1;
        for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
            const msgpack_object_kv *kv = &m->via.map.ptr[i];
            if (kv->key.via.str.size == 4 && memcmp(kv->key.via.str.ptr, "type", 4) == 0) {
                type = kv->val.via.str.ptr;
                type_len = (int)kv->val.via.str.size;
            } else if (kv->key.via.str.size == 5 && memcmp(kv->key.via.str.ptr, "at_ms", 5) == 0) {
                at = (long long)kv->val.via.u64;
            }
        }
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%.*s@%lld", used ? "," : "", type_len, type, at);
    }
    msgpack_unpacked_destroy(&u);
}

static void test_taken_per_task_in_order_once(void)
{
    dispatch_history_t *h = dispatch_history_new();
    dispatch_record_t r1 = s_rec(A, DISPATCH_REC_TASK_CREATED, 1),
                      r2 = s_rec(B, DISPATCH_REC_TASK_CREATED, 2),
                      r3 = s_rec(A, DISPATCH_REC_TASK_ACKNOWLEDGED, 3);
    CHECK(dispatch_history_add(h, &r1) == 0);
    CHECK(dispatch_history_add(h, &r2) == 0);
    CHECK(dispatch_history_add(h, &r3) == 0);
    CHECK(dispatch_history_count(h) == 3);
    char got[256];
    size_t len;
    const char *bytes = dispatch_history_take(h, A, &len);
    s_entries(bytes, len, got, sizeof got);
    CHECKF(strcmp(got, "dispatch.task_created@1,dispatch.task_acknowledged@3") == 0, "%s", got);
    dispatch_history_take(h, A, &len);
    CHECK(len == 0); /* taken once */
    size_t cursor = 0;
    const char *left = dispatch_history_next(h, &cursor);
    CHECK(left && strcmp(left, B) == 0);
    bytes = dispatch_history_take(h, B, &len);
    s_entries(bytes, len, got, sizeof got);
    CHECKF(strcmp(got, "dispatch.task_created@2") == 0, "%s", got);
    CHECK(dispatch_history_next(h, &cursor) == NULL);
    dispatch_history_take(h, "00000000-0000-4000-8000-0000000000ff", &len);
    CHECK(len == 0); /* a task without entries */
    /* Entries made after a take are taken next time. */
    dispatch_record_t r4 = s_rec(A, DISPATCH_REC_TASK_ARRIVED, 4);
    CHECK(dispatch_history_add(h, &r4) == 0);
    cursor = 0;
    left = dispatch_history_next(h, &cursor);
    CHECK(left && strcmp(left, A) == 0);
    bytes = dispatch_history_take(h, A, &len);
    s_entries(bytes, len, got, sizeof got);
    CHECKF(strcmp(got, "dispatch.task_arrived@4") == 0, "%s", got);
    dispatch_history_clear(h);
    CHECK(dispatch_history_count(h) == 0);
    cursor = 0;
    CHECK(dispatch_history_next(h, &cursor) == NULL);
    dispatch_history_take(h, A, &len);
    CHECK(len == 0);
    dispatch_history_destroy(&h);
    CHECK(h == NULL);
}

static void test_many_tasks(void)
{
    enum { TASKS = 5000 };
    dispatch_history_t *h = dispatch_history_new();
    char id[DISPATCH_UUID_LEN + 1];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < TASKS; i++) {
            snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
            dispatch_record_t r =
                s_rec(id, round ? DISPATCH_REC_TASK_ESCALATED : DISPATCH_REC_TASK_CREATED,
                      (int64_t)round * TASKS + i);
            CHECK(dispatch_history_add(h, &r) == 0);
        }
    CHECK(dispatch_history_count(h) == 2 * TASKS);
    int wrong = 0;
    char want[160], got[160];
    for (int i = TASKS - 1; i >= 0; i--) { /* any order of taking */
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        size_t len;
        const char *bytes = dispatch_history_take(h, id, &len);
        s_entries(bytes, len, got, sizeof got);
        snprintf(want, sizeof want, "dispatch.task_created@%d,dispatch.task_escalated@%d", i,
                 TASKS + i);
        wrong += strcmp(got, want) != 0;
    }
    CHECKF(wrong == 0, "%d tasks with the wrong entries", wrong);
    size_t cursor = 0;
    CHECK(dispatch_history_next(h, &cursor) == NULL);
    dispatch_history_destroy(&h);
}

static void test_entry_shape(void)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    dispatch_record_t r = s_rec(A, DISPATCH_REC_TASK_ESCALATED, 42);
    r.unit = "patrol-modou";
    r.role = "deputies";
    r.stage = DISPATCH_STAGE_ACK;
    r.step = 1;
    dispatch_history_pack(&out, &r);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&u, out.data, out.size, &off) == MSGPACK_UNPACK_SUCCESS);
    CHECK(off == out.size);
    const msgpack_object *m = &u.data;
    CHECK(m->type == MSGPACK_OBJECT_MAP);
    /* type, at_ms, unit, role, stage, step: no empty event, why, by, reason; round 0 left out */
    CHECKF(m->via.map.size == 6, "%u keys", m->via.map.size);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&out);
}

int main(void)
{
    RUN(test_taken_per_task_in_order_once);
    RUN(test_many_tasks);
    RUN(test_entry_shape);
    return check_summary();
}
