/* test_wire.c - unit tests of the stream frames (streamwire), the JSON
 * bridge (mpjson), the clock and the logger's JSON escaping. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "db.h"
#include "envelope.h"
#include "log.h"
#include "mp.h"
#include "mpjson.h"
#include "outbox.h"
#include "uuid.h"
#include "streamwire.h"
#include "yamlpack.h"

static const char s_id[] = "0b9e8a52-9d1c-4d8e-a0c5-6f1e2d3c4b5a";

static void test_data_frame_round_trip(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    stream_record_t rec = {.seq = 42,
                           .id = s_id,
                           .id_len = 36,
                           .type = "tip.reported",
                           .type_len = 12,
                           .msg = "\x81\xa1x\x01",
                           .msg_len = 4};
    streamwire_pack_data(&sb, "events.intake-1", "0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70", &rec);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    streamwire_pub_t pub;
    err_t err;
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) == 0);
    CHECK(pub.kind == STREAMWIRE_DATA);
    CHECK(strcmp(pub.stream, "events.intake-1") == 0);
    CHECK(strcmp(pub.stream_id, "0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70") == 0);
    CHECK(pub.record.seq == 42);
    CHECK(pub.record.msg_len == 4 && memcmp(pub.record.msg, "\x81\xa1x\x01", 4) == 0);
    CHECK(pub.record.type_len == 12 && memcmp(pub.record.type, "tip.reported", 12) == 0);
    /* Every truncation fails cleanly. */
    for (size_t n = 0; n < sb.size; n++)
        CHECK(streamwire_unpack_pub(&u, sb.data, n, &pub, &err) != 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_heartbeat_frame(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    streamwire_pack_heartbeat(&sb, "events.intake-2", "0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70", 9001);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    streamwire_pub_t pub;
    err_t err;
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) == 0);
    CHECK(pub.kind == STREAMWIRE_HEARTBEAT && pub.last_seq == 9001);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* Packs JSON into sb with mpjson, for building odd frames by hand. */
static void s_json(msgpack_sbuffer *sb, const char *json)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    err_t err;
    if (mpjson_parse(json, strlen(json), &pk, &err) != 0)
        fprintf(stderr, "bad test JSON: %s\n", err.msg);
}

static void test_bad_pub_frames_name_the_field(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    streamwire_pub_t pub;
    err_t err;
    s_json(&sb, "{\"kind\":\"data\",\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-9a57-"
                "2f3c4d5e6f70\",\"seq\":0,\"id\":\"x\",\"type\":\"t\",\"msg\":"
                "{\"$bin\":\"80\"}}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "'seq'"));
    s_json(&sb, "{\"kind\":\"data\",\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-9a57-"
                "2f3c4d5e6f70\",\"seq\":1,\"id\":\"x\",\"type\":\"t\",\"msg\":"
                "\"notbin\"}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "'msg'"));
    s_json(&sb, "{\"kind\":\"gossip\",\"stream\":\"s\",\"stream_id\":"
                "\"0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70\"}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "'kind'"));
    s_json(&sb, "{\"kind\":\"heartbeat\",\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-9a57-"
                "2f3c4d5e6f70\",\"last_seq\":-4}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "last_seq"));
    s_json(&sb, "[1,2]");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 && CONTAINS(err.msg, "map"));
    /* The stream's identity is required, and must be a UUID. */
    s_json(&sb, "{\"kind\":\"heartbeat\",\"stream\":\"s\",\"last_seq\":4}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "stream_id"));
    s_json(&sb, "{\"kind\":\"heartbeat\",\"stream\":\"s\",\"stream_id\":\"nope\",\"last_seq\":4}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) != 0 &&
          CONTAINS(err.msg, "stream_id"));
    s_json(&sb, "{\"kind\":\"heartbeat\",\"stream\":\"s\",\"stream_id\":"
                "\"0B6E2F4C-6D0A-4C1E-9A57-2F3C4D5E6F70\",\"last_seq\":4}");
    CHECK(streamwire_unpack_pub(&u, sb.data, sb.size, &pub, &err) == 0 &&
          strcmp(pub.stream_id, "0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70") == 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_replay_reply(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    streamwire_replay_t r;
    stream_record_t rec;
    err_t err;
    char json[512];
    snprintf(json, sizeof json,
             "{\"ok\":true,\"kind\":\"replay\",\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-"
             "9a57-2f3c4d5e6f70\",\"from\":5,\"to\":6,\"last_seq\":9,"
             "\"records\":[[5,\"%s\",\"t\",{\"$bin\":\"80\"}],[6,\"%s\",\"t\",{\"$bin\":\"80\"}]]}",
             s_id, s_id);
    s_json(&sb, json);
    CHECK(streamwire_unpack_replay(&u, sb.data, sb.size, &r, &err) == 0);
    CHECK(r.from == 5 && r.to == 6 && r.last_seq == 9);
    CHECK(streamwire_replay_record(&r, 1, &rec, &err) == 0 && rec.seq == 6);
    CHECK(streamwire_replay_record(&r, 2, &rec, &err) != 0);
    /* to/from disagreeing with the records is refused. */
    snprintf(json, sizeof json,
             "{\"ok\":true,\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70\","
             "\"from\":5,\"to\":9,\"last_seq\":9,\"records\":[]}");
    s_json(&sb, json);
    CHECK(streamwire_unpack_replay(&u, sb.data, sb.size, &r, &err) != 0);
    /* Records out of order are refused. */
    snprintf(json, sizeof json,
             "{\"ok\":true,\"stream\":\"s\",\"stream_id\":\"0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70\","
             "\"from\":5,\"to\":5,\"last_seq\":9,"
             "\"records\":[[7,\"%s\",\"t\",{\"$bin\":\"80\"}]]}",
             s_id);
    s_json(&sb, json);
    CHECK(streamwire_unpack_replay(&u, sb.data, sb.size, &r, &err) == 0);
    CHECK(streamwire_replay_record(&r, 0, &rec, &err) != 0 && CONTAINS(err.msg, "out of order"));
    /* An error reply carries its code into err. */
    s_json(&sb, "{\"ok\":false,\"code\":\"E_UNKNOWN_STREAM\",\"error\":\"no such stream\"}");
    CHECK(streamwire_unpack_replay(&u, sb.data, sb.size, &r, &err) != 0 &&
          CONTAINS(err.msg, "E_UNKNOWN_STREAM"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* Prints o as JSON into a string (tmpfile-backed). */
static void s_to_json(const msgpack_object *o, char *out, size_t cap)
{
    FILE *f = tmpfile();
    mpjson_print(f, o);
    rewind(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_mpjson_round_trip(void)
{
    const char *json =
        "{\"s\":\"白马社区 \\\"q\\\"\\n\",\"i\":-42,\"u\":18446744073709551615,"
        "\"f\":1.5,\"b\":true,\"n\":null,\"a\":[1,[2,{}]],\"bin\":{\"$bin\":\"00ff\"}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_json(&sb, json);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    char out[512];
    s_to_json(&u.data, out, sizeof out);
    CHECKF(
        strcmp(out,
               "{\"s\":\"白马社区 \\\"q\\\"\\n\",\"i\":-42,\"u\":1.8446744073709552e+19,"
               "\"f\":1.5,\"b\":true,\"n\":null,\"a\":[1,[2,{}]],\"bin\":{\"$bin\":\"00ff\"}}") ==
            0,
        "%s", out);
    const msgpack_object *bin = mp_get(&u.data, "bin");
    CHECK(bin && bin->type == MSGPACK_OBJECT_BIN && bin->via.bin.size == 2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_mpjson_errors_name_the_place(void)
{
    const char *bad[] = {"{\"a\":1,}", "{\"a\" 1}",   "[1,2", "\"unterminated",
                         "tru",        "{\"a\":1} x", "01x",  "\"\\ud800\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        err_t err;
        CHECKF(mpjson_parse(bad[i], strlen(bad[i]), &pk, &err) != 0 &&
                   CONTAINS(err.msg, "line 1 column"),
               "input %s", bad[i]);
        msgpack_sbuffer_destroy(&sb);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    CHECK(mpjson_parse(deep, sizeof deep, &pk, &err) != 0 && CONTAINS(err.msg, "deeply"));
    msgpack_sbuffer_destroy(&sb);
}

static void test_manual_clock(void)
{
    aclock_t *c = aclock_new_manual(1579795200000LL); /* 2020-01-23T16:00:00Z */
    CHECK(aclock_wall_ms(c) == 1579795200000LL);
    int64_t mono = aclock_mono_ms(c);
    CHECK(aclock_advance_ms(c, 3600000) == 0);
    CHECK(aclock_wall_ms(c) == 1579798800000LL && aclock_mono_ms(c) == mono + 3600000);
    CHECK(aclock_set_wall_ms(c, 0) == -1); /* never backwards */
    int32_t day = 0;
    int minute = 0;
    /* 2020-01-23T17:00Z is 2020-01-24 01:00 in Asia/Shanghai: New Year's Eve. */
    aclock_local(aclock_wall_ms(c), 480, &day, &minute);
    CHECK(day == 20200124 && minute == 60);
    char text[32];
    aclock_format_utc(aclock_wall_ms(c), text, sizeof text);
    CHECK(strcmp(text, "2020-01-23T17:00:00.000Z") == 0);
    aclock_destroy(&c);
    CHECK(c == NULL);
    aclock_destroy(&c);
    aclock_t *sys = aclock_new_system();
    CHECK(aclock_advance_ms(sys, 5) == -1);
    CHECK(aclock_wall_ms(sys) > 1700000000000LL);
    aclock_destroy(&sys);
}

static void test_clock_from_env(void)
{
    setenv("AIRGUARD_CLOCK", "manual:1000", 1);
    aclock_t *c = aclock_new_from_env();
    CHECK(c && aclock_wall_ms(c) == 1000);
    aclock_destroy(&c);
    setenv("AIRGUARD_CLOCK", "sundial", 1);
    CHECK(aclock_new_from_env() == NULL);
    unsetenv("AIRGUARD_CLOCK");
}

static void test_log_line_is_json(void)
{
    char path[] = "/tmp/airguard-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    log_init("unit", "unit-1");
    log_info("quote \" and\nnewline", LF_STR("name", "白马"), LF_INT("n", -3),
             LF_STR("none", NULL));
    dup2(saved, STDERR_FILENO);
    close(saved);
    char line[512] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    CHECK(CONTAINS(line, "\"msg\":\"quote \\\" and\\nnewline\""));
    CHECK(CONTAINS(line, "\"name\":\"白马\",\"n\":-3,\"none\":null}\n"));
    CHECK(CONTAINS(line, "\"service\":\"unit\",\"instance\":\"unit-1\""));
    /* It parses back as JSON. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    CHECK(mpjson_parse(line, strlen(line), &pk, &err) == 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_yaml_events(void)
{
    const char *yaml = "# a tip, as an operator writes it\n"
                       "type: tip.received\n"
                       "subdistrict: baiyang\n"
                       "body:\n"
                       "  community: baima\n"
                       "  text: \"有人在坟地烧纸\"\n"
                       "  count: 3\n"
                       "  ratio: 0.5\n"
                       "  rewarded: true\n"
                       "  phone: '13800000000'\n"
                       "  nothing: ~\n"
                       "  list: [1, two]\n";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    CHECKF(yamlpack_parse("t.yaml", yaml, strlen(yaml), &pk, &err) == 0, "%s", err.msg);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    char out[512];
    s_to_json(&u.data, out, sizeof out);
    CHECKF(strcmp(out, "{\"type\":\"tip.received\",\"subdistrict\":\"baiyang\",\"body\":"
                       "{\"community\":\"baima\",\"text\":\"有人在坟地烧纸\",\"count\":3,"
                       "\"ratio\":0.5,\"rewarded\":true,\"phone\":\"13800000000\","
                       "\"nothing\":null,\"list\":[1,\"two\"]}}") == 0,
           "%s", out);
    msgpack_unpacked_destroy(&u);
    /* A syntax error names the input and the line. */
    const char *bad = "type: x\nbody: [1, 2\n";
    msgpack_sbuffer_clear(&sb);
    CHECK(yamlpack_parse("t.yaml", bad, strlen(bad), &pk, &err) != 0 &&
          CONTAINS(err.msg, "t.yaml:"));
    /* Aliases are refused, as in configuration files: expanding them is
     * how a few hundred bytes become billions of nodes. */
    const char *alias = "type: &t tip.received\nsubdistrict: baiyang\nbody: {kind: *t}\n";
    msgpack_sbuffer_clear(&sb);
    CHECKF(yamlpack_parse("t.yaml", alias, strlen(alias), &pk, &err) != 0 &&
               CONTAINS(err.msg, "t.yaml:3: aliases are not allowed (*t)"),
           "%s", err.msg);
    msgpack_sbuffer_destroy(&sb);
}

/* The id of a record derived into the outbox (outbox_add's envelope) for
 * emitter, origin, position; the index-th derived from that cause. */
static void s_derived(const char *emitter, const char *origin, int64_t position, int index,
                      char out[ENVELOPE_ID_LEN + 1])
{
    outbox_t *o = outbox_new(emitter);
    envelope_t env;
    err_t err;
    outbox_cause(o, origin, position);
    const char body[] = "\x80"; /* {} */
    for (int i = 0; i <= index; i++)
        outbox_add(o, "relay.test", "baiyang", emitter, 1, body, 1, &err);
    /* The last record's envelope: decode it back for its id. */
    stream_record_t rec;
    memset(&rec, 0, sizeof rec);
    envelope_init(&env);
    out[0] = '\0';
    if (outbox_peek_last(o, &rec) == 0 && envelope_decode(&env, rec.msg, rec.msg_len, &err) == 0)
        snprintf(out, ENVELOPE_ID_LEN + 1, "%s", env.id);
    envelope_fini(&env);
    outbox_destroy(&o);
}

/* Derived ids: the same cause gives the same id (a replay after a crash
 * derives what the log already holds, and its unique msg_id refuses a
 * second copy); any other emitter, input, position or index another. */
static void test_derived_ids(void)
{
    char a[37], b[37];
    s_derived("relay-1", "events.intake-1", 42, 0, a);
    s_derived("relay-1", "events.intake-1", 42, 0, b);
    CHECK(strlen(a) == 36 && uuid_is_canonical(a, 36) && strcmp(a, b) == 0);
    s_derived("cases-1", "events.intake-1", 42, 0, b);
    CHECK(strcmp(a, b) != 0);
    s_derived("relay-1", "events.intake-2", 42, 0, b);
    CHECK(strcmp(a, b) != 0);
    s_derived("relay-1", "events.intake-1", 43, 0, b);
    CHECK(strcmp(a, b) != 0);
    s_derived("relay-1", "events.intake-1", 42, 1, b);
    CHECK(strcmp(a, b) != 0);
}

/* Transactions are opened and ended only by db_tx_*(): a BEGIN string
 * through db_exec() is refused before any connection is tried. */
static void test_transactions_only_through_the_helper(void)
{
    db_t *db = db_new("host=/nonexistent", NULL, NULL, "x", "test");
    err_t err;
    const char *refused[] = {"BEGIN",    "begin;", "  START TRANSACTION", "COMMIT", "end",
                             "ROLLBACK", "abort"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        CHECK(db_exec(db, refused[i], &err) == DB_FAILED && CONTAINS(err.msg, "db_tx_begin"));
    /* Anything else is tried (and here finds no server: retry later). */
    CHECK(db_exec(db, "SELECT 1", &err) == DB_TRANSIENT);
    CHECK(db_exec(db, "ENDPOINT_TABLE_THAT_STARTS_WITH_END", &err) == DB_TRANSIENT);
    CHECK(db_tx_commit(db, &err) == DB_FAILED); /* no transaction open */
    db_tx_rollback(db);                         /* safe when none is open */
    CHECK(!db_in_tx(db));
    db_destroy(&db);
}

static void test_failure_classification(void)
{
    /* The data's fault: a poison message, dead-lettered after retries. */
    CHECK(!db_sqlstate_is_transient("22012")); /* division by zero */
    CHECK(!db_sqlstate_is_transient("22P02")); /* invalid text representation */
    CHECK(!db_sqlstate_is_transient("23505")); /* unique violation */
    CHECK(!db_sqlstate_is_transient("P0001")); /* raise_exception */
    /* The server's or the setup's: retried, never dead-lettered. */
    CHECK(db_sqlstate_is_transient(NULL));    /* no server answer at all */
    CHECK(db_sqlstate_is_transient("08006")); /* connection failure */
    CHECK(db_sqlstate_is_transient("57P01")); /* admin shutdown */
    CHECK(db_sqlstate_is_transient("57014")); /* statement timeout */
    CHECK(db_sqlstate_is_transient("55P03")); /* lock timeout */
    CHECK(db_sqlstate_is_transient("25006")); /* read-only standby */
    CHECK(db_sqlstate_is_transient("40001")); /* serialization failure */
    CHECK(db_sqlstate_is_transient("42501")); /* missing grant */
    CHECK(db_sqlstate_is_transient("53100")); /* disk full */
}

int main(void)
{
    RUN(test_data_frame_round_trip);
    RUN(test_heartbeat_frame);
    RUN(test_bad_pub_frames_name_the_field);
    RUN(test_replay_reply);
    RUN(test_mpjson_round_trip);
    RUN(test_mpjson_errors_name_the_place);
    RUN(test_manual_clock);
    RUN(test_clock_from_env);
    RUN(test_log_line_is_json);
    RUN(test_yaml_events);
    RUN(test_failure_classification);
    RUN(test_transactions_only_through_the_helper);
    RUN(test_derived_ids);
    return check_summary();
}
