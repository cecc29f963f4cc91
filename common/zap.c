/* zap.c - the ZAP handler; see include/zap.h.
 *
 * Wire form (RFC 27), request frames from libzmq on the REP socket:
 *   "1.0", request id, domain, address, routing id, mechanism, credentials...
 *   (CURVE: one credential frame, the client's 32-byte public key)
 * reply frames:
 *   "1.0", request id, status code ("200" / "400"), status text, user id,
 *   metadata (empty). */
#include "zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "frames.h"
#include "log.h"

#define ZAP_FIELD_MAX 256

struct zap {
    void *rep;       /* REP bound at ZAP_ENDPOINT */
    loop_t *loop;    /* borrowed */
    zap_curve_fn fn; /* the decision on CURVE clients */
    void *arg;       /* for fn */
    uint64_t accepted;
    uint64_t refused;
};

static int s_on_request(loop_t *loop, void *socket, void *arg);

zap_t *zap_new(void *zmq_ctx, loop_t *loop, zap_curve_fn fn, void *arg, err_t *err)
{
    zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    self->rep = zmq_socket(zmq_ctx, ZMQ_REP);
    int zero = 0;
    if (self->rep)
        zmq_setsockopt(self->rep, ZMQ_LINGER, &zero, sizeof zero);
    if (!self->rep || zmq_bind(self->rep, ZAP_ENDPOINT) != 0) {
        err_set(err, "ZAP handler: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        zap_destroy(&self);
        return NULL;
    }
    if (loop_add_reader(loop, self->rep, s_on_request, self) != 0) {
        err_set(err, "event loop is full");
        zap_destroy(&self);
        return NULL;
    }
    return self;
}

void zap_destroy(zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zap_t *self = *self_p;
    if (self->rep) {
        loop_remove_reader(self->loop, self->rep);
        zmq_close(self->rep);
    }
    free(self);
    *self_p = NULL;
}

void zap_counts(const zap_t *self, uint64_t *accepted, uint64_t *refused)
{
    *accepted = self->accepted;
    *refused = self->refused;
}

void zap_key_text(const uint8_t key[32], char out[41])
{
    if (!zmq_z85_encode(out, key, 32))
        snprintf(out, 41, "(unencodable)");
}

/* Copies frame i (as text) into out; "" when absent or too long. */
static void s_text(zmq_msg_t *frames, int n, int i, char *out, size_t cap)
{
    out[0] = '\0';
    if (i >= n || zmq_msg_size(&frames[i]) >= cap)
        return;
    memcpy(out, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
    out[zmq_msg_size(&frames[i])] = '\0';
}

static void s_send_str(void *socket, const char *s, int more)
{
    zmq_send(socket, s, strlen(s), more ? ZMQ_SNDMORE : 0);
}

/* Answers one request; a REP socket must answer every request it reads,
 * even a garbled one, or it stops receiving. */
static void s_answer(zap_t *self, zmq_msg_t *frames, int n)
{
    char version[8], request_id[ZAP_FIELD_MAX], domain[ZAP_FIELD_MAX], address[ZAP_FIELD_MAX],
        mechanism[16], user[ZAP_USER_ID_MAX + 1] = "";
    s_text(frames, n, 0, version, sizeof version);
    s_text(frames, n, 1, request_id, sizeof request_id);
    s_text(frames, n, 2, domain, sizeof domain);
    s_text(frames, n, 3, address, sizeof address);
    s_text(frames, n, 5, mechanism, sizeof mechanism);
    const char *status = "400", *text = "refused";
    if (strcmp(version, "1.0") != 0) {
        text = "unsupported ZAP version";
    } else if (strcmp(mechanism, "NULL") == 0 && domain[0] == '\0') {
        status = "200";
        text = "OK";
    } else if (strcmp(mechanism, "NULL") == 0) {
        /* A socket that names a domain asked for authentication: a NULL
         * client there means CURVE was not set up on it, and must not pass. */
        text = "NULL mechanism not allowed in this domain";
        log_warn("client refused: no authentication in a secured domain", LF_STR("domain", domain),
                 LF_STR("address", address));
    } else if (strcmp(mechanism, "CURVE") == 0 && n >= 7 && zmq_msg_size(&frames[6]) == 32) {
        const uint8_t *key = zmq_msg_data(&frames[6]);
        if (self->fn(self->arg, domain, key, user, sizeof user) == 0 && user[0]) {
            status = "200";
            text = "OK";
        } else {
            char z85[41];
            zap_key_text(key, z85);
            user[0] = '\0';
            text = "client key not allowed";
            log_warn("client refused: key not in the allow-list", LF_STR("key", z85),
                     LF_STR("address", address), LF_STR("domain", domain));
        }
    } else {
        log_warn("client refused: mechanism not allowed", LF_STR("mechanism", mechanism),
                 LF_STR("address", address));
    }
    if (status[0] == '2' && strcmp(mechanism, "CURVE") == 0)
        self->accepted++;
    else if (status[0] != '2')
        self->refused++;
    s_send_str(self->rep, "1.0", 1);
    s_send_str(self->rep, request_id, 1);
    s_send_str(self->rep, status, 1);
    s_send_str(self->rep, text, 1);
    s_send_str(self->rep, user, 1);
    s_send_str(self->rep, "", 0);
}

static int s_on_request(loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    zap_t *self = arg;
    frames_t req;
    for (int budget = 0; budget < 100 && frames_recv(&req, socket); budget++) {
        s_answer(self, req.part, req.n);
        frames_close(&req);
    }
    return 0;
}
