/* fuzz_stream.c - the stream frames a consumer decodes (include/streamwire.h):
 * a PUB frame 2 (data or heartbeat) and a replay reply with its records,
 * each record's message then through the envelope decoder as a consumer
 * would. The same bytes go to both decoders: a consumer meets either.
 *
 * Promise checked on accepted input: a data frame packed again from what
 * was decoded decodes to the same record. */
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "streamwire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void s_envelope(const stream_record_t *rec)
{
    envelope_t env;
    err_t err;
    envelope_init(&env);
    (void)envelope_decode(&env, rec->msg, rec->msg_len, &err);
    envelope_fini(&env);
}

static void s_pub(const char *buf, size_t len)
{
    msgpack_unpacked u, u2;
    msgpack_sbuffer sb;
    streamwire_pub_t pub, again;
    err_t err;
    msgpack_unpacked_init(&u);
    msgpack_unpacked_init(&u2);
    msgpack_sbuffer_init(&sb);
    if (streamwire_unpack_pub(&u, buf, len, &pub, &err) != 0)
        goto out;
    if (pub.kind == STREAMWIRE_HEARTBEAT) {
        streamwire_pack_heartbeat(&sb, pub.stream, pub.stream_id, pub.last_seq);
        FUZZ_REQUIRE(streamwire_unpack_pub(&u2, sb.data, sb.size, &again, &err) == 0,
                     "re-packed heartbeat: %s", err.msg);
        FUZZ_REQUIRE(again.kind == STREAMWIRE_HEARTBEAT && again.last_seq == pub.last_seq &&
                         !strcmp(again.stream, pub.stream) &&
                         !strcmp(again.stream_id, pub.stream_id),
                     "heartbeat changed in a round trip");
        goto out;
    }
    streamwire_pack_data(&sb, pub.stream, pub.stream_id, &pub.record);
    FUZZ_REQUIRE(streamwire_unpack_pub(&u2, sb.data, sb.size, &again, &err) == 0,
                 "re-packed data frame: %s", err.msg);
    const stream_record_t *a = &pub.record, *b = &again.record;
    FUZZ_REQUIRE(again.kind == STREAMWIRE_DATA && !strcmp(again.stream, pub.stream) &&
                     !strcmp(again.stream_id, pub.stream_id) && a->seq == b->seq &&
                     a->id_len == b->id_len && !memcmp(a->id, b->id, a->id_len) &&
                     a->type_len == b->type_len && !memcmp(a->type, b->type, a->type_len) &&
                     a->msg_len == b->msg_len && !memcmp(a->msg, b->msg, a->msg_len),
                 "data record changed in a round trip");
    s_envelope(&pub.record);
out:
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u2);
    msgpack_unpacked_destroy(&u);
}

static void s_replay(const char *buf, size_t len)
{
    msgpack_unpacked u;
    streamwire_replay_t replay;
    stream_record_t rec;
    err_t err;
    msgpack_unpacked_init(&u);
    if (streamwire_unpack_replay(&u, buf, len, &replay, &err) == 0) {
        uint32_t n = replay.records->via.array.size;
        /* One past the end too: it must be refused, not read. */
        for (uint32_t i = 0; i <= n; i++) {
            int rc = streamwire_replay_record(&replay, i, &rec, &err);
            FUZZ_REQUIRE(i < n || rc != 0, "record past the end accepted");
            if (rc == 0)
                s_envelope(&rec);
        }
    }
    msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_pub((const char *)data, size);
    s_replay((const char *)data, size);
    return 0;
}
