/*
 * Date of birth: ISO 8601 calendar date in its extended form YYYY-MM-DD
 * (ISO 8601-1:2019 §5.2.2.1), a real date of the proleptic Gregorian
 * calendar, 1900-01-01 .. today, where today is the date in the time zone
 * furthest ahead (UTC+14, the Line Islands): a date that has begun
 * anywhere is not in the future. A child born at 01:00 in India (UTC+5:30)
 * was born "tomorrow" in UTC until 05:30.
 */
#include "internal.h"

#include <time.h>

/* UTC+14: the earliest local time on Earth (Kiribati's Line Islands). */
#define DOB_AHEAD_SECONDS (14 * 60 * 60)

static bool is_leap(int y)
{
    /* Gregorian rule: every 4th year, except centuries not divisible by 400
     * (1900 is not a leap year, 2000 is). */
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = 10 * v + (s[i] - '0');
    return v;
}

mc_err mc__dob_check_at(const char *dob, int year, int month, int day)
{
    int y, m, d;

    if (dob == NULL)
        return MC_EINVAL;
    /* Exactly 10 characters: no surrounding whitespace, no other forms
     * (basic format, week or ordinal dates) that a reader might misread. */
    for (size_t i = 0; i < 10; i++) {
        bool hyphen = i == 4 || i == 7;
        char c = dob[i]; /* a NUL before 10 fails one of these tests */
        if (hyphen ? c != '-' : !(c >= '0' && c <= '9'))
            return MC_EDOB_FORMAT;
    }
    if (dob[10] != '\0')
        return MC_EDOB_FORMAT;

    y = num(dob, 4);
    m = num(dob + 5, 2);
    d = num(dob + 8, 2);
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return MC_EDOB_INVALID;
    if (y < 1900)
        return MC_EDOB_RANGE;
    /* Lexicographic comparison of (y, m, d): today itself is allowed. */
    if (y != year ? y > year : m != month ? m > month : d > day)
        return MC_EDOB_FUTURE;
    return MC_OK;
}

mc_err mc__dob_check_time(const char *dob, time_t now)
{
    struct tm tm;

    if (dob == NULL || now == (time_t)-1)
        return MC_EINVAL;
    /* The date at UTC+14, whatever the server's own time zone. */
    now += DOB_AHEAD_SECONDS;
    if (gmtime_r(&now, &tm) == NULL)
        return MC_EINVAL;
    return mc__dob_check_at(dob, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

mc_err mc_dob_check(const char *dob)
{
    return mc__dob_check_time(dob, time(NULL));
}
