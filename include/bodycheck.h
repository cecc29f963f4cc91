/* bodycheck.h - the one checker that reads an event body against its type
 * in the catalogue (catalogue.h) and its references against the campaign.
 *
 * Body rules, for every type (docs/protocol.md section 3 says the same):
 *   - a msgpack map with str keys; a key not in the type's field list, or a
 *     key that is not a str (no field named then), is E_UNKNOWN_KEY (typos
 *     surface), a key twice is E_MALFORMED;
 *   - an optional field is omitted when it has no value; nil is E_TYPE;
 *   - strings are valid UTF-8; lengths are in bytes (a Chinese character is
 *     3); no kind allows control characters (C0, DEL, C1 U+0080..U+009F) or
 *     the invisible direction and line-separator marks U+200E/U+200F,
 *     U+2028/U+2029, U+202A..U+202E, U+2066..U+2069 (they make a stored text
 *     read differently from what was checked), except that "text" allows
 *     \n, \t and \r when it starts a \r\n pair;
 *   - references name an id of the campaign of the envelope's subdistrict
 *     (E_UNKNOWN_REF), and all places named in one body must agree
 *     (E_REF_MISMATCH, naming the later field): one community; a
 *     compound/school in the grid given beside it; a checkpoint at the key
 *     area given beside it; a grid among the grids of the key area (or
 *     checkpoint) given beside it, when the seed lists that area's grids;
 *   - type-level rules (at least one of, requires, when value then
 *     requires, not after) are E_MISSING / E_RANGE naming the field.
 * The first problem found is reported: keys in wire order (not str,
 * unknown, twice), then fields in catalogue order, then rules, then place
 * agreement.
 *
 * Nothing here allocates; thread-safe. */
#ifndef AIRGUARD_BODYCHECK_H
#define AIRGUARD_BODYCHECK_H

#include <msgpack.h>
#include <stddef.h>

#include "campaign.h"
#include "catalogue.h"
#include "err.h"

/* Why a body was refused; mapped 1:1 to the protocol's error codes
 * (bodycheck_status_code() names a value outside the enum, which only a
 * bug can produce, "E_INTERNAL"). */
typedef enum bodycheck_status {
    BODYCHECK_OK = 0,
    BODYCHECK_E_MISSING,     /* "E_MISSING" */
    BODYCHECK_E_TYPE,        /* "E_TYPE" */
    BODYCHECK_E_RANGE,       /* "E_RANGE": length, value, enum, charset, form */
    BODYCHECK_E_UNKNOWN_KEY, /* "E_UNKNOWN_KEY" */
    BODYCHECK_E_MALFORMED,   /* "E_MALFORMED": body not a map, a key twice */
    BODYCHECK_E_UNKNOWN_REF, /* "E_UNKNOWN_REF": no such id in the campaign */
    BODYCHECK_E_REF_MISMATCH /* "E_REF_MISMATCH": places that do not agree */
} bodycheck_status_t;

/* Checks body, as a client submits it, against t, and its references
 * against campaign (NULL skips reference lookups, and so place agreement).
 * On failure returns the status, copies the
 * offending field's name into field (cap bytes, "" when no single field is
 * at fault) and fills err with a message naming it ("field 'grid': 'x' is
 * not a grid of baiyang"). A CAT_F_DIGEST key is E_UNKNOWN_KEY here. */
bodycheck_status_t bodycheck_submitted(const catalogue_type_t *t, const msgpack_object *body,
                                       const campaign_t *campaign, char *field, size_t cap,
                                       err_t *err);

/* Checks body as stored in the log, for readers of the events stream:
 * confidential keys are E_UNKNOWN_KEY, the digest key is allowed,
 * references are not looked up, and rules naming a confidential field
 * (checked when it was submitted) are skipped. Same outputs as above. */
bodycheck_status_t bodycheck_stored(const catalogue_type_t *t, const msgpack_object *body,
                                    char *field, size_t cap, err_t *err);

/* Normalises a body that passed bodycheck_submitted(), in place: uuid
 * values are lower-cased, so that a retry spelling them in the other case
 * is the same message. body's strings must be writable memory
 * (envelope_decode() copies the input into the envelope's zone, so an
 * envelope's body is). */
void bodycheck_normalise(const catalogue_type_t *t, msgpack_object *body);

/* Stable protocol code of a status, e.g. "E_UNKNOWN_REF". */
const char *bodycheck_status_code(bodycheck_status_t status);

#endif
