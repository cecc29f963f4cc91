/* cli_submit.h - `airguard submit`: events written as JSON or YAML, sent to
 * intake with up to --clients requests in flight, one reply line per
 * event, in input order, each naming the event's file and line.
 *
 * Ids and times: an event without them gets them from the CLI, and the
 * journal (cli_journal.h) remembers which, so submitting the same input
 * again sends the same events, acknowledged as duplicates. --new gives
 * fresh ones (the events are new events) and records those instead. */
#ifndef AIRGUARD_CLI_SUBMIT_H
#define AIRGUARD_CLI_SUBMIT_H

#include <msgpack.h>
#include <stdbool.h>

#include "cli_net.h"
#include "err.h"

#define CLI_SUBMIT_MAX_INPUT (64u * 1024u * 1024u)

typedef struct cli_submit_opts {
    const char *input;   /* a path, or "-" for stdin */
    const char *source;  /* the envelope's source for events without one */
    const char *journal; /* the journal's path; NULL: cli_submit_journal_path() */
    bool fresh;          /* --new: fresh ids and times even for events in the journal */
    bool unordered;      /* print replies as they come, not in input order */
} cli_submit_opts_t;

/* One event of the input, as written. */
typedef struct cli_event {
    int line;              /* where it starts in the input, from 1 (0: unknown) */
    msgpack_sbuffer given; /* the event as written, a msgpack map */
    msgpack_sbuffer ready; /* the complete envelope to send */
    char id[37];           /* its id, once complete ("" when not a str of 36 bytes) */
} cli_event_t;

/* Splits text into events: one JSON value (an object, or an array of
 * objects), one JSON object per line, or YAML (one mapping or a sequence of
 * them). name is used in messages. Returns 0 with *events (free with
 * cli_submit_free()) or -1 with err naming the line. */
int cli_submit_parse(const char *name, const char *text, size_t len, cli_event_t **events,
                     size_t *n, err_t *err);

void cli_submit_free(cli_event_t *events, size_t n);

/* The default journal of an input: FILE.journal beside a file; for stdin
 * $AIRGUARD_JOURNAL_DIR/stdin.journal, else $XDG_STATE_HOME/airguard/, else
 * ~/.local/state/airguard/ (made when missing). Writes into buf; NULL with
 * err when no place can be found. */
const char *cli_submit_journal_path(const char *input, char *buf, size_t size, err_t *err);

/* Completes every event (v, id, time, source when absent; ids and times
 * from the journal at path unless fresh) and saves the journal. 0, or -1
 * with err (an event that is not a map, a journal that cannot be written). */
int cli_submit_complete(cli_event_t *events, size_t n, const char *source, const char *journal,
                        bool fresh, err_t *err);

/* The whole subcommand. Returns the exit status: 0 every event acked, 1 a
 * refusal, 2 bad input or usage, 3 no answer. */
int cli_submit_run(void *ctx, const cli_opts_t *o, const cli_submit_opts_t *so);

#endif
