/* quote.c - untrusted bytes made safe to echo in error messages and logs
 * (see include/quote.h). */
#include "quote.h"

#include <stdio.h>
#include <string.h>

/* Copies untrusted bytes into dst as printable ASCII (\xNN for the rest, and
 * for ' and \), so a hostile key cannot inject control characters into logs. */
void quote_bytes(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[5];
        int plen;
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            piece[0] = (char)c;
            piece[1] = '\0';
            plen = 1;
        } else {
            plen = snprintf(piece, sizeof piece, "\\x%02x", c);
        }
        /* keep room for "..." and the NUL */
        if (i >= QUOTE_MAX || n + (size_t)plen + 4 > cap) {
            if (n + 4 <= cap) {
                memcpy(dst + n, "...", 3);
                n += 3;
            }
            break;
        }
        memcpy(dst + n, piece, (size_t)plen);
        n += (size_t)plen;
    }
    dst[n] = '\0';
}

/* Appends a formatted piece to a bounded path buffer, truncating silently:
 * paths only ever end up in error messages. */
void quote_append(char *path, size_t cap, const char *piece)
{
    size_t used = strlen(path);
    if (used + 1 >= cap)
        return;
    snprintf(path + used, cap - used, "%s", piece);
}
