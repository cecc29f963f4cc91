/* fuzz_yaml.c - the YAML bridge (yamlpack, on libyaml), as the CLI uses it
 * on event files people write by hand.
 *
 * Promise checked on accepted input: it packs exactly one msgpack object,
 * within the envelope scanner's bounds when it is shallow enough to be a
 * message at all; the object then prints as JSON. */
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "mpjson.h"
#include "yamlpack.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    err_t err;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&u);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (yamlpack_parse("fuzz.yaml", (const char *)data, size, &pk, &err) != 0) {
        FUZZ_REQUIRE(err.msg[0], "refusal without a message");
        goto out;
    }
    size_t off = 0;
    FUZZ_REQUIRE(msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS &&
                     off == sb.size,
                 "packed YAML is not one msgpack object");
    if (sink)
        mpjson_print(sink, &u.data);
out:
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
