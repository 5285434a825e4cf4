/* mixer_hdr: RFC 5322 fields, address lists, msg-ids and dates for the MIXER mapping. */
#include "mixer_hdr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"

void mixer_hdr_free(struct mixer_hdrs *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->f[i].value);
    h->n = 0;
}

static size_t line_end(const char *m, size_t len, size_t i, size_t *next)
{
    const char *nl = memchr(m + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - m) : len;
    *next = nl ? e + 1 : len;
    if (e > i && m[e - 1] == '\r')
        e--;
    return e;
}

/* Walks the header of msg as RFC 5322 writes it: field(i) for each field (its name, and its
 * value from after the colon and the blanks there to the line end), cont() for each
 * continuation line (as it stands, blanks first). Stops at the empty line (*body_off after it;
 * len when there is none). A line that is neither a field nor a continuation is MG_EPARSE, a
 * header over MIXER_HDR_MAX_SIZE or of more than MIXER_HDR_MAX_FIELDS fields MG_ETOOBIG; a
 * callback's non-zero return ends the walk with it. */
struct hdr_walk {
    int (*field)(void *arg, const char *name, size_t nl, const char *v, size_t vl);
    int (*cont)(void *arg, const char *p, size_t n);
    void *arg;
};

static int hdr_walk(const char *msg, size_t len, const struct hdr_walk *w, size_t *body_off)
{
    size_t i = 0, nfields = 0;
    *body_off = len;
    while (i < len) {
        size_t next, e = line_end(msg, len, i, &next);
        if (e == i) { /* the empty line */
            *body_off = next;
            return 0;
        }
        if (i > MIXER_HDR_MAX_SIZE)
            return MG_ETOOBIG;
        int rc;
        if (msg[i] == ' ' || msg[i] == '\t') {
            /* continuation of the previous field */
            if (nfields == 0)
                return MG_EPARSE;
            if ((rc = w->cont(w->arg, msg + i, e - i)) != 0)
                return rc;
            i = next;
            continue;
        }
        const char *colon = memchr(msg + i, ':', e - i);
        if (!colon || colon == msg + i)
            return MG_EPARSE;
        size_t nl = (size_t)(colon - (msg + i));
        for (size_t k = 0; k < nl; k++) {
            unsigned char c = (unsigned char)msg[i + k];
            if (c <= 32 || c >= 127) {
                /* "Name :" (obsolete form) is accepted; anything else is not a field */
                bool ws_tail = true;
                for (size_t j = k; j < nl; j++)
                    if (msg[i + j] != ' ' && msg[i + j] != '\t')
                        ws_tail = false;
                if (!ws_tail || k == 0)
                    return MG_EPARSE;
                nl = k;
                break;
            }
        }
        if (nfields >= MIXER_HDR_MAX_FIELDS)
            return MG_ETOOBIG;
        const char *v = colon + 1;
        while (v < msg + e && (*v == ' ' || *v == '\t'))
            v++;
        if ((rc = w->field(w->arg, msg + i, nl, v, (size_t)(msg + e - v))) != 0)
            return rc;
        nfields++;
        i = next;
    }
    return 0;
}

static int parse_field(void *arg, const char *name, size_t nl, const char *v, size_t vl)
{
    struct mixer_hdrs *h = arg;
    struct mixer_field *f = &h->f[h->n];
    f->value = malloc(vl + 1);
    if (!f->value)
        return MG_ENOMEM;
    memcpy(f->value, v, vl);
    f->value[vl] = 0;
    f->valuelen = vl;
    f->name = name;
    f->namelen = nl;
    f->used = false;
    h->n++;
    return 0;
}

static int parse_cont(void *arg, const char *p, size_t n)
{
    struct mixer_hdrs *h = arg;
    struct mixer_field *f = &h->f[h->n - 1];
    /* after every byte held, not at the first NUL: a value with a NUL in it read "normal" up
     * to the NUL in mixer_hdr_first but "normal" and the next line here (found by the
     * mixer_to_x400 fuzz target: the channel's quick Priority read disagreed with this one) */
    size_t ol = f->valuelen;
    char *nv = realloc(f->value, ol + n + 1);
    if (!nv)
        return MG_ENOMEM;
    memcpy(nv + ol, p, n);
    nv[ol + n] = 0;
    f->value = nv;
    f->valuelen = ol + n;
    return 0;
}

int mixer_hdr_parse(const char *msg, size_t len, struct mixer_hdrs *h)
{
    h->n = 0;
    struct hdr_walk w = { parse_field, parse_cont, h };
    int rc = hdr_walk(msg, len, &w, &h->body_off);
    if (rc)
        mixer_hdr_free(h);
    return rc;
}

/* The first field of one name, kept as mixer_hdr_parse keeps values. */
struct first_field {
    const char *name;
    char *out;
    size_t outsize, o;
    int state; /* 0 not seen, 1 in it (continuations append), 2 after it */
};

static void first_put(struct first_field *ff, const char *p, size_t n)
{
    for (size_t k = 0; k < n && ff->o + 1 < ff->outsize; k++)
        ff->out[ff->o++] = p[k];
    ff->out[ff->o] = 0;
}

static int first_field(void *arg, const char *name, size_t nl, const char *v, size_t vl)
{
    struct first_field *ff = arg;
    if (ff->state == 1)
        ff->state = 2;
    if (ff->state == 0 && strlen(ff->name) == nl && strncasecmp(name, ff->name, nl) == 0) {
        ff->state = 1;
        first_put(ff, v, vl);
    }
    return 0;
}

static int first_cont(void *arg, const char *p, size_t n)
{
    struct first_field *ff = arg;
    if (ff->state == 1)
        first_put(ff, p, n);
    return 0;
}

int mixer_hdr_first(const char *msg, size_t len, const char *name, char *out, size_t outsize)
{
    if (!outsize)
        return MG_EINVAL;
    struct first_field ff = { name, out, outsize, 0, 0 };
    out[0] = 0;
    struct hdr_walk w = { first_field, first_cont, &ff };
    size_t body;
    int rc = hdr_walk(msg, len, &w, &body);
    if (rc)
        return rc;
    return ff.state != 0;
}

bool mixer_hdr_is(const struct mixer_field *f, const char *name)
{
    return strlen(name) == f->namelen && strncasecmp(f->name, name, f->namelen) == 0;
}

struct mixer_field *mixer_hdr_find(struct mixer_hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (mixer_hdr_is(&h->f[i], name))
            return &h->f[i];
    return NULL;
}

/* ---- address lists ---- */

/* Tokens: quoted strings (unquoted into text), comments (skipped), specials, atoms. */
struct lex {
    const char *p;
    char comment[128]; /* text of the last comment skipped */
};

static int skip_cfws(struct lex *l)
{
    for (;;) {
        while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n')
            l->p++;
        if (*l->p != '(')
            return 0;
        const char *cs = l->p + 1;
        int depth = 0;
        do {
            if (*l->p == '\\' && l->p[1])
                l->p++;
            else if (*l->p == '(')
                depth++;
            else if (*l->p == ')')
                depth--;
            else if (*l->p == 0)
                return MG_EPARSE;
            l->p++;
        } while (depth > 0);
        size_t cl = (size_t)(l->p - 1 - cs);
        if (cl >= sizeof l->comment)
            cl = sizeof l->comment - 1;
        memcpy(l->comment, cs, cl);
        l->comment[cl] = 0;
    }
}

static int app(char *out, size_t size, size_t *o, char c)
{
    if (*o + 1 >= size)
        return MG_ETOOBIG;
    out[(*o)++] = c;
    out[*o] = 0;
    return 0;
}

/* Read words (atoms, dots, quoted strings) until one of stop; quoted text is unquoted when
 * unquote, else kept with its quotes (for local parts). Spaces between words become one. */
static int read_words(struct lex *l, const char *stop, char *out, size_t size, bool unquote)
{
    size_t o = 0;
    bool need_space = false;
    out[0] = 0;
    for (;;) {
        int rc = skip_cfws(l);
        if (rc)
            return rc;
        char c = *l->p;
        if (c == 0 || strchr(stop, c))
            return 0;
        if (need_space && unquote && (rc = app(out, size, &o, ' ')))
            return rc;
        need_space = false;
        if (c == '"') {
            if (!unquote && (rc = app(out, size, &o, '"')))
                return rc;
            l->p++;
            while (*l->p && *l->p != '"') {
                if (*l->p == '\\' && l->p[1]) {
                    if (!unquote && (rc = app(out, size, &o, '\\')))
                        return rc;
                    l->p++;
                }
                if ((rc = app(out, size, &o, *l->p)))
                    return rc;
                l->p++;
            }
            if (*l->p != '"')
                return MG_EPARSE;
            l->p++;
            if (!unquote && (rc = app(out, size, &o, '"')))
                return rc;
            need_space = true;
            continue;
        }
        if (c == ')')
            return MG_EPARSE; /* a comment's end without its start */
        if (strchr("<>[]:;@,\"", c) && !strchr(stop, c)) {
            if (c == '@' || c == '[' || c == ']' || c == ':') {
                /* part of an address */
                if ((rc = app(out, size, &o, c)))
                    return rc;
                l->p++;
                continue;
            }
            return MG_EPARSE;
        }
        while (*l->p && !strchr(" \t\r\n()<>[]:;@,\".", *l->p)) {
            if ((rc = app(out, size, &o, *l->p)))
                return rc;
            l->p++;
        }
        while (*l->p == '.') {
            if ((rc = app(out, size, &o, '.')))
                return rc;
            l->p++;
        }
        need_space = true;
    }
}

/* Strip blanks inside an addr-spec written with CFWS between its parts. */
static void squeeze_addr(char *a)
{
    char *w = a;
    bool inq = false;
    for (char *r = a; *r; r++) {
        if (*r == '"' && (r == a || r[-1] != '\\'))
            inq = !inq;
        if (!inq && (*r == ' ' || *r == '\t'))
            continue;
        *w++ = *r;
    }
    *w = 0;
}

int mixer_hdr_addrs(const char *value, struct mixer_mbox *out, size_t max, size_t *n)
{
    struct lex l = {value, ""};
    char words[MIXER_HDR_ADDR_MAX];
    bool in_group = false;
    *n = 0;
    for (;;) {
        int rc = skip_cfws(&l);
        if (rc)
            return rc;
        if (*l.p == 0)
            return in_group ? MG_EPARSE : 0;
        if (*l.p == ',') {
            l.p++;
            continue;
        }
        if (*l.p == ';' && in_group) {
            l.p++;
            in_group = false;
            continue;
        }
        if (*n >= max)
            return MG_ETOOBIG;
        struct mixer_mbox *m = &out[*n];
        memset(m, 0, sizeof *m);
        l.comment[0] = 0;
        /* phrase or addr-spec up to "<", ",", ";" or ":" (group) */
        const char *start = l.p;
        if ((rc = read_words(&l, "<,;", words, sizeof words, false)))
            return rc;
        if (*l.p == '<') {
            /* words were the display name: read them again unquoted */
            struct lex l2 = {start, ""};
            char phrase[MIXER_HDR_ADDR_MAX];
            if ((rc = read_words(&l2, "<,;", phrase, sizeof phrase, true)))
                return rc;
            if (strlen(phrase) >= sizeof m->phrase)
                return MG_ETOOBIG;
            memcpy(m->phrase, phrase, strlen(phrase) + 1);
            const char *gt = strchr(l.p, '>');
            if (!gt)
                return MG_EPARSE;
            size_t al = (size_t)(gt - l.p - 1);
            if (al >= sizeof m->addr)
                return MG_ETOOBIG;
            memcpy(m->addr, l.p + 1, al);
            m->addr[al] = 0;
            squeeze_addr(m->addr);
            l.p = gt + 1;
            l.comment[0] = 0;
            if (skip_cfws(&l) == 0)
                memcpy(m->comment, l.comment, sizeof m->comment);
            (*n)++;
            continue;
        }
        /* a group "name:" when the words end with ":" outside an address */
        char *colon = strchr(words, ':');
        if (colon && !strchr(words, '@') && !in_group) {
            struct lex l2 = {start, ""};
            char phrase[MIXER_HDR_ADDR_MAX];
            const char *c = strchr(start, ':');
            size_t pl = (size_t)(c - start);
            char tmp[MIXER_HDR_ADDR_MAX];
            if (pl >= sizeof tmp)
                return MG_ETOOBIG;
            memcpy(tmp, start, pl);
            tmp[pl] = 0;
            l2.p = tmp;
            if ((rc = read_words(&l2, "", phrase, sizeof phrase, true)))
                return rc;
            if (strlen(phrase) >= sizeof m->phrase)
                return MG_ETOOBIG;
            memcpy(m->phrase, phrase, strlen(phrase) + 1);
            m->group = true;
            (*n)++;
            l.p = c + 1;
            in_group = true;
            continue;
        }
        if (words[0] == 0)
            return MG_EPARSE;
        squeeze_addr(words);
        snprintf(m->addr, sizeof m->addr, "%s", words);
        memcpy(m->comment, l.comment, sizeof m->comment);
        (*n)++;
    }
}

int mixer_hdr_mbox_print(const char *phrase, const char *addr, char *out, size_t outsize)
{
    size_t o = 0;
    int rc = 0;
    if (!phrase || !*phrase) {
        int w = snprintf(out, outsize, "%s", addr);
        return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
    }
    bool quote = false;
    for (const char *p = phrase; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(" !#$%&'*+-/=?^_`{|}~", *p) ||
              (unsigned char)*p >= 128))
            quote = true;
    if (quote)
        rc = app(out, outsize, &o, '"');
    for (const char *p = phrase; !rc && *p; p++) {
        if (quote && (*p == '"' || *p == '\\'))
            rc = app(out, outsize, &o, '\\');
        if (!rc)
            rc = app(out, outsize, &o, *p);
    }
    if (!rc && quote)
        rc = app(out, outsize, &o, '"');
    if (rc)
        return rc;
    int w = snprintf(out + o, outsize - o, *addr ? " <%s>" : ":;", addr);
    return w < 0 || (size_t)w >= outsize - o ? MG_ETOOBIG : 0;
}

int mixer_hdr_msgids(const char *value, char out[][MIXER_HDR_ADDR_MAX], size_t max, size_t *n)
{
    *n = 0;
    for (const char *p = value; (p = strchr(p, '<'));) {
        const char *e = strchr(p, '>');
        if (!e)
            return MG_EPARSE;
        if (*n >= max)
            return MG_ETOOBIG;
        size_t l = (size_t)(e - p - 1);
        if (l == 0 || l >= MIXER_HDR_ADDR_MAX)
            return MG_EPARSE;
        memcpy(out[*n], p + 1, l);
        out[*n][l] = 0;
        (*n)++;
        p = e + 1;
    }
    return 0;
}

/* ---- dates ---- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

int mixer_hdr_date_to_utc(const char *date, char *out, size_t outsize)
{
    const char *p = date;
    int day, year, hh, mm, ss = 0;
    char mon[4];
    while (*p == ' ' || *p == '\t')
        p++;
    /* optional day-of-week */
    if (isalpha((unsigned char)*p)) {
        const char *c = strchr(p, ',');
        if (!c || c - p > 9)
            return MG_EPARSE;
        p = c + 1;
    }
    int used = 0;
    if (sscanf(p, " %2d %3s %4d %2d:%2d%n", &day, mon, &year, &hh, &mm, &used) != 5)
        return MG_EPARSE;
    p += used;
    if (*p == ':') {
        if (sscanf(p, ":%2d%n", &ss, &used) != 1)
            return MG_EPARSE;
        p += used;
    }
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, months[i]) == 0)
            m = i;
    if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 0)
        return MG_EPARSE;
    while (*p == ' ' || *p == '\t')
        p++;
    char zone[6];
    if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
        isdigit((unsigned char)p[3]) && isdigit((unsigned char)p[4])) {
        memcpy(zone, p, 5);
        zone[5] = 0;
    } else if (strncasecmp(p, "UT", 2) == 0 || strncasecmp(p, "GMT", 3) == 0 || *p == 'Z') {
        strcpy(zone, "+0000");
    } else {
        /* obsolete US zones */
        static const struct {
            const char *n, *z;
        } z[] = {{"EST", "-0500"}, {"EDT", "-0400"}, {"CST", "-0600"}, {"CDT", "-0500"},
                 {"MST", "-0700"}, {"MDT", "-0600"}, {"PST", "-0800"}, {"PDT", "-0700"}};
        size_t k;
        for (k = 0; k < sizeof z / sizeof z[0]; k++)
            if (strncasecmp(p, z[k].n, 3) == 0)
                break;
        if (k == sizeof z / sizeof z[0])
            return MG_EPARSE;
        strcpy(zone, z[k].z);
    }
    if (year < 100)
        year += year < 50 ? 2000 : 1900; /* RFC 5322 4.3 obsolete two-digit years */
    int w = snprintf(out, outsize, "%02d%02d%02d%02d%02d%02d%s", year % 100, m + 1, day, hh, mm,
                     ss, zone);
    return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
}

static int dow(int y, int m, int d) /* Sakamoto; m 1..12 */
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

int mixer_hdr_utc_to_date(const char *utc, size_t n, char *out, size_t outsize)
{
    int v[6] = {0};
    size_t i = 0, k;
    for (k = 0; k < 6; k++) {
        if (k == 5 && (i >= n || !isdigit((unsigned char)utc[i])))
            break; /* seconds are optional */
        if (i + 2 > n || !isdigit((unsigned char)utc[i]) || !isdigit((unsigned char)utc[i + 1]))
            return MG_EPARSE;
        v[k] = (utc[i] - '0') * 10 + (utc[i + 1] - '0');
        i += 2;
    }
    char zone[6];
    if (i < n && utc[i] == 'Z' && i + 1 == n) {
        strcpy(zone, "+0000");
    } else if (i + 5 == n && (utc[i] == '+' || utc[i] == '-')) {
        for (size_t j = 1; j < 5; j++)
            if (!isdigit((unsigned char)utc[i + j]))
                return MG_EPARSE;
        memcpy(zone, utc + i, 5);
        zone[5] = 0;
    } else {
        return MG_EPARSE;
    }
    int year = v[0] < 80 ? 2000 + v[0] : 1900 + v[0]; /* RFC 2156 3.3.5: 1980..2079 */
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return MG_EPARSE;
    int w = snprintf(out, outsize, "%s, %d %s %d %02d:%02d:%02d %s",
                     wdays[dow(year, v[1], v[2])], v[2], months[v[1] - 1], year, v[3], v[4], v[5],
                     zone);
    return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
}
