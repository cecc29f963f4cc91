/* zap.h - a ZAP handler (ZeroMQ RFC 27) served from the service's own
 * event loop, so that a CURVE server socket authenticates its clients.
 *
 * Why: a CURVE server without a ZAP handler accepts every client that
 * knows the server's public key. With this handler bound, libzmq asks it
 * about every new connection of every socket in the same ZeroMQ context:
 *   - CURVE: the callback decides on the client's long-term public key and
 *     names the client; that name reaches the application as the "User-Id"
 *     property of every message the client sends (zmq_msg_gets());
 *   - NULL: accepted only on sockets that set no ZAP domain (the suite's
 *     internal control and PUB sockets use no security); refused on a
 *     socket with a domain, such as intake's submit socket: there it could
 *     only mean that CURVE failed to be set up, and must not let anyone in;
 *   - PLAIN and anything else: refused.
 *
 * Create it before binding the CURVE socket: libzmq only consults a handler
 * that exists when the connection is made. One handler per context (it
 * binds inproc://zeromq.zap.01). The handler answers from loop callbacks,
 * so it needs no thread and no locks. */
#ifndef AIRGUARD_ZAP_H
#define AIRGUARD_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "loop.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_USER_ID_MAX 63

typedef struct zap zap_t;

/* Decides on a CURVE client connecting to a socket of ZAP domain `domain`
 * with long-term public key `key`. Returns 0 to accept, writing the
 * client's name into user_id (cap bytes, NUL-terminated, non-empty); -1 to
 * refuse. */
typedef int (*zap_curve_fn)(void *arg, const char *domain, const uint8_t key[32], char *user_id,
                            size_t cap);

/* Binds the handler in zmq_ctx and registers it with loop; fn and arg are
 * borrowed. Returns NULL with err when the endpoint is taken or the loop is
 * full. */
zap_t *zap_new(void *zmq_ctx, loop_t *loop, zap_curve_fn fn, void *arg, err_t *err);

/* Unregisters, closes and frees; sets *self_p to NULL; safe twice. */
void zap_destroy(zap_t **self_p);

/* Connections accepted and refused so far (for the control socket). */
void zap_counts(const zap_t *self, uint64_t *accepted, uint64_t *refused);

/* Z85 text (41 bytes with the NUL) of a 32-byte key, for logs. */
void zap_key_text(const uint8_t key[32], char out[41]);

#endif
