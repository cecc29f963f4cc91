/* quote.c - untrusted bytes made safe to echo in error messages and logs
 * (see include/quote.h). */
#include "quote.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool s_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';
}

/* Bytes of the character at p (n bytes left): a well-formed UTF-8 sequence
 * is one character, any other byte is one on its own. */
static size_t s_char_len(const unsigned char *p, size_t n)
{
    size_t want = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
                  : p[0] >= 0xe0 && p[0] <= 0xef ? 3
                  : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                                 : 1;
    if (want > n)
        return 1;
    for (size_t k = 1; k < want; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 1;
    return want;
}

void quote_bytes(char *dst, size_t cap, const char *s, size_t len)
{
    if (!dst || cap == 0)
        return;
    const size_t limit = cap - 1 < QUOTE_MAX ? cap - 1 : QUOTE_MAX;
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;   /* bytes written */
    size_t cut = 0; /* n at the last character boundary that leaves room for "..." */
    for (size_t i = 0; s && i < len;) {
        size_t clen = s_char_len(u + i, len - i), qlen = 0;
        for (size_t k = 0; k < clen; k++)
            qlen += s_plain(u[i + k]) ? 1 : 4;
        if (n + qlen > limit) { /* it does not fit whole: cut at a boundary */
            n = cut;
            if (n + 3 <= limit) {
                memcpy(dst + n, "...", 3);
                n += 3;
            }
            break;
        }
        for (size_t k = 0; k < clen; k++) {
            if (s_plain(u[i + k]))
                dst[n++] = (char)u[i + k];
            else
                n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", u[i + k]);
        }
        i += clen;
        if (n + 3 <= limit)
            cut = n;
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
