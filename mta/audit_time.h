/* audit_time: parses the time strings that filter audit records (see audit_time.c). */
#ifndef AUDIT_TIME_H
#define AUDIT_TIME_H

#include <stdint.h>

/* Parses a time for filters: RFC 3339 ("2026-12-07T10:00:00Z", "...T10:00:00.5+01:00"; a
 * lower-case t/z or a space for the T are accepted, as RFC 3339 section 5.6 allows; fractions
 * past microseconds are cut), a date ("2026-12-07", midnight UTC), "now", or relative to
 * now_us ("-90s", "-15m", "-1h", "-2d", "-1w"; at most 10,000 years back). Returns 0 and *out
 * (unix microseconds) or MG_EPARSE (*out untouched). Input is outside input: any bytes. */
int audit_time_parse(const char *s, int64_t now_us, int64_t *out);

#endif
