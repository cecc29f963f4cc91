/* bench_stream.c - the stream producer's durable throughput beside the raw
 * database baseline, measured by the same program in the same run.
 *
 *   bench_stream DB_URL [ROWS]
 *
 * baseline: multi-row INSERT of 1000 rows per statement and transaction
 *           into a table shaped like stream_log (what performance.md calls
 *           the durable batch limit);
 * producer: producer_append_in_tx() of 1000-record batches + COMMIT +
 *           producer_committed() (publish on a PUB socket), i.e. the
 *           library path every producer takes.
 * Prints "baseline_rows_per_s N" and "producer_msgs_per_s N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "db.h"
#include "envelope.h"
#include "log.h"
#include "producer.h"
#include "uuid.h"

#define BATCH 1000
#define BODY_BYTES 200

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "bench: %s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* One INSERT ... VALUES (...), (...) of BATCH rows with binary parameters. */
static double s_baseline(PGconn *conn, long rows, const char *body)
{
    if (s_exec(conn, "DROP TABLE IF EXISTS bench.raw_log") != 0 ||
        s_exec(conn,
               "CREATE TABLE bench.raw_log (stream text NOT NULL, seq bigint NOT NULL,"
               " msg_id uuid NOT NULL UNIQUE, type text NOT NULL, body bytea NOT NULL,"
               " created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stream, seq))") != 0)
        return 0;
    size_t cap = 64 + (size_t)BATCH * 48;
    char *sql = malloc(cap);
    size_t len = (size_t)snprintf(
        sql, cap, "INSERT INTO bench.raw_log (stream, seq, msg_id, type, body) VALUES ");
    for (int i = 0; i < BATCH; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s($%d,$%d,$%d,$%d,$%d)", i ? "," : "",
                                i * 5 + 1, i * 5 + 2, i * 5 + 3, i * 5 + 4, i * 5 + 5);
    const char **values = calloc(BATCH * 5, sizeof *values);
    int *lengths = calloc(BATCH * 5, sizeof *lengths);
    int *formats = calloc(BATCH * 5, sizeof *formats);
    char(*seqs)[24] = calloc(BATCH, 24);
    char(*ids)[40] = calloc(BATCH, 40);
    double start = s_now();
    long done = 0;
    while (done < rows) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(seqs[i], 24, "%ld", done + i + 1);
            uuid_new(ids[i]);
            values[i * 5 + 0] = "bench.raw-1";
            values[i * 5 + 1] = seqs[i];
            values[i * 5 + 2] = ids[i];
            values[i * 5 + 3] = "bench.event";
            values[i * 5 + 4] = body;
            lengths[i * 5 + 4] = BODY_BYTES;
            formats[i * 5 + 4] = 1;
        }
        /* One statement is one transaction: the durable batch baseline. */
        PGresult *res = PQexecParams(conn, sql, BATCH * 5, NULL, values, lengths, formats, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fprintf(stderr, "bench: baseline insert: %s", PQerrorMessage(conn));
        PQclear(res);
        done += BATCH;
    }
    double rate = (double)done / (s_now() - start);
    free(sql);
    free(values);
    free(lengths);
    free(formats);
    free(seqs);
    free(ids);
    return rate;
}

static double s_producer(db_t *db, long rows, const char *body)
{
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    zmq_bind(pub, "inproc://bench");
    err_t err;
    producer_t *p = producer_new(db, pub, "bench.prod-1", &err);
    double rate = 0;
    stream_record_t *recs = calloc(BATCH, sizeof *recs);
    char(*ids)[40] = calloc(BATCH, 40);
    if (!p || producer_load(p, &err) != DB_OK) {
        fprintf(stderr, "bench: producer: %s\n", err.msg);
        goto out;
    }
    double start = s_now();
    long done = 0;
    while (done < rows) {
        for (int i = 0; i < BATCH; i++) {
            uuid_new(ids[i]);
            recs[i] = (stream_record_t){.id = ids[i],
                                        .id_len = 36,
                                        .type = "bench.event",
                                        .type_len = 11,
                                        .msg = body,
                                        .msg_len = BODY_BYTES};
        }
        PGconn *conn = NULL;
        int ok = db_tx_begin(db, &conn, &err) == DB_OK &&
                 producer_append_in_tx(p, recs, BATCH, &err) == DB_OK &&
                 db_tx_commit(db, &err) == DB_OK;
        db_tx_rollback(db);
        if (!ok) {
            fprintf(stderr, "bench: producer batch: %s\n", err.msg);
            goto out;
        }
        producer_committed(p, recs, BATCH);
        done += BATCH;
    }
    rate = (double)done / (s_now() - start);
out:
    producer_destroy(&p);
    free(recs);
    free(ids);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    return rate;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_stream DB_URL [ROWS]\n");
        return 2;
    }
    long rows = argc > 2 ? atol(argv[2]) : 100000;
    log_init("bench", NULL);
    char body[BODY_BYTES];
    memset(body, 'x', sizeof body);
    db_t *db = db_new(argv[1], NULL, NULL, "bench", "bench");
    err_t err;
    if (db_migrate(db, "stream", stream_migrations, &err) != DB_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    PGconn *conn = db_conn(db, &err);
    double base = s_baseline(conn, rows, body);
    double prod = s_producer(db, rows, body);
    printf("baseline_rows_per_s %.0f\nproducer_msgs_per_s %.0f\n", base, prod);
    db_destroy(&db);
    return base > 0 && prod > 0 ? 0 : 1;
}
