/* cli_net.h - the CLI's side of the wire: its options, sockets, one control
 * request with the Lazy Pirate retries of docs/protocol.md section 4, and a
 * watch on the connection to intake's submit endpoint that tells the
 * operator at once why nothing can work (no CURVE keys for a CURVE
 * endpoint, a server key that is not intake's, a client key intake's
 * allow-list does not know) instead of letting retries run out. */
#ifndef AIRGUARD_CLI_NET_H
#define AIRGUARD_CLI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define CLI_MAX_CLIENTS 64

typedef struct cli_opts {
    const char *endpoint;   /* where to send */
    int timeout_ms;         /* per attempt */
    int budget_ms;          /* per request, from its first send: no attempt starts later */
    int retries;            /* at most this many attempts per request; 0: as the budget allows */
    int clients;            /* concurrent submitters */
    bool curve;             /* submit over CURVE with the keys below */
    uint8_t server_key[32]; /* intake's public key */
    uint8_t public_key[32]; /* ours, derived from secret_key */
    uint8_t secret_key[32]; /* ours, from --key-file */
} cli_opts_t;

/* Monotonic milliseconds. */
long long cli_net_now_ms(void);

/* Whether a request first sent at started_ms, tried attempts times, may be
 * sent again at time at_ms. */
bool cli_net_may_retry(const cli_opts_t *o, int attempts, long long started_ms, long long at_ms);

/* A DEALER connected to endpoint, over CURVE when o is given and says so.
 * NULL (message printed) when the endpoint is not valid. */
void *cli_net_socket(void *ctx, const char *endpoint, const cli_opts_t *o);

/* One control request to o->endpoint (never CURVE), retried on a fresh
 * socket while o's budget allows. Returns 0 with the reply in *reply (the
 * caller closes it), 3 when no answer came (the likely causes are printed
 * on stderr) or 2 when the endpoint is not valid. */
int cli_net_request(void *ctx, const cli_opts_t *o, const void *data, size_t size,
                    zmq_msg_t *reply);

/* The watch on a submit endpoint: one extra connection made with the
 * submit's security settings, whose ZeroMQ monitor events say how far a
 * connection gets (nothing listening, handshake refused, accepted). */
typedef struct cli_net_watch cli_net_watch_t;

/* Connects the watch; NULL (message printed) when that fails. */
cli_net_watch_t *cli_net_watch_new(void *ctx, const cli_opts_t *o);
void cli_net_watch_destroy(cli_net_watch_t **self_p);

/* The socket to poll for the watch's events (ZMQ_POLLIN). */
void *cli_net_watch_socket(cli_net_watch_t *w);

/* Reads the pending events. Returns 1 when they prove the submit cannot
 * succeed as configured, with why naming the cause and the settings to
 * change; 0 otherwise. */
int cli_net_watch_check(cli_net_watch_t *w, char *why, size_t why_size);

/* Prints, after a submit got no answer, what the watch saw and the likely
 * causes. */
void cli_net_watch_explain(cli_net_watch_t *w, const char *endpoint, int attempts);

#endif
