/* bench_labels: throughput of the labels hot paths on one core.
 *  1. access decisions: every NATO label of the vectors (Surevine XML, ADatP-4774 XML and the
 *     generated BER) against a set of NATO clearances (the vectors hold no NATO clearance, so
 *     a few typical ones are built here), plus the food labels against the vectors' food
 *     clearances; labels and clearances are resolved once, as a message pipeline does.
 *  2. the same including resolution of the label (a message whose label is new each time).
 *  3. conversions ESS -> SIO-Label -> ESS (decode DER, encode header with marking, decode
 *     header, encode DER).
 * Usage: bench_labels [seconds-per-figure] (default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lbl_check.h"
#include "lbl_codec.h"
#include "lbl_spif.h"
#include "mg_buf.h"
#ifdef MG_LABELS_HAVE_BER
#include "lbl_ber.h"
#include "lbl_header.h"
#endif

#define MAXL 32
#define MAXC 16

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char vec[1024];

static int load(struct lbl_policy_set *set, const char *rel)
{
    char p[1300];
    struct lbl_policy *pol;
    struct lbl_err err;
    snprintf(p, sizeof p, "%s/labels/%s", vec, rel);
    if (lbl_policy_load_file(p, NULL, &pol, &err)) {
        fprintf(stderr, "bench_labels: %s\n", err.msg);
        return -1;
    }
    return lbl_policy_set_add(set, pol);
}

static int label_file(const struct lbl_policy_set *set, const char *rel, struct lbl_label *l)
{
    char p[1300];
    unsigned char *d;
    size_t n;
    struct lbl_err err;
    snprintf(p, sizeof p, "%s/labels/%s", vec, rel);
    if (mg_read_file(p, 1 << 20, &d, &n))
        return -1;
    int rc = lbl_decode(d, n, LBL_FMT_AUTO, set, l, &err);
    free(d);
    if (rc)
        fprintf(stderr, "bench_labels: %s: %s\n", rel, err.msg);
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const char *v = getenv("MIXGATE_VECTORS");
    snprintf(vec, sizeof vec, "%s", v ? v : "../shared/vectors");
    struct lbl_policy_set *set = lbl_policy_set_create();
    if (!set || load(set, "spiffing/test-data/nato-4774-policy.xml") ||
        load(set, "spiffing/repaired/food-policy.xml"))
        return 1;
    const struct lbl_policy *nato = lbl_policy_set_find(set, "1.3.26.1.3.1");
    const char *files[] = {
        "spiffing/test-data/nato-4774-17-1.xml", "spiffing/test-data/nato-4774-17-2.xml",
        "spiffing/test-data/nato-4774-17-3.xml", "spiffing/test-data/nato-4774-17-4.xml",
        "spiffing/test-data/nato-4774-17-5.xml", "spiffing/test-data/nato-4774-17-6.xml",
        "spiffing/test-data/nato-4774-extra-1.xml", "spiffing/test-data/nato-4774-17-1.nato",
        "spiffing/test-data/nato-4774-17-4.nato", "spiffing/test-data/nato-4774-17-6.nato",
        "spiffing/test-data/food-label-milk-chocolate.xml", "spiffing/test-data/food-label-bacon.xml",
        "spiffing/test-data/food-label-water.xml",
#ifdef MG_LABELS_HAVE_BER
        "spiffing/generated-ber/nato-4774-17-1.ber", "spiffing/generated-ber/nato-4774-17-4.ber",
        "spiffing/generated-ber/nato-4774-17-6.ber",
#endif
    };
    struct lbl_label labels[MAXL];
    size_t nl = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        lbl_label_init(&labels[nl]);
        if (label_file(set, files[i], &labels[nl]) == 0)
            nl++;
    }
    /* Clearances: NATO ones built here (class list, Context, Releasable To / Only), the food
     * ones from the vectors. */
    struct lbl_clearance clears[MAXC];
    size_t nc = 0;
    static const struct {
        unsigned long maxcls;
        unsigned long rel[6];
    } nc_def[] = {
        { 2, { 826, 840, 1001, 0 } },
        { 3, { 372, 752, 804, 1001, 0 } },
        { 5, { 392, 756, 804, 1201, 1501, 1001 } },
        { 1, { 4, 8, 12, 0 } },
    };
    for (size_t i = 0; i < sizeof nc_def / sizeof nc_def[0]; i++) {
        struct lbl_clearance *c = &clears[nc++];
        lbl_clearance_init(c);
        snprintf(c->policy, sizeof c->policy, "%s", lbl_policy_oid(nato));
        for (unsigned long k = 1; k <= nc_def[i].maxcls; k++)
            lbl_clearance_add_class(c, k);
        lbl_clearance_add_cat(c, "1.3.26.1.4.4", LBL_TAG_PERMISSIVE, 1001);
        lbl_clearance_add_cat(c, "1.3.26.1.4.4", LBL_TAG_PERMISSIVE, 1005);
        lbl_clearance_add_cat(c, "1.3.26.1.4.4", LBL_TAG_PERMISSIVE, 10000);
        lbl_clearance_add_cat(c, "1.3.26.1.4.3", LBL_TAG_INFORMATIVE, 2);
        for (size_t k = 0; k < 6 && nc_def[i].rel[k]; k++) {
            lbl_clearance_add_cat(c, "1.3.26.1.4.2", LBL_TAG_ENUM_PERMISSIVE, nc_def[i].rel[k]);
            lbl_clearance_add_cat(c, "1.3.26.1.4.5", LBL_TAG_ENUM_PERMISSIVE, nc_def[i].rel[k]);
        }
    }
    const char *cfiles[] = { "spiffing/test-data/food-clearance-all-okay.xml",
                             "spiffing/test-data/food-clearance-lactose-intolerant.xml" };
    for (size_t i = 0; i < 2; i++) {
        char p[1300];
        unsigned char *d;
        size_t n;
        struct lbl_err err;
        snprintf(p, sizeof p, "%s/labels/%s", vec, cfiles[i]);
        lbl_clearance_init(&clears[nc]);
        if (mg_read_file(p, 1 << 20, &d, &n) == 0) {
            if (lbl_decode_clearance(d, n, set, &clears[nc], &err) == 0)
                nc++;
            free(d);
        }
    }
    /* Resolved pairs under the same policy. */
    static struct lbl_rlabel rl[MAXL];
    static struct lbl_rclear rc[MAXC];
    struct {
        int l, c;
    } pairs[MAXL * MAXC];
    size_t np = 0;
    struct lbl_err err;
    for (size_t i = 0; i < nl; i++)
        lbl_resolve(lbl_policy_set_find(set, labels[i].policy), &labels[i], &rl[i], &err);
    for (size_t j = 0; j < nc; j++)
        lbl_resolve_clearance(lbl_policy_set_find(set, clears[j].policy), &clears[j], &rc[j], &err);
    for (size_t i = 0; i < nl; i++)
        for (size_t j = 0; j < nc; j++)
            if (rl[i].policy == rc[j].policy) {
                pairs[np].l = (int)i;
                pairs[np].c = (int)j;
                np++;
            }
    printf("labels: %zu labels, %zu clearances, %zu label/clearance pairs, NATO SPIF %s\n", nl, nc, np,
           lbl_policy_name(nato));

    long allows = 0, n = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 100000; k++, n++) {
            size_t i = (size_t)n % np;
            allows += lbl_decide(&rl[pairs[i].l], &rc[pairs[i].c], NULL);
        }
        t = now() - t0;
    } while (t < secs);
    printf("access decisions (resolved label and clearance): %.0f per second (%ld decisions, %.1f%% allow)\n",
           (double)n / t, n, 100.0 * (double)allows / (double)n);

    n = 0;
    t0 = now();
    do {
        for (int k = 0; k < 10000; k++, n++) {
            size_t i = (size_t)n % np;
            struct lbl_rlabel r;
            const struct lbl_label *l = &labels[pairs[i].l];
            lbl_resolve(rc[pairs[i].c].policy, l, &r, NULL);
            allows += lbl_decide(&r, &rc[pairs[i].c], NULL);
        }
        t = now() - t0;
    } while (t < secs);
    printf("access decisions including label resolution: %.0f per second\n", (double)n / t);

#ifdef MG_LABELS_HAVE_BER
    unsigned char *ders[MAXL];
    size_t derlen[MAXL], nd = 0;
    for (size_t i = 0; i < nl; i++)
        if (lbl_ess_encode(&labels[i], lbl_policy_set_find(set, labels[i].policy), &ders[nd], &derlen[nd], &err) == 0)
            nd++;
    n = 0;
    long bytes = 0;
    t0 = now();
    do {
        for (int k = 0; k < 200; k++, n++) {
            size_t i = (size_t)n % nd;
            struct lbl_label a, b;
            lbl_label_init(&a);
            lbl_label_init(&b);
            char *hdr = NULL;
            unsigned char *der = NULL;
            size_t dl = 0;
            if (lbl_ess_decode(ders[i], derlen[i], &a, &err) ||
                lbl_sio_encode(&a, lbl_policy_set_find(set, a.policy), &hdr, &err) ||
                lbl_sio_decode(hdr, strlen(hdr), set, &b, &err) || lbl_ess_encode(&b, NULL, &der, &dl, &err)) {
                fprintf(stderr, "bench_labels: conversion failed: %s\n", err.msg);
                return 1;
            }
            bytes += (long)dl;
            free(hdr);
            free(der);
            lbl_label_free(&a);
            lbl_label_free(&b);
        }
        t = now() - t0;
    } while (t < secs);
    printf("conversions ESS -> SIO-Label -> ESS: %.0f per second (%zu distinct labels, mean DER %ld bytes)\n",
           (double)n / t, nd, bytes / n);
    for (size_t i = 0; i < nd; i++)
        free(ders[i]);
#endif
    for (size_t i = 0; i < nl; i++)
        lbl_label_free(&labels[i]);
    for (size_t j = 0; j < nc; j++)
        lbl_clearance_free(&clears[j]);
    lbl_policy_set_free(set);
    return 0;
}
