/* test_bodycheck.c - the body checker against the catalogue and the
 * Baiyang and Shanhe seeds: every type's example is accepted, and
 * for every field of every type (generated from the table, so a new type is
 * covered the day it is added) a missing required field, a wrong type and
 * out-of-range values are refused with the right code and field name. Then
 * the rules, place agreement (communities, grids, key areas, checkpoints),
 * unknown keys, string hygiene (UTF-8, control and invisible characters,
 * CRLF in text), uuid normalisation, and the stored form of a body with
 * confidential fields replaced by their digest. Runs from the repository
 * root. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bodycheck.h"
#include "catalogue.h"
#include "check.h"
#include "envelope.h"
#include "mp.h"
#include "mpjson.h"
#include "uuid.h"

static campaign_t *baiyang, *shanhe;

/* A body built from JSON, owning its buffer and zone. */
typedef struct body {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
} body_t;

static void body_free(body_t *b)
{
    msgpack_sbuffer_destroy(&b->sb);
    msgpack_unpacked_destroy(&b->u);
}

/* Packs json into pk; aborts the test program on a broken fixture. */
static void pack_json(msgpack_packer *pk, const char *json)
{
    err_t err;
    if (mpjson_parse(json, strlen(json), pk, &err) != 0) {
        fprintf(stderr, "fixture JSON %s: %s\n", json, err.msg);
        exit(2);
    }
}

static void body_unpack(body_t *b)
{
    msgpack_unpacked_init(&b->u);
    msgpack_unpack_next(&b->u, b->sb.data, b->sb.size, NULL);
}

static void body_from_json(body_t *b, const char *json)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
    pack_json(&pk, json);
    body_unpack(b);
}

/* The example of t with field `name` replaced by the JSON value `value`
 * (added when the example lacks it), or removed when value is NULL. */
static void body_mutate(body_t *b, const catalogue_type_t *t, const char *name, const char *value)
{
    body_t ex;
    body_from_json(&ex, t->example);
    const msgpack_object *m = &ex.u.data;
    bool present = mp_get(m, name) != NULL;
    uint32_t n = m->via.map.size + (present ? 0 : 1) - (present && !value ? 1 : 0);
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        if (mp_str_eq(&m->via.map.ptr[i].key, name)) {
            if (value) {
                msgpack_pack_object(&pk, m->via.map.ptr[i].key);
                pack_json(&pk, value);
            }
            continue;
        }
        msgpack_pack_object(&pk, m->via.map.ptr[i].key);
        msgpack_pack_object(&pk, m->via.map.ptr[i].val);
    }
    if (!present && value) {
        msgpack_pack_str_with_body(&pk, name, strlen(name));
        pack_json(&pk, value);
    }
    body_free(&ex);
    body_unpack(b);
}

/* Checks one mutation: expected status and field. */
static void expect(const catalogue_type_t *t, const char *name, const char *value,
                   bodycheck_status_t want, const char *want_field)
{
    body_t b;
    char field[64];
    err_t err;
    body_mutate(&b, t, name, value);
    bodycheck_status_t st = bodycheck_submitted(t, &b.u.data, baiyang, field, sizeof field, &err);
    CHECKF(st == want && strcmp(field, want_field) == 0 && CONTAINS(err.msg, want_field),
           "%s.%s = %s: got %s field '%s' (%s), want %s field '%s'", t->name, name,
           value ? value : "(removed)", bodycheck_status_code(st), field, err.msg,
           bodycheck_status_code(want), want_field);
    body_free(&b);
}

/* A JSON string of n copies of c. */
static char *json_repeat(char c, int64_t n)
{
    char *s = malloc((size_t)n + 3);
    s[0] = '"';
    memset(s + 1, c, (size_t)n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    return s;
}

static void test_status_codes(void)
{
    CHECK(!strcmp(bodycheck_status_code(BODYCHECK_OK), "OK"));
    CHECK(!strcmp(bodycheck_status_code(BODYCHECK_E_UNKNOWN_REF), "E_UNKNOWN_REF"));
    CHECK(!strcmp(bodycheck_status_code((bodycheck_status_t)99), "E_INTERNAL"));
}

static void test_every_example_is_accepted(void)
{
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        body_t b;
        char field[64];
        err_t err;
        body_from_json(&b, t->example);
        bodycheck_status_t st =
            bodycheck_submitted(t, &b.u.data, baiyang, field, sizeof field, &err);
        CHECKF(st == BODYCHECK_OK, "%s: %s", t->name, err.msg);
        /* Without a campaign, references are not looked up. */
        CHECK(bodycheck_submitted(t, &b.u.data, NULL, field, sizeof field, &err) == BODYCHECK_OK);
        body_free(&b);
    }
}

/* ---- generated from the table: every field of every type ---------------- */

static void test_missing_required_fields(void)
{
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        for (size_t f = 0; f < t->n_fields; f++)
            if (t->fields[f].required)
                expect(t, t->fields[f].name, NULL, BODYCHECK_E_MISSING, t->fields[f].name);
    }
}

static void test_wrong_types(void)
{
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        for (size_t f = 0; f < t->n_fields; f++) {
            const catalogue_field_t *fd = &t->fields[f];
            const char *wrong;
            if (fd->flags & CAT_F_DIGEST) { /* never submitted: test_stored_form */
                expect(t, fd->name, "7", BODYCHECK_E_UNKNOWN_KEY, fd->name);
                continue;
            }
            switch (fd->kind) {
            case CAT_INT:
                wrong = "\"7\"";
                break;
            case CAT_NUM:
            case CAT_STR_LIST:
                wrong = "\"x\"";
                break;
            case CAT_BOOL:
                wrong = "1";
                break;
            default:
                wrong = "7";
                break;
            }
            expect(t, fd->name, wrong, BODYCHECK_E_TYPE, fd->name);
            expect(t, fd->name, "null", BODYCHECK_E_TYPE, fd->name);
            expect(t, fd->name, fd->kind == CAT_BOOL ? "{}" : "[[1]]", BODYCHECK_E_TYPE, fd->name);
        }
    }
}

static void test_out_of_range(void)
{
    char num[64];
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        for (size_t f = 0; f < t->n_fields; f++) {
            const catalogue_field_t *fd = &t->fields[f];
            const char *name = fd->name;
            char *s;
            if (fd->flags & CAT_F_DIGEST)
                continue;
            switch (fd->kind) {
            case CAT_INT:
                snprintf(num, sizeof num, "%" PRId64, fd->max + 1);
                expect(t, name, num, BODYCHECK_E_RANGE, name);
                snprintf(num, sizeof num, "%" PRId64, fd->min - 1);
                expect(t, name, num, BODYCHECK_E_RANGE, name);
                break;
            case CAT_NUM:
                snprintf(num, sizeof num, "%.1f", fd->fmax + 0.5);
                expect(t, name, num, BODYCHECK_E_RANGE, name);
                snprintf(num, sizeof num, "%.1f", fd->fmin - 0.5);
                expect(t, name, num, BODYCHECK_E_RANGE, name);
                break;
            case CAT_STR:
            case CAT_TEXT:
            case CAT_CODE:
            case CAT_PHONE:
                s = json_repeat(fd->kind == CAT_PHONE ? '1' : 'a', fd->max + 1);
                expect(t, name, s, BODYCHECK_E_RANGE, name);
                free(s);
                s = json_repeat('1', fd->min - 1);
                expect(t, name, s, BODYCHECK_E_RANGE, name);
                free(s);
                if (fd->kind == CAT_CODE)
                    expect(t, name, "\"Bad Id\"", BODYCHECK_E_RANGE, name);
                if (fd->kind == CAT_PHONE)
                    expect(t, name, "\"call me\"", BODYCHECK_E_RANGE, name);
                if (fd->kind != CAT_TEXT)
                    expect(t, name, "\"two\\nlines\"", BODYCHECK_E_RANGE, name);
                break;
            case CAT_ENUM:
                expect(t, name, "\"no_such_value\"", BODYCHECK_E_RANGE, name);
                expect(t, name, "\"\"", BODYCHECK_E_RANGE, name);
                break;
            case CAT_UUID:
                expect(t, name, "\"zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz\"", BODYCHECK_E_RANGE,
                       name);
                expect(t, name, "\"5d0c3a8e\"", BODYCHECK_E_RANGE, name);
                break;
            case CAT_DATE:
                expect(t, name, "\"2020-02-30\"", BODYCHECK_E_RANGE, name);
                expect(t, name, "\"2020-1-5\"", BODYCHECK_E_RANGE, name);
                break;
            case CAT_REF:
                expect(t, name, "\"no-such-id\"", BODYCHECK_E_UNKNOWN_REF, name);
                expect(t, name, "\"\"", BODYCHECK_E_RANGE, name);
                break;
            case CAT_STR_LIST:
                expect(t, name, "[]", BODYCHECK_E_RANGE, name);
                expect(t, name, "[\"\"]", BODYCHECK_E_RANGE, name);
                s = json_repeat('a', fd->item_max + 1);
                char list[1024];
                snprintf(list, sizeof list, "[%s]", s);
                expect(t, name, list, BODYCHECK_E_RANGE, name);
                free(s);
                break;
            case CAT_BOOL:
                break;
            }
        }
    }
}

static void test_unknown_keys(void)
{
    for (size_t i = 0; i < catalogue_count(); i++)
        expect(catalogue_at(i), "grdi", "\"baima-g01\"", BODYCHECK_E_UNKNOWN_KEY, "grdi");
    /* one rule for echoing keys (quote.h): whole up to 63 bytes, past that
     * cut at a character and escape boundary and ended with "..." */
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    char key[70], want[70];
    memset(key, 'k', 63);
    key[63] = '\0';
    expect(fw, key, "1", BODYCHECK_E_UNKNOWN_KEY, key);
    key[63] = 'k';
    key[64] = '\0';
    snprintf(want, sizeof want, "%.60s...", key);
    expect(fw, key, "1", BODYCHECK_E_UNKNOWN_KEY, want);
    expect(fw, "城城城城城城城城城城城城城城城城城城城城", "1", BODYCHECK_E_UNKNOWN_KEY,
           "\\xe5\\x9f\\x8e\\xe5\\x9f\\x8e\\xe5\\x9f\\x8e\\xe5\\x9f\\x8e\\xe5\\x9f\\x8e...");
}

/* ---- rules, places, strings ---------------------------------------------- */

static void test_rules(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "lon", NULL, BODYCHECK_E_MISSING, "lon");
    /* no place at all */
    body_t b;
    char field[64];
    err_t err;
    body_from_json(&b, "{\"address\":\"somewhere\",\"description\":\"bang\"}");
    CHECK(bodycheck_submitted(fw, &b.u.data, baiyang, field, sizeof field, &err) ==
              BODYCHECK_E_MISSING &&
          !strcmp(field, "grid") && CONTAINS(err.msg, "one of grid,key_area,community"));
    body_free(&b);
    /* a tip needs only an address, but a reward needs a phone */
    const catalogue_type_t *tip = catalogue_find("tip.received");
    body_from_json(&b, "{\"ban\":\"no_burning\",\"address\":\"河边\",\"description\":\"烧纸\"}");
    CHECK(bodycheck_submitted(tip, &b.u.data, baiyang, field, sizeof field, &err) == BODYCHECK_OK);
    body_free(&b);
    expect(tip, "contact_phone", NULL, BODYCHECK_E_MISSING, "contact_phone");
    expect(catalogue_find("task.returned"), "reason", "\"other\"", BODYCHECK_E_MISSING, "note");
    expect(catalogue_find("task.done"), "outcome", "\"refused\"", BODYCHECK_E_MISSING, "note");
    expect(catalogue_find("pledge.signed"), "kind", "\"school\"", BODYCHECK_E_MISSING, "school");
    expect(catalogue_find("pledge.signed"), "kind", "\"household\"", BODYCHECK_E_MISSING,
           "household");
    expect(catalogue_find("leave.requested"), "to", "\"2019-12-01\"", BODYCHECK_E_RANGE, "from");
    expect(catalogue_find("leave.requested"), "to", "\"2019-12-02\"", BODYCHECK_OK, "");
    expect(catalogue_find("supervision.spot_check"), "staff_present", "3", BODYCHECK_E_RANGE,
           "staff_present");
    expect(catalogue_find("supervision.spot_check"), "result", "\"issue_found\"",
           BODYCHECK_E_MISSING, "note");
}

static void test_places_must_agree(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "grid", "\"modou-g01\"", BODYCHECK_E_REF_MISMATCH, "grid");
    expect(fw, "key_area", "\"huangjiawan\"", BODYCHECK_E_REF_MISMATCH, "key_area");
    expect(fw, "key_area", "\"hejiaping\"", BODYCHECK_OK, "");
    const catalogue_type_t *smoke = catalogue_find("report.meat_smoking");
    expect(smoke, "compound", "\"xinhua-huafu\"", BODYCHECK_E_REF_MISMATCH, "compound");
    expect(smoke, "compound", "\"modou-shuian\"", BODYCHECK_E_REF_MISMATCH, "compound");
    const catalogue_type_t *in = catalogue_find("patrol.check_in");
    expect(in, "group", "\"patrol-xinhua\"", BODYCHECK_E_REF_MISMATCH, "grid");
    expect(in, "group", "\"coordination\"", BODYCHECK_OK, "");
    const catalogue_type_t *visit = catalogue_find("patrol.route_visit");
    expect(visit, "school", "\"xinhua-primary\"", BODYCHECK_E_REF_MISMATCH, "school");
    /* Key areas: a grid outside the grids the seed lists for the area, a
     * checkpoint of another key area of the same community. */
    expect(fw, "key_area", "\"baima-old-street\"", BODYCHECK_E_REF_MISMATCH, "key_area");
    const catalogue_type_t *spot = catalogue_find("supervision.spot_check");
    expect(spot, "grid", "\"baima-g01\"", BODYCHECK_OK, ""); /* a grave site lists no grids */
    body_t b;
    char field[64];
    err_t err;
    static const struct {
        const char *body, *field; /* field "" when the places agree */
    } cases[] = {
        {"{\"grid\":\"baima-g03\",\"key_area\":\"baima-old-street\"}", ""},
        {"{\"grid\":\"baima-g04\",\"key_area\":\"baima-old-street\"}", ""},
        {"{\"grid\":\"baima-g02\",\"key_area\":\"baima-old-street\"}", "key_area"},
        {"{\"key_area\":\"baima-old-street\",\"compound\":\"baima-binhe\"}", "compound"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        body_from_json(&b, cases[i].body);
        bodycheck_status_t st =
            bodycheck_submitted(smoke, &b.u.data, baiyang, field, sizeof field, &err);
        CHECKF(cases[i].field[0] ? st == BODYCHECK_E_REF_MISMATCH && !strcmp(field, cases[i].field)
                                 : st == BODYCHECK_OK,
               "case %zu: %s '%s' %s", i, bodycheck_status_code(st), field, err.msg);
        body_free(&b);
    }
    static const char *const spots[][2] = {
        {"\"sanitation-centre\"", "\"sansuo-liangdui-cp\""},
        {"\"sansuo-liangdui\"", "\"sansuo-liangdui-cp\""},
    };
    for (size_t i = 0; i < 2; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"inspector\":\"li-li\",\"community\":\"fengyi\",\"key_area\":%s,"
                 "\"checkpoint\":%s,\"target\":\"checkpoint_post\",\"result\":\"pass\"}",
                 spots[i][0], spots[i][1]);
        body_from_json(&b, json);
        bodycheck_status_t st =
            bodycheck_submitted(spot, &b.u.data, baiyang, field, sizeof field, &err);
        CHECKF(i == 0 ? st == BODYCHECK_E_REF_MISMATCH && !strcmp(field, "checkpoint") &&
                            CONTAINS(err.msg, "sanitation-centre")
                      : st == BODYCHECK_OK,
               "spot %zu: %s '%s' %s", i, bodycheck_status_code(st), field, err.msg);
        body_free(&b);
    }
    /* a checkpoint stands for its key area's grids too */
    body_from_json(&b, "{\"squad\":\"s\",\"grid\":\"baima-g01\",\"checkpoint\":\"hejiaping-cp\","
                       "\"finding\":\"all_clear\"}");
    CHECK(bodycheck_submitted(visit, &b.u.data, baiyang, field, sizeof field, &err) ==
          BODYCHECK_OK);
    body_free(&b);
}

static void test_strings(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "description", "\"第一行\\n第二行\\t\"", BODYCHECK_OK, "");
    expect(fw, "description", "\"bell\\u0007\"", BODYCHECK_E_RANGE, "description");
    expect(fw, "address", "\"tab\\there\"", BODYCHECK_E_RANGE, "address");
    /* Chinese counts in bytes: 67 characters are 201 bytes, over 200. */
    char json[1024] = "\"";
    for (int i = 0; i < 67; i++)
        strcat(json, "路");
    strcat(json, "\"");
    expect(fw, "address", json, BODYCHECK_E_RANGE, "address");
    /* Invalid UTF-8 cannot be written in JSON: pack it by hand. */
    static const char *const bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe8\xb7",
                                      "a\xf5\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "grid", 4);
        msgpack_pack_str_with_body(&pk, "baima-g01", 9);
        msgpack_pack_str_with_body(&pk, "address", 7);
        msgpack_pack_str_with_body(&pk, bad[i], strlen(bad[i]));
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        msgpack_unpack_next(&u, sb.data, sb.size, NULL);
        char field[64];
        err_t err;
        CHECKF(bodycheck_submitted(fw, &u.data, baiyang, field, sizeof field, &err) ==
                       BODYCHECK_E_RANGE &&
                   !strcmp(field, "address") && CONTAINS(err.msg, "UTF-8"),
               "case %zu: %s", i, err.msg);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* C1 controls and the invisible direction / separator marks are refused in
 * every string kind; text takes CRLF but not a lone CR. */
static void test_invisible_characters(void)
{
    static const char *const bad[] = {
        "\"a\\u0085b\"", /* NEL, C1 */
        "\"a\\u009fb\"", /* C1 */
        "\"a\\u2028b\"", /* line separator */
        "\"a\\u2029b\"", /* paragraph separator */
        "\"a\\u200eb\"", /* LRM */
        "\"a\\u200fb\"", /* RLM */
        "\"a\\u202eb\"", /* RLO: "Trojan Source" */
        "\"a\\u202ab\"", /* LRE */
        "\"a\\u2066b\"", /* LRI */
        "\"a\\u2069b\"", /* PDI */
        "\"a\\u007fb\"", /* DEL */
    };
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect(fw, "address", bad[i], BODYCHECK_E_RANGE, "address");         /* str */
        expect(fw, "description", bad[i], BODYCHECK_E_RANGE, "description"); /* text */
        char list[64];
        snprintf(list, sizeof list, "[%s]", bad[i]);
        expect(fw, "evidence", list, BODYCHECK_E_RANGE, "evidence"); /* str[] */
    }
    /* neighbours of the refused ranges pass */
    expect(fw, "address", "\"\\u00a0\\u00e9\\u2027\\u202f\\u2065\\u206a\\u200d\"", BODYCHECK_OK,
           "");
    expect(fw, "description", "\"第一行\\r\\n第二行\\n\"", BODYCHECK_OK, "");
    expect(fw, "description", "\"over\\rwrite\"", BODYCHECK_E_RANGE, "description");
    expect(fw, "description", "\"ends in CR\\r\"", BODYCHECK_E_RANGE, "description");
    expect(fw, "address", "\"a\\r\\nb\"", BODYCHECK_E_RANGE, "address");
}

/* uuids in either case are accepted, and normalised to lower case. */
static void test_uuid_case(void)
{
    const catalogue_type_t *ack = catalogue_find("task.acknowledged");
    body_t b;
    char field[64];
    err_t err;
    body_from_json(&b, "{\"task\":\"5D0C3A8E-2F4B-4C1D-9E8F-0A1B2C3D4E5F\",\"by\":\"X-1\"}");
    CHECK(bodycheck_submitted(ack, &b.u.data, baiyang, field, sizeof field, &err) == BODYCHECK_OK);
    bodycheck_normalise(ack, &b.u.data);
    CHECK(mp_str_eq(mp_get(&b.u.data, "task"), "5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f"));
    CHECK(mp_str_eq(mp_get(&b.u.data, "by"), "X-1")); /* other fields untouched */
    body_free(&b);
}

#define TEST_DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The stored form of t's example: confidential fields left out and, when
 * there were any, the digest field (with value digest_json) appended. */
static void body_stored(body_t *b, const catalogue_type_t *t, const char *digest_json)
{
    body_t ex;
    body_from_json(&ex, t->example);
    const msgpack_object *m = &ex.u.data;
    const char *digest = NULL;
    uint32_t kept = 0;
    for (size_t f = 0; f < t->n_fields; f++)
        if (t->fields[f].flags & CAT_F_DIGEST)
            digest = t->fields[f].name;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const catalogue_field_t *fd = NULL;
        for (size_t f = 0; f < t->n_fields && !fd; f++)
            if (mp_str_eq(&m->via.map.ptr[i].key, t->fields[f].name))
                fd = &t->fields[f];
        kept += !(fd && (fd->flags & CAT_F_CONFIDENTIAL));
    }
    bool add = kept < m->via.map.size && digest;
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, kept + (add ? 1 : 0));
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const catalogue_field_t *fd = NULL;
        for (size_t f = 0; f < t->n_fields && !fd; f++)
            if (mp_str_eq(&m->via.map.ptr[i].key, t->fields[f].name))
                fd = &t->fields[f];
        if (fd && (fd->flags & CAT_F_CONFIDENTIAL))
            continue;
        msgpack_pack_object(&pk, m->via.map.ptr[i].key);
        msgpack_pack_object(&pk, m->via.map.ptr[i].val);
    }
    if (add) {
        msgpack_pack_str_with_body(&pk, digest, strlen(digest));
        pack_json(&pk, digest_json);
    }
    body_free(&ex);
    body_unpack(b);
}

/* Checks the stored form of t's example with the digest digest_json. */
static void expect_stored(const catalogue_type_t *t, const char *digest_json,
                          bodycheck_status_t want, const char *want_field)
{
    body_t b;
    char field[64];
    err_t err;
    body_stored(&b, t, digest_json);
    bodycheck_status_t st = bodycheck_stored(t, &b.u.data, field, sizeof field, &err);
    CHECKF(st == want && !strcmp(field, want_field), "%s stored, digest %s: got %s '%s' (%s)",
           t->name, digest_json, bodycheck_status_code(st), field, err.msg);
    body_free(&b);
}

/* The stored form: confidential fields out, the digest in; what a client
 * submits is the other way round. */
static void test_stored_form(void)
{
    for (size_t i = 0; i < catalogue_count(); i++)
        expect_stored(catalogue_at(i), "\"" TEST_DIGEST "\"", BODYCHECK_OK, "");
    const catalogue_type_t *tip = catalogue_find("tip.received");
    expect_stored(tip, "7", BODYCHECK_E_TYPE, "contact_digest");
    expect_stored(tip, "\"0123\"", BODYCHECK_E_RANGE, "contact_digest");
    expect_stored(tip, "\"" TEST_DIGEST "0\"", BODYCHECK_E_RANGE, "contact_digest");
    expect_stored(tip, "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"",
                  BODYCHECK_E_RANGE, "contact_digest");
    /* As submitted the digest is not the client's to send; as stored the
     * contact is never there. */
    expect(tip, "contact_digest", "\"" TEST_DIGEST "\"", BODYCHECK_E_UNKNOWN_KEY, "contact_digest");
    body_t b;
    char field[64];
    err_t err;
    body_from_json(&b, tip->example);
    CHECK(bodycheck_stored(tip, &b.u.data, field, sizeof field, &err) == BODYCHECK_E_UNKNOWN_KEY &&
          !strcmp(field, "contact_name") && CONTAINS(err.msg, "confidential"));
    body_free(&b);
    /* wants_reward needs contact_phone when submitted; stored, the phone is
     * gone and the rule is not checked again. */
    body_from_json(&b, "{\"ban\":\"no_fireworks\",\"address\":\"x\",\"description\":\"y\","
                       "\"wants_reward\":true}");
    CHECK(bodycheck_submitted(tip, &b.u.data, baiyang, field, sizeof field, &err) ==
          BODYCHECK_E_MISSING);
    CHECK(bodycheck_stored(tip, &b.u.data, field, sizeof field, &err) == BODYCHECK_OK);
    body_free(&b);
}

static void test_body_shape(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    char field[64];
    err_t err;
    body_t b;
    body_from_json(&b, "[1,2]");
    CHECK(bodycheck_submitted(fw, &b.u.data, baiyang, field, sizeof field, &err) ==
              BODYCHECK_E_TYPE &&
          !strcmp(field, "body"));
    body_free(&b);
    body_from_json(&b, "{\"grid\":\"baima-g01\",\"grid\":\"baima-g02\"}");
    CHECK(bodycheck_submitted(fw, &b.u.data, baiyang, field, sizeof field, &err) ==
              BODYCHECK_E_MALFORMED &&
          !strcmp(field, "grid"));
    body_free(&b);
    CHECK(bodycheck_submitted(fw, NULL, baiyang, field, sizeof field, &err) == BODYCHECK_E_MISSING);
    /* non-str key */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_unpack_next(&u, sb.data, sb.size, NULL);
    CHECK(bodycheck_submitted(fw, &u.data, baiyang, field, sizeof field, &err) ==
          BODYCHECK_E_UNKNOWN_KEY);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* The same body names places of one campaign and not of the other. */
static void test_two_subdistricts(void)
{
    const catalogue_type_t *in = catalogue_find("patrol.check_in");
    body_t b;
    char field[64];
    err_t err;
    body_from_json(&b, "{\"squad\":\"sq1\",\"grid\":\"shangcun-g01\",\"headcount\":2}");
    CHECK(bodycheck_submitted(in, &b.u.data, shanhe, field, sizeof field, &err) == BODYCHECK_OK);
    CHECK(bodycheck_submitted(in, &b.u.data, baiyang, field, sizeof field, &err) ==
              BODYCHECK_E_UNKNOWN_REF &&
          !strcmp(field, "grid") && CONTAINS(err.msg, "baiyang"));
    body_free(&b);
    const catalogue_type_t *pub = catalogue_find("publicity.logged");
    body_from_json(&b, "{\"channel\":\"tv\"}");
    CHECK(bodycheck_submitted(pub, &b.u.data, baiyang, field, sizeof field, &err) == BODYCHECK_OK);
    CHECK(bodycheck_submitted(pub, &b.u.data, shanhe, field, sizeof field, &err) ==
          BODYCHECK_E_UNKNOWN_REF);
    body_free(&b);
}

int main(void)
{
    err_t err;
    baiyang = campaign_load("seeds/baiyang-2019.yaml", &err);
    shanhe = campaign_load("seeds/demo-shanhe.yaml", &err);
    if (!baiyang || !shanhe) {
        fprintf(stderr, "cannot load seeds (run from the repository root): %s\n", err.msg);
        return 2;
    }
    RUN(test_status_codes);
    RUN(test_every_example_is_accepted);
    RUN(test_missing_required_fields);
    RUN(test_wrong_types);
    RUN(test_out_of_range);
    RUN(test_unknown_keys);
    RUN(test_rules);
    RUN(test_places_must_agree);
    RUN(test_strings);
    RUN(test_invisible_characters);
    RUN(test_uuid_case);
    RUN(test_stored_form);
    RUN(test_body_shape);
    RUN(test_two_subdistricts);
    campaign_destroy(&baiyang);
    campaign_destroy(&shanhe);
    return check_summary();
}
