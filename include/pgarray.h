/* pgarray.h - one column of a batch's rows as a single array parameter, so
 * a service writes a whole batch with one statement
 * (INSERT ... SELECT FROM unnest($1::uuid[], $2::int8[] ...)) instead of one
 * round trip per row. Values are never spliced into SQL.
 *
 * Two encodings. A literal ({"a","b"}, text format, pgarray_reset) is
 * quoted here and parsed by the server; a binary array (PostgreSQL's
 * array_send format, pgarray_reset_as) is neither: each element is its
 * length and its bytes, so it costs the server no parsing and the client
 * no printf. Services writing many rows use binary arrays; pgarray_param()
 * hands either kind to PQexecParams.
 *
 * A third kind holds whole rows for COPY ... FROM STDIN (FORMAT binary)
 * (pgarray_reset_copy): each row starts with pgarray_copy_row() and its
 * fields are added with the same calls, integers with pgarray_add_int_as()
 * since their width varies by column. New rows are cheapest this way:
 * COPY neither plans nor unnests, and inserts them in bulk.
 *
 *   pgarray_t ids = PGARRAY_INIT;
 *   pgarray_reset_as(&ids, PGARRAY_UUID);
 *   pgarray_add_uuid(&ids, id, strlen(id));     // for each row
 *   if (pgarray_param(&ids, &values[0], &lengths[0], &formats[0]) != 0)
 *       ... pgarray_failure(&ids) says why ...
 *   pgarray_fini(&ids); */
#ifndef AIRGUARD_PGARRAY_H
#define AIRGUARD_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

/* The element type of a binary array: its PostgreSQL type OID (pg_type.h,
 * stable across versions). PGARRAY_LITERAL is the text literal. */
typedef enum pgarray_type {
    PGARRAY_LITERAL = 0,
    PGARRAY_BOOL = 16,
    PGARRAY_BYTEA = 17,
    PGARRAY_INT8 = 20,
    PGARRAY_INT4 = 23,
    PGARRAY_TEXT = 25,
    PGARRAY_FLOAT8 = 701,
    PGARRAY_UUID = 2950,
    PGARRAY_COPY = 1 /* not an element type: the rows of a binary COPY */
} pgarray_type_t;

typedef struct pgarray {
    char *buf;           /* the literal (NUL-terminated when finished) or binary array */
    size_t len;          /* bytes used */
    size_t cap;          /* bytes allocated */
    size_t n;            /* elements (COPY: rows) added since the last reset */
    int failed;          /* since the last reset: 1 out of memory, 2 a value refused */
    pgarray_type_t type; /* PGARRAY_LITERAL, or the binary array's element type */
    bool has_null;       /* a binary array holds a NULL */
} pgarray_t;

#define PGARRAY_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0, 0, 0, PGARRAY_LITERAL, false                                                   \
    }

/* Starts an empty literal, keeping the buffer. */
void pgarray_reset(pgarray_t *a);
/* Starts an empty binary array of type, keeping the buffer. */
void pgarray_reset_as(pgarray_t *a, pgarray_type_t type);
/* Starts an empty binary COPY, keeping the buffer; then, for each row,
 * pgarray_copy_row() and its nfields fields in the table's column order. */
void pgarray_reset_copy(pgarray_t *a);
int pgarray_copy_row(pgarray_t *a, int nfields);

/* Appends an element; each returns 0, or -1 when out of memory or when the
 * value does not fit the array (remembered: pgarray_finish() and
 * pgarray_param() then fail).
 *   pgarray_add      text or bytes (len bytes; a literal may hold any byte but NUL)
 *   pgarray_add_int  an integer (literal, INT8, or INT4 when it fits)
 *   pgarray_add_int_as  the same with the width given (COPY rows)
 *   pgarray_add_bool, pgarray_add_float8   (binary arrays of that type)
 *   pgarray_add_uuid a canonical UUID's text, len bytes (literal or UUID array)
 *   pgarray_add_null a NULL (binary arrays only) */
int pgarray_add(pgarray_t *a, const char *s, size_t len);
int pgarray_add_str(pgarray_t *a, const char *s); /* s NULL: a NULL element */
int pgarray_add_int(pgarray_t *a, int64_t v);
int pgarray_add_int_as(pgarray_t *a, pgarray_type_t type, int64_t v); /* INT4 or INT8 */
int pgarray_add_bool(pgarray_t *a, bool v);
int pgarray_add_float8(pgarray_t *a, double v);
int pgarray_add_uuid(pgarray_t *a, const char *uuid, size_t len);
int pgarray_add_null(pgarray_t *a);

/* Closes a literal; NULL if an element failed. Borrowed. */
const char *pgarray_finish(pgarray_t *a);

/* The array as PQexecParams's value, length and format of one parameter
 * (borrowed until the next reset). -1 if an element failed. */
int pgarray_param(pgarray_t *a, const char **value, int *length, int *format);

/* Runs sql (a COPY ... FROM STDIN (FORMAT binary) naming the columns the
 * rows hold) on conn with the rows of a. Returns DB_OK, or as
 * db_failure() with err. */
db_rc_t pgarray_copy(pgarray_t *a, db_t *db, PGconn *conn, const char *sql, err_t *err);

/* Why an element failed ("" when none did). */
const char *pgarray_failure(const pgarray_t *a);

/* Frees the buffer; the array may be reset and used again. */
void pgarray_fini(pgarray_t *a);

#endif
