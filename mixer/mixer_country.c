/* mixer_country: X.121 data country codes -> ISO 3166 alpha-2 (mixer_country.h). */
#include "mixer_country.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "mixer_or.h"

/* X.121 DCCs (ITU-T X.121 annex; most equal the E.212 mobile country codes). A country with
 * several DCCs has a row for each. Sorted by DCC. */
static const struct {
    char dcc[4];
    char cc[3];
} dcc[] = {
    {"202", "GR"}, {"204", "NL"}, {"205", "NL"}, {"206", "BE"}, {"208", "FR"}, {"209", "FR"},
    {"212", "MC"}, {"213", "AD"}, {"214", "ES"}, {"215", "ES"}, {"216", "HU"}, {"222", "IT"},
    {"223", "IT"}, {"224", "IT"}, {"225", "VA"}, {"226", "RO"}, {"228", "CH"}, {"229", "CH"},
    {"230", "CZ"}, {"231", "SK"}, {"232", "AT"}, {"233", "AT"}, {"234", "GB"}, {"235", "GB"},
    {"236", "GB"}, {"237", "GB"}, {"238", "DK"}, {"239", "DK"}, {"240", "SE"}, {"241", "SE"},
    {"242", "NO"}, {"243", "NO"}, {"244", "FI"}, {"246", "LT"}, {"247", "LV"}, {"248", "EE"},
    {"250", "RU"}, {"251", "RU"}, {"255", "UA"}, {"257", "BY"}, {"260", "PL"}, {"262", "DE"},
    {"263", "DE"}, {"264", "DE"}, {"265", "DE"}, {"266", "GI"}, {"268", "PT"}, {"269", "PT"},
    {"270", "LU"}, {"272", "IE"}, {"274", "IS"}, {"278", "MT"}, {"280", "CY"}, {"284", "BG"},
    {"286", "TR"}, {"293", "SI"}, {"302", "CA"}, {"303", "CA"}, {"310", "US"}, {"311", "US"},
    {"312", "US"}, {"313", "US"}, {"314", "US"}, {"315", "US"}, {"316", "US"}, {"334", "MX"},
    {"335", "MX"}, {"425", "IL"}, {"440", "JP"}, {"441", "JP"}, {"442", "JP"}, {"443", "JP"},
    {"450", "KR"}, {"454", "HK"}, {"460", "CN"}, {"505", "AU"}, {"525", "SG"}, {"530", "NZ"},
    {"655", "ZA"}, {"722", "AR"}, {"724", "BR"},
};

const char *mixer_country_alpha2(const char *c)
{
    /* lookups ignore blanks at the ends (RFC 2156 4.3.5 step 1) */
    while (c && *c == ' ')
        c++;
    if (!c || strspn(c, "0123456789") != 3 || strspn(c + 3, " ") != strlen(c + 3))
        return NULL;
    for (size_t i = 0; i < sizeof dcc / sizeof dcc[0]; i++)
        if (!strncmp(dcc[i].dcc, c, 3))
            return dcc[i].cc;
    return NULL;
}

bool mixer_country_eq(const char *a, const char *b)
{
    const char *na = mixer_country_alpha2(a), *nb = mixer_country_alpha2(b);
    return mixer_or_value_eq(na ? na : a, nb ? nb : b);
}
