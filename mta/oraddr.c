/* oraddr: the RFC 2156 textual O/R address: parse, canonical form, route matching (oraddr.h). */
#include "oraddr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"

/* Keyword aliases as RFC 2156 / RFC 1685 write them, to the one key we keep. */
static const struct { const char *in, *key; } aliases[] = {
    { "C", "C" }, { "ADMD", "ADMD" }, { "A", "ADMD" }, { "PRMD", "PRMD" }, { "P", "PRMD" },
    { "O", "O" }, { "OU", "OU" }, { "OU1", "OU" }, { "OU2", "OU" }, { "OU3", "OU" },
    { "OU4", "OU" }, { "S", "S" }, { "G", "G" }, { "I", "I" }, { "GQ", "GQ" }, { "Q", "GQ" }, { "CN", "CN" },
    { "X121", "X121" }, { "X.121", "X121" }, { "UA-ID", "UA-ID" }, { "T-ID", "T-ID" },
    { "T-TY", "T-TY" }, { "PD-SERVICE", "PD-SERVICE" },
};

/* Hierarchy order of the canonical form; unknown keys sort before the DDAs, in input order. */
static const char *const order[] = { "C", "ADMD", "PRMD", "O", "OU", "S", "G", "I", "GQ", "CN",
                                     "X121", "UA-ID", "T-ID", "T-TY", "PD-SERVICE" };
#define N_ORDER (sizeof order / sizeof *order)

static size_t rank(const char *key)
{
    for (size_t i = 0; i < N_ORDER; i++)
        if (strcmp(order[i], key) == 0)
            return i;
    return strncmp(key, "DD.", 3) == 0 ? N_ORDER + 1 : N_ORDER;
}

static void seterr(char *err, size_t errsz, const char *msg, const char *at)
{
    if (err && errsz)
        snprintf(err, errsz, "%s%s%.*s%s", msg, at ? " at \"" : "", at ? 24 : 0, at ? at : "",
                 at ? "\"" : "");
}

bool oraddr_looks_like(const char *s)
{
    if (!s || !*s)
        return false;
    if (s[0] == '/')
        return strchr(s, '=') != NULL;
    return strchr(s, '@') == NULL && strchr(s, '=') != NULL && strchr(s, ';') != NULL;
}

/* Copies [b, e) trimmed of blanks into out (n bytes), resolving '$' escapes. */
static int copy_trim(const char *b, const char *e, char *out, size_t n)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t') && !(e - 1 > b && e[-2] == '$'))
        e--;
    size_t o = 0;
    for (const char *p = b; p < e; p++) {
        if (*p == '$' && p + 1 < e)
            p++;
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return MG_EPARSE;
        if (o + 1 >= n)
            return MG_ETOOBIG;
        out[o++] = *p;
    }
    out[o] = '\0';
    return 0;
}

static int add_attr(struct oraddr *o, const char *b, const char *e, char *err, size_t errsz)
{
    const char *eq = NULL;
    for (const char *p = b; p < e; p++) {
        if (*p == '$') {
            p++;
            continue;
        }
        if (*p == '=') {
            eq = p;
            break;
        }
    }
    if (!eq) {
        seterr(err, errsz, "an attribute is not KEY=VALUE", b);
        return MG_EPARSE;
    }
    if (o->n >= ORADDR_MAX_ATTRS) {
        seterr(err, errsz, "too many attributes", NULL);
        return MG_ETOOBIG;
    }
    struct oraddr_attr *a = &o->a[o->n];
    char raw[ORADDR_KEY_MAX];
    int rc = copy_trim(b, eq, raw, sizeof raw);
    if (rc || !raw[0]) {
        seterr(err, errsz, rc == MG_ETOOBIG ? "attribute keyword too long" : "empty attribute keyword", b);
        return rc ? rc : MG_EPARSE;
    }
    for (char *p = raw; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    const char *key = NULL;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(aliases[i].in, raw) == 0)
            key = aliases[i].key;
    /* Domain-defined attributes: RFC 2156 writes DD.type and accepts DD:type, DDA.type,
     * DDA:type; the type keeps its case. */
    char dd[ORADDR_KEY_MAX];
    const char *ty = NULL, *kb = b;
    while (*kb == ' ' || *kb == '\t')
        kb++;
    if (!key && (strncmp(raw, "DD.", 3) == 0 || strncmp(raw, "DD:", 3) == 0))
        ty = kb + 3;
    else if (!key && (strncmp(raw, "DDA.", 4) == 0 || strncmp(raw, "DDA:", 4) == 0))
        ty = kb + 4;
    if (ty) {
        memcpy(dd, "DD.", 3);
        if (copy_trim(ty, eq, dd + 3, sizeof dd - 3) == 0 && dd[3])
            key = dd;
    }
    if (!key) {
        seterr(err, errsz, "unknown attribute keyword", b);
        return MG_EPARSE;
    }
    snprintf(a->key, sizeof a->key, "%s", key);
    rc = copy_trim(eq + 1, e, a->val, sizeof a->val);
    if (rc) {
        seterr(err, errsz, rc == MG_ETOOBIG ? "attribute value too long" : "control character in a value", b);
        return rc;
    }
    if (!a->val[0]) {
        if (strcmp(a->key, "ADMD") != 0) {
            seterr(err, errsz, "empty attribute value", b);
            return MG_EPARSE;
        }
        strcpy(a->val, " "); /* X.400 writes "any ADMD" as one space */
    }
    o->n++;
    return 0;
}

static int parse(const char *text, struct oraddr *o, bool address, char *err, size_t errsz);

int oraddr_parse(const char *text, struct oraddr *o, char *err, size_t errsz)
{
    return parse(text, o, true, err, errsz);
}

int oraddr_parse_rule(const char *text, struct oraddr *o, char *err, size_t errsz)
{
    return parse(text, o, false, err, errsz);
}

static int parse(const char *text, struct oraddr *o, bool address, char *err, size_t errsz)
{
    if (!text || !o)
        return MG_EINVAL;
    memset(o, 0, sizeof *o);
    size_t len = strlen(text);
    if (len > ORADDR_TEXT_MAX) {
        seterr(err, errsz, "O/R address too long", NULL);
        return MG_ETOOBIG;
    }
    const char *p = text, *end = text + len;
    char sep = ';';
    while (p < end && *p == ' ')
        p++;
    if (p < end && *p == '/') {
        sep = '/';
        p++;
    }
    while (p < end) {
        const char *q = p;
        while (q < end && *q != sep) {
            if (*q == '$' && q + 1 < end)
                q++;
            q++;
        }
        if (q > end)
            q = end;
        const char *s = p;
        while (s < q && *s == ' ')
            s++;
        if (s < q) {
            int rc = add_attr(o, p, q, err, errsz);
            if (rc)
                return rc;
        }
        p = q < end ? q + 1 : end;
    }
    if (o->n == 0) {
        seterr(err, errsz, "no attributes (expected /C=../ADMD=../...)", NULL);
        return MG_EPARSE;
    }
    /* RFC 2156 4.1: C without ADMD means the blank ADMD. */
    if (address && oraddr_get(o, "C") && !oraddr_get(o, "ADMD")) {
        if (o->n >= ORADDR_MAX_ATTRS) {
            seterr(err, errsz, "too many attributes", NULL);
            return MG_ETOOBIG;
        }
        snprintf(o->a[o->n].key, sizeof o->a[o->n].key, "ADMD");
        snprintf(o->a[o->n].val, sizeof o->a[o->n].val, " ");
        o->n++;
    }
    /* Stable sort into hierarchy order (insertion: n <= 24). */
    for (size_t i = 1; i < o->n; i++) {
        struct oraddr_attr t = o->a[i];
        size_t r = rank(t.key), j = i;
        while (j > 0 && rank(o->a[j - 1].key) > r) {
            o->a[j] = o->a[j - 1];
            j--;
        }
        o->a[j] = t;
    }
    return 0;
}

/* s as parse reads it back: '$' before '/', '$' and '=', and before a space at either end
 * (parse trims unescaped ones). A domain-defined type is written so too: it may hold any of
 * them. ADMD's lone space ("any ADMD") is written as it is: parse gives it back. */
static void put_escaped(char *buf, size_t bufsz, size_t *off, const char *s, bool lone_space)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len && *off < bufsz; i++) {
        char c = s[i];
        if (c == '/' || c == '$' || c == '=' ||
            (c == ' ' && (i == 0 || i + 1 == len) && !(lone_space && len == 1))) {
            if (*off + 1 < bufsz)
                buf[(*off)++] = '$';
        }
        if (*off + 1 < bufsz)
            buf[*off] = c;
        (*off)++;
    }
}

int oraddr_format(const struct oraddr *o, char *buf, size_t bufsz)
{
    if (!o || !buf || !bufsz)
        return MG_EINVAL;
    size_t off = 0;
    int n = snprintf(buf, bufsz, "/");
    off = (size_t)n;
    for (size_t i = 0; i < o->n && off < bufsz; i++) {
        const char *k = o->a[i].key;
        if (strncmp(k, "DD.", 3) == 0) { /* the type is trimmed on its own when read */
            for (int j = 0; j < 3; j++, off++)
                if (off + 1 < bufsz)
                    buf[off] = k[j];
            k += 3;
        }
        put_escaped(buf, bufsz, &off, k, false);
        if (off + 1 < bufsz)
            buf[off] = '=';
        off++;
        put_escaped(buf, bufsz, &off, o->a[i].val, strcmp(o->a[i].key, "ADMD") == 0);
        if (off < bufsz) {
            buf[off] = '\0';
            n = snprintf(buf + off, bufsz - off, "/");
            off += (size_t)n;
        }
    }
    if (off >= bufsz) {
        buf[bufsz - 1] = '\0';
        return MG_ETOOBIG;
    }
    /* escapes lengthen it: a form longer than parse accepts would not read back */
    return off > ORADDR_TEXT_MAX ? MG_ETOOBIG : 0;
}

const char *oraddr_get(const struct oraddr *o, const char *key)
{
    for (size_t i = 0; o && key && i < o->n; i++)
        if (strcmp(o->a[i].key, key) == 0)
            return o->a[i].val;
    return NULL;
}

static bool val_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

bool oraddr_matches(const struct oraddr *rule, const struct oraddr *addr)
{
    if (!rule || !addr)
        return false;
    size_t rule_ou = 0;
    for (size_t i = 0; i < rule->n; i++) {
        const struct oraddr_attr *ra = &rule->a[i];
        if (strcmp(ra->key, "OU") == 0) {
            /* The rule's k-th OU must be the address's k-th OU. */
            size_t k = 0;
            bool ok = false;
            for (size_t j = 0; j < addr->n; j++)
                if (strcmp(addr->a[j].key, "OU") == 0 && k++ == rule_ou) {
                    ok = val_eq(addr->a[j].val, ra->val);
                    break;
                }
            if (!ok)
                return false;
            rule_ou++;
            continue;
        }
        bool found = false;
        for (size_t j = 0; j < addr->n && !found; j++)
            if (strcmp(addr->a[j].key, ra->key) == 0)
                found = val_eq(addr->a[j].val, ra->val);
        if (!found)
            return false;
    }
    return true;
}

int oraddr_normalize(const char *text, char *buf, size_t bufsz, char *err, size_t errsz)
{
    struct oraddr o;
    int rc = oraddr_parse(text, &o, err, errsz);
    if (!rc && (rc = oraddr_format(&o, buf, bufsz)) != 0)
        seterr(err, errsz, "canonical form too long", NULL);
    return rc;
}
