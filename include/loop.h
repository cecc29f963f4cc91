/* loop.h - the event loop every service runs: poll ZeroMQ sockets, call the
 * handler of each readable one, fire timers, stop on SIGTERM/SIGINT.
 *
 * The loop knows nothing of the protocol; modules register callbacks. It is
 * single-threaded: handlers run one at a time, so service state needs no
 * locks. Timers are on the monotonic clock and fire at most once per turn. */
#ifndef AIRGUARD_LOOP_H
#define AIRGUARD_LOOP_H

#include <stdint.h>

typedef struct loop loop_t;

/* A handler returns 0 to go on, -1 to stop the loop. */
typedef int (*loop_reader_fn)(loop_t *loop, void *socket, void *arg);
typedef int (*loop_timer_fn)(loop_t *loop, void *arg);

#define LOOP_MAX_READERS 32
#define LOOP_MAX_TIMERS 16

loop_t *loop_new(void);
void loop_destroy(loop_t **self_p);

/* Registers a ZeroMQ socket (borrowed; the caller closes it after removing
 * it). Returns 0, or -1 when the table is full. */
int loop_add_reader(loop_t *loop, void *socket, loop_reader_fn fn, void *arg);
void loop_remove_reader(loop_t *loop, void *socket);

/* A repeating timer; the first firing is interval_ms from now. Returns a
 * timer id >= 0, or -1 when the table is full. */
int loop_add_timer(loop_t *loop, int64_t interval_ms, loop_timer_fn fn, void *arg);

/* Makes timer id fire at the loop's next turn (then every interval again). */
void loop_timer_soon(loop_t *loop, int id);

/* Runs until a handler returns -1, loop_stop() is called, or SIGTERM/SIGINT
 * arrives. Returns 0 on a clean stop, -1 if a handler failed. */
int loop_run(loop_t *loop);
void loop_stop(loop_t *loop);

/* Installs SIGTERM/SIGINT handlers that make every loop_run() return, and
 * ignores SIGPIPE. Call once in main. */
void loop_install_signal_handlers(void);

/* True once SIGTERM or SIGINT arrived. */
int loop_interrupted(void);

#endif
