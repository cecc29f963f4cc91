/* test_catalogue.c - the event catalogue against the Baiyang and Shanhe
 * seeds: the table is consistent, every type's example is accepted, and
 * for every field of every type (generated from the table, so a new type is
 * covered the day it is added) a missing required field, a wrong type and
 * out-of-range values are refused with the right code and field name. Then
 * the rules, place agreement, unknown keys and string hygiene. Runs from
 * the repository root. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "catalogue.h"
#include "check.h"
#include "envelope.h"
#include "mpjson.h"

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
                   catalogue_status_t want, const char *want_field)
{
    body_t b;
    char field[64];
    err_t err;
    body_mutate(&b, t, name, value);
    catalogue_status_t st = catalogue_check(t, &b.u.data, baiyang, field, sizeof field, &err);
    CHECKF(st == want && strcmp(field, want_field) == 0 && CONTAINS(err.msg, want_field),
           "%s.%s = %s: got %s field '%s' (%s), want %s field '%s'", t->name, name,
           value ? value : "(removed)", catalogue_status_code(st), field, err.msg,
           catalogue_status_code(want), want_field);
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

/* ---- the table ------------------------------------------------------------ */

static void test_table_is_consistent(void)
{
    CHECK(catalogue_count() >= 24);
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        CHECKF(envelope_is_uuid("00000000-0000-0000-0000-000000000000", 36), "uuid helper");
        CHECKF(catalogue_find(t->name) == t, "%s: not found by name (duplicate?)", t->name);
        for (const char *p = t->name; *p; p++)
            CHECKF((*p >= 'a' && *p <= 'z') || *p == '_' || *p == '.', "%s: bad type charset",
                   t->name);
        CHECKF(t->n_fields > 0 && t->n_fields <= 32 && t->summary && t->example, "%s", t->name);
        for (size_t f = 0; f < t->n_fields; f++) {
            const catalogue_field_t *fd = &t->fields[f];
            CHECKF(catalogue_field(t, fd->name) == fd, "%s.%s duplicated", t->name, fd->name);
            CHECKF(fd->doc && fd->kind >= CAT_STR && fd->kind <= CAT_STR_LIST, "%s.%s", t->name,
                   fd->name);
            CHECKF(fd->kind != CAT_ENUM || (fd->values && fd->values[0]), "%s.%s no values",
                   t->name, fd->name);
            CHECKF(fd->kind != CAT_REF || fd->ref != CAT_REF_NONE, "%s.%s no ref", t->name,
                   fd->name);
        }
        for (size_t r = 0; r < t->n_rules; r++) {
            const catalogue_rule_t *rule = &t->rules[r];
            if (rule->kind == CAT_RULE_ANY_OF)
                continue;
            CHECKF(catalogue_field(t, rule->a), "%s: rule names unknown field %s", t->name,
                   rule->a);
            CHECKF(rule->kind == CAT_RULE_WHEN || catalogue_field(t, rule->b),
                   "%s: rule names unknown field %s", t->name, rule->b);
            CHECKF(rule->kind != CAT_RULE_WHEN || catalogue_field(t, rule->c),
                   "%s: rule names unknown field %s", t->name, rule->c);
        }
    }
    CHECK(catalogue_find("no.such_type") == NULL && catalogue_find(NULL) == NULL);
    CHECK(!strcmp(catalogue_status_code(CATALOGUE_E_UNKNOWN_REF), "E_UNKNOWN_REF"));
}

static void test_every_example_is_accepted(void)
{
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        body_t b;
        char field[64];
        err_t err;
        body_from_json(&b, t->example);
        catalogue_status_t st = catalogue_check(t, &b.u.data, baiyang, field, sizeof field, &err);
        CHECKF(st == CATALOGUE_OK, "%s: %s", t->name, err.msg);
        /* Without a campaign, references are not looked up. */
        CHECK(catalogue_check(t, &b.u.data, NULL, field, sizeof field, &err) == CATALOGUE_OK);
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
                expect(t, t->fields[f].name, NULL, CATALOGUE_E_MISSING, t->fields[f].name);
    }
}

static void test_wrong_types(void)
{
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        for (size_t f = 0; f < t->n_fields; f++) {
            const catalogue_field_t *fd = &t->fields[f];
            const char *wrong;
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
            expect(t, fd->name, wrong, CATALOGUE_E_TYPE, fd->name);
            expect(t, fd->name, "null", CATALOGUE_E_TYPE, fd->name);
            expect(t, fd->name, fd->kind == CAT_BOOL ? "{}" : "[[1]]", CATALOGUE_E_TYPE, fd->name);
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
            switch (fd->kind) {
            case CAT_INT:
                snprintf(num, sizeof num, "%" PRId64, fd->max + 1);
                expect(t, name, num, CATALOGUE_E_RANGE, name);
                snprintf(num, sizeof num, "%" PRId64, fd->min - 1);
                expect(t, name, num, CATALOGUE_E_RANGE, name);
                break;
            case CAT_NUM:
                snprintf(num, sizeof num, "%.1f", fd->fmax + 0.5);
                expect(t, name, num, CATALOGUE_E_RANGE, name);
                snprintf(num, sizeof num, "%.1f", fd->fmin - 0.5);
                expect(t, name, num, CATALOGUE_E_RANGE, name);
                break;
            case CAT_STR:
            case CAT_TEXT:
            case CAT_CODE:
            case CAT_PHONE:
                s = json_repeat(fd->kind == CAT_PHONE ? '1' : 'a', fd->max + 1);
                expect(t, name, s, CATALOGUE_E_RANGE, name);
                free(s);
                s = json_repeat('1', fd->min - 1);
                expect(t, name, s, CATALOGUE_E_RANGE, name);
                free(s);
                if (fd->kind == CAT_CODE)
                    expect(t, name, "\"Bad Id\"", CATALOGUE_E_RANGE, name);
                if (fd->kind == CAT_PHONE)
                    expect(t, name, "\"call me\"", CATALOGUE_E_RANGE, name);
                if (fd->kind != CAT_TEXT)
                    expect(t, name, "\"two\\nlines\"", CATALOGUE_E_RANGE, name);
                break;
            case CAT_ENUM:
                expect(t, name, "\"no_such_value\"", CATALOGUE_E_RANGE, name);
                expect(t, name, "\"\"", CATALOGUE_E_RANGE, name);
                break;
            case CAT_UUID:
                expect(t, name, "\"zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz\"", CATALOGUE_E_RANGE,
                       name);
                expect(t, name, "\"5d0c3a8e\"", CATALOGUE_E_RANGE, name);
                break;
            case CAT_DATE:
                expect(t, name, "\"2020-02-30\"", CATALOGUE_E_RANGE, name);
                expect(t, name, "\"2020-1-5\"", CATALOGUE_E_RANGE, name);
                break;
            case CAT_REF:
                expect(t, name, "\"no-such-id\"", CATALOGUE_E_UNKNOWN_REF, name);
                expect(t, name, "\"\"", CATALOGUE_E_RANGE, name);
                break;
            case CAT_STR_LIST:
                expect(t, name, "[]", CATALOGUE_E_RANGE, name);
                expect(t, name, "[\"\"]", CATALOGUE_E_RANGE, name);
                s = json_repeat('a', fd->item_max + 1);
                char list[1024];
                snprintf(list, sizeof list, "[%s]", s);
                expect(t, name, list, CATALOGUE_E_RANGE, name);
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
        expect(catalogue_at(i), "grdi", "\"baima-g01\"", CATALOGUE_E_UNKNOWN_KEY, "grdi");
}

/* ---- rules, places, strings ---------------------------------------------- */

static void test_rules(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "lon", NULL, CATALOGUE_E_MISSING, "lon");
    /* no place at all */
    body_t b;
    char field[64];
    err_t err;
    body_from_json(&b, "{\"address\":\"somewhere\",\"description\":\"bang\"}");
    CHECK(catalogue_check(fw, &b.u.data, baiyang, field, sizeof field, &err) ==
              CATALOGUE_E_MISSING &&
          !strcmp(field, "grid") && CONTAINS(err.msg, "one of grid,key_area,community"));
    body_free(&b);
    /* a tip needs only an address, but a reward needs a phone */
    const catalogue_type_t *tip = catalogue_find("tip.received");
    body_from_json(&b, "{\"ban\":\"no_burning\",\"address\":\"河边\",\"description\":\"烧纸\"}");
    CHECK(catalogue_check(tip, &b.u.data, baiyang, field, sizeof field, &err) == CATALOGUE_OK);
    body_free(&b);
    expect(tip, "contact_phone", NULL, CATALOGUE_E_MISSING, "contact_phone");
    expect(catalogue_find("task.returned"), "reason", "\"other\"", CATALOGUE_E_MISSING, "note");
    expect(catalogue_find("task.done"), "outcome", "\"refused\"", CATALOGUE_E_MISSING, "note");
    expect(catalogue_find("pledge.signed"), "kind", "\"school\"", CATALOGUE_E_MISSING, "school");
    expect(catalogue_find("pledge.signed"), "kind", "\"household\"", CATALOGUE_E_MISSING,
           "household");
    expect(catalogue_find("leave.requested"), "to", "\"2019-12-01\"", CATALOGUE_E_RANGE, "from");
    expect(catalogue_find("leave.requested"), "to", "\"2019-12-02\"", CATALOGUE_OK, "");
    expect(catalogue_find("supervision.spot_check"), "staff_present", "3", CATALOGUE_E_RANGE,
           "staff_present");
    expect(catalogue_find("supervision.spot_check"), "result", "\"issue_found\"",
           CATALOGUE_E_MISSING, "note");
}

static void test_places_must_agree(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "grid", "\"modou-g01\"", CATALOGUE_E_REF_MISMATCH, "grid");
    expect(fw, "key_area", "\"huangjiawan\"", CATALOGUE_E_REF_MISMATCH, "key_area");
    expect(fw, "key_area", "\"hejiaping\"", CATALOGUE_OK, "");
    const catalogue_type_t *smoke = catalogue_find("report.meat_smoking");
    expect(smoke, "compound", "\"xinhua-huafu\"", CATALOGUE_E_REF_MISMATCH, "compound");
    expect(smoke, "compound", "\"modou-shuian\"", CATALOGUE_E_REF_MISMATCH, "compound");
    const catalogue_type_t *in = catalogue_find("patrol.check_in");
    expect(in, "group", "\"patrol-xinhua\"", CATALOGUE_E_REF_MISMATCH, "grid");
    expect(in, "group", "\"coordination\"", CATALOGUE_OK, "");
    const catalogue_type_t *visit = catalogue_find("patrol.route_visit");
    expect(visit, "school", "\"xinhua-primary\"", CATALOGUE_E_REF_MISMATCH, "school");
}

static void test_strings(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    expect(fw, "description", "\"第一行\\n第二行\\t\"", CATALOGUE_OK, "");
    expect(fw, "description", "\"bell\\u0007\"", CATALOGUE_E_RANGE, "description");
    expect(fw, "address", "\"tab\\there\"", CATALOGUE_E_RANGE, "address");
    /* Chinese counts in bytes: 67 characters are 201 bytes, over 200. */
    char json[1024] = "\"";
    for (int i = 0; i < 67; i++)
        strcat(json, "路");
    strcat(json, "\"");
    expect(fw, "address", json, CATALOGUE_E_RANGE, "address");
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
        CHECKF(catalogue_check(fw, &u.data, baiyang, field, sizeof field, &err) ==
                       CATALOGUE_E_RANGE &&
                   !strcmp(field, "address") && CONTAINS(err.msg, "UTF-8"),
               "case %zu: %s", i, err.msg);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_body_shape(void)
{
    const catalogue_type_t *fw = catalogue_find("report.fireworks_set_off");
    char field[64];
    err_t err;
    body_t b;
    body_from_json(&b, "[1,2]");
    CHECK(catalogue_check(fw, &b.u.data, baiyang, field, sizeof field, &err) == CATALOGUE_E_TYPE &&
          !strcmp(field, "body"));
    body_free(&b);
    body_from_json(&b, "{\"grid\":\"baima-g01\",\"grid\":\"baima-g02\"}");
    CHECK(catalogue_check(fw, &b.u.data, baiyang, field, sizeof field, &err) ==
              CATALOGUE_E_MALFORMED &&
          !strcmp(field, "grid"));
    body_free(&b);
    CHECK(catalogue_check(fw, NULL, baiyang, field, sizeof field, &err) == CATALOGUE_E_MISSING);
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
    CHECK(catalogue_check(fw, &u.data, baiyang, field, sizeof field, &err) ==
          CATALOGUE_E_UNKNOWN_KEY);
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
    CHECK(catalogue_check(in, &b.u.data, shanhe, field, sizeof field, &err) == CATALOGUE_OK);
    CHECK(catalogue_check(in, &b.u.data, baiyang, field, sizeof field, &err) ==
              CATALOGUE_E_UNKNOWN_REF &&
          !strcmp(field, "grid") && CONTAINS(err.msg, "baiyang"));
    body_free(&b);
    const catalogue_type_t *pub = catalogue_find("publicity.logged");
    body_from_json(&b, "{\"channel\":\"tv\"}");
    CHECK(catalogue_check(pub, &b.u.data, baiyang, field, sizeof field, &err) == CATALOGUE_OK);
    CHECK(catalogue_check(pub, &b.u.data, shanhe, field, sizeof field, &err) ==
          CATALOGUE_E_UNKNOWN_REF);
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
    RUN(test_table_is_consistent);
    RUN(test_every_example_is_accepted);
    RUN(test_missing_required_fields);
    RUN(test_wrong_types);
    RUN(test_out_of_range);
    RUN(test_unknown_keys);
    RUN(test_rules);
    RUN(test_places_must_agree);
    RUN(test_strings);
    RUN(test_body_shape);
    RUN(test_two_subdistricts);
    campaign_destroy(&baiyang);
    campaign_destroy(&shanhe);
    return check_summary();
}
