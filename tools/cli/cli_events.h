/* cli_events.h - reading what a service stored, for people: `airguard
 * events` prints the events of a producer's stream as JSON lines (decoded
 * from the log through the control socket's replay op, so a tip's contact,
 * never stored in the log, never appears), `airguard dead-letters` the
 * messages a consuming service gave up on and those it is still retrying,
 * with the reason. */
#ifndef AIRGUARD_CLI_EVENTS_H
#define AIRGUARD_CLI_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_net.h"

/* Prints the events of stream (NULL: every stream the service at
 * o->endpoint produces) from seq from on, only those of type when given;
 * with follow, keeps printing new ones until interrupted. Returns the exit
 * status (0, 1 an error reply, 3 no answer). */
int cli_events_run(void *ctx, const cli_opts_t *o, const char *stream, int64_t from,
                   const char *type, bool follow);

/* Prints the dead letters and failing messages of the service at
 * o->endpoint (of stream only, when given). Returns the exit status. */
int cli_events_dead_letters(void *ctx, const cli_opts_t *o, const char *stream);

#endif
