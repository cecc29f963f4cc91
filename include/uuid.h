/* uuid.h - UUIDs as text in the canonical 8-4-4-4-12 hex form: the check
 * every message id passes, and random version-4 ids for the clients and
 * tools that make messages. */
#ifndef AIRGUARD_UUID_H
#define AIRGUARD_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_LEN 36 /* characters, without the NUL */

/* True when s (len bytes) is a canonical UUID (either case). */
bool uuid_is_canonical(const char *s, size_t len);

/* Fills out (UUID_LEN + 1 bytes) with a random version-4 UUID, lower case,
 * from getrandom(2) (or /dev/urandom where it is missing). Returns 0, or -1
 * if no randomness is available. */
int uuid_new(char out[UUID_LEN + 1]);

/* The canonical lower-case text of 16 UUID bytes. */
void uuid_format(const unsigned char bytes[16], char out[UUID_LEN + 1]);

/* The 16 bytes of a canonical UUID text (either case); -1 when s (len
 * bytes) is not one. */
int uuid_parse(const char *s, size_t len, unsigned char out[16]);

/* Fills out with a version-8 (name-based, RFC 9562) UUID derived from the
 * len bytes of cause: the same cause always gives the same id, another
 * cause (almost surely) another. For ids that a replay must derive again:
 * derived stream records, tasks opened by an event. Not a secret. */
void uuid_derive(const void *cause, size_t len, char out[UUID_LEN + 1]);

#endif
