/* control.h - the request/reply socket every service exposes for health,
 * version, stream positions and replay, extended by each service with its
 * own read-only queries (the CLI, dashboards and Docker health checks use
 * it; consumers of a producer's stream send their replay requests here).
 *
 * A ROUTER socket: REQ and DEALER clients both work. A request is one
 * msgpack map with an "op" string; the reply is one msgpack map with "ok"
 * true, or "ok" false plus "code" and "error" (docs/protocol.md lists the
 * codes). Built-in ops:
 *   health   {"ok", "service", "instance", "version", "db": "up"|"down"}
 *            ok is false (code E_UNAVAILABLE) while the database is down
 *   version  {"ok", "version"}
 *   streams  {"ok", "produced": [{"stream", "last_seq"}],
 *                   "consumed": [{"stream", "applied", "head", "dead_letters"}]}
 *            (dead_letters left out while the database cannot say)
 *   replay   see streamwire.h
 *   dead_letters {"stream"?, "after"?, "max"?} -> {"ok", "dead_letters": [{"id",
 *            "consumer", "stream", "seq", "msg_id", "type", "reason", "at"}],
 *            "failing": [{"consumer", "stream", "seq", "failures", "last_error",
 *            "at"}], "more"}: read-only, see docs/protocol.md section 6
 *
 * The socket shares the service's event loop with its submits and streams,
 * so a flood of requests must not hold those up. Two rules see to it: the
 * control socket has a database connection of its own (health and replay
 * never sit on, or wait behind, the connection that stores submits), and a
 * per-turn budget: each turn of the loop answers at most
 * CONTROL_TURN_REQUESTS requests or CONTROL_TURN_BYTES of replies (at least
 * one request), leaving the rest queued in the socket for the next turn.
 * Within one turn the health check's round trip is made once and its answer
 * shared by every health request of the turn. */
#ifndef AIRGUARD_CONTROL_H
#define AIRGUARD_CONTROL_H

#include <msgpack.h>

#include "consumer.h"
#include "db.h"
#include "err.h"
#include "loop.h"
#include "producer.h"

#define CONTROL_REQUEST_MAX (64u * 1024u)
#define CONTROL_MAX_HANDLERS 32
#define CONTROL_TURN_REQUESTS 16
#define CONTROL_TURN_BYTES (1024u * 1024u)

#ifndef AIRGUARD_VERSION
#define AIRGUARD_VERSION "0.1.0"
#endif

typedef struct control control_t;

/* Packs the whole reply map for request into reply. Must pack exactly one
 * map; control_pack_error() is one. */
typedef void (*control_handler_fn)(void *arg, const msgpack_object *request, msgpack_packer *reply);

/* Binds a ROUTER socket at endpoint and registers it with loop. service and
 * instance are copied; db is the control socket's own connection handle
 * (health, replay; give it the service's settings, not its db_t): control
 * owns it from here on, also when this fails. Returns NULL with err if the
 * endpoint cannot be bound. */
control_t *control_new(void *zmq_ctx, loop_t *loop, const char *endpoint, const char *service,
                       const char *instance, db_t *db, err_t *err);
void control_destroy(control_t **self_p);

/* Adds an op; returns -1 if the table is full or op is taken. */
int control_add_handler(control_t *ctl, const char *op, control_handler_fn fn, void *arg);

/* Makes the control socket serve replay of p's stream and report it. */
void control_add_producer(control_t *ctl, producer_t *p);

/* Reports c's positions under "streams". */
void control_add_consumer(control_t *ctl, consumer_t *c);

/* Counters of the control socket, for stats and tests. */
typedef struct control_stats {
    uint64_t requests;      /* requests answered */
    uint64_t turns;         /* loop turns that found the socket readable */
    uint64_t budget_stops;  /* turns that stopped at the budget, leaving requests queued */
    uint64_t max_per_turn;  /* most requests answered in one turn */
    uint64_t health_checks; /* database round trips made for health requests */
} control_stats_t;
void control_stats(const control_t *ctl, control_stats_t *out);

/* Answers one request payload exactly as the socket would, without a
 * socket (tests/fuzz drives the request decoder through it). The reply is
 * one msgpack map, borrowed from ctl until its next request. */
const char *control_handle(control_t *ctl, const void *data, size_t size, size_t *reply_size);

/* Packs {"ok":false, "code":code, "field":field (omitted when NULL), "error":message}. */
void control_pack_error(msgpack_packer *pk, const char *code, const char *field,
                        const char *message);

/* The same, with "id": the id of the message the error is about (for
 * clients with several requests in flight); NULL leaves it out. */
void control_pack_error_id(msgpack_packer *pk, const char *code, const char *field,
                           const char *message, const char *id);

/* Packs a NUL-terminated string (a convenience for handlers). */
void control_pack_str(msgpack_packer *pk, const char *s);

#endif
