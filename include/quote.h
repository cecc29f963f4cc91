/* quote.h - untrusted bytes (a hostile key, a malformed id) made safe to
 * echo in error messages and logs: printable ASCII is kept, everything else
 * (and ' and \) becomes \xNN, and the result is capped, so a message stays
 * one clean line whatever the client sent. */
#ifndef AIRGUARD_QUOTE_H
#define AIRGUARD_QUOTE_H

#include <stddef.h>

/* The one rule for echoing a key (envelope or body) or any other
 * untrusted text, in an error message and in a reply's `field`
 * (docs/protocol.md section 2): printable ASCII is kept except ' and \,
 * every other byte is written \xNN; the result is kept whole when it is at
 * most QUOTE_MAX bytes, and otherwise cut at a character boundary (a UTF-8
 * sequence's escapes are never split, nor is one escape) and ended with
 * "...", still at most QUOTE_MAX bytes. */
#define QUOTE_MAX 63
#define QUOTE_CAP (QUOTE_MAX + 1) /* a buffer that holds any quoted text */

/* Quotes s (len bytes, untrusted; may be NULL when len is 0) into dst (cap
 * bytes) by the rule above, with at most min(cap - 1, QUOTE_MAX) bytes
 * before the NUL. dst is always NUL-terminated (cap > 0). Reads s only as
 * far as the output needs, so a huge input costs nothing. */
void quote_bytes(char *dst, size_t cap, const char *s, size_t len);

/* Appends piece to the NUL-terminated text in path (cap bytes), truncating
 * silently: paths only ever end up in error messages. */
void quote_append(char *path, size_t cap, const char *piece);

#endif
