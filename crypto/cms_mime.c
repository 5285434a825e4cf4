/* cms_mime: header splitting for S/MIME (see cms_mime.h for why it is by hand). */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "cms_mime.h"
#include "mg_err.h"

int cms_mime_split(const unsigned char *in, size_t len, const unsigned char **hdr, size_t *hdrlen,
                   const unsigned char **body, size_t *bodylen)
{
    /* A blank line ends the headers; an entity may start with one (no headers at all). */
    size_t i = 0;
    for (;;) {
        if (i < len && in[i] == '\n') {
            *hdr = in, *hdrlen = i, *body = in + i + 1, *bodylen = len - i - 1;
            return 0;
        }
        if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n') {
            *hdr = in, *hdrlen = i, *body = in + i + 2, *bodylen = len - i - 2;
            return 0;
        }
        const unsigned char *nl = memchr(in + i, '\n', len - i);
        if (!nl) {
            *hdr = in, *hdrlen = len, *body = in + len, *bodylen = 0;
            return len ? 0 : MG_EPARSE;
        }
        i = (size_t)(nl - in) + 1;
    }
}

int cms_mime_next_field(const unsigned char *hdr, size_t hdrlen, size_t *pos,
                        struct cms_mime_field *f)
{
    size_t i = *pos;
    while (i < hdrlen) {
        size_t start = i;
        /* a field runs to the end of the line and over continuation lines (leading WSP) */
        for (;;) {
            const unsigned char *nl = memchr(hdr + i, '\n', hdrlen - i);
            i = nl ? (size_t)(nl - hdr) + 1 : hdrlen;
            if (i >= hdrlen || (hdr[i] != ' ' && hdr[i] != '\t'))
                break;
        }
        const unsigned char *colon = memchr(hdr + start, ':', i - start);
        if (!colon) /* not a field (stray line): skip it rather than fail */
            continue;
        f->name = (const char *)hdr + start;
        f->namelen = (size_t)(colon - (hdr + start));
        while (f->namelen && (f->name[f->namelen - 1] == ' ' || f->name[f->namelen - 1] == '\t'))
            f->namelen--;
        f->raw = (const char *)hdr + start;
        f->rawlen = i - start;
        *pos = i;
        return 1;
    }
    *pos = i;
    return 0;
}

int cms_mime_field_is(const struct cms_mime_field *f, const char *name)
{
    size_t n = strlen(name);
    return f->namelen == n && strncasecmp(f->name, name, n) == 0;
}

int cms_mime_get(const unsigned char *hdr, size_t hdrlen, const char *name, char *out, size_t outsz)
{
    size_t pos = 0;
    struct cms_mime_field f;
    while (cms_mime_next_field(hdr, hdrlen, &pos, &f)) {
        if (!cms_mime_field_is(&f, name))
            continue;
        const char *v = memchr(f.raw, ':', f.rawlen) + 1;
        const char *e = f.raw + f.rawlen;
        size_t o = 0;
        int sp = 0;
        for (; v < e && outsz; v++) {
            unsigned char c = (unsigned char)*v;
            if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
                sp = 1;
                continue;
            }
            if (sp && o && o + 1 < outsz)
                out[o++] = ' ';
            sp = 0;
            if (o + 1 < outsz)
                out[o++] = (char)c;
        }
        if (outsz)
            out[o] = 0;
        return 1;
    }
    if (outsz)
        out[0] = 0;
    return 0;
}

int cms_mime_append_crlf(struct mg_buf *b, const unsigned char *p, size_t n)
{
    /* Line by line with memchr: most input is already CRLF, so each line is one copy (a byte
     * loop here was 2% of a signing gateway's CPU). */
    size_t start = 0;
    const unsigned char *nl;
    while (start < n && (nl = memchr(p + start, '\n', n - start)) != NULL) {
        size_t i = (size_t)(nl - p);
        size_t end = (i > start && p[i - 1] == '\r') ? i - 1 : i;
        int rc = mg_buf_append(b, p + start, end - start);
        if (!rc)
            rc = mg_buf_append(b, "\r\n", 2);
        if (rc)
            return rc;
        start = i + 1;
    }
    return mg_buf_append(b, p + start, n - start);
}

enum cms_mime_kind cms_mime_classify(const unsigned char *ent, size_t len)
{
    const unsigned char *hdr, *body;
    size_t hl, bl;
    char ct[256];
    if (cms_mime_split(ent, len, &hdr, &hl, &body, &bl) ||
        !cms_mime_get(hdr, hl, "Content-Type", ct, sizeof ct))
        return CMS_MIME_OTHER;
    for (char *c = ct; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!strncmp(ct, "multipart/signed", 16))
        return CMS_MIME_SIGNED_MULTIPART;
    if (!strncmp(ct, "application/pkcs7-mime", 22) || !strncmp(ct, "application/x-pkcs7-mime", 24))
        return CMS_MIME_PKCS7;
    if (!strncmp(ct, "message/rfc822", 14))
        return CMS_MIME_RFC822;
    return CMS_MIME_OTHER;
}

int cms_mime_has_protected_headers(const unsigned char *ent, size_t len)
{
    const unsigned char *h, *b;
    size_t hl, bl;
    char ct[512];
    if (cms_mime_split(ent, len, &h, &hl, &b, &bl) || !cms_mime_get(h, hl, "Content-Type", ct, sizeof ct))
        return 0;
    for (char *c = ct; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return strstr(ct, "protected-headers=") != NULL || strstr(ct, "hp=") != NULL;
}
