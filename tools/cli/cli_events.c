/* cli_events.c - `airguard events` and `airguard dead-letters`; see
 * cli_events.h and docs/protocol.md section 6 (replay, dead_letters). */
#include "cli_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "mp.h"
#include "mpjson.h"
#include "streamwire.h"

#define EVENTS_MAX_STREAMS 16
#define FOLLOW_POLL_MS 500

/* One control request packed from pk's buffer; prints an error reply and
 * returns its status, or 0 with the decoded reply in u. */
static int s_ask(void *ctx, const cli_opts_t *o, const msgpack_sbuffer *req, zmq_msg_t *reply,
                 msgpack_unpacked *u)
{
    int rc = cli_net_request(ctx, o, req->data, req->size, reply);
    if (rc != 0)
        return rc;
    if (msgpack_unpack_next(u, zmq_msg_data(reply), zmq_msg_size(reply), NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        u->data.type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, "airguard: the reply from %s is not a msgpack map\n", o->endpoint);
        zmq_msg_close(reply);
        return 1;
    }
    const msgpack_object *ok = mp_get(&u->data, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        mpjson_print(stderr, &u->data);
        fputc('\n', stderr);
        zmq_msg_close(reply);
        return 1;
    }
    return 0;
}

static void s_pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* The streams the service produces, from its "streams" op. */
static int s_produced(void *ctx, const cli_opts_t *o, char names[][STREAM_NAME_MAX + 1], size_t *n)
{
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    s_pack_cstr(&pk, "op");
    s_pack_cstr(&pk, "streams");
    zmq_msg_t reply;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = s_ask(ctx, o, &req, &reply, &u);
    *n = 0;
    if (rc == 0) {
        const msgpack_object *p = mp_get(&u.data, "produced");
        for (uint32_t i = 0; p && p->type == MSGPACK_OBJECT_ARRAY && i < p->via.array.size &&
                             *n < EVENTS_MAX_STREAMS;
             i++) {
            err_t err;
            if (mp_get_strcpy(&p->via.array.ptr[i], "stream", names[*n], STREAM_NAME_MAX + 1,
                              &err) == 0)
                (*n)++;
        }
        zmq_msg_close(&reply);
        if (*n == 0) {
            fprintf(stderr, "airguard: the service at %s produces no stream\n", o->endpoint);
            rc = 1;
        }
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&req);
    return rc;
}

/* Prints one record: {"stream", "seq", then the envelope's keys}. */
static void s_print_record(const char *stream, const stream_record_t *rec)
{
    msgpack_unpacked env;
    msgpack_unpacked_init(&env);
    printf("{\"stream\":\"%s\",\"seq\":%lld", stream, (long long)rec->seq);
    if (msgpack_unpack_next(&env, rec->msg, rec->msg_len, NULL) == MSGPACK_UNPACK_SUCCESS &&
        env.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < env.data.via.map.size; i++) {
            putchar(',');
            mpjson_print(stdout, &env.data.via.map.ptr[i].key);
            putchar(':');
            mpjson_print(stdout, &env.data.via.map.ptr[i].val);
        }
    } else {
        msgpack_object bin = {.type = MSGPACK_OBJECT_BIN};
        bin.via.bin.ptr = rec->msg;
        bin.via.bin.size = (uint32_t)rec->msg_len;
        fputs(",\"undecodable\":", stdout);
        mpjson_print(stdout, &bin);
    }
    puts("}");
    msgpack_unpacked_destroy(&env);
}

/* One replay request for stream from *next; prints the matching records
 * and moves *next on. *more says whether the stream has more now. */
static int s_replay_once(void *ctx, const cli_opts_t *o, const char *stream, int64_t *next,
                         const char *type, bool *more)
{
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    streamwire_pack_replay_request(&req, stream, *next, STREAMWIRE_REPLAY_MAX_RECORDS);
    zmq_msg_t reply;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = s_ask(ctx, o, &req, &reply, &u);
    *more = false;
    if (rc == 0) {
        streamwire_replay_t r;
        err_t err;
        msgpack_unpacked again;
        msgpack_unpacked_init(&again);
        if (streamwire_unpack_replay(&again, zmq_msg_data(&reply), zmq_msg_size(&reply), &r,
                                     &err) != 0) {
            fprintf(stderr, "airguard: replay of %s: %s\n", stream, err.msg);
            rc = 1;
        }
        for (uint32_t i = 0; rc == 0 && i < r.records->via.array.size; i++) {
            stream_record_t rec;
            if (streamwire_replay_record(&r, i, &rec, &err) != 0) {
                fprintf(stderr, "airguard: replay of %s: %s\n", stream, err.msg);
                rc = 1;
                break;
            }
            if (!type || (strlen(type) == rec.type_len && !memcmp(type, rec.type, rec.type_len)))
                s_print_record(stream, &rec);
            *next = rec.seq + 1;
        }
        if (rc == 0)
            *more = r.to >= r.from && r.to < r.last_seq;
        msgpack_unpacked_destroy(&again);
        zmq_msg_close(&reply);
    }
    fflush(stdout);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&req);
    return rc;
}

int cli_events_run(void *ctx, const cli_opts_t *o, const char *stream, int64_t from,
                   const char *type, bool follow)
{
    char names[EVENTS_MAX_STREAMS][STREAM_NAME_MAX + 1];
    int64_t next[EVENTS_MAX_STREAMS];
    size_t n = 1;
    int rc = 0;
    if (stream)
        snprintf(names[0], sizeof names[0], "%s", stream);
    else if ((rc = s_produced(ctx, o, names, &n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        next[i] = from < 1 ? 1 : from;
    for (;;) {
        bool any_more = false;
        for (size_t i = 0; i < n; i++) {
            bool more = true;
            while (more && (rc = s_replay_once(ctx, o, names[i], &next[i], type, &more)) == 0)
                any_more |= more;
            if (rc != 0)
                return rc;
        }
        if (!follow)
            return 0;
        if (!any_more) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = FOLLOW_POLL_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
}

/* Prints each map of the reply's array key as a line, with "kind" first. */
static void s_print_list(const msgpack_object *reply, const char *key, const char *kind,
                         int64_t *last_id)
{
    const msgpack_object *list = mp_get(reply, key);
    for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size;
         i++) {
        const msgpack_object *row = &list->via.array.ptr[i];
        if (row->type != MSGPACK_OBJECT_MAP)
            continue;
        printf("{\"kind\":\"%s\"", kind);
        for (uint32_t k = 0; k < row->via.map.size; k++) {
            putchar(',');
            mpjson_print(stdout, &row->via.map.ptr[k].key);
            putchar(':');
            mpjson_print(stdout, &row->via.map.ptr[k].val);
        }
        puts("}");
        err_t err;
        if (last_id)
            mp_get_int(row, "id", last_id, &err);
    }
}

int cli_events_dead_letters(void *ctx, const cli_opts_t *o, const char *stream)
{
    int64_t after = 0;
    int rc = 0;
    for (bool first = true, more = true; more && rc == 0; first = false) {
        msgpack_sbuffer req;
        msgpack_sbuffer_init(&req);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2 + (stream != NULL));
        s_pack_cstr(&pk, "op");
        s_pack_cstr(&pk, "dead_letters");
        s_pack_cstr(&pk, "after");
        msgpack_pack_int64(&pk, after);
        if (stream) {
            s_pack_cstr(&pk, "stream");
            s_pack_cstr(&pk, stream);
        }
        zmq_msg_t reply;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        rc = s_ask(ctx, o, &req, &reply, &u);
        more = false;
        if (rc == 0) {
            s_print_list(&u.data, "dead_letters", "dead_letter", &after);
            /* The failing ones are few (one per stream at most): all in the first page. */
            if (first)
                s_print_list(&u.data, "failing", "failing", NULL);
            bool b = false;
            err_t err;
            more = mp_get_bool(&u.data, "more", &b, &err) == 0 && b;
            zmq_msg_close(&reply);
        }
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&req);
    }
    return rc;
}
