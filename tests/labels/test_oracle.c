/* test_oracle: runs every entry of spiffing's tests.xml ($MIXGATE_VECTORS/labels/spiffing/
 * test-data/tests.xml, an oracle written by another project) as one named cmocka case:
 * policy loading (and expected refusals), label validity, display marking per language,
 * clearance marking, access decision, translation to an equivalent policy, expected errors.
 * The food policies in test-data are not well-formed XML; as tests.xml needs them, their
 * repaired copies in spiffing/repaired/ are used (the refusal of the originals is tested in
 * test_labels.c). A missing label file is "no data", as in the oracle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lbl_check.h"
#include "lbl_codec.h"
#include "lbl_marking.h"
#include "lbl_spif.h"
#include "mg_buf.h"

#define MAX_POLICIES 8

struct oracle_case {
    char name[200];
    char *policies[MAX_POLICIES]; /* SPIF file names of the sequence */
    unsigned npolicies;
    /* A <policy> that must be refused: */
    char *refuse_spif;
    char *refuse_msg;
    /* A <test>: attributes as given (NULL when absent). */
    char *label, *lang, *valid, *label_marking, *clearance, *clearance_marking, *acdf, *encrypt,
        *encrypt_marking, *exception;
};

static char g_dir[1024];

static void spif_path(const char *file, char *out, size_t outsz)
{
    /* The repaired copies stand in for the two food policies that are not well-formed. */
    if (!strcmp(file, "food-policy.xml") || !strcmp(file, "food-policy-missi.xml"))
        snprintf(out, outsz, "%s/../repaired/%s", g_dir, file);
    else
        snprintf(out, outsz, "%s/%s", g_dir, file);
}

static void read_or_empty(const char *file, unsigned char **data, size_t *len)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    *data = NULL;
    *len = 0;
    if (mg_read_file(path, 1 << 20, data, len) != 0) {
        *data = NULL;
        *len = 0;
    }
}

static struct lbl_policy_set *load_sequence(const struct oracle_case *c)
{
    struct lbl_policy_set *set = lbl_policy_set_create();
    assert_non_null(set);
    for (unsigned i = 0; i < c->npolicies; i++) {
        char path[1400];
        struct lbl_err err = { "" };
        struct lbl_policy *p = NULL;
        spif_path(c->policies[i], path, sizeof path);
        if (lbl_policy_load_file(path, NULL, &p, &err) != 0)
            fail_msg("policy %s: %s", c->policies[i], err.msg);
        assert_int_equal(lbl_policy_set_add(set, p), 0);
    }
    return set;
}

static void run_policy_refusal(const struct oracle_case *c)
{
    char path[1400];
    struct lbl_err err = { "" };
    struct lbl_policy *p = NULL;
    spif_path(c->refuse_spif, path, sizeof path);
    int rc = lbl_policy_load_file(path, NULL, &p, &err);
    if (rc == 0) {
        lbl_policy_free(p);
        fail_msg("%s was accepted; expected \"%s\"", c->refuse_spif, c->refuse_msg);
    }
    if (!strstr(err.msg, c->refuse_msg))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, c->refuse_msg);
    /* The refusal names the file and a line. */
    assert_non_null(strstr(err.msg, c->refuse_spif));
}

static void check_marking(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want))
        fail_msg("%s: got \"%s\", want \"%s\"", what, got, want);
}

static void run_label_test(const struct oracle_case *c)
{
    struct lbl_policy_set *set = load_sequence(c);
    unsigned char *data;
    size_t len;
    struct lbl_err err = { "" };
    struct lbl_label label;
    lbl_label_init(&label);
    read_or_empty(c->label, &data, &len);
    int rc = lbl_decode(data, len, LBL_FMT_AUTO, set, &label, &err);
    free(data);
    const struct lbl_policy *p = rc ? NULL : lbl_policy_of(set, &label, &err);
    if (c->exception) {
        if (p)
            fail_msg("label %s decoded; expected error \"%s\"", c->label, c->exception);
        if (!strstr(err.msg, c->exception))
            fail_msg("error \"%s\" does not say \"%s\"", err.msg, c->exception);
        lbl_label_free(&label);
        lbl_policy_set_free(set);
        return;
    }
    if (!p)
        fail_msg("label %s: %s", c->label, err.msg);
    if (c->valid) {
        struct lbl_reasons why;
        int v = lbl_validate(p, &label, &why);
        int want = !strcmp(c->valid, "true");
        if (v != want)
            fail_msg("validity %d, want %d (%s)", v, want, why.n ? why.r[0] : "no reason");
        if (!v)
            assert_true(why.n > 0); /* an invalid label always says why */
    }
    if (c->label_marking) {
        char *m = NULL;
        assert_int_equal(lbl_marking(p, &label, c->lang ? c->lang : "", LBL_LOC_PAGEBOTTOM, &m, &err), 0);
        check_marking("label marking", m, c->label_marking);
        free(m);
    }
    struct lbl_label eff;
    lbl_label_init(&eff);
    const struct lbl_policy *ep = p;
    if (c->encrypt) {
        if (lbl_translate(set, &label, c->encrypt, &eff, &err))
            fail_msg("translation to %s: %s", c->encrypt, err.msg);
        ep = lbl_policy_set_find(set, c->encrypt);
        assert_non_null(ep);
        if (c->encrypt_marking) {
            char *m = NULL;
            assert_int_equal(lbl_marking(ep, &eff, "", LBL_LOC_PAGEBOTTOM, &m, &err), 0);
            check_marking("translated label marking", m, c->encrypt_marking);
            free(m);
        }
    } else
        assert_int_equal(lbl_label_copy(&eff, &label), 0);
    if (c->clearance) {
        struct lbl_clearance cl;
        lbl_clearance_init(&cl);
        read_or_empty(c->clearance, &data, &len);
        rc = lbl_decode_clearance(data, len, set, &cl, &err);
        free(data);
        if (rc)
            fail_msg("clearance %s: %s", c->clearance, err.msg);
        const struct lbl_policy *cp = lbl_policy_set_find(set, cl.policy);
        assert_non_null(cp);
        if (c->clearance_marking) {
            char *m = NULL;
            assert_int_equal(lbl_clearance_marking(cp, &cl, c->lang ? c->lang : "", &m, &err), 0);
            check_marking("clearance marking", m, c->clearance_marking);
            free(m);
        }
        if (c->acdf) {
            struct lbl_rlabel rl;
            struct lbl_rclear rcl;
            struct lbl_err why = { "" };
            assert_int_equal(lbl_resolve(ep, &eff, &rl, &err), 0);
            assert_int_equal(lbl_resolve_clearance(cp, &cl, &rcl, &err), 0);
            int d = lbl_decide(&rl, &rcl, &why);
            if (d != atoi(c->acdf))
                fail_msg("access decision %d, want %s (%s)", d, c->acdf, why.msg);
        }
        lbl_clearance_free(&cl);
    }
    lbl_label_free(&eff);
    lbl_label_free(&label);
    lbl_policy_set_free(set);
}

static void run_case(void **state)
{
    const struct oracle_case *c = *state;
    if (c->refuse_spif)
        run_policy_refusal(c);
    else
        run_label_test(c);
}

static void no_vectors(void **state)
{
    (void)state;
    fprintf(stderr, "*** SKIPPED: test vectors not found (%s); set MIXGATE_VECTORS ***\n", g_dir);
    skip();
}

static char *xattr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *s = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static char *xlang(xmlNode *n)
{
    xmlChar *v = xmlGetNsProp(n, (const xmlChar *)"lang", XML_XML_NAMESPACE);
    char *s = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static void free_case(struct oracle_case *c)
{
    for (unsigned i = 0; i < c->npolicies; i++)
        free(c->policies[i]);
    char **f[] = { &c->refuse_spif, &c->refuse_msg, &c->label, &c->lang, &c->valid, &c->label_marking,
                   &c->clearance, &c->clearance_marking, &c->acdf, &c->encrypt, &c->encrypt_marking,
                   &c->exception };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(*f[i]);
    free(c);
}

int main(void)
{
    const char *v = getenv("MIXGATE_VECTORS");
    snprintf(g_dir, sizeof g_dir, "%s/labels/spiffing/test-data", v ? v : "../shared/vectors");
    char tests[1100];
    snprintf(tests, sizeof tests, "%s/tests.xml", g_dir);
    struct stat st;
    if (stat(tests, &st) != 0) {
        const struct CMUnitTest skipped[] = { cmocka_unit_test(no_vectors) };
        return cmocka_run_group_tests_name("labels_oracle", skipped, NULL, NULL);
    }
    xmlDocPtr doc = xmlReadFile(tests, NULL, XML_PARSE_NONET);
    if (!doc) {
        fprintf(stderr, "cannot parse %s\n", tests);
        return 1;
    }
    struct CMUnitTest *cases = NULL;
    struct oracle_case **all = NULL;
    size_t n = 0;
    unsigned seq = 0;
    for (xmlNode *s = xmlDocGetRootElement(doc)->children; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, "sequence"))
            continue;
        seq++;
        char *pols[MAX_POLICIES];
        unsigned np = 0, tn = 0;
        for (xmlNode *t = s->children; t; t = t->next) {
            if (t->type != XML_ELEMENT_NODE)
                continue;
            struct oracle_case *c = calloc(1, sizeof *c);
            if (!c)
                return 1;
            if (!strcmp((const char *)t->name, "policy")) {
                char *exc = xattr(t, "exception");
                char *spif = xattr(t, "spif");
                if (!exc) {
                    if (np < MAX_POLICIES)
                        pols[np++] = spif;
                    else
                        free(spif);
                    free(c);
                    continue;
                }
                c->refuse_spif = spif;
                c->refuse_msg = exc;
                snprintf(c->name, sizeof c->name, "seq%u.policy.%s.refused", seq, spif);
            } else if (!strcmp((const char *)t->name, "test")) {
                tn++;
                c->label = xattr(t, "label");
                c->lang = xlang(t);
                c->valid = xattr(t, "valid");
                c->label_marking = xattr(t, "label-marking");
                c->clearance = xattr(t, "clearance");
                c->clearance_marking = xattr(t, "clearance-marking");
                c->acdf = xattr(t, "acdf-result");
                c->encrypt = xattr(t, "encrypt");
                c->encrypt_marking = xattr(t, "encrypt-marking");
                c->exception = xattr(t, "exception");
                for (unsigned i = 0; i < np; i++)
                    c->policies[c->npolicies++] = strdup(pols[i]);
                snprintf(c->name, sizeof c->name, "seq%u.test%02u.%s%s%s%s%s", seq, tn, c->label ? c->label : "",
                         c->lang ? ".lang-" : "", c->lang ? c->lang : "", c->clearance ? ".vs." : "",
                         c->clearance ? c->clearance : "");
            } else {
                free(c);
                continue;
            }
            cases = realloc(cases, (n + 1) * sizeof *cases);
            all = realloc(all, (n + 1) * sizeof *all);
            if (!cases || !all)
                return 1;
            memset(&cases[n], 0, sizeof cases[n]);
            cases[n].name = c->name;
            cases[n].test_func = run_case;
            cases[n].initial_state = c;
            all[n++] = c;
        }
        for (unsigned i = 0; i < np; i++)
            free(pols[i]);
    }
    xmlFreeDoc(doc);
    int rc = _cmocka_run_group_tests("labels_oracle", cases, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free_case(all[i]);
    free(all);
    free(cases);
    xmlCleanupParser();
    return rc;
}
