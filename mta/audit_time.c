/* audit_time: the time strings of `mixgate audit --since/--until` (and of anything else that
 * filters audit records by time): RFC 3339, a date, or relative to now. Pure parsing, no I/O. */
#include "audit_time.h"

#include <stdint.h>
#include <string.h>

#include "mg_err.h"

/* Reads exactly n decimal digits at *p; -1 when they are not all digits. */
static int64_t digits(const char **p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date (years 0..9999). */
static int64_t days_since_epoch(int64_t y, int64_t m, int64_t d)
{
    static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    int64_t py = y - 1; /* leap years in 1..y-1; for y == 0 there are none (C truncation) */
    int64_t days = 365 * y + (py / 4 - py / 100 + py / 400) + before[m - 1] + (d - 1);
    if (m > 2 && is_leap(y))
        days++;
    if (y > 0)
        days++; /* year 0 is a leap year too: one more day before every later year */
    return days - 719528; /* the same sum for 1970-01-01 */
}

static int parse_date(const char **p, int64_t *days)
{
    const char *s = *p;
    int64_t y = digits(&s, 4);
    if (y < 0 || *s++ != '-')
        return MG_EPARSE;
    int64_t m = digits(&s, 2);
    if (m < 1 || m > 12 || *s++ != '-')
        return MG_EPARSE;
    int64_t d = digits(&s, 2);
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (d < 1 || d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return MG_EPARSE;
    *days = days_since_epoch(y, m, d);
    *p = s;
    return 0;
}

/* "-<n><unit>", unit s m h d w. */
static int parse_relative(const char *s, int64_t now, int64_t *out)
{
    int64_t n = 0;
    size_t i = 1;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i > 9)
            return MG_EPARSE; /* at most 9 digits: no overflow below */
        n = n * 10 + (s[i] - '0');
    }
    if (i == 1 || s[i] == '\0' || s[i + 1] != '\0')
        return MG_EPARSE;
    int64_t unit;
    switch (s[i]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return MG_EPARSE;
    }
    /* at most 10,000 years back: far beyond any record, and no overflow with any "now" */
    if (n * unit > 10000LL * 366 * 86400 || now < INT64_MIN / 2 || now > INT64_MAX / 2)
        return MG_EPARSE;
    *out = now - n * unit * 1000000;
    return 0;
}

int audit_time_parse(const char *s, int64_t now, int64_t *out)
{
    if (!s || !out)
        return MG_EPARSE;
    if (s[0] == '-')
        return parse_relative(s, now, out);
    if (!strcmp(s, "now")) {
        *out = now;
        return 0;
    }
    int64_t days;
    const char *p = s;
    if (parse_date(&p, &days) != 0)
        return MG_EPARSE;
    if (*p == '\0') {
        *out = days * 86400 * 1000000;
        return 0;
    }
    /* RFC 3339 date-time: T (or t, or a space: RFC 3339 section 5.6 note), time, offset */
    if (*p != 'T' && *p != 't' && *p != ' ')
        return MG_EPARSE;
    p++;
    int64_t hh = digits(&p, 2);
    if (hh < 0 || hh > 23 || *p++ != ':')
        return MG_EPARSE;
    int64_t mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || *p++ != ':')
        return MG_EPARSE;
    int64_t ss = digits(&p, 2);
    if (ss < 0 || ss > 60) /* 60: a leap second */
        return MG_EPARSE;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++) {
            if (nd >= 18)
                return MG_EPARSE;
            if (nd < 6)
                frac = frac * 10 + (*p - '0');
        }
        if (nd == 0)
            return MG_EPARSE;
        for (; nd < 6; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int64_t oh = digits(&p, 2);
        if (oh < 0 || oh > 23 || *p++ != ':')
            return MG_EPARSE;
        int64_t om = digits(&p, 2);
        if (om < 0 || om > 59)
            return MG_EPARSE;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return MG_EPARSE;
    }
    if (*p != '\0')
        return MG_EPARSE;
    *out = ((days * 86400 + hh * 3600 + mi * 60 + ss) - off) * 1000000 + frac;
    return 0;
}
