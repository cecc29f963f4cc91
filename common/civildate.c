/* civildate.c - calendar arithmetic on civil dates held as int32 yyyymmdd
 * (see include/civildate.h). */
#include "civildate.h"

#include <string.h>

static bool s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_leap(y) ? 29 : days[m - 1];
}

static bool s_ymd_ok(int y, int m, int d)
{
    return y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= s_days_in_month(y, m);
}

int32_t civildate_make(int y, int m, int d)
{
    if (!s_ymd_ok(y, m, d))
        return 0;
    return (int32_t)(y * 10000 + m * 100 + d);
}

bool civildate_valid(int32_t yyyymmdd)
{
    if (yyyymmdd <= 0)
        return false;
    return s_ymd_ok(yyyymmdd / 10000, yyyymmdd / 100 % 100, yyyymmdd % 100);
}

/* Days since 1970-01-01 of a valid civil date, and back (H. Hinnant's
 * algorithms, proleptic Gregorian). */
static int64_t s_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void s_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int32_t civildate_add(int32_t yyyymmdd, int n)
{
    int64_t y, m, d;
    if (!civildate_valid(yyyymmdd))
        return 0;
    int64_t days = s_days_from_civil(yyyymmdd / 10000, yyyymmdd / 100 % 100, yyyymmdd % 100);
    days += n;
    if (days < 0 || days > s_days_from_civil(9999, 12, 31))
        return 0;
    s_civil_from_days(days, &y, &m, &d);
    return (int32_t)(y * 10000 + m * 100 + d);
}

int civildate_parse(const char *text, int32_t *out)
{
    int v[3] = {0, 0, 0};
    static const int start[3] = {0, 5, 8}, len[3] = {4, 2, 2};
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    for (int f = 0; f < 3; f++) {
        for (int i = start[f]; i < start[f] + len[f]; i++) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            v[f] = v[f] * 10 + (text[i] - '0');
        }
    }
    if (!s_ymd_ok(v[0], v[1], v[2]))
        return -1;
    *out = v[0] * 10000 + v[1] * 100 + v[2];
    return 0;
}
