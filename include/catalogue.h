/* catalogue.h - the event catalogue: every event type intake accepts, as
 * data (its fields, their types, whether required, their limits, enums,
 * which are references into the campaign). The checker that reads a body
 * against it is bodycheck.c.
 *
 * It is the single place event bodies are defined: intake validates
 * submits against it with bodycheck_submitted() (bodycheck.h, which also
 * states the body rules); consumers (dispatch, cases, attendance, scoring)
 * look a type up to read its body knowing what is there, and may check a
 * body from the log with bodycheck_stored(); `airguard catalogue` prints
 * it and docs/protocol.md describes it. A service that needs a new type
 * adds a row to the table in common/catalogue.c (with a valid example) and
 * nothing else.
 *
 * Two forms of a body. As submitted, a type may carry confidential fields
 * (CAT_F_CONFIDENTIAL, a tipster's contact); intake takes them out and puts
 * one digest field (CAT_F_DIGEST) in their place, so the body stored in the
 * log and published never holds them, while a retry with other contact
 * details is still a different message (E_ID_CONFLICT). A client must never
 * send the digest field; a log reader never sees confidential fields.
 * bodycheck_submitted() reads the submitted form, bodycheck_stored() the
 * stored one.
 *
 * The table is static const data; nothing here allocates; thread-safe. */
#ifndef AIRGUARD_CATALOGUE_H
#define AIRGUARD_CATALOGUE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "err.h"

#define CATALOGUE_FIELD_MAX 63 /* longest field name */

/* What a field holds on the wire. */
typedef enum catalogue_kind {
    CAT_STR = 1, /* str, one line of UTF-8, min..max bytes */
    CAT_TEXT,    /* str, UTF-8 that may contain \n, \t and \r\n, min..max bytes */
    CAT_CODE,    /* str of [a-z0-9_.-], min..max bytes: ids of other systems */
    CAT_PHONE,   /* str of digits, '+', '-', ' ', min..max bytes */
    CAT_INT,     /* int, min..max */
    CAT_NUM,     /* int or float, fmin..fmax, finite */
    CAT_BOOL,    /* bool */
    CAT_ENUM,    /* str, one of values */
    CAT_UUID,    /* str, canonical UUID in either case (normalised to lower) */
    CAT_DATE,    /* str "YYYY-MM-DD", a civil date in the campaign's zone */
    CAT_REF,     /* str, an id of the campaign (ref says which kind) */
    CAT_STR_LIST /* array of min..max strs, each one line of 1..item_max bytes */
} catalogue_kind_t;

/* What a CAT_REF field refers to. */
typedef enum catalogue_ref {
    CAT_REF_NONE = 0,
    CAT_REF_COMMUNITY,
    CAT_REF_GRID,
    CAT_REF_KEY_AREA,
    CAT_REF_CHECKPOINT,
    CAT_REF_COMPOUND,
    CAT_REF_SCHOOL,
    CAT_REF_PERSON,
    CAT_REF_GROUP,
    CAT_REF_CHANNEL,
    CAT_REF_BAN
} catalogue_ref_t;

/* Field flags. */
/* Never stored in the log nor published: intake keeps it apart (e.g. a
 * tipster's phone). Always optional. */
#define CAT_F_CONFIDENTIAL 1u
/* Written by intake in place of the type's confidential fields when any
 * was given: a keyed digest of them (see services/intake/confidential.c).
 * Never sent by a client; a type has one exactly when it has confidential
 * fields. */
#define CAT_F_DIGEST 2u

typedef struct catalogue_field {
    const char *name;          /* body key */
    catalogue_kind_t kind;     /* what it holds */
    bool required;             /* absent is E_MISSING */
    int64_t min, max;          /* CAT_INT: value; strings: bytes; CAT_STR_LIST: items */
    double fmin, fmax;         /* CAT_NUM: value */
    int64_t item_max;          /* CAT_STR_LIST: bytes per item */
    const char *const *values; /* CAT_ENUM: allowed values, NULL-terminated */
    catalogue_ref_t ref;       /* CAT_REF: what it names */
    unsigned flags;            /* CAT_F_* */
    const char *doc;           /* one line for people */
} catalogue_field_t;

/* Type-level rules over several fields. */
typedef enum catalogue_rule_kind {
    CAT_RULE_ANY_OF = 1, /* at least one of the fields in `a` (comma-separated) */
    CAT_RULE_WITH,       /* when `a` is present, `b` must be too */
    CAT_RULE_WHEN,       /* when `a` equals the enum/bool value `b`, `c` must be present */
    CAT_RULE_NOT_AFTER   /* when both are present, `a` <= `b` (dates or numbers) */
} catalogue_rule_kind_t;

typedef struct catalogue_rule {
    catalogue_rule_kind_t kind;
    const char *a, *b, *c; /* see the kinds */
} catalogue_rule_t;

typedef struct catalogue_type {
    const char *name;                /* the envelope's "type", e.g. "report.open_burning" */
    const char *summary;             /* one line for people */
    const catalogue_field_t *fields; /* in documentation and checking order */
    size_t n_fields;
    const catalogue_rule_t *rules; /* may be NULL */
    size_t n_rules;
    const char *example; /* a valid body for the Baiyang seed, as JSON */
} catalogue_type_t;

/* Number of types, and the i-th (NULL past the end), in catalogue order. */
size_t catalogue_count(void);
const catalogue_type_t *catalogue_at(size_t i);

/* The type named name (NUL-terminated); NULL when unknown. */
const catalogue_type_t *catalogue_find(const char *name);

/* The field of t named name; NULL when t has none. */
const catalogue_field_t *catalogue_field(const catalogue_type_t *t, const char *name);

/* Names for documentation: "str", "int" ..., and "community", "grid" ... */
const char *catalogue_kind_name(catalogue_kind_t kind);
const char *catalogue_ref_name(catalogue_ref_t ref);

#endif
