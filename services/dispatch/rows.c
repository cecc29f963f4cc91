/* rows.c - dispatch's tables as rows (see rows.h). */
#include "rows.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

static const char *const s_task_cols[DISPATCH_ROWS_TASK_COLS] = {"id",
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
/* Each column's array type (binary arrays: NULL is a NULL element). */
static const pgarray_type_t s_task_types[DISPATCH_ROWS_TASK_COLS] = {
    PGARRAY_UUID, PGARRAY_TEXT, PGARRAY_UUID, PGARRAY_TEXT, PGARRAY_TEXT,   PGARRAY_TEXT,
    PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_BOOL, PGARRAY_INT4, PGARRAY_TEXT,   PGARRAY_TEXT,
    PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_FLOAT8, PGARRAY_FLOAT8,
    PGARRAY_BOOL, PGARRAY_BOOL, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8,   PGARRAY_INT8,
    PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT4, PGARRAY_INT8, PGARRAY_INT8,   PGARRAY_INT8,
    PGARRAY_TEXT, PGARRAY_INT4, PGARRAY_INT4, PGARRAY_UUID, PGARRAY_TEXT,   PGARRAY_BOOL};

static const char *s_type_name(pgarray_type_t t)
{
    switch (t) {
    case PGARRAY_UUID:
        return "uuid";
    case PGARRAY_BOOL:
        return "bool";
    case PGARRAY_INT4:
        return "int4";
    case PGARRAY_INT8:
        return "int8";
    case PGARRAY_FLOAT8:
        return "float8";
    case PGARRAY_BYTEA:
        return "bytea";
    default:
        return "text";
    }
}

/* SQL text built piece by piece into a fixed buffer; a piece that does not
 * fit marks it too long (never written past its end). */
typedef struct sqlbuf {
    char text[8192];
    size_t len;
    bool too_long;
} sqlbuf_t;

static void s_put(sqlbuf_t *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_put(sqlbuf_t *q, const char *fmt, ...)
{
    if (q->too_long)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(q->text + q->len, sizeof q->text - q->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof q->text - q->len)
        q->too_long = true;
    else
        q->len += (size_t)n;
}

/* The task columns' names, comma-separated (then ", history"). */
static void s_columns(sqlbuf_t *q, bool with_history)
{
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        s_put(q, "%s%s", i ? ", " : "", s_task_cols[i]);
    if (with_history)
        s_put(q, ", history");
}

/* A malloc'd copy of q's text; NULL when too long (a bug) or out of memory. */
static char *s_sql(const sqlbuf_t *q)
{
    return q->too_long ? NULL : strdup(q->text);
}

char *dispatch_rows_task_upsert_sql(void)
{
    sqlbuf_t q = {.len = 0};
    s_put(&q, "INSERT INTO task (");
    s_columns(&q, true);
    s_put(&q, ") SELECT * FROM unnest(");
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        s_put(&q, "$%zu::%s[], ", i + 1, s_type_name(s_task_types[i]));
    s_put(&q, "$%d::bytea[]) ON CONFLICT (id) DO UPDATE SET ", DISPATCH_ROWS_TASK_COLS + 1);
    for (size_t i = 1; i < DISPATCH_ROWS_TASK_COLS; i++) /* every column but the id */
        s_put(&q, "%s = excluded.%s, ", s_task_cols[i], s_task_cols[i]);
    s_put(&q, "history = task.history || excluded.history, updated_at = now()");
    return s_sql(&q);
}

char *dispatch_rows_task_copy_sql(void)
{
    sqlbuf_t q = {.len = 0};
    s_put(&q, "COPY task (");
    s_columns(&q, true);
    s_put(&q, ") FROM STDIN (FORMAT binary)");
    return s_sql(&q);
}

const char *dispatch_rows_history_append_sql(void)
{
    return "UPDATE task SET history = task.history || u.history, updated_at = now()"
           " FROM unnest($1::uuid[], $2::bytea[]) AS u(id, history) WHERE task.id = u.id";
}

void dispatch_rows_task_reset(pgarray_t *cols)
{
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        pgarray_reset_as(&cols[i], s_task_types[i]);
    pgarray_reset_as(&cols[DISPATCH_ROWS_TASK_COLS], PGARRAY_BYTEA);
}

char *dispatch_rows_task_select_sql(const char *where)
{
    sqlbuf_t q = {.len = 0};
    s_put(&q, "SELECT ");
    s_columns(&q, false);
    s_put(&q, " FROM task WHERE %s", where);
    return s_sql(&q);
}

static const char *s_str_or_empty(const char *s)
{
    return s ? s : "";
}

/* A place's or unit's id, or NULL (a NULL element). */
#define S_ID(p) ((p) ? (p)->id : NULL)

/* Writes t's fields and the history to append to c[0..DISPATCH_ROWS_TASK_PARAMS):
 * column arrays, or one COPY row (every c[i] the same buffer). */
static void s_task_fields(pgarray_t *const *c, const dispatch_task_t *t, const dispatch_rules_t *r,
                          const char *history, size_t history_len)
{
    char returned[DISPATCH_MAX_RETURNS * 64 + 1] = "";
    size_t len = 0;
    for (int i = 0; i < t->returns && i < DISPATCH_MAX_RETURNS; i++)
        if (t->returned_by[i])
            len += (size_t)snprintf(returned + len, sizeof returned - len, "%s%s", len ? "," : "",
                                    t->returned_by[i]->id);
    pgarray_add_uuid(c[0], t->id, strlen(t->id));
    pgarray_add_str(c[1], r->campaign->subdistrict_id);
    pgarray_add_uuid(c[2], t->event, strlen(t->event));
    pgarray_add_str(c[3], t->kind);
    pgarray_add_str(c[4], dispatch_rules_priority_name(t->priority));
    pgarray_add_str(c[5], dispatch_task_state_name(t->state));
    pgarray_add_str(c[6], S_ID(t->holder));
    pgarray_add_str(c[7], t->route ? t->route : "default");
    pgarray_add_bool(c[8], t->held_by_fallback);
    pgarray_add_int_as(c[9], s_task_types[9], t->returns);
    pgarray_add(c[10], returned, len);
    pgarray_add_str(c[11], S_ID(t->community));
    pgarray_add_str(c[12], S_ID(t->grid));
    pgarray_add_str(c[13], S_ID(t->key_area));
    pgarray_add_str(c[14], S_ID(t->compound));
    pgarray_add_str(c[15], S_ID(t->school));
    if (t->has_geo) {
        pgarray_add_float8(c[16], t->geo.lat);
        pgarray_add_float8(c[17], t->geo.lon);
    } else {
        pgarray_add_null(c[16]);
        pgarray_add_null(c[17]);
    }
    pgarray_add_bool(c[18], t->police_liaison);
    pgarray_add_bool(c[19], t->sensitive);
    pgarray_add_int_as(c[20], s_task_types[20], t->created_ms);
    pgarray_add_int_as(c[21], s_task_types[21], t->assigned_ms);
    pgarray_add_int_as(c[22], s_task_types[22], t->acked_ms);
    pgarray_add_int_as(c[23], s_task_types[23], t->arrived_ms);
    pgarray_add_int_as(c[24], s_task_types[24], t->done_ms);
    pgarray_add_int_as(c[25], s_task_types[25], t->last_report_ms);
    pgarray_add_int_as(c[26], s_task_types[26], t->reports);
    pgarray_add_int_as(c[27], s_task_types[27], t->due_ack_ms);
    pgarray_add_int_as(c[28], s_task_types[28], t->due_arrive_ms);
    pgarray_add_int_as(c[29], s_task_types[29], t->due_resolve_ms);
    pgarray_add_str(c[30], t->esc_stage ? dispatch_task_stage_name(t->esc_stage) : NULL);
    pgarray_add_int_as(c[31], s_task_types[31], t->esc_step);
    pgarray_add_int_as(c[32], s_task_types[32], t->esc_round);
    if (t->merged_into[0])
        pgarray_add_uuid(c[33], t->merged_into, strlen(t->merged_into));
    else
        pgarray_add_null(c[33]);
    pgarray_add_str(c[34], t->outcome);
    pgarray_add_bool(c[35], dispatch_task_is_open(t));
    pgarray_add(c[36], history, history_len);
}

void dispatch_rows_task_add(pgarray_t *cols, const dispatch_task_t *t, const dispatch_rules_t *r,
                            const char *history, size_t history_len)
{
    pgarray_t *c[DISPATCH_ROWS_TASK_PARAMS];
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_PARAMS; i++)
        c[i] = &cols[i];
    s_task_fields(c, t, r, history, history_len);
}

void dispatch_rows_task_copy_row(pgarray_t *copy, const dispatch_task_t *t,
                                 const dispatch_rules_t *r, const char *history, size_t history_len)
{
    pgarray_t *c[DISPATCH_ROWS_TASK_PARAMS];
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_PARAMS; i++)
        c[i] = copy;
    pgarray_copy_row(copy, DISPATCH_ROWS_TASK_PARAMS);
    s_task_fields(c, t, r, history, history_len);
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
int dispatch_rows_task_read(const PGresult *res, int i, dispatch_rules_t *const *rules, size_t n,
                            dispatch_task_t *t, const dispatch_rules_t **rules_out, err_t *err)
{
    memset(t, 0, sizeof *t);
    const char *id = s_val(res, i, 0);
    const dispatch_rules_t *r = NULL;
    for (size_t k = 0; k < n; k++)
        if (strcmp(rules[k]->campaign->subdistrict_id, s_val(res, i, 1)) == 0)
            r = rules[k];
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
    t->stored = true;
    *rules_out = r;
    return 0;
}
