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
#include "producer.h"

#define SERVICE_ENDPOINT_MAX 256

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
    void *pub;            /* PUB socket when publishing */
    producer_t *producer; /* our stream, when publishing */
    consumer_t *consumer; /* when following */
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

/* Follows every stream listed under follow: with apply (see consumer.h). */
int service_open_consumer(service_t *svc, consumer_apply_fn apply, consumer_commit_fn on_commit,
                          void *arg, err_t *err);

/* Runs the loop (heartbeats included) until SIGTERM/SIGINT. */
int service_run(service_t *svc);

/* Releases everything; safe after a failed service_open(). */
void service_close(service_t *svc);

#endif
