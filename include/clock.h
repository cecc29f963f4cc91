/* clock.h - where services get "now" from.
 *
 * Production uses the system clock. Tests and the campaign simulation use a
 * manual clock that only moves when told, so that deadlines, shifts and the
 * day close run the same way every time and a whole campaign (Nov 25 -> Feb
 * 28) can run in seconds. Domain code takes an aclock_t * and never calls
 * time() itself.
 *
 * Two readings: wall time (UTC milliseconds since the Unix epoch, for
 * timestamps and the campaign calendar) and monotonic time (milliseconds,
 * for timeouts and back-off, never jumps). A manual clock moves both
 * together. */
#ifndef AIRGUARD_CLOCK_H
#define AIRGUARD_CLOCK_H

#include <stdint.h>

typedef struct aclock aclock_t;

/* The system clock. Returns NULL only if out of memory. */
aclock_t *aclock_new_system(void);

/* A manual clock starting at wall time start_ms (UTC ms since epoch). */
aclock_t *aclock_new_manual(int64_t start_ms);

/* From the environment: AIRGUARD_CLOCK unset or "system" gives the system
 * clock; "manual:<ms>" a manual clock starting there. NULL for anything
 * else (the caller reports the bad value). */
aclock_t *aclock_new_from_env(void);

void aclock_destroy(aclock_t **self_p);

int64_t aclock_wall_ms(const aclock_t *clock);

/* 1 for a manual clock, 0 for the system clock. */
int aclock_is_manual(const aclock_t *clock);
int64_t aclock_mono_ms(const aclock_t *clock);

/* Manual clocks only (ignored, returning -1, on the system clock). */
int aclock_set_wall_ms(aclock_t *clock, int64_t wall_ms); /* may not go backwards */
int aclock_advance_ms(aclock_t *clock, int64_t delta_ms); /* delta >= 0 */

/* The system monotonic clock in ms, for code that has no aclock_t (back-off
 * inside the database and socket layers). */
int64_t aclock_system_mono_ms(void);

/* Local calendar date and time of a UTC instant in a fixed-offset zone
 * (offset_minutes east of UTC; Asia/Shanghai is +480 and has had no DST
 * since 1991). Fills yyyymmdd (e.g. 20200124) and minute of the day. */
void aclock_local(int64_t wall_ms, int offset_minutes, int32_t *yyyymmdd, int *minute_of_day);

/* Formats a UTC instant as "2020-01-24T16:00:00.000Z" into out (>= 25 bytes). */
void aclock_format_utc(int64_t wall_ms, char *out, unsigned cap);

#endif
