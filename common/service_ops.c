/* service_ops.c - the control ops every service answers, producers and pure
 * consumers alike (docs/protocol.md section 6): "clock" and "idle", by which
 * a simulator drives a manual clock and waits until the service has caught
 * up, and "reset_stream", the operator's answer to a halted stream. */
#include "service_internal.h"

#include <stdio.h>
#include <string.h>

#include "mp.h"

/* {"op":"clock"} reads the clock; {"op":"clock","set_ms":N} moves a manual
 * clock forward to N and fires what became due before answering. */
static void s_op_clock(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    err_t err;
    int manual = aclock_is_manual(svc->clock);
    if (mp_get(request, "set_ms")) {
        int64_t to = 0;
        if (mp_get_int(request, "set_ms", &to, &err) != 0) {
            control_pack_error(pk, "E_BAD_REQUEST", "set_ms", err.msg);
            return;
        }
        if (!manual) {
            control_pack_error(pk, "E_NOT_MANUAL", "set_ms",
                               "this service runs on the system clock; start it with"
                               " AIRGUARD_CLOCK=manual:<ms> to drive its clock");
            return;
        }
        if (aclock_set_wall_ms(svc->clock, to) != 0) {
            char text[160];
            snprintf(text, sizeof text, "field 'set_ms': the clock may not go back (now %lld)",
                     (long long)service_now_ms(svc));
            control_pack_error(pk, "E_RANGE", "set_ms", text);
            return;
        }
        service_timers_fire_due(svc);
    }
    msgpack_pack_map(pk, 3);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "manual");
    if (manual)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    control_pack_str(pk, "now_ms");
    msgpack_pack_int64(pk, service_now_ms(svc));
}

/* Appends one reason the service is not idle to why (capacity cap). */
static void s_busy(char *why, size_t cap, const char *reason)
{
    size_t used = strlen(why);
    snprintf(why + used, cap - used, "%s%s", used ? "; " : "", reason);
}

/* {"op":"idle", "heads":{stream: seq ...}} : idle when every followed
 * stream is applied up to its head (and up to the heads given, which a
 * simulator reads from the producers), no stream is halted, and no timer is
 * due on the service's clock. */
static void s_op_idle(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    char why[512] = "", reason[160];
    const msgpack_object *heads = mp_get(request, "heads");
    if (heads && heads->type != MSGPACK_OBJECT_MAP) {
        control_pack_error(pk, "E_BAD_REQUEST", "heads", "field 'heads': expected a map");
        return;
    }
    for (uint32_t i = 0; heads && i < heads->via.map.size; i++) {
        const msgpack_object_kv *kv = &heads->via.map.ptr[i];
        char stream[STREAM_NAME_MAX + 1];
        int64_t applied = 0, head = 0;
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size > STREAM_NAME_MAX ||
            (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)) {
            control_pack_error(pk, "E_BAD_REQUEST", "heads",
                               "field 'heads': expected {stream name: seq >= 0}");
            return;
        }
        snprintf(stream, sizeof stream, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        if (!svc->consumer || consumer_position(svc->consumer, stream, &applied, &head) != 0) {
            char text[128];
            snprintf(text, sizeof text, "stream '%s' is not followed here", stream);
            control_pack_error(pk, "E_UNKNOWN_STREAM", "heads", text);
            return;
        }
        if (applied < (int64_t)kv->val.via.u64) {
            snprintf(reason, sizeof reason, "%s applied %lld of %llu", stream, (long long)applied,
                     (unsigned long long)kv->val.via.u64);
            s_busy(why, sizeof why, reason);
        }
    }
    for (size_t i = 0; svc->consumer && i < consumer_source_count(svc->consumer); i++) {
        const char *stream = consumer_source_stream(svc->consumer, i);
        int64_t applied = 0, head = 0;
        consumer_position(svc->consumer, stream, &applied, &head);
        if (consumer_halted(svc->consumer, stream))
            snprintf(reason, sizeof reason, "%s halted (stream identity changed)", stream);
        else if (applied < head)
            snprintf(reason, sizeof reason, "%s applied %lld of %lld", stream, (long long)applied,
                     (long long)head);
        else
            continue;
        s_busy(why, sizeof why, reason);
    }
    if (svc->handlers.fire && svc->next_due < 0)
        service_timers_refresh_next_due(svc);
    int64_t now = service_now_ms(svc);
    if (svc->handlers.fire && svc->next_due < 0) {
        s_busy(why, sizeof why, "timers unknown (database unreachable)");
    } else if (svc->handlers.fire && svc->next_due <= now) {
        snprintf(reason, sizeof reason, "a timer is due at %lld", (long long)svc->next_due);
        s_busy(why, sizeof why, reason);
    }
    msgpack_pack_map(pk, why[0] ? 5 : 4);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "idle");
    if (why[0])
        msgpack_pack_false(pk);
    else
        msgpack_pack_true(pk);
    control_pack_str(pk, "now_ms");
    msgpack_pack_int64(pk, now);
    control_pack_str(pk, "next_timer_ms");
    if (svc->handlers.fire && svc->next_due >= 0 && svc->next_due != TIMER_NONE)
        msgpack_pack_int64(pk, svc->next_due);
    else
        msgpack_pack_nil(pk);
    if (why[0]) {
        control_pack_str(pk, "waiting");
        control_pack_str(pk, why);
    }
}

/* {"op":"reset_stream","stream":S}: the operator's answer to a halted
 * stream (consumer.h): follow it anew from seq 1. */
static void s_op_reset_stream(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    service_t *svc = arg;
    err_t err;
    char stream[STREAM_NAME_MAX + 1];
    if (mp_get_strcpy(request, "stream", stream, sizeof stream, &err) != 0) {
        control_pack_error(pk, "E_BAD_REQUEST", "stream", err.msg);
        return;
    }
    if (!svc->consumer || !consumer_stream_id(svc->consumer, stream)) {
        char text[128];
        snprintf(text, sizeof text, "stream '%s' is not followed here", stream);
        control_pack_error(pk, "E_UNKNOWN_STREAM", "stream", text);
        return;
    }
    db_rc_t rc = consumer_reset_stream(svc->consumer, stream, &err);
    if (rc != DB_OK) {
        control_pack_error(pk, rc == DB_TRANSIENT ? "E_UNAVAILABLE" : "E_INTERNAL", NULL, err.msg);
        return;
    }
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "stream");
    control_pack_str(pk, stream);
}

int service_ops_register(service_t *svc, err_t *err)
{
    if (control_add_handler(svc->control, "clock", s_op_clock, svc) != 0 ||
        control_add_handler(svc->control, "idle", s_op_idle, svc) != 0 ||
        control_add_handler(svc->control, "reset_stream", s_op_reset_stream, svc) != 0) {
        err_set(err, "control ops clock/idle/reset_stream already taken");
        return -1;
    }
    return 0;
}
