/* err.h - a fixed-size error message that every fallible call can fill in.
 *
 * Errors are values, not side effects: a function that fails writes one line
 * naming what went wrong (file and line, field, SQL state ...) into the
 * caller's err_t and returns -1. No allocation, so it works when malloc
 * does not. */
#ifndef AIRGUARD_ERR_H
#define AIRGUARD_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

typedef struct err {
    char msg[ERR_MSG_MAX]; /* NUL-terminated, empty when no error */
} err_t;

/* Formats into err->msg, truncating on a UTF-8 character boundary. A NULL
 * err is allowed and ignored. */
void err_set(err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the message. */
void err_clear(err_t *err);

#endif
