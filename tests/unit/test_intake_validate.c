/* test_intake_validate.c - intake's domain modules without sockets or a
 * database: the settings refuse to start open by accident, key files,
 * the allow-list (loading errors and permissions), and intake_validate()'s
 * order of checks and codes, including confidential fields leaving the
 * body. Runs from the repository root. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "mpjson.h"
#include "../services/intake/intake.h"

static char dir[] = "/tmp/test_intake_XXXXXX";
static char path_buf[512];
static campaign_set_t *seeds;
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
    CHECK(settings_from("control: x\n", &s, &err) == -1 && CONTAINS(err.msg, "insecure: true"));
    CHECK(settings_from("intake: {security: {insecure: false}}\n", &s, &err) == -1);
    CHECK(settings_from("intake: {security: {secret_key_file: /k}}\n", &s, &err) == -1 &&
          CONTAINS(err.msg, "allow_list"));
    CHECK(settings_from("intake: {security: {insecure: true, secret_key_file: /k}}\n", &s, &err) ==
              -1 &&
          CONTAINS(err.msg, "both"));
    CHECK(settings_from("intake: {security: {insecure: true}}\n", &s, &err) == 0 && s.insecure &&
          !strcmp(s.submit, "tcp://0.0.0.0:7200") && !strcmp(s.campaigns, "seeds") &&
          s.max_future_ms == 600000);
    CHECK(settings_from("intake: {security: {secret_key_file: /k, allow_list: /a}, "
                        "submit: 'tcp://*:9', max_future_s: 0}\n",
                        &s, &err) == 0 &&
          !s.insecure && !strcmp(s.secret_key_file, "/k") && !strcmp(s.submit, "tcp://*:9") &&
          s.max_future_ms == 0);
    setenv("AIRGUARD_INTAKE_SECRET_KEY_FILE", "/from/env", 1);
    setenv("AIRGUARD_INTAKE_ALLOW_LIST", "/list", 1);
    CHECK(settings_from("control: x\n", &s, &err) == 0 && !strcmp(s.secret_key_file, "/from/env"));
    unsetenv("AIRGUARD_INTAKE_SECRET_KEY_FILE");
    unsetenv("AIRGUARD_INTAKE_ALLOW_LIST");
    CHECK(settings_from("intake: {securty: {}}\n", &s, &err) == -1 && CONTAINS(err.msg, "securty"));
}

static void test_key_files(void)
{
    uint8_t key[32], want[32];
    err_t err;
    char text[128];
    zmq_z85_decode(want, sec1);
    snprintf(text, sizeof text, "# a comment\n\n  %s\n", sec1);
    CHECK(intake_key_read(write_file("ok.key", text, 0600), true, key, &err) == 0 &&
          memcmp(key, want, 32) == 0);
    CHECK(intake_key_read(write_file("open.key", text, 0644), true, key, &err) == -1 &&
          CONTAINS(err.msg, "readable"));
    CHECK(intake_key_read(path_buf, false, key, &err) == 0); /* public keys may be readable */
    CHECK(intake_key_read(write_file("bad.key", "short\n", 0600), true, key, &err) == -1);
    CHECK(intake_key_read(write_file("empty.key", "# nothing\n", 0600), true, key, &err) == -1);
    CHECK(intake_key_read("/nonexistent/x.key", true, key, &err) == -1);
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
}

/* An envelope decoded from JSON (v/id filled in). */
static int env_from(envelope_t *env, const char *type, const char *source, const char *subdistrict,
                    const char *body_json, int64_t time_ms)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"v\":1,\"id\":\"0b9e5c3a-6f1d-4e2a-9c7b-1d2e3f405162\",\"type\":\"%s\","
             "\"source\":\"%s\",\"subdistrict\":\"%s\",\"time\":%lld,\"body\":%s}",
             type, source, subdistrict, (long long)time_ms, body_json);
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

/* Runs intake_validate; returns the code ("OK" on acceptance). */
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
    else if (intake_validate(v, &env, user, &code, field, &err) == 0)
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
    intake_validator_init(&v, seeds, a, NULL, NULL, 0);
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
    intake_validator_init(&v, seeds, NULL, NULL, clock, 600000);
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
    CHECK(intake_validate(&v, &env, NULL, &code, &field, &err) == 0);
    env_from(&env, "task.acknowledged", "app", "baiyang", ack, 1574640000000LL + 660000);
    CHECK(intake_validate(&v, &env, NULL, &code, &field, &err) == -1 && !strcmp(code, "E_RANGE") &&
          !strcmp(field, "time"));
    /* Confidential fields leave the body (no database here: not stored). */
    const catalogue_type_t *tip = catalogue_find("tip.received");
    env_from(&env, "tip.received", "app", "baiyang", tip->example, 1574640000000LL);
    CHECK(mp_get(&env.body, "contact_phone") && mp_get(&env.body, "contact_name"));
    uint32_t before = env.body.via.map.size;
    CHECK(intake_validate(&v, &env, NULL, &code, &field, &err) == 0);
    CHECK(env.body.via.map.size == before - 2 && !mp_get(&env.body, "contact_phone") &&
          !mp_get(&env.body, "contact_name") && mp_get(&env.body, "wants_reward"));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, v.secret.data, v.secret.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
          u.data.type == MSGPACK_OBJECT_MAP && u.data.via.map.size == 2 &&
          mp_get(&u.data, "contact_phone"));
    msgpack_unpacked_destroy(&u);
    /* The stripped body re-encodes canonically. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK(envelope_encode(&env, &sb, &err) == 0);
    msgpack_sbuffer_destroy(&sb);
    envelope_fini(&env);
    intake_validator_fini(&v);
    aclock_destroy(&clock);
}

int main(void)
{
    err_t err;
    if (!mkdtemp(dir) || zmq_curve_keypair(pub1, sec1) != 0 || zmq_curve_keypair(pub2, sec2) != 0 ||
        !(seeds = campaign_set_load_dir("seeds", &err))) {
        fprintf(stderr, "setup failed (run from the repository root)\n");
        return 2;
    }
    RUN(test_settings_refuse_to_start_open);
    RUN(test_key_files);
    RUN(test_allowlist_loading);
    RUN(test_validate_secure);
    RUN(test_validate_insecure);
    campaign_set_destroy(&seeds);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
