/* allowlist.h - who may submit to intake: client public keys, the source
 * name each must use, and the event types and subdistricts each may send.
 * The ZAP handler asks it about a key; validator.c asks it about every
 * submit. */
#ifndef AIRGUARD_INTAKE_ALLOWLIST_H
#define AIRGUARD_INTAKE_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "err.h"

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

#endif
