/* log.c - JSON-lines logger; see include/log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static char s_service[64] = "airguard";
static char s_instance[64] = "";
static log_level_t s_threshold = LOG_LEVEL_INFO;

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, const char *instance)
{
    snprintf(s_service, sizeof s_service, "%s", service ? service : "airguard");
    snprintf(s_instance, sizeof s_instance, "%s", instance ? instance : "");
    const char *lvl = getenv("AIRGUARD_LOG_LEVEL");
    for (int i = 0; lvl && i < 4; i++)
        if (strcasecmp(lvl, s_level_names[i]) == 0)
            s_threshold = (log_level_t)i;
}

/* A bounded appender: writes what fits and remembers that it is full. */
typedef struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
} line_t;

static void s_append(line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_append(line_t *l, const char *fmt, ...)
{
    if (l->len >= sizeof l->buf - 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof l->buf - 2 - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof l->buf - 2 - l->len ? (size_t)n : sizeof l->buf - 3 - l->len;
}

static void s_append_json_string(line_t *l, const char *s)
{
    if (!s) {
        s_append(l, "null");
        return;
    }
    s_append(l, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            s_append(l, "\\%c", *p);
        else if (*p == '\n')
            s_append(l, "\\n");
        else if (*p < 0x20)
            s_append(l, "\\u%04x", *p);
        else
            s_append(l, "%c", *p);
    }
    s_append(l, "\"");
}

void log_write(log_level_t level, const char *msg, ...)
{
    if (level < s_threshold)
        return;
    line_t l;
    l.len = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    s_append(&l, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"service\":",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000, s_level_names[level]);
    s_append_json_string(&l, s_service);
    if (s_instance[0]) {
        s_append(&l, ",\"instance\":");
        s_append_json_string(&l, s_instance);
    }
    s_append(&l, ",\"msg\":");
    s_append_json_string(&l, msg);

    va_list ap;
    va_start(ap, msg);
    const log_field_t *f;
    while ((f = va_arg(ap, const log_field_t *)) != NULL) {
        s_append(&l, ",");
        s_append_json_string(&l, f->key);
        s_append(&l, ":");
        if (f->kind == LOGF_INT)
            s_append(&l, "%lld", (long long)f->i);
        else if (f->kind == LOGF_DBL)
            s_append(&l, "%.6g", f->d);
        else
            s_append_json_string(&l, f->s);
    }
    va_end(ap);
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, l.buf, l.len);
    (void)ignored;
}
