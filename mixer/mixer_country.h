/* mixer_country: numeric country codes in O/R addresses. X.411's CountryName is an X.121
 * data country code (NumericString of 3 digits) or an ISO 3166 alpha-2 code; the MCGAM
 * tables are written with ISO 3166 codes, so RFC 2156 4.3.5 (mapping B, step 2) maps a
 * numeric country to its two letters for lookups. The table holds the X.121 DCCs of the
 * countries most MHS deployments meet; an unknown DCC stays as it is (and matches only a
 * table entry written with the same digits). */
#ifndef MIXER_COUNTRY_H
#define MIXER_COUNTRY_H

#include <stdbool.h>

/* The ISO 3166 alpha-2 code (upper case, static storage) for an X.121 DCC ("234" -> "GB"),
 * or NULL when c is not a DCC the table knows. */
const char *mixer_country_alpha2(const char *c);
/* Country values equal for RFC 2156 lookups: the same after mapping DCCs to ISO 3166 and
 * ignoring case. */
bool mixer_country_eq(const char *a, const char *b);

#endif
