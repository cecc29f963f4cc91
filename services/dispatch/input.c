/* input.c - intake events as dispatch reads them (see input.h). */
#include "input.h"

#include <stdio.h>
#include <string.h>

#include "mp.h"

/* Copies the optional string field key into out ("" stays NULL in *ptr). */
static int s_opt_str(const msgpack_object *body, const char *key, char *out, size_t cap,
                     const char **ptr, err_t *err)
{
    *ptr = NULL;
    if (!mp_get(body, key))
        return 0;
    if (mp_get_strcpy(body, key, out, cap, err) != 0)
        return -1;
    *ptr = out;
    return 0;
}

static int s_number(const msgpack_object *body, const char *key, double *out, err_t *err)
{
    const msgpack_object *o = mp_get(body, key);
    if (o && o->type == MSGPACK_OBJECT_FLOAT64)
        *out = o->via.f64;
    else if (o && o->type == MSGPACK_OBJECT_FLOAT32)
        *out = o->via.f64;
    else if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = (double)o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = (double)o->via.i64;
    else {
        err_set(err, "field '%s': expected a number", key);
        return -1;
    }
    return 0;
}

static int s_report(const dispatch_event_rule_t *er, const envelope_t *env, dispatch_input_t *in,
                    err_t *err)
{
    const msgpack_object *b = &env->body;
    dispatch_report_t *rep = &in->report;
    dispatch_place_t *p = &rep->place;
    rep->event = env->id;
    rep->kind = env->type;
    rep->at_ms = env->time_ms;
    if (s_opt_str(b, "community", in->community, sizeof in->community, &p->community, err) != 0 ||
        s_opt_str(b, "grid", in->grid, sizeof in->grid, &p->grid, err) != 0 ||
        s_opt_str(b, "key_area", in->key_area, sizeof in->key_area, &p->key_area, err) != 0 ||
        s_opt_str(b, "checkpoint", in->checkpoint, sizeof in->checkpoint, &p->checkpoint, err) !=
            0 ||
        s_opt_str(b, "compound", in->compound, sizeof in->compound, &p->compound, err) != 0 ||
        s_opt_str(b, "school", in->school, sizeof in->school, &p->school, err) != 0)
        return -1;
    if (er->field && s_opt_str(b, er->field, in->detail, sizeof in->detail, &rep->detail, err) != 0)
        return -1;
    if (mp_get(b, "ongoing") && mp_get_bool(b, "ongoing", &rep->ongoing, err) != 0)
        return -1;
    if (mp_get(b, "lat") || mp_get(b, "lon")) {
        if (s_number(b, "lat", &p->geo.lat, err) != 0 || s_number(b, "lon", &p->geo.lon, err) != 0)
            return -1;
        if (p->geo.lat < -90 || p->geo.lat > 90 || p->geo.lon < -180 || p->geo.lon > 180) {
            err_set(err, "field 'lat'/'lon': not a WGS-84 point");
            return -1;
        }
        p->has_geo = true;
    }
    in->what = DISPATCH_INPUT_REPORT;
    return 0;
}

static int s_response(int kind, const envelope_t *env, dispatch_input_t *in, err_t *err)
{
    const msgpack_object *b = &env->body;
    dispatch_response_t *resp = &in->response;
    resp->event = env->id;
    resp->kind = (dispatch_response_kind_t)kind;
    if (mp_get_strcpy(b, "task", in->task, sizeof in->task, err) != 0 ||
        mp_get_strcpy(b, "by", in->by, sizeof in->by, err) != 0 ||
        s_opt_str(b, "reason", in->reason, sizeof in->reason, &resp->reason, err) != 0 ||
        s_opt_str(b, "outcome", in->outcome, sizeof in->outcome, &resp->outcome, err) != 0)
        return -1;
    if (!uuid_is_canonical(in->task, strlen(in->task))) {
        err_set(err, "field 'task': not a UUID");
        return -1;
    }
    for (char *c = in->task; *c; c++) /* task ids are stored lower-case */
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    resp->task = in->task;
    resp->by = in->by;
    in->what = DISPATCH_INPUT_RESPONSE;
    return 0;
}

int dispatch_input_read(const dispatch_rules_t *r, const envelope_t *env, dispatch_input_t *in,
                        err_t *err)
{
    memset(in, 0, sizeof *in);
    int kind = dispatch_response_kind_of(env->type);
    if (kind >= 0)
        return s_response(kind, env, in, err);
    const dispatch_event_rule_t *er = dispatch_rules_event(r, env->type);
    return er ? s_report(er, env, in, err) : 0;
}
