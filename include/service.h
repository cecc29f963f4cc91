/* service.h - what every airguard service does the same way: read its YAML
 * configuration (with environment overrides for connection settings), log,
 * connect to its schema and migrate it, expose the control socket, publish
 * its stream and follow others, heartbeat, and stop cleanly on SIGTERM.
 *
 * A service's main() is then: service_open(); its own migrations; open the
 * producer and/or the consumer; register its control ops; service_run();
 * service_close().
 *
 * Configuration file (config/<service>.yaml): the keys every service has are
 * below; a service's own section is in its config/<service>.yaml:
 *
 *   instance: intake-1              # AIRGUARD_INSTANCE
 *   database:
 *     url: "postgresql:///airguard?host=/run/pg"   # AIRGUARD_DATABASE_URL
 *     user: airguard_intake         # AIRGUARD_DB_USER
 *                                   # password: AIRGUARD_DB_PASSWORD or
 *                                   #   AIRGUARD_DB_PASSWORD_FILE, never the file
 *   control: tcp://0.0.0.0:7100          # AIRGUARD_CONTROL_ENDPOINT
 *   publish: tcp://0.0.0.0:7101          # AIRGUARD_PUBLISH_ENDPOINT (producers)
 *   consumer: dispatch              # AIRGUARD_CONSUMER: the name offsets are kept
 *                                   #   under (default: the service's name). Two
 *                                   #   instances with one name never apply a
 *                                   #   message twice; give instances that split
 *                                   #   the work (by subdistrict) names of their own
 *   follow:                         # consumers: one entry per producer instance
 *     - stream: events.intake-1
 *       publish: tcp://intake:7101
 *       control: tcp://intake:7100
 *
 * The schema is the service's name; the default user airguard_<service>. */
#ifndef AIRGUARD_SERVICE_H
#define AIRGUARD_SERVICE_H

#include "clock.h"
#include "config.h"
#include "consumer.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "loop.h"
#include "outbox.h"
#include "producer.h"
#include "timer.h"

#define SERVICE_ENDPOINT_MAX 256

/* A due timer's handler: runs inside the firing transaction on conn, may
 * emit (service_emit) and set timers; returns like a message's apply
 * (APPLY_REJECT dead-letters the timer, APPLY_FAILED retries it later, up
 * to CONSUMER_MAX_FAILURES times). */
typedef consumer_apply_rc_t (*service_timer_fn)(void *arg, db_t *db, PGconn *conn,
                                                const timer_row_t *timer, err_t *why);

/* What a domain service plugs into the skeleton. Every transaction, whether
 * it applies messages or fires timers, runs: apply/fire for each input,
 * then flush, then the derived records are appended and the offsets stored,
 * then COMMIT, then on_commit(1) and the records are published; or, on any
 * failure, ROLLBACK and on_commit(0). */
typedef struct service_handlers {
    consumer_apply_fn apply;      /* a message of a followed stream (NULL: follows nothing) */
    service_timer_fn fire;        /* a due timer (NULL: sets no timers) */
    consumer_flush_fn flush;      /* may be NULL: write what apply/fire buffered */
    consumer_commit_fn on_commit; /* may be NULL: after COMMIT (1) or ROLLBACK (0) */
    void *arg;                    /* passed to each */
} service_handlers_t;

typedef struct service {
    char name[32];     /* "intake"; also the schema */
    char instance[64]; /* "intake-1"; names our stream */
    /* Key of our stream offsets; instances sharing it share progress. */
    char consumer_name[64];
    config_t *config; /* the whole file, for service sections */
    char control_endpoint[SERVICE_ENDPOINT_MAX];
    char publish_endpoint[SERVICE_ENDPOINT_MAX];    /* empty: publishes nothing */
    consumer_source_t follow[CONSUMER_MAX_SOURCES]; /* strings borrowed from config */
    size_t nfollow;
    void *zmq; /* the process's ZeroMQ context */
    loop_t *loop;
    aclock_t *clock; /* system, or manual under AIRGUARD_CLOCK */
    db_t *db;
    control_t *control;
    void *pub;                   /* PUB socket when publishing */
    producer_t *producer;        /* our stream, when publishing */
    consumer_t *consumer;        /* when following */
    service_handlers_t handlers; /* the domain's, once service_start() ran */
    outbox_t *outbox;            /* records derived in the open transaction */
    int timers_dirty;            /* the open transaction set or cancelled timers */
    int64_t next_due;            /* earliest timer, TIMER_NONE, or -1 when unknown */
    int64_t fire_retry_at;       /* monotonic ms before which firing waits (back-off) */
} service_t;

/* Parses argv (--config PATH, --help), loads the file, applies the
 * environment, initialises logging, the clock, the ZeroMQ context, the loop,
 * the database handle and the control socket. Returns 0, or -1 with err
 * naming the problem (file:line for configuration errors). On failure
 * service_close() still releases what was opened. *exit_now is set when
 * --help was printed. */
int service_open(service_t *svc, const char *name, int argc, char **argv, int *exit_now,
                 err_t *err);

/* Applies component's migrations, waiting (with back-off, logging) while the
 * database is unreachable. Returns 0, or -1 if a migration is broken or a
 * signal arrived. */
int service_migrate(service_t *svc, const char *component, const migration_t *migrations,
                    err_t *err);

/* Binds the PUB socket and creates the producer of stream "<topic>.<instance>". */
int service_open_producer(service_t *svc, const char *topic, err_t *err);

/* Plugs the domain in: follows every stream listed under follow: with
 * h->apply and fires timers with h->fire; the control ops "clock", "idle"
 * and "reset_stream" (docs/protocol.md section 6), registered by
 * service_open, act on them from then on. h is copied. */
int service_start(service_t *svc, const service_handlers_t *h, err_t *err);

/* Inside apply, fire or flush: derives a record of type for subdistrict
 * with body (one packed msgpack map), appended to our stream in the open
 * transaction and published after it commits (see outbox.h). Returns 0, or
 * -1 with err (no producer opened, bad type, out of memory). */
int service_emit(service_t *svc, const char *type, const char *subdistrict, const char *body,
                 size_t body_len, err_t *err);

/* Inside apply, fire or flush: sets (moves) or cancels a timer in the open
 * transaction; it fires when the service's clock reaches due_ms. */
db_rc_t service_timer_set(service_t *svc, const char *key, const char *kind, int64_t due_ms,
                          const char *payload, size_t payload_len, err_t *err);
db_rc_t service_timer_cancel(service_t *svc, const char *key, err_t *err);

/* The same for a whole batch at once (flush hook), with arrays (pgarray.h;
 * see timer_set_many()): one statement however many timers. */
db_rc_t service_timer_set_many(service_t *svc, pgarray_t *keys, pgarray_t *kinds, pgarray_t *dues,
                               err_t *err);
db_rc_t service_timer_cancel_many(service_t *svc, pgarray_t *keys, err_t *err);
/* New timers in bulk (timer_copy_new(): keys certainly not set). */
db_rc_t service_timer_copy_new(service_t *svc, pgarray_t *rows, err_t *err);

/* The service's idea of now (UTC ms): the system clock, or the manual one
 * a simulator drives. Domain functions take it as a parameter. */
int64_t service_now_ms(const service_t *svc);

/* Runs the loop (heartbeats included) until SIGTERM/SIGINT. */
int service_run(service_t *svc);

/* Releases everything; safe after a failed service_open(). */
void service_close(service_t *svc);

#endif
