/* mixer_report_dsn: the parser of RFC 3464 DSNs for MIXER's DSN -> X.400 report direction
 * (mixer_dsn_parse in mixer_report.h). The input is outside mail: every field is read through
 * mixer_hdr (bounded, unfolded), parts are found by scanning for the boundary lines, nothing
 * trusts a length it was given, and anything unexpected is MG_EPARSE, never an abort. */
#include "mixer_report.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_hdr.h"

#define DSN_MAX_PARTS 16

/* The value of parameter name in a Content-Type value (token or quoted-string). */
static int ct_param(const char *v, const char *name, char *out, size_t outsize)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nl) || q[nl] != '=')
            continue;
        q += nl + 1;
        size_t o = 0;
        if (*q == '"') {
            for (q++; *q && *q != '"'; q++) {
                if (*q == '\\' && q[1])
                    q++;
                if (o + 1 >= outsize)
                    return MG_ETOOBIG;
                out[o++] = *q;
            }
        } else {
            for (; *q && *q != ';' && *q != ' ' && *q != '\t'; q++) {
                if (o + 1 >= outsize)
                    return MG_ETOOBIG;
                out[o++] = *q;
            }
        }
        out[o] = '\0';
        return o ? 0 : MG_EPARSE;
    }
    return MG_ENOTFOUND;
}

/* 1 when the Content-Type value's type/subtype is t. */
static int ct_is(const char *v, const char *t)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(t);
    return !strncasecmp(v, t, n) && (v[n] == '\0' || v[n] == ';' || v[n] == ' ' || v[n] == '\t');
}

/* "type; value" -> type, value (blanks trimmed). */
static void typed(const char *v, char *type, size_t tsize, char *val, size_t vsize)
{
    const char *semi = strchr(v, ';');
    type[0] = '\0';
    if (semi) {
        const char *a = v;
        while (*a == ' ' || *a == '\t')
            a++;
        size_t tl = (size_t)(semi - a);
        while (tl && (a[tl - 1] == ' ' || a[tl - 1] == '\t'))
            tl--;
        snprintf(type, tsize, "%.*s", (int)(tl < 15 ? tl : 15), a);
        for (char *p = type; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        v = semi + 1;
    }
    while (*v == ' ' || *v == '\t')
        v++;
    snprintf(val, vsize, "%s", v);
    size_t l = strlen(val);
    while (l && (val[l - 1] == ' ' || val[l - 1] == '\t'))
        val[--l] = '\0';
}

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static const char *find_ci(const char *h, const char *n)
{
    size_t nl = strlen(n);
    for (; *h; h++)
        if (!strncasecmp(h, n, nl))
            return h;
    return NULL;
}

/* "x400; Reason 1 (unable-to-transfer); Diagnostic 0 (...)" -> codes (RFC 2156 5.3.8). */
static void x400_diag(const char *v, int *reason, int *diag)
{
    const char *p = find_ci(v, "Reason ");
    if (p && isdigit((unsigned char)p[7])) {
        long n = strtol(p + 7, NULL, 10);
        if (n >= 0 && n < 1000)
            *reason = (int)n;
    }
    p = find_ci(v, "Diagnostic ");
    if (p && isdigit((unsigned char)p[11])) {
        long n = strtol(p + 11, NULL, 10);
        if (n >= 0 && n < 1000)
            *diag = (int)n;
    }
}

/* One part of the multipart body: [p, p+n). */
struct part {
    const char *p;
    size_t n;
};

/* Split the multipart body by "--boundary" lines. */
static size_t split_parts(const char *b, size_t n, const char *bnd, struct part *parts, size_t max)
{
    size_t bl = strlen(bnd), np = 0, i = 0;
    const char *open = NULL;
    while (i < n) {
        const char *line = b + i;
        const char *nl = memchr(line, '\n', n - i);
        size_t ll = nl ? (size_t)(nl - line) + 1 : n - i;
        if (ll >= 2 + bl && line[0] == '-' && line[1] == '-' && !memcmp(line + 2, bnd, bl)) {
            if (open && np < max) {
                size_t pl = (size_t)(line - open);
                /* the CRLF before the delimiter belongs to the delimiter (RFC 2046 5.1.1) */
                if (pl && open[pl - 1] == '\n')
                    pl--;
                if (pl && open[pl - 1] == '\r')
                    pl--;
                parts[np].p = open;
                parts[np++].n = pl;
            }
            if (ll >= 4 + bl && line[2 + bl] == '-' && line[3 + bl] == '-')
                return np; /* close delimiter */
            open = line + ll;
        }
        i += ll;
    }
    return np; /* no close delimiter: a truncated report keeps what was complete */
}

static int parse_status(const char *s, size_t n, struct mixer_report *out, size_t *skipped,
                        struct mixer_hdrs *h)
{
    size_t off = 0;
    int group = 0;
    while (off < n) {
        /* skip blank lines between groups */
        if (s[off] == '\r' || s[off] == '\n') {
            off++;
            continue;
        }
        mixer_hdr_free(h);
        memset(h, 0, sizeof *h);
        int rc = mixer_hdr_parse(s + off, n - off, h);
        if (rc)
            return rc;
        if (group++ == 0) {
            struct mixer_field *f = mixer_hdr_find(h, "Original-Envelope-Id");
            if (f) {
                const char *v = f->value;
                if (!strncasecmp(v, "X400-MTS-Identifier:", 20))
                    v += 20;
                while (*v == ' ')
                    v++;
                if (*v == '[')
                    snprintf(out->subject_id, sizeof out->subject_id, "%s", v);
                else if (f->value[0] && strlen(f->value) < 100) /* an SMTP ENVID (A.3.1) */
                    snprintf(out->correlator, sizeof out->correlator, "SMTP/NOTARY ENVID: %s",
                             f->value);
            }
            if ((f = mixer_hdr_find(h, "X400-Content-Correlator")))
                snprintf(out->correlator, sizeof out->correlator, "%s", f->value);
            if ((f = mixer_hdr_find(h, "Arrival-Date")) &&
                mixer_hdr_date_to_utc(f->value, out->arrival, sizeof out->arrival))
                out->arrival[0] = '\0';
            if ((f = mixer_hdr_find(h, "X400-Content-Identifier")))
                snprintf(out->content_id, sizeof out->content_id, "%s", f->value);
        } else {
            struct mixer_field *fa = mixer_hdr_find(h, "Action"), *ff = mixer_hdr_find(h, "Final-Recipient");
            char action[32] = "";
            if (fa)
                snprintf(action, sizeof action, "%.31s", fa->value);
            for (char *p = action; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            int delivered = !strncmp(action, "delivered", 9), failed = !strncmp(action, "failed", 6);
            if (!ff || (!delivered && !failed) || out->nrcpts >= MIXER_REPORT_MAX_RCPTS) {
                (*skipped)++;
            } else {
                struct mixer_report_rcpt *r = &out->rcpts[out->nrcpts++];
                memset(r, 0, sizeof *r);
                r->delivered = delivered;
                r->reason = r->diagnostic = -1;
                typed(ff->value, r->final_type, sizeof r->final_type, r->final_rcpt,
                      sizeof r->final_rcpt);
                struct mixer_field *f;
                if ((f = mixer_hdr_find(h, "Original-Recipient")))
                    typed(f->value, r->original_type, sizeof r->original_type, r->original_rcpt,
                          sizeof r->original_rcpt);
                if ((f = mixer_hdr_find(h, "Status"))) {
                    char t[16];
                    typed(f->value, t, sizeof t, r->status, sizeof r->status);
                    r->status[strcspn(r->status, " \t(")] = '\0';
                }
                if (delivered && (f = mixer_hdr_find(h, "X400-Type-of-MTS-User"))) {
                    /* labelled integer "dl (3)" (RFC 2156 appendix E) */
                    const char *lp = strchr(f->value, '(');
                    long u = lp ? strtol(lp + 1, NULL, 10) : -1;
                    if (u > 0 && u <= 6)
                        r->mts_user = (int)u;
                }
                if (!delivered) {
                    mixer_report_reason_of(r->status, &r->reason, &r->diagnostic);
                    f = mixer_hdr_find(h, "Diagnostic-Code");
                    if (f && !strncasecmp(f->value, "x400;", 5)) {
                        int rs = -1, dg = -1;
                        x400_diag(f->value, &rs, &dg);
                        if (rs >= 0) { /* the exact codes win over the status table */
                            r->reason = rs;
                            r->diagnostic = dg;
                        }
                    } else if (f) {
                        char t[16];
                        typed(f->value, t, sizeof t, r->supplementary, sizeof r->supplementary);
                    }
                }
                if ((f = mixer_hdr_find(h, "X400-Supplementary-Info"))) {
                    const char *v = f->value;
                    size_t l = strlen(v);
                    while (l && (v[l - 1] == ';' || v[l - 1] == ' '))
                        l--;
                    if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
                        v++;
                        l -= 2;
                    }
                    snprintf(r->supplementary, sizeof r->supplementary, "%.*s", (int)l, v);
                }
                /* RFC 2156 5.3.8.1 written back: a redirection names the actual recipient,
                 * the final / original ones are the originally intended recipient */
                if ((f = mixer_hdr_find(h, "X400-Redirect-Recipient"))) {
                    char t[16], v[MIXER_REPORT_ADDR_MAX];
                    typed(f->value, t, sizeof t, v, sizeof v);
                    if (!strcmp(t, "x400") && v[0]) {
                        if (!strcmp(r->final_type, "rfc822"))
                            memcpy(r->original_822, r->final_rcpt, sizeof r->original_822);
                        snprintf(r->final_rcpt, sizeof r->final_rcpt, "%s", v);
                        snprintf(r->final_type, sizeof r->final_type, "x400");
                        if ((f = mixer_hdr_find(h, "X400-Mapped-Redirect-Recipient")))
                            typed(f->value, t, sizeof t, r->final_822, sizeof r->final_822);
                    }
                } else if (!strcmp(r->final_type, "x400") && !strcmp(r->original_type, "rfc822")) {
                    /* the Internet form of the same recipient, not an intended one */
                    memcpy(r->final_822, r->original_rcpt, sizeof r->final_822); /* same size */
                    r->original_rcpt[0] = '\0';
                    r->original_type[0] = '\0';
                }
                if ((f = mixer_hdr_find(h, "X400-Originally-Specified-Recipient-Number"))) {
                    long v = strtol(f->value, NULL, 10);
                    r->number = v > 0 && v < 32768 ? (int)v : 0;
                }
                if ((f = mixer_hdr_find(h, "X400-Delivery-Time")) &&
                    mixer_hdr_date_to_utc(f->value, r->when, sizeof r->when))
                    r->when[0] = '\0';
            }
        }
        if (h->body_off == 0 || h->body_off > n - off)
            break;
        off += h->body_off;
    }
    return 0;
}

int mixer_dsn_parse(const void *data, size_t len, struct mixer_report *out, size_t *skipped,
                    char *why, size_t whysize)
{
    const char *msg = data;
    mixer_report_init(out);
    *skipped = 0;
    if (why && whysize)
        why[0] = '\0';
    if (!data || len == 0 || len > MIXER_HDR_MAX_SIZE * 16) {
        snprintf(why, whysize, "empty or oversized report");
        return MG_EPARSE;
    }
    struct mixer_hdrs *h = calloc(1, sizeof *h);
    if (!h)
        return MG_ENOMEM;
    int rc = mixer_hdr_parse(msg, len, h);
    char bnd[80];
    struct mixer_field *ct = rc ? NULL : mixer_hdr_find(h, "Content-Type");
    if (!rc && (!ct || !ct_is(ct->value, "multipart/report"))) {
        snprintf(why, whysize, "not a multipart/report");
        rc = MG_EPARSE;
    }
    if (!rc && ct_param(ct->value, "boundary", bnd, sizeof bnd)) {
        snprintf(why, whysize, "multipart/report without a usable boundary");
        rc = MG_EPARSE;
    }
    size_t body = rc ? 0 : h->body_off;
    /* the arrival time when the DSN gives no Arrival-Date (RFC 2156 5.1.8.3) */
    char date_utc[32] = "";
    struct mixer_field *fd = rc ? NULL : mixer_hdr_find(h, "Date");
    if (fd && mixer_hdr_date_to_utc(fd->value, date_utc, sizeof date_utc) != 0)
        date_utc[0] = '\0';
    mixer_hdr_free(h);
    struct part parts[DSN_MAX_PARTS];
    size_t np = rc || body > len ? 0 : split_parts(msg + body, len - body, bnd, parts, DSN_MAX_PARTS);
    int seen_status = 0;
    for (size_t i = 0; !rc && i < np; i++) {
        memset(h, 0, sizeof *h);
        if (mixer_hdr_parse(parts[i].p, parts[i].n, h)) {
            mixer_hdr_free(h);
            continue; /* a broken part is skipped, the report may still be usable */
        }
        struct mixer_field *pct = mixer_hdr_find(h, "Content-Type");
        size_t boff = h->body_off <= parts[i].n ? h->body_off : parts[i].n;
        const char *pb = parts[i].p + boff;
        size_t pn = parts[i].n - boff;
        int is_status = pct && ct_is(pct->value, "message/delivery-status");
        int is_msg = !pct                                   ? 0
                     : ct_is(pct->value, "message/rfc822")      ? 1
                     : ct_is(pct->value, "text/rfc822-headers") ? 2
                                                                : 0;
        mixer_hdr_free(h);
        if (is_status && !seen_status) {
            seen_status = 1;
            memset(h, 0, sizeof *h);
            rc = parse_status(pb, pn, out, skipped, h);
            mixer_hdr_free(h);
            if (rc)
                snprintf(why, whysize, "malformed message/delivery-status part");
        } else if (is_msg && !out->returned && pn) {
            out->returned = (const unsigned char *)pb;
            out->returned_len = pn;
            out->returned_headers_only = is_msg == 2;
        }
    }
    free(h);
    if (!rc && !out->arrival[0])
        snprintf(out->arrival, sizeof out->arrival, "%s", date_utc);
    if (!rc && !seen_status) {
        snprintf(why, whysize, "no message/delivery-status part");
        rc = MG_EPARSE;
    }
    if (!rc && out->nrcpts == 0) {
        snprintf(why, whysize, "no failed or delivered recipient in the report");
        rc = MG_EPARSE;
    }
    if (rc == MG_ETOOBIG)
        rc = MG_EPARSE;
    return rc;
}
