/* confidential.c - fields that never enter the log (a tipster's contact).
 *
 * validate takes them out of the body before the canonical encoding and
 * puts one digest field in their place (intake_confidential_take); ingest
 * then calls intake_confidential_store for every NEW event that had some,
 * in the transaction that appends the event. So:
 *   - the contact is stored exactly when the event is: a refused message
 *     (E_ID_CONFLICT, a duplicate) stores none, a rolled-back batch
 *     (E_UNAVAILABLE, E_INTERNAL) leaves no orphan row;
 *   - the duplicate check covers the contact: a retry with other contact
 *     details, or with a contact added or removed, has another canonical
 *     body and is E_ID_CONFLICT, never silently taken for the original.
 * The digest is keyed (intake.digest_key) and covers the message id, so
 * the published event reveals neither the contact (a phone number is too
 * easily guessed for a plain hash) nor that two tips came from one
 * tipster. */
#include <stdio.h>
#include <string.h>

#include "confidential.h"

#include "mp.h"
#include "validator.h"

/* Whether key names a field of t that has one of the flags. */
static bool s_flagged(const catalogue_type_t *t, const msgpack_object *key, unsigned flags)
{
    for (size_t f = 0; f < t->n_fields; f++)
        if ((t->fields[f].flags & flags) && mp_str_eq(key, t->fields[f].name))
            return true;
    return false;
}

size_t intake_confidential_take(const catalogue_type_t *t, envelope_t *env,
                                const uint8_t key[INTAKE_DIGEST_KEY_LEN],
                                intake_confidential_pending_t *out)
{
    msgpack_object *body = &env->body;
    const catalogue_field_t *digest = NULL;
    size_t moved = 0, kept = 0;
    if (body->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (size_t f = 0; f < t->n_fields && !digest; f++)
        if (t->fields[f].flags & CAT_F_DIGEST)
            digest = &t->fields[f];
    for (uint32_t i = 0; i < body->via.map.size; i++)
        moved += s_flagged(t, &body->via.map.ptr[i].key, CAT_F_CONFIDENTIAL);
    /* The catalogue's consistency test guarantees a digest field wherever
     * there are confidential ones; without one nothing is moved. */
    if (moved == 0 || !digest)
        return 0;

    /* Packed in catalogue order, so the digest does not depend on where
     * the client put these keys. */
    msgpack_sbuffer_clear(&out->fields);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->fields, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, moved);
    for (size_t f = 0; f < t->n_fields; f++) {
        if (!(t->fields[f].flags & CAT_F_CONFIDENTIAL))
            continue;
        const msgpack_object *v = mp_get(body, t->fields[f].name);
        if (!v)
            continue;
        msgpack_pack_str_with_body(&pk, t->fields[f].name, strlen(t->fields[f].name));
        msgpack_pack_object(&pk, *v);
    }
    uint8_t mac[32];
    intake_digest_hmac_sha256(key, INTAKE_DIGEST_KEY_LEN, env->id, strlen(env->id),
                              out->fields.data, out->fields.size, mac);
    for (int i = 0; i < 32; i++)
        snprintf(out->digest + 2 * i, 3, "%02x", mac[i]);
    snprintf(out->id, sizeof out->id, "%s", env->id);
    snprintf(out->subdistrict, sizeof out->subdistrict, "%s", env->subdistrict);
    snprintf(out->type, sizeof out->type, "%s", env->type);

    /* Compact the map in place (its kv array lives in env's zone) and put
     * the digest last; at least one entry was freed for it. */
    for (uint32_t i = 0; i < body->via.map.size; i++)
        if (!s_flagged(t, &body->via.map.ptr[i].key, CAT_F_CONFIDENTIAL))
            body->via.map.ptr[kept++] = body->via.map.ptr[i];
    msgpack_object_kv *kv = &body->via.map.ptr[kept++];
    kv->key.type = MSGPACK_OBJECT_STR;
    kv->key.via.str.ptr = digest->name;
    kv->key.via.str.size = (uint32_t)strlen(digest->name);
    kv->val.type = MSGPACK_OBJECT_STR;
    kv->val.via.str.ptr = out->digest;
    kv->val.via.str.size = INTAKE_DIGEST_HEX;
    body->via.map.size = (uint32_t)kept;
    return moved;
}
