/* pgarray.h - PostgreSQL array literals ({"a","b"}) built in a reusable
 * buffer, so a service can write a whole batch's rows with one statement
 * (INSERT ... SELECT FROM unnest($1::text[], $2::int8[] ...)) instead of
 * one round trip per row. Values are quoted and escaped, never interpreted:
 * the literal is passed as a parameter, not spliced into SQL.
 *
 *   pgarray_t keys = PGARRAY_INIT;
 *   pgarray_reset(&keys);
 *   pgarray_add(&keys, k, strlen(k));           // for each row
 *   params[0] = pgarray_finish(&keys);          // borrowed until the next reset
 *   ...
 *   pgarray_fini(&keys); */
#ifndef AIRGUARD_PGARRAY_H
#define AIRGUARD_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgarray {
    char *buf;  /* the literal, NUL-terminated after pgarray_finish() */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    size_t n;   /* elements added since the last reset */
    int failed; /* an allocation failed since the last reset */
} pgarray_t;

#define PGARRAY_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0, 0, 0                                                                           \
    }

/* Starts an empty array, keeping the buffer. */
void pgarray_reset(pgarray_t *a);

/* Appends a text element (len bytes, may hold any byte but NUL) or an
 * integer. Returns 0, or -1 when out of memory (also remembered, so that
 * pgarray_finish() returns NULL). */
int pgarray_add(pgarray_t *a, const char *s, size_t len);
int pgarray_add_int(pgarray_t *a, int64_t v);

/* Closes the literal; NULL if an allocation failed. Borrowed. */
const char *pgarray_finish(pgarray_t *a);

/* Frees the buffer; the array may be reset and used again. */
void pgarray_fini(pgarray_t *a);

#endif
