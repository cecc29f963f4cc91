/* cli_net.c - the CLI's sockets, control requests and the watch on the
 * submit connection; see cli_net.h. */
#include "cli_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cli_net_watch {
    void *sock;      /* the watched DEALER; never sends */
    void *monitor;   /* PAIR receiving its monitor events */
    bool curve;      /* the submit's settings */
    char public[41]; /* this client's public key, Z85, for messages */
    char endpoint[256];
    int connected;    /* TCP connections made */
    int handshakes;   /* handshakes that succeeded */
    int no_detail;    /* handshakes cut short without a reason */
    int last_failure; /* last ZMQ_EVENT_HANDSHAKE_FAILED_* seen, 0: none */
    uint32_t last_value;
};

long long cli_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool cli_net_may_retry(const cli_opts_t *o, int attempts, long long started_ms, long long at_ms)
{
    return (o->retries == 0 || attempts < o->retries) && at_ms < started_ms + o->budget_ms;
}

void *cli_net_socket(void *ctx, const char *endpoint, const cli_opts_t *o)
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

int cli_net_request(void *ctx, const cli_opts_t *o, const void *data, size_t size, zmq_msg_t *reply)
{
    long long started = cli_net_now_ms();
    int attempts = 0;
    do {
        void *s = cli_net_socket(ctx, o->endpoint, NULL);
        if (!s)
            return 2;
        zmq_send(s, data, size, 0);
        attempts++;
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, o->timeout_ms) > 0) {
            zmq_msg_init(reply);
            int rc = zmq_msg_recv(reply, s, 0) >= 0 ? 0 : 3;
            if (rc != 0)
                zmq_msg_close(reply);
            zmq_close(s);
            if (rc == 0)
                return 0;
            break;
        }
        zmq_close(s);
    } while (cli_net_may_retry(o, attempts, started, cli_net_now_ms()));
    fprintf(stderr,
            "airguard: no answer from %s after %d attempts of %d ms.\n"
            "  Is the service running and is this its control endpoint? `make run` starts the\n"
            "  suite; --service NAME means the local default (127.0.0.1:71x0), --endpoint E\n"
            "  any other.\n",
            o->endpoint, attempts, o->timeout_ms);
    return 3;
}

cli_net_watch_t *cli_net_watch_new(void *ctx, const cli_opts_t *o)
{
    static int serial;
    cli_net_watch_t *w = calloc(1, sizeof *w);
    char inproc[64];
    if (!w)
        return NULL;
    w->curve = o->curve;
    snprintf(w->endpoint, sizeof w->endpoint, "%s", o->endpoint);
    if (o->curve)
        zmq_z85_encode(w->public, o->public_key, 32);
    snprintf(inproc, sizeof inproc, "inproc://airguard-watch-%d", serial++);
    w->sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (o->curve) {
        zmq_setsockopt(w->sock, ZMQ_CURVE_SERVERKEY, o->server_key, 32);
        zmq_setsockopt(w->sock, ZMQ_CURVE_PUBLICKEY, o->public_key, 32);
        zmq_setsockopt(w->sock, ZMQ_CURVE_SECRETKEY, o->secret_key, 32);
    }
    if (zmq_socket_monitor(w->sock, inproc,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(w->monitor = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(w->monitor, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(w->monitor, inproc) != 0 || zmq_connect(w->sock, o->endpoint) != 0) {
        fprintf(stderr, "airguard: cannot connect to %s: %s\n", o->endpoint,
                zmq_strerror(zmq_errno()));
        cli_net_watch_destroy(&w);
    }
    return w;
}

void cli_net_watch_destroy(cli_net_watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cli_net_watch_t *w = *self_p;
    if (w->sock) {
        zmq_socket_monitor(w->sock, NULL, 0);
        zmq_close(w->sock);
    }
    if (w->monitor)
        zmq_close(w->monitor);
    free(w);
    *self_p = NULL;
}

void *cli_net_watch_socket(cli_net_watch_t *w)
{
    return w->monitor;
}

/* Reads one monitor event (two frames: event number and value, address). */
static int s_read_event(cli_net_watch_t *w, uint16_t *event, uint32_t *value)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rc = -1;
    if (zmq_msg_recv(&m, w->monitor, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&m) >= 6) {
        memcpy(event, zmq_msg_data(&m), 2);
        memcpy(value, (const char *)zmq_msg_data(&m) + 2, 4);
        rc = 0;
    }
    while (zmq_msg_more(&m)) {
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->monitor, ZMQ_DONTWAIT) < 0)
            break;
    }
    zmq_msg_close(&m);
    return rc;
}

int cli_net_watch_check(cli_net_watch_t *w, char *why, size_t why_size)
{
    uint16_t event;
    uint32_t value;
    while (s_read_event(w, &event, &value) == 0) {
        if (event == ZMQ_EVENT_CONNECTED) {
            w->connected++;
            continue;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            w->handshakes++;
            continue;
        }
        w->last_failure = event;
        w->last_value = value;
        /* 400 is a refusal; 300 and 500 are the handler's temporary and
         * internal errors, which a retry may get past. */
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == 400) {
            snprintf(why, why_size,
                     "intake at %s refused this client's key (ZAP status %u): public key '%s' is "
                     "not in intake's allow-list. Add it there (airguard keygen printed the "
                     "entry) and restart intake, or use the key file of a listed client "
                     "(--key-file, AIRGUARD_KEY_FILE)",
                     w->endpoint, value, w->public);
            return 1;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
            value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
            if (!w->curve)
                snprintf(why, why_size,
                         "intake at %s requires CURVE and this CLI has no keys: set "
                         "AIRGUARD_SERVER_KEY_FILE (intake's public key; or --server-key-file, "
                         "--server-key, AIRGUARD_SERVER_KEY) and AIRGUARD_KEY_FILE (this "
                         "client's secret key; or --key-file). `make run` prints the export "
                         "line for its keys in var/keys",
                         w->endpoint);
            else
                snprintf(why, why_size,
                         "%s does not use CURVE (an intake in insecure test mode?) but this CLI "
                         "has keys: submit without --server-key(-file) and --key-file, with "
                         "AIRGUARD_SERVER_KEY(_FILE) unset",
                         w->endpoint);
            return 1;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && w->curve &&
            value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
            snprintf(why, why_size,
                     "the CURVE handshake with %s failed: the server key (--server-key-file, "
                     "AIRGUARD_SERVER_KEY_FILE) is not this intake's public key",
                     w->endpoint);
            return 1;
        }
        /* A handshake cut short proves nothing by itself: a wrong server
         * key looks like this, but so does intake restarting, or a proxy
         * (docker's) that accepts and then cannot reach it. It is named
         * after the timeout instead, by cli_net_watch_explain(). */
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            w->no_detail++;
    }
    return 0;
}

void cli_net_watch_explain(cli_net_watch_t *w, const char *endpoint, int attempts)
{
    char why[512];
    if (w && cli_net_watch_check(w, why, sizeof why)) {
        fprintf(stderr, "airguard: %s\n", why);
        return;
    }
    fprintf(stderr, "airguard: no answer from %s after %d attempts.\n", endpoint, attempts);
    if (!w)
        return;
    if (w->connected == 0)
        fprintf(stderr,
                "  No connection could be made: intake is not running, or not at this endpoint\n"
                "  (airguard health --service intake; --endpoint or AIRGUARD_SUBMIT_ENDPOINT).\n");
    else if (w->handshakes == 0 && w->curve && w->no_detail > 0)
        fprintf(stderr,
                "  Connections were made but every CURVE handshake was cut short (%d times): the\n"
                "  server key (--server-key-file, AIRGUARD_SERVER_KEY_FILE) is probably not this\n"
                "  intake's public key, or a proxy in between cannot reach intake.\n",
                w->no_detail);
    else if (w->handshakes == 0)
        fprintf(stderr, "  Connections were made but no handshake succeeded. Likely causes: %s\n",
                w->curve ? "the server key is not this intake's, or this client's key is not in "
                           "intake's allow-list (intake's log names refused keys)."
                         : "intake requires CURVE: set AIRGUARD_SERVER_KEY_FILE and "
                           "AIRGUARD_KEY_FILE.");
    else
        fprintf(stderr, "  Intake accepted the connection but did not answer in time: it may be\n"
                        "  overloaded or stopping (its log says); rerunning the same submit is\n"
                        "  safe, events already stored are acknowledged as duplicates.\n");
}
