/* envelope.h - the one msgpack envelope every airguard message travels in,
 * and its strict, bounded codec.
 *
 * Wire form (docs/protocol.md is the normative description): a msgpack map
 * with exactly these keys, in any order:
 *
 *   "v"           positive int   schema version, ENVELOPE_VERSION
 *   "id"          str (36)       message id, a UUID in canonical 8-4-4-4-12
 *                                hex form; the idempotency key
 *   "type"        str (1..63)    event type, [a-z0-9_.]
 *   "source"      str (1..63)    who sent it (system or service instance)
 *   "subdistrict" str (1..63)    the campaign the message belongs to
 *   "time"        int            event time, milliseconds since the Unix epoch, UTC
 *   "body"        map            type-specific fields
 *
 * Decoding never trusts the bytes: the input size is bounded by
 * ENVELOPE_MAX_BYTES, nesting by ENVELOPE_MAX_DEPTH, each string by its
 * limit; a missing, duplicated, unknown or mistyped key is an error naming
 * the field. Nothing here asserts on input.
 *
 * Ownership: an envelope_t owns the msgpack zone its body points into;
 * envelope_fini() releases it. Decoding into the same envelope_t again reuses
 * the zone (no allocation per message on the hot path). */
#ifndef AIRGUARD_ENVELOPE_H
#define AIRGUARD_ENVELOPE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mpscan.h"
#include "uuid.h"

#define ENVELOPE_VERSION 1
#define ENVELOPE_MAX_BYTES (64u * 1024u)
#define ENVELOPE_MAX_DEPTH MPSCAN_MAX_DEPTH /* the envelope map itself is depth 1 */
#define ENVELOPE_ID_LEN UUID_LEN
#define ENVELOPE_NAME_MAX 63 /* type, source, subdistrict */

/* Why a decode failed; stable, and mapped 1:1 to the protocol's error codes. */
typedef enum envelope_status {
    ENVELOPE_OK = 0,
    ENVELOPE_E_TOO_LARGE,   /* input longer than ENVELOPE_MAX_BYTES */
    ENVELOPE_E_MALFORMED,   /* not msgpack, truncated, or trailing bytes */
    ENVELOPE_E_TOO_DEEP,    /* nesting beyond ENVELOPE_MAX_DEPTH */
    ENVELOPE_E_NOT_MAP,     /* top level is not a map */
    ENVELOPE_E_MISSING,     /* a required key is absent */
    ENVELOPE_E_TYPE,        /* a key has the wrong msgpack type */
    ENVELOPE_E_RANGE,       /* a value is out of range (length, charset, uuid form) */
    ENVELOPE_E_UNKNOWN_KEY, /* a key that is not part of the envelope */
    ENVELOPE_E_VERSION,     /* "v" is not a version this build speaks */
} envelope_status_t;

typedef struct envelope {
    uint32_t version;                        /* "v" */
    char id[ENVELOPE_ID_LEN + 1];            /* "id", lower-cased canonical UUID */
    char type[ENVELOPE_NAME_MAX + 1];        /* "type" */
    char source[ENVELOPE_NAME_MAX + 1];      /* "source" */
    char subdistrict[ENVELOPE_NAME_MAX + 1]; /* "subdistrict" */
    int64_t time_ms;                         /* "time" */
    msgpack_object body;                     /* "body", a map; points into unpacked's zone */
    msgpack_unpacked unpacked;               /* owns the decoded object tree */
} envelope_t;

/* Prepares an envelope for decoding; pairs with envelope_fini(). */
void envelope_init(envelope_t *env);

/* Releases the zone; the envelope may be init'ed again afterwards. */
void envelope_fini(envelope_t *env);

/* Decodes buf into env. Returns ENVELOPE_OK, or a status with err filled in
 * with a message that names the field ("field 'time': expected an integer,
 * got str"). On failure env's fields are unspecified but env stays valid for
 * another decode or fini. buf is not retained: body points into env's zone. */
envelope_status_t envelope_decode(envelope_t *env, const char *buf, size_t len, err_t *err);

/* Short stable name of a status, e.g. "E_TOO_LARGE"; used as the protocol's
 * error code. */
const char *envelope_status_code(envelope_status_t status);

/* Appends the canonical encoding of env (keys in the order listed above,
 * body re-packed as decoded) to sbuf. body must be a map (an empty map is
 * fine: set body.type = MSGPACK_OBJECT_MAP, size 0). Returns 0, or -1 if a
 * field is invalid (err names it), in which case sbuf may hold a partial
 * write and should be cleared by the caller. */
int envelope_encode(const envelope_t *env, msgpack_sbuffer *sbuf, err_t *err);

/* Packs the canonical envelope header with the body supplied as already
 * packed msgpack bytes (body must be one msgpack map). For producers that
 * build bodies with msgpack_packer. */
int envelope_encode_raw_body(const envelope_t *env, const char *body, size_t body_len,
                             msgpack_sbuffer *sbuf, err_t *err);

#endif
