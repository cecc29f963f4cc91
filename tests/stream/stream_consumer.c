/* stream_consumer.c - the test consumer of the stream-contract tests. Its
 * effect is deliberately checkable from SQL: every applied message adds a
 * row to `effects` (no unique key, so a duplicate effect would show) and
 * increments `counts` for the body's "key" (buffered by apply, written once
 * per batch by the flush hook). A message of type "poison", or
 * one without a string "key", is rejected and must end in dead_letter.
 * Type "flaky" fails with a SQL error every time (dead-lettered after
 * CONSUMER_MAX_FAILURES attempts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mp.h"
#include "pgarray.h"
#include "service.h"

static const migration_t s_migrations[] = {
    {1, "001_effects.sql",
     "CREATE TABLE effects (stream text NOT NULL, seq bigint NOT NULL, msg_id uuid NOT NULL,"
     " key text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
     "CREATE TABLE counts (key text PRIMARY KEY, n bigint NOT NULL);"},
    {0, NULL, NULL},
};

/* Effects decided in the open transaction, written once by s_flush. */
typedef struct effects {
    pgarray_t streams, seqs, ids, keys;
} effects_t;

static void s_reset(effects_t *e)
{
    pgarray_reset(&e->streams);
    pgarray_reset(&e->seqs);
    pgarray_reset(&e->ids);
    pgarray_reset(&e->keys);
}

static consumer_apply_rc_t s_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                   const stream_record_t *rec, const envelope_t *env, err_t *why)
{
    effects_t *e = arg;
    if (strcmp(env->type, "poison") == 0) {
        err_set(why, "type 'poison' is never processable");
        return APPLY_REJECT;
    }
    const char *key = NULL;
    size_t key_len = 0;
    if (mp_get_str(&env->body, "key", &key, &key_len, why) != 0)
        return APPLY_REJECT;
    if (strcmp(env->type, "flaky") == 0) {
        /* A statement that fails on every attempt, run right away. */
        PGresult *res = PQexec(conn, "SELECT 1/0");
        consumer_apply_rc_t rc = PQresultStatus(res) == PGRES_TUPLES_OK     ? APPLY_OK
                                 : db_failure(db, res, why) == DB_TRANSIENT ? APPLY_TRANSIENT
                                                                            : APPLY_FAILED;
        PQclear(res);
        return rc;
    }
    pgarray_add(&e->streams, stream, strlen(stream));
    pgarray_add_int(&e->seqs, rec->seq);
    pgarray_add(&e->ids, env->id, strlen(env->id));
    pgarray_add(&e->keys, key, key_len);
    return APPLY_OK;
}

/* The batch's effects: one row each in effects, and counts per key. */
static db_rc_t s_flush(void *arg, db_t *db, PGconn *conn, err_t *err)
{
    effects_t *e = arg;
    if (e->streams.n == 0)
        return DB_OK;
    const char *params[4] = {pgarray_finish(&e->streams), pgarray_finish(&e->seqs),
                             pgarray_finish(&e->ids), pgarray_finish(&e->keys)};
    if (!params[0] || !params[1] || !params[2] || !params[3]) {
        err_set(err, "out of memory for the batch's effects");
        return DB_TRANSIENT;
    }
    PGresult *res = PQexecParams(
        conn,
        "WITH r AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::uuid[], $4::text[])"
        "   AS t(stream, seq, msg_id, key)),"
        " e AS (INSERT INTO effects (stream, seq, msg_id, key) SELECT * FROM r)"
        " INSERT INTO counts (key, n) SELECT key, count(*) FROM r GROUP BY key"
        " ON CONFLICT (key) DO UPDATE SET n = counts.n + excluded.n",
        4, NULL, params, NULL, NULL, 0);
    db_rc_t rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : db_failure(db, res, err);
    PQclear(res);
    return rc;
}

static void s_after(void *arg, int committed)
{
    (void)committed;
    s_reset(arg);
}

int main(int argc, char **argv)
{
    service_t svc;
    err_t err;
    int exit_now = 0, rc = 1;
    effects_t effects = {PGARRAY_INIT, PGARRAY_INIT, PGARRAY_INIT, PGARRAY_INIT};
    service_handlers_t handlers = {
        .apply = s_apply, .flush = s_flush, .on_commit = s_after, .arg = &effects};
    s_reset(&effects);
    if (service_open(&svc, "streamcons", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    if (service_migrate(&svc, "stream", stream_migrations, &err) != 0 ||
        service_migrate(&svc, "streamcons", s_migrations, &err) != 0 ||
        service_start(&svc, &handlers, &err) != 0)
        goto fail;
    /* The forced-gap test loses live messages on purpose. */
    const char *drop = getenv("AIRGUARD_TEST_DROP_EVERY");
    if (drop)
        consumer_drop_live_for_test(svc.consumer, atoi(drop));
    rc = service_run(&svc) == 0 ? 0 : 1;
    goto out;
fail:
    log_error("cannot start", LF_STR("error", err.msg));
out:
    service_close(&svc);
    pgarray_fini(&effects.streams);
    pgarray_fini(&effects.seqs);
    pgarray_fini(&effects.ids);
    pgarray_fini(&effects.keys);
    return rc;
}
