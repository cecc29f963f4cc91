/* test_intake_validate.c - intake's domain modules without sockets or a
 * database: the settings refuse to start open by accident (no key, insecure
 * off loopback, insecure with a key or an allow-list), key files, the
 * allow-list (loading errors, name rules, permissions), intake_validator_check()'s
 * order of checks and codes, uuid normalisation, and confidential fields
 * leaving the body for a keyed digest kept per slot (HMAC-SHA-256 checked
 * against RFC 4231). Runs from the repository root. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "mp.h"
#include "mpjson.h"
#include "bodycheck.h"
#include "campaignset.h"
#include "curvekey.h"
#include "../services/intake/allowlist.h"
#include "../services/intake/confidential.h"
#include "../services/intake/digest.h"
#include "../services/intake/settings.h"
#include "../services/intake/validator.h"

static char dir[] = "/tmp/test_intake_XXXXXX";
static char path_buf[512];
static campaignset_t *seeds;
static char pub1[41], sec1[41], pub2[41], sec2[41];

/* Writes text to dir/name with mode; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    FILE *f = fopen(path_buf, "w");
    fputs(text, f);
    fclose(f);
    chmod(path_buf, mode);
    return path_buf;
}

static int settings_from(const char *yaml, intake_settings_t *out, err_t *err)
{
    config_t *cfg = config_parse("test.yaml", yaml, strlen(yaml), err);
    if (!cfg)
        return -2;
    int rc = intake_settings_load(config_root(cfg), out, err);
    config_destroy(&cfg);
    return rc;
}

static void test_settings_refuse_to_start_open(void)
{
    intake_settings_t s;
    err_t err;
    unsetenv("AIRGUARD_INTAKE_SECRET_KEY_FILE");
    unsetenv("AIRGUARD_INTAKE_ALLOW_LIST");
    unsetenv("AIRGUARD_SUBMIT_ENDPOINT");
    unsetenv("AIRGUARD_INTAKE_CONTACT_KEY");
    unsetenv("AIRGUARD_INTAKE_CONTACT_KEY_FILE");
    CHECK(settings_from("control: x\n", &s, &err) == -1 && CONTAINS(err.msg, "insecure: true"));
    CHECK(settings_from("intake: {security: {insecure: false}}\n", &s, &err) == -1);
    CHECK(settings_from("intake: {security: {secret_key_file: /k}}\n", &s, &err) == -1 &&
          CONTAINS(err.msg, "allow_list"));
    CHECK(settings_from("intake: {security: {insecure: true, secret_key_file: /k}}\n", &s, &err) ==
              -1 &&
          CONTAINS(err.msg, "both"));
    /* insecure: not with an allow-list, and on a local endpoint only (the
     * default endpoint listens on every interface) */
    CHECK(settings_from("intake: {submit: 'tcp://127.0.0.1:9', security: {insecure: true, "
                        "allow_list: /a}}\n",
                        &s, &err) == -1 &&
          CONTAINS(err.msg, "allow_list"));
    CHECK(settings_from("intake: {security: {insecure: true}}\n", &s, &err) == -1 &&
          CONTAINS(err.msg, "tcp://0.0.0.0:7200"));
    CHECK(settings_from("intake: {submit: 'tcp://*:9', security: {insecure: true}}\n", &s, &err) ==
          -1);
    CHECK(settings_from("intake: {submit: 'tcp://127.0.0.1:9', security: {insecure: true}}\n", &s,
                        &err) == 0 &&
          s.insecure && !strcmp(s.campaigns, "seeds") && s.max_future_ms == 600000);
    setenv("AIRGUARD_SUBMIT_ENDPOINT", "tcp://10.0.0.5:7200", 1);
    CHECK(settings_from("intake: {submit: 'tcp://127.0.0.1:9', security: {insecure: true}}\n", &s,
                        &err) == -1 &&
          CONTAINS(err.msg, "10.0.0.5"));
    unsetenv("AIRGUARD_SUBMIT_ENDPOINT");
    CHECK(settings_from("intake: {security: {secret_key_file: /k, allow_list: /a, "
                        "contact_key_file: /c}, submit: 'tcp://*:9', max_future_s: 0}\n",
                        &s, &err) == 0 &&
          !s.insecure && !strcmp(s.secret_key_file, "/k") && !strcmp(s.submit, "tcp://*:9") &&
          !strcmp(s.contact_key_file, "/c") && !s.contact_key_env && s.max_future_ms == 0);
    /* CURVE on but no key to seal contacts with: refused, naming the setting */
    CHECK(settings_from("intake: {security: {secret_key_file: /k, allow_list: /a}}\n", &s, &err) ==
              -1 &&
          CONTAINS(err.msg, "contact_key_file") &&
          CONTAINS(err.msg, "AIRGUARD_INTAKE_CONTACT_KEY"));
    setenv("AIRGUARD_INTAKE_SECRET_KEY_FILE", "/from/env", 1);
    setenv("AIRGUARD_INTAKE_ALLOW_LIST", "/list", 1);
    setenv("AIRGUARD_INTAKE_CONTACT_KEY_FILE", "/contact/env", 1);
    CHECK(settings_from("control: x\n", &s, &err) == 0 && !strcmp(s.secret_key_file, "/from/env") &&
          !strcmp(s.contact_key_file, "/contact/env") && !strcmp(s.submit, "tcp://0.0.0.0:7200"));
    unsetenv("AIRGUARD_INTAKE_CONTACT_KEY_FILE");
    setenv("AIRGUARD_INTAKE_CONTACT_KEY", "1:00", 1);
    CHECK(settings_from("control: x\n", &s, &err) == 0 && s.contact_key_env &&
          !s.contact_key_file[0]);
    unsetenv("AIRGUARD_INTAKE_CONTACT_KEY");
    unsetenv("AIRGUARD_INTAKE_SECRET_KEY_FILE");
    unsetenv("AIRGUARD_INTAKE_ALLOW_LIST");
    CHECK(settings_from("intake: {securty: {}}\n", &s, &err) == -1 && CONTAINS(err.msg, "securty"));
}

static void test_local_endpoints(void)
{
    static const char *const local[] = {"ipc:///tmp/x.sock",    "inproc://x",
                                        "tcp://127.0.0.1:7200", "tcp://127.1.2.3:1",
                                        "tcp://localhost:7200", "tcp://[::1]:7200"};
    static const char *const remote[] = {"tcp://0.0.0.0:7200",  "tcp://*:7200",
                                         "tcp://10.0.0.1:7200", "tcp://eth0:7200",
                                         "tcp://[::]:7200",     "tcp://128.0.0.1:7200",
                                         "tcp://127.0.0.256:1", "tcp://127.0.0.1",
                                         "tcp://127.0.0:1",     "tcp://localhost.evil.example:1",
                                         "udp://127.0.0.1:1",   "",
                                         "tcp://127.0.0.1.5:1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        CHECKF(intake_settings_endpoint_is_local(local[i]), "%s", local[i]);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        CHECKF(!intake_settings_endpoint_is_local(remote[i]), "%s", remote[i]);
}

static void test_key_files(void)
{
    uint8_t key[32], want[32];
    err_t err;
    char text[128];
    zmq_z85_decode(want, sec1);
    snprintf(text, sizeof text, "# a comment\n\n  %s\n", sec1);
    CHECK(curvekey_read(write_file("ok.key", text, 0600), true, key, &err) == 0 &&
          memcmp(key, want, 32) == 0);
    CHECK(curvekey_read(write_file("open.key", text, 0644), true, key, &err) == -1 &&
          CONTAINS(err.msg, "readable"));
    CHECK(curvekey_read(path_buf, false, key, &err) == 0); /* public keys may be readable */
    CHECK(curvekey_read(write_file("bad.key", "short\n", 0600), true, key, &err) == -1);
    CHECK(curvekey_read(write_file("empty.key", "# nothing\n", 0600), true, key, &err) == -1);
    CHECK(curvekey_read("/nonexistent/x.key", true, key, &err) == -1);
}

static intake_allowlist_t *allow_from(const char *yaml, err_t *err)
{
    return intake_allowlist_load(write_file("allow.yaml", yaml, 0644), err);
}

/* patrol-app (key 1): patrol.* and task.*; hotline (key 2): tips in shanhe. */
static intake_allowlist_t *allow_two(err_t *err)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "clients:\n"
             "  - {source: patrol-app, keys: ['%s'], types: [patrol.*, task.*]}\n"
             "  - {source: hotline, keys: ['%s'], types: [tip.received], subdistricts: [shanhe]}\n",
             pub1, pub2);
    return allow_from(yaml, err);
}

static void test_allowlist_loading(void)
{
    err_t err;
    char yaml[1024];
    intake_allowlist_t *a = allow_two(&err);
    CHECKF(a && intake_allowlist_count(a) == 2, "%s", err.msg);
    uint8_t k1[32], k2[32], k3[32];
    zmq_z85_decode(k1, pub1);
    zmq_z85_decode(k2, pub2);
    zmq_z85_decode(k3, sec1);
    CHECK(a && !strcmp(intake_allowlist_source_of(a, k1), "patrol-app"));
    CHECK(a && !strcmp(intake_allowlist_source_of(a, k2), "hotline"));
    CHECK(a && intake_allowlist_source_of(a, k3) == NULL);
    intake_allowlist_destroy(&a);
    intake_allowlist_destroy(&a);

    snprintf(yaml, sizeof yaml, "clients:\n  - {source: x, keys: ['%s'], types: [patrl.*]}\n",
             pub1);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "patrl.*") && CONTAINS(err.msg, ":2:"));
    snprintf(yaml, sizeof yaml,
             "clients:\n  - {source: x, keys: ['%s'], types: ['*']}\n"
             "  - {source: x, keys: ['%s'], types: ['*']}\n",
             pub1, pub2);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "twice"));
    snprintf(yaml, sizeof yaml,
             "clients:\n  - {source: x, keys: ['%s'], types: ['*']}\n"
             "  - {source: y, keys: ['%s'], types: ['*']}\n",
             pub1, pub1);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "already listed"));
    CHECK(!allow_from("clients:\n  - {source: x, keys: [nope], types: ['*']}\n", &err) &&
          CONTAINS(err.msg, "Z85"));
    CHECK(!allow_from("clients:\n  - {source: x, types: ['*']}\n", &err) &&
          CONTAINS(err.msg, "keys"));
    CHECK(!allow_from("client: []\n", &err));
    /* Names follow the envelope's rule, or they could never match a message. */
    snprintf(yaml, sizeof yaml,
             "clients:\n  - {source: 'patrol app', keys: ['%s'], types: ['*']}\n", pub1);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "patrol app") && CONTAINS(err.msg, ":2:"));
    snprintf(yaml, sizeof yaml, "clients:\n  - {source: '%s', keys: ['%s'], types: ['*']}\n",
             "a123456789012345678901234567890123456789012345678901234567890123", pub1);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "1..63"));
    snprintf(yaml, sizeof yaml,
             "clients:\n  - {source: ok.Name_1-x, keys: ['%s'], types: ['*'], subdistricts: "
             "[bai/yang]}\n",
             pub1);
    CHECK(!allow_from(yaml, &err) && CONTAINS(err.msg, "bai/yang"));
    snprintf(yaml, sizeof yaml, "clients:\n  - {source: ok.Name_1-x, keys: ['%s'], types: ['*']}\n",
             pub1);
    intake_allowlist_t *ok = allow_from(yaml, &err);
    CHECKF(ok != NULL, "%s", err.msg);
    intake_allowlist_destroy(&ok);
}

#define TEST_ID "0b9e5c3a-6f1d-4e2a-9c7b-1d2e3f405162"
static const uint8_t test_key[INTAKE_DIGEST_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* An envelope decoded from JSON with the given id. */
static int env_from_id(envelope_t *env, const char *id, const char *type, const char *source,
                       const char *subdistrict, const char *body_json, int64_t time_ms)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"%s\",\"type\":\"%s\",\"source\":\"%s\",\"subdistrict\":\"%s\","
             "\"time\":%lld,\"body\":%s}",
             id, type, source, subdistrict, (long long)time_ms, body_json);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    int rc = mpjson_parse(json, strlen(json), &pk, &err) == 0 &&
                     envelope_decode(env, sb.data, sb.size, &err) == ENVELOPE_OK
                 ? 0
                 : -1;
    if (rc)
        fprintf(stderr, "fixture: %s\n", err.msg);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int env_from(envelope_t *env, const char *type, const char *source, const char *subdistrict,
                    const char *body_json, int64_t time_ms)
{
    return env_from_id(env, TEST_ID, type, source, subdistrict, body_json, time_ms);
}

/* Runs intake_validator_check on slot 0; returns the code ("OK" on acceptance). */
static const char *run(intake_validator_t *v, const char *user, const char *type,
                       const char *source, const char *subdistrict, const char *body,
                       const char **field)
{
    envelope_t env;
    envelope_init(&env);
    err_t err;
    const char *code = "OK";
    *field = NULL;
    if (env_from(&env, type, source, subdistrict, body, 1574640000000LL) != 0)
        code = "FIXTURE";
    else if (intake_validator_check(v, &env, user, 0, &code, field, &err) >= 0)
        code = "OK";
    else if (*field)
        CHECKF(CONTAINS(err.msg, *field), "message '%s' does not name '%s'", err.msg, *field);
    envelope_fini(&env);
    return code;
}

static void test_validate_secure(void)
{
    err_t err;
    const char *field;
    intake_allowlist_t *a = allow_two(&err);
    intake_validator_t v;
    CHECK(intake_validator_init(&v, seeds, a, NULL, NULL, 0, test_key) == 0);
    const char *visit = catalogue_find("patrol.route_visit")->example;
    CHECK(!strcmp(
        run(&v, "patrol-app", "patrol.route_visit", "patrol-app", "baiyang", visit, &field), "OK"));
    CHECK(!strcmp(run(&v, "patrol-app", "patrol.route_visit", "hotline", "baiyang", visit, &field),
                  "E_FORBIDDEN") &&
          !strcmp(field, "source"));
    CHECK(!strcmp(run(&v, "patrol-app", "tip.received", "patrol-app", "baiyang", "{}", &field),
                  "E_FORBIDDEN") &&
          !strcmp(field, "type"));
    CHECK(!strcmp(run(&v, "hotline", "tip.received", "hotline", "baiyang", "{}", &field),
                  "E_FORBIDDEN") &&
          !strcmp(field, "subdistrict"));
    CHECK(!strcmp(run(&v, NULL, "patrol.route_visit", "patrol-app", "baiyang", visit, &field),
                  "E_FORBIDDEN"));
    CHECK(!strcmp(run(&v, "stranger", "patrol.route_visit", "stranger", "baiyang", visit, &field),
                  "E_FORBIDDEN"));
    /* Authorised, then the usual checks. */
    CHECK(!strcmp(run(&v, "patrol-app", "patrol.nap", "patrol-app", "baiyang", "{}", &field),
                  "E_UNKNOWN_TYPE") &&
          !strcmp(field, "type"));
    CHECK(!strcmp(run(&v, "hotline", "tip.received", "hotline", "shanhe",
                      "{\"ban\":\"no_burning\"}", &field),
                  "E_MISSING") &&
          !strcmp(field, "description"));
    CHECK(v.nrefused >= 3);
    intake_validator_fini(&v);
    intake_allowlist_destroy(&a);
}

static void test_validate_insecure(void)
{
    intake_validator_t v;
    const char *field;
    aclock_t *clock = aclock_new_manual(1574640000000LL);
    CHECK(intake_validator_init(&v, seeds, NULL, NULL, clock, 600000, test_key) == 0);
    CHECK(!strcmp(run(&v, NULL, "task.done", "anyone", "nowhere", "{}", &field),
                  "E_UNKNOWN_SUBDISTRICT") &&
          !strcmp(field, "subdistrict"));
    CHECK(!strcmp(run(&v, NULL, "task.nothing", "anyone", "baiyang", "{}", &field),
                  "E_UNKNOWN_TYPE"));
    CHECK(!strcmp(run(&v, NULL, "task.done", "anyone", "baiyang", "{\"task\":1}", &field),
                  "E_TYPE") &&
          !strcmp(field, "task"));
    /* time: 10 minutes ahead is fine, 11 is not */
    envelope_t env;
    envelope_init(&env);
    err_t err;
    const char *code;
    const char *ack = catalogue_find("task.acknowledged")->example;
    env_from(&env, "task.acknowledged", "app", "baiyang", ack, 1574640000000LL + 600000);
    CHECK(intake_validator_check(&v, &env, NULL, 0, &code, &field, &err) == 0);
    env_from(&env, "task.acknowledged", "app", "baiyang", ack, 1574640000000LL + 660000);
    CHECK(intake_validator_check(&v, &env, NULL, 0, &code, &field, &err) == -1 &&
          !strcmp(code, "E_RANGE") && !strcmp(field, "time"));
    /* A slot beyond the batch is a bug, refused rather than trusted. */
    env_from(&env, "task.acknowledged", "app", "baiyang", ack, 1574640000000LL);
    CHECK(intake_validator_check(&v, &env, NULL, INGEST_BATCH_MAX, &code, &field, &err) == -1 &&
          !strcmp(code, "E_INTERNAL"));
    envelope_fini(&env);
    intake_validator_fini(&v);
    aclock_destroy(&clock);
}

/* Body uuids are lower-cased, so a retry in the other case is the same. */
static void test_uuids_normalised(void)
{
    intake_validator_t v;
    CHECK(intake_validator_init(&v, seeds, NULL, NULL, NULL, 0, test_key) == 0);
    envelope_t env;
    envelope_init(&env);
    err_t err;
    const char *code, *field;
    env_from(&env, "task.acknowledged", "app", "baiyang",
             "{\"task\":\"5D0C3A8E-2F4B-4C1D-9E8F-0A1B2C3D4E5F\",\"by\":\"x\"}", 1574640000000LL);
    CHECK(intake_validator_check(&v, &env, NULL, 3, &code, &field, &err) == 0);
    CHECK(mp_str_eq(mp_get(&env.body, "task"), "5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f"));
    envelope_fini(&env);
    intake_validator_fini(&v);
}

/* Validates a tip with the given body on slot; returns the verdict and
 * leaves the envelope for inspection. */
static int tip(intake_validator_t *v, envelope_t *env, size_t slot, const char *id,
               const char *body)
{
    err_t err;
    const char *code, *field;
    if (env_from_id(env, id, "tip.received", "app", "baiyang", body, 1574640000000LL) != 0)
        return -9;
    int rc = intake_validator_check(v, env, NULL, slot, &code, &field, &err);
    if (rc < 0)
        fprintf(stderr, "  tip refused: %s %s\n", code, err.msg);
    return rc;
}

/* True when needle (n bytes) occurs in hay (len bytes). */
static bool has_bytes(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

/* The digest a body carries after validate ("" when none). */
static void digest_of(const envelope_t *env, char out[INTAKE_DIGEST_HEX + 1])
{
    const msgpack_object *d = mp_get(&env->body, "contact_digest");
    out[0] = '\0';
    if (d && d->type == MSGPACK_OBJECT_STR && d->via.str.size == INTAKE_DIGEST_HEX) {
        memcpy(out, d->via.str.ptr, INTAKE_DIGEST_HEX);
        out[INTAKE_DIGEST_HEX] = '\0';
    }
}

static void test_confidential_fields(void)
{
    intake_validator_t v;
    CHECK(intake_validator_init(&v, seeds, NULL, NULL, NULL, 0, test_key) == 0);
    envelope_t env;
    envelope_init(&env);
    err_t err;
    char field[64], d1[INTAKE_DIGEST_HEX + 1], d2[INTAKE_DIGEST_HEX + 1];
    const catalogue_type_t *t = catalogue_find("tip.received");
    const char *base = "{\"ban\":\"no_fireworks\",\"address\":\"x\",\"description\":\"y\"";
    char body[512];

    /* Accepted with effects of its own: the contact leaves the body, the
     * digest is last, the slot keeps id, subdistrict, type and fields. */
    CHECK(tip(&v, &env, 7, TEST_ID, t->example) == 1);
    uint32_t n = env.body.via.map.size;
    CHECK(!mp_get(&env.body, "contact_phone") && !mp_get(&env.body, "contact_name") &&
          mp_get(&env.body, "wants_reward"));
    CHECK(mp_str_eq(&env.body.via.map.ptr[n - 1].key, "contact_digest"));
    digest_of(&env, d1);
    CHECK(strlen(d1) == 64 && strspn(d1, "0123456789abcdef") == 64 &&
          !strcmp(v.pending[7].digest, d1));
    CHECK(!strcmp(v.pending[7].id, TEST_ID) && !strcmp(v.pending[7].subdistrict, "baiyang") &&
          !strcmp(v.pending[7].type, "tip.received"));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, v.pending[7].fields.data, v.pending[7].fields.size, NULL) ==
              MSGPACK_UNPACK_SUCCESS &&
          u.data.type == MSGPACK_OBJECT_MAP && u.data.via.map.size == 2 &&
          mp_str_eq(&u.data.via.map.ptr[0].key, "contact_name") &&
          mp_str_eq(mp_get(&u.data, "contact_phone"), "+86 138 0000 0000"));
    msgpack_unpacked_destroy(&u);
    /* The stored form is what log readers check, and it re-encodes. */
    CHECKF(bodycheck_stored(t, &env.body, field, sizeof field, &err) == BODYCHECK_OK, "%s",
           err.msg);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK(envelope_encode(&env, &sb, &err) == 0);
    CHECK(!has_bytes(sb.data, sb.size, "138 0000", 8) && has_bytes(sb.data, sb.size, d1, 64));
    msgpack_sbuffer_destroy(&sb);

    /* The same contact in another order: the same digest. Another phone,
     * another message id, or a name only: another digest. */
    snprintf(body, sizeof body,
             "%s,\"contact_phone\":\"+86 138 0000 0000\",\"wants_reward\":true,"
             "\"contact_name\":\"张先生\"}",
             base);
    CHECK(tip(&v, &env, 8, TEST_ID, body) == 1);
    digest_of(&env, d2);
    CHECK(!strcmp(d1, d2));
    snprintf(body, sizeof body,
             "%s,\"contact_phone\":\"+86 138 0000 0001\",\"contact_name\":\"张先生\"}", base);
    CHECK(tip(&v, &env, 8, TEST_ID, body) == 1);
    digest_of(&env, d2);
    CHECK(strcmp(d1, d2) != 0);
    CHECK(tip(&v, &env, 8, "1b9e5c3a-6f1d-4e2a-9c7b-1d2e3f405162", t->example) == 1);
    digest_of(&env, d2);
    CHECK(strcmp(d1, d2) != 0);
    snprintf(body, sizeof body, "%s,\"contact_name\":\"张先生\"}", base);
    CHECK(tip(&v, &env, 8, TEST_ID, body) == 1);
    digest_of(&env, d2);
    CHECK(strcmp(d1, d2) != 0 && v.pending[8].fields.size > 0);
    /* Another key, another digest: nothing else can predict it. */
    intake_validator_t other;
    uint8_t key2[INTAKE_DIGEST_KEY_LEN] = {9};
    CHECK(intake_validator_init(&other, seeds, NULL, NULL, NULL, 0, key2) == 0);
    CHECK(tip(&other, &env, 0, TEST_ID, t->example) == 1);
    digest_of(&env, d2);
    CHECK(strcmp(d1, d2) != 0);
    intake_validator_fini(&other);

    /* No contact: accepted without effects, the body untouched. */
    snprintf(body, sizeof body, "%s}", base);
    CHECK(tip(&v, &env, 9, TEST_ID, body) == 0);
    CHECK(env.body.via.map.size == 3 && !mp_get(&env.body, "contact_digest"));
    /* A client may not send the digest itself. */
    snprintf(body, sizeof body, "%s,\"contact_digest\":\"%s\"}", base, d1);
    CHECK(tip(&v, &env, 9, TEST_ID, body) == -1);
    envelope_fini(&env);
    intake_validator_fini(&v);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void test_hmac_sha256(void)
{
    uint8_t out[32], key[131];
    char hex[65];
    memset(key, 0x0b, 20);
    intake_digest_hmac_sha256(key, 20, "Hi ", 3, "There", 5, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    CHECK(!strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    intake_digest_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want ", 16, "for nothing?",
                              12, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    CHECK(!strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    memset(key, 0xaa, sizeof key);
    const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
    intake_digest_hmac_sha256(key, sizeof key, m, strlen(m), NULL, 0, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    CHECK(!strcmp(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

int main(void)
{
    err_t err;
    if (!mkdtemp(dir) || zmq_curve_keypair(pub1, sec1) != 0 || zmq_curve_keypair(pub2, sec2) != 0 ||
        !(seeds = campaignset_load_dir("seeds", &err))) {
        fprintf(stderr, "setup failed (run from the repository root)\n");
        return 2;
    }
    RUN(test_settings_refuse_to_start_open);
    RUN(test_local_endpoints);
    RUN(test_key_files);
    RUN(test_allowlist_loading);
    RUN(test_validate_secure);
    RUN(test_validate_insecure);
    RUN(test_uuids_normalised);
    RUN(test_confidential_fields);
    RUN(test_hmac_sha256);
    campaignset_destroy(&seeds);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
