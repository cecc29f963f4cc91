/* stream_relay.c - the consume-and-produce half of the relay pair
 * (docs/design.md, "Domain services"): follows the test producer's stream
 * and derives exactly one record per input into its own stream
 * "relay.<instance>"; an input of type "timed" also sets a timer, due
 * body.delay_ms after the input's event time, whose firing derives a
 * "fired" record. tests/integration/relay.sh kills it at every step.
 *
 * It is laid out the way a domain service is:
 *   1. decisions: a plain function from (input, now) to a decision struct,
 *      no SQL, sockets or clock calls;
 *   2. store: applies decisions in the skeleton's transaction (buffered,
 *      written once per batch by the flush hook), emits and sets timers;
 *   3. main: wiring only.
 *
 * Test hook: AIRGUARD_TEST_KILL_AFTER_COMMITS=N raises SIGKILL right after
 * the Nth committed transaction, before its records are published. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mp.h"
#include "pgarray.h"
#include "service.h"

static const migration_t s_migrations[] = {
    {1, "001_relayed.sql",
     "CREATE TABLE relayed (stream text NOT NULL, seq bigint NOT NULL, kind text NOT NULL,"
     " key text NOT NULL, at timestamptz NOT NULL DEFAULT now());"},
    {0, NULL, NULL},
};

/* ---- 1. decisions ------------------------------------------------------ */

#define RELAY_KEY_MAX 64

/* What an input or a fired timer comes to. */
typedef struct relay_decision {
    char emit_type[16];                 /* the derived record's type */
    char key[RELAY_KEY_MAX + 1];        /* carried into its body */
    int set_timer;                      /* also set a timer */
    int64_t timer_due_ms;               /* when it fires */
    char timer_key[RELAY_KEY_MAX + 16]; /* its name */
} relay_decision_t;

/* An input message: type, key and optional delay; time is its event time. */
static void relay_decide_message(const char *type, const char *key, int64_t delay_ms,
                                 int64_t event_ms, const char *msg_id, relay_decision_t *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->emit_type, sizeof d->emit_type, "relayed");
    snprintf(d->key, sizeof d->key, "%s", key);
    if (strcmp(type, "timed") == 0) {
        d->set_timer = 1;
        d->timer_due_ms = event_ms + (delay_ms > 0 ? delay_ms : 0);
        snprintf(d->timer_key, sizeof d->timer_key, "t:%s", msg_id);
    }
}

/* A fired timer: derive "fired" with the key it carried. */
static void relay_decide_timer(const char *payload, size_t len, relay_decision_t *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->emit_type, sizeof d->emit_type, "fired");
    snprintf(d->key, sizeof d->key, "%.*s", (int)(len < RELAY_KEY_MAX ? len : RELAY_KEY_MAX),
             payload);
}

/* ---- 2. store ---------------------------------------------------------- */

typedef struct relay {
    service_t *svc;
    /* Rows of `relayed` decided in the open transaction, written by flush
     * with one statement: one array per column. */
    pgarray_t streams, seqs, kinds, keys;
    int kill_after;       /* test hook: commits left before SIGKILL; 0 = off */
    msgpack_sbuffer body; /* reused for derived bodies */
} relay_t;

static void s_reset_rows(relay_t *r)
{
    pgarray_reset(&r->streams);
    pgarray_reset(&r->seqs);
    pgarray_reset(&r->kinds);
    pgarray_reset(&r->keys);
}

/* Records the decision's row and derived record; sets its timer. */
static consumer_apply_rc_t s_carry_out(relay_t *r, const relay_decision_t *d, const char *stream,
                                       int64_t seq, const char *subdistrict, err_t *why)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&r->body);
    msgpack_packer_init(&pk, &r->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "key", 3);
    msgpack_pack_str_with_body(&pk, d->key, strlen(d->key));
    pgarray_add(&r->streams, stream, strlen(stream));
    pgarray_add_int(&r->seqs, seq);
    pgarray_add(&r->kinds, d->emit_type, strlen(d->emit_type));
    pgarray_add(&r->keys, d->key, strlen(d->key));
    if (service_emit(r->svc, d->emit_type, subdistrict, r->body.data, r->body.size, why) != 0)
        return APPLY_FAILED;
    if (d->set_timer) {
        db_rc_t rc = service_timer_set(r->svc, d->timer_key, "relay", d->timer_due_ms, d->key,
                                       strlen(d->key), why);
        if (rc != DB_OK)
            return rc == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
    }
    return APPLY_OK;
}

static consumer_apply_rc_t s_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                   const stream_record_t *rec, const envelope_t *env, err_t *why)
{
    (void)db;
    (void)conn;
    relay_t *r = arg;
    const char *key = NULL;
    size_t key_len = 0;
    int64_t delay = 0;
    if (mp_get_str(&env->body, "key", &key, &key_len, why) != 0)
        return APPLY_REJECT;
    if (key_len > RELAY_KEY_MAX) {
        err_set(why, "field 'key': longer than %d bytes", RELAY_KEY_MAX);
        return APPLY_REJECT;
    }
    if (mp_get(&env->body, "delay_ms") && mp_get_int(&env->body, "delay_ms", &delay, why) != 0)
        return APPLY_REJECT;
    char key_text[RELAY_KEY_MAX + 1];
    snprintf(key_text, sizeof key_text, "%.*s", (int)key_len, key);
    relay_decision_t d;
    relay_decide_message(env->type, key_text, delay, env->time_ms, env->id, &d);
    return s_carry_out(r, &d, stream, rec->seq, env->subdistrict, why);
}

static consumer_apply_rc_t s_fire(void *arg, db_t *db, PGconn *conn, const timer_row_t *t,
                                  err_t *why)
{
    (void)db;
    (void)conn;
    relay_t *r = arg;
    relay_decision_t d;
    relay_decide_timer(t->payload, t->payload_len, &d);
    return s_carry_out(r, &d, t->key, t->due_ms, "test", why);
}

/* One statement for the whole batch's rows. */
static db_rc_t s_flush(void *arg, db_t *db, PGconn *conn, err_t *err)
{
    relay_t *r = arg;
    if (r->streams.n == 0)
        return DB_OK;
    const char *params[4] = {pgarray_finish(&r->streams), pgarray_finish(&r->seqs),
                             pgarray_finish(&r->kinds), pgarray_finish(&r->keys)};
    if (!params[0] || !params[1] || !params[2] || !params[3]) {
        err_set(err, "out of memory for the batch's rows");
        return DB_TRANSIENT;
    }
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO relayed (stream, seq, kind, key)"
                                 " SELECT * FROM unnest($1::text[], $2::int8[], $3::text[],"
                                 " $4::text[])",
                                 4, NULL, params, NULL, NULL, 0);
    db_rc_t rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : db_failure(db, res, err);
    PQclear(res);
    return rc;
}

static void s_on_commit(void *arg, int committed)
{
    relay_t *r = arg;
    s_reset_rows(r);
    if (committed && r->kill_after > 0 && --r->kill_after == 0) {
        log_warn("test hook: SIGKILL between commit and publish");
        raise(SIGKILL);
    }
}

/* ---- 3. wiring --------------------------------------------------------- */

int main(int argc, char **argv)
{
    static relay_t relay; /* large buffers: not on the stack */
    service_t svc;
    err_t err;
    int exit_now = 0, rc = 1;
    if (service_open(&svc, "streamrelay", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    relay.svc = &svc;
    msgpack_sbuffer_init(&relay.body);
    s_reset_rows(&relay);
    const char *kill_after = getenv("AIRGUARD_TEST_KILL_AFTER_COMMITS");
    relay.kill_after = kill_after ? atoi(kill_after) : 0;
    service_handlers_t handlers = {.apply = s_apply,
                                   .fire = s_fire,
                                   .flush = s_flush,
                                   .on_commit = s_on_commit,
                                   .arg = &relay};
    if (service_migrate(&svc, "stream", stream_migrations, &err) != 0 ||
        service_migrate(&svc, "streamrelay", s_migrations, &err) != 0 ||
        service_open_producer(&svc, "relay", &err) != 0 ||
        service_start(&svc, &handlers, &err) != 0)
        goto fail;
    rc = service_run(&svc) == 0 ? 0 : 1;
    goto out;
fail:
    log_error("cannot start", LF_STR("error", err.msg));
out:
    service_close(&svc);
    msgpack_sbuffer_destroy(&relay.body);
    pgarray_fini(&relay.streams);
    pgarray_fini(&relay.seqs);
    pgarray_fini(&relay.kinds);
    pgarray_fini(&relay.keys);
    return rc;
}
