/* test_mp.c - the msgpack object lookups of mp.h: found, missing, wrong
 * type, limits, and the messages that name the field. */
#include "mp.h"

#include <stdint.h>
#include <string.h>

#include "check.h"

static void pk_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void test_lookups(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    pk_cstr(&pk, "grid");
    pk_cstr(&pk, "A7");
    pk_cstr(&pk, "n");
    msgpack_pack_int(&pk, -5);
    pk_cstr(&pk, "p");
    msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX);
    pk_cstr(&pk, "huge");
    msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
    pk_cstr(&pk, "on");
    msgpack_pack_true(&pk);
    pk_cstr(&pk, "nul");
    msgpack_pack_str_with_body(&pk, "a\0b", 3);
    pk_cstr(&pk, "empty");
    pk_cstr(&pk, "");
    pk_cstr(&pk, "城市");
    pk_cstr(&pk, "北京");

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *m = &u.data;
    err_t err;
    const char *s;
    size_t n;
    char buf[8];
    int64_t i;
    bool b;

    CHECK(mp_get(m, "grid") != NULL);
    CHECK(mp_get(m, "nope") == NULL);
    CHECK(mp_get(NULL, "grid") == NULL);
    CHECK(mp_get(m, NULL) == NULL);
    CHECK(mp_get(mp_get(m, "grid"), "x") == NULL); /* non-map is empty */

    CHECK(mp_get_str(m, "grid", &s, &n, &err) == 0 && n == 2 && memcmp(s, "A7", 2) == 0);
    CHECK(mp_get_str(m, "nope", &s, &n, &err) == -1 &&
          strcmp(err.msg, "field 'nope': missing") == 0);
    CHECK(mp_get_str(m, "n", &s, &n, &err) == -1 &&
          strcmp(err.msg, "field 'n': expected str, got int") == 0);
    CHECK(mp_get_str(NULL, "grid", &s, &n, &err) == -1 && CONTAINS(err.msg, "'grid'"));
    CHECK(mp_get_str(m, "城市", &s, &n, &err) == 0 && n == 6);

    CHECK(mp_get_strcpy(m, "grid", buf, sizeof buf, &err) == 0 && strcmp(buf, "A7") == 0);
    CHECK(mp_get_strcpy(m, "grid", buf, 3, &err) == 0 && strcmp(buf, "A7") == 0); /* exact fit */
    CHECK(mp_get_strcpy(m, "grid", buf, 2, &err) == -1 && CONTAINS(err.msg, "'grid'"));
    CHECK(mp_get_strcpy(m, "grid", buf, 0, &err) == -1);
    CHECK(mp_get_strcpy(m, "empty", buf, 1, &err) == 0 && buf[0] == '\0');
    CHECK(mp_get_strcpy(m, "nul", buf, sizeof buf, &err) == -1 && CONTAINS(err.msg, "'nul'"));
    CHECK(mp_get_strcpy(m, "on", buf, sizeof buf, &err) == -1 &&
          CONTAINS(err.msg, "expected str, got bool"));

    CHECK(mp_get_int(m, "n", &i, &err) == 0 && i == -5);
    CHECK(mp_get_int(m, "p", &i, &err) == 0 && i == INT64_MAX);
    CHECK(mp_get_int(m, "huge", &i, &err) == -1 && CONTAINS(err.msg, "'huge'"));
    CHECK(mp_get_int(m, "grid", &i, &err) == -1 &&
          strcmp(err.msg, "field 'grid': expected int, got str") == 0);
    CHECK(mp_get_int(m, "nope", &i, &err) == -1 && CONTAINS(err.msg, "missing"));

    CHECK(mp_get_bool(m, "on", &b, &err) == 0 && b);
    CHECK(mp_get_bool(m, "n", &b, &err) == -1 &&
          strcmp(err.msg, "field 'n': expected bool, got int") == 0);
    CHECK(mp_get_bool(m, "nope", &b, &err) == -1 && CONTAINS(err.msg, "'nope'"));

    CHECK(mp_str_eq(mp_get(m, "grid"), "A7"));
    CHECK(!mp_str_eq(mp_get(m, "grid"), "A"));
    CHECK(!mp_str_eq(mp_get(m, "grid"), "A77"));
    CHECK(!mp_str_eq(mp_get(m, "n"), "-5"));
    CHECK(!mp_str_eq(NULL, "x"));
    CHECK(mp_str_eq(mp_get(m, "empty"), ""));

    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_NIL), "nil") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_BOOLEAN), "bool") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_POSITIVE_INTEGER), "int") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_NEGATIVE_INTEGER), "int") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_FLOAT32), "float") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_FLOAT64), "float") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_STR), "str") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_BIN), "bin") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_ARRAY), "array") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_MAP), "map") == 0);
    CHECK(strcmp(mp_type_name(MSGPACK_OBJECT_EXT), "ext") == 0);

    /* a NULL err is allowed */
    CHECK(mp_get_int(m, "grid", &i, NULL) == -1);

    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    RUN(test_lookups);
    return check_summary();
}
