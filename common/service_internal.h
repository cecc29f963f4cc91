/* service_internal.h - what the files of the service skeleton share and no
 * caller sees: service.c (open, run, close, service_start), service_hooks.c
 * (consume-and-produce), service_timers.c (deadlines) and service_ops.c
 * (control ops). It lives in common/, not include/, so that a service can
 * only use the skeleton through include/service.h. */
#ifndef AIRGUARD_SERVICE_INTERNAL_H
#define AIRGUARD_SERVICE_INTERNAL_H

#include "service.h"

/* How often the loop compares the clock with the next timer (ms). */
#define SERVICE_FIRE_TICK_MS 100

/* service_hooks.c: the consumer's hooks (consumer_hooks_t, arg the
 * service_t) around the domain's handlers; the timer path calls flush and
 * after itself, so both kinds of transaction end the same way. */
consumer_apply_rc_t service_hooks_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                        const stream_record_t *rec, const envelope_t *env,
                                        err_t *why);
db_rc_t service_hooks_flush(void *arg, db_t *db, PGconn *conn, err_t *err);
void service_hooks_after(void *arg, int committed);

/* service_timers.c: svc->next_due read again from the database (-1 when it
 * cannot be); what is due fired now, a bounded number of transactions; the
 * loop timer (arg the service_t) that calls it every SERVICE_FIRE_TICK_MS. */
void service_timers_refresh_next_due(service_t *svc);
void service_timers_fire_due(service_t *svc);
int service_timers_on_tick(loop_t *loop, void *arg);

/* service_ops.c: registers the control ops clock, idle and reset_stream on
 * svc->control. Returns 0, or -1 with err if a name is already taken. */
int service_ops_register(service_t *svc, err_t *err);

#endif
