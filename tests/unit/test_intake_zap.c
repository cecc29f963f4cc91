/* test_intake_zap.c - the ZAP handler (common/zap.c) as intake uses it,
 * over real TCP connections on loopback (inproc skips security
 * altogether): a socket with a ZAP domain refuses NULL clients (a submit
 * socket whose CURVE setup failed must not let anyone in), a socket
 * without one still takes them (the suite's internal sockets), and on a
 * CURVE server an allowed key is named by its source, an unknown key
 * refused. */
#include <stdbool.h>
#include <stdlib.h>
#include <zmq.h>

#include "check.h"
#include "log.h"
#include "zap.h"

#define DOMAIN "intake"

static uint8_t allowed_pub[32];

/* intake's rule: a known key in intake's domain, named "patrol-app". */
static int decide(void *arg, const char *domain, const uint8_t key[32], char *user_id, size_t cap)
{
    (void)arg;
    if (strcmp(domain, DOMAIN) != 0 || memcmp(key, allowed_pub, 32) != 0)
        return -1;
    snprintf(user_id, cap, "patrol-app");
    return 0;
}

typedef struct probe {
    int received;     /* messages that reached the server */
    char user_id[64]; /* the last one's User-Id, "" when none */
} probe_t;

static int on_server(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    probe_t *p = arg;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, socket, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more(&m)) {
            const char *uid = zmq_msg_gets(&m, "User-Id");
            snprintf(p->user_id, sizeof p->user_id, "%s", uid ? uid : "");
            p->received++;
        }
        zmq_msg_close(&m);
        zmq_msg_init(&m);
    }
    zmq_msg_close(&m);
    return 0;
}

static int on_timer(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop);
    return 0;
}

typedef struct client_keys {
    bool curve;
    uint8_t server_pub[32], pub[32], sec[32];
} client_keys_t;

/* Binds a ROUTER (with domain and server secret when given) on a loopback
 * port, connects a DEALER (CURVE when keys->curve), sends one message and
 * runs the loop for a moment. Returns what the server saw. */
static probe_t s_try(void *ctx, loop_t *loop, const char *domain, const uint8_t *server_sec,
                     const client_keys_t *keys)
{
    probe_t p = {0, ""};
    int one = 1, zero = 0;
    char endpoint[128];
    size_t len = sizeof endpoint;
    void *server = zmq_socket(ctx, ZMQ_ROUTER), *client = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(server, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(client, ZMQ_LINGER, &zero, sizeof zero);
    if (server_sec) {
        CHECK(zmq_setsockopt(server, ZMQ_CURVE_SERVER, &one, sizeof one) == 0);
        CHECK(zmq_setsockopt(server, ZMQ_CURVE_SECRETKEY, server_sec, 32) == 0);
    }
    if (domain)
        CHECK(zmq_setsockopt(server, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0);
    if (keys && keys->curve) {
        zmq_setsockopt(client, ZMQ_CURVE_SERVERKEY, keys->server_pub, 32);
        zmq_setsockopt(client, ZMQ_CURVE_PUBLICKEY, keys->pub, 32);
        zmq_setsockopt(client, ZMQ_CURVE_SECRETKEY, keys->sec, 32);
    }
    CHECK(zmq_bind(server, "tcp://127.0.0.1:*") == 0);
    zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &len);
    CHECK(zmq_connect(client, endpoint) == 0);
    zmq_send(client, "hello", 5, ZMQ_DONTWAIT);
    loop_add_reader(loop, server, on_server, &p);
    loop_run(loop);
    loop_remove_reader(loop, server);
    zmq_close(client);
    zmq_close(server);
    return p;
}

static void *ctx;
static loop_t *loop;
static zap_t *zap;

static void test_null_refused_in_a_domain(void)
{
    uint64_t ok0, refused0, ok1, refused1;
    zap_counts(zap, &ok0, &refused0);
    probe_t p = s_try(ctx, loop, DOMAIN, NULL, NULL);
    zap_counts(zap, &ok1, &refused1);
    CHECKF(p.received == 0, "a NULL client got %d messages through", p.received);
    CHECK(refused1 > refused0);
}

static void test_null_without_domain(void)
{
    probe_t p = s_try(ctx, loop, NULL, NULL, NULL);
    CHECK(p.received == 1);
}

static void test_curve(void)
{
    char spub[41], ssec[41], cpub[41], csec[41], xpub[41], xsec[41];
    uint8_t server_sec[32];
    client_keys_t allowed = {.curve = true}, stranger = {.curve = true};
    CHECK(zmq_curve_keypair(spub, ssec) == 0 && zmq_curve_keypair(cpub, csec) == 0 &&
          zmq_curve_keypair(xpub, xsec) == 0);
    zmq_z85_decode(server_sec, ssec);
    zmq_z85_decode(allowed.server_pub, spub);
    zmq_z85_decode(allowed.pub, cpub);
    zmq_z85_decode(allowed.sec, csec);
    memcpy(allowed_pub, allowed.pub, 32);
    memcpy(stranger.server_pub, allowed.server_pub, 32);
    zmq_z85_decode(stranger.pub, xpub);
    zmq_z85_decode(stranger.sec, xsec);
    probe_t p = s_try(ctx, loop, DOMAIN, server_sec, &allowed);
    CHECK(p.received == 1 && !strcmp(p.user_id, "patrol-app"));
    p = s_try(ctx, loop, DOMAIN, server_sec, &stranger);
    CHECK(p.received == 0);
    /* the right key in another domain is not intake's client */
    p = s_try(ctx, loop, "other", server_sec, &allowed);
    CHECK(p.received == 0);
}

int main(void)
{
    err_t err;
    setenv("AIRGUARD_LOG_LEVEL", "error", 1); /* the refusals are expected */
    log_init("test_intake_zap", "1");
    if (!zmq_has("curve")) {
        fprintf(stderr, "libzmq without CURVE: cannot test\n");
        return 2;
    }
    ctx = zmq_ctx_new();
    loop = loop_new();
    if (!ctx || !loop || !(zap = zap_new(ctx, loop, decide, NULL, &err)) ||
        loop_add_timer(loop, 300, on_timer, NULL) < 0) {
        fprintf(stderr, "setup failed: %s\n", err.msg);
        return 2;
    }
    RUN(test_null_refused_in_a_domain);
    RUN(test_null_without_domain);
    RUN(test_curve);
    zap_destroy(&zap);
    loop_destroy(&loop);
    zmq_ctx_term(ctx);
    return check_summary();
}
