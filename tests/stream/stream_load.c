/* stream_load.c - a load generator that behaves like a well-written client
 * of the submit protocol: K concurrent clients (one DEALER socket each, one
 * request in flight each, or --inflight N pipelined requests matched to
 * their replies by message id), every message with a fresh UUID that is reused
 * for every retry of that message (after a timeout, Lazy Pirate style, the
 * socket is replaced; after E_UNAVAILABLE it waits and resends). It writes
 * every acknowledged message to --out as "id key stream seq duplicate", so
 * tests can check the acks against the database, and prints throughput and
 * ack latency percentiles.
 *
 *   stream_load --endpoint tcp://127.0.0.1:7200 --count 5000 --clients 8
 *               [--rate 2000] [--out acks.txt] [--type count] [--keys 50]
 *               [--poison-every N] [--timeout-ms 2000] [--deadline-s 300]
 *               [--subdistrict baiyang] [--body-json JSON] [--source NAME]
 *               [--inflight N]
 *
 * --body-json sends that body (a JSON object, e.g. an example from
 * `airguard catalogue --examples`) with --type instead of the test body
 * {"key", "n"}, so the same client can load the real intake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "mp.h"
#include "mpjson.h"
#include "uuid.h"

#define MAX_CLIENTS 256

/* One request slot. A client (socket) has --inflight slots; replies are
 * matched to slots by the message id they name. */
typedef struct client {
    int sock_index; /* which client socket carries it */
    long msg;       /* index of the message in flight, -1 when idle */
    char id[ENVELOPE_ID_LEN + 1];
    int64_t sent_us;     /* first send of this message, for latency */
    int64_t deadline_ms; /* give up waiting for this attempt */
    int64_t resend_ms;   /* E_UNAVAILABLE: resend at */
    msgpack_sbuffer buf; /* the encoded message, resent as is */
} client_t;

typedef struct options {
    const char *endpoint, *out, *type, *subdistrict, *body_json, *source;
    long count, rate, poison_every, keys;
    int clients, inflight, timeout_ms, deadline_s;
} options_t;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void *s_socket(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, endpoint);
    return s;
}

static void s_encode(const options_t *o, long i, client_t *c)
{
    envelope_t env;
    memset(&env, 0, sizeof env);
    env.version = ENVELOPE_VERSION;
    uuid_new(c->id);
    memcpy(env.id, c->id, sizeof env.id);
    const char *type = (o->poison_every > 0 && (i + 1) % o->poison_every == 0) ? "poison" : o->type;
    snprintf(env.type, sizeof env.type, "%s", type);
    snprintf(env.source, sizeof env.source, "%s", o->source);
    snprintf(env.subdistrict, sizeof env.subdistrict, "%s", o->subdistrict);
    env.time_ms = 1574640000000LL + i;
    /* body: {"key": "k<i % keys>", "n": i} */
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    char key[32];
    int klen = snprintf(key, sizeof key, "k%ld", i % o->keys);
    if (o->body_json) {
        err_t perr;
        if (mpjson_parse(o->body_json, strlen(o->body_json), &pk, &perr) != 0) {
            fprintf(stderr, "stream_load: --body-json: %s\n", perr.msg);
            exit(2);
        }
        goto encode;
    }
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "key", 3);
    msgpack_pack_str(&pk, (size_t)klen);
    msgpack_pack_str_body(&pk, key, (size_t)klen);
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "n", 1);
    msgpack_pack_int64(&pk, i);
encode:
    msgpack_sbuffer_clear(&c->buf);
    err_t err;
    if (envelope_encode_raw_body(&env, body.data, body.size, &c->buf, &err) != 0) {
        fprintf(stderr, "stream_load: encode: %s\n", err.msg);
        exit(2);
    }
    msgpack_sbuffer_destroy(&body);
}

static int s_parse(int argc, char **argv, options_t *o)
{
    *o = (options_t){.endpoint = "tcp://127.0.0.1:7200",
                     .type = "count",
                     .subdistrict = "baiyang",
                     .source = "stream-load",
                     .count = 1000,
                     .keys = 50,
                     .clients = 8,
                     .inflight = 1,
                     .timeout_ms = 2000,
                     .deadline_s = 300};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--endpoint"))
            o->endpoint = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--type"))
            o->type = v;
        else if (!strcmp(a, "--subdistrict"))
            o->subdistrict = v;
        else if (!strcmp(a, "--body-json"))
            o->body_json = v;
        else if (!strcmp(a, "--source"))
            o->source = v;
        else if (!strcmp(a, "--count"))
            o->count = atol(v);
        else if (!strcmp(a, "--rate"))
            o->rate = atol(v);
        else if (!strcmp(a, "--keys"))
            o->keys = atol(v);
        else if (!strcmp(a, "--poison-every"))
            o->poison_every = atol(v);
        else if (!strcmp(a, "--clients"))
            o->clients = atoi(v);
        else if (!strcmp(a, "--inflight"))
            o->inflight = atoi(v);
        else if (!strcmp(a, "--timeout-ms"))
            o->timeout_ms = atoi(v);
        else if (!strcmp(a, "--deadline-s"))
            o->deadline_s = atoi(v);
        else
            return -1;
    }
    if (o->clients < 1 || o->clients > MAX_CLIENTS || o->count < 0 || o->keys < 1 ||
        o->inflight < 1 || o->inflight > 64)
        return -1;
    return 0;
}

/* What a reply said. */
typedef struct reply {
    int ok;                       /* 1 acked */
    char code[64];                /* error code when not ok */
    char id[ENVELOPE_ID_LEN + 1]; /* the message it is about ("" when not named) */
    char stream[64];
    int64_t seq;
    bool duplicate;
} reply_t;

/* Reads one reply from sock without waiting; -1 when none is there. */
static int s_read_reply(void *sock, reply_t *r)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->code, sizeof r->code, "E_BAD_REPLY");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, zmq_msg_data(&m), zmq_msg_size(&m), NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *ok = mp_get(&u.data, "ok");
        err_t err;
        r->ok = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
        mp_get_strcpy(&u.data, "id", r->id, sizeof r->id, &err);
        if (r->ok) {
            mp_get_strcpy(&u.data, "stream", r->stream, sizeof r->stream, &err);
            mp_get_int(&u.data, "seq", &r->seq, &err);
            mp_get_bool(&u.data, "duplicate", &r->duplicate, &err);
        } else {
            mp_get_strcpy(&u.data, "code", r->code, sizeof r->code, &err);
        }
    }
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&m);
    return 0;
}

/* The busy slot of socket si that reply r is about: by id, or (a reply
 * naming no id) the oldest busy one. NULL when none. */
static client_t *s_match(client_t *cl, int inflight, int si, const reply_t *r)
{
    client_t *fallback = NULL;
    for (int k = si * inflight; k < (si + 1) * inflight; k++) {
        if (cl[k].msg < 0)
            continue;
        if (r->id[0] && strcmp(cl[k].id, r->id) == 0)
            return &cl[k];
        if (!fallback || cl[k].sent_us < fallback->sent_us)
            fallback = &cl[k];
    }
    return r->id[0] ? NULL : fallback;
}

int main(int argc, char **argv)
{
    options_t o;
    if (s_parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: stream_load --endpoint E --count N --clients K [--rate R]"
                        " [--out FILE] [--type T] [--keys M] [--poison-every P]"
                        " [--timeout-ms MS] [--deadline-s S] [--subdistrict S]"
                        " [--body-json JSON] [--source NAME] [--inflight K]\n");
        return 2;
    }
    FILE *out = o.out ? fopen(o.out, "w") : NULL;
    if (o.out && !out) {
        perror(o.out);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    int nslots = o.clients * o.inflight;
    client_t *cl = calloc((size_t)nslots, sizeof *cl);
    void *socks[MAX_CLIENTS];
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)(o.count + 1));
    zmq_pollitem_t items[MAX_CLIENTS];
    for (int i = 0; i < o.clients; i++)
        socks[i] = s_socket(ctx, o.endpoint);
    for (int i = 0; i < nslots; i++) {
        cl[i].sock_index = i / o.inflight;
        cl[i].msg = -1;
        msgpack_sbuffer_init(&cl[i].buf);
    }
    long next = 0, acked = 0, rejected = 0, dups = 0, retries = 0, timeouts = 0;
    int64_t start = aclock_system_mono_ms(), give_up = start + (int64_t)o.deadline_s * 1000;
    while (acked + rejected < o.count && aclock_system_mono_ms() < give_up) {
        int64_t now = aclock_system_mono_ms();
        for (int i = 0; i < nslots; i++) {
            client_t *c = &cl[i];
            void **sock = &socks[c->sock_index];
            int allowed = o.rate <= 0 || next < (now - start) * o.rate / 1000 + 1;
            if (c->msg < 0 && next < o.count && allowed) {
                c->msg = next++;
                s_encode(&o, c->msg, c);
                c->sent_us = s_now_us();
                c->resend_ms = now;
            }
            if (c->msg >= 0 && c->resend_ms && now >= c->resend_ms) {
                zmq_send(*sock, c->buf.data, c->buf.size, ZMQ_DONTWAIT);
                c->resend_ms = 0;
                c->deadline_ms = now + o.timeout_ms;
            } else if (c->msg >= 0 && !c->resend_ms && now > c->deadline_ms) {
                /* Lazy Pirate: abandon the socket, resend every request it
                 * carried with the same id. */
                zmq_close(*sock);
                *sock = s_socket(ctx, o.endpoint);
                for (int k = c->sock_index * o.inflight; k < (c->sock_index + 1) * o.inflight; k++)
                    if (cl[k].msg >= 0)
                        cl[k].resend_ms = now;
                timeouts++;
            }
        }
        for (int i = 0; i < o.clients; i++)
            items[i] = (zmq_pollitem_t){.socket = socks[i], .events = ZMQ_POLLIN};
        if (zmq_poll(items, o.clients, 5) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < o.clients; i++) {
            reply_t r;
            while ((items[i].revents & ZMQ_POLLIN) && s_read_reply(socks[i], &r) == 0) {
                client_t *c = s_match(cl, o.inflight, i, &r);
                if (!c)
                    continue; /* an answer to an attempt already given up */
                if (r.ok) {
                    lat[acked++] = s_now_us() - c->sent_us;
                    dups += r.duplicate;
                    if (out)
                        fprintf(out, "%s\tk%ld\t%s\t%lld\t%d\n", c->id, c->msg % o.keys, r.stream,
                                (long long)r.seq, r.duplicate);
                    c->msg = -1;
                } else if (!strcmp(r.code, "E_UNAVAILABLE") || !strcmp(r.code, "E_INTERNAL")) {
                    retries++;
                    c->resend_ms = aclock_system_mono_ms() + 100;
                } else {
                    rejected++;
                    if (out)
                        fprintf(out, "%s\tREJECT\t%s\t0\t0\n", c->id, r.code);
                    c->msg = -1;
                }
            }
        }
    }
    double secs = (double)(aclock_system_mono_ms() - start) / 1000.0;
    qsort(lat, (size_t)acked, sizeof *lat, s_cmp_i64);
    printf("acked=%ld rejected=%ld duplicates=%ld retries=%ld timeouts=%ld seconds=%.3f "
           "rate=%.0f p50_us=%lld p99_us=%lld\n",
           acked, rejected, dups, retries, timeouts, secs, secs > 0 ? acked / secs : 0.0,
           (long long)(acked ? lat[acked / 2] : 0), (long long)(acked ? lat[acked * 99 / 100] : 0));
    if (out)
        fclose(out);
    for (int i = 0; i < o.clients; i++)
        zmq_close(socks[i]);
    for (int i = 0; i < nslots; i++)
        msgpack_sbuffer_destroy(&cl[i].buf);
    free(cl);
    free(lat);
    zmq_ctx_term(ctx);
    return acked + rejected == o.count ? 0 : 1;
}
