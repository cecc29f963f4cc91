/* groupcommit.c - many submits, one transaction: idempotent by message id,
 * appended to the stream, published after the commit; see
 * include/groupcommit.h and docs/streams.md. */
#include "groupcommit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define GROUPCOMMIT_ATTEMPTS 3

static int s_same_id(const stream_record_t *a, const stream_record_t *b)
{
    return a->id_len == b->id_len && strncasecmp(a->id, b->id, a->id_len) == 0;
}

static int s_same_msg(const stream_record_t *a, const char *msg, size_t len)
{
    return a->msg_len == len && memcmp(a->msg, msg, len) == 0;
}

/* Looks up the ids of the items whose lookup flag equals lookups. Items to
 * store that are found get is_new[i] = 0 and DUPLICATE or CONFLICT; lookup
 * items found with the same message get DUPLICATE (ABSENT otherwise). Ids
 * were validated as UUIDs, so the array literal cannot be used for
 * injection. */
static db_rc_t s_find_stored(db_t *db, PGconn *conn, groupcommit_item_t *items, size_t n,
                             int lookups, int *is_new, err_t *err)
{
    size_t cap = 3, len = 0, wanted = 0;
    for (size_t i = 0; i < n; i++)
        if (!items[i].lookup == !lookups)
            cap += items[i].rec.id_len + 1, wanted++;
    if (wanted == 0)
        return DB_OK;
    char *literal = malloc(cap);
    if (!literal) {
        err_set(err, "out of memory");
        return DB_FAILED;
    }
    literal[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (!items[i].lookup != !lookups)
            continue;
        if (len > 1)
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
            if (!items[i].lookup != !lookups ||
                (size_t)PQgetlength(res, r, 0) != items[i].rec.id_len ||
                strncasecmp(id, items[i].rec.id, items[i].rec.id_len) != 0)
                continue;
            int same =
                s_same_msg(&items[i].rec, PQgetvalue(res, r, 3), (size_t)PQgetlength(res, r, 3));
            if (lookups) {
                items[i].outcome = same ? GROUPCOMMIT_DUPLICATE : GROUPCOMMIT_ABSENT;
            } else {
                is_new[i] = 0;
                items[i].outcome = same ? GROUPCOMMIT_DUPLICATE : GROUPCOMMIT_CONFLICT;
            }
            snprintf(items[i].stream, sizeof items[i].stream, "%.*s", PQgetlength(res, r, 1),
                     PQgetvalue(res, r, 1));
            items[i].seq = db_get_int64(res, r, 2);
        }
    }
    PQclear(res);
    return DB_OK;
}

/* Where id's entry is, or the empty slot it would take, in an
 * open-addressing table of cap (a power of two) slots holding item index + 1
 * (0 is empty). */
static size_t s_probe(const size_t *slots, size_t cap, const groupcommit_item_t *items,
                      const stream_record_t *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, case-folded like the uuid type */
    for (size_t k = 0; k < id->id_len; k++)
        h = (h ^ (unsigned char)(id->id[k] | 0x20)) * 1099511628211ull;
    size_t at = (size_t)h & (cap - 1);
    while (slots[at] && !s_same_id(&items[slots[at] - 1].rec, id))
        at = (at + 1) & (cap - 1);
    return at;
}

/* Fills first[i] with the index of the first item to store that carries
 * item i's id (i itself when there is none before it, or for a lookup item
 * when there is none at all); returns how many items to store repeat an
 * earlier one, or -1 if out of memory. */
static long s_first_occurrences(const groupcommit_item_t *items, size_t n, size_t *first)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    long repeats = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].lookup)
            continue;
        size_t at = s_probe(slots, cap, items, &items[i].rec);
        if (slots[at]) {
            first[i] = slots[at] - 1;
            repeats++;
        } else {
            slots[at] = i + 1;
            first[i] = i;
        }
    }
    /* Lookup items only ask: they never become anyone's first occurrence. */
    for (size_t i = 0; i < n; i++) {
        if (!items[i].lookup)
            continue;
        size_t at = s_probe(slots, cap, items, &items[i].rec);
        first[i] = slots[at] ? slots[at] - 1 : i;
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
    *nfresh = 0;
    PGconn *conn = NULL;
    if ((rc = db_tx_begin(db, &conn, err)) != DB_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        is_new[i] = items[i].lookup ? -1 : 1;
    if ((rc = s_find_stored(db, conn, items, n, 0, is_new, err)) != DB_OK)
        goto out;
    /* A repeat inside the batch is answered like its first occurrence. */
    for (size_t i = 0; i < n; i++) {
        if (is_new[i] == 1 && first[i] != i)
            is_new[i] = -(int)first[i] - 2; /* an alias of first[i] */
        if (is_new[i] == 1)
            fresh[(*nfresh)++] = items[i].rec;
    }
    if ((rc = producer_append_in_tx(p, fresh, *nfresh, err)) != DB_OK ||
        (rc = s_store_extra(conn, items, n, is_new, store, arg, err)) != DB_OK)
        goto out;
    rc = db_tx_commit(db, err);
out:
    db_tx_rollback(db);
    return rc;
}

/* The fast path: every id to store is new. Appends them all; when no
 * item has effects of its own this is one autocommitted statement, one
 * round trip including the commit. */
static db_rc_t s_append_all(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                            groupcommit_store_fn store, void *arg, stream_record_t *fresh,
                            size_t *nfresh, int *is_new, err_t *err)
{
    int extras = 0;
    *nfresh = 0;
    for (size_t i = 0; i < n; i++) {
        is_new[i] = items[i].lookup ? -1 : 1;
        if (items[i].lookup)
            continue;
        fresh[(*nfresh)++] = items[i].rec;
        extras |= store && items[i].extra;
    }
    if (!extras)
        return producer_append_in_tx(p, fresh, *nfresh, err);
    PGconn *conn = NULL;
    db_rc_t rc = db_tx_begin(db, &conn, err);
    if (rc == DB_OK && (rc = producer_append_in_tx(p, fresh, *nfresh, err)) == DB_OK &&
        (rc = s_store_extra(conn, items, n, is_new, store, arg, err)) == DB_OK)
        rc = db_tx_commit(db, err);
    db_tx_rollback(db);
    return rc;
}

/* Answers the lookup items: one autocommitted SELECT for all of them. A
 * failure leaves them ABSENT (their refusal stands, as it would have if
 * the message had never been stored). */
static void s_lookup(db_t *db, groupcommit_item_t *items, size_t n, size_t nlookup,
                     groupcommit_stats_t *stats)
{
    err_t err;
    PGconn *conn = db_conn(db, &err);
    if (conn && s_find_stored(db, conn, items, n, 1, NULL, &err) == DB_OK)
        err_clear(&err);
    if (err.msg[0])
        log_debug("refused submits not looked up", LF_STR("error", err.msg));
    if (stats) {
        stats->lookups += nlookup;
        stats->lookup_queries++;
    }
}

db_rc_t groupcommit_commit(producer_t *p, db_t *db, groupcommit_item_t *items, size_t n,
                           groupcommit_store_fn store, void *arg, groupcommit_stats_t *stats,
                           err_t *err)
{
    if (n == 0)
        return DB_OK;
    db_rc_t rc = DB_FAILED;
    stream_record_t *fresh = malloc(n * sizeof *fresh);
    int *is_new = malloc(n * sizeof *is_new);
    size_t *first = malloc(n * sizeof *first);
    size_t nfresh = 0, nlookup = 0;
    long repeats = fresh && is_new && first ? s_first_occurrences(items, n, first) : -1;
    if (repeats < 0) {
        err_set(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        is_new[i] = items[i].lookup ? -1 : 1;
        if (!items[i].lookup)
            continue;
        nlookup++;
        items[i].outcome = GROUPCOMMIT_ABSENT;
        items[i].stream[0] = '\0';
        items[i].seq = 0;
    }
    if (nlookup > 0)
        s_lookup(db, items, n, nlookup, stats);
    if (nlookup == n) {
        rc = DB_OK;
        goto done;
    }
    /* Fast path: ids are almost always new (a retry is the exception), so
     * first append them all in one autocommitted statement, one round trip
     * including the commit. An id already stored fails it on the unique
     * index (SQLSTATE 23505) with nothing written, and the careful path
     * below looks the ids up. */
    if (repeats == 0) {
        rc = s_append_all(p, db, items, n, store, arg, fresh, &nfresh, is_new, err);
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
    /* A repeat inside the batch is answered like its first occurrence when
     * it carries the same message, and as a conflict when not; a lookup
     * item whose id this batch stored is a retry only with the same
     * message. */
    for (size_t i = 0; i < n; i++) {
        const groupcommit_item_t *orig = &items[first[i]];
        int same = s_same_msg(&orig->rec, items[i].rec.msg, items[i].rec.msg_len);
        if (is_new[i] <= -2) {
            items[i].outcome = same ? GROUPCOMMIT_DUPLICATE : GROUPCOMMIT_CONFLICT;
        } else if (is_new[i] == -1 && items[i].outcome == GROUPCOMMIT_ABSENT && first[i] != i &&
                   same &&
                   (orig->outcome == GROUPCOMMIT_NEW || orig->outcome == GROUPCOMMIT_DUPLICATE)) {
            items[i].outcome = GROUPCOMMIT_DUPLICATE;
        } else {
            continue;
        }
        items[i].seq = orig->seq;
        snprintf(items[i].stream, sizeof items[i].stream, "%s", orig->stream);
    }
out:
    free(fresh);
    free(is_new);
    free(first);
    return rc;
}
