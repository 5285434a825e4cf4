/* msgid: Message-ID extraction (RFC 5322 §3.6.4) for logs; see msgid.h. */
#include "msgid.h"

#include "mg_err.h"

#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The end of the line starting at i (index of its LF, or n). */
static size_t line_end(const unsigned char *p, size_t i, size_t n)
{
    while (i < n && p[i] != '\n')
        i++;
    return i;
}

int msgid_find(const unsigned char *p, size_t len, char *out, size_t outlen)
{
    static const char name[] = "message-id:";
    if (outlen)
        out[0] = 0;
    size_t n = len < MSGID_MAX_SCAN ? len : MSGID_MAX_SCAN;
    size_t i = 0;
    while (i < n) {
        size_t e = line_end(p, i, n);
        size_t ll = e - i;
        if (ll && p[e - 1] == '\r')
            ll--;
        if (ll == 0)
            return MG_ENOTFOUND; /* the blank line: end of the header section */
        size_t k = 0;
        while (k < sizeof name - 1 && k < ll && lower(p[i + k]) == name[k])
            k++;
        if (k == sizeof name - 1) {
            /* The value: this line and its continuation lines (starting with WSP). */
            size_t vs = i + k, ve = e;
            while (ve + 1 < n && (p[ve + 1] == ' ' || p[ve + 1] == '\t'))
                ve = line_end(p, ve + 1, n);
            const unsigned char *lt = memchr(p + vs, '<', ve - vs);
            if (!lt)
                return MG_ENOTFOUND;
            size_t a = (size_t)(lt - p);
            const unsigned char *gt = memchr(p + a, '>', ve - a);
            if (!gt)
                return MG_ENOTFOUND;
            size_t idlen = (size_t)(gt - p) - a + 1;
            if (idlen > 998 || idlen + 1 > outlen)
                return MG_ETOOBIG;
            for (size_t q = a; q <= (size_t)(gt - p); q++)
                if (p[q] < 0x21 || p[q] > 0x7e)
                    return MG_EPARSE;
            memcpy(out, p + a, idlen);
            out[idlen] = 0;
            return 0;
        }
        i = e + 1;
    }
    return MG_ENOTFOUND;
}
