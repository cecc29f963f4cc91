/* service.c - the shared skeleton of every service; see include/service.h. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "mp.h"
#include "sockopt.h"

#define HEARTBEAT_MS 1000
#define FIRE_TICK_MS 100        /* how often the clock is compared with the next timer */
#define FIRE_ROUNDS_MAX 20      /* firing transactions per turn, so sockets are served too */
#define FIRE_RETRY_BASE_MS 1000 /* a failing timer waits 1 s, 2 s, 4 s ... */
#define FIRE_BACKOFF_MS 1000    /* after the database was unreachable */

static void s_op_clock(void *arg, const msgpack_object *request, msgpack_packer *pk);
static void s_op_idle(void *arg, const msgpack_object *request, msgpack_packer *pk);
static void s_op_reset_stream(void *arg, const msgpack_object *request, msgpack_packer *pk);

/* Copies the value of environment variable var, or of key in map, or def,
 * into out; -1 with err if the key has the wrong type or it does not fit. */
static int s_setting(const config_node_t *map, const char *key, const char *var, const char *def,
                     char *out, size_t cap, err_t *err)
{
    const char *value = def;
    if (map && config_string_opt(map, key, &value, err) != 0)
        return -1;
    const char *env = var ? getenv(var) : NULL;
    if (env && *env)
        value = env;
    if (!value)
        value = "";
    if (strlen(value) >= cap) {
        err_set(err, "%s: setting '%s' is longer than %zu bytes", var ? var : key, key, cap - 1);
        return -1;
    }
    memcpy(out, value, strlen(value) + 1);
    return 0;
}

/* The database password comes from the environment or a mounted secret
 * file, never from the configuration file. Returns a malloc'd string or
 * NULL (none given); -1 in *failed if a file was named but unreadable. */
static char *s_password(int *failed, err_t *err)
{
    *failed = 0;
    const char *pw = getenv("AIRGUARD_DB_PASSWORD");
    if (pw && *pw)
        return strdup(pw);
    const char *path = getenv("AIRGUARD_DB_PASSWORD_FILE");
    if (!path || !*path)
        return NULL;
    FILE *f = fopen(path, "r");
    char buf[256] = "", *pw_copy = NULL;
    if (!f || !fgets(buf, sizeof buf, f)) {
        err_set(err, "AIRGUARD_DB_PASSWORD_FILE %s: cannot read", path);
        *failed = 1;
        goto out;
    }
    /* fgets stops at sizeof buf - 1 bytes: a longer line was cut, and a cut
     * password must not be tried as if it were the real one. */
    size_t n = strcspn(buf, "\r\n");
    int next = buf[n] == '\0' && n == sizeof buf - 1 ? fgetc(f) : EOF;
    if (next != EOF && next != '\n' && next != '\r') {
        err_set(err, "AIRGUARD_DB_PASSWORD_FILE %s: the password is longer than %zu bytes", path,
                sizeof buf - 1);
        *failed = 1;
        goto out;
    }
    buf[n] = '\0';
    pw_copy = strdup(buf);
out:
    if (f)
        fclose(f);
    explicit_bzero(buf, sizeof buf);
    return pw_copy;
}

static int s_load_follow(service_t *svc, const config_node_t *root, err_t *err)
{
    const config_node_t *seq = NULL;
    if (config_seq_opt(root, "follow", &seq, err) != 0)
        return -1;
    if (!seq)
        return 0;
    static const char *const keys[] = {"stream", "publish", "control", NULL};
    for (size_t i = 0; i < config_len(seq); i++) {
        const config_node_t *item = config_at(seq, i);
        if (svc->nfollow == CONSUMER_MAX_SOURCES)
            return config_error(item, err, "at most %d streams can be followed",
                                CONSUMER_MAX_SOURCES);
        consumer_source_t *src = &svc->follow[svc->nfollow];
        if (config_only_keys(item, keys, err) != 0 ||
            config_string(item, "stream", &src->stream, err) != 0 ||
            config_string(item, "publish", &src->pub_endpoint, err) != 0 ||
            config_string(item, "control", &src->control_endpoint, err) != 0)
            return -1;
        svc->nfollow++;
    }
    return 0;
}

static void s_usage(const char *name)
{
    printf("usage: airguard-%s [--config PATH]\n\n"
           "Runs the airguard %s service in the foreground; logs JSON lines on stderr.\n"
           "PATH defaults to $AIRGUARD_CONFIG, then config/%s.yaml.\n"
           "Environment overrides: AIRGUARD_INSTANCE, AIRGUARD_DATABASE_URL, AIRGUARD_DB_USER,\n"
           "AIRGUARD_DB_PASSWORD or AIRGUARD_DB_PASSWORD_FILE, AIRGUARD_CONTROL_ENDPOINT,\n"
           "AIRGUARD_PUBLISH_ENDPOINT, AIRGUARD_LOG_LEVEL, AIRGUARD_CLOCK,\n"
           "AIRGUARD_DB_LOCK_TIMEOUT_MS.\n",
           name, name, name);
}

int service_open(service_t *svc, const char *name, int argc, char **argv, int *exit_now, err_t *err)
{
    int rc = -1;
    char *password = NULL;
    memset(svc, 0, sizeof *svc);
    *exit_now = 0;
    snprintf(svc->name, sizeof svc->name, "%s", name);
    log_init(name, NULL);

    char default_path[96];
    snprintf(default_path, sizeof default_path, "config/%s.yaml", name);
    const char *path = getenv("AIRGUARD_CONFIG");
    if (!path || !*path)
        path = default_path;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(name);
            *exit_now = 1;
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            err_set(err, "unknown argument '%s' (try --help)", argv[i]);
            goto out;
        }
    }
    if (!(svc->config = config_load(path, err)))
        goto out;
    const config_node_t *root = config_root(svc->config);
    /* Common keys, plus one section named after the service for its own settings. */
    const char *const keys[] = {"instance", "consumer", "database", "control",
                                "publish",  "follow",   svc->name,  NULL};
    if (config_only_keys(root, keys, err) != 0)
        goto out;
    const config_node_t *dbmap = NULL;
    if (config_get(root, "database") && config_map(root, "database", &dbmap, err) != 0)
        goto out;
    char default_instance[64], default_user[64], url[1024], user[64];
    snprintf(default_instance, sizeof default_instance, "%s-1", name);
    snprintf(default_user, sizeof default_user, "airguard_%s", name);
    if (s_setting(root, "instance", "AIRGUARD_INSTANCE", default_instance, svc->instance,
                  sizeof svc->instance, err) != 0 ||
        s_setting(dbmap, "url", "AIRGUARD_DATABASE_URL", "", url, sizeof url, err) != 0 ||
        s_setting(dbmap, "user", "AIRGUARD_DB_USER", default_user, user, sizeof user, err) != 0 ||
        s_setting(root, "control", "AIRGUARD_CONTROL_ENDPOINT", NULL, svc->control_endpoint,
                  sizeof svc->control_endpoint, err) != 0 ||
        s_setting(root, "publish", "AIRGUARD_PUBLISH_ENDPOINT", "", svc->publish_endpoint,
                  sizeof svc->publish_endpoint, err) != 0 ||
        s_setting(root, "consumer", "AIRGUARD_CONSUMER", name, svc->consumer_name,
                  sizeof svc->consumer_name, err) != 0 ||
        s_load_follow(svc, root, err) != 0)
        goto out;
    if (!svc->control_endpoint[0]) {
        err_set(err, "%s: key 'control': missing (or set AIRGUARD_CONTROL_ENDPOINT)", path);
        goto out;
    }
    log_init(name, svc->instance);
    int failed = 0;
    password = s_password(&failed, err);
    if (failed)
        goto out;

    if (!(svc->clock = aclock_new_from_env())) {
        err_set(err, "AIRGUARD_CLOCK='%s': expected 'system' or 'manual:<ms>'",
                getenv("AIRGUARD_CLOCK"));
        goto out;
    }
    svc->zmq = zmq_ctx_new();
    svc->loop = loop_new();
    svc->db = db_new(url, user, password, name, svc->instance);
    svc->outbox = outbox_new(svc->instance);
    svc->next_due = -1;
    const char *lock_ms = getenv("AIRGUARD_DB_LOCK_TIMEOUT_MS");
    if (lock_ms && *lock_ms) {
        char *end = NULL;
        long ms = strtol(lock_ms, &end, 10);
        if (*end || ms < 1 || ms > 3600000) {
            err_set(err, "AIRGUARD_DB_LOCK_TIMEOUT_MS='%s': expected 1..3600000 (milliseconds)",
                    lock_ms);
            goto out;
        }
        if (svc->db)
            db_set_lock_timeout(svc->db, (int)ms);
    }
    /* The control socket's own connection (control owns it): a replay or
     * a health check never waits on, or holds up, the one that writes. */
    char control_app[96];
    snprintf(control_app, sizeof control_app, "%s/control", svc->instance);
    db_t *control_db = db_new(url, user, password, name, control_app);
    if (!svc->zmq || !svc->loop || !svc->db || !svc->outbox || !control_db) {
        db_destroy(&control_db);
        err_set(err, "out of memory");
        goto out;
    }
    if (!(svc->control = control_new(svc->zmq, svc->loop, svc->control_endpoint, name,
                                     svc->instance, control_db, err)))
        goto out;
    /* Every service answers the simulator's ops, producers and pure
     * consumers alike. */
    if (control_add_handler(svc->control, "clock", s_op_clock, svc) != 0 ||
        control_add_handler(svc->control, "idle", s_op_idle, svc) != 0 ||
        control_add_handler(svc->control, "reset_stream", s_op_reset_stream, svc) != 0) {
        err_set(err, "control ops clock/idle/reset_stream already taken");
        goto out;
    }
    loop_install_signal_handlers();
    rc = 0;
out:
    if (password)
        explicit_bzero(password, strlen(password));
    free(password);
    return rc;
}

int service_migrate(service_t *svc, const char *component, const migration_t *migrations,
                    err_t *err)
{
    int waited = 0;
    for (;;) {
        db_rc_t rc = db_migrate(svc->db, component, migrations, err);
        if (rc == DB_OK)
            return 0;
        if (rc == DB_FAILED)
            return -1;
        if (!waited++)
            log_warn("waiting for the database", LF_STR("error", err->msg));
        if (loop_interrupted()) {
            err_set(err, "interrupted while waiting for the database");
            return -1;
        }
        usleep(200 * 1000);
    }
}

static int s_on_heartbeat(loop_t *loop, void *arg)
{
    (void)loop;
    service_t *svc = arg;
    producer_heartbeat(svc->producer);
    return 0;
}

int service_open_producer(service_t *svc, const char *topic, err_t *err)
{
    if (!svc->publish_endpoint[0]) {
        err_set(err, "key 'publish': missing (or set AIRGUARD_PUBLISH_ENDPOINT)");
        return -1;
    }
    char stream[STREAM_NAME_MAX + 1];
    if ((size_t)snprintf(stream, sizeof stream, "%s.%s", topic, svc->instance) >= sizeof stream) {
        err_set(err, "stream name %s.%s is too long", topic, svc->instance);
        return -1;
    }
    svc->pub = zmq_socket(svc->zmq, ZMQ_PUB);
    int hwm = 100000;
    if (svc->pub) {
        sockopt_liveness(svc->pub);
        zmq_setsockopt(svc->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    }
    if (!svc->pub || zmq_bind(svc->pub, svc->publish_endpoint) != 0) {
        err_set(err, "cannot bind publish endpoint %s: %s", svc->publish_endpoint,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    if (!(svc->producer = producer_new(svc->db, svc->pub, stream, err)))
        return -1;
    for (;;) {
        db_rc_t rc = producer_load(svc->producer, err);
        if (rc == DB_OK)
            break;
        if (rc == DB_FAILED || loop_interrupted())
            return -1;
        usleep(200 * 1000);
    }
    control_add_producer(svc->control, svc->producer);
    if (loop_add_timer(svc->loop, HEARTBEAT_MS, s_on_heartbeat, svc) < 0) {
        err_set(err, "event loop is full");
        return -1;
    }
    log_info("publishing", LF_STR("stream", stream), LF_STR("endpoint", svc->publish_endpoint),
             LF_INT("last_seq", producer_last_seq(svc->producer)));
    return 0;
}

/* ---- consume-and-produce ------------------------------------------------ */

int64_t service_now_ms(const service_t *svc)
{
    return aclock_wall_ms(svc->clock);
}

int service_emit(service_t *svc, const char *type, const char *subdistrict, const char *body,
                 size_t body_len, err_t *err)
{
    if (!svc->producer) {
        err_set(err, "emit %s: this service publishes no stream (key 'publish')", type);
        return -1;
    }
    return outbox_add(svc->outbox, type, subdistrict, svc->instance, service_now_ms(svc), body,
                      body_len, err);
}

/* The open transaction's connection for a timer change (what: "timer K
 * set"), marking the timers changed; NULL with err outside a transaction. */
static PGconn *s_timer_conn(service_t *svc, const char *what, err_t *err)
{
    PGconn *conn = db_in_tx(svc->db) ? db_conn(svc->db, err) : NULL;
    if (!conn)
        err_set(err, "%s outside a transaction", what);
    else
        svc->timers_dirty = 1;
    return conn;
}

db_rc_t service_timer_set(service_t *svc, const char *key, const char *kind, int64_t due_ms,
                          const char *payload, size_t payload_len, err_t *err)
{
    char what[TIMER_KEY_MAX + 16];
    snprintf(what, sizeof what, "timer %s: set", key);
    PGconn *conn = s_timer_conn(svc, what, err);
    return conn ? timer_set(svc->db, conn, key, kind, due_ms, payload, payload_len, err)
                : DB_FAILED;
}

db_rc_t service_timer_cancel(service_t *svc, const char *key, err_t *err)
{
    char what[TIMER_KEY_MAX + 24];
    snprintf(what, sizeof what, "timer %s: cancelled", key);
    PGconn *conn = s_timer_conn(svc, what, err);
    return conn ? timer_cancel(svc->db, conn, key, err) : DB_FAILED;
}

db_rc_t service_timer_set_many(service_t *svc, pgarray_t *keys, pgarray_t *kinds, pgarray_t *dues,
                               err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: set", err);
    return conn ? timer_set_many(svc->db, conn, keys, kinds, dues, err) : DB_FAILED;
}

db_rc_t service_timer_copy_new(service_t *svc, pgarray_t *rows, err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: set", err);
    return conn ? timer_copy_new(svc->db, conn, rows, err) : DB_FAILED;
}

db_rc_t service_timer_cancel_many(service_t *svc, pgarray_t *keys, err_t *err)
{
    PGconn *conn = s_timer_conn(svc, "timers: cancelled", err);
    return conn ? timer_cancel_many(svc->db, conn, keys, err) : DB_FAILED;
}

/* The consumer's apply: names the cause of what the domain derives. */
static consumer_apply_rc_t s_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                   const stream_record_t *rec, const envelope_t *env, err_t *why)
{
    service_t *svc = arg;
    outbox_cause(svc->outbox, stream, rec->seq);
    return svc->handlers.apply(svc->handlers.arg, db, conn, stream, rec, env, why);
}

/* Before every COMMIT: the domain's buffered writes, then the derived
 * records, in the same transaction as the inputs' offsets. */
static db_rc_t s_flush(void *arg, db_t *db, PGconn *conn, err_t *err)
{
    service_t *svc = arg;
    if (svc->handlers.flush) {
        db_rc_t rc = svc->handlers.flush(svc->handlers.arg, db, conn, err);
        if (rc != DB_OK)
            return rc;
    }
    if (outbox_count(svc->outbox) == 0)
        return DB_OK;
    return outbox_append(svc->outbox, svc->producer, err);
}

/* Reads the earliest timer again; -1 (unknown) when the database says no. */
static void s_refresh_next_due(service_t *svc)
{
    err_t err;
    if (!svc->handlers.fire || timer_next_due(svc->db, &svc->next_due, &err) != DB_OK)
        svc->next_due = svc->handlers.fire ? -1 : TIMER_NONE;
}

/* After COMMIT or ROLLBACK: publish or drop what was derived. */
static void s_after(void *arg, int committed)
{
    service_t *svc = arg;
    if (svc->handlers.on_commit)
        svc->handlers.on_commit(svc->handlers.arg, committed);
    if (committed) {
        outbox_committed(svc->outbox, svc->producer);
        if (svc->timers_dirty)
            s_refresh_next_due(svc);
    } else {
        outbox_discard(svc->outbox, svc->producer);
    }
    svc->timers_dirty = 0;
}

/* ---- timers ----------------------------------------------------------------- */

/* In the open transaction: a timer that can never fire goes to the dead
 * letters (stream "timer:<key>", seq its due time), like a message. */
static db_rc_t s_timer_dead_letter(service_t *svc, PGconn *conn, const timer_row_t *t,
                                   const char *reason, err_t *err)
{
    char stream[TIMER_KEY_MAX + 8], due[24];
    snprintf(stream, sizeof stream, "timer:%s", t->key);
    snprintf(due, sizeof due, "%lld", (long long)t->due_ms);
    const char *params[6] = {svc->consumer_name, stream, due, t->kind, t->payload, reason};
    const int lengths[6] = {0, 0, 0, 0, (int)t->payload_len, 0};
    const int formats[6] = {0, 0, 0, 0, 1, 0};
    log_warn("timer dead-lettered", LF_STR("key", t->key), LF_STR("kind", t->kind),
             LF_STR("reason", reason));
    return db_query(svc->db, conn,
                    "INSERT INTO dead_letter (consumer, stream, seq, type, body, reason)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    6, params, lengths, formats, NULL, err);
}

/* How one firing transaction ended. */
typedef enum fire_status {
    FIRE_DONE,     /* committed */
    FIRE_SPLIT,    /* rolled back: fire one timer per transaction to find the bad one */
    FIRE_DEFERRED, /* rolled back: the one timer failed, and waits or is dead-lettered */
    FIRE_TRANSIENT /* rolled back: database unreachable */
} fire_status_t;

/* After a lone timer failed: dead-letter it (rejected) or push it back. */
static fire_status_t s_fire_failed(service_t *svc, const timer_row_t *t, consumer_apply_rc_t rc,
                                   const char *why, int64_t now)
{
    err_t err;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    if (rc == APPLY_FAILED && t->failures + 1 < CONSUMER_MAX_FAILURES) {
        int64_t delay = (int64_t)FIRE_RETRY_BASE_MS << t->failures;
        log_warn("timer failed, will retry", LF_STR("key", t->key), LF_STR("error", why),
                 LF_INT("retry_in_ms", delay));
        if (timer_defer(svc->db, t->key, now, delay, why, &err) != DB_OK)
            return FIRE_TRANSIENT;
        svc->next_due = -1;
        return FIRE_DEFERRED;
    }
    char reason[ERR_MSG_MAX];
    if (rc == APPLY_FAILED)
        snprintf(reason, sizeof reason, "failed %d times: %s", t->failures + 1, why);
    else
        snprintf(reason, sizeof reason, "%s", why);
    const char *key[1] = {t->key};
    if (db_tx_begin(svc->db, &conn, &err) != DB_OK)
        return FIRE_TRANSIENT;
    res = PQexecParams(conn, "DELETE FROM timer WHERE key = $1", 1, NULL, key, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
             s_timer_dead_letter(svc, conn, t, reason, &err) == DB_OK &&
             db_tx_commit(svc->db, &err) == DB_OK;
    PQclear(res);
    db_tx_rollback(svc->db);
    svc->next_due = -1;
    return ok ? FIRE_DEFERRED : FIRE_TRANSIENT;
}

/* One transaction: take up to max due timers, fire each, flush, commit. */
static fire_status_t s_fire_batch(service_t *svc, int64_t now, int max)
{
    err_t err, why;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    fire_status_t st = FIRE_TRANSIENT;
    timer_row_t t;
    if (db_tx_begin(svc->db, &conn, &err) != DB_OK)
        goto out;
    if (timer_take_due(svc->db, conn, now, max, &res, &err) != DB_OK)
        goto rollback;
    for (int i = 0; i < PQntuples(res); i++) {
        timer_row(res, i, &t);
        if (t.failures >= CONSUMER_MAX_FAILURES) {
            if (s_timer_dead_letter(svc, conn, &t, "failed too often", &err) != DB_OK)
                goto rollback;
            continue;
        }
        char origin[TIMER_KEY_MAX + 8];
        snprintf(origin, sizeof origin, "timer:%s", t.key);
        outbox_cause(svc->outbox, origin, t.due_ms);
        err_clear(&why);
        consumer_apply_rc_t rc = svc->handlers.fire(svc->handlers.arg, svc->db, conn, &t, &why);
        if (rc == APPLY_OK && PQtransactionStatus(conn) == PQTRANS_INERROR) {
            err_set(&why, "timer %s left the transaction aborted", t.kind);
            rc = APPLY_FAILED;
        }
        if (rc == APPLY_OK)
            continue;
        db_tx_rollback(svc->db);
        s_after(svc, 0);
        if (rc == APPLY_TRANSIENT) {
            err = why;
            goto out;
        }
        if (max > 1) {
            st = FIRE_SPLIT;
            goto out;
        }
        st = s_fire_failed(svc, &t, rc, why.msg, now);
        goto out;
    }
    db_rc_t frc = s_flush(svc, svc->db, conn, &err);
    if (frc == DB_FAILED) {
        db_tx_rollback(svc->db);
        s_after(svc, 0);
        if (max > 1) {
            st = FIRE_SPLIT;
        } else if (PQntuples(res) == 1) {
            timer_row(res, 0, &t);
            st = s_fire_failed(svc, &t, APPLY_FAILED, err.msg, now);
        }
        goto out;
    }
    if (frc != DB_OK || db_tx_commit(svc->db, &err) != DB_OK)
        goto rollback;
    svc->timers_dirty = 1; /* what fired is gone: read the next due again */
    s_after(svc, 1);
    st = FIRE_DONE;
    goto out;
rollback:
    db_tx_rollback(svc->db);
    s_after(svc, 0);
out:
    if (st == FIRE_TRANSIENT)
        log_warn("timers wait for the database", LF_STR("error", err.msg));
    PQclear(res);
    return st;
}

/* Fires what is due on the service's clock, a bounded number of
 * transactions per call (the loop comes back every FIRE_TICK_MS). */
static void s_fire_due(service_t *svc)
{
    int single = 0;
    if (!svc->handlers.fire || aclock_system_mono_ms() < svc->fire_retry_at)
        return;
    for (int round = 0; round < FIRE_ROUNDS_MAX; round++) {
        int64_t now = service_now_ms(svc);
        if (svc->next_due < 0)
            s_refresh_next_due(svc);
        if (svc->next_due < 0) {
            svc->fire_retry_at = aclock_system_mono_ms() + FIRE_BACKOFF_MS;
            return;
        }
        if (svc->next_due > now)
            return;
        fire_status_t st = s_fire_batch(svc, now, single ? 1 : TIMER_BATCH_MAX);
        if (st == FIRE_TRANSIENT) {
            svc->next_due = -1;
            svc->fire_retry_at = aclock_system_mono_ms() + FIRE_BACKOFF_MS;
            return;
        }
        if (st == FIRE_SPLIT)
            single = 1;
    }
}

static int s_on_fire_tick(loop_t *loop, void *arg)
{
    (void)loop;
    s_fire_due(arg);
    return 0;
}

/* ---- simulator ops: clock and idle -------------------------------------------- */

/* {"op":"clock"} reads the clock; {"op":"clock","set_ms":N} moves a manual
 * clock forward to N and fires what became due before answering. */
static void s_op_clock(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    err_t err;
    int manual = aclock_is_manual(svc->clock);
    if (mp_get(request, "set_ms")) {
        int64_t to = 0;
        if (mp_get_int(request, "set_ms", &to, &err) != 0) {
            control_pack_error(pk, "E_BAD_REQUEST", "set_ms", err.msg);
            return;
        }
        if (!manual) {
            control_pack_error(pk, "E_NOT_MANUAL", "set_ms",
                               "this service runs on the system clock; start it with"
                               " AIRGUARD_CLOCK=manual:<ms> to drive its clock");
            return;
        }
        if (aclock_set_wall_ms(svc->clock, to) != 0) {
            char text[160];
            snprintf(text, sizeof text, "field 'set_ms': the clock may not go back (now %lld)",
                     (long long)service_now_ms(svc));
            control_pack_error(pk, "E_RANGE", "set_ms", text);
            return;
        }
        s_fire_due(svc);
    }
    msgpack_pack_map(pk, 3);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "manual");
    if (manual)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    control_pack_str(pk, "now_ms");
    msgpack_pack_int64(pk, service_now_ms(svc));
}

/* Appends one reason the service is not idle to why (capacity cap). */
static void s_busy(char *why, size_t cap, const char *reason)
{
    size_t used = strlen(why);
    snprintf(why + used, cap - used, "%s%s", used ? "; " : "", reason);
}

/* {"op":"idle", "heads":{stream: seq ...}} : idle when every followed
 * stream is applied up to its head (and up to the heads given, which a
 * simulator reads from the producers), no stream is halted, and no timer is
 * due on the service's clock. */
static void s_op_idle(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    char why[512] = "", reason[160];
    const msgpack_object *heads = mp_get(request, "heads");
    if (heads && heads->type != MSGPACK_OBJECT_MAP) {
        control_pack_error(pk, "E_BAD_REQUEST", "heads", "field 'heads': expected a map");
        return;
    }
    for (uint32_t i = 0; heads && i < heads->via.map.size; i++) {
        const msgpack_object_kv *kv = &heads->via.map.ptr[i];
        char stream[STREAM_NAME_MAX + 1];
        int64_t applied = 0, head = 0;
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size > STREAM_NAME_MAX ||
            (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)) {
            control_pack_error(pk, "E_BAD_REQUEST", "heads",
                               "field 'heads': expected {stream name: seq >= 0}");
            return;
        }
        snprintf(stream, sizeof stream, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        if (!svc->consumer || consumer_position(svc->consumer, stream, &applied, &head) != 0) {
            char text[128];
            snprintf(text, sizeof text, "stream '%s' is not followed here", stream);
            control_pack_error(pk, "E_UNKNOWN_STREAM", "heads", text);
            return;
        }
        if (applied < (int64_t)kv->val.via.u64) {
            snprintf(reason, sizeof reason, "%s applied %lld of %llu", stream, (long long)applied,
                     (unsigned long long)kv->val.via.u64);
            s_busy(why, sizeof why, reason);
        }
    }
    for (size_t i = 0; svc->consumer && i < consumer_source_count(svc->consumer); i++) {
        const char *stream = consumer_source_stream(svc->consumer, i);
        int64_t applied = 0, head = 0;
        consumer_position(svc->consumer, stream, &applied, &head);
        if (consumer_halted(svc->consumer, stream))
            snprintf(reason, sizeof reason, "%s halted (stream identity changed)", stream);
        else if (applied < head)
            snprintf(reason, sizeof reason, "%s applied %lld of %lld", stream, (long long)applied,
                     (long long)head);
        else
            continue;
        s_busy(why, sizeof why, reason);
    }
    if (svc->handlers.fire && svc->next_due < 0)
        s_refresh_next_due(svc);
    int64_t now = service_now_ms(svc);
    if (svc->handlers.fire && svc->next_due < 0) {
        s_busy(why, sizeof why, "timers unknown (database unreachable)");
    } else if (svc->handlers.fire && svc->next_due <= now) {
        snprintf(reason, sizeof reason, "a timer is due at %lld", (long long)svc->next_due);
        s_busy(why, sizeof why, reason);
    }
    msgpack_pack_map(pk, why[0] ? 5 : 4);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "idle");
    if (why[0])
        msgpack_pack_false(pk);
    else
        msgpack_pack_true(pk);
    control_pack_str(pk, "now_ms");
    msgpack_pack_int64(pk, now);
    control_pack_str(pk, "next_timer_ms");
    if (svc->handlers.fire && svc->next_due >= 0 && svc->next_due != TIMER_NONE)
        msgpack_pack_int64(pk, svc->next_due);
    else
        msgpack_pack_nil(pk);
    if (why[0]) {
        control_pack_str(pk, "waiting");
        control_pack_str(pk, why);
    }
}

/* {"op":"reset_stream","stream":S}: the operator's answer to a halted
 * stream (consumer.h): follow it anew from seq 1. */
static void s_op_reset_stream(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    err_t err;
    char stream[STREAM_NAME_MAX + 1];
    if (mp_get_strcpy(request, "stream", stream, sizeof stream, &err) != 0) {
        control_pack_error(pk, "E_BAD_REQUEST", "stream", err.msg);
        return;
    }
    if (!svc->consumer || !consumer_stream_id(svc->consumer, stream)) {
        char text[128];
        snprintf(text, sizeof text, "stream '%s' is not followed here", stream);
        control_pack_error(pk, "E_UNKNOWN_STREAM", "stream", text);
        return;
    }
    db_rc_t rc = consumer_reset_stream(svc->consumer, stream, &err);
    if (rc != DB_OK) {
        control_pack_error(pk, rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL", NULL, err.msg);
        return;
    }
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "stream");
    control_pack_str(pk, stream);
}

int service_start(service_t *svc, const service_handlers_t *h, err_t *err)
{
    svc->handlers = *h;
    if (h->apply) {
        if (svc->nfollow == 0) {
            err_set(err, "key 'follow': no stream to follow");
            return -1;
        }
        consumer_hooks_t hooks = {
            .apply = s_apply, .flush = s_flush, .on_commit = s_after, .arg = svc};
        svc->consumer = consumer_new(svc->zmq, svc->loop, svc->db, svc->consumer_name, svc->follow,
                                     svc->nfollow, &hooks, err);
        if (!svc->consumer)
            return -1;
        control_add_consumer(svc->control, svc->consumer);
        for (size_t i = 0; i < svc->nfollow; i++)
            log_info("following", LF_STR("stream", svc->follow[i].stream),
                     LF_STR("publish", svc->follow[i].pub_endpoint));
    }
    if (h->fire && loop_add_timer(svc->loop, FIRE_TICK_MS, s_on_fire_tick, svc) < 0) {
        err_set(err, "event loop is full");
        return -1;
    }
    return 0;
}

int service_run(service_t *svc)
{
    log_info("ready", LF_STR("control", svc->control_endpoint));
    int rc = loop_run(svc->loop);
    log_info("stopping", LF_STR("reason", loop_interrupted() ? "signal" : "handler failure"));
    return rc;
}

void service_close(service_t *svc)
{
    consumer_destroy(&svc->consumer);
    outbox_destroy(&svc->outbox);
    producer_destroy(&svc->producer);
    control_destroy(&svc->control);
    if (svc->pub)
        zmq_close(svc->pub);
    svc->pub = NULL;
    db_destroy(&svc->db);
    loop_destroy(&svc->loop);
    if (svc->zmq)
        zmq_ctx_term(svc->zmq);
    svc->zmq = NULL;
    aclock_destroy(&svc->clock);
    config_destroy(&svc->config);
}
