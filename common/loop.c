/* loop.c - zmq_poll loop with timers and signal-driven shutdown; see
 * include/loop.h. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"

typedef struct reader {
    void *socket;      /* borrowed ZeroMQ socket */
    loop_reader_fn fn; /* called when readable */
    void *arg;         /* passed to fn */
} reader_t;

typedef struct timer {
    int64_t interval_ms; /* period */
    int64_t due_ms;      /* next firing, monotonic */
    loop_timer_fn fn;
    void *arg;
} timer_t_;

struct loop {
    reader_t readers[LOOP_MAX_READERS]; /* packed, nreaders used */
    int nreaders;
    timer_t_ timers[LOOP_MAX_TIMERS];
    int ntimers;
    int stopping; /* set by loop_stop */
};

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

void loop_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int loop_interrupted(void)
{
    return s_interrupted != 0;
}

loop_t *loop_new(void)
{
    return calloc(1, sizeof(loop_t));
}

void loop_destroy(loop_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

int loop_add_reader(loop_t *loop, void *socket, loop_reader_fn fn, void *arg)
{
    if (loop->nreaders == LOOP_MAX_READERS)
        return -1;
    loop->readers[loop->nreaders++] = (reader_t){socket, fn, arg};
    return 0;
}

void loop_remove_reader(loop_t *loop, void *socket)
{
    for (int i = 0; i < loop->nreaders; i++) {
        if (loop->readers[i].socket == socket) {
            memmove(&loop->readers[i], &loop->readers[i + 1],
                    (size_t)(loop->nreaders - i - 1) * sizeof(reader_t));
            loop->nreaders--;
            return;
        }
    }
}

int loop_add_timer(loop_t *loop, int64_t interval_ms, loop_timer_fn fn, void *arg)
{
    if (loop->ntimers == LOOP_MAX_TIMERS)
        return -1;
    loop->timers[loop->ntimers] =
        (timer_t_){interval_ms, aclock_system_mono_ms() + interval_ms, fn, arg};
    return loop->ntimers++;
}

void loop_timer_soon(loop_t *loop, int id)
{
    if (id >= 0 && id < loop->ntimers)
        loop->timers[id].due_ms = aclock_system_mono_ms();
}

void loop_stop(loop_t *loop)
{
    loop->stopping = 1;
}

/* Milliseconds until the earliest timer, capped so signals are noticed. */
static long s_poll_timeout(const loop_t *loop, int64_t now)
{
    int64_t wait = 1000;
    for (int i = 0; i < loop->ntimers; i++) {
        int64_t d = loop->timers[i].due_ms - now;
        if (d < wait)
            wait = d < 0 ? 0 : d;
    }
    return (long)wait;
}

int loop_run(loop_t *loop)
{
    zmq_pollitem_t items[LOOP_MAX_READERS];
    reader_t snapshot[LOOP_MAX_READERS];
    loop->stopping = 0;
    while (!loop->stopping && !s_interrupted) {
        /* Handlers may add or remove readers: poll a snapshot. */
        int n = loop->nreaders;
        memcpy(snapshot, loop->readers, (size_t)n * sizeof(reader_t));
        for (int i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){.socket = snapshot[i].socket, .events = ZMQ_POLLIN};
        int rc = zmq_poll(items, n, s_poll_timeout(loop, aclock_system_mono_ms()));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < n && !loop->stopping; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            /* Skip a reader removed by an earlier handler in this turn. */
            int still = 0;
            for (int j = 0; j < loop->nreaders; j++)
                still |= loop->readers[j].socket == snapshot[i].socket;
            if (still && snapshot[i].fn(loop, snapshot[i].socket, snapshot[i].arg) != 0)
                return -1;
        }
        int64_t now = aclock_system_mono_ms();
        for (int i = 0; i < loop->ntimers && !loop->stopping; i++) {
            timer_t_ *t = &loop->timers[i];
            if (now < t->due_ms)
                continue;
            t->due_ms = now + t->interval_ms;
            if (t->fn(loop, t->arg) != 0)
                return -1;
        }
    }
    return 0;
}
