/* main.c - the dispatch service: wiring only.
 *
 *   airguard-dispatch [--config PATH]          the service
 *   airguard-dispatch --check-rules FILE...    checks campaign files' rules
 *
 * Follows the intake streams listed under `follow:`; each event is read
 * (input.c), decided by the pure functions (report.c, response.c) against
 * the state the store (store.c) holds, and the decision applied by the
 * store in the skeleton's transaction; fired timers go to escalation.c and
 * sensitive.c the same way. Records go to the stream
 * "dispatch.<instance>". Queries: query.c. docs/dispatch.md has it all.
 *
 * Configuration: the keys of service.h, plus
 *   dispatch:
 *     campaigns: seeds     # AIRGUARD_CAMPAIGNS_DIR: one campaign file per
 *                          # subdistrict, each with its dispatch: section */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "campaignset.h"
#include "escalation.h"
#include "input.h"
#include "log.h"
#include "query.h"
#include "sensitive.h"
#include "service.h"
#include "store.h"

DB_DECLARE_MIGRATIONS(dispatch);

typedef struct dispatch {
    service_t svc;            /* config, loop, db, control, producer, consumer */
    campaignset_t *campaigns; /* every subdistrict we dispatch for */
    dispatch_rules_t **rules; /* their rules, one per campaign */
    size_t n_rules;
    dispatch_store_t *store; /* open tasks, buffers, SQL */
    dispatch_decision_t d;   /* the decision being applied (large: not on the stack) */
} dispatch_t;

static consumer_apply_rc_t s_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                   const stream_record_t *rec, const envelope_t *env, err_t *why)
{
    (void)db, (void)stream, (void)rec;
    dispatch_t *self = arg;
    const dispatch_rules_t *r = dispatch_store_rules(self->store, env->subdistrict);
    dispatch_input_t in;
    db_rc_t rc = dispatch_store_sync(self->store, conn, why);
    if (rc != DB_OK)
        return rc == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
    if (!r) {
        err_set(why, "no dispatch rules for subdistrict '%s'", env->subdistrict);
        return APPLY_REJECT;
    }
    if (dispatch_input_read(r, env, &in, why) != 0)
        return APPLY_REJECT;
    int64_t now = service_now_ms(&self->svc);
    char id[DISPATCH_UUID_LEN + 1];
    size_t n = 0;
    const dispatch_task_t *open = NULL, *task = NULL;
    dispatch_location_t loc;
    dispatch_decision_init(&self->d);
    if (in.what == DISPATCH_INPUT_REPORT) {
        dispatch_routing_locate(r, &in.report.place, &loc);
        open = dispatch_store_candidates(self->store, r, in.report.kind, &loc, &n);
        dispatch_store_task_id(env->id, "report", id);
        dispatch_report_decide(r, &in.report, open, n, id, now, &self->d);
    } else if (in.what == DISPATCH_INPUT_RESPONSE) {
        const dispatch_rules_t *tr = NULL;
        rc = dispatch_store_task(self->store, conn, in.response.task, &task, &tr, why);
        if (rc != DB_OK)
            return rc == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
        if (task && tr != r)
            task = NULL; /* another subdistrict's task: unknown here */
        if (task) {
            dispatch_assign_location_of(task, &loc);
            open = dispatch_store_candidates(self->store, r, task->kind, &loc, &n);
        }
        dispatch_store_task_id(env->id, "follow-up", id);
        dispatch_response_decide(r, task, &in.response, open, n, id, now, &self->d);
    }
    return dispatch_store_apply(self->store, r, &self->d, why);
}

static consumer_apply_rc_t s_fire(void *arg, db_t *db, PGconn *conn, const timer_row_t *t,
                                  err_t *why)
{
    (void)db;
    dispatch_t *self = arg;
    int64_t now = service_now_ms(&self->svc);
    const dispatch_rules_t *r = NULL;
    const char *slash = strchr(t->key, '/');
    db_rc_t rc = dispatch_store_sync(self->store, conn, why);
    if (rc != DB_OK)
        return rc == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
    dispatch_decision_init(&self->d);
    if (strcmp(t->kind, dispatch_timer_name(DISPATCH_TIMER_SENSITIVE)) == 0) {
        if (!slash || !(r = dispatch_store_rules(self->store, slash + 1))) {
            err_set(why, "timer %s: no dispatch rules for its subdistrict", t->key);
            return APPLY_REJECT;
        }
        dispatch_sensitive_on_timer(r, t->due_ms, now, &self->d);
        return dispatch_store_apply(self->store, r, &self->d, why);
    }
    dispatch_timer_kind_t kind = 0;
    for (int k = DISPATCH_TIMER_ACK; k <= DISPATCH_TIMER_ESCALATE; k++)
        if (strcmp(t->kind, dispatch_timer_name((dispatch_timer_kind_t)k)) == 0)
            kind = (dispatch_timer_kind_t)k;
    char id[DISPATCH_UUID_LEN + 1];
    if (!kind || !slash || slash - t->key != DISPATCH_UUID_LEN) {
        err_set(why, "timer %s: kind '%s' is not a dispatch timer", t->key, t->kind);
        return APPLY_REJECT;
    }
    snprintf(id, sizeof id, "%.*s", DISPATCH_UUID_LEN, t->key);
    const dispatch_task_t *task = NULL;
    rc = dispatch_store_task(self->store, conn, id, &task, &r, why);
    if (rc != DB_OK)
        return rc == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
    if (!task)
        return APPLY_OK; /* nothing left to escalate */
    dispatch_task_t copy = *task;
    dispatch_escalation_on_timer(r, &copy, kind, now, &self->d);
    return dispatch_store_apply(self->store, r, &self->d, why);
}

static db_rc_t s_flush(void *arg, db_t *db, PGconn *conn, err_t *err)
{
    (void)db;
    return dispatch_store_flush(((dispatch_t *)arg)->store, conn, err);
}

static void s_on_commit(void *arg, int committed)
{
    dispatch_store_after(((dispatch_t *)arg)->store, committed);
}

/* The campaigns and their rules; an error names file and line. */
static int s_load_rules(dispatch_t *self, err_t *err)
{
    const config_node_t *own = NULL;
    const char *dir = "seeds", *env = getenv("AIRGUARD_CAMPAIGNS_DIR");
    static const char *const keys[] = {"campaigns", NULL};
    const config_node_t *root = config_root(self->svc.config);
    if (config_get(root, "dispatch") &&
        (config_map(root, "dispatch", &own, err) != 0 || config_only_keys(own, keys, err) != 0 ||
         config_string_opt(own, "campaigns", &dir, err) != 0))
        return -1;
    if (env && *env)
        dir = env;
    if (!(self->campaigns = campaignset_load_dir(dir, err)))
        return -1;
    size_t n = campaignset_count(self->campaigns);
    if (!(self->rules = calloc(n, sizeof *self->rules))) {
        err_set(err, "out of memory");
        return -1;
    }
    for (; self->n_rules < n; self->n_rules++)
        if (!(self->rules[self->n_rules] =
                  dispatch_rules_load(campaignset_at(self->campaigns, self->n_rules), err)))
            return -1;
    return 0;
}

static int s_open(dispatch_t *self, err_t *err)
{
    service_t *svc = &self->svc;
    service_handlers_t h = {
        .apply = s_apply, .fire = s_fire, .flush = s_flush, .on_commit = s_on_commit, .arg = self};
    if (s_load_rules(self, err) != 0 ||
        service_migrate(svc, "stream", stream_migrations, err) != 0 ||
        service_migrate(svc, "dispatch", dispatch_migrations, err) != 0)
        return -1;
    if (!(self->store = dispatch_store_new(svc, self->rules, self->n_rules))) {
        err_set(err, "out of memory");
        return -1;
    }
    db_rc_t rc;
    while ((rc = dispatch_store_load(self->store, err)) == DB_TRANSIENT && !loop_interrupted()) {
        log_warn("waiting for the database", LF_STR("error", err->msg));
        usleep(200 * 1000);
    }
    if (rc != DB_OK || service_open_producer(svc, "dispatch", err) != 0)
        return -1;
    while ((rc = dispatch_store_arm(self->store, service_now_ms(svc), err)) == DB_TRANSIENT &&
           !loop_interrupted()) {
        log_warn("waiting for the database", LF_STR("error", err->msg));
        usleep(200 * 1000);
    }
    if (rc != DB_OK || dispatch_query_register(svc, self->store, err) != 0)
        return -1;
    return service_start(svc, &h, err);
}

/* --check-rules FILE...: "FILE: OK (...)" or the first mistake, file:line. */
static int s_check_rules(int argc, char **argv)
{
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        err_t err = {{0}};
        campaign_t *c = campaign_load(argv[i], &err);
        dispatch_rules_t *r = c ? dispatch_rules_load(c, &err) : NULL;
        if (r)
            printf("%s: OK (%s, %zu units, %zu routes)\n", argv[i], campaign_subdistrict(c),
                   r->n_units, r->n_routes);
        else
            fprintf(stderr, "%s\n", err.msg);
        rc |= r ? 0 : 1;
        dispatch_rules_destroy(&r);
        campaign_destroy(&c);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static dispatch_t self;
    err_t err;
    int exit_now = 0, rc = 1;
    if (argc >= 2 && strcmp(argv[1], "--check-rules") == 0) {
        if (argc < 3) {
            fprintf(stderr, "usage: airguard-dispatch --check-rules FILE...\n");
            return 2;
        }
        return s_check_rules(argc, argv);
    }
    if (service_open(&self.svc, "dispatch", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    if (s_open(&self, &err) != 0)
        goto fail;
    rc = service_run(&self.svc) == 0 ? 0 : 1;
    goto out;
fail:
    log_error("cannot start", LF_STR("error", err.msg));
out:
    service_close(&self.svc);
    dispatch_store_destroy(&self.store);
    for (size_t i = 0; i < self.n_rules; i++)
        dispatch_rules_destroy(&self.rules[i]);
    free(self.rules);
    campaignset_destroy(&self.campaigns);
    return rc;
}
