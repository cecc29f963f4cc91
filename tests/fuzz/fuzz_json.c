/* fuzz_json.c - the JSON bridge (mpjson), both ways, as the CLI uses it on
 * files people write and on replies it prints.
 *
 * Promises checked on accepted input: it packs exactly one msgpack object;
 * what mpjson_print() writes for it parses again; and printing reaches a
 * fixed point after one more turn (the first turn may still change a
 * float that is a whole number, "1.0" -> 1, "-0.0" -> 0). */
#include <string.h>

#include "fuzz.h"
#include "mpjson.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Parses text into sb (cleared first); returns 0 or -1 with err. */
static int s_parse(const char *text, size_t len, msgpack_sbuffer *sb, err_t *err)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    return mpjson_parse(text, len, &pk, err);
}

/* Prints the one object in sb as JSON into a malloc'd buffer (caller frees). */
static char *s_print(const msgpack_sbuffer *sb, size_t *len)
{
    msgpack_unpacked u;
    size_t off = 0;
    char *text = NULL;
    msgpack_unpacked_init(&u);
    FUZZ_REQUIRE(msgpack_unpack_next(&u, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS &&
                     off == sb->size,
                 "packed JSON is not one msgpack object");
    FILE *f = open_memstream(&text, len);
    FUZZ_REQUIRE(f, "open_memstream failed");
    mpjson_print(f, &u.data);
    fclose(f);
    msgpack_unpacked_destroy(&u);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_sbuffer sb;
    err_t err;
    char *t1 = NULL, *t2 = NULL, *t3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    msgpack_sbuffer_init(&sb);
    if (s_parse((const char *)data, size, &sb, &err) != 0) {
        FUZZ_REQUIRE(err.msg[0], "refusal without a message");
        goto out;
    }
    t1 = s_print(&sb, &n1);
    FUZZ_REQUIRE(s_parse(t1, n1, &sb, &err) == 0, "printed JSON does not parse: %s: %.300s",
                 err.msg, t1);
    t2 = s_print(&sb, &n2);
    FUZZ_REQUIRE(s_parse(t2, n2, &sb, &err) == 0, "printed JSON does not parse: %s: %.300s",
                 err.msg, t2);
    t3 = s_print(&sb, &n3);
    FUZZ_REQUIRE(n2 == n3 && !memcmp(t2, t3, n2), "printing is not stable: %.300s / %.300s", t2,
                 t3);
out:
    free(t1);
    free(t2);
    free(t3);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
