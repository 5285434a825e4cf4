/* lbl_check: validation, access control and translation over a compiled policy (lbl_check.h).
 * The decision is the X.841 one: the label's classification must be in the clearance's class
 * list; every restrictive (and enumerated restrictive) category of the label must be held; for
 * every permissive (and enumerated permissive) tag the label uses, at least one of the label's
 * categories of that tag must be held. Informative categories never restrict access. */
#include "lbl_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbl_spif_int.h"
#include "mg_err.h"

static inline int bit(const uint64_t *b, uint32_t i)
{
    return (int)((b[i / 64] >> (i % 64)) & 1);
}

static inline void setbit(uint64_t *b, uint32_t i)
{
    b[i / 64] |= 1ull << (i % 64);
}

static int resolve_cat(const struct lbl_policy *p, const struct lbl_cat *c)
{
    int ts = lbl_policy_tagset_by_oid(p, c->tagset);
    return ts < 0 ? -1 : lbl_policy_cat_lookup(p, ts, c->type, c->lacv);
}

int lbl_resolve(const struct lbl_policy *p, const struct lbl_label *l, struct lbl_rlabel *out, struct lbl_err *err)
{
    memset(out, 0, sizeof *out);
    out->policy = p;
    out->cls = -1;
    if (strcmp(l->policy, p->oid)) {
        lbl_err_set(err, "label policy %s is not the SPIF's policy %s (%s)", l->policy[0] ? l->policy : "(none)",
                    p->oid, p->name);
        return MG_ENOTFOUND;
    }
    if (l->nraw) {
        lbl_err_set(err, "security category type %s is not defined by policy %s", l->raw[0].type, p->name);
        return MG_ENOTFOUND;
    }
    if (l->has_class) {
        out->cls = lbl_policy_class_index(p, l->class_lacv);
        if (out->cls < 0) {
            lbl_err_set(err, "classification %lu is not defined by policy %s", l->class_lacv, p->name);
            return MG_ENOTFOUND;
        }
    }
    for (size_t i = 0; i < l->ncats; i++) {
        int o = resolve_cat(p, &l->cats[i]);
        if (o < 0) {
            lbl_err_set(err, "%s category %lu of tag set %s is not defined by policy %s",
                        lbl_tag_type_name(l->cats[i].type), l->cats[i].lacv, l->cats[i].tagset, p->name);
            return MG_ENOTFOUND;
        }
        if (!bit(out->bits, (uint32_t)o))
            out->ncats++;
        setbit(out->bits, (uint32_t)o);
    }
    return 0;
}

int lbl_resolve_clearance(const struct lbl_policy *p, const struct lbl_clearance *c, struct lbl_rclear *out,
                          struct lbl_err *err)
{
    memset(out, 0, sizeof *out);
    out->policy = p;
    if (strcmp(c->policy, p->oid)) {
        lbl_err_set(err, "clearance policy %s is not the SPIF's policy %s (%s)", c->policy[0] ? c->policy : "(none)",
                    p->oid, p->name);
        return MG_ENOTFOUND;
    }
    for (size_t i = 0; i < c->nclasses; i++) {
        int ci = lbl_policy_class_index(p, c->classes[i]);
        if (ci < 0) {
            lbl_err_set(err, "clearance classification %lu is not defined by policy %s", c->classes[i], p->name);
            return MG_ENOTFOUND;
        }
        setbit(out->classes, (uint32_t)ci);
    }
    for (size_t i = 0; i < c->ncats; i++) {
        int o = resolve_cat(p, &c->cats[i]);
        if (o < 0) {
            lbl_err_set(err, "clearance %s category %lu of tag set %s is not defined by policy %s",
                        lbl_tag_type_name(c->cats[i].type), c->cats[i].lacv, c->cats[i].tagset, p->name);
            return MG_ENOTFOUND;
        }
        setbit(out->bits, (uint32_t)o);
    }
    return 0;
}

/* Any bit of (a & b) in ordinals [first, first + count). */
static int any_in_range(const uint64_t *a, const uint64_t *b, uint32_t first, uint32_t count)
{
    uint32_t end = first + count;
    for (uint32_t w = first / 64; w * 64 < end; w++) {
        uint64_t m = ~0ull;
        if (w == first / 64)
            m &= ~0ull << (first % 64);
        if ((w + 1) * 64 > end)
            m &= ~0ull >> (64 - (end - w * 64));
        if (a[w] & b[w] & m)
            return 1;
    }
    return 0;
}

static void name_cats_in(const struct lbl_policy *p, const uint64_t *bits, const struct lbl_tag *t, char *out,
                         size_t outsz)
{
    size_t used = 0;
    out[0] = 0;
    for (uint32_t i = t->first; i < t->first + t->count; i++)
        if (bit(bits, i)) {
            int k = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", p->cats[i].name);
            if (k < 0 || (size_t)k >= outsz - used)
                return;
            used += (size_t)k;
        }
}

int lbl_decide(const struct lbl_rlabel *l, const struct lbl_rclear *c, struct lbl_err *why)
{
    const struct lbl_policy *p = l->policy;
    if (!p || p != c->policy) {
        lbl_err_set(why, "label and clearance are under different policies");
        return 0;
    }
    if (l->cls < 0 || !bit(c->classes, (uint32_t)l->cls)) {
        lbl_err_set(why, "classification %s is not in the clearance's class list",
                    l->cls < 0 ? "(none)" : p->classes[l->cls].name);
        return 0;
    }
    for (uint32_t w = 0; w < p->nwords; w++) {
        uint64_t missing = l->bits[w] & p->restrictive[w] & ~c->bits[w];
        if (missing) {
            if (why) {
                uint32_t o = w * 64 + (uint32_t)__builtin_ctzll(missing);
                const struct lbl_category *cat = &p->cats[o];
                lbl_err_set(why, "restrictive category %s (%s) is not held by the clearance", cat->name,
                            p->tags[cat->tag].name);
            }
            return 0;
        }
    }
    for (size_t t = 0; t < p->ntags; t++) {
        const struct lbl_tag *tag = &p->tags[t];
        if (tag->type != LBL_TAG_PERMISSIVE && tag->type != LBL_TAG_ENUM_PERMISSIVE)
            continue;
        if (!any_in_range(l->bits, l->bits, tag->first, tag->count))
            continue;
        if (!any_in_range(l->bits, c->bits, tag->first, tag->count)) {
            if (why) {
                char names[300];
                name_cats_in(p, l->bits, tag, names, sizeof names);
                lbl_err_set(why, "the clearance holds none of the label's permissive categories of tag %s (%s)",
                            tag->name, names);
            }
            return 0;
        }
    }
    lbl_err_set(why, "allowed");
    return 1;
}

/* ---- validation ----------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void reason(struct lbl_reasons *why, const char *fmt, ...)
{
    if (!why || why->n >= LBL_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->r[why->n++], sizeof why->r[0], fmt, ap);
    va_end(ap);
}

static int catdata_matches(const struct lbl_catdata *d, const uint64_t *bits)
{
    for (size_t i = 0; i < d->nords; i++)
        if (bit(bits, d->ords[i]))
            return 1;
    return 0;
}

/* SPIF requiredCategory: onlyOne = exactly one member present, oneOrMore = at least one,
 * all = every member present. */
static int group_matches(const struct lbl_group *g, const uint64_t *bits)
{
    size_t found = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (catdata_matches(&g->v[i], bits))
            found++;
        else if (g->op == LBL_OP_ALL)
            return 0;
    }
    if (g->op == LBL_OP_ONLYONE)
        return found == 1;
    return found > 0;
}

static const char *const op_words[] = { "exactly one of", "one or more of", "all of" };

static void describe_group(const struct lbl_policy *p, const struct lbl_group *g, char *out, size_t outsz)
{
    size_t used = 0;
    int k = snprintf(out, outsz, "%s ", op_words[g->op]);
    used = k > 0 ? (size_t)k : 0;
    for (size_t i = 0; i < g->n && used < outsz; i++) {
        const struct lbl_catdata *d = &g->v[i];
        if (d->all)
            k = snprintf(out + used, outsz - used, "%s%s %s categories", i ? ", " : "", d->tsref,
                         lbl_tag_type_name(d->type));
        else
            k = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "",
                         d->nords ? p->cats[d->ords[0]].name : d->tsref);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

int lbl_validate(const struct lbl_policy *p, const struct lbl_label *l, struct lbl_reasons *why)
{
    if (why)
        why->n = 0;
    int ok = 1;
    if (strcmp(l->policy, p->oid)) {
        reason(why, "label policy %s is not the SPIF's policy %s (%s)", l->policy[0] ? l->policy : "(none)", p->oid,
               p->name);
        return 0;
    }
    int cls = -1;
    if (!l->has_class) {
        reason(why, "label has no classification");
        ok = 0;
    } else if ((cls = lbl_policy_class_index(p, l->class_lacv)) < 0) {
        reason(why, "classification %lu is not defined by policy %s", l->class_lacv, p->name);
        ok = 0;
    } else if (p->classes[cls].obsolete) {
        reason(why, "classification %s is obsolete", p->classes[cls].name);
        ok = 0;
    }
    for (size_t i = 0; i < l->nraw; i++) {
        reason(why, "security category type %s is not defined by policy %s", l->raw[i].type, p->name);
        ok = 0;
    }
    uint64_t bits[LBL_WORDS];
    memset(bits, 0, sizeof bits);
    for (size_t i = 0; i < l->ncats; i++) {
        const struct lbl_cat *c = &l->cats[i];
        int ts = lbl_policy_tagset_by_oid(p, c->tagset);
        if (ts < 0) {
            reason(why, "tag set %s is not defined by policy %s", c->tagset, p->name);
            ok = 0;
            continue;
        }
        int o = lbl_policy_cat_lookup(p, ts, c->type, c->lacv);
        if (o < 0) {
            reason(why, "%s category %lu is not defined in tag set %s", lbl_tag_type_name(c->type), c->lacv,
                   p->tagsets[ts].name);
            ok = 0;
            continue;
        }
        setbit(bits, (uint32_t)o);
    }
    char desc[160];
    if (cls >= 0)
        for (size_t g = 0; g < p->classes[cls].ngroups; g++)
            if (!group_matches(&p->classes[cls].groups[g], bits)) {
                describe_group(p, &p->classes[cls].groups[g], desc, sizeof desc);
                reason(why, "classification %s requires %s", p->classes[cls].name, desc);
                ok = 0;
            }
    for (uint32_t o = 0; o < p->ncats; o++) {
        if (!bit(bits, o))
            continue;
        const struct lbl_category *c = &p->cats[o];
        if (c->obsolete) {
            reason(why, "category %s is obsolete", c->name);
            ok = 0;
        }
        if (cls >= 0 && bit(c->excl_class, (uint32_t)cls)) {
            reason(why, "category %s is not allowed with classification %s", c->name, p->classes[cls].name);
            ok = 0;
        }
        for (size_t e = 0; e < c->nexcl; e++)
            for (size_t k = 0; k < c->excl[e].nords; k++)
                if (bit(bits, c->excl[e].ords[k]) && c->excl[e].ords[k] != o) {
                    reason(why, "category %s excludes category %s", c->name, p->cats[c->excl[e].ords[k]].name);
                    ok = 0;
                }
        for (size_t g = 0; g < c->ngroups; g++)
            if (!group_matches(&c->groups[g], bits)) {
                describe_group(p, &c->groups[g], desc, sizeof desc);
                reason(why, "category %s requires %s", c->name, desc);
                ok = 0;
            }
    }
    for (size_t t = 0; t < p->ntags; t++) {
        const struct lbl_tag *tag = &p->tags[t];
        unsigned long n = 0;
        for (uint32_t o = tag->first; o < tag->first + tag->count; o++)
            n += (unsigned long)bit(bits, o);
        if (n && n > tag->maxsel) {
            reason(why, "tag %s allows at most %lu categor%s, label has %lu", tag->name, tag->maxsel,
                   tag->maxsel == 1 ? "y" : "ies", n);
            ok = 0;
        }
        if (n && n < tag->minsel) {
            reason(why, "tag %s needs at least %lu categories, label has %lu", tag->name, tag->minsel, n);
            ok = 0;
        }
    }
    if (l->privacy_mark && p->nprivacy) {
        size_t i;
        for (i = 0; i < p->nprivacy && strcmp(p->privacy[i].name, l->privacy_mark); i++)
            ;
        if (i == p->nprivacy) {
            reason(why, "privacy mark \"%s\" is not defined by policy %s", l->privacy_mark, p->name);
            ok = 0;
        } else if (p->privacy[i].obsolete) {
            reason(why, "privacy mark \"%s\" is obsolete", l->privacy_mark);
            ok = 0;
        }
    }
    return ok;
}

int lbl_correct(const struct lbl_policy *p, struct lbl_label *l, unsigned flags, unsigned *dropped)
{
    unsigned n = 0;
    size_t w = 0;
    for (size_t i = 0; i < l->ncats; i++) {
        int o = resolve_cat(p, &l->cats[i]);
        int drop = (o < 0 && (flags & LBL_FIX_DROP_UNKNOWN)) ||
                   (o >= 0 && p->cats[o].obsolete && (flags & LBL_FIX_DROP_OBSOLETE));
        if (drop)
            n++;
        else
            l->cats[w++] = l->cats[i];
    }
    l->ncats = w;
    if ((flags & LBL_FIX_DROP_UNKNOWN) && l->nraw) {
        n += (unsigned)l->nraw;
        for (size_t i = 0; i < l->nraw; i++)
            free(l->raw[i].value);
        free(l->raw);
        l->raw = NULL;
        l->nraw = 0;
    }
    if (dropped)
        *dropped = n;
    return 0;
}

int lbl_label_or_default(const struct lbl_label *in, const struct lbl_label *def, struct lbl_label *out)
{
    if (in && in->policy[0] && in->has_class)
        return lbl_label_copy(out, in);
    if (!def)
        return MG_ENOTFOUND;
    return lbl_label_copy(out, def);
}

/* ---- translation ---------------------------------------------------------------------------- */

/* Adds the categories a raw group of the target policy names (fix-ups required on translation). */
static int fixup(const struct lbl_policy *dst, const struct lbl_rawgroup *g, size_t ng, struct lbl_label *out,
                 struct lbl_err *err)
{
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < g[i].n; j++) {
            const struct lbl_rawdata *d = &g[i].v[j];
            int ts = lbl_policy_tagset_by_name(dst, d->tagset_name);
            if (ts < 0) {
                lbl_err_set(err, "equivalence names tag set \"%s\", which policy %s does not define", d->tagset_name,
                            dst->name);
                return MG_ENOTFOUND;
            }
            int added = 0;
            for (size_t t = 0; t < dst->ntags; t++) {
                const struct lbl_tag *tag = &dst->tags[t];
                if (tag->tagset != ts || tag->type != d->type)
                    continue;
                for (uint32_t o = tag->first; o < tag->first + tag->count; o++)
                    if (d->all || dst->cats[o].lacv == d->lacv) {
                        int rc = lbl_label_add_cat(out, dst->tagsets[ts].oid, d->type, dst->cats[o].lacv);
                        if (rc)
                            return rc;
                        added = 1;
                    }
            }
            if (!added && !d->all) {
                lbl_err_set(err, "equivalence names %s category %lu of %s, which policy %s does not define",
                            lbl_tag_type_name(d->type), d->lacv, d->tagset_name, dst->name);
                return MG_ENOTFOUND;
            }
        }
    return 0;
}

int lbl_translate(const struct lbl_policy_set *set, const struct lbl_label *in, const char *to_oid,
                  struct lbl_label *out, struct lbl_err *err)
{
    const struct lbl_policy *src = lbl_policy_set_find(set, in->policy);
    const struct lbl_policy *dst = lbl_policy_set_find(set, to_oid);
    if (!src) {
        lbl_err_set(err, "Unknown policy id: %s", in->policy[0] ? in->policy : "(none)");
        return MG_ENOTFOUND;
    }
    if (!dst) {
        lbl_err_set(err, "Unknown policy id: %s (target policy not loaded)", to_oid);
        return MG_ENOTFOUND;
    }
    if (src == dst)
        return lbl_label_copy(out, in);
    if (!in->has_class) {
        lbl_err_set(err, "label has no classification to translate");
        return MG_EINVAL;
    }
    if (in->nraw) {
        lbl_err_set(err, "No equivalence for security category type %s in policy %s", in->raw[0].type, dst->name);
        return MG_ENOTFOUND;
    }
    struct lbl_label n;
    lbl_label_init(&n);
    snprintf(n.policy, sizeof n.policy, "%s", dst->oid);
    int rc = in->privacy_mark ? lbl_label_set_privacy(&n, in->privacy_mark) : 0;
    if (rc)
        goto out;
    int ci = lbl_policy_class_index(src, in->class_lacv);
    if (ci < 0) {
        lbl_err_set(err, "classification %lu is not defined by policy %s", in->class_lacv, src->name);
        rc = MG_ENOTFOUND;
        goto out;
    }
    const struct lbl_class *sc = &src->classes[ci];
    const struct lbl_equiv_class *eq = NULL;
    for (size_t i = 0; i < sc->nequiv && !eq; i++)
        if ((sc->equiv[i].applied & LBL_APPLIED_ENCRYPT) && !strcmp(sc->equiv[i].policy_oid, dst->oid))
            eq = &sc->equiv[i];
    if (eq) {
        if (lbl_policy_class_index(dst, eq->lacv) < 0) {
            lbl_err_set(err, "equivalent classification %lu of %s is not defined by policy %s", eq->lacv, sc->name,
                        dst->name);
            rc = MG_ENOTFOUND;
            goto out;
        }
        n.has_class = 1;
        n.class_lacv = eq->lacv;
        if ((rc = fixup(dst, eq->groups, eq->ngroups, &n, err)))
            goto out;
    } else {
        /* The target may declare what it accepts from the source (applied="decrypt"). */
        for (size_t k = 0; k < dst->nclasses && !n.has_class; k++)
            for (size_t i = 0; i < dst->classes[k].nequiv; i++) {
                const struct lbl_equiv_class *d = &dst->classes[k].equiv[i];
                if ((d->applied & LBL_APPLIED_DECRYPT) && !strcmp(d->policy_oid, src->oid) && d->lacv == sc->lacv) {
                    n.has_class = 1;
                    n.class_lacv = dst->classes[k].lacv;
                    break;
                }
            }
        if (!n.has_class) {
            lbl_err_set(err, "No equivalent classification for %s in policy %s", sc->name, dst->name);
            rc = MG_ENOTFOUND;
            goto out;
        }
    }
    for (size_t i = 0; i < in->ncats; i++) {
        int o = resolve_cat(src, &in->cats[i]);
        if (o < 0) {
            lbl_err_set(err, "%s category %lu of tag set %s is not defined by policy %s",
                        lbl_tag_type_name(in->cats[i].type), in->cats[i].lacv, in->cats[i].tagset, src->name);
            rc = MG_ENOTFOUND;
            goto out;
        }
        const struct lbl_category *c = &src->cats[o];
        int found = 0;
        for (size_t e = 0; e < c->nequiv; e++) {
            const struct lbl_equiv_cat *q = &c->equiv[e];
            if (!(q->applied & LBL_APPLIED_ENCRYPT) || strcmp(q->policy_oid, dst->oid))
                continue;
            found = 1;
            if (q->discard)
                continue;
            if (!lbl_policy_cat_name(dst, q->tagset_oid, q->type, q->lacv)) {
                lbl_err_set(err, "equivalent of category %s (%s %lu of %s) is not defined by policy %s", c->name,
                            lbl_tag_type_name(q->type), q->lacv, q->tagset_oid, dst->name);
                rc = MG_ENOTFOUND;
                goto out;
            }
            if ((rc = lbl_label_add_cat(&n, q->tagset_oid, q->type, q->lacv)))
                goto out;
        }
        for (size_t k = 0; k < dst->ncats && !found; k++)
            for (size_t e = 0; e < dst->cats[k].nequiv; e++) {
                const struct lbl_equiv_cat *q = &dst->cats[k].equiv[e];
                if ((q->applied & LBL_APPLIED_DECRYPT) && !q->discard && !strcmp(q->policy_oid, src->oid) &&
                    !strcmp(q->tagset_oid, in->cats[i].tagset) && q->type == in->cats[i].type &&
                    q->lacv == in->cats[i].lacv) {
                    found = 1;
                    if ((rc = lbl_label_add_cat(&n, dst->tagsets[dst->cats[k].tagset].oid,
                                                dst->tags[dst->cats[k].tag].type, dst->cats[k].lacv)))
                        goto out;
                }
            }
        if (!found) {
            lbl_err_set(err, "No equivalence for category %s in policy %s", c->name, dst->name);
            rc = MG_ENOTFOUND;
            goto out;
        }
    }
    for (size_t i = 0; i < src->nequiv; i++)
        if (!strcmp(src->equiv[i].oid, dst->oid) &&
            (rc = fixup(dst, src->equiv[i].groups, src->equiv[i].ngroups, &n, err)))
            goto out;
    rc = lbl_label_copy(out, &n);
out:
    lbl_label_free(&n);
    return rc;
}
