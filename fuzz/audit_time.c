/* Fuzz target: audit_time_parse (mta/audit_time.c) on arbitrary bytes. Beyond "no crash": a time it accepts,
 * written back as RFC 3339 UTC with microseconds, parses to the same value, and a failure
 * leaves the output untouched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_time.h"
#include "mg_err.h"

#define NOW 1796637600123456LL /* a fixed "now": runs are reproducible */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[128];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t v = 7;
    int rc = audit_time_parse(s, NOW, &v);
    if (rc != 0) {
        if (rc != MG_EPARSE || v != 7)
            abort();
        return 0;
    }
    /* round trip through the canonical form, for years 0..9999 (offsets can leave them) */
    int64_t sec = v / 1000000, us = v % 1000000;
    if (us < 0) {
        sec -= 1;
        us += 1000000;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return 0;
    char canon[64];
    snprintf(canon, sizeof canon, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)us);
    int64_t back = 0;
    if (audit_time_parse(canon, NOW, &back) != 0 || back != v) {
        fprintf(stderr, "'%s' -> %lld -> '%s' -> %lld\n", s, (long long)v, canon,
                (long long)back);
        abort();
    }
    return 0;
}
