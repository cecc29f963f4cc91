/* test_dispatch_input.c - intake events read into dispatch's reports and
 * responses (services/dispatch/input.c), without a database: each body is
 * written as JSON, packed to msgpack and read back. */
#include "check.h"
#include "dispatch_fixture.h"
#include "mpjson.h"
#include "../services/dispatch/input.h"

static fixture_t fx;

/* env gets type and the body parsed from json; the caller destroys buf and up. */
static int s_env(envelope_t *env, const char *type, const char *json, msgpack_sbuffer *buf,
                 msgpack_unpacked *up)
{
    err_t err = {{0}};
    msgpack_packer pk;
    memset(env, 0, sizeof *env);
    snprintf(env->id, sizeof env->id, "%s", EVENT_1);
    snprintf(env->type, sizeof env->type, "%s", type);
    snprintf(env->subdistrict, sizeof env->subdistrict, "baiyang");
    env->time_ms = T_ORDINARY;
    msgpack_sbuffer_init(buf);
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_unpacked_init(up);
    if (mpjson_parse(json, strlen(json), &pk, &err) != 0 ||
        msgpack_unpack_next(up, buf->data, buf->size, NULL) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    env->body = up->data;
    return 0;
}

/* Reads json as type; returns dispatch_input_read()'s result, err filled. */
static int s_read(const char *type, const char *json, dispatch_input_t *in, err_t *err)
{
    envelope_t env;
    msgpack_sbuffer buf;
    msgpack_unpacked up;
    memset(in, 0, sizeof *in);
    int rc =
        s_env(&env, type, json, &buf, &up) == 0 ? dispatch_input_read(fx.r, &env, in, err) : -2;
    /* The input borrows env's id and type: keep copies for the checks. */
    static char id[40], kind[64];
    snprintf(id, sizeof id, "%s", env.id);
    snprintf(kind, sizeof kind, "%s", env.type);
    if (in->what == DISPATCH_INPUT_REPORT) {
        in->report.event = id;
        in->report.kind = kind;
    } else if (in->what == DISPATCH_INPUT_RESPONSE) {
        in->response.event = id;
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

static void test_report_place_and_point(void)
{
    dispatch_input_t in;
    err_t err = {{0}};
    CHECK(s_read("report.fireworks_set_off",
                 "{\"community\":\"baima\",\"grid\":\"baima-g01\",\"lat\":31.4052,\"lon\":109,"
                 "\"ongoing\":true,\"description\":\"x\"}",
                 &in, &err) == 0);
    CHECK(in.what == DISPATCH_INPUT_REPORT);
    CHECK(fx_streq(in.report.place.community, "baima"));
    CHECK(fx_streq(in.report.place.grid, "baima-g01"));
    CHECK(in.report.place.key_area == NULL && in.report.place.compound == NULL);
    CHECK(in.report.place.has_geo && in.report.place.geo.lat == 31.4052 &&
          in.report.place.geo.lon == 109.0);
    CHECK(in.report.ongoing);
    CHECK(in.report.at_ms == T_ORDINARY);
    CHECK(fx_streq(in.report.kind, "report.fireworks_set_off"));
}

static void test_report_detail_field(void)
{
    dispatch_input_t in;
    err_t err = {{0}};
    CHECK(s_read("survey.sales_point_inspected",
                 "{\"community\":\"fengyi\",\"premises\":\"p\",\"kind\":\"shop\","
                 "\"finding\":\"sales_found\"}",
                 &in, &err) == 0);
    CHECK(in.what == DISPATCH_INPUT_REPORT && fx_streq(in.report.detail, "sales_found"));
}

static void test_not_actionable_is_none(void)
{
    dispatch_input_t in;
    err_t err = {{0}};
    CHECK(s_read("publicity.logged", "{\"channel\":\"leaflet\"}", &in, &err) == 0);
    CHECK(in.what == DISPATCH_INPUT_NONE);
}

static void test_response(void)
{
    dispatch_input_t in;
    err_t err = {{0}};
    CHECK(s_read("task.returned",
                 "{\"task\":\"5D0C3A8E-2F4B-4C1D-9E8F-0A1B2C3D4E51\",\"by\":\"baima-sq1\","
                 "\"reason\":\"not_our_area\"}",
                 &in, &err) == 0);
    CHECK(in.what == DISPATCH_INPUT_RESPONSE);
    CHECK(in.response.kind == DISPATCH_RESP_RETURNED);
    CHECK(fx_streq(in.response.task, TASK_A)); /* lower-cased, as tasks are stored */
    CHECK(fx_streq(in.response.by, "baima-sq1"));
    CHECK(fx_streq(in.response.reason, "not_our_area") && in.response.outcome == NULL);
}

static void test_bad_bodies_name_the_field(void)
{
    dispatch_input_t in;
    err_t err = {{0}};
    CHECK(s_read("task.done", "{\"task\":\"not-a-uuid\",\"by\":\"x\",\"outcome\":\"persuaded\"}",
                 &in, &err) == -1);
    CHECKF(CONTAINS(err.msg, "task"), "%s", err.msg);
    CHECK(s_read("task.done", "{\"by\":\"x\"}", &in, &err) == -1);
    CHECKF(CONTAINS(err.msg, "task"), "%s", err.msg);
    CHECK(s_read("report.open_burning", "{\"grid\":\"baima-g01\",\"lat\":\"north\",\"lon\":1}", &in,
                 &err) == -1);
    CHECKF(CONTAINS(err.msg, "lat"), "%s", err.msg);
    CHECK(s_read("report.open_burning", "{\"grid\":7}", &in, &err) == -1);
    CHECKF(CONTAINS(err.msg, "grid"), "%s", err.msg);
    CHECK(s_read("report.open_burning", "{\"grid\":\"baima-g01\",\"lat\":91,\"lon\":1}", &in,
                 &err) == -1);
}

int main(void)
{
    fx = fx_load(BAIYANG);
    if (!fx.r)
        return 1;
    RUN(test_report_place_and_point);
    RUN(test_report_detail_field);
    RUN(test_not_actionable_is_none);
    RUN(test_response);
    RUN(test_bad_bodies_name_the_field);
    fx_free(&fx);
    return check_summary();
}
