/* pgarray.c - array literals for set-based statements; see include/pgarray.h. */
#include "pgarray.h"

#include <stdio.h>
#include <stdlib.h>

static int s_reserve(pgarray_t *a, size_t more)
{
    if (a->len + more + 2 <= a->cap) /* room for the closing brace and NUL */
        return 0;
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + more + 2)
        cap *= 2;
    char *grown = realloc(a->buf, cap);
    if (!grown) {
        a->failed = 1;
        return -1;
    }
    a->buf = grown;
    a->cap = cap;
    return 0;
}

void pgarray_reset(pgarray_t *a)
{
    a->len = 0;
    a->n = 0;
    a->failed = 0;
    if (s_reserve(a, 1) == 0)
        a->buf[a->len++] = '{';
}

int pgarray_add(pgarray_t *a, const char *s, size_t len)
{
    /* Worst case every byte escaped, plus quotes and the comma. */
    if (a->failed || s_reserve(a, 2 * len + 3) != 0)
        return -1;
    if (a->n++)
        a->buf[a->len++] = ',';
    a->buf[a->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = s[i];
    }
    a->buf[a->len++] = '"';
    return 0;
}

int pgarray_add_int(pgarray_t *a, int64_t v)
{
    if (a->failed || s_reserve(a, 24) != 0)
        return -1;
    if (a->n++)
        a->buf[a->len++] = ',';
    a->len += (size_t)snprintf(a->buf + a->len, a->cap - a->len, "%lld", (long long)v);
    return 0;
}

const char *pgarray_finish(pgarray_t *a)
{
    if (a->failed || !a->buf)
        return NULL;
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    return a->buf;
}

void pgarray_fini(pgarray_t *a)
{
    free(a->buf);
    *a = (pgarray_t)PGARRAY_INIT;
}
