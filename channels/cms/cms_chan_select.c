/* cms_chan_select: the message-wide encryption selections of the cms channel that read the
 * message (outside input: nothing here trusts a length): the Subject keyword and the header
 * field a rule set, both removed from the message, and the label's classification. */
#define _GNU_SOURCE /* strcasestr, strndup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cms_chan_int.h"
#include "cms_mime.h"
#include "mg_buf.h"
#include "mg_err.h"

int cmsch_take_keyword(const char *kw, const unsigned char *data, size_t len,
                       unsigned char **out, size_t *outlen)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    *out = NULL;
    if (cms_mime_split(data, len, &h, &hl, &b, &bl))
        return 0;
    size_t pos = 0, kl = strlen(kw);
    struct cms_mime_field f;
    while (cms_mime_next_field(h, hl, &pos, &f)) {
        if (!cms_mime_field_is(&f, "Subject"))
            continue;
        char *field = strndup(f.raw, f.rawlen);
        if (!field)
            return MG_ENOMEM;
        char *at = strcasestr(field + f.namelen + 1, kw);
        if (!at) {
            free(field);
            return 0;
        }
        size_t cut = kl;
        if (at[cut] == ' ')
            cut++;
        else if (at > field + f.namelen + 1 && at[-1] == ' ')
            at--, cut++;
        memmove(at, at + cut, strlen(at + cut) + 1);
        struct mg_buf o;
        mg_buf_init(&o, 0);
        size_t before = (size_t)((const unsigned char *)f.raw - data);
        int rc = mg_buf_append(&o, data, before);
        if (!rc)
            rc = mg_buf_append(&o, field, strlen(field));
        if (!rc)
            rc = mg_buf_append(&o, f.raw + f.rawlen, len - before - f.rawlen);
        free(field);
        if (rc) {
            mg_buf_free(&o);
            return rc;
        }
        *out = mg_buf_steal(&o, outlen);
        return 1;
    }
    return 0;
}

int cmsch_take_header(const char *name, const unsigned char *data, size_t len,
                      unsigned char **out, size_t *outlen)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    *out = NULL;
    if (cms_mime_split(data, len, &h, &hl, &b, &bl))
        return 0;
    struct mg_buf o;
    mg_buf_init(&o, 0);
    int rc = mg_buf_append(&o, data, (size_t)(h - data)), yes = 0, seen = 0;
    size_t pos = 0;
    struct cms_mime_field f;
    while (!rc && cms_mime_next_field(h, hl, &pos, &f)) {
        if (!cms_mime_field_is(&f, name)) {
            rc = mg_buf_append(&o, f.raw, f.rawlen);
            continue;
        }
        seen = 1;
        char v[64] = "";
        size_t n = f.rawlen - f.namelen - 1;
        snprintf(v, sizeof v, "%.*s", (int)(n < 63 ? n : 63), f.raw + f.namelen + 1);
        char *p = v;
        while (*p == ' ' || *p == '\t')
            p++;
        p[strcspn(p, " \t\r\n;")] = 0;
        yes |= !strcasecmp(p, "yes") || !strcasecmp(p, "true") || !strcmp(p, "1") ||
               !strcasecmp(p, "encrypt");
    }
    if (!rc && seen)
        rc = mg_buf_append(&o, h + hl, len - (size_t)(h + hl - data));
    if (rc || !seen) {
        mg_buf_free(&o);
        return rc;
    }
    *out = mg_buf_steal(&o, outlen);
    return yes;
}

/* One DER length at *p (within end): the value length, or -1. */
static long der_len(const unsigned char **p, const unsigned char *end)
{
    if (*p >= end)
        return -1;
    unsigned c = *(*p)++;
    if (c < 0x80)
        return (long)c;
    unsigned n = c & 0x7f;
    if (n == 0 || n > 3 || (size_t)(end - *p) < n)
        return -1;
    long v = 0;
    while (n--)
        v = v << 8 | *(*p)++;
    return v;
}

/* The security-classification of an ESSSecurityLabel (a SET; the INTEGER element), or -1 when
 * there is none or the encoding is not one (the label came from outside: every length is
 * checked). */
long cmsch_label_classification(const unsigned char *d, size_t len)
{
    const unsigned char *p = d, *end = d + len;
    if (!d || len < 2 || *p++ != 0x31)
        return -1;
    long l = der_len(&p, end);
    if (l < 0 || l > end - p)
        return -1;
    end = p + l;
    while (p < end) {
        unsigned tag = *p++;
        long vl = der_len(&p, end);
        if (vl < 0 || vl > end - p)
            return -1;
        if (tag == 0x02) {
            if (vl < 1 || vl > 3 || (p[0] & 0x80))
                return -1;
            long v = 0;
            for (long i = 0; i < vl; i++)
                v = v << 8 | p[i];
            return v;
        }
        p += vl;
    }
    return -1;
}
