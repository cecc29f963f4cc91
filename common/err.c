/* err.c - see include/err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void err_set(err_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

void err_clear(err_t *err)
{
    if (err)
        err->msg[0] = '\0';
}
