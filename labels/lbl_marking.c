/* lbl_marking: display markings from the compiled SPIF (lbl_marking.h).
 * Composition: [policy prefix] POLICY-PHRASE SEP CLASS-PHRASE {SEP TAG-PREFIX CAT (TAG-SEP CAT)* TAG-SUFFIX}
 * [policy suffix], categories in SPIF document order. A category phrase with noNameDisplay is
 * silent; replacePolicy phrases (policy, classification, then category) replace the policy name;
 * suppressClassName on a category hides the classification. Separators default to " " between
 * parts and "/" inside a tag, as in the SPIF tools this output is compared with.
 * Parsing goes the other way by proposing the categories whose phrases occur in the text and
 * keeping the subset whose generated marking is the text (checked, never guessed). */
#include "lbl_marking.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbl_check.h"
#include "lbl_spif_int.h"
#include "mg_buf.h"
#include "mg_err.h"

#define MARKING_MAX 4096

static const struct {
    const char *name;
    enum lbl_loc loc;
    unsigned bits;
} locs[] = {
    { "pageBottom", LBL_LOC_PAGEBOTTOM, LBL_MK_PAGEBOTTOM },
    { "page", LBL_LOC_PAGEBOTTOM, LBL_MK_PAGEBOTTOM },
    { "pageTop", LBL_LOC_PAGETOP, LBL_MK_PAGETOP },
    { "documentStart", LBL_LOC_DOCSTART, LBL_MK_DOCSTART },
    { "documentEnd", LBL_LOC_DOCEND, LBL_MK_DOCEND },
    { "firstLineOfText", LBL_LOC_FLOT, LBL_MK_FLOT },
    { "flot", LBL_LOC_FLOT, LBL_MK_FLOT },
    { "subject", LBL_LOC_SUBJECT, LBL_MK_SUBJECT },
    { "xHeader", LBL_LOC_XHEADER, LBL_MK_XHEADER },
};

int lbl_loc_parse(const char *s, enum lbl_loc *out)
{
    for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++)
        if (!strcasecmp(locs[i].name, s)) {
            *out = locs[i].loc;
            return 0;
        }
    return MG_EINVAL;
}

static unsigned loc_bits(enum lbl_loc loc)
{
    for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++)
        if (locs[i].loc == loc)
            return locs[i].bits;
    return LBL_MK_PAGEBOTTOM;
}

/* The phrase entry for a location; text locations fall back to the page marking. */
static const struct lbl_phrase *phr_at(const struct lbl_mk *m, unsigned loc)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->nphr; i++)
        if (m->phr[i].codes & loc)
            return &m->phr[i];
    if (!(loc & (LBL_MK_PAGETOP | LBL_MK_PAGEBOTTOM)))
        for (size_t i = 0; i < m->nphr; i++)
            if (m->phr[i].codes & (LBL_MK_PAGETOP | LBL_MK_PAGEBOTTOM))
                return &m->phr[i];
    return NULL;
}

static const char *phrase(const struct lbl_mk *m, unsigned loc, const char *name)
{
    const struct lbl_phrase *ph = phr_at(m, loc);
    if (!ph)
        return name;
    if (ph->codes & LBL_MK_NONAME)
        return "";
    if ((ph->codes & LBL_MK_REPLACEPOLICY) || !ph->text)
        return name;
    return ph->text;
}

static int has_code(const struct lbl_mk *m, unsigned loc, unsigned code)
{
    const struct lbl_phrase *ph = phr_at(m, loc);
    return ph && (ph->codes & code);
}

static const char *policy_phrase(const struct lbl_mk *m, unsigned loc, const char *name)
{
    const struct lbl_phrase *ph = phr_at(m, loc);
    return ph && ph->text ? ph->text : name;
}

static int app(struct mg_buf *b, const char *s)
{
    return mg_buf_append(b, s, strlen(s));
}

static int categories(const struct lbl_policy *p, const uint64_t *bits, const char *lang, unsigned loc,
                      const char *sep, struct mg_buf *b)
{
    int cur = -1;
    const char *tsuffix = "", *tsep = "/";
    int rc = 0;
    for (uint32_t o = 0; o < p->ncats && !rc; o++) {
        if (!((bits[o / 64] >> (o % 64)) & 1))
            continue;
        const struct lbl_category *c = &p->cats[o];
        const struct lbl_tag *t = &p->tags[c->tag];
        const struct lbl_mk *cm = lbl_mks_find(&c->mk, lang);
        if (!cm)
            cm = lbl_mks_find(&t->mk, lang);
        const char *ph = cm ? phrase(cm, loc, c->name) : c->name;
        if (!*ph)
            continue;
        if (c->tag != cur) {
            const struct lbl_mk *tm = lbl_mks_find(&t->mk, lang);
            rc |= app(b, tsuffix);
            if (b->len)
                rc |= app(b, sep);
            tsuffix = tm ? tm->suffix : "";
            tsep = tm && tm->sep[0] ? tm->sep : "/";
            if (tm)
                rc |= app(b, tm->prefix);
            cur = c->tag;
        } else
            rc |= app(b, tsep);
        rc |= app(b, ph);
    }
    rc |= app(b, tsuffix);
    return rc;
}

/* Marking of (classification index, category bitset). */
static int gen(const struct lbl_policy *p, int cls, const uint64_t *bits, const char *lang, unsigned loc,
               struct mg_buf *b)
{
    const struct lbl_mk *pm = lbl_mks_find(&p->mk, lang);
    const struct lbl_mk *cm = cls >= 0 ? lbl_mks_find(&p->classes[cls].mk, lang) : NULL;
    const char *cname = cls >= 0 ? p->classes[cls].name : "";
    const char *sep = pm && pm->sep[0] ? pm->sep : " ";
    int suppress = 0, rc = 0;
    for (uint32_t o = 0; o < p->ncats && !suppress; o++)
        if (((bits[o / 64] >> (o % 64)) & 1) &&
            has_code(lbl_mks_find(&p->cats[o].mk, lang), loc, LBL_MK_SUPPRESSCLASS))
            suppress = 1;
    mg_buf_reset(b);
    if (pm)
        rc |= app(b, pm->prefix);
    size_t body = b->len;
    if (pm && has_code(pm, loc, LBL_MK_REPLACEPOLICY))
        rc |= app(b, policy_phrase(pm, loc, p->name));
    else if (cm && has_code(cm, loc, LBL_MK_REPLACEPOLICY))
        rc |= app(b, policy_phrase(cm, loc, cname));
    else {
        uint32_t o;
        for (o = 0; o < p->ncats; o++) {
            const struct lbl_mk *m = lbl_mks_find(&p->cats[o].mk, lang);
            if (((bits[o / 64] >> (o % 64)) & 1) && has_code(m, loc, LBL_MK_REPLACEPOLICY)) {
                rc |= app(b, policy_phrase(m, loc, p->cats[o].name));
                break;
            }
        }
        if (o == p->ncats)
            rc |= app(b, p->name);
    }
    if (!suppress && cls >= 0) {
        if (b->len > body)
            rc |= app(b, sep);
        rc |= app(b, cm ? phrase(cm, loc, cname) : pm ? phrase(pm, loc, cname) : cname);
    }
    /* Category separators look at what is already written: measure from the body only. */
    struct mg_buf cb;
    mg_buf_init(&cb, MARKING_MAX);
    rc |= mg_buf_append(&cb, b->data + body, b->len - body);
    rc |= categories(p, bits, lang, loc, sep, &cb);
    b->len = body;
    rc |= mg_buf_append(b, cb.data, cb.len);
    mg_buf_free(&cb);
    if (pm)
        rc |= app(b, pm->suffix);
    return rc ? MG_ETOOBIG : 0;
}

int lbl_marking(const struct lbl_policy *p, const struct lbl_label *l, const char *lang, enum lbl_loc loc,
                char **out, struct lbl_err *err)
{
    struct lbl_rlabel r;
    *out = NULL;
    int rc = lbl_resolve(p, l, &r, err);
    if (rc)
        return rc;
    struct mg_buf b;
    mg_buf_init(&b, MARKING_MAX);
    rc = gen(p, r.cls, r.bits, lang ? lang : "", loc_bits(loc), &b);
    if (rc) {
        lbl_err_set(err, "marking longer than %d bytes", MARKING_MAX);
        mg_buf_free(&b);
        return rc;
    }
    if (mg_buf_append(&b, "", 1)) {
        mg_buf_free(&b);
        return MG_ENOMEM;
    }
    *out = (char *)mg_buf_steal(&b, NULL);
    return 0;
}

int lbl_clearance_marking(const struct lbl_policy *p, const struct lbl_clearance *c, const char *lang, char **out,
                          struct lbl_err *err)
{
    struct lbl_rclear r;
    *out = NULL;
    int rc = lbl_resolve_clearance(p, c, &r, err);
    if (rc)
        return rc;
    if (!lang)
        lang = "";
    const struct lbl_mk *pm = lbl_mks_find(&p->mk, lang);
    const char *sep = pm && pm->sep[0] ? pm->sep : " ";
    struct mg_buf b;
    mg_buf_init(&b, MARKING_MAX);
    if (pm)
        rc |= app(&b, pm->prefix);
    rc |= app(&b, "{");
    /* Classes in hierarchy order. */
    int any = 0;
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < p->nclasses; i++) {
            if (!((r.classes[i / 64] >> (i % 64)) & 1))
                continue;
            if (best < 0 || p->classes[i].hierarchy < p->classes[best].hierarchy)
                best = (int)i;
        }
        if (best < 0)
            break;
        r.classes[best / 64] &= ~(1ull << (best % 64));
        if (any)
            rc |= app(&b, "|");
        rc |= app(&b, p->classes[best].name);
        any = 1;
    }
    rc |= app(&b, "}");
    rc |= categories(p, r.bits, lang, LBL_MK_PAGEBOTTOM, sep, &b);
    if (pm)
        rc |= app(&b, pm->suffix);
    rc |= mg_buf_append(&b, "", 1);
    if (rc) {
        lbl_err_set(err, "clearance marking longer than %d bytes", MARKING_MAX);
        mg_buf_free(&b);
        return MG_ETOOBIG;
    }
    *out = (char *)mg_buf_steal(&b, NULL);
    return 0;
}

/* ---- parsing ---------------------------------------------------------------------------------- */

struct pctx {
    const struct lbl_policy *p;
    const char *lang;
    unsigned loc;
    const char *sep;
    const char *t;   /* marking body (policy prefix and suffix removed) */
    size_t len;
    uint64_t bits[LBL_WORDS];
    unsigned steps;  /* bound on the search */
};

static int at(const struct pctx *c, size_t pos, const char *s, size_t *adv)
{
    size_t n = strlen(s);
    if (pos + n > c->len || memcmp(c->t + pos, s, n))
        return 0;
    *adv = n;
    return 1;
}

static const char *cat_phrase(const struct pctx *c, uint32_t o)
{
    const struct lbl_category *cat = &c->p->cats[o];
    const struct lbl_mk *cm = lbl_mks_find(&cat->mk, c->lang);
    if (!cm)
        cm = lbl_mks_find(&c->p->tags[cat->tag].mk, c->lang);
    return cm ? phrase(cm, c->loc, cat->name) : cat->name;
}

static int descend(struct pctx *c, size_t pos, size_t tag_from);

/* Categories of tag t from ordinal o on, at pos; the tag's prefix is already consumed. */
static int tag_cats(struct pctx *c, size_t t, uint32_t from, size_t pos)
{
    const struct lbl_tag *tag = &c->p->tags[t];
    const struct lbl_mk *tm = lbl_mks_find(&tag->mk, c->lang);
    const char *tsep = tm && tm->sep[0] ? tm->sep : "/";
    const char *suffix = tm ? tm->suffix : "";
    for (uint32_t o = from; o < tag->first + tag->count; o++) {
        if (++c->steps > 50000)
            return 0;
        const char *ph = cat_phrase(c, o);
        size_t n;
        if (!*ph || !at(c, pos, ph, &n))
            continue;
        c->bits[o / 64] |= 1ull << (o % 64);
        size_t m;
        if (at(c, pos + n, tsep, &m) && tag_cats(c, t, o + 1, pos + n + m))
            return 1;
        if (at(c, pos + n, suffix, &m) && descend(c, pos + n + m, t + 1))
            return 1;
        c->bits[o / 64] &= ~(1ull << (o % 64));
    }
    return 0;
}

/* The tag segments from tag_from on: SEP TAG-PREFIX CAT (TAG-SEP CAT)* TAG-SUFFIX ... */
static int descend(struct pctx *c, size_t pos, size_t tag_from)
{
    if (pos == c->len)
        return 1;
    for (size_t t = tag_from; t < c->p->ntags; t++) {
        const struct lbl_mk *tm = lbl_mks_find(&c->p->tags[t].mk, c->lang);
        size_t q = pos, n;
        if (q && !at(c, q, c->sep, &n))
            return 0;
        q += q ? n : 0;
        if (tm && !at(c, q, tm->prefix, &n))
            continue;
        if (tag_cats(c, t, c->p->tags[t].first, q + (tm ? n : 0)))
            return 1;
    }
    return 0;
}

static int is_valid(const struct lbl_policy *p, int cls, const uint64_t *bits)
{
    struct lbl_label l;
    lbl_label_init(&l);
    snprintf(l.policy, sizeof l.policy, "%s", p->oid);
    l.has_class = 1;
    l.class_lacv = p->classes[cls].lacv;
    for (uint32_t o = 0; o < p->ncats; o++)
        if (((bits[o / 64] >> (o % 64)) & 1) &&
            lbl_label_add_cat(&l, p->tagsets[p->cats[o].tagset].oid, p->tags[p->cats[o].tag].type, p->cats[o].lacv)) {
            lbl_label_free(&l);
            return 0;
        }
    int v = lbl_validate(p, &l, NULL);
    lbl_label_free(&l);
    return v;
}

/* A marking expression compiled once (lbl_marking_re_new). regcomp and regfree on every marking
 * read were 15% of label extraction at submission, where the expressions come from the
 * configuration and never change; compiled when it is loaded, the expression is only read after
 * (regexec on one compiled expression from several threads is allowed by POSIX). */
struct lbl_marking_re {
    regex_t rx;
};

static int compile(regex_t *rx, const char *re, struct lbl_err *err)
{
    int rc = regcomp(rx, re ? re : LBL_MARKING_RE_DEFAULT, REG_EXTENDED);
    if (rc) {
        char m[128];
        regerror(rc, rx, m, sizeof m);
        lbl_err_set(err, "marking regular expression: %s", m);
        return MG_EINVAL;
    }
    return 0;
}

int lbl_marking_re_new(const char *re, struct lbl_marking_re **out, struct lbl_err *err)
{
    *out = NULL;
    struct lbl_marking_re *m = malloc(sizeof *m);
    if (!m)
        return MG_ENOMEM;
    int rc = compile(&m->rx, re, err);
    if (rc) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void lbl_marking_re_free(struct lbl_marking_re *m)
{
    if (!m)
        return;
    regfree(&m->rx);
    free(m);
}

static int cut(const char *text, const regex_t *rx, char *out, size_t outsz, struct lbl_err *err)
{
    regmatch_t mt[2];
    if (regexec(rx, text, 2, mt, 0)) {
        lbl_err_set(err, "no marking found in the text");
        return MG_EPARSE;
    }
    regmatch_t use = mt[1].rm_so >= 0 ? mt[1] : mt[0];
    size_t n = (size_t)(use.rm_eo - use.rm_so);
    if (n >= outsz) {
        lbl_err_set(err, "marking longer than %zu bytes", outsz - 1);
        return MG_ETOOBIG;
    }
    memcpy(out, text + use.rm_so, n);
    out[n] = 0;
    return 0;
}

/* Tries classification cls with replace-policy category r (-1: none), with and without the
 * class phrase shown; on success bits holds the categories and the marking regenerates. */
static int try_header(struct pctx *c, int cls, int r, const char *body, size_t blen)
{
    const struct lbl_policy *p = c->p;
    const struct lbl_mk *pm = lbl_mks_find(&p->mk, c->lang);
    const struct lbl_mk *cm = lbl_mks_find(&p->classes[cls].mk, c->lang);
    const char *cname = p->classes[cls].name;
    const char *pol;
    int fixed = (pm && has_code(pm, c->loc, LBL_MK_REPLACEPOLICY)) || (cm && has_code(cm, c->loc, LBL_MK_REPLACEPOLICY));
    if (fixed && r >= 0)
        return 0; /* the policy part does not come from a category: nothing shows r */
    if (pm && has_code(pm, c->loc, LBL_MK_REPLACEPOLICY))
        pol = policy_phrase(pm, c->loc, p->name);
    else if (cm && has_code(cm, c->loc, LBL_MK_REPLACEPOLICY))
        pol = policy_phrase(cm, c->loc, cname);
    else if (r >= 0)
        pol = policy_phrase(lbl_mks_find(&p->cats[r].mk, c->lang), c->loc, p->cats[r].name);
    else
        pol = p->name;
    const char *cph = cm ? phrase(cm, c->loc, cname) : pm ? phrase(pm, c->loc, cname) : cname;
    struct mg_buf b;
    mg_buf_init(&b, MARKING_MAX);
    for (int shown = 1; shown >= 0; shown--) {
        size_t n, pos = 0;
        memset(c->bits, 0, sizeof c->bits);
        if (r >= 0)
            c->bits[r / 64] |= 1ull << (r % 64);
        if (!at(c, 0, pol, &n))
            break;
        pos = n;
        if (shown) {
            size_t m = 0;
            if (pos && !at(c, pos, c->sep, &m))
                continue;
            pos += m;
            if (!at(c, pos, cph, &n))
                continue;
            pos += n;
        }
        c->steps = 0;
        if (!descend(c, pos, 0))
            continue;
        if (!gen(p, cls, c->bits, c->lang, c->loc, &b) && b.len == blen + (pm ? strlen(pm->prefix) + strlen(pm->suffix) : 0)) {
            size_t off = pm ? strlen(pm->prefix) : 0;
            if (!memcmp(b.data + off, body, blen)) {
                mg_buf_free(&b);
                return 1;
            }
        }
    }
    mg_buf_free(&b);
    return 0;
}

int lbl_marking_parse(const struct lbl_policy *p, const char *text, const char *re, const char *lang,
                      enum lbl_loc loc, struct lbl_label *out, struct lbl_err *err)
{
    struct lbl_marking_re rx;
    int rc = compile(&rx.rx, re, err);
    if (rc)
        return rc;
    rc = lbl_marking_parse_re(p, text, &rx, lang, loc, out, err);
    regfree(&rx.rx);
    return rc;
}

int lbl_marking_parse_re(const struct lbl_policy *p, const char *text, const struct lbl_marking_re *re,
                         const char *lang, enum lbl_loc loc, struct lbl_label *out, struct lbl_err *err)
{
    char m[1024];
    if (!lang)
        lang = "";
    int rc = cut(text, &re->rx, m, sizeof m, err);
    if (rc)
        return rc;
    struct pctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.lang = lang;
    c.loc = loc_bits(loc);
    const struct lbl_mk *pm = lbl_mks_find(&p->mk, lang);
    c.sep = pm && pm->sep[0] ? pm->sep : " ";
    /* The policy-level prefix and suffix frame the whole marking. */
    size_t ml = strlen(m), pl = pm ? strlen(pm->prefix) : 0, sl = pm ? strlen(pm->suffix) : 0;
    if (ml < pl + sl || memcmp(m, pm ? pm->prefix : "", pl) || memcmp(m + ml - sl, pm ? pm->suffix : "", sl)) {
        lbl_err_set(err, "\"%s\" is not a display marking of policy %s", m, p->name);
        return MG_EPARSE;
    }
    c.t = m + pl;
    c.len = ml - pl - sl;
    /* Among the readings that regenerate the text, a valid label is preferred. */
    int best_cls = -1, best_valid = 0;
    uint64_t best[LBL_WORDS];
    /* Replace-policy categories are tried before the bare policy name: when a category's
     * phrase equals the policy name (NATO's Context NATO), the label most likely carries it. */
    for (size_t ci = 0; ci < p->nclasses && !best_valid; ci++)
        for (size_t k = 0; k <= p->ncats && !best_valid; k++) {
            int r = k == p->ncats ? -1 : (int)k;
            if (r >= 0 && !has_code(lbl_mks_find(&p->cats[r].mk, lang), c.loc, LBL_MK_REPLACEPOLICY))
                continue;
            if (!try_header(&c, (int)ci, r, c.t, c.len))
                continue;
            int v = is_valid(p, (int)ci, c.bits);
            if (best_cls < 0 || v) {
                best_cls = (int)ci;
                best_valid = v;
                memcpy(best, c.bits, sizeof best);
            }
        }
    if (best_cls < 0) {
        lbl_err_set(err, "\"%s\" is not a display marking of policy %s", m, p->name);
        return MG_EPARSE;
    }
    int cls = best_cls;
    const uint64_t *bits = best;
    lbl_label_free(out);
    snprintf(out->policy, sizeof out->policy, "%s", p->oid);
    out->has_class = 1;
    out->class_lacv = p->classes[cls].lacv;
    for (uint32_t o = 0; o < p->ncats; o++)
        if ((bits[o / 64] >> (o % 64)) & 1) {
            const struct lbl_category *cat = &p->cats[o];
            rc = lbl_label_add_cat(out, p->tagsets[cat->tagset].oid, p->tags[cat->tag].type, cat->lacv);
            if (rc)
                return rc;
        }
    return 0;
}
