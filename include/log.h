/* log.h - one JSON object per line on stderr, for people and log shippers.
 *
 *   {"time":"2026-11-28T22:13:55.123Z","level":"info","service":"intake",
 *    "instance":"intake-1","msg":"batch committed","n":12,"last_seq":4410}
 *
 * Fields are typed key/value pairs built with the LF_* macros:
 *
 *   log_info("batch committed", LF_INT("n", n), LF_STR("stream", name));
 *
 * Strings are escaped as JSON (UTF-8 passes through). A line is written
 * with one write(2), so lines from several processes do not interleave. */
#ifndef AIRGUARD_LOG_H
#define AIRGUARD_LOG_H

#include <stdint.h>

typedef enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR
} log_level_t;

typedef enum log_field_kind { LOGF_INT, LOGF_STR, LOGF_DBL } log_field_kind_t;

typedef struct log_field {
    const char *key;       /* JSON key, a plain identifier */
    log_field_kind_t kind; /* which of the values below is set */
    int64_t i;
    const char *s; /* NULL is written as null */
    double d;
} log_field_t;

#define LF_INT(k, v) (&(const log_field_t){.key = (k), .kind = LOGF_INT, .i = (int64_t)(v)})
#define LF_STR(k, v) (&(const log_field_t){.key = (k), .kind = LOGF_STR, .s = (v)})
#define LF_DBL(k, v) (&(const log_field_t){.key = (k), .kind = LOGF_DBL, .d = (double)(v)})

/* Names this process in every line; call once at start. The strings are
 * copied. AIRGUARD_LOG_LEVEL=debug|info|warn|error sets the threshold. */
void log_init(const char *service, const char *instance);

/* Writes one line; the field list ends with NULL (the macros add it). */
void log_write(log_level_t level, const char *msg, ...);

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__, (const log_field_t *)0)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__, (const log_field_t *)0)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__, (const log_field_t *)0)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__, (const log_field_t *)0)

#endif
