/* lbl_spif_query: questions asked of a loaded SPIF (its classifications, tag sets, categories
 * and markings, by value or by name) and the policy set that holds the loaded SPIFs. Split from
 * lbl_spif.c, which loads and compiles a SPIF; nothing here parses. */
#include "lbl_spif_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lbl_marking.h"
#include "mg_err.h"

const struct lbl_mk *lbl_mks_find(const struct lbl_mks *m, const char *lang)
{
    if (!m || !m->n)
        return NULL;
    if (!lang)
        lang = "";
    for (size_t i = 0; i < m->n; i++)
        if (!strcasecmp(m->v[i].lang, lang))
            return &m->v[i];
    size_t pl = strcspn(lang, "-_");
    if (lang[pl])
        for (size_t i = 0; i < m->n; i++)
            if (strlen(m->v[i].lang) == pl && !strncasecmp(m->v[i].lang, lang, pl))
                return &m->v[i];
    for (size_t i = 0; i < m->n; i++)
        if (!m->v[i].lang[0])
            return &m->v[i];
    return NULL;
}

/* ---- lookups ------------------------------------------------------------------------------ */

int lbl_policy_class_index(const struct lbl_policy *p, unsigned long lacv)
{
    for (size_t i = 0; i < p->nclasses; i++)
        if (p->classes[i].lacv == lacv)
            return (int)i;
    return -1;
}

int lbl_policy_class_by_name(const struct lbl_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nclasses; i++)
        if (!strcmp(p->classes[i].name, name))
            return (int)i;
    return -1;
}

int lbl_policy_tagset_by_oid(const struct lbl_policy *p, const char *oid)
{
    for (size_t i = 0; i < p->ntagsets; i++)
        if (!strcmp(p->tagsets[i].oid, oid))
            return (int)i;
    return -1;
}

int lbl_policy_tagset_by_name(const struct lbl_policy *p, const char *name)
{
    for (size_t i = 0; i < p->ntagsets; i++)
        if (!strcmp(p->tagsets[i].name, name))
            return (int)i;
    return -1;
}

int lbl_policy_cat_lookup(const struct lbl_policy *p, int tagset, enum lbl_tag_type type, unsigned long lacv)
{
    for (size_t t = 0; t < p->ntags; t++) {
        const struct lbl_tag *tag = &p->tags[t];
        if (tag->tagset != tagset || tag->type != type)
            continue;
        for (uint32_t i = tag->first; i < tag->first + tag->count; i++)
            if (p->cats[i].lacv == lacv)
                return (int)i;
    }
    return -1;
}

const char *lbl_policy_oid(const struct lbl_policy *p)
{
    return p->oid;
}

const char *lbl_policy_name(const struct lbl_policy *p)
{
    return p->name;
}

const char *lbl_policy_file(const struct lbl_policy *p)
{
    return p->file;
}

size_t lbl_policy_nlangs(const struct lbl_policy *p)
{
    return p->nlangs;
}

const char *lbl_policy_lang(const struct lbl_policy *p, size_t i)
{
    return i < p->nlangs ? p->langs[i] : NULL;
}

const char *lbl_policy_class_name(const struct lbl_policy *p, unsigned long lacv)
{
    int i = lbl_policy_class_index(p, lacv);
    return i < 0 ? NULL : p->classes[i].name;
}

const char *lbl_policy_tagset_name(const struct lbl_policy *p, const char *tagset_oid)
{
    int i = lbl_policy_tagset_by_oid(p, tagset_oid);
    return i < 0 ? NULL : p->tagsets[i].name;
}

const char *lbl_policy_cat_name(const struct lbl_policy *p, const char *tagset_oid, enum lbl_tag_type type,
                                unsigned long lacv)
{
    int ts = lbl_policy_tagset_by_oid(p, tagset_oid);
    int o = ts < 0 ? -1 : lbl_policy_cat_lookup(p, ts, type, lacv);
    return o < 0 ? NULL : p->cats[o].name;
}

int lbl_policy_class_find(const struct lbl_policy *p, const char *name, unsigned long *lacv)
{
    int i = lbl_policy_class_by_name(p, name);
    if (i < 0)
        return MG_ENOTFOUND;
    *lacv = p->classes[i].lacv;
    return 0;
}

int lbl_policy_class_rank(const struct lbl_policy *p, unsigned long lacv, unsigned long *rank)
{
    int i = lbl_policy_class_index(p, lacv);
    if (i < 0)
        return MG_ENOTFOUND;
    *rank = p->classes[i].hierarchy;
    return 0;
}

int lbl_policy_class_lowest(const struct lbl_policy *p, unsigned long *lacv)
{
    int best = -1;
    for (size_t i = 0; i < p->nclasses; i++)
        if (!p->classes[i].obsolete && (best < 0 || p->classes[i].hierarchy < p->classes[best].hierarchy))
            best = (int)i;
    if (best < 0)
        return MG_ENOTFOUND;
    *lacv = p->classes[best].lacv;
    return 0;
}

int lbl_policy_cat_find(const struct lbl_policy *p, const char *name, struct lbl_cat *out)
{
    const char *colon = strchr(name, ':');
    int want_ts = -1;
    if (colon) {
        for (size_t i = 0; i < p->ntagsets; i++)
            if (strlen(p->tagsets[i].name) == (size_t)(colon - name) &&
                !strncmp(p->tagsets[i].name, name, (size_t)(colon - name)))
                want_ts = (int)i;
        if (want_ts < 0)
            return MG_ENOTFOUND;
        name = colon + 1;
    }
    int found = 0;
    for (size_t t = 0; t < p->ntags; t++) {
        const struct lbl_tag *tag = &p->tags[t];
        if (want_ts >= 0 && tag->tagset != want_ts)
            continue;
        for (uint32_t i = tag->first; i < tag->first + tag->count; i++) {
            if (strcmp(p->cats[i].name, name))
                continue;
            const char *oid = p->tagsets[tag->tagset].oid;
            if (found && (strcmp(out->tagset, oid) || out->type != tag->type || out->lacv != p->cats[i].lacv))
                return MG_EEXIST;
            snprintf(out->tagset, sizeof out->tagset, "%s", oid);
            out->type = tag->type;
            out->lacv = p->cats[i].lacv;
            found = 1;
        }
    }
    return found ? 0 : MG_ENOTFOUND;
}

/* ---- policy set ---------------------------------------------------------------------------- */

struct lbl_policy_set {
    size_t n;
    struct lbl_policy **v;
    /* LBL_MARKING_RE_DEFAULT compiled once, with the set: a display marking given to lbl_decode
     * was cut with it compiled and freed again on every call (regcomp and regfree were a fifth
     * of the labels_codec fuzz target's time); the set is loaded once and only read after, and
     * POSIX allows regexec on one compiled expression from several threads. */
    struct lbl_marking_re *marking_re;
};

struct lbl_policy_set *lbl_policy_set_create(void)
{
    struct lbl_policy_set *s = calloc(1, sizeof(struct lbl_policy_set));
    if (s && lbl_marking_re_new(NULL, &s->marking_re, NULL)) {
        free(s);
        return NULL;
    }
    return s;
}

const struct lbl_marking_re *lbl_policy_set_marking_re(const struct lbl_policy_set *s)
{
    return s ? s->marking_re : NULL;
}

int lbl_policy_set_add(struct lbl_policy_set *s, struct lbl_policy *p)
{
    if (lbl_policy_set_find(s, p->oid)) {
        lbl_policy_free(p);
        return MG_EEXIST;
    }
    struct lbl_policy **n = realloc(s->v, (s->n + 1) * sizeof *n);
    if (!n) {
        lbl_policy_free(p);
        return MG_ENOMEM;
    }
    s->v = n;
    s->v[s->n++] = p;
    return 0;
}

const struct lbl_policy *lbl_policy_set_find(const struct lbl_policy_set *s, const char *oid)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->v[i]->oid, oid))
            return s->v[i];
    return NULL;
}

const struct lbl_policy *lbl_policy_set_find_name(const struct lbl_policy_set *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcasecmp(s->v[i]->name, name))
            return s->v[i];
    return NULL;
}

size_t lbl_policy_set_count(const struct lbl_policy_set *s)
{
    return s ? s->n : 0;
}

const struct lbl_policy *lbl_policy_set_get(const struct lbl_policy_set *s, size_t i)
{
    return s && i < s->n ? s->v[i] : NULL;
}

void lbl_policy_set_free(struct lbl_policy_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        lbl_policy_free(s->v[i]);
    free(s->v);
    lbl_marking_re_free(s->marking_re);
    free(s);
}
