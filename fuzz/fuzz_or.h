/* Round-trip checks of MIXER targets compare O/R addresses as RFC 2156 reads their text. The
 * text form cannot say "no ADMD": an omitted ADMD is a single space (4.1.3), so a name that
 * arrived in BER with a country and without an ADMD reads back with "ADMD= " once written
 * from its text (the campaign's aborts of mixer_report_ber and mixer_dsnp). */
#ifndef FUZZ_OR_H
#define FUZZ_OR_H

#include <string.h>

#include "mixer_or.h"

/* 1 when a and b name the same address: both parsed and printed again; a text that does not
 * parse compares as it is. Not reentrant (fuzz targets run one input at a time). */
static int fuzz_same_or(const char *a, const char *b)
{
    static struct mixer_or oa, ob; /* a few kB each: not on the stack of every input */
    char ta[1024], tb[1024];
    if (mixer_or_parse(a, strlen(a), &oa, NULL, 0) != 0 ||
        mixer_or_parse(b, strlen(b), &ob, NULL, 0) != 0 ||
        mixer_or_print(&oa, ta, sizeof ta) != 0 || mixer_or_print(&ob, tb, sizeof tb) != 0)
        return strcmp(a, b) == 0;
    return strcmp(ta, tb) == 0;
}

#endif
