/* settings.h - intake's settings: the `intake:` section of
 * config/intake.yaml with its environment overrides, and what is refused
 * so that the service cannot start open by accident. */
#ifndef AIRGUARD_INTAKE_SETTINGS_H
#define AIRGUARD_INTAKE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define INTAKE_SETTINGS_PATH_MAX 1024

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
    char submit[256];                                /* ROUTER endpoint for submits */
    char campaigns[INTAKE_SETTINGS_PATH_MAX];        /* directory of campaign files */
    int64_t max_future_ms;                           /* 0: no limit */
    bool insecure;                                   /* no CURVE, no allow-list */
    char secret_key_file[INTAKE_SETTINGS_PATH_MAX];  /* server's CURVE secret key */
    char allow_list[INTAKE_SETTINGS_PATH_MAX];       /* client allow-list file */
    char contact_key_file[INTAKE_SETTINGS_PATH_MAX]; /* keyring file sealing contacts */
    bool contact_key_env;                            /* AIRGUARD_INTAKE_CONTACT_KEY is set */
} intake_settings_t;

/* Reads the section from root (the whole config) and the environment.
 * Returns 0, or -1 with err ("file:line: ..."). */
int intake_settings_load(const config_node_t *root, intake_settings_t *out, err_t *err);

/* True when a bind endpoint is reachable from this host only: ipc://,
 * inproc://, or tcp:// on 127.0.0.0/8, [::1] or localhost. */
bool intake_settings_endpoint_is_local(const char *endpoint);

#endif
