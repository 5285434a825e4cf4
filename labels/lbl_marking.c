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

static int is_word(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* s occurs in text with no letter or digit glued to either end. */
static int occurs(const char *text, const char *s)
{
    size_t n = strlen(s);
    if (!n)
        return 0;
    for (const char *q = strstr(text, s); q; q = strstr(q + 1, s)) {
        int left = q == text || !is_word(q[-1]) || !is_word(s[0]);
        int right = !q[n] || !is_word(q[n]) || !is_word(s[n - 1]);
        if (left && right)
            return 1;
    }
    return 0;
}

/* Edit distance, bounded inputs (MARKING_MAX): two rows. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static int cut(const char *text, const char *re, char *out, size_t outsz, struct lbl_err *err)
{
    regex_t rx;
    int rc = regcomp(&rx, re ? re : LBL_MARKING_RE_DEFAULT, REG_EXTENDED);
    if (rc) {
        char m[128];
        regerror(rc, &rx, m, sizeof m);
        lbl_err_set(err, "marking regular expression: %s", m);
        return MG_EINVAL;
    }
    regmatch_t mt[2];
    rc = regexec(&rx, text, 2, mt, 0);
    regfree(&rx);
    if (rc) {
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

static int try_class(const struct lbl_policy *p, int cls, const uint64_t *cand, const char *m, const char *lang,
                     unsigned loc, uint64_t *best_bits)
{
    uint64_t bits[LBL_WORDS];
    memcpy(bits, cand, sizeof bits);
    struct mg_buf b;
    mg_buf_init(&b, MARKING_MAX);
    size_t lm = strlen(m);
    int found = 0;
    /* Greedy: drop the candidate whose removal brings the generated marking closest to the text. */
    for (int round = 0; round < 64; round++) {
        if (gen(p, cls, bits, lang, loc, &b))
            break;
        if (b.len == lm && !memcmp(b.data, m, lm)) {
            found = 1;
            break;
        }
        size_t bestd = (size_t)-1;
        int besto = -1;
        for (uint32_t o = 0; o < p->ncats; o++) {
            if (!((bits[o / 64] >> (o % 64)) & 1))
                continue;
            bits[o / 64] &= ~(1ull << (o % 64));
            if (!gen(p, cls, bits, lang, loc, &b)) {
                size_t d = distance((const char *)b.data, b.len, m, lm);
                if (d < bestd) {
                    bestd = d;
                    besto = (int)o;
                }
            }
            bits[o / 64] |= 1ull << (o % 64);
        }
        if (besto < 0)
            break;
        bits[besto / 64] &= ~(1ull << (besto % 64));
    }
    mg_buf_free(&b);
    if (found)
        memcpy(best_bits, bits, sizeof bits);
    return found;
}

int lbl_marking_parse(const struct lbl_policy *p, const char *text, const char *re, const char *lang,
                      enum lbl_loc loc, struct lbl_label *out, struct lbl_err *err)
{
    char m[1024];
    if (!lang)
        lang = "";
    int rc = cut(text, re, m, sizeof m, err);
    if (rc)
        return rc;
    unsigned lb = loc_bits(loc);
    /* Candidates: every category whose phrase (or replace-policy phrase) shows in the text. */
    uint64_t cand[LBL_WORDS];
    memset(cand, 0, sizeof cand);
    size_t ncand = 0;
    for (uint32_t o = 0; o < p->ncats; o++) {
        const struct lbl_category *c = &p->cats[o];
        const struct lbl_mk *cm = lbl_mks_find(&c->mk, lang);
        if (!cm)
            cm = lbl_mks_find(&p->tags[c->tag].mk, lang);
        const char *ph = cm ? phrase(cm, lb, c->name) : c->name;
        int hit = occurs(m, ph);
        if (!hit && cm && has_code(cm, lb, LBL_MK_REPLACEPOLICY))
            hit = occurs(m, policy_phrase(cm, lb, c->name));
        if (hit) {
            cand[o / 64] |= 1ull << (o % 64);
            if (++ncand > 48) {
                lbl_err_set(err, "marking matches too many categories to resolve");
                return MG_EPARSE;
            }
        }
    }
    for (size_t ci = 0; ci < p->nclasses; ci++) {
        uint64_t bits[LBL_WORDS];
        if (!try_class(p, (int)ci, cand, m, lang, lb, bits))
            continue;
        lbl_label_free(out);
        snprintf(out->policy, sizeof out->policy, "%s", p->oid);
        out->has_class = 1;
        out->class_lacv = p->classes[ci].lacv;
        for (uint32_t o = 0; o < p->ncats; o++)
            if ((bits[o / 64] >> (o % 64)) & 1) {
                const struct lbl_category *c = &p->cats[o];
                rc = lbl_label_add_cat(out, p->tagsets[c->tagset].oid, p->tags[c->tag].type, c->lacv);
                if (rc)
                    return rc;
            }
        return 0;
    }
    lbl_err_set(err, "\"%s\" is not a display marking of policy %s", m, p->name);
    return MG_EPARSE;
}
