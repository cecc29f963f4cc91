/* err.c - see include/err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Cuts a UTF-8 sequence that truncation left incomplete at the end, so
 * that a message stored as text (a dead letter's reason) is always valid
 * UTF-8: PostgreSQL refuses invalid text, and a refused bookkeeping insert
 * would otherwise be retried forever. */
static void s_trim_partial_utf8(char *s)
{
    size_t n = strlen(s);
    size_t start = n;
    while (start > 0 && start > n - 4 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0 || start == n)
        return;
    unsigned char lead = (unsigned char)s[start - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (want > 1 && n - (start - 1) < want)
        s[start - 1] = '\0';
}

void err_set(err_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    s_trim_partial_utf8(err->msg);
}

void err_clear(err_t *err)
{
    if (err)
        err->msg[0] = '\0';
}
