/* lbl_label: raw label and clearance model shared by every codec (see lbl_label.h). */
#include "lbl_label.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

void lbl_err_set(struct lbl_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void lbl_label_init(struct lbl_label *l)
{
    memset(l, 0, sizeof *l);
}

void lbl_label_free(struct lbl_label *l)
{
    if (!l)
        return;
    free(l->privacy_mark);
    free(l->cats);
    for (size_t i = 0; i < l->nraw; i++)
        free(l->raw[i].value);
    free(l->raw);
    memset(l, 0, sizeof *l);
}

int lbl_label_add_raw(struct lbl_label *l, const char *type, const void *value, size_t len)
{
    if (strlen(type) >= LBL_OID_MAX || !len)
        return MG_EINVAL;
    if (l->nraw >= LBL_MAX_CATS)
        return MG_ETOOBIG;
    struct lbl_rawcat *n = realloc(l->raw, (l->nraw + 1) * sizeof *n);
    if (!n)
        return MG_ENOMEM;
    l->raw = n;
    unsigned char *v = malloc(len);
    if (!v)
        return MG_ENOMEM;
    memcpy(v, value, len);
    struct lbl_rawcat *r = &l->raw[l->nraw++];
    memset(r, 0, sizeof *r);
    strcpy(r->type, type);
    r->value = v;
    r->len = len;
    return 0;
}

int lbl_label_copy(struct lbl_label *dst, const struct lbl_label *src)
{
    struct lbl_label n;
    lbl_label_init(&n);
    memcpy(n.policy, src->policy, sizeof n.policy);
    n.has_class = src->has_class;
    n.class_lacv = src->class_lacv;
    if (src->privacy_mark && !(n.privacy_mark = strdup(src->privacy_mark)))
        return MG_ENOMEM;
    if (src->ncats) {
        n.cats = malloc(src->ncats * sizeof *n.cats);
        if (!n.cats) {
            lbl_label_free(&n);
            return MG_ENOMEM;
        }
        memcpy(n.cats, src->cats, src->ncats * sizeof *n.cats);
        n.ncats = src->ncats;
    }
    for (size_t i = 0; i < src->nraw; i++)
        if (lbl_label_add_raw(&n, src->raw[i].type, src->raw[i].value, src->raw[i].len)) {
            lbl_label_free(&n);
            return MG_ENOMEM;
        }
    lbl_label_free(dst);
    *dst = n;
    return 0;
}

static int cat_find(const struct lbl_cat *cats, size_t n, const char *tagset, enum lbl_tag_type type,
                    unsigned long lacv)
{
    for (size_t i = 0; i < n; i++)
        if (cats[i].lacv == lacv && cats[i].type == type && !strcmp(cats[i].tagset, tagset))
            return (int)i;
    return -1;
}

static int cat_append(struct lbl_cat **cats, size_t *n, const char *tagset, enum lbl_tag_type type,
                      unsigned long lacv)
{
    if (strlen(tagset) >= LBL_OID_MAX)
        return MG_ETOOBIG;
    if (cat_find(*cats, *n, tagset, type, lacv) >= 0)
        return 0;
    if (*n >= LBL_MAX_CATS)
        return MG_ETOOBIG;
    struct lbl_cat *nc = realloc(*cats, (*n + 1) * sizeof *nc);
    if (!nc)
        return MG_ENOMEM;
    *cats = nc;
    struct lbl_cat *c = &nc[(*n)++];
    memset(c, 0, sizeof *c);
    strcpy(c->tagset, tagset);
    c->type = type;
    c->lacv = lacv;
    return 0;
}

int lbl_label_add_cat(struct lbl_label *l, const char *tagset, enum lbl_tag_type type, unsigned long lacv)
{
    return cat_append(&l->cats, &l->ncats, tagset, type, lacv);
}

int lbl_label_has_cat(const struct lbl_label *l, const char *tagset, enum lbl_tag_type type, unsigned long lacv)
{
    return cat_find(l->cats, l->ncats, tagset, type, lacv) >= 0;
}

int lbl_label_set_privacy(struct lbl_label *l, const char *mark)
{
    char *d = NULL;
    if (mark && !(d = strdup(mark)))
        return MG_ENOMEM;
    free(l->privacy_mark);
    l->privacy_mark = d;
    return 0;
}

int lbl_label_equal(const struct lbl_label *a, const struct lbl_label *b)
{
    if (strcmp(a->policy, b->policy) || a->has_class != b->has_class)
        return 0;
    if (a->has_class && a->class_lacv != b->class_lacv)
        return 0;
    if (!a->privacy_mark != !b->privacy_mark)
        return 0;
    if (a->privacy_mark && strcmp(a->privacy_mark, b->privacy_mark))
        return 0;
    if (a->ncats != b->ncats)
        return 0;
    for (size_t i = 0; i < a->ncats; i++)
        if (!lbl_label_has_cat(b, a->cats[i].tagset, a->cats[i].type, a->cats[i].lacv))
            return 0;
    if (a->nraw != b->nraw)
        return 0;
    for (size_t i = 0; i < a->nraw; i++) {
        size_t j;
        for (j = 0; j < b->nraw; j++)
            if (!strcmp(a->raw[i].type, b->raw[j].type) && a->raw[i].len == b->raw[j].len &&
                !memcmp(a->raw[i].value, b->raw[j].value, a->raw[i].len))
                break;
        if (j == b->nraw)
            return 0;
    }
    return 1;
}

void lbl_clearance_init(struct lbl_clearance *c)
{
    memset(c, 0, sizeof *c);
}

void lbl_clearance_free(struct lbl_clearance *c)
{
    if (!c)
        return;
    free(c->classes);
    free(c->cats);
    memset(c, 0, sizeof *c);
}

int lbl_clearance_add_class(struct lbl_clearance *c, unsigned long lacv)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (c->classes[i] == lacv)
            return 0;
    if (c->nclasses >= LBL_MAX_CLASSES)
        return MG_ETOOBIG;
    unsigned long *n = realloc(c->classes, (c->nclasses + 1) * sizeof *n);
    if (!n)
        return MG_ENOMEM;
    c->classes = n;
    c->classes[c->nclasses++] = lacv;
    return 0;
}

int lbl_clearance_add_cat(struct lbl_clearance *c, const char *tagset, enum lbl_tag_type type, unsigned long lacv)
{
    return cat_append(&c->cats, &c->ncats, tagset, type, lacv);
}

static const char *const type_names[LBL_TAG_NTYPES] = {
    "restrictive", "permissive", "enumeratedRestrictive", "enumeratedPermissive", "informative",
};

const char *lbl_tag_type_name(enum lbl_tag_type t)
{
    return (unsigned)t < LBL_TAG_NTYPES ? type_names[t] : "unknown";
}

int lbl_tag_type_parse(const char *s, enum lbl_tag_type *out)
{
    for (int i = 0; i < LBL_TAG_NTYPES; i++)
        if (!strcmp(s, type_names[i])) {
            *out = (enum lbl_tag_type)i;
            return 0;
        }
    if (!strcmp(s, "tagType7")) {
        *out = LBL_TAG_INFORMATIVE;
        return 0;
    }
    return MG_EPARSE;
}

int lbl_parse_lacv(const char *s, unsigned long *out)
{
    if (!s)
        return MG_EPARSE;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return MG_EPARSE;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno)
        return MG_EPARSE;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return MG_EPARSE;
    *out = v;
    return 0;
}

int lbl_oid_valid(const char *s)
{
    int arcs = 0;
    const char *p = s;
    if (!s || !*s || strlen(s) >= LBL_OID_MAX)
        return 0;
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
        arcs++;
        if (!*p)
            break;
        if (*p != '.')
            return 0;
        p++;
    }
    return arcs >= 2;
}
