/* confidential_store.c - intake.confidential and intake.digest_key: the SQL
 * behind confidential.c, which has none.
 *
 * Contacts are sealed before they reach the database (common/keyring.c,
 * libsodium secretbox, the key from AIRGUARD_INTAKE_CONTACT_KEY or its
 * file, never from the database): a row holds the box, its nonce and the
 * id of the key that sealed it, and the box is bound to the row's message
 * id. Only an intake running `insecure: true` without a key (local tests)
 * writes the plain `fields` column; the next start with a key seals those
 * rows, and re-seals the rows of older keys (key rotation, docs/deploy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confidential.h"
#include "validator.h"
#include "keyring.h"

db_rc_t intake_confidential_key_load(db_t *db, uint8_t key[INTAKE_DIGEST_KEY_LEN], err_t *err)
{
    PGconn *conn = db_conn(db, err);
    if (!conn)
        return DB_TRANSIENT;
    PGresult *res = PQexecParams(conn, "SELECT key FROM digest_key", 0, NULL, NULL, NULL, NULL, 1);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_failure(db, res, err);
    } else if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != INTAKE_DIGEST_KEY_LEN) {
        err_set(err, "intake.digest_key: expected one %d-byte key", INTAKE_DIGEST_KEY_LEN);
        rc = DB_FAILED;
    } else {
        memcpy(key, PQgetvalue(res, 0, 0), INTAKE_DIGEST_KEY_LEN);
    }
    PQclear(res);
    return rc;
}

db_rc_t intake_confidential_store(void *arg, PGconn *conn, const groupcommit_item_t *item,
                                  err_t *err)
{
    intake_validator_t *v = arg;
    if (!v->pending || item->slot >= INGEST_BATCH_MAX) {
        err_set(err, "confidential fields: slot %zu out of range", item->slot);
        return DB_FAILED;
    }
    const intake_confidential_pending_t *p = &v->pending[item->slot];
    /* A slot is refilled only by the next batch; a different id here
     * would be a bug, and storing it would file a contact under the wrong
     * event. */
    if (item->rec.id_len != strlen(p->id) || memcmp(item->rec.id, p->id, item->rec.id_len) != 0) {
        err_set(err, "confidential fields: slot %zu holds another message", item->slot);
        return DB_FAILED;
    }
    const keyring_t *kr = v->contact_keys;
    uint8_t nonce[KEYRING_NONCE_LEN];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int key_id = 0;
    char key_text[16] = "";
    db_rc_t rc = DB_FAILED;
    if (kr) {
        sealed_len = keyring_sealed_len(strlen(p->id), p->fields.size);
        if (!(sealed = malloc(sealed_len))) {
            err_set(err, "confidential fields: out of memory");
            goto out;
        }
        if (keyring_seal(kr, p->id, strlen(p->id), p->fields.data, p->fields.size, &key_id, nonce,
                         sealed, err) != 0)
            goto out;
        snprintf(key_text, sizeof key_text, "%d", key_id);
    }
    const char *params[7] = {p->id,
                             p->subdistrict,
                             p->type,
                             kr ? NULL : p->fields.data,
                             kr ? key_text : NULL,
                             kr ? (const char *)nonce : NULL,
                             kr ? (const char *)sealed : NULL};
    int lengths[7] = {0, 0, 0, (int)p->fields.size, 0, KEYRING_NONCE_LEN, (int)sealed_len};
    int formats[7] = {0, 0, 0, 1, 0, 1, 1};
    /* The event is new in this transaction, so a row already under its id
     * can only be an orphan of an older intake that stored contacts before
     * their events: replace it rather than fail the batch for ever. */
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO confidential"
                                 " (msg_id, subdistrict, type, fields, key_id, nonce, sealed)"
                                 " VALUES ($1::uuid, $2, $3, $4, $5::integer, $6, $7)"
                                 " ON CONFLICT (msg_id) DO UPDATE SET subdistrict ="
                                 " EXCLUDED.subdistrict, type = EXCLUDED.type,"
                                 " fields = EXCLUDED.fields, key_id = EXCLUDED.key_id,"
                                 " nonce = EXCLUDED.nonce, sealed = EXCLUDED.sealed,"
                                 " created_at = now()",
                                 7, NULL, params, lengths, formats, 1);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = DB_OK;
    } else if (v->db) {
        rc = db_failure(v->db, res, err);
    } else {
        err_set(err, "confidential fields: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
out:
    free(sealed);
    return rc;
}

/* Seals row i of res (msg_id, fields, key_id, nonce, sealed) with the
 * current key and writes it back, unless the row changed since it was
 * read. *updated is set to 1 when it was written. */
static db_rc_t s_reseal_row(db_t *db, PGconn *conn, const keyring_t *kr, PGresult *res, int i,
                            int *updated, err_t *err)
{
    const char *id = PQgetvalue(res, i, 0);
    bool plain = !PQgetisnull(res, i, 1);
    uint8_t *opened = NULL, *sealed = NULL;
    size_t opened_len = 0;
    db_rc_t rc = DB_FAILED;
    *updated = 0;
    if (!plain) {
        int old = atoi(PQgetvalue(res, i, 2));
        if (!keyring_has(kr, old)) {
            err_set(err,
                    "intake.confidential: row %s is sealed with contact key %d, which "
                    "AIRGUARD_INTAKE_CONTACT_KEY(_FILE) does not hold; put that key back "
                    "(after the current one) until every row is re-sealed",
                    id, old);
            goto out;
        }
        if (PQgetlength(res, i, 3) != KEYRING_NONCE_LEN ||
            keyring_open(kr, old, (const uint8_t *)PQgetvalue(res, i, 3), id, strlen(id),
                         (const uint8_t *)PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4),
                         &opened, &opened_len, err) != 0) {
            char why[ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            err_set(err, "intake.confidential: row %s: %s", id, why);
            goto out;
        }
    }
    const char *fields = plain ? PQgetvalue(res, i, 1) : (const char *)opened;
    size_t fields_len = plain ? (size_t)PQgetlength(res, i, 1) : opened_len;
    uint8_t nonce[KEYRING_NONCE_LEN];
    int key_id = 0;
    size_t sealed_len = keyring_sealed_len(strlen(id), fields_len);
    if (!(sealed = malloc(sealed_len))) {
        err_set(err, "out of memory");
        goto out;
    }
    if (keyring_seal(kr, id, strlen(id), fields, fields_len, &key_id, nonce, sealed, err) != 0)
        goto out;
    char key_text[16];
    snprintf(key_text, sizeof key_text, "%d", key_id);
    /* Compare and set on the form that was read: a row another instance
     * changed meanwhile is left to it. */
    const char *params[6] = {id,
                             key_text,
                             (const char *)nonce,
                             (const char *)sealed,
                             plain ? PQgetvalue(res, i, 1) : NULL,
                             plain ? NULL : PQgetvalue(res, i, 4)};
    int lengths[6] = {
        0, 0, KEYRING_NONCE_LEN, (int)sealed_len, PQgetlength(res, i, 1), PQgetlength(res, i, 4)};
    int formats[6] = {0, 0, 1, 1, 1, 1};
    PGresult *up = PQexecParams(conn,
                                "UPDATE confidential SET fields = NULL, key_id = $2::integer,"
                                " nonce = $3, sealed = $4 WHERE msg_id = $1::uuid"
                                " AND fields IS NOT DISTINCT FROM $5::bytea"
                                " AND sealed IS NOT DISTINCT FROM $6::bytea",
                                6, NULL, params, lengths, formats, 0);
    if (PQresultStatus(up) == PGRES_COMMAND_OK) {
        *updated = !strcmp(PQcmdTuples(up), "1");
        rc = DB_OK;
    } else {
        rc = db_failure(db, up, err);
    }
    PQclear(up);
out:
    if (opened) {
        memset(opened, 0, opened_len);
        free(opened);
    }
    free(sealed);
    return rc;
}

db_rc_t intake_confidential_reseal(db_t *db, const keyring_t *kr, size_t *resealed, err_t *err)
{
    char current[16];
    const char *params[1] = {current};
    snprintf(current, sizeof current, "%d", keyring_current(kr));
    *resealed = 0;
    for (;;) {
        PGconn *conn = db_conn(db, err);
        if (!conn)
            return DB_TRANSIENT;
        /* Binary results: text columns come as their bytes, bytea as is. */
        PGresult *res = PQexecParams(conn,
                                     "SELECT msg_id::text, fields, key_id::text, nonce, sealed"
                                     " FROM confidential"
                                     " WHERE fields IS NOT NULL OR key_id <> $1::integer"
                                     " ORDER BY msg_id LIMIT 256",
                                     1, NULL, params, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            db_rc_t rc = db_failure(db, res, err);
            PQclear(res);
            return rc;
        }
        int n = PQntuples(res), progress = 0;
        for (int i = 0; i < n; i++) {
            int updated = 0;
            db_rc_t rc = s_reseal_row(db, conn, kr, res, i, &updated, err);
            if (rc != DB_OK) {
                PQclear(res);
                return rc;
            }
            progress += updated;
        }
        PQclear(res);
        *resealed += (size_t)progress;
        if (n == 0)
            return DB_OK;
        if (progress == 0) {
            err_set(err, "intake.confidential: rows are being re-sealed with another current "
                         "key by another intake instance; give every instance the same key list");
            return DB_FAILED;
        }
    }
}
