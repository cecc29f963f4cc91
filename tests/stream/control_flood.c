/* control_flood.c - floods a control socket with one request, keeping
 * --inflight requests outstanding on one DEALER socket, until --count
 * replies came, --seconds passed or SIGTERM/SIGINT arrived; then prints
 * "replies=N ok=N failed=N seconds=S rate=R". For the tests and benchmark
 * that check a flood of control requests cannot hold up submits.
 *
 *   control_flood --endpoint tcp://127.0.0.1:7100 --request '{"op":"health"}'
 *                 [--inflight 64] [--count N] [--seconds S] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "mp.h"
#include "mpjson.h"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *request = NULL;
    long inflight = 64, count = 0, seconds = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--endpoint"))
            endpoint = argv[i + 1];
        else if (!strcmp(argv[i], "--request"))
            request = argv[i + 1];
        else if (!strcmp(argv[i], "--inflight"))
            inflight = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--count"))
            count = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atol(argv[i + 1]);
        else
            endpoint = NULL;
    }
    if (!endpoint || !request || inflight < 1 || (argc % 2) != 1) {
        fprintf(stderr, "usage: control_flood --endpoint E --request JSON [--inflight K]"
                        " [--count N] [--seconds S]\n");
        return 2;
    }
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
    err_t err;
    if (mpjson_parse(request, strlen(request), &pk, &err) != 0) {
        fprintf(stderr, "control_flood: --request: %s\n", err.msg);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_connect(sock, endpoint);
    long sent = 0, replies = 0, ok = 0;
    int64_t start = aclock_system_mono_ms();
    while (!s_stop && (count <= 0 || replies < count) &&
           (seconds <= 0 || aclock_system_mono_ms() - start < seconds * 1000)) {
        while (sent - replies < inflight && (count <= 0 || sent < count) &&
               zmq_send(sock, req.data, req.size, ZMQ_DONTWAIT) >= 0)
            sent++;
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) < 0 && errno != EINTR)
            break;
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0) {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            if (msgpack_unpack_next(&u, zmq_msg_data(&m), zmq_msg_size(&m), NULL) ==
                MSGPACK_UNPACK_SUCCESS) {
                const msgpack_object *o = mp_get(&u.data, "ok");
                ok += o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
            }
            msgpack_unpacked_destroy(&u);
            replies++;
        }
        zmq_msg_close(&m);
    }
    double secs = (double)(aclock_system_mono_ms() - start) / 1000.0;
    printf("replies=%ld ok=%ld failed=%ld seconds=%.3f rate=%.0f\n", replies, ok, replies - ok,
           secs, secs > 0 ? replies / secs : 0.0);
    fflush(stdout);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    msgpack_sbuffer_destroy(&req);
    return 0;
}
