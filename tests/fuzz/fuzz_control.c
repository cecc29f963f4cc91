/* fuzz_control.c - the control socket's request decoder: the payload frame
 * of a request, answered through control_handle() exactly as the socket
 * answers it, built-in ops included (health against a database that is
 * not there, replay of a stream not produced here).
 *
 * Promise checked for every input: the reply is exactly one msgpack map
 * with a boolean "ok", and a refusal carries a code. */
#include <string.h>
#include <zmq.h>

#include "control.h"
#include "envelope.h"
#include "fuzz.h"
#include "mp.h"

static control_t *ctl;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    err_t err;
    void *zmq = zmq_ctx_new();
    loop_t *loop = loop_new();
    /* A unix socket that does not exist: connecting fails at once, then
     * waits out its back-off, so health answers "down" without delay. */
    db_t *db = db_new("host=/nonexistent/airguard-fuzz dbname=none connect_timeout=1", "fuzz", NULL,
                      "fuzz", "fuzz_control");
    if (!zmq || !loop || !db ||
        !(ctl = control_new(zmq, loop, "inproc://fuzz-control", "fuzz", "fuzz-1", db, &err))) {
        fprintf(stderr, "fuzz_control: cannot set up the control socket\n");
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    const char *reply = control_handle(ctl, data, size, &n);
    msgpack_unpacked u;
    size_t off = 0;
    err_t err;
    msgpack_unpacked_init(&u);
    FUZZ_REQUIRE(mpscan_check(reply, n, &err) == 0, "reply: %s", err.msg);
    FUZZ_REQUIRE(msgpack_unpack_next(&u, reply, n, &off) == MSGPACK_UNPACK_SUCCESS && off == n &&
                     u.data.type == MSGPACK_OBJECT_MAP,
                 "reply is not one msgpack map");
    const msgpack_object *ok = mp_get(&u.data, "ok");
    FUZZ_REQUIRE(ok && ok->type == MSGPACK_OBJECT_BOOLEAN, "reply without a boolean 'ok'");
    FUZZ_REQUIRE(ok->via.boolean || mp_get(&u.data, "code"), "refusal without a code");
    msgpack_unpacked_destroy(&u);
    return 0;
}
