/* query.c - the task, tasks and units control ops (see query.h). */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mp.h"
#include "mpscan.h"

#define QUERY_LIMIT_DEFAULT 1000
#define QUERY_LIMIT_MAX 10000
#define UNIT_TASKS_LISTED 20

typedef struct query {
    service_t *svc;
    dispatch_store_t *store;
} query_t;

/* A map packed on the side, so its size is counted where its keys are
 * written; map_end() moves it into the reply. */
typedef struct map {
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint32_t n;
} map_t;

static void s_map_begin(map_t *m)
{
    msgpack_sbuffer_init(&m->buf);
    msgpack_packer_init(&m->pk, &m->buf, msgpack_sbuffer_write);
    m->n = 0;
}

static void s_map_end(map_t *m, msgpack_packer *out)
{
    msgpack_pack_map(out, m->n);
    out->callback(out->data, m->buf.data, m->buf.size);
    msgpack_sbuffer_destroy(&m->buf);
}

static void s_str(map_t *m, const char *key, const char *v)
{
    if (!v || !*v)
        return;
    control_pack_str(&m->pk, key);
    control_pack_str(&m->pk, v);
    m->n++;
}

static void s_int(map_t *m, const char *key, int64_t v)
{
    control_pack_str(&m->pk, key);
    msgpack_pack_int64(&m->pk, v);
    m->n++;
}

static void s_bool(map_t *m, const char *key, bool v)
{
    control_pack_str(&m->pk, key);
    if (v)
        msgpack_pack_true(&m->pk);
    else
        msgpack_pack_false(&m->pk);
    m->n++;
}

/* Which deadline has passed unmet at now (NONE: none). */
static dispatch_stage_t s_overdue(const dispatch_task_t *t, int64_t now)
{
    if (!dispatch_task_is_open(t))
        return DISPATCH_STAGE_NONE;
    if (!t->acked_ms && t->due_ack_ms && now >= t->due_ack_ms)
        return DISPATCH_STAGE_ACK;
    if (!t->arrived_ms && t->due_arrive_ms && now >= t->due_arrive_ms)
        return DISPATCH_STAGE_ARRIVE;
    if (t->due_resolve_ms && now >= t->due_resolve_ms)
        return DISPATCH_STAGE_RESOLVE;
    return DISPATCH_STAGE_NONE;
}

static void s_pack_task(msgpack_packer *pk, const dispatch_task_t *t, const dispatch_rules_t *r,
                        int64_t now, bool full)
{
    map_t m;
    s_map_begin(&m);
    s_str(&m, "id", t->id);
    s_str(&m, "subdistrict", r->campaign->subdistrict_id);
    s_str(&m, "kind", t->kind);
    s_str(&m, "priority", dispatch_rules_priority_name(t->priority));
    s_str(&m, "state", dispatch_task_state_name(t->state));
    s_str(&m, "holder", t->holder ? t->holder->id : NULL);
    s_str(&m, "community", t->community ? t->community->id : NULL);
    s_str(&m, "grid", t->grid ? t->grid->id : NULL);
    s_str(&m, "key_area", t->key_area ? t->key_area->id : NULL);
    s_int(&m, "due_ack_ms", t->due_ack_ms);
    s_int(&m, "due_arrive_ms", t->due_arrive_ms);
    s_int(&m, "due_resolve_ms", t->due_resolve_ms);
    dispatch_stage_t late = s_overdue(t, now);
    s_bool(&m, "overdue", late != DISPATCH_STAGE_NONE);
    if (late)
        s_str(&m, "overdue_stage", dispatch_task_stage_name(late));
    if (full) {
        s_str(&m, "event", t->event);
        s_str(&m, "route", t->route);
        s_bool(&m, "held_by_fallback", t->held_by_fallback);
        s_int(&m, "returns", t->returns);
        control_pack_str(&m.pk, "returned_by");
        int n = t->returns < DISPATCH_MAX_RETURNS ? t->returns : DISPATCH_MAX_RETURNS;
        msgpack_pack_array(&m.pk, (size_t)n);
        for (int i = 0; i < n; i++)
            control_pack_str(&m.pk, t->returned_by[i] ? t->returned_by[i]->id : "?");
        m.n++;
        s_str(&m, "compound", t->compound ? t->compound->id : NULL);
        s_str(&m, "school", t->school ? t->school->id : NULL);
        if (t->has_geo) {
            control_pack_str(&m.pk, "lat");
            msgpack_pack_double(&m.pk, t->geo.lat);
            control_pack_str(&m.pk, "lon");
            msgpack_pack_double(&m.pk, t->geo.lon);
            m.n += 2;
        }
        s_bool(&m, "police_liaison", t->police_liaison);
        s_bool(&m, "sensitive", t->sensitive);
        s_int(&m, "created_ms", t->created_ms);
        s_int(&m, "assigned_ms", t->assigned_ms);
        s_int(&m, "acked_ms", t->acked_ms);
        s_int(&m, "arrived_ms", t->arrived_ms);
        s_int(&m, "done_ms", t->done_ms);
        s_int(&m, "last_report_ms", t->last_report_ms);
        s_int(&m, "reports", t->reports);
        if (t->esc_stage)
            s_str(&m, "escalating", dispatch_task_stage_name(t->esc_stage));
        s_int(&m, "escalation_step", t->esc_step);
        s_int(&m, "escalation_round", t->esc_round);
        s_str(&m, "merged_into", t->merged_into);
        s_str(&m, "outcome", t->outcome);
    }
    s_map_end(&m, pk);
}

/* The stored history entries (maps, one after the other) as an array. An
 * entry that does not scan ends the history there, said in a last entry:
 * the bytes were written by this service, so that is a bug, not input. */
static void s_pack_history(msgpack_packer *pk, const char *bytes, size_t len)
{
    size_t n = 0, used = 0, at = 0;
    err_t err = {0};
    while (at < len &&
           mpscan_object(bytes + at, len - at, 0, "", "history", &used, &err) == MPSCAN_OK) {
        at += used;
        n++;
    }
    bool broken = at < len;
    msgpack_pack_array(pk, n + broken);
    pk->callback(pk->data, bytes, at);
    if (broken) {
        msgpack_pack_map(pk, 2);
        control_pack_str(pk, "type");
        control_pack_str(pk, "unreadable");
        control_pack_str(pk, "reason");
        control_pack_str(pk, err.msg);
        log_error("task history unreadable", LF_STR("error", err.msg));
    }
}

/* {"op":"task","id"} */
static void s_op_task(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    query_t *q = arg;
    err_t err;
    char id[DISPATCH_UUID_LEN + 1];
    if (mp_get_strcpy(request, "id", id, sizeof id, &err) != 0 ||
        !uuid_is_canonical(id, strlen(id))) {
        control_pack_error(pk, "E_BAD_REQUEST", "id", "field 'id': expected a task id (UUID)");
        return;
    }
    for (char *c = id; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    static dispatch_task_t t; /* large; ops run one at a time on the loop */
    const dispatch_rules_t *r = NULL;
    PGresult *res = NULL;
    db_rc_t rc = dispatch_store_read(q->store, id, &t, &r, &err);
    if (rc == DB_OK)
        rc = dispatch_store_history(q->store, id, &res, &err);
    if (rc != DB_OK) {
        control_pack_error(pk, rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_NOT_FOUND", "id", err.msg);
        return;
    }
    msgpack_pack_map(pk, 3);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "task");
    s_pack_task(pk, &t, r, service_now_ms(q->svc), true);
    control_pack_str(pk, "history");
    s_pack_history(pk, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

/* The optional string filter key of request into out ("" when absent). */
static int s_filter(const msgpack_object *request, const char *key, char *out, size_t cap,
                    msgpack_packer *pk)
{
    err_t err;
    out[0] = '\0';
    if (mp_get(request, key) && mp_get_strcpy(request, key, out, cap, &err) != 0) {
        control_pack_error(pk, "E_BAD_REQUEST", key, err.msg);
        return -1;
    }
    return 0;
}

/* {"op":"tasks","unit"?,"community"?,"subdistrict"?,"overdue"?,"limit"?} */
static void s_op_tasks(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    query_t *q = arg;
    err_t err;
    char unit[64], community[64], sub[64];
    bool overdue = false;
    int64_t limit = QUERY_LIMIT_DEFAULT;
    if (s_filter(request, "unit", unit, sizeof unit, pk) != 0 ||
        s_filter(request, "community", community, sizeof community, pk) != 0 ||
        s_filter(request, "subdistrict", sub, sizeof sub, pk) != 0)
        return;
    if ((mp_get(request, "overdue") && mp_get_bool(request, "overdue", &overdue, &err) != 0) ||
        (mp_get(request, "limit") && (mp_get_int(request, "limit", &limit, &err) != 0 ||
                                      limit < 0 || limit > QUERY_LIMIT_MAX))) {
        control_pack_error(pk, "E_BAD_REQUEST", NULL,
                           "fields 'overdue' (bool) and 'limit' (0..10000) only");
        return;
    }
    int64_t now = service_now_ms(q->svc);
    size_t matched = 0, cursor = 0;
    const dispatch_rules_t *r;
    const dispatch_task_t *t;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            msgpack_pack_map(pk, 4);
            control_pack_str(pk, "ok");
            msgpack_pack_true(pk);
            control_pack_str(pk, "count");
            msgpack_pack_uint64(pk, matched);
            control_pack_str(pk, "now_ms");
            msgpack_pack_int64(pk, now);
            control_pack_str(pk, "tasks");
            msgpack_pack_array(pk, matched < (size_t)limit ? matched : (size_t)limit);
        }
        size_t k = 0;
        for (cursor = 0; (t = dispatch_store_open_next(q->store, &cursor, &r));) {
            if ((unit[0] && (!t->holder || strcmp(t->holder->id, unit) != 0)) ||
                (community[0] && (!t->community || strcmp(t->community->id, community) != 0)) ||
                (sub[0] && strcmp(r->campaign->subdistrict_id, sub) != 0) ||
                (overdue && s_overdue(t, now) == DISPATCH_STAGE_NONE))
                continue;
            if (pass == 0)
                matched++;
            else if (k++ < (size_t)limit)
                s_pack_task(pk, t, r, now, false);
        }
    }
}

/* {"op":"units","subdistrict"?}: each unit and the open tasks it holds. */
static void s_op_units(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    query_t *q = arg;
    char sub[64];
    if (s_filter(request, "subdistrict", sub, sizeof sub, pk) != 0)
        return;
    size_t n_units = 0, n_rules = dispatch_store_rules_count(q->store);
    for (size_t i = 0; i < n_rules; i++) {
        const dispatch_rules_t *r = dispatch_store_rules_at(q->store, i);
        if (!sub[0] || strcmp(r->campaign->subdistrict_id, sub) == 0)
            n_units += r->n_units;
    }
    /* One pass over the open tasks: how many each unit holds, and the first few. */
    size_t *held = calloc(n_units + 1, sizeof *held);
    const char **listed = calloc((n_units + 1) * UNIT_TASKS_LISTED, sizeof *listed);
    if (!held || !listed) {
        control_pack_error(pk, "E_INTERNAL", NULL, "out of memory");
        goto out;
    }
    size_t cursor = 0;
    const dispatch_rules_t *tr;
    const dispatch_task_t *t;
    while ((t = dispatch_store_open_next(q->store, &cursor, &tr))) {
        size_t base = 0;
        for (size_t i = 0; i < n_rules; i++) {
            const dispatch_rules_t *r = dispatch_store_rules_at(q->store, i);
            if (sub[0] && strcmp(r->campaign->subdistrict_id, sub) != 0)
                continue;
            if (r == tr && t->holder && t->holder >= r->units &&
                t->holder < r->units + r->n_units) {
                size_t u = base + (size_t)(t->holder - r->units);
                if (held[u] < UNIT_TASKS_LISTED)
                    listed[u * UNIT_TASKS_LISTED + held[u]] = t->id;
                held[u]++;
            }
            base += r->n_units;
        }
    }
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "units");
    msgpack_pack_array(pk, n_units);
    size_t u = 0;
    for (size_t i = 0; i < n_rules; i++) {
        const dispatch_rules_t *r = dispatch_store_rules_at(q->store, i);
        if (sub[0] && strcmp(r->campaign->subdistrict_id, sub) != 0)
            continue;
        static const char *const kinds[] = {"?", "group", "squad", "post", "other"};
        for (size_t j = 0; j < r->n_units; j++, u++) {
            const dispatch_unit_t *unit = &r->units[j];
            map_t m;
            s_map_begin(&m);
            s_str(&m, "subdistrict", r->campaign->subdistrict_id);
            s_str(&m, "unit", unit->id);
            s_str(&m, "name", unit->name);
            s_str(&m, "kind", kinds[(unsigned)unit->kind < 5 ? unit->kind : 0]);
            s_str(&m, "community", unit->community ? unit->community->id : NULL);
            s_int(&m, "holds", (int64_t)held[u]);
            control_pack_str(&m.pk, "tasks");
            size_t n = held[u] < UNIT_TASKS_LISTED ? held[u] : UNIT_TASKS_LISTED;
            msgpack_pack_array(&m.pk, n);
            for (size_t k = 0; k < n; k++)
                control_pack_str(&m.pk, listed[u * UNIT_TASKS_LISTED + k]);
            m.n++;
            s_map_end(&m, pk);
        }
    }
out:
    free(held);
    free(listed);
}

int dispatch_query_register(service_t *svc, dispatch_store_t *store, err_t *err)
{
    static query_t q;
    q.svc = svc;
    q.store = store;
    if (control_add_handler(svc->control, "task", s_op_task, &q) != 0 ||
        control_add_handler(svc->control, "tasks", s_op_tasks, &q) != 0 ||
        control_add_handler(svc->control, "units", s_op_units, &q) != 0) {
        err_set(err, "control ops task/tasks/units already taken");
        return -1;
    }
    return 0;
}
