/* groupcommit_batch.c - common/groupcommit.c against a real PostgreSQL,
 * with batches composed exactly (through a socket a test cannot say which
 * submits land in one batch):
 *   - an id repeated within one batch: same message (duplicate of the
 *     first, same seq), different message (E_ID_CONFLICT), many pairs at
 *     once in one batch, and repeats of an id stored before;
 *   - lookups (messages the door refused): stored before with the same
 *     message (the original ack), with another, never stored, stored by
 *     the same batch; one statement per batch, nothing stored for them.
 *
 *   groupcommit_batch DATABASE_URL      (role airguard_streamprod, schema streamprod)
 *
 * Prints "ok NAME" / "FAIL NAME" per test and "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "envelope.h"
#include "groupcommit.h"
#include "uuid.h"

#define MAX_ITEMS 1024

static db_t *s_db;
static producer_t *s_producer;
static groupcommit_stats_t s_stats;

/* Backing store of the items' ids and messages. */
static char s_ids[MAX_ITEMS][ENVELOPE_ID_LEN + 1];
static char s_msgs[MAX_ITEMS][32];

/* Item i of items: id (copied), message text msg, a lookup or not. */
static void s_item(groupcommit_item_t *items, size_t i, const char *id, const char *msg, int lookup)
{
    snprintf(s_ids[i], sizeof s_ids[i], "%s", id);
    snprintf(s_msgs[i], sizeof s_msgs[i], "%s", msg);
    items[i] = (groupcommit_item_t){.rec = {.id = s_ids[i],
                                            .id_len = strlen(s_ids[i]),
                                            .type = "test",
                                            .type_len = 4,
                                            .msg = s_msgs[i],
                                            .msg_len = strlen(s_msgs[i])},
                                    .slot = i,
                                    .lookup = lookup};
}

static db_rc_t s_commit(groupcommit_item_t *items, size_t n)
{
    err_t err;
    db_rc_t rc = groupcommit_commit(s_producer, s_db, items, n, NULL, NULL, &s_stats, &err);
    if (rc != DB_OK)
        fprintf(stderr, "  groupcommit_commit: %s\n", err.msg);
    return rc;
}

/* One number from SQL with one text parameter. */
static long s_count(const char *sql, const char *param)
{
    err_t err;
    PGconn *conn = db_conn(s_db, &err);
    if (!conn)
        return -1;
    const char *params[1] = {param};
    PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    long n = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                 ? atol(PQgetvalue(res, 0, 0))
                 : -1;
    PQclear(res);
    return n;
}

static long s_rows_of(const char *id)
{
    return s_count("SELECT count(*) FROM stream_log WHERE msg_id = $1::uuid", id);
}

/* The stored message of id is msg. */
static int s_stored_as(const char *id, const char *msg)
{
    err_t err;
    PGconn *conn = db_conn(s_db, &err);
    const char *params[2] = {id, msg};
    PGresult *res = PQexecParams(conn,
                                 "SELECT count(*) FROM stream_log WHERE msg_id = $1::uuid"
                                 " AND body = convert_to($2, 'UTF8')",
                                 2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    return ok;
}

static void s_new_id(char out[ENVELOPE_ID_LEN + 1])
{
    uuid_new(out);
}

/* One batch of the same id twice, with messages first and second: the
 * first is stored, the second gets want; the log holds the first. */
static void s_check_pair(const char *first, const char *second, groupcommit_outcome_t want)
{
    groupcommit_item_t items[2];
    char id[ENVELOPE_ID_LEN + 1];
    s_new_id(id);
    s_item(items, 0, id, first, 0);
    s_item(items, 1, id, second, 0);
    CHECK(s_commit(items, 2) == DB_OK);
    CHECK(items[0].outcome == GROUPCOMMIT_NEW && items[0].seq > 0);
    CHECKF(items[1].outcome == want, "outcome %d, expected %d", items[1].outcome, want);
    if (want == GROUPCOMMIT_DUPLICATE)
        CHECK(items[1].seq == items[0].seq && strcmp(items[1].stream, "test.gc-1") == 0);
    CHECK(s_rows_of(id) == 1);
    CHECK(s_stored_as(id, first));
}

static void test_same_id_same_message_in_one_batch(void)
{
    s_check_pair("same", "same", GROUPCOMMIT_DUPLICATE);
}

static void test_same_id_other_message_in_one_batch(void)
{
    s_check_pair("first", "second", GROUPCOMMIT_CONFLICT);
}

/* 300 ids, each twice in one batch of 600: the second of every even pair
 * repeats the message, of every odd pair carries another; the repeats come
 * in reverse order after all the firsts, and the ids in upper case half
 * of the time (the uuid type does not care). */
static void test_many_pairs_in_one_batch(void)
{
    enum { PAIRS = 300 };
    static groupcommit_item_t items[2 * PAIRS];
    long before = s_count("SELECT count(*) FROM stream_log", NULL);
    for (size_t k = 0; k < PAIRS; k++) {
        char id[ENVELOPE_ID_LEN + 1], msg[32];
        s_new_id(id);
        snprintf(msg, sizeof msg, "pair %zu", k);
        s_item(items, k, id, msg, 0);
        if (k % 3 == 0)
            for (char *c = id; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
        if (k % 2)
            snprintf(msg, sizeof msg, "pair %zu, other", k);
        s_item(items, 2 * PAIRS - 1 - k, id, msg, 0);
    }
    CHECK(s_commit(items, 2 * PAIRS) == DB_OK);
    int bad_first = 0, bad_dup = 0, bad_conflict = 0;
    for (size_t k = 0; k < PAIRS; k++) {
        const groupcommit_item_t *a = &items[k], *b = &items[2 * PAIRS - 1 - k];
        bad_first += a->outcome != GROUPCOMMIT_NEW;
        if (k % 2 == 0)
            bad_dup += b->outcome != GROUPCOMMIT_DUPLICATE || b->seq != a->seq;
        else
            bad_conflict += b->outcome != GROUPCOMMIT_CONFLICT;
    }
    CHECKF(bad_first == 0, "%d firsts not new", bad_first);
    CHECKF(bad_dup == 0, "%d same-message repeats not answered as the first", bad_dup);
    CHECKF(bad_conflict == 0, "%d other-message repeats not a conflict", bad_conflict);
    CHECK(s_count("SELECT count(*) FROM stream_log", NULL) == before + PAIRS);
    long wrong = 0;
    for (size_t k = 0; k < PAIRS; k++) {
        char msg[32];
        snprintf(msg, sizeof msg, "pair %zu", k);
        wrong += !s_stored_as(items[k].rec.id, msg);
    }
    CHECKF(wrong == 0, "%ld stored with the repeat's message", wrong);
}

/* An id stored by an earlier batch, repeated within a later one. */
static void test_repeats_of_a_stored_id(void)
{
    groupcommit_item_t items[3];
    char id[ENVELOPE_ID_LEN + 1];
    s_new_id(id);
    s_item(items, 0, id, "original", 0);
    CHECK(s_commit(items, 1) == DB_OK);
    int64_t seq = items[0].seq;
    s_item(items, 0, id, "original", 0);
    s_item(items, 1, id, "changed", 0);
    s_item(items, 2, id, "original", 0);
    CHECK(s_commit(items, 3) == DB_OK);
    CHECK(items[0].outcome == GROUPCOMMIT_DUPLICATE && items[0].seq == seq);
    CHECK(items[1].outcome == GROUPCOMMIT_CONFLICT);
    CHECK(items[2].outcome == GROUPCOMMIT_DUPLICATE && items[2].seq == seq);
    CHECK(s_rows_of(id) == 1);
}

static void test_lookups(void)
{
    groupcommit_item_t items[8];
    char d[ENVELOPE_ID_LEN + 1], e[ENVELOPE_ID_LEN + 1], f[ENVELOPE_ID_LEN + 1],
        g[ENVELOPE_ID_LEN + 1], h[ENVELOPE_ID_LEN + 1];
    s_new_id(d), s_new_id(e), s_new_id(f), s_new_id(g), s_new_id(h);
    s_item(items, 0, d, "d", 0);
    s_item(items, 1, e, "e", 0);
    CHECK(s_commit(items, 2) == DB_OK);
    int64_t d_seq = items[0].seq;
    groupcommit_stats_t before = s_stats;
    s_item(items, 0, d, "d", 1);     /* stored, same message: its ack */
    s_item(items, 1, e, "e2", 1);    /* stored, another message: refused */
    s_item(items, 2, f, "f", 1);     /* never stored: refused */
    s_item(items, 3, g, "g", 1);     /* stored by this batch (below), same message */
    s_item(items, 4, g, "g", 0);     /*   ... the one stored */
    s_item(items, 5, h, "h", 0);     /* stored by this batch */
    s_item(items, 6, h, "h-bad", 1); /*   ... asked with another message */
    CHECK(s_commit(items, 7) == DB_OK);
    CHECK(items[0].outcome == GROUPCOMMIT_DUPLICATE && items[0].seq == d_seq);
    CHECK(items[1].outcome == GROUPCOMMIT_ABSENT);
    CHECK(items[2].outcome == GROUPCOMMIT_ABSENT);
    CHECK(items[4].outcome == GROUPCOMMIT_NEW);
    CHECK(items[3].outcome == GROUPCOMMIT_DUPLICATE && items[3].seq == items[4].seq);
    CHECK(items[5].outcome == GROUPCOMMIT_NEW);
    CHECK(items[6].outcome == GROUPCOMMIT_ABSENT);
    CHECK(s_rows_of(f) == 0 && s_rows_of(g) == 1 && s_rows_of(h) == 1);
    CHECK(s_stored_as(e, "e") && s_stored_as(h, "h"));
    CHECK(s_stats.lookups - before.lookups == 5);
    CHECK(s_stats.lookup_queries - before.lookup_queries == 1);
}

/* A batch of nothing but lookups: one statement, nothing stored. */
static void test_many_lookups_one_statement(void)
{
    enum { N = 500 };
    static groupcommit_item_t items[N];
    char stored[ENVELOPE_ID_LEN + 1];
    s_new_id(stored);
    s_item(items, 0, stored, "kept", 0);
    CHECK(s_commit(items, 1) == DB_OK);
    long rows = s_count("SELECT count(*) FROM stream_log", NULL);
    groupcommit_stats_t before = s_stats;
    for (size_t i = 0; i < N; i++) {
        char id[ENVELOPE_ID_LEN + 1];
        s_new_id(id);
        s_item(items, i, i % 50 ? id : stored, "kept", 1);
    }
    CHECK(s_commit(items, N) == DB_OK);
    int dups = 0;
    for (size_t i = 0; i < N; i++)
        dups += items[i].outcome == GROUPCOMMIT_DUPLICATE;
    CHECKF(dups == N / 50, "%d answered as stored", dups);
    CHECK(s_count("SELECT count(*) FROM stream_log", NULL) == rows);
    CHECK(s_stats.lookups - before.lookups == N);
    CHECK(s_stats.lookup_queries - before.lookup_queries == 1);
}

static void test_stream_gap_free(void)
{
    err_t err;
    PGconn *conn = db_conn(s_db, &err);
    PGresult *res = PQexec(conn, "SELECT count(*) = max(seq) AND min(seq) = 1 FROM stream_log"
                                 " WHERE stream = 'test.gc-1'");
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0);
    PQclear(res);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: groupcommit_batch DATABASE_URL\n");
        return 2;
    }
    err_t err;
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    s_db = db_new(argv[1], "airguard_streamprod", NULL, "streamprod", "groupcommit_batch");
    db_rc_t rc = DB_TRANSIENT;
    /* The connection is made without blocking: wait for it (5 s at most). */
    for (int i = 0; s_db && rc == DB_TRANSIENT && i < 50; i++) {
        if ((rc = db_migrate(s_db, "stream", stream_migrations, &err)) == DB_TRANSIENT)
            usleep(100 * 1000);
    }
    if (zmq_bind(pub, "inproc://groupcommit_batch") != 0 || rc != DB_OK ||
        !(s_producer = producer_new(s_db, pub, "test.gc-1", &err)) ||
        producer_load(s_producer, &err) != DB_OK) {
        fprintf(stderr, "groupcommit_batch: cannot set up: %s\n", err.msg);
        return 2;
    }
    RUN(test_same_id_same_message_in_one_batch);
    RUN(test_same_id_other_message_in_one_batch);
    RUN(test_many_pairs_in_one_batch);
    RUN(test_repeats_of_a_stored_id);
    RUN(test_lookups);
    RUN(test_many_lookups_one_statement);
    RUN(test_stream_gap_free);
    producer_destroy(&s_producer);
    db_destroy(&s_db);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    return check_summary();
}
