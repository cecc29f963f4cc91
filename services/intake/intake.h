/* intake.h - the intake service's domain modules (no sockets here, so the
 * unit tests link them from libsvc_intake.a):
 *
 *   settings.c      the `intake:` section of config/intake.yaml
 *   keys.c          CURVE key files (secret keys never live in the repo)
 *   allowlist.c     who may submit: client public keys, their source name,
 *                   the event types and subdistricts each may send
 *   digest.c        HMAC-SHA-256, for the digest of confidential fields
 *   confidential.c  fields kept out of the log (a tipster's contact): taken
 *                   out by validate (no SQL here)
 *   confidential_store.c  their table: sealed (encrypted) by ingest's store
 *                   hook, re-sealed at start; the digest key
 *   validate.c      the check every submit passes before it is stored
 *
 * main.c wires them to the sockets. */
#ifndef AIRGUARD_INTAKE_H
#define AIRGUARD_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "catalogue.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "envelope.h"
#include "err.h"
#include "ingest.h"
#include "keyring.h"

DB_DECLARE_MIGRATIONS(intake);

#define INTAKE_PATH_MAX 1024
#define INTAKE_ZAP_DOMAIN "intake"

/* ---- settings.c ------------------------------------------------------------ */

/* config/intake.yaml, section `intake:` (environment overrides in brackets):
 *   submit: tcp://0.0.0.0:7200         [AIRGUARD_SUBMIT_ENDPOINT]
 *   campaigns: seeds                   [AIRGUARD_CAMPAIGNS_DIR] one file per subdistrict
 *   max_future_s: 600                  event time may lead our clock by this much
 *   security:
 *     secret_key_file: /run/secrets/intake.key  [AIRGUARD_INTAKE_SECRET_KEY_FILE]
 *     allow_list: config/intake-clients.yaml    [AIRGUARD_INTAKE_ALLOW_LIST]
 *     contact_key_file: /run/secrets/intake_contact_key
 *                                      [AIRGUARD_INTAKE_CONTACT_KEY_FILE; or the keys
 *                                      themselves in AIRGUARD_INTAKE_CONTACT_KEY]
 *                                      seals confidential fields (include/keyring.h)
 *     insecure: false                  true only for local runs and tests
 * Refused at load, so the service cannot start open by accident: no secret
 * key without insecure; a key without an allow-list; insecure together
 * with a key or an allow-list (which one was meant?); insecure on a submit
 * endpoint other than loopback, ipc:// or inproc://; no contact key without
 * insecure while the catalogue has confidential fields (contacts would be
 * stored in plain text). */
typedef struct intake_settings {
    char submit[256];                       /* ROUTER endpoint for submits */
    char campaigns[INTAKE_PATH_MAX];        /* directory of campaign files */
    int64_t max_future_ms;                  /* 0: no limit */
    bool insecure;                          /* no CURVE, no allow-list */
    char secret_key_file[INTAKE_PATH_MAX];  /* server's CURVE secret key */
    char allow_list[INTAKE_PATH_MAX];       /* client allow-list file */
    char contact_key_file[INTAKE_PATH_MAX]; /* keyring file sealing contacts */
    bool contact_key_env;                   /* AIRGUARD_INTAKE_CONTACT_KEY is set */
} intake_settings_t;

/* Reads the section from root (the whole config) and the environment.
 * Returns 0, or -1 with err ("file:line: ..."). */
int intake_settings_load(const config_node_t *root, intake_settings_t *out, err_t *err);

/* True when a bind endpoint is reachable from this host only: ipc://,
 * inproc://, or tcp:// on 127.0.0.0/8, [::1] or localhost. */
bool intake_endpoint_is_local(const char *endpoint);

/* ---- keys.c ---------------------------------------------------------------- */

/* Reads a CURVE key file: the first line that is not empty and not a
 * "#" comment holds the 40-character Z85 key. Fills key (32 bytes).
 * A secret key file readable by group or others is refused. */
int intake_key_read(const char *path, bool secret, uint8_t key[32], err_t *err);

/* Parses a 40-character Z85 key. */
int intake_key_parse(const char *z85, uint8_t key[32], err_t *err);

/* ---- allowlist.c ----------------------------------------------------------- */

/* The allow-list file:
 *   clients:
 *     - source: patrol-app            # the envelope "source" it must use:
 *                                     # 1..63 of [A-Za-z0-9_.-]
 *       keys: ['<Z85 public key>', ...]   # its devices' public keys
 *       types: [patrol.*, task.*]     # exact types, "prefix.*", or "*"
 *       subdistricts: [baiyang]       # optional: default every subdistrict
 * Sources are unique; a key belongs to one source. */
typedef struct intake_allowlist intake_allowlist_t;

/* Loads and checks the file (sources and subdistricts follow the
 * envelope's name rule; types must be catalogue types or prefixes of
 * some). Returns NULL with err naming file and line. */
intake_allowlist_t *intake_allowlist_load(const char *path, err_t *err);
void intake_allowlist_destroy(intake_allowlist_t **self_p);
size_t intake_allowlist_count(const intake_allowlist_t *self);

/* The source owning key; NULL when the key is not listed. Borrowed. */
const char *intake_allowlist_source_of(const intake_allowlist_t *self, const uint8_t key[32]);

/* Whether source may send type for subdistrict; on refusal *field names
 * what is refused ("source", "type" or "subdistrict"). */
bool intake_allowlist_permits(const intake_allowlist_t *self, const char *source,
                              const envelope_t *env, const char **field);

/* ---- digest.c -------------------------------------------------------------- */

/* HMAC-SHA-256 of the concatenation a || b under key, into out. */
void intake_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                        const void *b, size_t b_len, uint8_t out[32]);

/* ---- confidential.c -------------------------------------------------------- */

#define INTAKE_DIGEST_KEY_LEN 32
#define INTAKE_DIGEST_HEX 64

/* What validate keeps of one accepted message with confidential fields
 * until ingest's store hook writes it, in the same transaction as the
 * event. One per ingest slot. */
typedef struct intake_pending {
    char id[ENVELOPE_ID_LEN + 1];            /* the message id, lower case */
    char subdistrict[ENVELOPE_NAME_MAX + 1]; /* for the row */
    char type[ENVELOPE_NAME_MAX + 1];        /* for the row */
    char digest[INTAKE_DIGEST_HEX + 1];      /* the body's digest value points here */
    msgpack_sbuffer fields;                  /* the confidential fields as one map */
} intake_pending_t;

/* Moves the fields of t flagged CAT_F_CONFIDENTIAL out of env->body into
 * out->fields (one map, in catalogue order) and puts t's CAT_F_DIGEST field
 * in their place, last in the body: HMAC-SHA-256 under key of the message
 * id and those packed fields, in hex. The body shrinks in place; its new
 * entry points into out, which must outlive the body's encoding. Returns
 * the number of fields moved (0: body and out untouched). */
size_t intake_confidential_take(const catalogue_type_t *t, envelope_t *env,
                                const uint8_t key[INTAKE_DIGEST_KEY_LEN], intake_pending_t *out);

/* ---- confidential_store.c -------------------------------------------------- */

#define INTAKE_CONTACT_KEY_ENV "AIRGUARD_INTAKE_CONTACT_KEY"

/* Reads the digest key (intake.digest_key, made by migration 002). Returns
 * DB_OK, DB_TRANSIENT or DB_FAILED with err. */
db_rc_t intake_digest_key_load(db_t *db, uint8_t key[INTAKE_DIGEST_KEY_LEN], err_t *err);

/* The ingest_store_fn of intake (arg is the intake_validator_t): writes the
 * pending fields of item->slot into intake.confidential under the message
 * id, inside ingest's transaction: sealed with v->contact_keys' current
 * key, or in plain text when there is no key (insecure runs only). */
db_rc_t intake_confidential_store(void *arg, PGconn *conn, const ingest_item_t *item, err_t *err);

/* Seals every plain row of intake.confidential and re-seals every row of a
 * key other than kr's current one; *resealed counts the rows written.
 * DB_FAILED with err naming the row when one is sealed with a key kr does
 * not hold, or does not open; DB_TRANSIENT when the database is away. */
db_rc_t intake_confidential_reseal(db_t *db, const keyring_t *kr, size_t *resealed, err_t *err);

/* ---- validate.c ------------------------------------------------------------ */

#define INTAKE_MAX_CODES 24

/* Refusals by code, for the control socket. */
typedef struct intake_code_count {
    const char *code; /* static string */
    uint64_t n;
} intake_code_count_t;

typedef struct intake_validator {
    const campaign_set_t *campaigns;     /* borrowed: every subdistrict we serve */
    const intake_allowlist_t *allowlist; /* borrowed; NULL when insecure */
    db_t *db;                            /* borrowed, classifies store failures; may be NULL */
    const aclock_t *clock;               /* borrowed; NULL: no future-time limit */
    int64_t max_future_ms;               /* see intake_settings_t */
    uint8_t digest_key[INTAKE_DIGEST_KEY_LEN]; /* see intake_confidential_take() */
    const keyring_t *contact_keys;             /* borrowed; seals contacts; NULL: plain */
    char field[CATALOGUE_FIELD_MAX + 1];       /* the last refusal's field */
    intake_pending_t *pending;                 /* owned: INGEST_BATCH_MAX, indexed by slot */
    intake_code_count_t refused[INTAKE_MAX_CODES];
    size_t nrefused;
} intake_validator_t;

/* Sets v up (digest_key is copied). Returns 0, or -1 when out of memory;
 * intake_validator_fini() is safe either way. */
int intake_validator_init(intake_validator_t *v, const campaign_set_t *campaigns,
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
int intake_validate(void *arg, envelope_t *env, const char *user_id, size_t slot, const char **code,
                    const char **field, err_t *err);

#endif
