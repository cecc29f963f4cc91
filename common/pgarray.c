/* pgarray.c - array parameters for set-based statements; see include/pgarray.h. */
#include "pgarray.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "uuid.h"

/* A binary array starts with five int32: dimensions, has-NULLs flag,
 * element type, element count, lower bound. */
#define HEADER_LEN 20

static int s_reserve(pgarray_t *a, size_t more)
{
    if (a->len + more + 2 <= a->cap) /* room for a literal's closing brace and NUL */
        return 0;
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + more + 2)
        cap *= 2;
    char *grown = realloc(a->buf, cap);
    if (!grown) {
        a->failed = 1;
        return -1;
    }
    a->buf = grown;
    a->cap = cap;
    return 0;
}

static void s_reset(pgarray_t *a, pgarray_type_t type)
{
    a->len = 0;
    a->n = 0;
    a->failed = 0;
    a->type = type;
    a->has_null = false;
}

void pgarray_reset(pgarray_t *a)
{
    s_reset(a, PGARRAY_LITERAL);
    if (s_reserve(a, 1) == 0)
        a->buf[a->len++] = '{';
}

void pgarray_reset_as(pgarray_t *a, pgarray_type_t type)
{
    s_reset(a, type);
    if (s_reserve(a, HEADER_LEN) == 0)
        a->len = HEADER_LEN; /* written by pgarray_param, once n is known */
}

/* A binary COPY starts with a signature, a flags word and the length of a
 * header extension (none). */
static const char s_copy_signature[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                          '\n', '\377', '\r', '\n', '\0'};

void pgarray_reset_copy(pgarray_t *a)
{
    s_reset(a, PGARRAY_COPY);
    if (s_reserve(a, sizeof s_copy_signature + 8) == 0) {
        memcpy(a->buf, s_copy_signature, sizeof s_copy_signature);
        memset(a->buf + sizeof s_copy_signature, 0, 8);
        a->len = sizeof s_copy_signature + 8;
    }
}

int pgarray_copy_row(pgarray_t *a, int nfields)
{
    if (a->type != PGARRAY_COPY || nfields < 0 || nfields > INT16_MAX) {
        if (!a->failed)
            a->failed = 2;
        return -1;
    }
    if (a->failed || s_reserve(a, 2) != 0)
        return -1;
    db_put_int16((unsigned char *)a->buf + a->len, (int16_t)nfields);
    a->len += 2;
    a->n++;
    return 0;
}

/* Room for an element of len bytes (binary: its length word too); -1 when
 * out of memory or failed before. */
static int s_element(pgarray_t *a, size_t len)
{
    if (a->failed || s_reserve(a, len + 4) != 0)
        return -1;
    if (a->type != PGARRAY_COPY)
        a->n++;
    return 0;
}

/* A refused value: remembered like an allocation failure. */
static int s_refuse(pgarray_t *a)
{
    if (!a->failed)
        a->failed = 2;
    return -1;
}

/* A binary element: its length, then the bytes. */
static int s_binary(pgarray_t *a, const void *bytes, size_t len)
{
    /* (Elements of a binary array and fields of a COPY row are written
     * alike: the length word, then the value in its binary send format.) */
    if (len > INT32_MAX)
        return s_refuse(a);
    if (s_element(a, len) != 0)
        return -1;
    db_put_int32((unsigned char *)a->buf + a->len, (int32_t)len);
    if (len)
        memcpy(a->buf + a->len + 4, bytes, len);
    a->len += 4 + len;
    return 0;
}

int pgarray_add(pgarray_t *a, const char *s, size_t len)
{
    if (a->type != PGARRAY_LITERAL)
        return a->type == PGARRAY_TEXT || a->type == PGARRAY_BYTEA || a->type == PGARRAY_COPY
                   ? s_binary(a, s, len)
                   : s_refuse(a);
    /* Worst case every byte escaped, plus quotes and the comma. */
    if (s_element(a, 2 * len + 3) != 0)
        return -1;
    if (a->n > 1)
        a->buf[a->len++] = ',';
    a->buf[a->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = s[i];
    }
    a->buf[a->len++] = '"';
    return 0;
}

int pgarray_add_str(pgarray_t *a, const char *s)
{
    return s ? pgarray_add(a, s, strlen(s)) : pgarray_add_null(a);
}

int pgarray_add_null(pgarray_t *a)
{
    if (a->type == PGARRAY_LITERAL) {
        if (s_element(a, 5) != 0)
            return -1;
        a->len += (size_t)snprintf(a->buf + a->len, a->cap - a->len, "%sNULL", a->n > 1 ? "," : "");
        return 0;
    }
    if (s_element(a, 0) != 0)
        return -1;
    db_put_int32((unsigned char *)a->buf + a->len, -1);
    a->len += 4;
    a->has_null = true;
    return 0;
}

int pgarray_add_int(pgarray_t *a, int64_t v)
{
    if (a->type == PGARRAY_LITERAL) {
        if (s_element(a, 24) != 0)
            return -1;
        a->len += (size_t)snprintf(a->buf + a->len, a->cap - a->len, "%s%lld", a->n > 1 ? "," : "",
                                   (long long)v);
        return 0;
    }
    return pgarray_add_int_as(a, a->type, v);
}

int pgarray_add_int_as(pgarray_t *a, pgarray_type_t type, int64_t v)
{
    unsigned char be[8];
    if (a->type != type && a->type != PGARRAY_COPY)
        return s_refuse(a);
    switch (type) {
    case PGARRAY_INT8:
        db_put_int64(be, v);
        return s_binary(a, be, 8);
    case PGARRAY_INT4:
        if (v < INT32_MIN || v > INT32_MAX)
            return s_refuse(a);
        db_put_int32(be, (int32_t)v);
        return s_binary(a, be, 4);
    default:
        return s_refuse(a);
    }
}

int pgarray_add_bool(pgarray_t *a, bool v)
{
    unsigned char b = v ? 1 : 0;
    return a->type == PGARRAY_BOOL || a->type == PGARRAY_COPY ? s_binary(a, &b, 1) : s_refuse(a);
}

int pgarray_add_float8(pgarray_t *a, double v)
{
    if (a->type != PGARRAY_FLOAT8 && a->type != PGARRAY_COPY)
        return s_refuse(a);
    int64_t bits;
    unsigned char be[8];
    memcpy(&bits, &v, sizeof bits); /* IEEE 754, sent big-endian like int8 */
    db_put_int64(be, bits);
    return s_binary(a, be, 8);
}

int pgarray_add_uuid(pgarray_t *a, const char *uuid, size_t len)
{
    if (a->type == PGARRAY_LITERAL)
        return uuid_is_canonical(uuid, len) ? pgarray_add(a, uuid, len) : s_refuse(a);
    unsigned char bytes[16]; /* uuid_parse checks the text */
    if ((a->type != PGARRAY_UUID && a->type != PGARRAY_COPY) || uuid_parse(uuid, len, bytes) != 0)
        return s_refuse(a);
    return s_binary(a, bytes, 16);
}

const char *pgarray_finish(pgarray_t *a)
{
    if (a->failed || !a->buf || a->type != PGARRAY_LITERAL)
        return NULL;
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    return a->buf;
}

int pgarray_param(pgarray_t *a, const char **value, int *length, int *format)
{
    if (a->type == PGARRAY_COPY)
        return -1;
    if (a->type == PGARRAY_LITERAL) {
        *value = pgarray_finish(a);
        *length = 0;
        *format = 0;
        return *value ? 0 : -1;
    }
    if (a->failed || !a->buf || a->len > INT32_MAX || a->n > INT32_MAX)
        return -1;
    unsigned char *h = (unsigned char *)a->buf;
    if (a->n == 0) {
        /* An empty array has no dimensions: three words only. */
        db_put_int32(h, 0);
        db_put_int32(h + 4, 0);
        db_put_int32(h + 8, (int32_t)a->type);
        *length = 12;
    } else {
        db_put_int32(h, 1);
        db_put_int32(h + 4, a->has_null ? 1 : 0);
        db_put_int32(h + 8, (int32_t)a->type);
        db_put_int32(h + 12, (int32_t)a->n);
        db_put_int32(h + 16, 1);
        *length = (int)a->len;
    }
    *value = a->buf;
    *format = 1;
    return 0;
}

db_rc_t pgarray_copy(pgarray_t *a, db_t *db, PGconn *conn, const char *sql, err_t *err)
{
    if (a->type != PGARRAY_COPY || a->failed || a->len > INT32_MAX - 2 || s_reserve(a, 2) != 0) {
        err_set(err, "COPY: %s", a->failed ? pgarray_failure(a) : "not a COPY buffer (a bug)");
        return a->failed == 1 ? DB_TRANSIENT : DB_FAILED;
    }
    db_put_int16((unsigned char *)a->buf + a->len, -1); /* the trailer */
    PGresult *res = PQexec(conn, sql);
    db_rc_t rc = DB_OK;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = db_failure(db, res, err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    /* A blocking connection: both return only once the data is queued. */
    if (PQputCopyData(conn, a->buf, (int)(a->len + 2)) != 1 || PQputCopyEnd(conn, NULL) != 1)
        rc = db_failure(db, NULL, err); /* the connection failed: transient */
    /* The COPY's result, then NULL; a failed COPY reports its error here. */
    while ((res = PQgetResult(conn))) {
        if (rc == DB_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = db_failure(db, res, err);
        PQclear(res);
    }
    return rc;
}

const char *pgarray_failure(const pgarray_t *a)
{
    switch (a->failed) {
    case 0:
        return "";
    case 1:
        return "out of memory for the batch's rows";
    default:
        return "a value does not fit its array's type (a bug)";
    }
}

void pgarray_fini(pgarray_t *a)
{
    free(a->buf);
    *a = (pgarray_t)PGARRAY_INIT;
}
