/* rules_msg: the prepared view of a message that rules are evaluated on: header fields
 * unfolded (and RFC 2047 encoded words decoded, so a Subject written as =?UTF-8?Q?...?= is
 * matched on its text), Sensitivity / Importance, and the top-level MIME structure (has
 * attachments, signed, encrypted).
 *
 * Headers are parsed by hand rather than with GMime: the view needs only a few facts, the
 * scan is a single linear pass with fixed caps (fields kept, bytes per value, MIME depth and
 * part count), and hostile content (no header/body separator, a megabyte-long line, NUL
 * bytes, a thousand nested multiparts) costs bounded time and memory and cannot fail the
 * message. GMime would build a whole object tree first, recursively, for every part. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mg_err.h"
#include "rules_int.h"

/* ---- header fields -------------------------------------------------------------------- */

static size_t line_end(const unsigned char *c, size_t len, size_t pos, size_t *next)
{
    const unsigned char *nl = memchr(c + pos, '\n', len - pos);
    if (!nl) {
        *next = len;
        return len;
    }
    size_t e = (size_t)(nl - c);
    *next = e + 1;
    return e > pos && c[e - 1] == '\r' ? e - 1 : e;
}

bool rules_empty_line(const unsigned char *c, size_t len, size_t pos)
{
    return pos < len && (c[pos] == '\n' || (c[pos] == '\r' && pos + 1 < len && c[pos + 1] == '\n'));
}

int rules_next_field(const unsigned char *c, size_t len, size_t pos, struct rules_field *f)
{
    if (pos >= len || rules_empty_line(c, len, pos))
        return 0;
    size_t i = pos;
    while (i < len && c[i] > 32 && c[i] < 127 && c[i] != ':')
        i++;
    size_t name_end = i;
    while (i < len && (c[i] == ' ' || c[i] == '\t')) /* obsolete "Name : value" */
        i++;
    if (name_end == pos || i >= len || c[i] != ':')
        return 0;
    f->start = pos;
    f->name_len = name_end - pos;
    f->value_start = i + 1;
    size_t next;
    f->value_end = line_end(c, len, f->value_start, &next);
    while (next < len && (c[next] == ' ' || c[next] == '\t'))
        f->value_end = line_end(c, len, next, &next);
    f->end = next;
    return 1;
}

/* ---- RFC 2047 encoded words ----------------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes one encoded word at s ("=?cs?Q?text?=") into out (NULL: only check); returns its
 * length in s, or 0 when s is not one. The charset is not converted: matching sees the bytes
 * (UTF-8 mostly). A decoded NUL becomes a space. */
static size_t decode_word(const char *s, char *out, size_t *out_len)
{
    if (s[0] != '=' || s[1] != '?')
        return 0;
    /* An encoded word is at most 75 characters (RFC 2047 2); a little slack for sloppy
     * agents, and the bound keeps a value full of "=?" linear. */
    const char *cs_end = memchr(s + 2, '?', strnlen(s + 2, 80));
    if (!cs_end || cs_end == s + 2)
        return 0;
    char enc = (char)toupper((unsigned char)cs_end[1]);
    if ((enc != 'Q' && enc != 'B') || cs_end[2] != '?')
        return 0;
    const char *t = cs_end + 3;
    const char *end = memmem(t, strnlen(t, 200), "?=", 2);
    if (!end || memchr(t, ' ', (size_t)(end - t)))
        return 0;
    size_t n = 0;
    if (enc == 'Q') {
        for (const char *p = t; p < end; p++) {
            char b = *p;
            if (b == '_') {
                b = ' ';
            } else if (b == '=' && p + 2 < end && hexval((unsigned char)p[1]) >= 0 &&
                       hexval((unsigned char)p[2]) >= 0) {
                b = (char)(hexval((unsigned char)p[1]) * 16 + hexval((unsigned char)p[2]));
                p += 2;
            }
            if (out)
                out[n] = b ? b : ' ';
            n++;
        }
    } else {
        unsigned acc = 0;
        int bits = 0;
        for (const char *p = t; p < end; p++) {
            int v = b64val((unsigned char)*p);
            if (v < 0)
                continue;
            acc = ((acc << 6) | (unsigned)v) & 0xffffu;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                char b = (char)((acc >> bits) & 0xff);
                if (out)
                    out[n] = b ? b : ' ';
                n++;
            }
        }
    }
    *out_len = n;
    return (size_t)(end + 2 - s);
}

/* In place: decoded text is never longer than its encoded word. Blanks between two adjacent
 * encoded words are dropped (RFC 2047 section 6.2). */
static void decode_2047(char *s)
{
    if (!strstr(s, "=?"))
        return;
    char *w = s;
    const char *r = s;
    bool last_was_word = false;
    while (*r) {
        size_t dn = 0;
        size_t used = decode_word(r, w, &dn);
        if (used) {
            w += dn;
            r += used;
            last_was_word = true;
            continue;
        }
        if (last_was_word && (*r == ' ' || *r == '\t')) {
            const char *q = r + strspn(r, " \t");
            if (decode_word(q, NULL, &dn)) {
                r = q;
                continue;
            }
        }
        last_was_word = false;
        *w++ = *r++;
    }
    *w = '\0';
}

/* ---- MIME parameters ------------------------------------------------------------------ */

/* Finds parameter `attr` of a Content-Type / Content-Disposition value. Returns 1 (value in
 * out, possibly cut to size) or 0. "attr*" and "attr*0" (RFC 2231) count as present with
 * their raw value. */
static int param_get(const char *v, const char *attr, char *out, size_t size)
{
    const char *p = strchr(v, ';');
    size_t al = strlen(attr);
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *a = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t an = (size_t)(p - a);
        while (an && (a[an - 1] == ' ' || a[an - 1] == '\t'))
            an--;
        bool match = (an == al || (an > al && a[al] == '*')) && !strncasecmp(a, attr, al);
        if (*p != '=') {
            p = *p ? p : NULL;
            continue;
        }
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (match && n + 1 < size)
                    out[n++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (match && n + 1 < size)
                    out[n++] = *p;
                p++;
            }
        }
        if (match) {
            if (size)
                out[n] = '\0';
            return 1;
        }
        p = strchr(p, ';');
    }
    return 0;
}

/* "type/subtype" lower-cased into out ("" when absent or malformed). */
static void media_type(const char *v, char *out, size_t size)
{
    size_t n = 0;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v && *v != ';' && *v != ' ' && *v != '\t' && *v != '(' && n + 1 < size; v++)
        out[n++] = (char)tolower((unsigned char)*v);
    out[n] = '\0';
}

/* ---- the MIME walk -------------------------------------------------------------------- */

struct walk {
    const unsigned char *c;
    size_t len;
    size_t parts;
    struct rules_prepared_info *info;
};

struct part_hdrs {
    char ct[1024]; /* Content-Type value ("" when absent) */
    char cd[1024]; /* Content-Disposition value */
};

static void copy_value(const unsigned char *c, const struct rules_field *f, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = f->value_start; i < f->value_end && n + 1 < size; i++) {
        unsigned char b = c[i];
        if (b == '\r' || b == '\n')
            continue;
        out[n++] = b ? (char)b : ' ';
    }
    out[n] = '\0';
}

/* Parses a part's header in [start, end); returns where its body starts. */
static size_t part_headers(const struct walk *w, size_t start, size_t end, struct part_hdrs *h)
{
    h->ct[0] = h->cd[0] = '\0';
    struct rules_field f;
    size_t pos = start;
    bool ct = false, cd = false;
    while (rules_next_field(w->c, end, pos, &f)) {
        const char *name = (const char *)w->c + f.start;
        if (!ct && f.name_len == 12 && !strncasecmp(name, "content-type", 12)) {
            copy_value(w->c, &f, h->ct, sizeof h->ct);
            ct = true;
        } else if (!cd && f.name_len == 19 && !strncasecmp(name, "content-disposition", 19)) {
            copy_value(w->c, &f, h->cd, sizeof h->cd);
            cd = true;
        }
        pos = f.end;
    }
    if (rules_empty_line(w->c, end, pos))
        pos += w->c[pos] == '\r' ? 2 : 1;
    return pos;
}

enum { CLS_PLAIN, CLS_SIGNED, CLS_ENCRYPTED, CLS_SIGNATURE, CLS_OTHER_CMS };

/* S/MIME and CMS media types (RFC 8551 3.2, RFC 7193). */
static int classify(const char *ct)
{
    char type[128], p[256];
    media_type(ct, type, sizeof type);
    if (!strcmp(type, "multipart/signed"))
        return CLS_SIGNED;
    if (!strcmp(type, "application/pkcs7-signature") ||
        !strcmp(type, "application/x-pkcs7-signature"))
        return CLS_SIGNATURE;
    if (!strcmp(type, "application/pkcs7-mime") || !strcmp(type, "application/x-pkcs7-mime")) {
        if (!param_get(ct, "smime-type", p, sizeof p))
            return CLS_ENCRYPTED; /* old agents omit it; such a part is almost always enveloped */
        if (!strcasecmp(p, "signed-data"))
            return CLS_SIGNED;
        if (!strcasecmp(p, "enveloped-data") || !strcasecmp(p, "authEnveloped-data"))
            return CLS_ENCRYPTED;
        return CLS_OTHER_CMS; /* compressed-data, certs-only */
    }
    if (!strcmp(type, "application/cms")) {
        if (!param_get(ct, "encapsulatingContent", p, sizeof p))
            return CLS_OTHER_CMS;
        /* a list, outermost first: the first value decides */
        p[strcspn(p, " \t,")] = '\0';
        if (!strcmp(p, "signedData"))
            return CLS_SIGNED;
        if (!strcmp(p, "envelopedData") || !strcmp(p, "authEnvelopedData") ||
            !strcmp(p, "encryptedData"))
            return CLS_ENCRYPTED;
        return CLS_OTHER_CMS;
    }
    return CLS_PLAIN;
}

static bool is_attachment(const struct part_hdrs *h, int cls)
{
    if (cls == CLS_SIGNATURE)
        return false;
    char disp[64], tmp[8];
    media_type(h->cd, disp, sizeof disp);
    if (!strcmp(disp, "attachment"))
        return true;
    if (!strcmp(disp, "inline"))
        return false;
    return param_get(h->cd, "filename", tmp, sizeof tmp) ||
           param_get(h->ct, "name", tmp, sizeof tmp);
}

/* A delimiter "--boundary" at a line start in [from, end): its offset, or end. */
static size_t find_delim(const struct walk *w, size_t from, size_t end, const char *b, size_t bl)
{
    while (from < end) {
        const unsigned char *hit = memmem(w->c + from, end - from, b, bl);
        if (!hit)
            return end;
        size_t at = (size_t)(hit - w->c);
        size_t after = at + bl;
        /* at a line start, and the whole boundary: "--b1" is not a delimiter of "b10" */
        if ((at == 0 || w->c[at - 1] == '\n') &&
            (after >= end || w->c[after] == '\r' || w->c[after] == '\n' || w->c[after] == ' ' ||
             w->c[after] == '\t' ||
             (w->c[after] == '-' && after + 1 < end && w->c[after + 1] == '-')))
            return at;
        from = at + 1;
    }
    return end;
}

static void walk_part(struct walk *w, size_t start, size_t end, int depth, bool top);

/* The parts of a multipart body [start, end) with the given Content-Type. */
static void walk_multipart(struct walk *w, const char *ct, size_t start, size_t end, int depth,
                           bool signed_layer)
{
    char bnd[80];
    char delim[84];
    if (!param_get(ct, "boundary", bnd, sizeof bnd) || !bnd[0])
        return;
    if (depth >= RULES_MAX_MIME_DEPTH) {
        w->info->truncated = true;
        return;
    }
    size_t bl = (size_t)snprintf(delim, sizeof delim, "--%s", bnd);
    size_t at = find_delim(w, start, end, delim, bl);
    size_t index = 0;
    while (at < end) {
        size_t next;
        line_end(w->c, end, at, &next);
        if (at + bl + 1 < end && w->c[at + bl] == '-' && w->c[at + bl + 1] == '-')
            return; /* the close delimiter */
        size_t nat = find_delim(w, next, end, delim, bl);
        size_t pend = nat;
        /* the line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1) */
        if (pend > next && w->c[pend - 1] == '\n')
            pend--;
        if (pend > next && w->c[pend - 1] == '\r')
            pend--;
        if (++w->parts > RULES_MAX_MIME_PARTS) {
            w->info->truncated = true;
            return;
        }
        if (signed_layer && index == 1) {
            /* the signature of multipart/signed is no attachment */
        } else if (signed_layer && index == 0) {
            struct part_hdrs h;
            part_headers(w, next, pend, &h);
            int cls = classify(h.ct);
            if (cls == CLS_ENCRYPTED) /* encrypted, then signed */
                w->info->is_encrypted = true;
            walk_part(w, next, pend, depth + 1, false);
        } else {
            walk_part(w, next, pend, depth + 1, false);
        }
        index++;
        at = nat;
    }
}

static void walk_part(struct walk *w, size_t start, size_t end, int depth, bool top)
{
    struct part_hdrs h;
    size_t body = part_headers(w, start, end, &h);
    char type[128];
    media_type(h.ct, type, sizeof type);
    int cls = classify(h.ct);
    if (top) {
        if (cls == CLS_SIGNED)
            w->info->is_signed = true;
        if (cls == CLS_ENCRYPTED)
            w->info->is_encrypted = true;
    }
    if (!strncmp(type, "multipart/", 10)) {
        walk_multipart(w, h.ct, body, end, depth, !strcmp(type, "multipart/signed"));
        return;
    }
    if (top && (cls == CLS_SIGNED || cls == CLS_ENCRYPTED || cls == CLS_OTHER_CMS))
        return; /* the S/MIME wrapper's own "smime.p7m" is no attachment */
    if (is_attachment(&h, cls))
        w->info->has_attachments = true;
}

/* ---- prepare -------------------------------------------------------------------------- */

static const char *const sens_words[] = { "personal", "private", "company-confidential", NULL };
static const char *const imp_words[] = { "low", "normal", "high", NULL };

static unsigned word_mask(const char *v, const char *const *words)
{
    for (unsigned i = 0; words[i]; i++)
        if (!strcasecmp(v, words[i]))
            return 1u << i;
    return 0;
}

static void format_date(int64_t now, char *out, size_t size)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 + 1 || tm.tm_year > 9999 - 1900) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static char *unfold(const unsigned char *c, const struct rules_field *f, bool *cut)
{
    size_t n = f->value_end - f->value_start;
    if (n > RULES_MAX_VALUE) {
        n = RULES_MAX_VALUE;
        *cut = true;
    }
    char *v = malloc(n + 1);
    if (!v)
        return NULL;
    size_t o = 0;
    for (size_t i = f->value_start; i < f->value_start + n; i++) {
        unsigned char b = c[i];
        if (b == '\n' || (b == '\r' && i + 1 < f->value_end && c[i + 1] == '\n'))
            continue;
        v[o++] = b ? (char)b : ' '; /* a NUL must not hide the rest from a regex */
    }
    while (o && (v[o - 1] == ' ' || v[o - 1] == '\t'))
        o--;
    v[o] = '\0';
    size_t lead = strspn(v, " \t");
    if (lead)
        memmove(v, v + lead, o - lead + 1);
    decode_2047(v);
    return v;
}

int rules_prepare(const struct rules_msg *msg, struct rules_prepared **out)
{
    if (!out)
        return MG_EINVAL;
    *out = NULL;
    if (!msg || (!msg->content && msg->content_len))
        return MG_EINVAL;
    struct rules_prepared *p = calloc(1, sizeof *p); /* owned; returned in *out */
    if (!p)
        return MG_ENOMEM;
    p->msg = *msg;
    if (!p->msg.qid)
        p->msg.qid = "";
    if (!p->msg.originator)
        p->msg.originator = "";
    const unsigned char *c = msg->content ? msg->content : (const unsigned char *)"";
    size_t len = msg->content_len;
    format_date(msg->now, p->date, sizeof p->date);
    p->importance = RULES_IMP_NORMAL;

    size_t cap = 16, stored = 0, pos = 0;
    p->h = calloc(cap, sizeof *p->h);
    if (!p->h)
        goto oom;
    struct rules_field f;
    bool sens_seen = false, imp_seen = false;
    while (rules_next_field(c, len, pos, &f)) {
        pos = f.end;
        if (p->n_h >= RULES_MAX_HEADERS || stored >= RULES_MAX_HEADER_BYTES) {
            p->info.truncated = true;
            continue; /* keep scanning (linear) to find where the body starts */
        }
        if (p->n_h == cap) {
            struct rules_hdr *nh = realloc(p->h, 2 * cap * sizeof *nh);
            if (!nh)
                goto oom;
            p->h = nh;
            cap *= 2;
        }
        struct rules_hdr *h = &p->h[p->n_h];
        h->name = strndup((const char *)c + f.start, f.name_len);
        h->value = h->name ? unfold(c, &f, &p->info.truncated) : NULL;
        if (!h->value) {
            free(h->name);
            goto oom;
        }
        p->n_h++;
        stored += strlen(h->value) + f.name_len;
        if (!sens_seen && !strcasecmp(h->name, "sensitivity")) {
            sens_seen = true;
            p->sensitivity = word_mask(h->value, sens_words);
        } else if (!imp_seen && !strcasecmp(h->name, "importance")) {
            imp_seen = true;
            p->importance = word_mask(h->value, imp_words);
        }
    }
    p->info.n_headers = p->n_h;

    struct walk w = { .c = c, .len = len, .info = &p->info };
    walk_part(&w, 0, len, 0, true);
    *out = p;
    return 0;
oom:
    rules_prepared_free(p);
    return MG_ENOMEM;
}

void rules_prepared_free(struct rules_prepared *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_h; i++) {
        free(p->h[i].name);
        free(p->h[i].value);
    }
    free(p->h);
    free(p);
}

void rules_prepared_get_info(const struct rules_prepared *p, struct rules_prepared_info *info)
{
    if (p && info)
        *info = p->info;
}
