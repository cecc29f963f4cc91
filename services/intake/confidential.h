/* confidential.h - fields that never enter the log (a tipster's contact):
 * taken out of the body by the validator, replaced by a keyed digest, and
 * stored by ingest's store hook in the transaction that appends the event
 * (see confidential.c for why). */
#ifndef AIRGUARD_INTAKE_CONFIDENTIAL_H
#define AIRGUARD_INTAKE_CONFIDENTIAL_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "db.h"
#include "digest.h"
#include "envelope.h"
#include "err.h"
#include "ingest.h"
#include "keyring.h"

/* What validate keeps of one accepted message with confidential fields
 * until ingest's store hook writes it, in the same transaction as the
 * event. One per ingest slot. */
typedef struct intake_confidential_pending {
    char id[ENVELOPE_ID_LEN + 1];            /* the message id, lower case */
    char subdistrict[ENVELOPE_NAME_MAX + 1]; /* for the row */
    char type[ENVELOPE_NAME_MAX + 1];        /* for the row */
    char digest[INTAKE_DIGEST_HEX + 1];      /* the body's digest value points here */
    msgpack_sbuffer fields;                  /* the confidential fields as one map */
} intake_confidential_pending_t;

/* Moves the fields of t flagged CAT_F_CONFIDENTIAL out of env->body into
 * out->fields (one map, in catalogue order) and puts t's CAT_F_DIGEST field
 * in their place, last in the body: HMAC-SHA-256 under key of the message
 * id and those packed fields, in hex. The body shrinks in place; its new
 * entry points into out, which must outlive the body's encoding. Returns
 * the number of fields moved (0: body and out untouched). */
size_t intake_confidential_take(const catalogue_type_t *t, envelope_t *env,
                                const uint8_t key[INTAKE_DIGEST_KEY_LEN],
                                intake_confidential_pending_t *out);

/* Reads the digest key (intake.digest_key, made by migration 002). Returns
 * DB_OK, DB_TRANSIENT or DB_FAILED with err. */
db_rc_t intake_confidential_key_load(db_t *db, uint8_t key[INTAKE_DIGEST_KEY_LEN], err_t *err);

/* The groupcommit_store_fn of intake (arg is the intake_validator_t of validator.h): writes the
 * pending fields of item->slot into intake.confidential under the message
 * id, inside ingest's transaction: sealed with v->contact_keys' current
 * key, or in plain text when there is no key (insecure runs only). The SQL
 * is in confidential_store.c. */
db_rc_t intake_confidential_store(void *arg, PGconn *conn, const groupcommit_item_t *item,
                                  err_t *err);

#define INTAKE_CONTACT_KEY_ENV "AIRGUARD_INTAKE_CONTACT_KEY"

/* Seals every plain row of intake.confidential and re-seals every row of a
 * key other than kr's current one; *resealed counts the rows written.
 * DB_FAILED with err naming the row when one is sealed with a key kr does
 * not hold, or does not open; DB_TRANSIENT when the database is away. */
db_rc_t intake_confidential_reseal(db_t *db, const keyring_t *kr, size_t *resealed, err_t *err);

#endif
