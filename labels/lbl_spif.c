/* lbl_spif: Open XML SPIF loader. libxml2 parses (and optionally validates against spif.xsd);
 * this module walks the tree once and compiles it: classifications and categories get indexes,
 * category references (required/excluded) become ordinal lists, and the access-control masks
 * are built, so that checks at run time never look at strings.
 * All memory of a policy comes from one allocation list freed by lbl_policy_free(). The
 * libxml2 parse and schema validation are in lbl_spif_load.c. */
#include "lbl_spif_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lbl_marking.h"
#include "mg_buf.h"
#include "mg_err.h"

#define SPIF_NS "http://www.xmlspif.org/spif"

/* Every allocation of a policy is one of these; the list is freed in one walk. */
struct lbl_alloc {
    struct lbl_alloc *next;
    max_align_t data[];
};

struct lbl_policy_priv {
    struct lbl_policy pub;
    struct lbl_alloc *allocs;
};

struct ld {
    struct lbl_policy_priv *pp;
    struct lbl_policy *p;
    const char *file;
    struct lbl_err *err;
    int failed;
};

static void *pz(struct ld *ld, size_t n)
{
    struct lbl_alloc *a = calloc(1, sizeof *a + (n ? n : 1));
    if (!a) {
        ld->failed = MG_ENOMEM;
        return NULL;
    }
    a->next = ld->pp->allocs;
    ld->pp->allocs = a;
    return a->data;
}

static char *pstr(struct ld *ld, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *d = pz(ld, n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

__attribute__((format(printf, 3, 4))) static int fail(struct ld *ld, const xmlNode *n, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!ld->failed) {
        lbl_err_set(ld->err, "%s:%ld: %s", ld->file, n ? (long)xmlGetLineNo(n) : 0L, why);
        ld->failed = MG_EPARSE;
    }
    return MG_EPARSE;
}

static int is_el(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local) &&
           (!n->ns || !n->ns->href || !strcmp((const char *)n->ns->href, SPIF_NS));
}

static size_t count_children(const xmlNode *n, const char *local)
{
    size_t k = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        k += is_el(c, local);
    return k;
}

static const xmlNode *first_child(const xmlNode *n, const char *local)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_el(c, local))
            return c;
    return NULL;
}

/* Attribute value without namespace; libxml2 keeps it as one text child. */
static const char *attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (!a->ns && !strcmp((const char *)a->name, name))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

static const char *xml_lang(const xmlNode *n)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->ns && a->ns->href && !strcmp((const char *)a->ns->href, (const char *)XML_XML_NAMESPACE) &&
            !strcmp((const char *)a->name, "lang"))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return "";
}

/* Element text with surrounding white space removed, copied into the policy. */
static char *text(struct ld *ld, const xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    const char *s = c ? (const char *)c : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    char *d = pz(ld, len + 1);
    if (d)
        memcpy(d, s, len);
    xmlFree(c);
    return d;
}

static int need_lacv(struct ld *ld, const xmlNode *n, unsigned long *out)
{
    const char *v = attr(n, "lacv");
    if (!v)
        return fail(ld, n, "<%s> has no lacv", n->name);
    if (lbl_parse_lacv(v, out))
        return fail(ld, n, "<%s> lacv \"%s\" is not a non-negative integer", n->name, v);
    return 0;
}

static int parse_bool(struct ld *ld, const xmlNode *n, const char *name, int *out)
{
    const char *v = attr(n, name);
    *out = 0;
    if (!v)
        return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (strcmp(v, "false") && strcmp(v, "0"))
        return fail(ld, n, "%s=\"%s\" is not a boolean", name, v);
    return 0;
}

static int parse_tag_type(struct ld *ld, const xmlNode *n, enum lbl_tag_type *out)
{
    const char *t = attr(n, "tagType");
    if (!t)
        return fail(ld, n, "<%s> has no tagType", n->name);
    if (!strcmp(t, "permissive"))
        *out = LBL_TAG_PERMISSIVE;
    else if (!strcmp(t, "restrictive"))
        *out = LBL_TAG_RESTRICTIVE;
    else if (!strcmp(t, "tagType7"))
        *out = LBL_TAG_INFORMATIVE;
    else if (!strcmp(t, "enumerated")) {
        const char *e = attr(n, "enumType");
        if (!e)
            return fail(ld, n, "<%s> enumerated tag has no enumType", n->name);
        if (!strcmp(e, "permissive"))
            *out = LBL_TAG_ENUM_PERMISSIVE;
        else if (!strcmp(e, "restrictive"))
            *out = LBL_TAG_ENUM_RESTRICTIVE;
        else
            return fail(ld, n, "unknown enumType \"%s\"", e);
    } else
        return fail(ld, n, "unknown tagType \"%s\"", t);
    return 0;
}

/* ---- markings ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bits;
} mk_codes[] = {
    { "pageTop", LBL_MK_PAGETOP },
    { "pageBottom", LBL_MK_PAGEBOTTOM },
    { "pageTopBottom", LBL_MK_PAGETOP | LBL_MK_PAGEBOTTOM },
    { "documentStart", LBL_MK_DOCSTART },
    { "documentEnd", LBL_MK_DOCEND },
    { "noNameDisplay", LBL_MK_NONAME },
    { "noMarkingDisplay", LBL_MK_NOMARKING },
    { "suppressClassName", LBL_MK_SUPPRESSCLASS },
    { "firstLineOfText", LBL_MK_FLOT },
    { "lastLineOfText", LBL_MK_LLOT },
    { "subject", LBL_MK_SUBJECT },
    { "xHeader", LBL_MK_XHEADER },
    { "portionMarking", LBL_MK_PORTION },
    { "inputTitle", LBL_MK_INPUTTITLE },
    { "waterMark", LBL_MK_WATERMARK },
    { "replacePolicy", LBL_MK_REPLACEPOLICY },
};

static int add_lang(struct ld *ld, const char *lang)
{
    struct lbl_policy *p = ld->p;
    for (size_t i = 0; i < p->nlangs; i++)
        if (!strcmp(p->langs[i], lang))
            return 0;
    /* Languages are few; the array is rebuilt from the allocation list each time. */
    char **n = pz(ld, (p->nlangs + 1) * sizeof *n);
    if (!n)
        return MG_ENOMEM;
    if (p->nlangs)
        memcpy(n, p->langs, p->nlangs * sizeof *n);
    n[p->nlangs] = pstr(ld, lang);
    p->langs = n;
    p->nlangs++;
    return 0;
}

/* Collects markingData and markingQualifier children of one element, one entry per language.
 * Qualifiers without xml:lang fill whatever a language-specific set leaves empty. */
static int parse_markings(struct ld *ld, const xmlNode *holder, struct lbl_mks *out)
{
    const char *langs[64];
    size_t nl = 0;
    for (const xmlNode *c = holder->children; c; c = c->next) {
        const char *lang = NULL;
        if (is_el(c, "markingData"))
            lang = xml_lang(c);
        else if (is_el(c, "markingQualifier")) {
            for (const xmlNode *q = c->children; q; q = q->next)
                if (is_el(q, "qualifier")) {
                    const char *ql = xml_lang(q);
                    size_t i;
                    for (i = 0; i < nl && strcmp(langs[i], ql); i++)
                        ;
                    if (i == nl && nl < 64)
                        langs[nl++] = ql;
                }
            continue;
        } else
            continue;
        size_t i;
        for (i = 0; i < nl && strcmp(langs[i], lang); i++)
            ;
        if (i == nl && nl < 64)
            langs[nl++] = lang;
    }
    out->n = 0;
    out->v = NULL;
    if (!nl)
        return 0;
    out->v = pz(ld, nl * sizeof *out->v);
    if (!out->v)
        return MG_ENOMEM;
    for (size_t li = 0; li < nl; li++) {
        struct lbl_mk *m = &out->v[out->n++];
        const char *L = langs[li];
        if (add_lang(ld, L))
            return MG_ENOMEM;
        m->lang = pstr(ld, L);
        const char *pre = NULL, *suf = NULL, *sep = NULL;
        for (int pass = 0; pass < 2; pass++) {
            const char *want = pass == 0 ? L : "";
            if (pass == 1 && !*L)
                break;
            for (const xmlNode *c = holder->children; c; c = c->next) {
                if (!is_el(c, "markingQualifier"))
                    continue;
                for (const xmlNode *q = c->children; q; q = q->next) {
                    if (!is_el(q, "qualifier") || strcmp(xml_lang(q), want))
                        continue;
                    const char *code = attr(q, "qualifierCode");
                    const char *txt = attr(q, "markingQualifier");
                    if (!code || !txt)
                        return fail(ld, q, "<qualifier> needs qualifierCode and markingQualifier");
                    const char **slot = !strcmp(code, "prefix")      ? &pre
                                        : !strcmp(code, "suffix")    ? &suf
                                        : !strcmp(code, "separator") ? &sep
                                                                     : NULL;
                    if (!slot)
                        return fail(ld, q, "unknown qualifierCode \"%s\"", code);
                    if (pass == 0 || !*slot)
                        *slot = txt;
                }
            }
        }
        m->prefix = pstr(ld, pre);
        m->suffix = pstr(ld, suf);
        m->sep = pstr(ld, sep);
        size_t nd = 0;
        for (const xmlNode *c = holder->children; c; c = c->next)
            nd += is_el(c, "markingData") && !strcmp(xml_lang(c), L);
        m->phr = nd ? pz(ld, nd * sizeof *m->phr) : NULL;
        for (const xmlNode *c = holder->children; c; c = c->next) {
            if (!is_el(c, "markingData") || strcmp(xml_lang(c), L))
                continue;
            struct lbl_phrase *ph = &m->phr[m->nphr++];
            const char *phrase = attr(c, "phrase");
            ph->text = phrase ? pstr(ld, phrase) : NULL;
            for (const xmlNode *k = c->children; k; k = k->next) {
                if (!is_el(k, "code"))
                    continue;
                char *name = text(ld, k);
                size_t i;
                for (i = 0; name && i < sizeof mk_codes / sizeof mk_codes[0]; i++)
                    if (!strcmp(mk_codes[i].name, name))
                        break;
                if (!name || i == sizeof mk_codes / sizeof mk_codes[0])
                    return fail(ld, k, "unknown marking code \"%s\"", name ? name : "");
                ph->codes |= mk_codes[i].bits;
            }
            /* A phrase with no location applies wherever a marking is shown. */
            if (!(ph->codes & LBL_MK_LOCATIONS))
                ph->codes |= LBL_MK_LOCATIONS;
        }
    }
    return ld->failed;
}

/* ---- category references ------------------------------------------------------------------ */

static const char *op_names[] = { "onlyOne", "oneOrMore", "all" };

static int parse_catdata(struct ld *ld, const xmlNode *n, struct lbl_catdata *d)
{
    const char *ref = attr(n, "tagSetRef");
    if (!ref)
        return fail(ld, n, "<%s> has no tagSetRef", n->name);
    d->tsref = pstr(ld, ref);
    d->line = (int)xmlGetLineNo(n);
    d->tagset = -1;
    if (parse_tag_type(ld, n, &d->type))
        return MG_EPARSE;
    const char *lv = attr(n, "lacv");
    int all = 0;
    if (parse_bool(ld, n, "all", &all))
        return MG_EPARSE;
    if (lv && *lv && !all) {
        if (lbl_parse_lacv(lv, &d->lacv))
            return fail(ld, n, "lacv \"%s\" is not a non-negative integer", lv);
    } else
        d->all = 1;
    return 0;
}

static int parse_group(struct ld *ld, const xmlNode *n, struct lbl_group *g)
{
    const char *op = attr(n, "operation");
    if (!op)
        return fail(ld, n, "<requiredCategory> has no operation");
    size_t i;
    for (i = 0; i < 3 && strcmp(op, op_names[i]); i++)
        ;
    if (i == 3)
        return fail(ld, n, "unknown operation \"%s\"", op);
    g->op = (enum lbl_op)i;
    g->line = (int)xmlGetLineNo(n);
    size_t k = count_children(n, "categoryGroup");
    g->v = k ? pz(ld, k * sizeof *g->v) : NULL;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_el(c, "categoryGroup") && parse_catdata(ld, c, &g->v[g->n++]))
            return MG_EPARSE;
    return ld->failed;
}

static int parse_groups(struct ld *ld, const xmlNode *n, struct lbl_group **out, size_t *nout)
{
    size_t k = count_children(n, "requiredCategory");
    *nout = 0;
    *out = k ? pz(ld, k * sizeof **out) : NULL;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_el(c, "requiredCategory") && parse_group(ld, c, &(*out)[(*nout)++]))
            return MG_EPARSE;
    return ld->failed;
}

/* Groups that name another policy's tag sets: kept raw. */
static int parse_rawgroups(struct ld *ld, const xmlNode *n, struct lbl_rawgroup **out, size_t *nout)
{
    struct lbl_group *g;
    size_t k;
    if (parse_groups(ld, n, &g, &k))
        return MG_EPARSE;
    *nout = k;
    *out = k ? pz(ld, k * sizeof **out) : NULL;
    for (size_t i = 0; i < k; i++) {
        (*out)[i].op = g[i].op;
        (*out)[i].n = g[i].n;
        (*out)[i].v = g[i].n ? pz(ld, g[i].n * sizeof *(*out)[i].v) : NULL;
        for (size_t j = 0; j < g[i].n; j++) {
            (*out)[i].v[j].tagset_name = g[i].v[j].tsref;
            (*out)[i].v[j].type = g[i].v[j].type;
            (*out)[i].v[j].all = g[i].v[j].all;
            (*out)[i].v[j].lacv = g[i].v[j].lacv;
        }
    }
    return ld->failed;
}

static const char *equiv_policy_oid(struct ld *ld, const xmlNode *n)
{
    const char *ref = attr(n, "policyRef");
    if (!ref) {
        fail(ld, n, "<%s> has no policyRef", n->name);
        return NULL;
    }
    for (size_t i = 0; i < ld->p->nequiv; i++)
        if (!strcmp(ld->p->equiv[i].name, ref))
            return ld->p->equiv[i].oid;
    fail(ld, n, "policyRef \"%s\" is not an equivalentPolicy of this SPIF", ref);
    return NULL;
}

static int parse_applied(struct ld *ld, const xmlNode *n, unsigned *out)
{
    const char *a = attr(n, "applied");
    if (!a)
        return fail(ld, n, "<%s> has no applied", n->name);
    if (!strcmp(a, "encrypt"))
        *out = LBL_APPLIED_ENCRYPT;
    else if (!strcmp(a, "decrypt"))
        *out = LBL_APPLIED_DECRYPT;
    else if (!strcmp(a, "both"))
        *out = LBL_APPLIED_ENCRYPT | LBL_APPLIED_DECRYPT;
    else
        return fail(ld, n, "applied=\"%s\" is not encrypt, decrypt or both", a);
    return 0;
}

/* ---- the document -------------------------------------------------------------------------- */

static int parse_class(struct ld *ld, const xmlNode *n, struct lbl_class *c)
{
    const char *name = attr(n, "name");
    const char *h = attr(n, "hierarchy");
    if (!name || !*name)
        return fail(ld, n, "<securityClassification> has no name");
    c->name = pstr(ld, name);
    c->line = (int)xmlGetLineNo(n);
    if (need_lacv(ld, n, &c->lacv))
        return MG_EPARSE;
    if (!h || lbl_parse_lacv(h, &c->hierarchy))
        return fail(ld, n, "classification %s has no valid hierarchy", name);
    if (parse_bool(ld, n, "obsolete", &c->obsolete))
        return MG_EPARSE;
    const char *col = attr(n, "color");
    c->color = col ? pstr(ld, col) : NULL;
    if (parse_groups(ld, n, &c->groups, &c->ngroups))
        return MG_EPARSE;
    size_t k = count_children(n, "equivalentClassification");
    c->equiv = k ? pz(ld, k * sizeof *c->equiv) : NULL;
    for (const xmlNode *e = n->children; e; e = e->next) {
        if (!is_el(e, "equivalentClassification"))
            continue;
        struct lbl_equiv_class *q = &c->equiv[c->nequiv++];
        const char *oid = equiv_policy_oid(ld, e);
        if (!oid || need_lacv(ld, e, &q->lacv) || parse_applied(ld, e, &q->applied) ||
            parse_rawgroups(ld, e, &q->groups, &q->ngroups))
            return MG_EPARSE;
        q->policy_oid = (char *)oid;
    }
    return parse_markings(ld, n, &c->mk);
}

static int parse_category(struct ld *ld, const xmlNode *n, struct lbl_category *c, int tag, int ts)
{
    struct lbl_policy *p = ld->p;
    const char *name = attr(n, "name");
    if (!name || !*name)
        return fail(ld, n, "<tagCategory> has no name");
    c->name = pstr(ld, name);
    c->tag = tag;
    c->tagset = ts;
    c->line = (int)xmlGetLineNo(n);
    if (need_lacv(ld, n, &c->lacv) || parse_bool(ld, n, "obsolete", &c->obsolete))
        return MG_EPARSE;
    for (const xmlNode *e = n->children; e; e = e->next) {
        if (!is_el(e, "excludedClass"))
            continue;
        char *cn = text(ld, e);
        if (!cn || !*cn)
            return fail(ld, e, "empty excludedClass in category %s", name);
        int ci = lbl_policy_class_by_name(p, cn);
        if (ci < 0)
            return fail(ld, e, "excludedClass \"%s\" in category %s is not a classification of this SPIF", cn,
                        name);
        if (c->excl_class[ci / 64] & (1ull << (ci % 64)))
            return fail(ld, e, "Duplicate excluded classification in category %s: %s", name, cn);
        c->excl_class[ci / 64] |= 1ull << (ci % 64);
    }
    size_t k = count_children(n, "excludedCategory");
    c->excl = k ? pz(ld, k * sizeof *c->excl) : NULL;
    for (const xmlNode *e = n->children; e; e = e->next)
        if (is_el(e, "excludedCategory") && parse_catdata(ld, e, &c->excl[c->nexcl++]))
            return MG_EPARSE;
    if (parse_groups(ld, n, &c->groups, &c->ngroups))
        return MG_EPARSE;
    k = count_children(n, "equivalentSecCategoryTag");
    c->equiv = k ? pz(ld, k * sizeof *c->equiv) : NULL;
    for (const xmlNode *e = n->children; e; e = e->next) {
        if (!is_el(e, "equivalentSecCategoryTag"))
            continue;
        struct lbl_equiv_cat *q = &c->equiv[c->nequiv++];
        const char *oid = equiv_policy_oid(ld, e);
        if (!oid)
            return MG_EPARSE;
        q->policy_oid = (char *)oid;
        q->discard = attr(e, "action") != NULL && !strcmp(attr(e, "action"), "discard");
        const char *ts_id = attr(e, "tagSetId");
        if (!q->discard && (!ts_id || !lbl_oid_valid(ts_id)))
            return fail(ld, e, "equivalentSecCategoryTag needs a tagSetId OID");
        q->tagset_oid = pstr(ld, ts_id);
        if (parse_applied(ld, e, &q->applied))
            return MG_EPARSE;
        if (!q->discard && (parse_tag_type(ld, e, &q->type) || need_lacv(ld, e, &q->lacv)))
            return MG_EPARSE;
    }
    return parse_markings(ld, n, &c->mk);
}

static int parse_tagsets(struct ld *ld, const xmlNode *sets)
{
    struct lbl_policy *p = ld->p;
    size_t nts = 0, ntags = 0, ncats = 0;
    for (const xmlNode *s = sets->children; s; s = s->next) {
        if (!is_el(s, "securityCategoryTagSet"))
            continue;
        nts++;
        for (const xmlNode *t = s->children; t; t = t->next)
            if (is_el(t, "securityCategoryTag")) {
                ntags++;
                ncats += count_children(t, "tagCategory");
            }
    }
    if (ncats > LBL_MAX_POLICY_CATS)
        return fail(ld, sets, "%zu categories: more than the %d this implementation compiles", ncats,
                    LBL_MAX_POLICY_CATS);
    p->tagsets = nts ? pz(ld, nts * sizeof *p->tagsets) : NULL;
    p->tags = ntags ? pz(ld, ntags * sizeof *p->tags) : NULL;
    p->cats = ncats ? pz(ld, ncats * sizeof *p->cats) : NULL;
    if (ld->failed)
        return ld->failed;
    for (const xmlNode *s = sets->children; s; s = s->next) {
        if (!is_el(s, "securityCategoryTagSet"))
            continue;
        const char *name = attr(s, "name"), *id = attr(s, "id");
        if (!name || !*name)
            return fail(ld, s, "<securityCategoryTagSet> has no name");
        if (!id || !lbl_oid_valid(id))
            return fail(ld, s, "tag set %s has no valid id OID", name);
        if (lbl_policy_tagset_by_oid(p, id) >= 0)
            return fail(ld, s, "Duplicate tag set id %s", id);
        if (lbl_policy_tagset_by_name(p, name) >= 0)
            return fail(ld, s, "Duplicate tag set name %s", name);
        int tsi = (int)p->ntagsets++;
        struct lbl_tagset *ts = &p->tagsets[tsi];
        ts->name = pstr(ld, name);
        ts->oid = pstr(ld, id);
        if (parse_markings(ld, s, &ts->mk))
            return MG_EPARSE;
        for (const xmlNode *t = s->children; t; t = t->next) {
            if (!is_el(t, "securityCategoryTag"))
                continue;
            int ti = (int)p->ntags++;
            struct lbl_tag *tag = &p->tags[ti];
            const char *tn = attr(t, "name");
            tag->name = pstr(ld, tn ? tn : name);
            tag->tagset = tsi;
            if (parse_tag_type(ld, t, &tag->type) || parse_bool(ld, t, "singleSelection", &tag->single))
                return MG_EPARSE;
            if (tag->type == LBL_TAG_INFORMATIVE) {
                const char *enc = attr(t, "tag7Encoding");
                if (!enc)
                    return fail(ld, t, "tagType7 tag %s has no tag7Encoding", tag->name);
                if (!strcmp(enc, "securityAttributes"))
                    tag->t7_enumerated = 1;
                else if (strcmp(enc, "bitSetAttributes"))
                    return fail(ld, t, "unknown tag7Encoding \"%s\"", enc);
            }
            const char *mn = attr(t, "minSelection"), *mx = attr(t, "maxSelection");
            tag->minsel = 0;
            tag->maxsel = ULONG_MAX;
            if (mn && strcmp(mn, "unbounded") && lbl_parse_lacv(mn, &tag->minsel))
                return fail(ld, t, "bad minSelection \"%s\"", mn);
            if (mx && strcmp(mx, "unbounded") && lbl_parse_lacv(mx, &tag->maxsel))
                return fail(ld, t, "bad maxSelection \"%s\"", mx);
            if (tag->single)
                tag->maxsel = 1;
            if (parse_markings(ld, t, &tag->mk))
                return MG_EPARSE;
            tag->first = (uint32_t)p->ncats;
            for (const xmlNode *c = t->children; c; c = c->next) {
                if (!is_el(c, "tagCategory"))
                    continue;
                struct lbl_category *cat = &p->cats[p->ncats];
                if (parse_category(ld, c, cat, ti, tsi))
                    return MG_EPARSE;
                if (lbl_policy_cat_lookup(p, tsi, tag->type, cat->lacv) >= 0)
                    return fail(ld, c, "Duplicate category lacv %lu (%s) in tag set %s", cat->lacv, cat->name,
                                name);
                p->ncats++;
                tag->count++;
            }
        }
    }
    return ld->failed;
}

static int compile_catdata(struct ld *ld, struct lbl_catdata *d)
{
    struct lbl_policy *p = ld->p;
    d->tagset = lbl_policy_tagset_by_name(p, d->tsref);
    if (d->tagset < 0) {
        lbl_err_set(ld->err, "%s:%d: tagSetRef \"%s\" names no tag set of this SPIF", ld->file, d->line, d->tsref);
        return ld->failed = MG_EPARSE;
    }
    size_t k = 0;
    for (size_t i = 0; i < p->ncats; i++)
        k += p->cats[i].tagset == d->tagset && p->tags[p->cats[i].tag].type == d->type &&
             (d->all || p->cats[i].lacv == d->lacv);
    if (!k && d->all)
        return 0; /* "all" of an empty set: nothing required, nothing excluded */
    if (!k) {
        lbl_err_set(ld->err, "%s:%d: reference to %s category %s%lu of tag set %s matches no category", ld->file,
                    d->line, lbl_tag_type_name(d->type), d->all ? "(all) " : "", d->all ? 0ul : d->lacv,
                    d->tsref);
        return ld->failed = MG_EPARSE;
    }
    d->ords = pz(ld, k * sizeof *d->ords);
    if (!d->ords)
        return MG_ENOMEM;
    for (size_t i = 0; i < p->ncats; i++)
        if (p->cats[i].tagset == d->tagset && p->tags[p->cats[i].tag].type == d->type &&
            (d->all || p->cats[i].lacv == d->lacv))
            d->ords[d->nords++] = (uint32_t)i;
    return 0;
}

static int compile_groups(struct ld *ld, struct lbl_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < g[i].n; j++)
            if (compile_catdata(ld, &g[i].v[j]))
                return MG_EPARSE;
    return 0;
}

static int compile(struct ld *ld)
{
    struct lbl_policy *p = ld->p;
    for (size_t i = 0; i < p->nclasses; i++)
        if (compile_groups(ld, p->classes[i].groups, p->classes[i].ngroups))
            return MG_EPARSE;
    for (size_t i = 0; i < p->ncats; i++) {
        struct lbl_category *c = &p->cats[i];
        if (compile_groups(ld, c->groups, c->ngroups))
            return MG_EPARSE;
        for (size_t j = 0; j < c->nexcl; j++)
            if (compile_catdata(ld, &c->excl[j]))
                return MG_EPARSE;
        enum lbl_tag_type t = p->tags[c->tag].type;
        if (t == LBL_TAG_RESTRICTIVE || t == LBL_TAG_ENUM_RESTRICTIVE)
            p->restrictive[i / 64] |= 1ull << (i % 64);
    }
    p->nwords = (uint32_t)((p->ncats + 63) / 64);
    return 0;
}

static int parse_doc(struct ld *ld, const xmlNode *root)
{
    struct lbl_policy *p = ld->p;
    if (!root || !is_el(root, "SPIF"))
        return fail(ld, root, "root element is <%s>, not <SPIF>", root ? (const char *)root->name : "");
    const char *sv = attr(root, "schemaVersion");
    if (sv && strcmp(sv, "1.0") && strcmp(sv, "2.0") && strcmp(sv, "2.1"))
        return fail(ld, root, "schemaVersion \"%s\" is not 1.0, 2.0 or 2.1", sv);
    p->schema_version = sv ? pstr(ld, sv) : NULL;
    const char *rb = attr(root, "rbacId");
    p->rbac_oid = rb && *rb ? pstr(ld, rb) : NULL;
    const xmlNode *id = first_child(root, "securityPolicyId");
    if (!id)
        return fail(ld, root, "no <securityPolicyId>");
    const char *name = attr(id, "name"), *oid = attr(id, "id");
    if (!name || !oid || !lbl_oid_valid(oid))
        return fail(ld, id, "<securityPolicyId> needs a name and an id OID");
    p->name = pstr(ld, name);
    p->oid = pstr(ld, oid);
    const xmlNode *def = first_child(root, "defaultSecurityPolicyId");
    if (def && attr(def, "id"))
        p->default_oid = pstr(ld, attr(def, "id"));

    const xmlNode *eq = first_child(root, "equivalentPolicies");
    if (eq) {
        size_t k = count_children(eq, "equivalentPolicy");
        p->equiv = k ? pz(ld, k * sizeof *p->equiv) : NULL;
        for (const xmlNode *e = eq->children; e; e = e->next) {
            if (!is_el(e, "equivalentPolicy"))
                continue;
            const char *en = attr(e, "name"), *eid = attr(e, "id");
            if (!en || !*en || !eid || !lbl_oid_valid(eid))
                return fail(ld, e, "<equivalentPolicy> needs a name and an id OID");
            struct lbl_equiv_policy *q = &p->equiv[p->nequiv++];
            q->name = pstr(ld, en);
            q->oid = pstr(ld, eid);
            if (parse_rawgroups(ld, e, &q->groups, &q->ngroups))
                return MG_EPARSE;
        }
    }

    const xmlNode *cls = first_child(root, "securityClassifications");
    if (!cls)
        return fail(ld, root, "no <securityClassifications>");
    size_t k = count_children(cls, "securityClassification");
    if (!k)
        return fail(ld, cls, "no classification defined");
    if (k > LBL_CLASS_WORDS * 64)
        return fail(ld, cls, "%zu classifications: more than %d", k, LBL_CLASS_WORDS * 64);
    p->classes = pz(ld, k * sizeof *p->classes);
    if (!p->classes)
        return MG_ENOMEM;
    for (const xmlNode *c = cls->children; c; c = c->next) {
        if (!is_el(c, "securityClassification"))
            continue;
        struct lbl_class tmp;
        memset(&tmp, 0, sizeof tmp);
        if (parse_class(ld, c, &tmp))
            return MG_EPARSE;
        if (lbl_policy_class_index(p, tmp.lacv) >= 0)
            return fail(ld, c, "Duplicate classification lacv %lu (%s)", tmp.lacv, tmp.name);
        if (lbl_policy_class_by_name(p, tmp.name) >= 0)
            return fail(ld, c, "Duplicate classification name %s", tmp.name);
        p->classes[p->nclasses++] = tmp;
    }
    const xmlNode *sets = first_child(root, "securityCategoryTagSets");
    if (sets && parse_tagsets(ld, sets))
        return MG_EPARSE;
    const xmlNode *pm = first_child(root, "privacyMarks");
    if (pm) {
        k = count_children(pm, "privacyMark");
        p->privacy = k ? pz(ld, k * sizeof *p->privacy) : NULL;
        for (const xmlNode *m = pm->children; m; m = m->next) {
            if (!is_el(m, "privacyMark"))
                continue;
            const char *mn = attr(m, "name");
            if (!mn)
                return fail(ld, m, "<privacyMark> has no name");
            p->privacy[p->nprivacy].name = pstr(ld, mn);
            if (parse_bool(ld, m, "obsolete", &p->privacy[p->nprivacy].obsolete))
                return MG_EPARSE;
            p->nprivacy++;
        }
    }
    if (add_lang(ld, "") || parse_markings(ld, root, &p->mk))
        return ld->failed ? ld->failed : MG_ENOMEM;
    /* "" first: the default language leads the list. */
    for (size_t i = 0; i < p->nlangs; i++)
        if (!p->langs[i][0] && i) {
            char *t = p->langs[0];
            p->langs[0] = p->langs[i];
            p->langs[i] = t;
        }
    if (ld->failed)
        return ld->failed;
    return compile(ld);
}

static void policy_free_priv(struct lbl_policy_priv *pp)
{
    struct lbl_alloc *a = pp->allocs;
    while (a) {
        struct lbl_alloc *n = a->next;
        free(a);
        a = n;
    }
    free(pp);
}

int lbl_policy_load_mem(const void *data, size_t len, const char *name, const struct lbl_load_opts *opts,
                        struct lbl_policy **out, struct lbl_err *err)
{
    *out = NULL;
    if (!name)
        name = "SPIF";
    if (len == 0) {
        lbl_err_set(err, "%s: SPIF is empty", name);
        return MG_EPARSE;
    }
    if (len > LBL_SPIF_MAX_BYTES || len > INT_MAX) {
        lbl_err_set(err, "%s: SPIF larger than %u bytes", name, LBL_SPIF_MAX_BYTES);
        return MG_ETOOBIG;
    }
    xmlDocPtr doc = NULL;
    int prc = lbl_spif_load_xml(data, len, name, opts, &doc, err);
    if (prc)
        return prc;
    struct lbl_policy_priv *pp = calloc(1, sizeof *pp);
    if (!pp) {
        xmlFreeDoc(doc);
        return MG_ENOMEM;
    }
    struct ld ld = { .pp = pp, .p = &pp->pub, .file = name, .err = err, .failed = 0 };
    pp->pub.file = pstr(&ld, name);
    int rc = parse_doc(&ld, xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    if (rc || ld.failed) {
        if (ld.failed == MG_ENOMEM || rc == MG_ENOMEM)
            lbl_err_set(err, "%s: out of memory", name);
        policy_free_priv(pp);
        return rc ? rc : ld.failed;
    }
    *out = &pp->pub;
    return 0;
}

int lbl_policy_load_file(const char *path, const struct lbl_load_opts *opts, struct lbl_policy **out,
                         struct lbl_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = mg_read_file(path, LBL_SPIF_MAX_BYTES, &data, &len);
    if (rc) {
        lbl_err_set(err, "%s: cannot read: %s", path, mg_strerror(rc));
        return rc;
    }
    rc = lbl_policy_load_mem(data, len, path, opts, out, err);
    free(data);
    return rc;
}

void lbl_policy_free(struct lbl_policy *p)
{
    if (p)
        policy_free_priv((struct lbl_policy_priv *)p);
}
