/* clock.c - system and manual clocks; see include/clock.h. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct aclock {
    int manual;      /* 0: system clock; 1: moves only when told */
    int64_t wall_ms; /* manual: current wall time */
    int64_t mono_ms; /* manual: current monotonic time */
};

static int64_t s_timespec_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t aclock_system_mono_ms(void)
{
    return s_timespec_ms(CLOCK_MONOTONIC);
}

aclock_t *aclock_new_system(void)
{
    return calloc(1, sizeof(aclock_t));
}

aclock_t *aclock_new_manual(int64_t start_ms)
{
    aclock_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->manual = 1;
    self->wall_ms = start_ms;
    self->mono_ms = 1;
    return self;
}

aclock_t *aclock_new_from_env(void)
{
    const char *spec = getenv("AIRGUARD_CLOCK");
    if (!spec || !*spec || strcmp(spec, "system") == 0)
        return aclock_new_system();
    if (strncmp(spec, "manual:", 7) == 0) {
        char *end = NULL;
        long long start = strtoll(spec + 7, &end, 10);
        if (end != spec + 7 && *end == '\0' && start >= 0)
            return aclock_new_manual(start);
    }
    return NULL;
}

void aclock_destroy(aclock_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

int64_t aclock_wall_ms(const aclock_t *clock)
{
    return clock->manual ? clock->wall_ms : s_timespec_ms(CLOCK_REALTIME);
}

int64_t aclock_mono_ms(const aclock_t *clock)
{
    return clock->manual ? clock->mono_ms : s_timespec_ms(CLOCK_MONOTONIC);
}

int aclock_is_manual(const aclock_t *clock)
{
    return clock->manual;
}

int aclock_set_wall_ms(aclock_t *clock, int64_t wall_ms)
{
    if (!clock->manual || wall_ms < clock->wall_ms)
        return -1;
    return aclock_advance_ms(clock, wall_ms - clock->wall_ms);
}

int aclock_advance_ms(aclock_t *clock, int64_t delta_ms)
{
    if (!clock->manual || delta_ms < 0)
        return -1;
    clock->wall_ms += delta_ms;
    clock->mono_ms += delta_ms;
    return 0;
}

void aclock_local(int64_t wall_ms, int offset_minutes, int32_t *yyyymmdd, int *minute_of_day)
{
    /* Floor division so instants before the epoch still land on the right day. */
    int64_t local_ms = wall_ms + (int64_t)offset_minutes * 60000;
    int64_t day = local_ms >= 0 ? local_ms / 86400000 : -((-local_ms + 86399999) / 86400000);
    int64_t ms_of_day = local_ms - day * 86400000;
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (yyyymmdd)
        *yyyymmdd = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    if (minute_of_day)
        *minute_of_day = (int)(ms_of_day / 60000);
}

void aclock_format_utc(int64_t wall_ms, char *out, unsigned cap)
{
    int64_t secs = wall_ms >= 0 ? wall_ms / 1000 : -((-wall_ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_ms - secs * 1000));
}
