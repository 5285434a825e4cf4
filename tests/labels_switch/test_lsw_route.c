/* Tests of routing by label in the switch (channels/labels/lsw_route.c): route rules' label_*
 * keys resolved against the governing SPIF (etc/examples/labels/example-spif.xml), each label
 * taking the rule mta/route.c picks with the switch's matcher, the errors check-config reports
 * with file:line, and the gate's matcher (the daemon's) deciding per loaded configuration. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "lsw.h"
#include "mg_err.h"
#include "route.h"

static char SPIF[1024];

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    return !strcmp(name, "SPIF") ? SPIF : NULL;
}

#define HEAD                                                                                       \
    "global = { hostname = \"t.test\"; var_dir = \"/tmp/lsw-route-unit\"; };\n"                   \
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:1\"; } );\n"                            \
    "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; },\n"                      \
    "             { name = \"b\"; type = \"file\"; directory = \"/b\"; } );\n"

static const char CONF[] = HEAD
    "labels = { spif = \"${SPIF}\"; unlabelled = \"allow\"; recipient_clearance = false; };\n" /* 5 */
    "routes = (\n"
    "  { domain = \"x.test\"; label_at_least = \"SECRET\"; chain = [ \"a\" ]; },\n"            /* 7: #1 */
    "  { domain = \"x.test\"; label_category = \"UK\"; chain = [ \"b\" ]; },\n"                /* #2 */
    "  { domain = \"x.test\"; label_policy = \"EXAMPLE\"; label_at_most = \"RESTRICTED\";\n"
    "    label_category = [ \"Releasability:FR\" ]; chain = [ \"a\" ]; },\n"                    /* #3 */
    "  { domain = \"x.test\"; chain = [ \"b\" ]; },\n"                                          /* #4 */
    "  { pattern = \"*\"; label_at_least = \"CONFIDENTIAL\"; label_at_most = \"CONFIDENTIAL\"; chain = [ \"a\" ]; },\n"
    "  { default = true; chain = [ \"b\" ]; }\n"                                                /* #6 */
    ");\n";

struct rcase {
    const char *name;
    const char *addr;
    const char *label;       /* "C[/CAT]": U R C S, releasable to UK or FR; NULL = unlabelled */
    int want;                /* 1-based route */
};

static const struct rcase cases[] = {
    { "secret_at_least", "u@x.test", "S", 1 },
    { "secret_with_category_still_first", "u@x.test", "S/UK", 1 },
    { "category_uk", "u@x.test", "C/UK", 2 },
    { "at_most_and_category", "u@x.test", "R/FR", 3 },
    { "at_most_category_missing", "u@x.test", "R", 4 },
    { "above_at_most", "u@x.test", "C/FR", 4 },
    { "unclassified_address_rule", "u@x.test", "U", 4 },
    { "unlabelled_address_rule", "u@x.test", NULL, 4 },
    { "exact_class_band", "u@y.test", "C", 5 },
    { "outside_band_default", "u@y.test", "S", 6 },
    { "unlabelled_default", "u@y.test", NULL, 6 },
};

static struct config *cfg_g;
static struct lsw *lsw_g;

/* The example policy's label "C[/CAT]" in Surevine XML (a form the engine reads inline). */
static void xml_label(const char *spec, char *out, size_t n)
{
    int lacv = strchr("URCS", spec[0]) ? (int)(strchr("URCS", spec[0]) - "URCS") + 1 : 9;
    const char *cat = strchr(spec, '/');
    snprintf(out, n,
             "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.3.6.1.4.1.99999.7'/>"
             "<classification lacv='%d'/>%s%s</label>", lacv,
             !cat ? "" : !strcmp(cat, "/UK") ? "<tag type='permissive' id='1.3.6.1.4.1.99999.7.1' lacv='1'/>"
                                             : "<tag type='permissive' id='1.3.6.1.4.1.99999.7.1' lacv='2'/>",
             "");
}

static void run_case(void **state)
{
    const struct rcase *c = *state;
    struct route_label rl = { .match = lsw_route_match, .ctx = lsw_g };
    unsigned char *der = NULL;
    if (c->label) {
        char err[600] = "", x[400];
        xml_label(c->label, x, sizeof x);
        int rc = lsw_label_from_text(lsw_g, x, &der, &rl.len, err, sizeof err);
        if (rc)
            print_message("%s: %s\n", c->label, err);
        assert_int_equal(rc, 0);
        rl.der = der;
    }
    const struct config_route *r = NULL;
    assert_int_equal(route_lookup_msg(cfg_g, c->addr, &rl, &r), 0);
    if ((int)r->index + 1 != c->want) {
        char d[300];
        print_message("%s took %s\n", c->label ? c->label : "-", route_describe(r, d, sizeof d));
    }
    assert_int_equal(r->index + 1, c->want);
    free(der);
}

static void garbage_label_matches_nothing(void **state)
{
    (void)state;
    static const unsigned char junk[] = { 0x31, 0x05, 0x02, 0x01 };
    struct route_label rl = { .der = junk, .len = sizeof junk, .match = lsw_route_match, .ctx = lsw_g };
    const struct config_route *r = NULL;
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.test", &rl, &r), 0);
    assert_int_equal(r->index + 1, 4);
}

struct ecase {
    const char *name;
    const char *rule;        /* one route, at line 7 */
    const char *want;        /* the start of one error */
};

static const struct ecase ecases[] = {
    { "unknown_class", "{ domain = \"x\"; label_at_least = \"TOP SECRET\"; chain = [ \"a\" ]; }",
      "e.conf:7: route #1: label_at_least: policy EXAMPLE has no classification \"TOP SECRET\"" },
    { "unknown_at_most", "{ domain = \"x\";\n label_at_most = \"PUBLIC\"; chain = [ \"a\" ]; }",
      "e.conf:8: route #1: label_at_most: policy EXAMPLE has no classification \"PUBLIC\"" },
    { "unknown_category", "{ domain = \"x\"; label_category = [ \"US\" ]; chain = [ \"a\" ]; }",
      "e.conf:7: route #1: label_category \"US\": the policy has no such category" },
    { "unknown_tagset", "{ domain = \"x\"; label_category = \"Nope:UK\"; chain = [ \"a\" ]; }",
      "e.conf:7: route #1: label_category \"Nope:UK\": the policy has no such category" },
    { "unknown_policy", "{ domain = \"x\"; label_policy = \"NATO\"; chain = [ \"a\" ]; }",
      "e.conf:7: route #1: label_policy \"NATO\" is not a loaded SPIF" },
    { "empty_band", "{ domain = \"x\"; label_at_least = \"SECRET\"; label_at_most = \"RESTRICTED\"; chain = [ \"a\" ]; }",
      "e.conf:7: route #1: label_at_least SECRET is above label_at_most RESTRICTED" },
};

static void run_ecase(void **state)
{
    const struct ecase *c = *state;
    char text[2048];
    snprintf(text, sizeof text, HEAD "labels = { spif = \"${SPIF}\"; };\nroutes = (\n%s\n);\n", c->rule);
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(channels_config_load_text("e.conf", text, strlen(text), env, NULL, &cfg, &errs), MG_ECONFIG);
    assert_null(cfg);
    int seen = 0;
    for (size_t i = 0; i < errs.n; i++)
        seen |= !strncmp(errs.v[i].text, c->want, strlen(c->want));
    for (size_t i = 0; !seen && i < errs.n; i++)
        print_message("got: %s\n", errs.v[i].text);
    assert_true(seen);
    config_errors_free(&errs);
}

static void conditions_need_labels_group(void **state)
{
    (void)state;
    static const char text[] = HEAD "routes = ( { domain = \"x\"; label_at_least = \"SECRET\"; chain = [ \"a\" ]; } );\n";
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(channels_config_load_text("n.conf", text, sizeof text - 1, env, NULL, &cfg, &errs), MG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.v[0].text,
                        "n.conf:5: route #1: label conditions need a 'labels' group (the governing SPIF)");
    config_errors_free(&errs);
}

static void gate_matcher_per_config(void **state)
{
    (void)state;
    struct lsw_gate *g = NULL;
    assert_int_equal(lsw_gate_create(&g, NULL), 0);
    unsigned char *der = NULL;
    size_t len = 0;
    char err[600], x[400];
    xml_label("S", x, sizeof x);
    assert_int_equal(lsw_label_from_text(lsw_g, x, &der, &len, err, sizeof err), 0);
    const struct config_route *r1 = &cfg_g->routes[0];
    /* not synced with this configuration: cannot decide, so the lookup defers */
    assert_int_equal(lsw_gate_route_match(g, cfg_g, r1, der, len), -1);
    struct route_label rl = { .der = der, .len = len, .match = lsw_gate_route_match, .ctx = g };
    const struct config_route *r = NULL;
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.test", &rl, &r), MG_ETEMP);
    assert_int_equal(lsw_gate_sync(g, cfg_g), 0);
    assert_int_equal(lsw_gate_route_match(g, cfg_g, r1, der, len), 1);
    assert_int_equal(lsw_gate_route_match(g, cfg_g, &cfg_g->routes[1], der, len), 0);
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.test", &rl, &r), 0);
    assert_int_equal(r->index, 0);
    free(der);
    lsw_gate_free(g);
}

/* The label of a report about an unlabelled subject: the policy's least sensitive
 * classification by default, `report_label` when given (and refused, with its line, when the
 * governing SPIF does not hold it); the gate hands out that of the configuration it loaded. */
static void report_label(void **state)
{
    (void)state;
    struct rl_case {
        const char *name;
        const char *key;     /* the report_label line, "" = none */
        int want_lacv;       /* 0 = a load error, -1 = no report label */
    } rc_cases[] = {
        { "default_lowest_class", "", 1 },
        { "allow_without_report_label", "unlabelled = \"allow\";", -1 },
        { "allow_with_report_label", "unlabelled = \"allow\"; report_label = \"<label xmlns='http://surevine.com/xmlns/"
          "spiffy'><policy id='1.3.6.1.4.1.99999.7'/><classification lacv='3'/></label>\";", 3 },
        { "configured_xml", "report_label = \"<label xmlns='http://surevine.com/xmlns/spiffy'>"
          "<policy id='1.3.6.1.4.1.99999.7'/><classification lacv='2'/></label>\";", 2 },
        { "invalid_class", "report_label = \"<label xmlns='http://surevine.com/xmlns/spiffy'>"
          "<policy id='1.3.6.1.4.1.99999.7'/><classification lacv='9'/></label>\";", 0 },
    };
    for (size_t i = 0; i < sizeof rc_cases / sizeof *rc_cases; i++) {
        char text[2048];
        snprintf(text, sizeof text, HEAD "labels = { spif = \"${SPIF}\";\n %s };\n"
                 "routes = ( { default = true; chain = [ \"a\" ]; } );\n", rc_cases[i].key);
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = channels_config_load_text("l.conf", text, strlen(text), env, NULL, &cfg, &errs);
        if (!rc_cases[i].want_lacv) {
            assert_int_equal(rc, MG_ECONFIG);
            assert_true(errs.n >= 1);
            assert_non_null(strstr(errs.v[0].text, "l.conf:6: labels: report_label is not valid"));
            config_errors_free(&errs);
            continue;
        }
        for (size_t k = 0; k < errs.n; k++)
            print_message("%s: %s\n", rc_cases[i].name, errs.v[k].text);
        config_errors_free(&errs);
        assert_int_equal(rc, 0);
        struct lsw_gate *g = NULL;
        assert_int_equal(lsw_gate_create(&g, NULL), 0);
        unsigned char *der = NULL;
        size_t len = 0;
        /* not synced: none (the gate defers the report) */
        assert_int_equal(lsw_gate_report_label(g, cfg, &der, &len), 0);
        assert_null(der);
        assert_int_equal(lsw_gate_sync(g, cfg), 0);
        assert_int_equal(lsw_gate_report_label(g, cfg, &der, &len), 0);
        if (rc_cases[i].want_lacv < 0) {
            /* unlabelled = allow: the report passes unlabelled, as its subject did */
            assert_null(der);
            lsw_gate_free(g);
            config_free(cfg);
            continue;
        }
        assert_non_null(der);
        struct lbl_label lb;
        lbl_label_init(&lb);
        struct lbl_err e = { "" };
        assert_int_equal(lsw_label_decode(der, len, &lb, &e), 0);
        assert_string_equal(lb.policy, "1.3.6.1.4.1.99999.7");
        assert_true(lb.has_class);
        assert_int_equal(lb.class_lacv, (unsigned long)rc_cases[i].want_lacv);
        assert_int_equal(lb.ncats, 0);
        lbl_label_free(&lb);
        free(der);
        lsw_gate_free(g);
        config_free(cfg);
    }
    /* no labels group: no report label */
    unsigned char *der = (unsigned char *)"x";
    size_t len = 1;
    assert_int_equal(lsw_report_label(NULL, &der, &len), 0);
    assert_null(der);
    assert_int_equal(len, 0);
}

int main(void)
{
    const char *src = getenv("MIXGATE_SOURCE_DIR");
    snprintf(SPIF, sizeof SPIF, "%s/etc/examples/labels/example-spif.xml", src ? src : ".");
    struct config_errors errs = { 0 };
    if (channels_config_load_text("r.conf", CONF, sizeof CONF - 1, env, NULL, &cfg_g, &errs) ||
        lsw_load(cfg_g, &lsw_g, &errs) || !lsw_g) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        return 1;
    }
    int failed = 0;
    struct CMUnitTest t[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        t[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
    failed += _cmocka_run_group_tests("lsw_route", t, sizeof cases / sizeof *cases, NULL, NULL);
    struct CMUnitTest e[sizeof ecases / sizeof *ecases];
    for (size_t i = 0; i < sizeof ecases / sizeof *ecases; i++)
        e[i] = (struct CMUnitTest){ ecases[i].name, run_ecase, NULL, NULL, (void *)&ecases[i] };
    failed += _cmocka_run_group_tests("lsw_route_errors", e, sizeof ecases / sizeof *ecases, NULL, NULL);
    const struct CMUnitTest more[] = {
        cmocka_unit_test(garbage_label_matches_nothing),
        cmocka_unit_test(conditions_need_labels_group),
        cmocka_unit_test(gate_matcher_per_config),
        cmocka_unit_test(report_label),
    };
    failed += cmocka_run_group_tests_name("lsw_route_more", more, NULL, NULL);
    lsw_free(lsw_g);
    config_free(cfg_g);
    return failed ? 1 : 0;
}
