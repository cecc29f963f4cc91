/* frames.h - reading and answering multipart ZeroMQ messages, bounded.
 *
 * Every socket that takes requests from peers it does not control reads
 * them the same way: one whole message at a time, keeping only its first
 * FRAMES_MAX frames (a peer cannot make us hold more), and on a ROUTER the
 * same shape rule: the peer's identity, the empty delimiter a REQ client
 * adds, then exactly one payload frame. Replies go back behind the same
 * routing frames; a request of the wrong shape is answered to the identity
 * alone, so the client's own frames are never echoed. */
#ifndef AIRGUARD_FRAMES_H
#define AIRGUARD_FRAMES_H

#include <stddef.h>
#include <zmq.h>

#define FRAMES_MAX 8

typedef struct frames {
    zmq_msg_t part[FRAMES_MAX]; /* the message's first frames, owned */
    int n;                      /* frames held in part */
    int total;                  /* frames the message had (more were discarded) */
} frames_t;

/* Reads one whole message from socket without waiting. Returns 1 when one
 * was read (release it with frames_close), 0 when none is waiting. */
int frames_recv(frames_t *f, void *socket);

/* Releases the frames; safe on an empty or closed frames_t. */
void frames_close(frames_t *f);

/* True when f, read on a ROUTER, is identity [+ empty delimiter] + one
 * payload frame. */
int frames_is_request(const frames_t *f);

/* The payload of a request: its last frame. */
const void *frames_payload(const frames_t *f, size_t *size);

/* Sends data to the peer of request: behind all its routing frames when
 * the request had the right shape, behind its identity alone otherwise.
 * Never waits. Returns 0, or -1 when the peer is gone (ROUTER_MANDATORY)
 * or the queue is full. */
int frames_reply(void *socket, const frames_t *request, const void *data, size_t size);

#endif
