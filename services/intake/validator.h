/* validator.h - the check every submit passes before it is stored (the
 * ingest door's validate hook), with the refusal counts the control
 * socket reports. */
#ifndef AIRGUARD_INTAKE_VALIDATOR_H
#define AIRGUARD_INTAKE_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allowlist.h"
#include "campaignset.h"
#include "catalogue.h"
#include "clock.h"
#include "confidential.h"
#include "keyring.h"
#include "db.h"
#include "envelope.h"
#include "err.h"

#define INTAKE_VALIDATOR_MAX_CODES 24

/* Refusals by code, for the control socket. */
typedef struct intake_validator_code_count {
    const char *code; /* static string */
    uint64_t n;
} intake_validator_code_count_t;

typedef struct intake_validator {
    const campaignset_t *campaigns;      /* borrowed: every subdistrict we serve */
    const intake_allowlist_t *allowlist; /* borrowed; NULL when insecure */
    db_t *db;                            /* borrowed, classifies store failures; may be NULL */
    const aclock_t *clock;               /* borrowed; NULL: no future-time limit */
    int64_t max_future_ms;               /* see intake_settings_t */
    uint8_t digest_key[INTAKE_DIGEST_KEY_LEN]; /* see intake_confidential_take() */
    char field[CATALOGUE_FIELD_MAX + 1];       /* the last refusal's field */
    intake_confidential_pending_t *pending;    /* owned: INGEST_BATCH_MAX, indexed by slot */
    const keyring_t *contact_keys;             /* borrowed; seals contacts; NULL: plain */
    intake_validator_code_count_t refused[INTAKE_VALIDATOR_MAX_CODES];
    size_t nrefused;
} intake_validator_t;

/* Sets v up (digest_key is copied). Returns 0, or -1 when out of memory;
 * intake_validator_fini() is safe either way. */
int intake_validator_init(intake_validator_t *v, const campaignset_t *campaigns,
                          const intake_allowlist_t *allowlist, db_t *db, const aclock_t *clock,
                          int64_t max_future_ms, const uint8_t digest_key[INTAKE_DIGEST_KEY_LEN]);
void intake_validator_fini(intake_validator_t *v);

/* The ingest_validate_fn of intake (arg is an intake_validator_t): the
 * sender's permissions, the subdistrict, the type, the body against the
 * catalogue and the campaign, the event time; then uuids are lower-cased
 * and confidential fields replaced by their digest, kept in
 * v->pending[slot] for intake_confidential_store(). Returns 0, 1 (accepted
 * with confidential fields to store) or -1. Codes: E_FORBIDDEN,
 * E_UNKNOWN_SUBDISTRICT, E_UNKNOWN_TYPE, the catalogue's codes, E_RANGE
 * (time), E_INTERNAL (a slot out of range: a bug). */
int intake_validator_check(void *arg, envelope_t *env, const char *user_id, size_t slot,
                           const char **code, const char **field, err_t *err);

#endif
