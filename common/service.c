/* service.c - the shared skeleton of every service: read the configuration,
 * open the loop, the database and the control socket, publish a stream,
 * plug the domain in (service_start) and run until a signal; see
 * include/service.h. The skeleton's other jobs live beside it:
 * service_hooks.c (consume-and-produce), service_timers.c (deadlines) and
 * service_ops.c (the simulator's and operator's control ops). */
#include "service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "sockopt.h"

#define HEARTBEAT_MS 1000

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
    if (service_ops_register(svc, err) != 0)
        goto out;
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

int service_start(service_t *svc, const service_handlers_t *h, err_t *err)
{
    svc->handlers = *h;
    if (h->apply) {
        if (svc->nfollow == 0) {
            err_set(err, "key 'follow': no stream to follow");
            return -1;
        }
        consumer_hooks_t hooks = {.apply = service_hooks_apply,
                                  .flush = service_hooks_flush,
                                  .on_commit = service_hooks_after,
                                  .arg = svc};
        svc->consumer = consumer_new(svc->zmq, svc->loop, svc->db, svc->consumer_name, svc->follow,
                                     svc->nfollow, &hooks, err);
        if (!svc->consumer)
            return -1;
        control_add_consumer(svc->control, svc->consumer);
        for (size_t i = 0; i < svc->nfollow; i++)
            log_info("following", LF_STR("stream", svc->follow[i].stream),
                     LF_STR("publish", svc->follow[i].pub_endpoint));
    }
    if (h->fire &&
        loop_add_timer(svc->loop, SERVICE_FIRE_TICK_MS, service_timers_on_tick, svc) < 0) {
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
