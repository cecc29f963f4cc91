/* civildate.h - calendar arithmetic on civil dates (a day of the proleptic
 * Gregorian calendar, no time zone) held as int32 yyyymmdd: 20200124 is
 * 2020-01-24, and yyyymmdd values compare in calendar order. It is the form
 * aclock_local() gives and campaign files use; years are 1970..9999. */
#ifndef AIRGUARD_CIVILDATE_H
#define AIRGUARD_CIVILDATE_H

#include <stdbool.h>
#include <stdint.h>

/* True when yyyymmdd is a real Gregorian day in years 1970..9999. */
bool civildate_valid(int32_t yyyymmdd);

/* The yyyymmdd of year y, month m, day d; 0 when that is no real day in
 * years 1970..9999 (month 13, February 30 ...). */
int32_t civildate_make(int y, int m, int d);

/* The date n days later (earlier for n < 0); 0 when the input is invalid
 * or the result leaves the valid years. */
int32_t civildate_add(int32_t yyyymmdd, int n);

/* Parses "YYYY-MM-DD" exactly into *out. Returns 0, or -1 (out untouched). */
int civildate_parse(const char *text, int32_t *out);

#endif
