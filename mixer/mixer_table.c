/* mixer_table: RFC 2156 appendix F MCGAM tables: loader and longest-match lookups. */
#include "mixer_table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_country.h"
#include "mixer_ps.h"

static const enum mixer_or_key level_keys[MIXER_TABLE_LEVELS] = {
    MIXER_OR_C, MIXER_OR_ADMD, MIXER_OR_PRMD, MIXER_OR_O,
    MIXER_OR_OU, MIXER_OR_OU, MIXER_OR_OU, MIXER_OR_OU,
};

enum mixer_or_key mixer_tables_level_key(size_t i)
{
    return i < MIXER_TABLE_LEVELS ? level_keys[i] : MIXER_OR_DD;
}

const char *mixer_tables_or_level(const struct mixer_or *or, size_t i)
{
    if (i >= MIXER_TABLE_LEVELS)
        return NULL;
    return mixer_or_get(or, level_keys[i], i >= 4 ? i - 4 : 0);
}

void mixer_tables_init(struct mixer_tables *t)
{
    memset(t, 0, sizeof *t);
}

void mixer_tables_free(struct mixer_tables *t)
{
    for (int k = 0; k < MIXER_TABLE_KINDS; k++)
        free(t->e[k]);
    memset(t, 0, sizeof *t);
}

#define ERR(...) (err ? (void)snprintf(err, errsize, __VA_ARGS__) : (void)0)

/* Parse dmn-or-address s[0..n) into e's levels. 0 or MG_EPARSE with why. */
static int parse_dmn_or(const char *s, size_t n, struct mixer_mcgam *e, const char **why)
{
    /* Split at unescaped dots into parts, left to right, then read them right to left. */
    struct {
        size_t start, len;
    } part[MIXER_TABLE_LEVELS + 1];
    size_t np = 0, st = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] == '\\') {
            i++;
            continue;
        }
        if (i == n || s[i] == '.') {
            if (np >= MIXER_TABLE_LEVELS) {
                *why = "more than 8 components";
                return MG_EPARSE;
            }
            part[np].start = st;
            part[np].len = i - st;
            np++;
            st = i + 1;
        }
    }
    size_t level = 0;
    e->nlevels = 0;
    for (size_t p = np; p-- > 0;) {
        const char *ps = s + part[p].start;
        size_t pl = part[p].len;
        const char *dollar = memchr(ps, '$', pl);
        if (!dollar) {
            *why = "component without \"$\"";
            return MG_EPARSE;
        }
        size_t kl = (size_t)(dollar - ps);
        int key = mixer_or_key_lookup(ps, kl);
        if (kl && ps[0] == '~') {
            /* appendix F allows them in tables 3 and 4; this gateway keys those on the
             * hierarchy only */
            *why = "domain-defined attributes are not supported in these tables (C ADMD PRMD O OU)";
            return MG_EPARSE;
        }
        /* find the level of this key at or after the current one; skipped levels are
         * omitted (the RFC writes them as "$@", older tables leave them out) */
        size_t lv = level;
        while (lv < MIXER_TABLE_LEVELS && (int)level_keys[lv] != key)
            lv++;
        if (key < 0 || lv >= MIXER_TABLE_LEVELS) {
            *why = key < 0 ? "unknown attribute" : "attribute out of hierarchy order (C ADMD PRMD O OU)";
            return MG_EPARSE;
        }
        for (; level < lv; level++) {
            e->level[level].omitted = true;
            e->level[level].value[0] = 0;
        }
        const char *v = dollar + 1;
        size_t vl = pl - kl - 1, o = 0;
        if (vl == 1 && v[0] == '@') {
            e->level[level].omitted = true;
            e->level[level].value[0] = 0;
        } else {
            for (size_t i = 0; i < vl; i++) {
                char c = v[i];
                if (c == '\\' && i + 1 < vl)
                    c = v[++i];
                if (!mixer_ps_is_char((unsigned char)c) && c != '{' && c != '}' && c != '*') {
                    *why = "value outside the PrintableString set";
                    return MG_EPARSE;
                }
                if (o + 1 >= MIXER_TABLE_VALUE_MAX) {
                    *why = "value too long";
                    return MG_EPARSE;
                }
                e->level[level].value[o++] = c;
            }
            e->level[level].value[o] = 0;
            e->level[level].omitted = false;
        }
        level++;
    }
    if (level == 0 || level_keys[0] != MIXER_OR_C || e->level[0].omitted) {
        *why = "an entry needs a country (C$..)";
        return MG_EPARSE;
    }
    e->nlevels = level;
    return 0;
}

static int check_domain(const char *d, size_t n)
{
    if (n == 0 || n >= MIXER_TABLE_DOMAIN_MAX)
        return MG_EPARSE;
    size_t st = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || d[i] == '.') {
            if (!mixer_ps_is_domain_label(d + st, i - st))
                return MG_EPARSE;
            st = i + 1;
        }
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\r'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == ' '))
        (*n)--;
}

int mixer_tables_load(struct mixer_tables *t, enum mixer_table_kind kind, const char *name,
                      const char *text, size_t len, char *err, size_t errsize)
{
    size_t keep = t->n[kind];
    unsigned line = 0;
    size_t i = 0;
    if ((int)kind < 0 || kind >= MIXER_TABLE_KINDS)
        return MG_EINVAL;
    /* tables 1 and 3 are "domain#or#", tables 2 and 4 "or#domain#" */
    bool dom_first = kind == MIXER_TABLE_RFC2OR || kind == MIXER_TABLE_GATE1;
    while (i < len) {
        const char *ls = text + i;
        const char *nl = memchr(ls, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - ls) : len - i;
        i += ll + (nl ? 1 : 0);
        line++;
        /* a trailing space is meaningful in "ADMD$ " at the end of an or2rfc line's O/R
         * part but never at the end of a line: trim only CR and the ends */
        const char *s = ls;
        size_t n = ll;
        while (n && (s[n - 1] == '\r'))
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        if (memchr(s, 0, n)) {
            ERR("%s:%u: NUL byte", name, line);
            goto fail;
        }
        /* the two halves: appendix F "a#b#", or PP's "a:b" */
        const char *a, *b;
        size_t al, bl;
        const char *hash = memchr(s, '#', n);
        if (hash) {
            a = s;
            al = (size_t)(hash - s);
            b = hash + 1;
            bl = n - al - 1;
            while (bl && (b[bl - 1] == ' ' || b[bl - 1] == '\t'))
                bl--;
            if (bl == 0 || b[bl - 1] != '#') {
                ERR("%s:%u: expected \"left#right#\"", name, line);
                goto fail;
            }
            bl--;
        } else {
            /* domain:or splits at the first ":" (domains have none); or:domain at the last */
            const char *c = NULL;
            if (dom_first) {
                c = memchr(s, ':', n);
            } else {
                for (size_t k = n; k-- > 0;)
                    if (s[k] == ':') {
                        c = s + k;
                        break;
                    }
            }
            if (!c) {
                ERR("%s:%u: expected \"domain#or#\" or \"domain:or\"", name, line);
                goto fail;
            }
            a = s;
            al = (size_t)(c - s);
            b = c + 1;
            bl = n - al - 1;
        }
        const char *dom = dom_first ? a : b;
        size_t dl = dom_first ? al : bl;
        const char *orp = dom_first ? b : a;
        size_t orl = dom_first ? bl : al;
        trim(&dom, &dl);
        /* leading blanks of the O/R part are layout; trailing ones may be a blank value */
        while (orl && (orp[0] == ' ' || orp[0] == '\t'))
            orp++, orl--;
        if (check_domain(dom, dl) != 0) {
            ERR("%s:%u: \"%.*s\" is not a domain (letters, digits, inner hyphens)", name, line,
                (int)(dl > 80 ? 80 : dl), dom);
            goto fail;
        }
        if (t->n[kind] >= MIXER_TABLE_MAX_ENTRIES) {
            ERR("%s:%u: more than %u entries", name, line, MIXER_TABLE_MAX_ENTRIES);
            t->n[kind] = keep;
            return MG_ETOOBIG;
        }
        if (t->n[kind] == t->cap[kind]) {
            size_t nc = t->cap[kind] ? t->cap[kind] * 2 : 64;
            struct mixer_mcgam *ne = realloc(t->e[kind], nc * sizeof *ne);
            if (!ne) {
                ERR("%s:%u: out of memory", name, line);
                t->n[kind] = keep;
                return MG_ENOMEM;
            }
            t->e[kind] = ne;
            t->cap[kind] = nc;
        }
        struct mixer_mcgam *e = &t->e[kind][t->n[kind]];
        memset(e, 0, sizeof *e);
        memcpy(e->domain, dom, dl);
        e->domain[dl] = 0;
        const char *why = NULL;
        if (parse_dmn_or(orp, orl, e, &why) != 0) {
            ERR("%s:%u: %s", name, line, why);
            goto fail;
        }
        snprintf(e->file, sizeof e->file, "%s", name);
        e->line = line;
        t->n[kind]++;
    }
    return 0;
fail:
    t->n[kind] = keep;
    return MG_EPARSE;
}

static const struct mixer_mcgam *find_domain(const struct mixer_tables *t,
                                             enum mixer_table_kind kind, const char *domain,
                                             size_t *prefix_len)
{
    const struct mixer_mcgam *best = NULL;
    size_t dl = strlen(domain), bestl = 0;
    while (dl && domain[dl - 1] == '.')
        dl--; /* a root dot is not part of the name */
    for (size_t i = 0; i < t->n[kind]; i++) {
        const struct mixer_mcgam *e = &t->e[kind][i];
        size_t el = strlen(e->domain);
        if (el > dl || el <= bestl)
            continue;
        if (strncasecmp(domain + dl - el, e->domain, el) != 0)
            continue;
        if (el < dl && domain[dl - el - 1] != '.')
            continue;
        best = e;
        bestl = el;
    }
    if (best && prefix_len)
        *prefix_len = dl - bestl;
    return best;
}

const struct mixer_mcgam *mixer_tables_find_domain(const struct mixer_tables *t,
                                                   const char *domain, size_t *prefix_len)
{
    return find_domain(t, MIXER_TABLE_RFC2OR, domain, prefix_len);
}

const struct mixer_mcgam *mixer_tables_find_gate1(const struct mixer_tables *t,
                                                  const char *domain)
{
    return find_domain(t, MIXER_TABLE_GATE1, domain, NULL);
}

static bool entry_matches(const struct mixer_mcgam *e, const struct mixer_or *or)
{
    for (size_t l = 0; l < e->nlevels && l < MIXER_TABLE_LEVELS; l++) {
        const char *v = mixer_tables_or_level(or, l);
        if (e->level[l].omitted) {
            if (v)
                return false;
        } else if (!v || !(l == 0 ? mixer_country_eq(v, e->level[l].value)
                                  : mixer_or_value_eq(v, e->level[l].value))) {
            return false;
        }
    }
    return true;
}

static const struct mixer_mcgam *find_or(const struct mixer_tables *t,
                                         enum mixer_table_kind kind, const struct mixer_or *or)
{
    const struct mixer_mcgam *best = NULL;
    for (size_t i = 0; i < t->n[kind]; i++) {
        const struct mixer_mcgam *e = &t->e[kind][i];
        if ((!best || e->nlevels > best->nlevels) && entry_matches(e, or))
            best = e;
    }
    return best;
}

const struct mixer_mcgam *mixer_tables_find_or(const struct mixer_tables *t,
                                               const struct mixer_or *or)
{
    return find_or(t, MIXER_TABLE_OR2RFC, or);
}

const struct mixer_mcgam *mixer_tables_find_gate2(const struct mixer_tables *t,
                                                  const struct mixer_or *or)
{
    return find_or(t, MIXER_TABLE_GATE2, or);
}

static bool same_or(const struct mixer_mcgam *a, const struct mixer_mcgam *b)
{
    if (a->nlevels != b->nlevels)
        return false;
    for (size_t l = 0; l < a->nlevels && l < MIXER_TABLE_LEVELS; l++) {
        if (a->level[l].omitted != b->level[l].omitted)
            return false;
        if (!a->level[l].omitted &&
            !(l == 0 ? mixer_country_eq(a->level[l].value, b->level[l].value)
                     : mixer_or_value_eq(a->level[l].value, b->level[l].value)))
            return false;
    }
    return true;
}

size_t mixer_tables_check(const struct mixer_tables *t, char *err, size_t errsize)
{
    size_t conflicts = 0;
    for (size_t i = 0; i < t->n[MIXER_TABLE_RFC2OR]; i++) {
        const struct mixer_mcgam *a = &t->e[MIXER_TABLE_RFC2OR][i];
        for (size_t j = 0; j < t->n[MIXER_TABLE_OR2RFC]; j++) {
            const struct mixer_mcgam *b = &t->e[MIXER_TABLE_OR2RFC][j];
            if (!same_or(a, b) || strcasecmp(a->domain, b->domain) == 0)
                continue;
            /* the same O/R from another domain is fine when that domain maps back too
             * (several domains may share one O/R point only if table 1 says so) */
            if (conflicts++ == 0)
                ERR("%s:%u: %s maps to an O/R address that %s:%u maps back to %s", a->file,
                    a->line, a->domain, b->file, b->line, b->domain);
        }
    }
    /* appendix F: a key cannot appear in both table 1 and table 3, or table 2 and table 4 */
    for (size_t i = 0; i < t->n[MIXER_TABLE_GATE1]; i++) {
        const struct mixer_mcgam *g = &t->e[MIXER_TABLE_GATE1][i];
        for (size_t j = 0; j < t->n[MIXER_TABLE_RFC2OR]; j++) {
            const struct mixer_mcgam *a = &t->e[MIXER_TABLE_RFC2OR][j];
            if (strcasecmp(a->domain, g->domain) == 0 && conflicts++ == 0)
                ERR("%s:%u: %s is a key of table 1 (%s:%u) and of table 3", g->file, g->line,
                    g->domain, a->file, a->line);
        }
    }
    for (size_t i = 0; i < t->n[MIXER_TABLE_GATE2]; i++) {
        const struct mixer_mcgam *g = &t->e[MIXER_TABLE_GATE2][i];
        for (size_t j = 0; j < t->n[MIXER_TABLE_OR2RFC]; j++) {
            const struct mixer_mcgam *b = &t->e[MIXER_TABLE_OR2RFC][j];
            if (same_or(b, g) && conflicts++ == 0)
                ERR("%s:%u: this O/R address is a key of table 2 (%s:%u) and of table 4",
                    g->file, g->line, b->file, b->line);
        }
    }
    return conflicts;
}
