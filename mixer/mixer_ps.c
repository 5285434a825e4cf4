/* mixer_ps: RFC 2156 character encodings (PrintableString set, ps-encoded ASCII,
 * domain-syntax). Pure functions over caller buffers. */
#include "mixer_ps.h"

#include <ctype.h>
#include <string.h>

#include "mg_err.h"

bool mixer_ps_is_restricted(int c)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= 'A' && c <= 'Z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c != 0 && strchr(" '+,-./:=?", c) != NULL;
}

bool mixer_ps_is_char(int c)
{
    return c == '(' || c == ')' || mixer_ps_is_restricted(c);
}

bool mixer_ps_is_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!mixer_ps_is_char((unsigned char)s[i]))
            return false;
    return true;
}

/* The abbreviations of 3.4, in generation order (always lower case). */
static const struct {
    char ascii;
    char code;
} ps_specials[] = {
    {'@', 'a'}, {'%', 'p'}, {'!', 'b'}, {'"', 'q'}, {'_', 'u'}, {'(', 'l'}, {')', 'r'},
};

int mixer_ps_encode(const char *in, size_t n, char *out, size_t outsize)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        char tmp[8];
        size_t tl = 0;
        if (c == 0 || c > 127)
            return MG_EINVAL;
        if (mixer_ps_is_restricted(c)) {
            tmp[tl++] = (char)c;
        } else {
            char code = 0;
            for (size_t k = 0; k < sizeof ps_specials / sizeof ps_specials[0]; k++)
                if (ps_specials[k].ascii == (char)c)
                    code = ps_specials[k].code;
            tmp[tl++] = '(';
            if (code) {
                tmp[tl++] = code;
            } else {
                tmp[tl++] = (char)('0' + c / 100);
                tmp[tl++] = (char)('0' + (c / 10) % 10);
                tmp[tl++] = (char)('0' + c % 10);
            }
            tmp[tl++] = ')';
        }
        if (o + tl + 1 > outsize)
            return MG_ETOOBIG;
        memcpy(out + o, tmp, tl);
        o += tl;
    }
    if (o + 1 > outsize)
        return MG_ETOOBIG;
    out[o] = 0;
    return 0;
}

int mixer_ps_decode(const char *in, size_t n, char *out, size_t outsize)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        char r = (char)c;
        if (!mixer_ps_is_char(c))
            return MG_EPARSE;
        if (c == '(') {
            /* "(x)" with one special letter, or "(ddd)"; anything else is a lone "(" (3.4:
             * "(" -> "(" one way). */
            if (i + 2 < n && in[i + 2] == ')') {
                int lc = tolower((unsigned char)in[i + 1]);
                for (size_t k = 0; k < sizeof ps_specials / sizeof ps_specials[0]; k++)
                    if (ps_specials[k].code == lc) {
                        r = ps_specials[k].ascii;
                        i += 2;
                        break;
                    }
            } else if (i + 4 < n && in[i + 4] == ')' && isdigit((unsigned char)in[i + 1]) &&
                       isdigit((unsigned char)in[i + 2]) && isdigit((unsigned char)in[i + 3])) {
                int v = (in[i + 1] - '0') * 100 + (in[i + 2] - '0') * 10 + (in[i + 3] - '0');
                if (v == 0 || v > 127)
                    return MG_EPARSE;
                r = (char)v;
                i += 4;
            }
        }
        if (o + 2 > outsize)
            return MG_ETOOBIG;
        out[o++] = r;
    }
    if (o + 1 > outsize)
        return MG_ETOOBIG;
    out[o] = 0;
    return 0;
}

bool mixer_ps_is_domain_label(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) && c < 128)
            continue;
        if (c == '-' && i > 0 && i + 1 < n)
            continue;
        return false;
    }
    return true;
}
