/* sockopt.h - ZeroMQ socket options every long-lived connection needs.
 *
 * A TCP connection whose peer vanished (host lost, network partition, a
 * NAT entry expired) stays open and silent forever unless something probes
 * it: a SUB socket would then wait for messages that never come. ZMTP
 * heartbeats (and TCP keepalive under them) make ZeroMQ notice within
 * seconds, drop the connection and reconnect. */
#ifndef AIRGUARD_SOCKOPT_H
#define AIRGUARD_SOCKOPT_H

#define SOCKOPT_HEARTBEAT_IVL_MS 1000
#define SOCKOPT_HEARTBEAT_TIMEOUT_MS 5000

/* Sets LINGER 0, ZMTP heartbeats and TCP keepalive on socket. Returns 0, or
 * -1 if ZeroMQ refused an option (errno says why). */
int sockopt_liveness(void *socket);

#endif
