/* sockopt.c - liveness options for ZeroMQ sockets; see include/sockopt.h. */
#include "sockopt.h"

#include <zmq.h>

int sockopt_liveness(void *socket)
{
    int zero = 0, one = 1, ivl = SOCKOPT_HEARTBEAT_IVL_MS, timeout = SOCKOPT_HEARTBEAT_TIMEOUT_MS;
    int idle = 10, intvl = 5, count = 3;
    if (zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(socket, ZMQ_TCP_KEEPALIVE, &one, sizeof one) != 0 ||
        zmq_setsockopt(socket, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle) != 0 ||
        zmq_setsockopt(socket, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl) != 0 ||
        zmq_setsockopt(socket, ZMQ_TCP_KEEPALIVE_CNT, &count, sizeof count) != 0)
        return -1;
    return 0;
}
