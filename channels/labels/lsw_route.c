/* lsw_route: the label conditions of route rules (label_policy, label_at_least, label_at_most,
 * label_category), resolved against the loaded SPIFs at load time and matched for mta/route.c
 * through its route_label hook, so that mta/ never links the labels library.
 *
 * A rule's policy is label_policy (a SPIF name or OID among the loaded ones) or the governing
 * one. A label in another policy is first translated into the rule's through the SPIFs'
 * equivalent policies; no equivalent means no match (a label the rule cannot judge never takes
 * a route meant for it). Classifications compare by their SPIF hierarchy; every category named
 * must be in the label. A message without a label matches no rule with label conditions. */
#include "lsw_int.h"
#include "lbl_check.h"
#include "mg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lsw_route {
    bool has;
    const struct lbl_policy *pol;
    bool has_min, has_max;
    unsigned long min_rank, max_rank;
    struct lbl_cat *cats;       /* owned */
    size_t ncats;
};

static const struct lbl_policy *find_policy(const struct lbl_policy_set *set, const char *v)
{
    const struct lbl_policy *p = lbl_policy_set_find(set, v);
    return p ? p : lbl_policy_set_find_name(set, v);
}

static int load_one(const struct lsw *l, const char *file, const struct config_route *r, struct lsw_route *o,
                    struct config_errors *errs)
{
    const struct config_route_label *c = r->label;
    int rc = 0;
    o->has = true;
    o->pol = l->gov;
    if (c->policy && !(o->pol = find_policy(l->set, c->policy))) {
        config_errors_addf(errs, file, c->policy_line, "route #%zu: label_policy \"%s\" is not a loaded SPIF "
                           "(labels.spif or labels.spifs; by name or OID)", r->index + 1, c->policy);
        return MG_ECONFIG;
    }
    const char *bound[2] = { c->at_least, c->at_most };
    int line[2] = { c->at_least_line, c->at_most_line };
    for (int k = 0; k < 2; k++) {
        unsigned long lacv, rank;
        if (!bound[k])
            continue;
        if (lbl_policy_class_find(o->pol, bound[k], &lacv) || lbl_policy_class_rank(o->pol, lacv, &rank)) {
            config_errors_addf(errs, file, line[k], "route #%zu: %s: policy %s has no classification \"%s\"",
                               r->index + 1, k ? "label_at_most" : "label_at_least", lbl_policy_name(o->pol),
                               bound[k]);
            rc = MG_ECONFIG;
        } else if (k == 0) {
            o->has_min = true;
            o->min_rank = rank;
        } else {
            o->has_max = true;
            o->max_rank = rank;
        }
    }
    if (o->has_min && o->has_max && o->min_rank > o->max_rank) {
        config_errors_addf(errs, file, c->line, "route #%zu: label_at_least %s is above label_at_most %s: "
                           "no label can match", r->index + 1, c->at_least, c->at_most);
        rc = MG_ECONFIG;
    }
    if (c->ncategories && !(o->cats = calloc(c->ncategories, sizeof *o->cats)))
        return MG_ENOMEM;
    for (size_t i = 0; i < c->ncategories; i++) {
        int f = lbl_policy_cat_find(o->pol, c->categories[i], &o->cats[o->ncats]);
        if (f == 0) {
            o->ncats++;
            continue;
        }
        config_errors_addf(errs, file, c->category_line, "route #%zu: label_category \"%s\": %s", r->index + 1,
                           c->categories[i],
                           f == MG_EEXIST ? "several categories have this name; write it TAGSET:NAME"
                                          : "the policy has no such category");
        rc = MG_ECONFIG;
    }
    return rc;
}

int lsw_route_load(struct lsw *l, const struct config *cfg, struct config_errors *errs)
{
    bool any = false;
    for (size_t i = 0; i < cfg->n_routes; i++)
        any = any || cfg->routes[i].label;
    if (!any)
        return 0;
    if (!(l->routes = calloc(cfg->n_routes, sizeof *l->routes)))
        return MG_ENOMEM;
    l->nroutes = cfg->n_routes;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        if (!cfg->routes[i].label)
            continue;
        int r = load_one(l, cfg->path, &cfg->routes[i], &l->routes[i], errs);
        if (r == MG_ENOMEM)
            return r;
        rc = rc ? rc : r;
    }
    return rc;
}

void lsw_route_free(struct lsw *l)
{
    for (size_t i = 0; i < l->nroutes; i++)
        free(l->routes[i].cats);
    free(l->routes);
    l->routes = NULL;
    l->nroutes = 0;
}

int lsw_route_check_unconfigured(const struct config *cfg, struct config_errors *errs)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (cfg->routes[i].label) {
            config_errors_addf(errs, cfg->path, cfg->routes[i].label->line,
                               "route #%zu: label conditions need a 'labels' group (the governing SPIF)", i + 1);
            rc = MG_ECONFIG;
        }
    return rc;
}

/* 1 when label (decoded) meets the compiled conditions o. */
static int label_meets(const struct lsw *l, const struct lsw_route *o, const struct lbl_label *label)
{
    const struct lbl_label *in = label;
    struct lbl_label eff;
    lbl_label_init(&eff);
    const char *want = lbl_policy_oid(o->pol);
    /* A label without a policy (X.411) is read under the governing policy. */
    const char *have = label->policy[0] ? label->policy : lbl_policy_oid(l->gov);
    if (strcmp(have, want)) {
        struct lbl_err err = { "" };
        if (lbl_translate(l->set, label, want, &eff, &err)) {
            lbl_label_free(&eff);
            return 0;
        }
        in = &eff;
    }
    int ok = 1;
    if (o->has_min || o->has_max) {
        unsigned long rank;
        ok = in->has_class && lbl_policy_class_rank(o->pol, in->class_lacv, &rank) == 0 &&
             (!o->has_min || rank >= o->min_rank) && (!o->has_max || rank <= o->max_rank);
    }
    for (size_t i = 0; ok && i < o->ncats; i++)
        ok = lbl_label_has_cat(in, o->cats[i].tagset, o->cats[i].type, o->cats[i].lacv);
    lbl_label_free(&eff);
    return ok;
}

int lsw_route_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der, size_t len)
{
    (void)cfg;
    const struct lsw *l = ctx;
    if (!l || !r || r->index >= l->nroutes || !l->routes[r->index].has || !der || !len)
        return 0;
    struct lbl_label label;
    lbl_label_init(&label);
    struct lbl_err err = { "" };
    int ok = lsw_label_decode(der, len, &label, &err) == 0 && label_meets(l, &l->routes[r->index], &label);
    lbl_label_free(&label);
    return ok;
}
