/* groupcommit.c - many submits, one transaction: idempotent by message id,
 * appended to the stream, published after the commit; see
 * include/groupcommit.h and docs/streams.md. */
#include "groupcommit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GROUPCOMMIT_ATTEMPTS 3

static int s_same_id(const stream_record_t *a, const stream_record_t *b)
{
    return a->id_len == b->id_len && strncasecmp(a->id, b->id, a->id_len) == 0;
}

static int s_same_msg(const stream_record_t *a, const char *msg, size_t len)
{
    return a->msg_len == len && memcmp(a->msg, msg, len) == 0;
}

/* Marks the items whose id is already in the log. Ids were validated as
 * UUIDs, so the array literal cannot be used for injection. */
static db_rc_t s_find_stored(db_t *db, PGconn *conn, groupcommit_item_t *items, size_t n,
                             int *is_new, err_t *err)
{
    size_t cap = n * 40 + 3;
    char *literal = malloc(cap);
    if (!literal) {
        err_set(err, "out of memory");
        return DB_FAILED;
    }
    size_t len = 0;
    literal[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            literal[len++] = ',';
        memcpy(literal + len, items[i].rec.id, items[i].rec.id_len);
        len += items[i].rec.id_len;
    }
    literal[len++] = '}';
    literal[len] = '\0';
    const char *params[1] = {literal};
    PGresult *res = PQexecParams(conn,
                                 "SELECT msg_id::text, stream, seq, body FROM stream_log"
                                 " WHERE msg_id = ANY($1::uuid[])",
                                 1, NULL, params, NULL, NULL, 1);
    free(literal);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        db_rc_t rc = db_failure(db, res, err);
        PQclear(res);
        return rc;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        const char *id = PQgetvalue(res, r, 0);
        for (size_t i = 0; i < n; i++) {
            if ((size_t)PQgetlength(res, r, 0) != items[i].rec.id_len ||
                strncasecmp(id, items[i].rec.id, items[i].rec.id_len) != 0)
                continue;
            is_new[i] = 0;
            items[i].outcome =
                s_same_msg(&items[i].rec, PQgetvalue(res, r, 3), (size_t)PQgetlength(res, r, 3))
                    ? GROUPCOMMIT_DUPLICATE
                    : GROUPCOMMIT_CONFLICT;
            snprintf(items[i].stream, sizeof items[i].stream, "%.*s", PQgetlength(res, r, 1),
                     PQgetvalue(res, r, 1));
            items[i].seq = db_get_int64(res, r, 2);
        }
    }
    PQclear(res);
    return DB_OK;
}

/* Fills first[i] with the index of the first item carrying item i's id (i
 * itself for a first occurrence), with a small open-addressing hash table;
 * returns how many items repeat an earlier one, or -1 if out of memory. */
static long s_first_occurrences(const groupcommit_item_t *items, size_t n, size_t *first)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    size_t *slots = malloc(cap * sizeof *slots); /* item index + 1; 0 is empty */
    if (!slots)
        return -1;
    memset(slots, 0, cap * sizeof *slots);
    long repeats = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a, case-folded like the uuid type */
        for (size_t k = 0; k < items[i].rec.id_len; k++)
            h = (h ^ (unsigned char)(items[i].rec.id[k] | 0x20)) * 1099511628211ull;
        size_t at = (size_t)h & (cap - 1);
        while (slots[at] && !s_same_id(&items[slots[at] - 1].rec, &items[i].rec))
            at = (at + 1) & (cap - 1);
        if (slots[at]) {
            first[i] = slots[at] - 1;
            repeats++;
        } else {
            slots[at] = i + 1;
            first[i] = i;
        }
    }
    free(slots);
    return repeats;
}

/* Writes the service's own effects of the new items that carry some. */
static db_rc_t s_store_extra(PGconn *conn, const groupcommit_item_t *items, size_t n,
                             const int *is_new, groupcommit_store_fn store, void *arg, err_t *err)
{
    for (size_t i = 0; store && i < n; i++) {
        if (is_new[i] != 1 || !items[i].extra)
            continue;
        db_rc_t rc = store(arg, conn, &items[i], err);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

static db_rc_t s_commit_once(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                             const size_t *first, groupcommit_store_fn store, void *arg,
                             stream_record_t *fresh, size_t *nfresh, int *is_new, err_t *err)
{
    db_rc_t rc = DB_TRANSIENT;
    int in_tx = 0;
    *nfresh = 0;
    PGconn *conn = db_conn(db, err);
    if (!conn)
        goto out;
    if ((rc = db_exec(db, "BEGIN", err)) != DB_OK)
        goto out;
    in_tx = 1;
    for (size_t i = 0; i < n; i++)
        is_new[i] = 1;
    if ((rc = s_find_stored(db, conn, items, n, is_new, err)) != DB_OK)
        goto out;
    /* A repeat inside the batch is answered like its first occurrence. */
    for (size_t i = 0; i < n; i++) {
        if (is_new[i] && first[i] != i)
            is_new[i] = -(int)first[i] - 2; /* an alias of first[i] */
        if (is_new[i] == 1)
            fresh[(*nfresh)++] = items[i].rec;
    }
    if ((rc = producer_append_in_tx(p, fresh, *nfresh, err)) != DB_OK ||
        (rc = s_store_extra(conn, items, n, is_new, store, arg, err)) != DB_OK)
        goto out;
    rc = db_exec(db, "COMMIT", err);
    in_tx = 0;
out:
    if (in_tx) {
        err_t ignored;
        db_exec(db, "ROLLBACK", &ignored);
    }
    return rc;
}

/* The fast path: every id in the batch is new. Appends them all; when no
 * item has effects of its own this is one autocommitted statement, one
 * round trip including the commit. */
static db_rc_t s_append_all(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                            groupcommit_store_fn store, void *arg, stream_record_t *fresh,
                            int *is_new, err_t *err)
{
    int extras = 0;
    for (size_t i = 0; i < n; i++) {
        fresh[i] = items[i].rec;
        is_new[i] = 1;
        extras |= store && items[i].extra;
    }
    if (!extras)
        return producer_append_in_tx(p, fresh, n, err);
    db_rc_t rc = db_exec(db, "BEGIN", err);
    PGconn *conn = db_conn(db, err);
    if (rc == DB_OK && !conn)
        rc = DB_TRANSIENT;
    if (rc == DB_OK && (rc = producer_append_in_tx(p, fresh, n, err)) == DB_OK &&
        (rc = s_store_extra(conn, items, n, is_new, store, arg, err)) == DB_OK)
        return db_exec(db, "COMMIT", err);
    if (rc != DB_TRANSIENT) {
        err_t ignored;
        db_exec(db, "ROLLBACK", &ignored);
    }
    return rc;
}

db_rc_t groupcommit_commit(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                           groupcommit_store_fn store, void *arg, err_t *err)
{
    if (n == 0)
        return DB_OK;
    db_rc_t rc = DB_FAILED;
    stream_record_t *fresh = malloc(n * sizeof *fresh);
    int *is_new = malloc(n * sizeof *is_new);
    size_t *first = malloc(n * sizeof *first);
    size_t nfresh = 0;
    long repeats = fresh && is_new && first ? s_first_occurrences(items, n, first) : -1;
    if (repeats < 0) {
        err_set(err, "out of memory");
        goto out;
    }
    /* Fast path: ids are almost always new (a retry is the exception), so
     * first append them all in one autocommitted statement, one round trip
     * including the commit. An id already stored fails it on the unique
     * index (SQLSTATE 23505) with nothing written, and the careful path
     * below looks the ids up. */
    if (repeats == 0) {
        nfresh = n;
        rc = s_append_all(p, db, items, n, store, arg, fresh, is_new, err);
        if (rc == DB_OK || !(rc == DB_FAILED && strstr(err->msg, "SQLSTATE 23505")))
            goto done;
    }
    for (int attempt = 1; attempt <= GROUPCOMMIT_ATTEMPTS; attempt++) {
        rc = s_commit_once(p, db, items, n, first, store, arg, fresh, &nfresh, is_new, err);
        /* Another instance stored one of our ids between our lookup and our
         * insert: look again, it will now be found. */
        if (rc == DB_FAILED && strstr(err->msg, "SQLSTATE 23505") && attempt < GROUPCOMMIT_ATTEMPTS)
            continue;
        break;
    }
done:
    if (rc != DB_OK) {
        producer_forget(p);
        goto out;
    }
    producer_committed(p, fresh, nfresh);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_new[i] == 1) {
            items[i].outcome = GROUPCOMMIT_NEW;
            items[i].seq = fresh[k++].seq;
            snprintf(items[i].stream, sizeof items[i].stream, "%s", producer_stream(p));
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (is_new[i] <= -2) {
            const groupcommit_item_t *orig = &items[-is_new[i] - 2];
            items[i].outcome = s_same_msg(&orig->rec, items[i].rec.msg, items[i].rec.msg_len)
                                   ? GROUPCOMMIT_DUPLICATE
                                   : GROUPCOMMIT_CONFLICT;
            items[i].seq = orig->seq;
            snprintf(items[i].stream, sizeof items[i].stream, "%s", orig->stream);
        }
    }
out:
    free(fresh);
    free(is_new);
    free(first);
    return rc;
}
