/* confidential.c - fields that never enter the log: taken out of the body
 * before the canonical encoding, stored in intake.confidential under the
 * message id.
 *
 * They are stored (and committed) before the event itself, so an ack still
 * means everything the client sent is durable. A retry with the same id
 * finds the same bytes and goes on; the same id with different confidential
 * fields is a conflict, like a different body. If the event is then not
 * stored (database down) the row waits for the retry. */
#include <string.h>

#include "intake.h"

size_t intake_confidential_take(const catalogue_type_t *t, envelope_t *env, msgpack_sbuffer *out)
{
    msgpack_object *body = &env->body;
    size_t moved = 0, kept = 0;
    msgpack_sbuffer_clear(out);
    if (body->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[i];
        for (size_t f = 0; f < t->n_fields; f++)
            if ((t->fields[f].flags & CAT_F_CONFIDENTIAL) && mp_str_eq(&kv->key, t->fields[f].name))
                moved++;
    }
    if (moved == 0)
        return 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, moved);
    /* Compact the map in place: the kv array lives in env's zone. */
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        msgpack_object_kv kv = body->via.map.ptr[i];
        bool secret = false;
        for (size_t f = 0; f < t->n_fields && !secret; f++)
            secret =
                (t->fields[f].flags & CAT_F_CONFIDENTIAL) && mp_str_eq(&kv.key, t->fields[f].name);
        if (secret) {
            msgpack_pack_object(&pk, kv.key);
            msgpack_pack_object(&pk, kv.val);
        } else {
            body->via.map.ptr[kept++] = kv;
        }
    }
    body->via.map.size = (uint32_t)kept;
    return moved;
}

db_rc_t intake_confidential_store(db_t *db, const envelope_t *env, const char *fields, size_t len,
                                  bool *conflict, err_t *err)
{
    *conflict = false;
    PGconn *conn = db_conn(db, err);
    if (!conn)
        return DB_TRANSIENT;
    const char *params[4] = {env->id, env->subdistrict, env->type, fields};
    int lengths[4] = {0, 0, 0, (int)len};
    int formats[4] = {0, 0, 0, 1};
    /* The DO UPDATE that changes nothing makes RETURNING give the stored
     * row in both cases, in one round trip. */
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO confidential (msg_id, subdistrict, type, fields)"
                                 " VALUES ($1::uuid, $2, $3, $4)"
                                 " ON CONFLICT (msg_id) DO UPDATE SET msg_id = EXCLUDED.msg_id"
                                 " RETURNING fields",
                                 4, NULL, params, lengths, formats, 1);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = db_failure(db, res, err);
    else
        *conflict = (size_t)PQgetlength(res, 0, 0) != len ||
                    memcmp(PQgetvalue(res, 0, 0), fields, len) != 0;
    PQclear(res);
    return rc;
}
