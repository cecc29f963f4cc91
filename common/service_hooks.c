/* service_hooks.c - consume-and-produce: the hooks every transaction of a
 * service runs through, whether it applies messages (the consumer calls
 * them) or fires timers (service_timers.c). They name the cause of what the
 * domain derives, append the derived records in the transaction that
 * stores the inputs' offsets, and publish or drop them once it has ended;
 * plus service_emit() and the service's clock the records are stamped with. */
#include "service_internal.h"

int64_t service_now_ms(const service_t *svc)
{
    return aclock_wall_ms(svc->clock);
}

int service_emit(service_t *svc, const char *type, const char *subdistrict, const char *body,
                 size_t body_len, err_t *err)
{
    if (!svc->producer) {
        err_set(err, "emit %s: this service publishes no stream (key 'publish')", type);
        return -1;
    }
    return outbox_add(svc->outbox, type, subdistrict, svc->instance, service_now_ms(svc), body,
                      body_len, err);
}

/* The consumer's apply: names the cause of what the domain derives. */
consumer_apply_rc_t service_hooks_apply(void *arg, db_t *db, PGconn *conn, const char *stream,
                                        const stream_record_t *rec, const envelope_t *env,
                                        err_t *why)
{
    service_t *svc = arg;
    outbox_cause(svc->outbox, stream, rec->seq);
    return svc->handlers.apply(svc->handlers.arg, db, conn, stream, rec, env, why);
}

/* Before every COMMIT: the domain's buffered writes, then the derived
 * records, in the same transaction as the inputs' offsets. */
db_rc_t service_hooks_flush(void *arg, db_t *db, PGconn *conn, err_t *err)
{
    service_t *svc = arg;
    if (svc->handlers.flush) {
        db_rc_t rc = svc->handlers.flush(svc->handlers.arg, db, conn, err);
        if (rc != DB_OK)
            return rc;
    }
    if (outbox_count(svc->outbox) == 0)
        return DB_OK;
    return outbox_append(svc->outbox, svc->producer, err);
}

/* After COMMIT or ROLLBACK: publish or drop what was derived. */
void service_hooks_after(void *arg, int committed)
{
    service_t *svc = arg;
    if (svc->handlers.on_commit)
        svc->handlers.on_commit(svc->handlers.arg, committed);
    if (committed) {
        outbox_committed(svc->outbox, svc->producer);
        if (svc->timers_dirty)
            service_timers_refresh_next_due(svc);
    } else {
        outbox_discard(svc->outbox, svc->producer);
    }
    svc->timers_dirty = 0;
}
