/* rows.c - dispatch's tables as rows (see rows.h). */
#include "rows.h"

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
/* How each column's text is cast ("" NULLIF'd first where the column may be NULL). */
static const char *const s_task_casts[DISPATCH_ROWS_TASK_COLS] = {
    "uuid", "text", "uuid",  "text",  "text",  "text",  "?text", "text",    "bool",
    "int4", "text", "?text", "?text", "?text", "?text", "?text", "?float8", "?float8",
    "bool", "bool", "int8",  "int8",  "int8",  "int8",  "int8",  "int8",    "int4",
    "int8", "int8", "int8",  "?text", "int4",  "int4",  "?uuid", "?text",   "bool"};
static const char *const s_hist_cols[DISPATCH_ROWS_HISTORY_COLS] = {
    "task", "type",  "at_ms", "event", "unit",    "role",
    "why",  "stage", "step",  "round", "by_unit", "reason"};
static const char *const s_hist_casts[DISPATCH_ROWS_HISTORY_COLS] = {
    "uuid", "text", "int8", "text", "text", "text", "text", "text", "int4", "int4", "text", "text"};

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

char *dispatch_rows_task_upsert_sql(void)
{
    return s_build_sql("INSERT INTO task", s_task_cols, s_task_casts, DISPATCH_ROWS_TASK_COLS,
                       " ON CONFLICT (id) DO UPDATE SET ");
}

char *dispatch_rows_history_insert_sql(void)
{
    return s_build_sql("INSERT INTO task_history", s_hist_cols, s_hist_casts,
                       DISPATCH_ROWS_HISTORY_COLS, "");
}

char *dispatch_rows_task_select_sql(const char *where)
{
    size_t cap = 2048, len = 0;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    len += (size_t)snprintf(sql + len, cap - len, "SELECT ");
    for (size_t i = 0; i < DISPATCH_ROWS_TASK_COLS; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", s_task_cols[i]);
    snprintf(sql + len, cap - len, " FROM task WHERE %s", where);
    return sql;
}

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

void dispatch_rows_task_add(pgarray_t *c, const dispatch_task_t *t, const dispatch_rules_t *r)
{
    char returned[DISPATCH_MAX_RETURNS * 64 + 1] = "", num[40];
    size_t len = 0;
    for (int i = 0; i < t->returns && i < DISPATCH_MAX_RETURNS; i++)
        if (t->returned_by[i])
            len += (size_t)snprintf(returned + len, sizeof returned - len, "%s%s", len ? "," : "",
                                    t->returned_by[i]->id);
    s_add(&c[0], t->id);
    s_add(&c[1], r->campaign->subdistrict_id);
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
    *rules_out = r;
    return 0;
}

void dispatch_rows_history_add(pgarray_t *c, const dispatch_record_t *rec)
{
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
}
