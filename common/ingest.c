/* ingest.c - validate, group-commit, acknowledge, publish; see
 * include/ingest.h. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "control.h"
#include "frames.h"
#include "log.h"

#define INGEST_COMMIT_ATTEMPTS 3

/* ---- the transaction ----------------------------------------------------- */

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
static db_rc_t s_find_stored(db_t *db, PGconn *conn, ingest_item_t *items, size_t n, int *is_new,
                             err_t *err)
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
                    ? INGEST_DUPLICATE
                    : INGEST_CONFLICT;
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
static long s_first_occurrences(const ingest_item_t *items, size_t n, size_t *first)
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
static db_rc_t s_store_extra(PGconn *conn, const ingest_item_t *items, size_t n, const int *is_new,
                             ingest_store_fn store, void *arg, err_t *err)
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

static db_rc_t s_commit_once(producer_t *p, db_t *db, ingest_item_t *items, size_t n,
                             const size_t *first, ingest_store_fn store, void *arg,
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
static db_rc_t s_append_all(producer_t *p, db_t *db, ingest_item_t *items, size_t n,
                            ingest_store_fn store, void *arg, stream_record_t *fresh, int *is_new,
                            err_t *err)
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

db_rc_t ingest_commit(producer_t *p, db_t *db, ingest_item_t *items, size_t n,
                      ingest_store_fn store, void *arg, err_t *err)
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
    for (int attempt = 1; attempt <= INGEST_COMMIT_ATTEMPTS; attempt++) {
        rc = s_commit_once(p, db, items, n, first, store, arg, fresh, &nfresh, is_new, err);
        /* Another instance stored one of our ids between our lookup and our
         * insert: look again, it will now be found. */
        if (rc == DB_FAILED && strstr(err->msg, "SQLSTATE 23505") &&
            attempt < INGEST_COMMIT_ATTEMPTS)
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
            items[i].outcome = INGEST_NEW;
            items[i].seq = fresh[k++].seq;
            snprintf(items[i].stream, sizeof items[i].stream, "%s", producer_stream(p));
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (is_new[i] <= -2) {
            const ingest_item_t *orig = &items[-is_new[i] - 2];
            items[i].outcome = s_same_msg(&orig->rec, items[i].rec.msg, items[i].rec.msg_len)
                                   ? INGEST_DUPLICATE
                                   : INGEST_CONFLICT;
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

/* ---- the socket ------------------------------------------------------- */

typedef struct slot {
    frames_t req;          /* the request, held until it is answered (at most 65 KiB) */
    msgpack_sbuffer canon; /* canonical envelope, reused */
    char id[ENVELOPE_ID_LEN + 1];
    char type[ENVELOPE_NAME_MAX + 1];
} slot_t;

struct ingest_server {
    loop_t *loop;         /* borrowed */
    void *router;         /* borrowed, bound by the caller */
    producer_t *producer; /* borrowed */
    db_t *db;             /* borrowed */
    ingest_validate_fn validate;
    ingest_store_fn store;
    void *arg;             /* for validate and store */
    envelope_t env;        /* reused decoder */
    envelope_t scratch;    /* a refused message decoded again, untouched by validate */
    msgpack_sbuffer canon; /* its canonical form */
    msgpack_sbuffer reply;
    slot_t slots[INGEST_BATCH_MAX];
    ingest_item_t items[INGEST_BATCH_MAX];
    ingest_stats_t stats;
};

static int s_on_readable(loop_t *loop, void *socket, void *arg);

int ingest_socket_options(void *router)
{
    int64_t max = INGEST_SOCKET_MAX_BYTES;
    int one = 1;
    if (zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        return -1;
    return 0;
}

ingest_server_t *ingest_server_new(loop_t *loop, void *router, producer_t *p, db_t *db,
                                   ingest_validate_fn validate, ingest_store_fn store, void *arg,
                                   err_t *err)
{
    ingest_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->router = router;
    self->producer = p;
    self->db = db;
    self->validate = validate;
    self->store = store;
    self->arg = arg;
    envelope_init(&self->env);
    envelope_init(&self->scratch);
    msgpack_sbuffer_init(&self->canon);
    msgpack_sbuffer_init(&self->reply);
    for (int i = 0; i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_init(&self->slots[i].canon);
    if (loop_add_reader(loop, router, s_on_readable, self) != 0) {
        err_set(err, "event loop is full");
        ingest_server_destroy(&self);
        return NULL;
    }
    return self;
}

void ingest_server_destroy(ingest_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_server_t *self = *self_p;
    loop_remove_reader(self->loop, self->router);
    envelope_fini(&self->env);
    envelope_fini(&self->scratch);
    msgpack_sbuffer_destroy(&self->canon);
    msgpack_sbuffer_destroy(&self->reply);
    for (int i = 0; i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_destroy(&self->slots[i].canon);
    free(self);
    *self_p = NULL;
}

void ingest_server_stats(const ingest_server_t *s, ingest_stats_t *out)
{
    *out = s->stats;
}

/* Sends the packed reply to the slot's peer and releases its request. */
static void s_reply(ingest_server_t *self, slot_t *slot)
{
    if (frames_reply(self->router, &slot->req, self->reply.data, self->reply.size) != 0)
        log_debug("reply not delivered: client gone");
    frames_close(&slot->req);
}

static void s_reply_error(ingest_server_t *self, slot_t *slot, const char *code, const char *field,
                          const char *text)
{
    msgpack_sbuffer_clear(&self->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->reply, msgpack_sbuffer_write);
    control_pack_error_id(&pk, code, field, text, slot->id[0] ? slot->id : NULL);
    s_reply(self, slot);
}

static void s_reply_ok(ingest_server_t *self, slot_t *slot, const ingest_item_t *item)
{
    msgpack_sbuffer_clear(&self->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->reply, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    control_pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    control_pack_str(&pk, "id");
    control_pack_str(&pk, slot->id);
    control_pack_str(&pk, "stream");
    control_pack_str(&pk, item->stream);
    control_pack_str(&pk, "seq");
    msgpack_pack_int64(&pk, item->seq);
    control_pack_str(&pk, "duplicate");
    if (item->outcome == INGEST_DUPLICATE)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_reply(self, slot);
}

/* The field an envelope error names ("field 'time': ..."), for the reply's
 * "field" key; NULL when the message names none. */
static const char *s_field_of(const char *msg, char *out, size_t cap)
{
    const char *p = strstr(msg, "field '");
    if (!p)
        return NULL;
    p += 7;
    size_t n = strcspn(p, "'");
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Reads one request into slot. Returns 1 for a request, 0 when none is
 * waiting, -1 for a request of the wrong shape (answered, or dropped when
 * it came without an identity). */
static int s_read_request(ingest_server_t *self, slot_t *slot)
{
    slot->id[0] = '\0';
    if (!frames_recv(&slot->req, self->router))
        return 0;
    if (frames_is_request(&slot->req))
        return 1;
    log_warn("submit of the wrong shape", LF_INT("frames", slot->req.total));
    self->stats.misshapen++;
    s_reply_error(self, slot, "E_MALFORMED", NULL,
                  "expected one frame: the envelope (after REQ's empty delimiter)");
    return -1;
}

/* A refused message whose id is stored with the same content gets its
 * original ack: looks it up, comparing with the canonical form of the
 * message as received. Returns 1 when answered, 0 otherwise. */
static int s_answer_if_stored(ingest_server_t *self, slot_t *slot, const zmq_msg_t *payload)
{
    err_t err;
    if (envelope_decode(&self->scratch, zmq_msg_data((zmq_msg_t *)payload), zmq_msg_size(payload),
                        &err) != ENVELOPE_OK)
        return 0;
    msgpack_sbuffer_clear(&self->canon);
    if (envelope_encode(&self->scratch, &self->canon, &err) != 0)
        return 0;
    PGconn *conn = db_conn(self->db, &err);
    if (!conn)
        return 0;
    const char *params[1] = {self->scratch.id};
    PGresult *res = PQexecParams(conn, "SELECT stream, seq, body FROM stream_log WHERE msg_id = $1",
                                 1, NULL, params, NULL, NULL, 1);
    int answered = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        db_failure(self->db, res, &err);
    } else if (PQntuples(res) == 1 && (size_t)PQgetlength(res, 0, 2) == self->canon.size &&
               memcmp(PQgetvalue(res, 0, 2), self->canon.data, self->canon.size) == 0) {
        ingest_item_t item = {.outcome = INGEST_DUPLICATE, .seq = db_get_int64(res, 0, 1)};
        snprintf(item.stream, sizeof item.stream, "%.*s", PQgetlength(res, 0, 0),
                 PQgetvalue(res, 0, 0));
        memcpy(slot->id, self->scratch.id, sizeof slot->id);
        self->stats.duplicates++;
        s_reply_ok(self, slot, &item);
        answered = 1;
    }
    PQclear(res);
    return answered;
}

/* Decodes, validates and canonicalises the request in slot index; 0 if it
 * joins the batch, -1 if it was answered. */
static int s_admit(ingest_server_t *self, size_t index, zmq_msg_t *payload)
{
    slot_t *slot = &self->slots[index];
    ingest_item_t *item = &self->items[index];
    err_t err;
    char field_buf[64];
    slot->id[0] = '\0';
    envelope_status_t st =
        envelope_decode(&self->env, zmq_msg_data(payload), zmq_msg_size(payload), &err);
    if (st != ENVELOPE_OK) {
        self->stats.rejected++;
        s_reply_error(self, slot, envelope_status_code(st),
                      s_field_of(err.msg, field_buf, sizeof field_buf), err.msg);
        return -1;
    }
    /* From here on every answer names the message it is about. */
    memcpy(slot->id, self->env.id, sizeof slot->id);
    const char *code = "E_INTERNAL", *field = NULL;
    const char *user_id = zmq_msg_gets(payload, "User-Id");
    int verdict = self->validate
                      ? self->validate(self->arg, &self->env, user_id, index, &code, &field, &err)
                      : 0;
    if (verdict < 0) {
        /* Never tell an unauthorised sender what is stored. */
        if (strcmp(code, "E_FORBIDDEN") != 0 && s_answer_if_stored(self, slot, payload))
            return -1;
        self->stats.rejected++;
        s_reply_error(self, slot, code, field, err.msg);
        return -1;
    }
    msgpack_sbuffer_clear(&slot->canon);
    if (envelope_encode(&self->env, &slot->canon, &err) != 0) {
        self->stats.internal++;
        log_error("decoded envelope failed to encode", LF_STR("error", err.msg));
        s_reply_error(self, slot, "E_INTERNAL", NULL, "not stored: internal error");
        return -1;
    }
    memcpy(slot->id, self->env.id, sizeof slot->id);
    memcpy(slot->type, self->env.type, sizeof slot->type);
    *item = (ingest_item_t){
        .rec = {.id = slot->id,
                .id_len = strlen(slot->id),
                .type = slot->type,
                .type_len = strlen(slot->type),
                .msg = slot->canon.data,
                .msg_len = slot->canon.size},
        .slot = index,
        .extra = verdict == 1,
    };
    return 0;
}

static int s_on_readable(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    (void)socket;
    ingest_server_t *self = arg;
    size_t n = 0;
    /* Refused requests count against the turn too, so a flood of bad ones
     * cannot keep timers and other sockets waiting. */
    for (int reads = 0; n < INGEST_BATCH_MAX && reads < 2 * INGEST_BATCH_MAX; reads++) {
        int got = s_read_request(self, &self->slots[n]);
        if (got == 0)
            break;
        if (got < 0)
            continue;
        frames_t *req = &self->slots[n].req;
        int admitted = s_admit(self, n, &req->part[req->n - 1]);
        if (admitted == 0)
            n++;
    }
    if (n == 0)
        return 0;

    err_t err;
    db_rc_t rc =
        ingest_commit(self->producer, self->db, self->items, n, self->store, self->arg, &err);
    if (rc == DB_OK)
        self->stats.batches++;
    else
        log_warn("submit batch not stored", LF_INT("n", n), LF_STR("error", err.msg),
                 LF_STR("answer", rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL"));
    for (size_t i = 0; i < n; i++) {
        slot_t *slot = &self->slots[i];
        const ingest_item_t *item = &self->items[i];
        if (rc == DB_TRANSIENT) {
            self->stats.unavailable++;
            s_reply_error(
                self, slot, "E_UNAVAILABLE", NULL,
                "database unavailable: retry with the same id (it is stored at most once)");
        } else if (rc != DB_OK) {
            self->stats.internal++;
            s_reply_error(self, slot, "E_INTERNAL", NULL,
                          "internal error: retry with the same id (it is stored at most once)");
        } else if (item->outcome == INGEST_CONFLICT) {
            self->stats.rejected++;
            s_reply_error(self, slot, "E_ID_CONFLICT", "id",
                          "field 'id': already used for a different message");
        } else {
            if (item->outcome == INGEST_NEW)
                self->stats.accepted++;
            else
                self->stats.duplicates++;
            s_reply_ok(self, slot, item);
        }
    }
    return 0;
}
