/* store.c - dispatch's persistence: the decisions of one transaction
 * applied to the cache (cache.c), buffered, and written by the flush hook
 * with one statement per table (rows.c); records emitted, timers set
 * (see store.h). No decision is taken here. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "fnv.h"
#include "grow.h"
#include "log.h"
#include "pgarray.h"
#include "rows.h"
#include "sensitive.h"
#include "uuid.h"

/* A timer set or cancelled in the open transaction. */
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
    dispatch_cache_t *cache; /* every open task */
    /* A rollback on connection db_gen_rolled_back (0: none since the last
     * commit): if that connection was lost, its COMMIT may have succeeded
     * after all (db.h), so the cache is read again from the table. */
    uint64_t db_gen_rolled_back;
    /* The open transaction: */
    timer_op_t *timers;
    size_t n_timers, cap_timers;
    pgarray_t task_cols[DISPATCH_ROWS_TASK_COLS], hist_cols[DISPATCH_ROWS_HISTORY_COLS];
    size_t n_history;
    char *upsert_sql, *history_sql, *select_open_sql, *select_one_sql;
    dispatch_task_t scratch; /* a task read from the table */
    msgpack_sbuffer body;    /* a record's body */
};

void dispatch_store_task_id(const char *event_id, const char *purpose,
                            char out[DISPATCH_UUID_LEN + 1])
{
    char cause[160];
    int n =
        snprintf(cause, sizeof cause, "dispatch task\n%s\n%s", event_id, purpose ? purpose : "");
    if (n < 0 || (size_t)n >= sizeof cause)
        n = (int)sizeof cause - 1; /* ids and purposes are short; hash what fits */
    uuid_derive(cause, (size_t)n, out);
}

static void s_add_int(pgarray_t *a, int64_t v)
{
    pgarray_add_int(a, v);
}

static void s_add(pgarray_t *a, const char *s)
{
    s = s ? s : "";
    pgarray_add(a, s, strlen(s));
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
    s->cache = dispatch_cache_new();
    s->upsert_sql = dispatch_rows_task_upsert_sql();
    s->history_sql = dispatch_rows_history_insert_sql();
    s->select_open_sql = dispatch_rows_task_select_sql("is_open");
    s->select_one_sql = dispatch_rows_task_select_sql("id = $1::uuid");
    msgpack_sbuffer_init(&s->body);
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        pgarray_reset(&s->task_cols[i]);
    for (size_t i = 0; i < DISPATCH_ROWS_HISTORY_COLS; i++)
        pgarray_reset(&s->hist_cols[i]);
    if (!s->cache || !s->upsert_sql || !s->history_sql || !s->select_open_sql || !s->select_one_sql)
        dispatch_store_destroy(&s);
    return s;
}

void dispatch_store_destroy(dispatch_store_t **self_p)
{
    dispatch_store_t *s = *self_p;
    if (!s)
        return;
    dispatch_cache_destroy(&s->cache);
    free(s->timers);
    free(s->upsert_sql);
    free(s->history_sql);
    free(s->select_open_sql);
    free(s->select_one_sql);
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        pgarray_fini(&s->task_cols[i]);
    for (size_t i = 0; i < DISPATCH_ROWS_HISTORY_COLS; i++)
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

/* Reads every open task into the (emptied) cache, on conn. */
static db_rc_t s_load(dispatch_store_t *s, PGconn *conn, err_t *err)
{
    db_rc_t rc = DB_OK;
    dispatch_cache_clear(s->cache);
    PGresult *res = PQexecParams(conn, s->select_open_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = db_failure(s->svc->db, res, err);
    for (int i = 0; rc == DB_OK && i < PQntuples(res); i++) {
        const dispatch_rules_t *r = NULL;
        if (dispatch_rows_task_read(res, i, s->rules, s->n_rules, &s->scratch, &r, err) != 0)
            rc = DB_FAILED;
        else if (dispatch_cache_change(s->cache, r, &s->scratch) != 0) {
            err_set(err, "out of memory loading open tasks");
            rc = DB_TRANSIENT;
        }
    }
    if (rc == DB_OK) {
        dispatch_cache_commit(s->cache);
        log_info("open tasks loaded", LF_INT("tasks", PQntuples(res)));
    } else {
        dispatch_cache_clear(s->cache);
    }
    PQclear(res);
    return rc;
}

db_rc_t dispatch_store_load(dispatch_store_t *s, err_t *err)
{
    PGconn *conn = db_conn(s->svc->db, err);
    return conn ? s_load(s, conn, err) : DB_TRANSIENT;
}

db_rc_t dispatch_store_sync(dispatch_store_t *s, PGconn *conn, err_t *err)
{
    if (!s->db_gen_rolled_back || s->db_gen_rolled_back == db_generation(s->svc->db))
        return DB_OK;
    log_warn("connection lost in a rollback: reading the open tasks again");
    db_rc_t rc = s_load(s, conn, err);
    if (rc == DB_OK)
        s->db_gen_rolled_back = 0; /* else the rollback that follows: next time */
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
    if ((*out = dispatch_cache_find(s->cache, id, r)))
        return DB_OK;
    /* Not open (or unknown): the table says. */
    const char *params[1] = {id};
    PGresult *res = PQexecParams(conn, s->select_one_sql, 1, NULL, params, NULL, NULL, 0);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = db_failure(s->svc->db, res, err);
    else if (PQntuples(res) == 1 &&
             dispatch_rows_task_read(res, 0, s->rules, s->n_rules, &s->scratch, r, err) == 0)
        *out = &s->scratch;
    PQclear(res);
    return rc;
}

const dispatch_task_t *dispatch_store_candidates(dispatch_store_t *s, const dispatch_rules_t *r,
                                                 const char *kind, const dispatch_location_t *loc,
                                                 size_t *n)
{
    return dispatch_cache_candidates(s->cache, r, kind, loc, n);
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
    for (size_t i = 0; i < d->n_tasks; i++)
        if (dispatch_cache_change(s->cache, r, &d->tasks[i]) != 0)
            goto oom;
    for (size_t i = 0; i < d->n_records; i++) {
        const dispatch_record_t *rec = &d->records[i];
        s_pack_record(s, rec, rec->task[0] ? s_decided(d, rec->task) : NULL);
        if (service_emit(s->svc, dispatch_record_name(rec->type), r->campaign->subdistrict_id,
                         s->body.data, s->body.size, why) != 0)
            return APPLY_FAILED;
        if (rec->task[0]) {
            dispatch_rows_history_add(s->hist_cols, rec);
            s->n_history++;
        }
    }
    if (grow_array((void **)&s->timers, &s->cap_timers, s->n_timers + d->n_timers,
                   sizeof *s->timers) != 0)
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
    const char *params[DISPATCH_ROWS_TASK_COLS];
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
        size_t b = (size_t)fnv_str(FNV_OFFSET_BASIS, op->key) & (cap - 1);
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
    size_t n = dispatch_cache_changed_count(s->cache);
    if (n > 0) {
        for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
            pgarray_reset(&s->task_cols[i]);
        for (size_t i = 0; i < n; i++) {
            const dispatch_rules_t *r = NULL;
            const dispatch_task_t *t = dispatch_cache_changed(s->cache, i, &r);
            dispatch_rows_task_add(s->task_cols, t, r);
        }
        rc = s_exec_arrays(s, conn, s->upsert_sql, s->task_cols, DISPATCH_ROWS_TASK_COLS, err);
    }
    if (rc == DB_OK && s->n_history > 0)
        rc = s_exec_arrays(s, conn, s->history_sql, s->hist_cols, DISPATCH_ROWS_HISTORY_COLS, err);
    if (rc == DB_OK && s->n_timers > 0)
        rc = s_flush_timers(s, err);
    return rc;
}

void dispatch_store_after(dispatch_store_t *s, int committed)
{
    if (committed) {
        s->db_gen_rolled_back = 0;
        dispatch_cache_commit(s->cache);
    } else {
        if (!s->db_gen_rolled_back)
            s->db_gen_rolled_back = db_generation(s->svc->db) ? db_generation(s->svc->db) : 1;
        dispatch_cache_rollback(s->cache);
    }
    s->n_timers = s->n_history = 0;
    for (size_t i = 0; i < DISPATCH_ROWS_HISTORY_COLS; i++)
        pgarray_reset(&s->hist_cols[i]);
}

/* ---- queries ------------------------------------------------------------------------ */

const dispatch_task_t *dispatch_store_open_next(const dispatch_store_t *s, size_t *cursor,
                                                const dispatch_rules_t **r)
{
    return dispatch_cache_next(s->cache, cursor, r);
}

db_rc_t dispatch_store_read(dispatch_store_t *s, const char *id, dispatch_task_t *out,
                            const dispatch_rules_t **r, err_t *err)
{
    PGconn *conn = db_conn(s->svc->db, err);
    if (!conn)
        return DB_TRANSIENT;
    const char *params[1] = {id};
    PGresult *res = PQexecParams(conn, s->select_one_sql, 1, NULL, params, NULL, NULL, 0);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(s->svc->db, res, err);
    } else if (PQntuples(res) != 1) {
        err_set(err, "unknown task %s", id);
        rc = DB_FAILED;
    } else if (dispatch_rows_task_read(res, 0, s->rules, s->n_rules, out, r, err) != 0) {
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
