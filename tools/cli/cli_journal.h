/* cli_journal.h - what makes a rerun of `airguard submit` idempotent.
 *
 * An event that comes without an id or a time gets them from the CLI. The
 * journal remembers what it gave, keyed by the event's content (a digest of
 * the event as written, with the source it is sent under) and its
 * occurrence among identical events of the same input (the first, the
 * second ...). A rerun of the same input, or of an edited copy, finds every
 * unchanged event in the journal and sends it with the same id and time:
 * intake acknowledges it as a duplicate instead of storing it twice.
 *
 * The file is text, one event a line: "DIGEST OCCURRENCE ID TIME", after
 * comment lines starting with '#'. It is saved (temporary file, fsync,
 * rename) before the first event is sent, as docs/protocol.md section 4
 * asks of a client. */
#ifndef AIRGUARD_CLI_JOURNAL_H
#define AIRGUARD_CLI_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CLI_JOURNAL_DIGEST_HEX 64
#define CLI_JOURNAL_ID_LEN 36

typedef struct cli_journal cli_journal_t;

/* Reads the journal at path; a missing file is an empty journal. The path
 * is copied. NULL with err when the file cannot be read or a line is not
 * of the journal's form (err names the line). */
cli_journal_t *cli_journal_load(const char *path, err_t *err);

/* Frees; *self_p = NULL; safe twice. */
void cli_journal_destroy(cli_journal_t **self_p);

/* The id and time recorded for the occurrence-th event with this digest:
 * 0, or -1 when there is none. */
int cli_journal_find(const cli_journal_t *j, const char *digest, int occurrence,
                     char id[CLI_JOURNAL_ID_LEN + 1], int64_t *time_ms);

/* Records (or replaces) the id and time of an event. 0, or -1 when out of
 * memory. */
int cli_journal_put(cli_journal_t *j, const char *digest, int occurrence, const char *id,
                    int64_t time_ms);

/* Writes the journal if it changed since it was loaded. 0, or -1 with err. */
int cli_journal_save(cli_journal_t *j, err_t *err);

/* The digest of one event as written (its msgpack bytes) and the source it
 * is sent under, as 64 hex digits. */
void cli_journal_digest(const void *event, size_t len, const char *source,
                        char hex[CLI_JOURNAL_DIGEST_HEX + 1]);

#endif
