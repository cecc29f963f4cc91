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

/* Bytes CURVE adds to every frame on the wire: each frame travels inside a
 * MESSAGE command ("\x07MESSAGE" 8, nonce 8, MAC 16, flags 1), and
 * ZMQ_MAXMSGSIZE counts that command, not the frame the application sent.
 * A CURVE socket adds this to its limit so that the bound a client sees is
 * the same as without CURVE. */
#define SOCKOPT_CURVE_OVERHEAD 33

/* Sets LINGER 0, ZMTP heartbeats and TCP keepalive on socket. Returns 0, or
 * -1 if ZeroMQ refused an option (errno says why). */
int sockopt_liveness(void *socket);

#endif
