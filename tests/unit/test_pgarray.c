/* test_pgarray.c - array parameters byte for byte: the text literal, the
 * binary array (PostgreSQL's array_send layout: header, then each element
 * as a length word and its bytes, NULL as length -1) and binary COPY rows;
 * values that do not fit their array are refused, not sent. The server's
 * side is exercised by the dispatch and relay integration tests. */
#include "pgarray.h"

#include <stdint.h>
#include <string.h>

#include "check.h"

static int32_t s_int32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
}

static int add_uuid(pgarray_t *a, const char *uuid)
{
    return pgarray_add_uuid(a, uuid, strlen(uuid));
}

static void test_literal_quotes_and_nulls(void)
{
    pgarray_t a = PGARRAY_INIT;
    pgarray_reset(&a);
    CHECK(pgarray_add(&a, "a\"b\\c", 5) == 0);
    CHECK(pgarray_add_int(&a, -42) == 0);
    CHECK(pgarray_add_null(&a) == 0);
    CHECK(pgarray_add_str(&a, "x") == 0);
    const char *lit = pgarray_finish(&a);
    CHECKF(lit && strcmp(lit, "{\"a\\\"b\\\\c\",-42,NULL,\"x\"}") == 0, "%s", lit ? lit : "NULL");
    const char *v;
    int len, format;
    CHECK(pgarray_param(&a, &v, &len, &format) == 0 && format == 0 && v == lit);
    pgarray_reset(&a);
    CHECK(strcmp(pgarray_finish(&a), "{}") == 0);
    pgarray_fini(&a);
}

static void test_binary_header_and_elements(void)
{
    pgarray_t a = PGARRAY_INIT;
    pgarray_reset_as(&a, PGARRAY_INT8);
    CHECK(pgarray_add_int(&a, 1) == 0);
    CHECK(pgarray_add_null(&a) == 0);
    CHECK(pgarray_add_int(&a, -2) == 0);
    const char *v;
    int len, format;
    CHECK(pgarray_param(&a, &v, &len, &format) == 0);
    CHECK(format == 1);
    CHECK(len == 20 + 12 + 4 + 12);
    CHECK(s_int32(v) == 1);      /* dimensions */
    CHECK(s_int32(v + 4) == 1);  /* has NULLs */
    CHECK(s_int32(v + 8) == 20); /* int8 */
    CHECK(s_int32(v + 12) == 3); /* elements */
    CHECK(s_int32(v + 16) == 1); /* lower bound */
    CHECK(s_int32(v + 20) == 8); /* first element: 8 bytes, value 1 */
    CHECK(s_int32(v + 24) == 0 && s_int32(v + 28) == 1);
    CHECK(s_int32(v + 32) == -1); /* NULL: no bytes follow */
    CHECK(s_int32(v + 36) == 8 && s_int32(v + 40) == -1 && s_int32(v + 44) == -2);

    pgarray_reset_as(&a, PGARRAY_TEXT); /* reused: no NULL flag left over */
    CHECK(pgarray_param(&a, &v, &len, &format) == 0);
    CHECK(len == 12 && s_int32(v) == 0 && s_int32(v + 4) == 0 && s_int32(v + 8) == 25);
    CHECK(pgarray_add(&a, "h\"i", 3) == 0);
    CHECK(pgarray_param(&a, &v, &len, &format) == 0);
    CHECK(len == 20 + 4 + 3 && s_int32(v + 4) == 0 && s_int32(v + 20) == 3);
    CHECK(memcmp(v + 24, "h\"i", 3) == 0); /* bytes as they are: nothing escaped */
    pgarray_fini(&a);
}

static void test_binary_uuid_float_bool(void)
{
    pgarray_t a = PGARRAY_INIT;
    const char *v;
    int len, format;
    pgarray_reset_as(&a, PGARRAY_UUID);
    CHECK(add_uuid(&a, "00112233-4455-6677-8899-aabbccddeeff") == 0);
    CHECK(pgarray_param(&a, &v, &len, &format) == 0 && len == 20 + 4 + 16);
    CHECK(s_int32(v + 20) == 16 && (unsigned char)v[24] == 0x00 && (unsigned char)v[39] == 0xff);

    pgarray_reset_as(&a, PGARRAY_FLOAT8);
    CHECK(pgarray_add_float8(&a, 1.0) == 0); /* 0x3ff0000000000000 */
    CHECK(pgarray_param(&a, &v, &len, &format) == 0);
    CHECK(s_int32(v + 24) == 0x3ff00000 && s_int32(v + 28) == 0);

    pgarray_reset_as(&a, PGARRAY_BOOL);
    CHECK(pgarray_add_bool(&a, true) == 0 && pgarray_add_bool(&a, false) == 0);
    CHECK(pgarray_param(&a, &v, &len, &format) == 0 && len == 20 + 5 + 5);
    CHECK(v[24] == 1 && v[29] == 0);
    pgarray_fini(&a);
}

static void test_values_that_do_not_fit_are_refused(void)
{
    pgarray_t a = PGARRAY_INIT;
    const char *v;
    int len, format;
    pgarray_reset_as(&a, PGARRAY_UUID);
    CHECK(add_uuid(&a, "not-a-uuid") == -1);
    CHECK(add_uuid(&a, "00112233-4455-6677-8899-aabbccddeeff") == -1); /* sticky */
    CHECK(pgarray_param(&a, &v, &len, &format) == -1);
    CHECK(CONTAINS(pgarray_failure(&a), "does not fit"));

    pgarray_reset_as(&a, PGARRAY_INT4);
    CHECK(pgarray_failure(&a)[0] == '\0');
    CHECK(pgarray_add_int(&a, (int64_t)INT32_MAX + 1) == -1);
    pgarray_reset_as(&a, PGARRAY_INT8);
    CHECK(pgarray_add(&a, "x", 1) == -1);
    pgarray_reset_as(&a, PGARRAY_TEXT);
    CHECK(pgarray_add_bool(&a, true) == -1);
    pgarray_reset(&a);
    CHECK(add_uuid(&a, "00112233-4455-6677-8899-aabbccddeefg") == -1);
    CHECK(pgarray_finish(&a) == NULL);
    pgarray_fini(&a);
}

static void test_copy_rows(void)
{
    pgarray_t c = PGARRAY_INIT;
    pgarray_reset_copy(&c);
    CHECK(c.len == 19 && memcmp(c.buf, "PGCOPY\n\377\r\n\0", 11) == 0);
    CHECK(pgarray_copy_row(&c, 3) == 0);
    CHECK(pgarray_add_str(&c, "k") == 0);
    CHECK(pgarray_add_null(&c) == 0);
    CHECK(pgarray_add_int_as(&c, PGARRAY_INT4, 7) == 0);
    CHECK(c.n == 1);
    CHECK(c.len == 19 + 2 + (4 + 1) + 4 + (4 + 4));
    CHECK((unsigned char)c.buf[19] == 0 && c.buf[20] == 3); /* field count */
    CHECK(s_int32(c.buf + 21) == 1 && c.buf[25] == 'k');
    CHECK(s_int32(c.buf + 26) == -1);
    CHECK(s_int32(c.buf + 30) == 4 && s_int32(c.buf + 34) == 7);
    const char *v;
    int len, format;
    CHECK(pgarray_param(&c, &v, &len, &format) == -1); /* rows are not a parameter */
    pgarray_reset_as(&c, PGARRAY_TEXT);
    CHECK(pgarray_copy_row(&c, 1) == -1); /* an array has no rows */
    pgarray_fini(&c);
}

int main(void)
{
    RUN(test_literal_quotes_and_nulls);
    RUN(test_binary_header_and_elements);
    RUN(test_binary_uuid_float_bool);
    RUN(test_values_that_do_not_fit_are_refused);
    RUN(test_copy_rows);
    return check_summary();
}
