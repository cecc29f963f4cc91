/* intake.h - the intake service's domain modules (no sockets here, so the
 * unit tests link them from libsvc_intake.a):
 *
 *   settings.c      the `intake:` section of config/intake.yaml
 *   keys.c          CURVE key files (secret keys never live in the repo)
 *   allowlist.c     who may submit: client public keys, their source name,
 *                   the event types and subdistricts each may send
 *   confidential.c  fields kept out of the log (a tipster's contact)
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
 *     insecure: false                  true only for local runs and tests
 * With no secret key the service refuses to start unless insecure is true;
 * insecure together with a key is refused too (which one was meant?). */
typedef struct intake_settings {
    char submit[256];                      /* ROUTER endpoint for submits */
    char campaigns[INTAKE_PATH_MAX];       /* directory of campaign files */
    int64_t max_future_ms;                 /* 0: no limit */
    bool insecure;                         /* no CURVE, no allow-list */
    char secret_key_file[INTAKE_PATH_MAX]; /* server's CURVE secret key */
    char allow_list[INTAKE_PATH_MAX];      /* client allow-list file */
} intake_settings_t;

/* Reads the section from root (the whole config) and the environment.
 * Returns 0, or -1 with err ("file:line: ..."). */
int intake_settings_load(const config_node_t *root, intake_settings_t *out, err_t *err);

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
 *     - source: patrol-app            # the envelope "source" it must use
 *       keys: ['<Z85 public key>', ...]   # its devices' public keys
 *       types: [patrol.*, task.*]     # exact types, "prefix.*", or "*"
 *       subdistricts: [baiyang]       # optional: default every subdistrict
 * Sources are unique; a key belongs to one source. */
typedef struct intake_allowlist intake_allowlist_t;

/* Loads and checks the file (types must be catalogue types or prefixes of
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

/* ---- confidential.c -------------------------------------------------------- */

/* Moves the fields of t flagged CAT_F_CONFIDENTIAL out of env->body (the
 * map shrinks in place) and packs them, as one map, into out (cleared
 * first). Returns the number of fields moved. */
size_t intake_confidential_take(const catalogue_type_t *t, envelope_t *env, msgpack_sbuffer *out);

/* Stores the moved fields under the message id (intake.confidential, its
 * own transaction). Returns DB_OK when stored now or stored before with the
 * same bytes, DB_TRANSIENT when the database is down, DB_FAILED with err on
 * other failures; *conflict is set when the id holds different fields. */
db_rc_t intake_confidential_store(db_t *db, const envelope_t *env, const char *fields, size_t len,
                                  bool *conflict, err_t *err);

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
    db_t *db;                            /* borrowed, for confidential fields; NULL skips them */
    const aclock_t *clock;               /* borrowed; NULL: no future-time limit */
    int64_t max_future_ms;               /* see intake_settings_t */
    char field[CATALOGUE_FIELD_MAX + 1]; /* the last refusal's field */
    msgpack_sbuffer secret;              /* confidential fields of the message at hand */
    intake_code_count_t refused[INTAKE_MAX_CODES];
    size_t nrefused;
} intake_validator_t;

void intake_validator_init(intake_validator_t *v, const campaign_set_t *campaigns,
                           const intake_allowlist_t *allowlist, db_t *db, const aclock_t *clock,
                           int64_t max_future_ms);
void intake_validator_fini(intake_validator_t *v);

/* The ingest_validate_fn of intake (arg is an intake_validator_t): the
 * sender's permissions, the subdistrict, the type, the body against the
 * catalogue and the campaign, the event time; then the confidential
 * fields are taken out and stored. Codes: E_FORBIDDEN,
 * E_UNKNOWN_SUBDISTRICT, E_UNKNOWN_TYPE, the catalogue's codes, E_RANGE
 * (time), E_ID_CONFLICT and E_UNAVAILABLE (confidential store). */
int intake_validate(void *arg, envelope_t *env, const char *user_id, const char **code,
                    const char **field, err_t *err);

#endif
