/* airguard.c - the operator's command-line tool.
 *
 *   airguard health  [--service S | --endpoint E]   is the service up and its database reachable?
 *   airguard ping    [--service S | --endpoint E]   does it answer at all?
 *   airguard version [--service S | --endpoint E]
 *   airguard streams [--service S | --endpoint E]   produced heads and consumed positions
 *   airguard query JSON [--service S | --endpoint E] any read-only control request
 *   airguard submit [FILE|-] [--endpoint E] [--clients N]
 *                   [--server-key Z85|--server-key-file F] [--key-file F]
 *                   events as JSON (one object, an array, or one object per line)
 *                   or YAML (one mapping, or a sequence of them);
 *                   missing v/id/time/source are filled in; prints one reply per event;
 *                   with a server key the connection uses CURVE (the key file holds
 *                   this client's secret key)
 *   airguard keygen [--out PREFIX]   a CURVE key pair (PREFIX.key mode 0600, PREFIX.pub)
 *   airguard catalogue [TYPE] [--examples | --markdown]   the event catalogue as JSON
 *                   lines, complete example events, or docs/protocol.md's type tables
 *
 * Replies are printed as JSON. Exit status: 0 when every reply was ok, 1 when
 * a reply was an error, 2 for usage errors, 3 when a service did not answer.
 * Retries follow docs/protocol.md section 4 (the ZeroMQ guide's Lazy
 * Pirate): on a timeout the socket is replaced and the same request (same
 * message id) is sent again at once; a submit answered E_UNAVAILABLE or
 * E_INTERNAL is sent again after a pause of 0.2 s doubling to 5 s. Retries
 * stop when the request's time budget (--budget-ms) is spent, or after
 * --retries attempts when that is given. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "campaign.h"
#include "catalogue.h"
#include "curvekey.h"
#include "envelope.h"
#include "mp.h"
#include "mpjson.h"
#include "uuid.h"
#include "yamlpack.h"

#define MAX_CLIENTS 64
#define CLI_MAX_INPUT (64u * 1024u * 1024u)

#define RETRY_PAUSE_MIN_MS 200
#define RETRY_PAUSE_MAX_MS 5000

typedef struct options {
    const char *endpoint;   /* where to send */
    int timeout_ms;         /* per attempt */
    int budget_ms;          /* per request, from its first send: no attempt starts later */
    int retries;            /* at most this many attempts per request; 0: as the budget allows */
    int clients;            /* concurrent submitters */
    bool curve;             /* submit over CURVE with the keys below */
    uint8_t server_key[32]; /* intake's public key */
    uint8_t public_key[32]; /* ours, derived from secret_key */
    uint8_t secret_key[32]; /* ours, from --key-file */
} options_t;

/* Default control endpoints of a local suite (the files in config/ agree). */
static const char *s_service_endpoint(const char *service)
{
    static const struct {
        const char *name, *endpoint;
    } table[] = {
        {"intake", "tcp://127.0.0.1:7100"},  {"dispatch", "tcp://127.0.0.1:7110"},
        {"cases", "tcp://127.0.0.1:7120"},   {"attendance", "tcp://127.0.0.1:7130"},
        {"scoring", "tcp://127.0.0.1:7140"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, service) == 0)
            return table[i].endpoint;
    return NULL;
}

static void s_usage(FILE *out)
{
    fputs(
        "usage: airguard COMMAND [options]\n"
        "  health  [--service S | --endpoint E]   service and database health\n"
        "  ping    [--service S | --endpoint E]   does the service answer at all?\n"
        "  version [--service S | --endpoint E]\n"
        "  streams [--service S | --endpoint E]   stream positions\n"
        "  query JSON [--service S | --endpoint E] send a control request, e.g. "
        "'{\"op\":\"health\"}'\n"
        "  submit [FILE|-] [--endpoint E] [--clients N]\n"
        "         [--server-key Z85 | --server-key-file F] [--key-file F]\n"
        "                                         submit events written as JSON or YAML; with a "
        "server\n"
        "                                         key over CURVE, authenticated by the secret key\n"
        "                                         in --key-file ($AIRGUARD_SERVER_KEY,\n"
        "                                         $AIRGUARD_KEY_FILE)\n"
        "  keygen [--out PREFIX]                  make a CURVE key pair (PREFIX.key, PREFIX.pub)\n"
        "  check-campaign FILE                    validate a campaign file as intake will\n"
        "  catalogue [TYPE] [--examples | --markdown]\n"
        "                                         print the event catalogue as JSON lines, one\n"
        "                                         complete example event per type, or the type\n"
        "                                         tables of docs/protocol.md\n"
        "options: --timeout-ms MS  wait per attempt (default 3000)\n"
        "         --budget-ms MS   retry a request until MS after its first send (default 30000\n"
        "                          for submit, 10000 for the others)\n"
        "         --retries N      at most N attempts per request (default: as the budget "
        "allows)\n"
        "retries keep the message id: a timeout is resent at once on a fresh socket,\n"
        "E_UNAVAILABLE and E_INTERNAL after 0.2 s doubling to 5 s (docs/protocol.md 4)\n"
        "services: intake dispatch cases attendance scoring (control endpoints on "
        "127.0.0.1:71x0);\n"
        "submit defaults to $AIRGUARD_SUBMIT_ENDPOINT or tcp://127.0.0.1:7200\n",
        out);
}

/* A DEALER connected to endpoint; over CURVE when o says so (submits). */
static void *s_socket(void *ctx, const char *endpoint, const options_t *o)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (o && o->curve) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, o->server_key, 32);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, o->public_key, 32);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o->secret_key, 32);
    }
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "airguard: cannot connect to %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Prints a reply; returns 1 if it says ok, 0 otherwise. */
static int s_print_reply(const char *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int ok = 0;
    if (msgpack_unpack_next(&u, data, size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        mpjson_print(stdout, &u.data);
        fputc('\n', stdout);
        const msgpack_object *o = mp_get(&u.data, "ok");
        ok = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
    } else {
        printf("{\"ok\":false,\"code\":\"E_BAD_REPLY\",\"error\":\"reply is not msgpack\"}\n");
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}

static long long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a request first sent at started_ms, tried attempts times, may be
 * sent again at time at_ms. */
static bool s_may_retry(const options_t *o, int attempts, long long started_ms, long long at_ms)
{
    return (o->retries == 0 || attempts < o->retries) && at_ms < started_ms + o->budget_ms;
}

/* One control request, Lazy Pirate. Returns 0 ok, 1 error reply, 3 no answer. */
static int s_request(void *ctx, const options_t *o, const char *data, size_t size)
{
    long long started = s_now_ms();
    int attempts = 0;
    do {
        void *s = s_socket(ctx, o->endpoint, NULL);
        if (!s)
            return 2;
        zmq_send(s, data, size, 0);
        attempts++;
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, o->timeout_ms) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            int rc = 3;
            if (zmq_msg_recv(&m, s, 0) >= 0)
                rc = s_print_reply(zmq_msg_data(&m), zmq_msg_size(&m)) ? 0 : 1;
            zmq_msg_close(&m);
            zmq_close(s);
            return rc;
        }
        zmq_close(s);
    } while (s_may_retry(o, attempts, started, s_now_ms()));
    fprintf(stderr, "airguard: no answer from %s after %d attempts of %d ms\n", o->endpoint,
            attempts, o->timeout_ms);
    return 3;
}

static int s_control(void *ctx, const options_t *o, const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    int rc = 2;
    if (mpjson_parse(json, strlen(json), &pk, &err) != 0)
        fprintf(stderr, "airguard: request: %s\n", err.msg);
    else
        rc = s_request(ctx, o, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static char *s_read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "airguard: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            if (cap >= CLI_MAX_INPUT) {
                fprintf(stderr, "airguard: %s: larger than %u bytes\n", path, CLI_MAX_INPUT);
                free(buf);
                buf = NULL;
                break;
            }
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

/* Completes one event given as a JSON object: fills v, id, time, source
 * when absent and packs the envelope. Returns 0 or -1 with err. */
static int s_complete_event(const msgpack_object *ev, msgpack_sbuffer *out, err_t *err)
{
    if (ev->type != MSGPACK_OBJECT_MAP) {
        err_set(err, "an event must be a JSON object");
        return -1;
    }
    uint32_t extra = 0;
    int has_v = mp_get(ev, "v") != NULL, has_id = mp_get(ev, "id") != NULL;
    int has_time = mp_get(ev, "time") != NULL, has_source = mp_get(ev, "source") != NULL;
    extra = (uint32_t)(!has_v + !has_id + !has_time + !has_source);
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ev->via.map.size + extra);
    if (!has_v) {
        msgpack_pack_str_with_body(&pk, "v", 1);
        msgpack_pack_int(&pk, ENVELOPE_VERSION);
    }
    if (!has_id) {
        char id[ENVELOPE_ID_LEN + 1];
        if (uuid_new(id) != 0) {
            err_set(err, "no randomness for a message id");
            return -1;
        }
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_str_with_body(&pk, id, ENVELOPE_ID_LEN);
    }
    if (!has_time) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        msgpack_pack_str_with_body(&pk, "time", 4);
        msgpack_pack_int64(&pk, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    }
    if (!has_source) {
        msgpack_pack_str_with_body(&pk, "source", 6);
        msgpack_pack_str_with_body(&pk, "cli", 3);
    }
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        msgpack_pack_object(&pk, ev->via.map.ptr[i].key);
        msgpack_pack_object(&pk, ev->via.map.ptr[i].val);
    }
    return 0;
}

/* Splits the input into events: one JSON value (object or array of
 * objects), or JSON lines. Packs each completed envelope into events[]. */
static int s_load_events(const char *text, size_t len, msgpack_sbuffer **events, size_t *n)
{
    msgpack_sbuffer all;
    msgpack_sbuffer_init(&all);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &all, msgpack_sbuffer_write);
    err_t err;
    int rc = -1;
    *events = NULL;
    *n = 0;
    /* JSON starts with { or [; anything else is read as YAML. */
    size_t lead = 0;
    while (lead < len && strchr(" \t\r\n", text[lead]))
        lead++;
    if (lead < len && text[lead] != '{' && text[lead] != '[') {
        if (yamlpack_parse("input", text, len, &pk, &err) != 0) {
            fprintf(stderr, "airguard: %s\n", err.msg);
            goto out;
        }
    } else if (mpjson_parse(text, len, &pk, &err) != 0) {
        /* Not one JSON value: one value per line. */
        msgpack_sbuffer_clear(&all);
        size_t count = 0;
        msgpack_sbuffer lines;
        msgpack_sbuffer_init(&lines);
        msgpack_packer lpk;
        msgpack_packer_init(&lpk, &lines, msgpack_sbuffer_write);
        const char *p = text, *end = text + len;
        int lineno = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            lineno++;
            size_t l = (size_t)(le - p);
            int blank = 1;
            for (size_t i = 0; i < l; i++)
                blank &= (p[i] == ' ' || p[i] == '\t' || p[i] == '\r');
            if (!blank) {
                if (mpjson_parse(p, l, &lpk, &err) != 0) {
                    fprintf(stderr, "airguard: input line %d: %s\n", lineno, err.msg);
                    msgpack_sbuffer_destroy(&lines);
                    goto out;
                }
                count++;
            }
            p = le + 1;
        }
        msgpack_pack_array(&pk, count);
        pk.callback(pk.data, lines.data, lines.size);
        msgpack_sbuffer_destroy(&lines);
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, all.data, all.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&u);
        goto out;
    }
    const msgpack_object *list = &u.data;
    uint32_t count = list->type == MSGPACK_OBJECT_ARRAY ? list->via.array.size : 1;
    *events = calloc(count ? count : 1, sizeof **events);
    for (uint32_t i = 0; *events && i < count; i++) {
        const msgpack_object *ev =
            list->type == MSGPACK_OBJECT_ARRAY ? &list->via.array.ptr[i] : list;
        msgpack_sbuffer_init(&(*events)[i]);
        (*n)++;
        if (s_complete_event(ev, &(*events)[i], &err) != 0) {
            fprintf(stderr, "airguard: event %u: %s\n", i + 1, err.msg);
            msgpack_unpacked_destroy(&u);
            goto out;
        }
    }
    rc = *events ? 0 : -1;
    msgpack_unpacked_destroy(&u);
out:
    msgpack_sbuffer_destroy(&all);
    return rc;
}

typedef struct submitter {
    void *sock;
    long event;           /* index of the event in hand, -1 idle */
    int attempts;         /* sends of it so far */
    long long started_ms; /* its first send, for the budget */
    long long due_ms;     /* in flight: when this attempt times out; else the next send */
    int pause_ms;         /* the pause after the next "try again" answer */
    bool in_flight;       /* sent, answer awaited */
} submitter_t;

/* Whether a reply says "outcome unknown, send the same id again". */
static bool s_try_again(const char *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool again = false;
    if (msgpack_unpack_next(&u, data, size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *code = mp_get(&u.data, "code");
        again = mp_str_eq(code, "E_UNAVAILABLE") || mp_str_eq(code, "E_INTERNAL");
    }
    msgpack_unpacked_destroy(&u);
    return again;
}

/* Handles the answer of submitter s; returns 1 when the event is done. */
static int s_on_answer(submitter_t *s, const options_t *o, const zmq_msg_t *m, int *status)
{
    long long now = s_now_ms();
    const char *data = zmq_msg_data((zmq_msg_t *)m);
    size_t size = zmq_msg_size(m);
    if (s_try_again(data, size) && s_may_retry(o, s->attempts, s->started_ms, now + s->pause_ms)) {
        s->in_flight = false;
        s->due_ms = now + s->pause_ms;
        s->pause_ms = s->pause_ms * 2 > RETRY_PAUSE_MAX_MS ? RETRY_PAUSE_MAX_MS : s->pause_ms * 2;
        return 0;
    }
    if (!s_print_reply(data, size) && *status == 0)
        *status = 1;
    return 1;
}

/* Sends events with up to o->clients in flight; one reply line per event,
 * in completion order. Timeouts, E_UNAVAILABLE and E_INTERNAL are retried
 * with the same id (see the top of this file). Returns the exit status. */
static int s_submit(void *ctx, const options_t *o, msgpack_sbuffer *events, size_t n)
{
    int clients = o->clients < (int)n ? o->clients : (int)n;
    submitter_t sub[MAX_CLIENTS];
    zmq_pollitem_t items[MAX_CLIENTS];
    size_t next = 0, done = 0;
    int status = 0;
    for (int i = 0; i < clients; i++)
        sub[i] = (submitter_t){.sock = s_socket(ctx, o->endpoint, o), .event = -1};
    while (done < n) {
        long long now = s_now_ms();
        for (int i = 0; i < clients; i++) {
            submitter_t *s = &sub[i];
            if (!s->sock)
                return 2;
            if (s->event < 0 && next < n)
                *s = (submitter_t){.sock = s->sock,
                                   .event = (long)next++,
                                   .started_ms = now,
                                   .due_ms = now,
                                   .pause_ms = RETRY_PAUSE_MIN_MS};
            if (s->event >= 0 && s->in_flight && now >= s->due_ms) { /* no answer in time */
                if (s_may_retry(o, s->attempts, s->started_ms, now)) {
                    s->in_flight = false;
                } else {
                    fprintf(stderr, "airguard: event %ld: no answer from %s after %d attempts\n",
                            s->event + 1, o->endpoint, s->attempts);
                    status = 3;
                    s->event = -1;
                    done++;
                }
            }
            if (s->event >= 0 && !s->in_flight && now >= s->due_ms) {
                if (s->attempts > 0) { /* Lazy Pirate: a fresh socket, no stale reply */
                    zmq_close(s->sock);
                    s->sock = s_socket(ctx, o->endpoint, o);
                    if (!s->sock)
                        return 2;
                }
                zmq_send(s->sock, events[s->event].data, events[s->event].size, 0);
                s->attempts++;
                s->in_flight = true;
                s->due_ms = now + o->timeout_ms;
            }
            items[i] = (zmq_pollitem_t){.socket = s->sock, .events = ZMQ_POLLIN};
        }
        if (zmq_poll(items, clients, 50) < 0 && errno != EINTR)
            return 3;
        for (int i = 0; i < clients; i++) {
            submitter_t *s = &sub[i];
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) >= 0 && s->event >= 0 && s->in_flight &&
                s_on_answer(s, o, &m, &status)) {
                s->event = -1;
                done++;
            }
            zmq_msg_close(&m);
        }
    }
    for (int i = 0; i < clients; i++)
        if (sub[i].sock)
            zmq_close(sub[i].sock);
    return status;
}

/* Sets up CURVE for submits from the options or the environment: the
 * server's public key (text or file) and this client's secret key file.
 * Returns 0 (curve stays off when no server key is given) or 2. */
static int s_curve_setup(options_t *o, const char *server_key, const char *server_key_file,
                         const char *key_file)
{
    err_t err;
    if (!server_key && !server_key_file)
        server_key = getenv("AIRGUARD_SERVER_KEY");
    if (!key_file)
        key_file = getenv("AIRGUARD_KEY_FILE");
    if ((!server_key || !*server_key) && !server_key_file) {
        if (key_file && *key_file) {
            fprintf(stderr, "airguard: a key file needs the server's key (--server-key)\n");
            return 2;
        }
        return 0;
    }
    if (!key_file || !*key_file) {
        fprintf(stderr, "airguard: CURVE needs this client's secret key (--key-file)\n");
        return 2;
    }
    int bad = server_key_file ? curvekey_read(server_key_file, false, o->server_key, &err)
                              : curvekey_parse(server_key, o->server_key, &err);
    if (bad == 0)
        bad = curvekey_read(key_file, true, o->secret_key, &err);
    char secret[41], public[41];
    if (bad == 0 &&
        (!zmq_z85_encode(secret, o->secret_key, 32) || zmq_curve_public(public, secret) != 0 ||
         !zmq_z85_decode(o->public_key, public))) {
        err_set(&err, "%s: cannot derive the public key", key_file);
        bad = -1;
    }
    explicit_bzero(secret, sizeof secret);
    if (bad != 0) {
        fprintf(stderr, "airguard: %s\n", err.msg);
        return 2;
    }
    o->curve = true;
    return 0;
}

/* Writes text to path, created new with mode; 0 or -1 (message printed). */
static int s_write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    size_t len = strlen(text);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "airguard: %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* A CURVE key pair: into PREFIX.key (secret, 0600) and PREFIX.pub, or on
 * stdout without a prefix. Existing files are never overwritten. */
static int s_keygen(const char *prefix)
{
    char public[41], secret[41], text[160], path[1024];
    if (zmq_curve_keypair(public, secret) != 0) {
        fprintf(stderr, "airguard: keygen: %s (libzmq built without CURVE?)\n",
                zmq_strerror(zmq_errno()));
        return 2;
    }
    int rc = 0;
    if (!prefix) {
        printf("public: '%s'\nsecret: '%s'\n", public, secret);
    } else {
        snprintf(text, sizeof text, "# airguard CURVE secret key; keep private\n%s\n", secret);
        snprintf(path, sizeof path, "%s.key", prefix);
        rc = s_write_new(path, text, 0600) == 0 ? 0 : 2;
        snprintf(text, sizeof text, "%s\n", public);
        snprintf(path, sizeof path, "%s.pub", prefix);
        if (rc == 0)
            rc = s_write_new(path, text, 0644) == 0 ? 0 : 2;
        if (rc == 0)
            printf("wrote %s.key (secret) and %s.pub\n"
                   "allow-list entry (config/intake-clients.yaml):\n"
                   "  - source: NAME\n    keys: ['%s']\n    types: ['*']\n",
                   prefix, prefix, public);
    }
    explicit_bzero(secret, sizeof secret);
    return rc;
}

static void s_json_str(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    mpjson_print(stdout, &o);
}

/* One type as a JSON line: its fields and rules, or (examples) a complete
 * event for the Baiyang seed ready for `airguard submit`. */
static void s_print_type(const catalogue_type_t *t, bool examples)
{
    if (examples) {
        printf("{\"type\":\"%s\",\"subdistrict\":\"baiyang\",\"body\":%s}\n", t->name, t->example);
        return;
    }
    printf("{\"type\":\"%s\",\"summary\":", t->name);
    s_json_str(t->summary);
    printf(",\"fields\":[");
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"required\":%s", i ? "," : "", f->name,
               catalogue_kind_name(f->kind), f->required ? "true" : "false");
        if (f->kind == CAT_NUM)
            printf(",\"min\":%g,\"max\":%g", f->fmin, f->fmax);
        else if (f->kind != CAT_BOOL && f->kind != CAT_ENUM && f->kind != CAT_UUID &&
                 f->kind != CAT_DATE)
            printf(",\"min\":%lld,\"max\":%lld", (long long)f->min, (long long)f->max);
        if (f->kind == CAT_STR_LIST)
            printf(",\"item_max\":%lld", (long long)f->item_max);
        if (f->kind == CAT_REF)
            printf(",\"ref\":\"%s\"", catalogue_ref_name(f->ref));
        if (f->values) {
            printf(",\"values\":[");
            for (size_t v = 0; f->values[v]; v++)
                printf("%s\"%s\"", v ? "," : "", f->values[v]);
            printf("]");
        }
        if (f->flags & CAT_F_CONFIDENTIAL)
            printf(",\"confidential\":true");
        if (f->flags & CAT_F_DIGEST)
            printf(",\"digest\":true");
        printf(",\"doc\":");
        s_json_str(f->doc);
        printf("}");
    }
    printf("],\"rules\":[");
    static const char *const kinds[] = {"", "any_of", "with", "when", "not_after"};
    for (size_t i = 0; i < t->n_rules; i++) {
        const catalogue_rule_t *r = &t->rules[i];
        printf("%s{\"rule\":\"%s\",\"a\":\"%s\"", i ? "," : "", kinds[r->kind], r->a);
        if (r->b)
            printf(",\"b\":\"%s\"", r->b);
        if (r->c)
            printf(",\"c\":\"%s\"", r->c);
        printf("}");
    }
    printf("],\"example\":%s}\n", t->example);
}

/* The "limits" cell of a field in docs/protocol.md. */
static void s_md_limits(const catalogue_field_t *f)
{
    switch (f->kind) {
    case CAT_STR:
    case CAT_TEXT:
    case CAT_CODE:
    case CAT_PHONE:
        if (f->min == f->max)
            printf("%lld bytes", (long long)f->min);
        else
            printf("%lld .. %lld bytes", (long long)f->min, (long long)f->max);
        break;
    case CAT_INT:
        printf("%lld .. %lld", (long long)f->min, (long long)f->max);
        break;
    case CAT_NUM:
        printf("%g .. %g", f->fmin, f->fmax);
        break;
    case CAT_ENUM:
        for (size_t v = 0; f->values[v]; v++)
            printf("%s`%s`", v ? ", " : "", f->values[v]);
        break;
    case CAT_UUID:
        printf("canonical UUID");
        break;
    case CAT_DATE:
        printf("`YYYY-MM-DD`");
        break;
    case CAT_REF:
        printf("id of a **%s** of the subdistrict", catalogue_ref_name(f->ref));
        break;
    case CAT_STR_LIST:
        printf("%lld .. %lld items of 1 .. %lld bytes", (long long)f->min, (long long)f->max,
               (long long)f->item_max);
        break;
    case CAT_BOOL:
        break;
    }
}

/* The "Rules:" line of a type, when it has rules. */
static void s_md_rules(const catalogue_type_t *t)
{
    if (t->n_rules == 0)
        return;
    printf("Rules: ");
    for (size_t i = 0; i < t->n_rules; i++) {
        const catalogue_rule_t *r = &t->rules[i];
        printf("%s", i ? "; " : "");
        switch (r->kind) {
        case CAT_RULE_ANY_OF:
            printf("at least one of ");
            for (const char *p = r->a; *p;) {
                size_t n = strcspn(p, ",");
                printf("%s`%.*s`", p == r->a ? "" : ", ", (int)n, p);
                p += n + (p[n] == ',');
            }
            printf(" (E_MISSING names the first)");
            break;
        case CAT_RULE_WITH:
            printf("`%s` is required when `%s` is given", r->b, r->a);
            break;
        case CAT_RULE_WHEN:
            printf("`%s` is required when `%s` is `%s`", r->c, r->a, r->b);
            break;
        case CAT_RULE_NOT_AFTER:
            printf("`%s` must not be greater than `%s` (E_RANGE on `%s`)", r->a, r->b, r->a);
            break;
        }
    }
    printf(".\n\n");
}

/* One type as the section of docs/protocol.md that describes it. */
static void s_print_markdown(const catalogue_type_t *t)
{
    printf("### `%s`\n\n%s.\n\n", t->name, t->summary);
    printf("| field | type | req | limits | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        printf("| `%s` | %s | %s | ", f->name, catalogue_kind_name(f->kind),
               f->required ? "yes" : "");
        s_md_limits(f);
        printf(" | %s%s%s |\n", f->doc, f->flags & CAT_F_CONFIDENTIAL ? " **confidential**" : "",
               f->flags & CAT_F_DIGEST ? " **set by intake: never send it**" : "");
    }
    printf("\n");
    s_md_rules(t);
    printf("Example body: `%s`\n\n", t->example);
}

typedef enum cat_out { CAT_OUT_JSON, CAT_OUT_EXAMPLES, CAT_OUT_MARKDOWN } cat_out_t;

static int s_catalogue(const char *type, cat_out_t out)
{
    size_t from = 0, to = catalogue_count();
    if (type) {
        const catalogue_type_t *t = catalogue_find(type);
        if (!t) {
            fprintf(stderr, "airguard: no event type '%s' (airguard catalogue lists them)\n", type);
            return 1;
        }
        for (from = 0; catalogue_at(from) != t; from++)
            ;
        to = from + 1;
    }
    for (size_t i = from; i < to; i++) {
        if (out == CAT_OUT_MARKDOWN)
            s_print_markdown(catalogue_at(i));
        else
            s_print_type(catalogue_at(i), out == CAT_OUT_EXAMPLES);
    }
    return 0;
}

/* Validates one campaign file the way intake will at start, so an operator
 * can check an edit before restarting anything. */
static int s_check_campaign(const char *path)
{
    if (!path) {
        fprintf(stderr, "airguard: check-campaign needs a FILE\n");
        return 2;
    }
    err_t err;
    campaign_t *c = campaign_load(path, &err);
    if (!c) {
        fprintf(stderr, "airguard: %s\n", err.msg);
        return 1;
    }
    printf("{\"ok\":true,\"subdistrict\":\"%s\",\"communities\":%zu,\"grids\":%zu,"
           "\"key_areas\":%zu}\n",
           campaign_subdistrict(c), c->n_communities, c->n_grids, c->n_key_areas);
    campaign_destroy(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    /* budget_ms 0: the command's default, set below */
    options_t o = {.timeout_ms = 3000, .budget_ms = 0, .retries = 0, .clients = 16};
    const char *positional = NULL, *service = NULL, *server_key = NULL, *server_key_file = NULL,
               *key_file = NULL, *out = NULL;
    bool examples = false, markdown = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--examples"))
            examples = true;
        else if (!strcmp(a, "--markdown"))
            markdown = true;
        else if (!strcmp(a, "--server-key") && v)
            server_key = argv[++i];
        else if (!strcmp(a, "--server-key-file") && v)
            server_key_file = argv[++i];
        else if (!strcmp(a, "--key-file") && v)
            key_file = argv[++i];
        else if (!strcmp(a, "--out") && v)
            out = argv[++i];
        else if (!strcmp(a, "--file") && v && !positional)
            positional = argv[++i];
        else if (!strcmp(a, "--endpoint") && v)
            o.endpoint = argv[++i];
        else if (!strcmp(a, "--service") && v)
            service = argv[++i];
        else if (!strcmp(a, "--timeout-ms") && v)
            o.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--retries") && v)
            o.retries = atoi(argv[++i]);
        else if (!strcmp(a, "--budget-ms") && v)
            o.budget_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--clients") && v)
            o.clients = atoi(argv[++i]);
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "airguard: unknown option %s\n", a);
            return 2;
        } else if (!positional)
            positional = a;
        else {
            fprintf(stderr, "airguard: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (o.timeout_ms <= 0 || o.budget_ms < 0 || o.retries < 0 || o.clients <= 0 ||
        o.clients > MAX_CLIENTS || (examples && markdown)) {
        fprintf(stderr,
                "airguard: --timeout-ms > 0; --budget-ms, --retries >= 0 (0: the default); "
                "--clients 1..%d; --examples or --markdown\n",
                MAX_CLIENTS);
        return 2;
    }
    /* A submit outlasts a database restart; a person asking a service
     * whether it is up should not wait that long. */
    if (o.budget_ms == 0)
        o.budget_ms = !strcmp(cmd, "submit") ? 30000 : 10000;
    if (service && !(o.endpoint = s_service_endpoint(service))) {
        fprintf(stderr, "airguard: unknown service '%s'\n", service);
        return 2;
    }
    if (!strcmp(cmd, "keygen"))
        return s_keygen(out);
    if (!strcmp(cmd, "check-campaign"))
        return s_check_campaign(positional);
    if (!strcmp(cmd, "catalogue"))
        return s_catalogue(positional, examples   ? CAT_OUT_EXAMPLES
                                       : markdown ? CAT_OUT_MARKDOWN
                                                  : CAT_OUT_JSON);
    if (!strcmp(cmd, "submit") && s_curve_setup(&o, server_key, server_key_file, key_file) != 0)
        return 2;
    int rc = 2;
    void *ctx = zmq_ctx_new();
    if (!strcmp(cmd, "submit")) {
        if (!o.endpoint)
            o.endpoint = getenv("AIRGUARD_SUBMIT_ENDPOINT") ? getenv("AIRGUARD_SUBMIT_ENDPOINT")
                                                            : "tcp://127.0.0.1:7200";
        size_t len = 0, n = 0;
        char *text = s_read_all(positional ? positional : "-", &len);
        msgpack_sbuffer *events = NULL;
        if (text && s_load_events(text, len, &events, &n) == 0)
            rc = n ? s_submit(ctx, &o, events, n) : 0;
        for (size_t i = 0; events && i < n; i++)
            msgpack_sbuffer_destroy(&events[i]);
        free(events);
        free(text);
    } else {
        if (!o.endpoint)
            o.endpoint = getenv("AIRGUARD_ENDPOINT") ? getenv("AIRGUARD_ENDPOINT")
                                                     : s_service_endpoint("intake");
        char req[64];
        if (!strcmp(cmd, "ping"))
            cmd = "version"; /* any answer at all means the service is alive */
        if (!strcmp(cmd, "health") || !strcmp(cmd, "version") || !strcmp(cmd, "streams")) {
            snprintf(req, sizeof req, "{\"op\":\"%s\"}", cmd);
            rc = s_control(ctx, &o, req);
        } else if (!strcmp(cmd, "query") && positional) {
            rc = s_control(ctx, &o, positional);
        } else {
            s_usage(stderr);
        }
    }
    zmq_ctx_term(ctx);
    return rc;
}
