/* lsw_msg: header fields, first line of text and rebuilds of untrusted RFC 5322 content
 * (lsw_msg.h). Every scan is bounded by the input length; MIME nesting by LSW_MIME_DEPTH. */
#include "lsw_msg.h"
#include "mg_err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LSW_MIME_DEPTH 4

/* End of the line starting at p (the '\n' or len), and the start of the next one. */
static size_t line_end(const unsigned char *c, size_t len, size_t p, size_t *next)
{
    const unsigned char *nl = memchr(c + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - c) : len;
    *next = nl ? e + 1 : len;
    if (e > p && c[e - 1] == '\r')
        e--;
    return e;
}

size_t lsw_msg_body_off(const unsigned char *c, size_t len)
{
    size_t p = 0, next;
    while (p < len) {
        size_t e = line_end(c, len, p, &next);
        if (e == p)
            return next;
        p = next;
    }
    return len;
}

/* Header block [0, hlen): finds the idx-th field `name`; returns its value bounds (folded). */
static int find_field(const unsigned char *c, size_t hlen, const char *name, size_t idx, size_t *vs, size_t *ve)
{
    size_t nlen = strlen(name), p = 0, next;
    while (p < hlen) {
        size_t e = line_end(c, hlen, p, &next);
        if (e == p)
            break;
        if (c[p] != ' ' && c[p] != '\t' && e - p > nlen && c[p + nlen] == ':' &&
            !strncasecmp((const char *)c + p, name, nlen)) {
            /* continuation lines belong to it */
            size_t end = next;
            while (end < hlen && (c[end] == ' ' || c[end] == '\t'))
                line_end(c, hlen, end, &end);
            if (idx-- == 0) {
                *vs = p + nlen + 1;
                *ve = end;
                return 0;
            }
            next = end;
        }
        p = next;
    }
    return MG_ENOTFOUND;
}

static int unfold(const unsigned char *c, size_t vs, size_t ve, char **out)
{
    if (ve - vs > LSW_HDR_MAX)
        return MG_ETOOBIG;
    char *s = malloc(ve - vs + 1);
    if (!s)
        return MG_ENOMEM;
    size_t n = 0;
    for (size_t i = vs; i < ve; i++) {
        if (c[i] == '\r' || c[i] == '\n')
            continue;
        if (c[i] == 0)
            s[n++] = ' ';
        else
            s[n++] = (char)c[i];
    }
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    memmove(s, s + a, n - a);
    s[n - a] = 0;
    *out = s;
    return 0;
}

int lsw_msg_header(const unsigned char *c, size_t len, const char *name, size_t idx, char **out)
{
    *out = NULL;
    size_t hlen = lsw_msg_body_off(c, len), vs, ve;
    int rc = find_field(c, hlen, name, idx, &vs, &ve);
    return rc ? rc : unfold(c, vs, ve, out);
}

/* A MIME parameter of a Content-Type value (quoted or token), into buf. */
static int mime_param(const char *v, const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nl) || q[nl] != '=')
            continue;
        q += nl + 1;
        size_t k = 0;
        if (*q == '"') {
            for (q++; *q && *q != '"' && k + 1 < n; q++)
                buf[k++] = *q;
        } else {
            for (; *q && *q != ';' && *q != ' ' && *q != '\t' && k + 1 < n; q++)
                buf[k++] = *q;
        }
        buf[k] = 0;
        return k ? 0 : MG_ENOTFOUND;
    }
    return MG_ENOTFOUND;
}

/* The part [s, e): its first line of text, recursing into multiparts. */
static int part_flot(const unsigned char *c, size_t s, size_t e, int depth, size_t *off, size_t *n)
{
    if (depth > LSW_MIME_DEPTH)
        return MG_ENOTFOUND;
    size_t hl = s + lsw_msg_body_off(c + s, e - s);
    char *ct = NULL, *cte = NULL;
    size_t vs, ve;
    if (find_field(c + s, hl - s, "Content-Type", 0, &vs, &ve) == 0 && unfold(c + s, vs, ve, &ct))
        return MG_ENOMEM;
    if (find_field(c + s, hl - s, "Content-Transfer-Encoding", 0, &vs, &ve) == 0 && unfold(c + s, vs, ve, &cte)) {
        free(ct);
        return MG_ENOMEM;
    }
    int rc = MG_ENOTFOUND;
    if (ct && !strncasecmp(ct, "multipart/", 10)) {
        char b[200];
        if (mime_param(ct, "boundary", b, sizeof b) == 0) {
            size_t bl = strlen(b), p = hl, next, start = 0;
            int in = 0;
            while (p < e && rc == MG_ENOTFOUND) {
                size_t le = line_end(c, e, p, &next);
                int delim = le - p >= bl + 2 && c[p] == '-' && c[p + 1] == '-' && !memcmp(c + p + 2, b, bl);
                if (delim) {
                    if (in)
                        rc = part_flot(c, start, p, depth + 1, off, n);
                    if (le - p >= bl + 4 && c[p + bl + 2] == '-' && c[p + bl + 3] == '-')
                        break;
                    in = 1;
                    start = next;
                }
                p = next;
            }
            if (rc == MG_ENOTFOUND && in && p >= e) /* the last part was never closed */
                rc = part_flot(c, start, e, depth + 1, off, n);
        }
    } else if ((!ct || !strncasecmp(ct, "text/plain", 10)) &&
               (!cte || (strcasecmp(cte, "base64") && strncasecmp(cte, "base64", 6)))) {
        size_t p = hl, next;
        while (p < e) {
            size_t le = line_end(c, e, p, &next);
            size_t a = p;
            while (a < le && (c[a] == ' ' || c[a] == '\t'))
                a++;
            if (a < le) {
                *off = p;
                *n = le - p;
                rc = 0;
                break;
            }
            p = next;
        }
        if (rc && p >= e && hl <= e) { /* an empty text part: insertion point only */
            *off = hl;
            *n = 0;
            rc = 0;
        }
    }
    free(ct);
    free(cte);
    return rc;
}

int lsw_msg_flot(const unsigned char *c, size_t len, size_t *off, size_t *n)
{
    return part_flot(c, 0, len, 0, off, n);
}

/* Growing output buffer. */
struct obuf {
    unsigned char *p;
    size_t n, cap;
    int err;
};

static void put(struct obuf *b, const void *s, size_t n)
{
    if (b->err || !n)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->err = MG_ENOMEM;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(struct obuf *b, const char *s) { put(b, s, strlen(s)); }

static int named(const unsigned char *c, size_t p, size_t e, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++) {
        size_t nl = strlen(names[i]);
        if (e - p > nl && c[p + nl] == ':' && !strncasecmp((const char *)c + p, names[i], nl))
            return 1;
    }
    return 0;
}

int lsw_msg_rebuild(const unsigned char *c, size_t len, const struct lsw_msg_edit *e, unsigned char **out,
                    size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    size_t hl = lsw_msg_body_off(c, len);
    const unsigned char *nl = memchr(c, '\n', len);
    const char *eol = nl && nl > c && nl[-1] != '\r' ? "\n" : "\r\n";
    size_t foff = 0, fn = 0;
    if (e->flot && lsw_msg_flot(c, len, &foff, &fn) != 0)
        return MG_ENOTFOUND;
    struct obuf b = { 0 };
    static const char *const subj[] = { "Subject", NULL };
    int had_subject = 0;
    /* The header block, field by field (a field = its line and its continuation lines). */
    size_t p = 0, next, hend = hl;
    while (p < hl) {
        size_t le = line_end(c, hl, p, &next);
        if (le == p) { /* the empty line */
            hend = p;
            break;
        }
        size_t fe = next;
        while (fe < hl && (c[fe] == ' ' || c[fe] == '\t'))
            line_end(c, hl, fe, &fe);
        if (named(c, p, le, e->remove)) {
            /* dropped */
        } else if (e->subject && named(c, p, le, subj)) {
            had_subject = 1;
            puts_(&b, "Subject: ");
            puts_(&b, e->subject);
            puts_(&b, eol);
        } else {
            put(&b, c + p, fe - p);
            if (fe == len && (fe == 0 || c[fe - 1] != '\n'))
                puts_(&b, eol);
        }
        p = fe;
        hend = fe;
    }
    if (e->subject && !had_subject) {
        puts_(&b, "Subject: ");
        puts_(&b, e->subject);
        puts_(&b, eol);
    }
    for (size_t i = 0; e->add && e->add[i]; i++) {
        puts_(&b, e->add[i]);
        puts_(&b, eol);
    }
    /* The separator and the body, with the first line of text inserted. */
    if (hend < hl)
        put(&b, c + hend, hl - hend);
    else
        puts_(&b, eol);
    if (e->flot && foff >= hl) {
        put(&b, c + hl, foff - hl);
        for (const char *q = e->flot, *nl2; *q; q = nl2 + 1) { /* '\n' separates lines */
            nl2 = strchr(q, '\n');
            put(&b, q, nl2 ? (size_t)(nl2 - q) : strlen(q));
            puts_(&b, eol);
            if (!nl2)
                break;
        }
        put(&b, c + foff, len - foff);
    } else {
        put(&b, c + hl, len - hl);
    }
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *out = b.p ? b.p : calloc(1, 1);
    if (!*out)
        return MG_ENOMEM;
    *outlen = b.n;
    return 0;
}
