/* quote.h - untrusted bytes (a hostile key, a malformed id) made safe to
 * echo in error messages and logs: printable ASCII is kept, everything else
 * (and ' and \) becomes \xNN, and the result is capped, so a message stays
 * one clean line whatever the client sent. */
#ifndef AIRGUARD_QUOTE_H
#define AIRGUARD_QUOTE_H

#include <stddef.h>

/* Input bytes echoed at most; a quoted text needs up to QUOTE_MAX * 4 + 8
 * bytes (every byte escaped, "..." and the NUL). */
#define QUOTE_MAX 48

/* Copies s (len bytes, untrusted) into dst (cap bytes) as printable ASCII,
 * \xNN for the rest and for ' and \; past QUOTE_MAX input bytes, or when
 * dst is full, it stops and ends with "...". dst is always NUL-terminated
 * (cap > 0). */
void quote_bytes(char *dst, size_t cap, const char *s, size_t len);

/* Appends piece to the NUL-terminated text in path (cap bytes), truncating
 * silently: paths only ever end up in error messages. */
void quote_append(char *path, size_t cap, const char *piece);

#endif
