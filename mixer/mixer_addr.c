/* mixer_addr: RFC 2156 4.3 address mapping (822 <-> O/R) with MCGAMs and the gateway. */
#include "mixer_addr.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mg_err.h"
#include "mixer_ps.h"

#define WHY(...) (why ? (void)snprintf(why, whysize, __VA_ARGS__) : (void)0)

/* X.411 upper bounds of the hierarchy levels (C, ADMD, PRMD, O, OU). */
static const size_t level_ub[MIXER_TABLE_LEVELS] = {3, 16, 16, 64, 32, 32, 32, 32};

static const char *const dda_types[] = {"RFC-822", "RFC822C1", "RFC822C2", "RFC822C3"};

const char *mixer_addr_how_name(enum mixer_addr_how how)
{
    switch (how) {
    case MIXER_ADDR_MCGAM:
        return "mcgam";
    case MIXER_ADDR_OR_LHS:
        return "or-lhs";
    case MIXER_ADDR_DDA:
        return "dda";
    case MIXER_ADDR_GATEWAY:
        return "gateway";
    case MIXER_ADDR_PGW:
        return "preferred-gateway";
    }
    return "?";
}

static bool is_atext(int c)
{
    return isalnum(c) || (c != 0 && c < 128 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int mixer_addr_quote_local(const char *local, size_t n, char *out, size_t outsize)
{
    bool dot_atom = n > 0 && local[0] != '.' && local[n - 1] != '.';
    for (size_t i = 0; i < n && dot_atom; i++)
        if (!(is_atext((unsigned char)local[i]) || (local[i] == '.' && local[i + 1] != '.')))
            dot_atom = false;
    size_t o = 0;
    if (!dot_atom) {
        if (o + 1 >= outsize)
            return MG_ETOOBIG;
        out[o++] = '"';
    }
    for (size_t i = 0; i < n; i++) {
        bool esc = !dot_atom && (local[i] == '"' || local[i] == '\\');
        if (o + 3 >= outsize)
            return MG_ETOOBIG;
        if (esc)
            out[o++] = '\\';
        out[o++] = local[i];
    }
    if (!dot_atom)
        out[o++] = '"';
    if (o >= outsize)
        return MG_ETOOBIG;
    out[o] = 0;
    return 0;
}

/* ---- 822 -> O/R ---- */

/* Stage II: the gateway's O/R address plus the RFC-822 DDA (4.3.4.2). pgw: the preferred
 * gateway's table-3 entry to use instead of the local gateway, or NULL. */
static int encapsulate(const struct mixer_gw *gw, const struct mixer_mcgam *pgw, const char *spec,
                       size_t n, struct mixer_or *out, char *why, size_t whysize)
{
    char enc[MIXER_ADDR_DDA_MAX * 5 + 1];
    int rc = mixer_ps_encode(spec, n, enc, sizeof enc);
    if (rc == MG_EINVAL) {
        WHY("address has characters outside ASCII");
        return MG_EINVAL;
    }
    size_t el = rc == 0 ? strlen(enc) : sizeof enc;
    if (el > MIXER_ADDR_DDA_MAX) {
        WHY("address too long for the RFC-822 attribute (%zu > %d)", el,
            MIXER_ADDR_DDA_MAX);
        return MG_ETOOBIG;
    }
    *out = gw->or;
    if (pgw) {
        mixer_or_init(out);
        for (size_t l = 0; l < pgw->nlevels && l < MIXER_TABLE_LEVELS; l++)
            if (!pgw->level[l].omitted &&
                mixer_or_add(out, mixer_tables_level_key(l), NULL, pgw->level[l].value,
                             strlen(pgw->level[l].value)) != 0) {
                WHY("the preferred gateway's O/R address (%s:%u) does not fit", pgw->file,
                    pgw->line);
                return MG_EINVAL;
            }
        if (!mixer_or_get(out, MIXER_OR_ADMD, 0))
            (void)mixer_or_add(out, MIXER_OR_ADMD, NULL, " ", 1);
    }
    mixer_or_remove(out, MIXER_OR_DD, NULL);
    if (!mixer_or_get(out, MIXER_OR_C, 0)) {
        WHY("the gateway has no O/R address for Internet users");
        return MG_EINVAL;
    }
    /* fill each attribute completely, 128 at a time */
    for (size_t off = 0, k = 0; off < el; off += 128, k++) {
        size_t part = el - off > 128 ? 128 : el - off;
        if (mixer_or_add(out, MIXER_OR_DD, dda_types[k], enc + off, part) != 0) {
            WHY("no room for the RFC-822 attributes");
            return MG_ETOOBIG;
        }
    }
    return 0;
}

/* Split "[route:]local@domain" (optionally in <>) into parts; local unquoted into lbuf.
 * *odd is set when the local part needs stage II for its form (spaces at the ends,
 * doubled spaces, characters outside PrintableString). */
static int split_addr(const char *a, size_t n, const char **spec, size_t *specl, char *lbuf,
                      size_t lsize, const char **dom, size_t *doml, bool *odd)
{
    while (n && isspace((unsigned char)a[0]))
        a++, n--;
    while (n && isspace((unsigned char)a[n - 1]))
        n--;
    if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
        a++, n -= 2;
    if (n && a[0] == '@') {
        /* source route: stripping is conformant (4.3.4) */
        const char *c = memchr(a, ':', n);
        if (!c)
            return MG_EPARSE;
        n -= (size_t)(c + 1 - a);
        a = c + 1;
    }
    /* the last "@" outside a quoted string */
    size_t at = n;
    bool inq = false;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == '\\' && inq) {
            i++;
            continue;
        }
        if (a[i] == '"')
            inq = !inq;
        else if (a[i] == '@' && !inq)
            at = i;
    }
    if (inq || at == n || at == 0 || at + 1 >= n)
        return MG_EPARSE;
    *spec = a;
    *specl = n;
    *dom = a + at + 1;
    *doml = n - at - 1;
    size_t o = 0;
    *odd = false;
    if (a[0] == '"') {
        if (at < 2 || a[at - 1] != '"')
            return MG_EPARSE;
        for (size_t i = 1; i + 1 < at; i++) {
            char c = a[i];
            if (c == '\\' && i + 2 < at)
                c = a[++i];
            if (o + 1 >= lsize)
                return MG_ETOOBIG;
            lbuf[o++] = c;
        }
    } else {
        if (at >= lsize)
            return MG_ETOOBIG;
        memcpy(lbuf, a, at);
        o = at;
    }
    lbuf[o] = 0;
    if (o == 0 || lbuf[0] == ' ' || lbuf[o - 1] == ' ' || strstr(lbuf, "  "))
        *odd = true;
    for (size_t i = 0; i < o; i++) {
        unsigned char c = (unsigned char)lbuf[i];
        if (!mixer_ps_is_char(c) && !strchr("{}*$;", c))
            *odd = true;
    }
    return 0;
}

/* RHS: MCGAM plus subdomains as further levels. 0, or MG_ENOTFOUND (stage II). */
static int domain_to_or(const struct mixer_gw *gw, const char *dom, size_t dl, struct mixer_or *rhs)
{
    char d[MIXER_TABLE_DOMAIN_MAX];
    size_t pre = 0;
    if (!gw->tables || dl == 0 || dl >= sizeof d)
        return MG_ENOTFOUND;
    memcpy(d, dom, dl);
    d[dl] = 0;
    const struct mixer_mcgam *e = mixer_tables_find_domain(gw->tables, d, &pre);
    if (!e)
        return MG_ENOTFOUND;
    mixer_or_init(rhs);
    for (size_t l = 0; l < e->nlevels && l < MIXER_TABLE_LEVELS; l++)
        if (!e->level[l].omitted &&
            mixer_or_add(rhs, mixer_tables_level_key(l), NULL, e->level[l].value,
                         strlen(e->level[l].value)) != 0)
            return MG_ENOTFOUND;
    /* subdomains right to left become the next levels */
    size_t level = e->nlevels;
    size_t end = pre ? pre - 1 : 0; /* drop the "." before the match */
    while (end > 0) {
        size_t st = end;
        while (st > 0 && d[st - 1] != '.')
            st--;
        size_t ll = end - st;
        if (level >= MIXER_TABLE_LEVELS || ll > level_ub[level] ||
            !mixer_ps_is_domain_label(d + st, ll))
            return MG_ENOTFOUND;
        if (mixer_or_add(rhs, mixer_tables_level_key(level), NULL, d + st, ll) != 0)
            return MG_ENOTFOUND;
        level++;
        end = st ? st - 1 : 0;
    }
    return 0;
}

int mixer_addr_to_or(const struct mixer_gw *gw, const char *addr, size_t n, struct mixer_or *out,
                     enum mixer_addr_how *how, char *why, size_t whysize)
{
    return mixer_addr_to_or_ex(gw, addr, n, MIXER_ADDR_USE_IPMS, out, how, why, whysize);
}

/* Stage II with the preferred gateway of the domain (table 3) unless use says the local one. */
static int stage2(const struct mixer_gw *gw, enum mixer_addr_use use, const char *dom, size_t dl,
                  const char *spec, size_t specl, struct mixer_or *out,
                  enum mixer_addr_how *how, char *why, size_t whysize)
{
    const struct mixer_mcgam *pgw = NULL;
    char d[MIXER_TABLE_DOMAIN_MAX];
    if (use == MIXER_ADDR_USE_IPMS && gw->tables && dom && dl && dl < sizeof d) {
        memcpy(d, dom, dl);
        d[dl] = 0;
        pgw = mixer_tables_find_gate1(gw->tables, d);
    }
    *how = pgw ? MIXER_ADDR_PGW : MIXER_ADDR_DDA;
    return encapsulate(gw, pgw, spec, specl, out, why, whysize);
}

int mixer_addr_to_or_ex(const struct mixer_gw *gw, const char *addr, size_t n,
                        enum mixer_addr_use use, struct mixer_or *out, enum mixer_addr_how *how,
                        char *why, size_t whysize)
{
    char local[MIXER_ADDR_MAX];
    const char *spec, *dom;
    size_t specl, dl;
    bool odd;
    struct mixer_or lhs, rhs;
    enum mixer_addr_how dummy;
    if (!how)
        how = &dummy;
    int rc = split_addr(addr, n, &spec, &specl, local, sizeof local, &dom, &dl, &odd);
    if (rc) {
        WHY("not an RFC 822 address (local-part@domain)");
        return rc == MG_ETOOBIG ? MG_ETOOBIG : MG_EPARSE;
    }
    *how = MIXER_ADDR_DDA;
    if (odd)
        return stage2(gw, use, dom, dl, spec, specl, out, how, why, whysize);
    size_t ll = strlen(local);
    mixer_or_init(&lhs);
    if (local[0] == '/' || local[0] == ';')
        rc = mixer_or_parse(local, ll, &lhs, NULL, 0);
    else
        rc = mixer_or_pn_parse(local, ll, &lhs);
    if (rc)
        return stage2(gw, use, dom, dl, spec, specl, out, how, why, whysize);
    if (mixer_or_get(&lhs, MIXER_OR_C, 0)) {
        /* already a complete O/R address: use it as it is */
        *out = lhs;
        *how = MIXER_ADDR_OR_LHS;
        return 0;
    }
    if (domain_to_or(gw, dom, dl, &rhs) != 0) {
        if (strlen(gw->domain) == dl && strncasecmp(gw->domain, dom, dl) == 0) {
            WHY("an address in the gateway's domain must carry a complete O/R address");
            return MG_EPARSE;
        }
        return stage2(gw, use, dom, dl, spec, specl, out, how, why, whysize);
    }
    /* merge (4.3.4.1): the LHS's most significant level decides what the RHS supplies */
    size_t take = MIXER_TABLE_LEVELS;
    if (mixer_or_get(&lhs, MIXER_OR_ADMD, 0))
        take = 1;
    else if (mixer_or_get(&lhs, MIXER_OR_PRMD, 0))
        take = 2;
    else if (mixer_or_get(&lhs, MIXER_OR_O, 0))
        take = 3;
    *out = lhs;
    for (size_t l = 0; l < take; l++) {
        const char *v = mixer_tables_or_level(&rhs, l);
        if (v && mixer_or_add(out, mixer_tables_level_key(l), NULL, v, strlen(v)) != 0)
            return stage2(gw, use, dom, dl, spec, specl, out, how, why, whysize);
    }
    if (!mixer_or_get(out, MIXER_OR_ADMD, 0))
        (void)mixer_or_add(out, MIXER_OR_ADMD, NULL, " ", 1);
    *how = MIXER_ADDR_MCGAM;
    return 0;
}

/* ---- O/R -> 822 ---- */

static int mapping_a(const struct mixer_or *or, char *out, size_t outsize, char *why,
                     size_t whysize)
{
    char enc[MIXER_ADDR_DDA_MAX + 1];
    size_t el = 0;
    for (size_t k = 0; k < 4; k++) {
        const char *v = mixer_or_get_dd(or, dda_types[k]);
        if (!v)
            break;
        size_t vl = strlen(v);
        if (el + vl > MIXER_ADDR_DDA_MAX) {
            WHY("RFC-822 attributes too long");
            return MG_ETOOBIG;
        }
        memcpy(enc + el, v, vl);
        el += vl;
    }
    enc[el] = 0;
    if (mixer_ps_decode(enc, el, out, outsize) != 0) {
        WHY("RFC-822 attribute is not ps-encoded");
        return MG_EPARSE;
    }
    /* it must be an addr-spec */
    const char *at = strrchr(out, '@');
    if (!at || at == out || at[1] == 0) {
        WHY("RFC-822 attribute holds no local-part@domain");
        return MG_EPARSE;
    }
    return 0;
}

static int join(char *out, size_t outsize, const char *lhs, const char *dom)
{
    char q[MIXER_ADDR_MAX];
    int rc = mixer_addr_quote_local(lhs, strlen(lhs), q, sizeof q);
    if (rc)
        return rc;
    int w = snprintf(out, outsize, "%s@%s", q, dom);
    return w < 0 || (size_t)w >= outsize ? MG_ETOOBIG : 0;
}

int mixer_addr_to_822(const struct mixer_gw *gw, const struct mixer_or *or, char *out,
                      size_t outsize, enum mixer_addr_how *how, char *why, size_t whysize)
{
    char lhs[MIXER_ADDR_MAX];
    enum mixer_addr_how dummy;
    if (!how)
        how = &dummy;
    if (or->n == 0) {
        WHY("empty O/R address");
        return MG_EINVAL;
    }
    if (mixer_or_get_dd(or, "RFC-822")) {
        *how = MIXER_ADDR_DDA;
        return mapping_a(or, out, outsize, why, whysize);
    }
    const struct mixer_mcgam *e = gw->tables ? mixer_tables_find_or(gw->tables, or) : NULL;
    const struct mixer_mcgam *pgw = !e && gw->tables ? mixer_tables_find_gate2(gw->tables, or) : NULL;
    if (pgw) {
        /* 4.3.5 step 3: the domain of the preferred gateway; everything below the matched
         * prefix on the left (no subdomains: that gateway's own mapping is not ours) */
        *how = MIXER_ADDR_PGW;
        struct mixer_or rest = *or;
        for (size_t l = 0; l < pgw->nlevels && l < 4; l++)
            mixer_or_remove(&rest, mixer_tables_level_key(l), NULL);
        size_t ou_used = pgw->nlevels > 4 ? pgw->nlevels - 4 : 0;
        if (ou_used) {
            size_t n_ou = mixer_or_count(or, MIXER_OR_OU);
            mixer_or_remove(&rest, MIXER_OR_OU, NULL);
            for (size_t k = ou_used; k < n_ou; k++) {
                const char *v = mixer_or_get(or, MIXER_OR_OU, k);
                (void)mixer_or_add(&rest, MIXER_OR_OU, NULL, v, strlen(v));
            }
        }
        if (rest.n == 0)
            rest = *or;
        bool pn = true;
        for (size_t i = 0; i < rest.n; i++)
            if (rest.a[i].key != MIXER_OR_G && rest.a[i].key != MIXER_OR_I &&
                rest.a[i].key != MIXER_OR_S)
                pn = false;
        int rc = pn ? mixer_or_pn_print(&rest, lhs, sizeof lhs) : MG_ENOTSUP;
        if (rc)
            rc = mixer_or_print(&rest, lhs, sizeof lhs);
        if (!rc)
            rc = join(out, outsize, lhs, pgw->domain);
        if (rc)
            WHY("address too long");
        return rc;
    }
    if (!e) {
        if (!gw->domain[0]) {
            WHY("no mapping for this O/R address and no gateway domain");
            return MG_ENOTFOUND;
        }
        *how = MIXER_ADDR_GATEWAY;
        int rc = mixer_or_print(or, lhs, sizeof lhs);
        if (!rc)
            rc = join(out, outsize, lhs, gw->domain);
        if (rc)
            WHY("address too long");
        return rc;
    }
    *how = MIXER_ADDR_MCGAM;
    /* further levels become subdomains while present and domain-syntax */
    char dom[MIXER_ADDR_MAX];
    snprintf(dom, sizeof dom, "%s", e->domain);
    struct mixer_or rest = *or;
    for (size_t l = 0; l < e->nlevels && l < 4; l++)
        mixer_or_remove(&rest, mixer_tables_level_key(l), NULL);
    size_t ou_used = e->nlevels > 4 ? e->nlevels - 4 : 0;
    size_t consumed = 0;
    size_t level = e->nlevels;
    char labels[MIXER_TABLE_LEVELS][MIXER_OR_VALUE_MAX];
    enum mixer_or_key lkeys[MIXER_TABLE_LEVELS];
    for (; level < MIXER_TABLE_LEVELS; level++) {
        const char *v = mixer_tables_or_level(or, level);
        if (!v || !mixer_ps_is_domain_label(v, strlen(v)))
            break;
        snprintf(labels[consumed], sizeof labels[0], "%s", v);
        lkeys[consumed] = mixer_tables_level_key(level);
        consumed++;
    }
    /* what stays on the left: everything but the consumed levels */
    size_t n_ou = mixer_or_count(or, MIXER_OR_OU);
    mixer_or_remove(&rest, MIXER_OR_OU, NULL);
    if (consumed) {
        /* levels consumed among C..O are removed from rest; OUs are rebuilt below */
        for (size_t c = 0; c < consumed; c++)
            if (lkeys[c] != MIXER_OR_OU)
                mixer_or_remove(&rest, lkeys[c], NULL);
    }
    size_t ou_consumed = 0;
    for (size_t c = 0; c < consumed; c++)
        if (lkeys[c] == MIXER_OR_OU)
            ou_consumed++;
    for (size_t k = ou_used + ou_consumed; k < n_ou; k++) {
        const char *v = mixer_or_get(or, MIXER_OR_OU, k);
        (void)mixer_or_add(&rest, MIXER_OR_OU, NULL, v, strlen(v));
    }
    if (rest.n == 0 && consumed > 0) {
        /* at least one attribute stays on the left: give back the last subdomain */
        consumed--;
        (void)mixer_or_add(&rest, lkeys[consumed], NULL, labels[consumed],
                           strlen(labels[consumed]));
    }
    if (rest.n == 0) {
        /* the address is the MCGAM point itself: say it in full on the left */
        rest = *or;
    }
    for (size_t c = 0; c < consumed; c++) {
        char tmp[MIXER_ADDR_MAX];
        int w = snprintf(tmp, sizeof tmp, "%s.%s", labels[c], dom);
        if (w < 0 || (size_t)w >= sizeof tmp) {
            WHY("domain too long");
            return MG_ETOOBIG;
        }
        memcpy(dom, tmp, (size_t)w + 1);
    }
    /* only personal-name attributes left: encoded-pn; else std-or-address */
    bool pn_only = true;
    for (size_t i = 0; i < rest.n; i++)
        if (rest.a[i].key != MIXER_OR_G && rest.a[i].key != MIXER_OR_I &&
            rest.a[i].key != MIXER_OR_S)
            pn_only = false;
    int rc = MG_ENOTSUP;
    if (pn_only)
        rc = mixer_or_pn_print(&rest, lhs, sizeof lhs);
    if (rc)
        rc = mixer_or_print(&rest, lhs, sizeof lhs);
    if (!rc)
        rc = join(out, outsize, lhs, dom);
    if (rc)
        WHY("address too long");
    return rc;
}
