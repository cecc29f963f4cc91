/* stream_producer.c - the test producer of the stream-contract tests: a
 * minimal intake that accepts any well-formed envelope on a ROUTER socket,
 * group-commits it to its stream "test.<instance>" and acknowledges after
 * the commit. It uses exactly the library code the real services use
 * (service, ingest, producer), so killing it with SIGKILL tests them. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "ingest.h"
#include "log.h"
#include "service.h"

int main(int argc, char **argv)
{
    service_t svc;
    err_t err;
    int exit_now = 0, rc = 1;
    void *router = NULL;
    ingest_server_t *door = NULL;
    const char *submit = NULL;

    if (service_open(&svc, "streamprod", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    const config_node_t *own = NULL;
    if (config_map(config_root(svc.config), "streamprod", &own, &err) != 0 ||
        config_string(own, "submit", &submit, &err) != 0 ||
        service_migrate(&svc, "stream", stream_migrations, &err) != 0 ||
        service_open_producer(&svc, "test", &err) != 0)
        goto fail;
    router = zmq_socket(svc.zmq, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (ingest_socket_options(router) != 0 || zmq_bind(router, submit) != 0) {
        err_set(&err, "cannot bind %s: %s", submit, zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (!(door = ingest_server_new(svc.loop, router, svc.producer, svc.db, NULL, NULL, NULL, &err)))
        goto fail;
    rc = service_run(&svc) == 0 ? 0 : 1;
    goto out;
fail:
    log_error("cannot start", LF_STR("error", err.msg));
out:
    ingest_server_destroy(&door);
    if (router)
        zmq_close(router);
    service_close(&svc);
    return rc;
}
