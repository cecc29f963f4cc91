/* stream_consumer.c - the test consumer of the stream-contract tests. Its
 * effect is deliberately checkable from SQL: every applied message adds a
 * row to `effects` (no unique key, so a duplicate effect would show) and
 * increments `counts` for the body's "key". A message of type "poison", or
 * one without a string "key", is rejected and must end in dead_letter.
 * Type "flaky" fails with a SQL error every time (dead-lettered after
 * CONSUMER_MAX_FAILURES attempts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mp.h"
#include "service.h"

static const migration_t s_migrations[] = {
    {1, "001_effects.sql",
     "CREATE TABLE effects (stream text NOT NULL, seq bigint NOT NULL, msg_id uuid NOT NULL,"
     " key text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
     "CREATE TABLE counts (key text PRIMARY KEY, n bigint NOT NULL);"},
    {0, NULL, NULL},
};

static consumer_apply_rc_t s_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                   const stream_record_t *rec, const envelope_t *env, err_t *why)
{
    (void)arg;
    if (strcmp(env->type, "poison") == 0) {
        err_set(why, "type 'poison' is never processable");
        return APPLY_REJECT;
    }
    const char *key = NULL;
    size_t key_len = 0;
    if (mp_get_str(&env->body, "key", &key, &key_len, why) != 0)
        return APPLY_REJECT;
    char key_text[128], seq[24];
    snprintf(key_text, sizeof key_text, "%.*s", (int)(key_len < 127 ? key_len : 127), key);
    snprintf(seq, sizeof seq, "%lld", (long long)rec->seq);
    const char *sql = strcmp(env->type, "flaky") == 0
                          ? "SELECT 1/0"
                          : "WITH e AS (INSERT INTO effects (stream, seq, msg_id, key)"
                            " VALUES ($1, $2, $3, $4))"
                            " INSERT INTO counts (key, n) VALUES ($4, 1)"
                            " ON CONFLICT (key) DO UPDATE SET n = counts.n + 1";
    const char *params[4] = {stream, seq, env->id, key_text};
    int nparams = strcmp(env->type, "flaky") == 0 ? 0 : 4;
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, nparams ? params : NULL, NULL, NULL, 0);
    consumer_apply_rc_t rc = APPLY_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = db_failure(db, res, why) == DB_TRANSIENT ? APPLY_TRANSIENT : APPLY_FAILED;
    PQclear(res);
    return rc;
}

int main(int argc, char **argv)
{
    service_t svc;
    err_t err;
    int exit_now = 0, rc = 1;
    if (service_open(&svc, "streamcons", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    if (service_migrate(&svc, "stream", stream_migrations, &err) != 0 ||
        service_migrate(&svc, "streamcons", s_migrations, &err) != 0 ||
        service_open_consumer(&svc, s_apply, NULL, NULL, &err) != 0)
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
    return rc;
}
