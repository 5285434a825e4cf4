/* Tests of routing by label in mta/route.c: rules with label_* keys match only when the matcher
 * the labels module registers says so, file order still decides, rules without label conditions
 * ignore the label, "unknown" (RCPT time) lets every rule's conditions hold, a matcher that
 * cannot decide makes the lookup MG_ETEMP; and the keys' loading errors with file:line.
 * The labels module's own matcher (SPIF names) is tested in tests/labels_switch. */
#include "config_test_util.h"

#include "route.h"

static const char *const no_env[] = { NULL };

static const char routes_text[] =
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
    "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; },\n"
    "             { name = \"b\"; type = \"file\"; directory = \"/b\"; } );\n"
    "routes = (\n"
    "  { domain = \"x.org\"; label_at_least = \"SECRET\"; chain = [ \"a\" ]; },\n"          /* 1 */
    "  { domain = \"x.org\"; label_category = [ \"EYES\", \"ONLY\" ]; chain = [ \"b\" ]; },\n" /* 2 */
    "  { domain = \"x.org\"; chain = [ \"b\" ]; },\n"                                         /* 3 */
    "  { pattern = \"*\"; label_policy = \"NATO\"; label_at_most = \"RESTRICTED\"; chain = [ \"a\" ]; },\n" /* 4 */
    "  { default = true; chain = [ \"b\" ]; }\n"                                               /* 5 */
    ");\n";

/* The fake labels module: a "label" is text "CLASS[/CAT...]", ranks by a table, and a rule's
 * category list must all appear. "?" cannot be decided. */
static int rank(const char *c)
{
    static const char *const order[] = { "UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET" };
    for (int i = 0; i < 5; i++)
        if (!strncmp(c, order[i], strlen(order[i])) && (c[strlen(order[i])] == '\0' || c[strlen(order[i])] == '/'))
            return i;
    return -1;
}

static int fake_match(void *ctx, const struct config *cfg, const struct config_route *r, const void *der, size_t len)
{
    (void)cfg;
    (*(int *)ctx)++;
    if (!der || !len)
        return 0;
    char l[128];
    snprintf(l, sizeof l, "%.*s", (int)len, (const char *)der);
    if (!strcmp(l, "?"))
        return -1;
    const struct config_route_label *c = r->label;
    if (c->at_least && rank(l) < rank(c->at_least))
        return 0;
    if (c->at_most && rank(l) > rank(c->at_most))
        return 0;
    for (size_t i = 0; i < c->ncategories; i++) {
        char want[64];
        snprintf(want, sizeof want, "/%s", c->categories[i]);
        if (!strstr(l, want))
            return 0;
    }
    return 1;
}

struct label_case {
    const char *name;
    const char *address;
    const char *label;     /* NULL: no label */
    int want;              /* 1-based route number */
};

static const struct label_case cases[] = {
    { "secret_takes_first", "u@x.org", "SECRET", 1 },
    { "above_at_least", "u@x.org", "TOP SECRET/EYES", 1 },
    { "below_falls_through", "u@x.org", "CONFIDENTIAL", 3 },
    { "categories_all_present", "u@x.org", "RESTRICTED/EYES/ONLY", 2 },
    { "categories_one_missing", "u@x.org", "RESTRICTED/EYES", 3 },
    { "unlabelled_address_rule", "u@x.org", NULL, 3 },
    { "at_most_holds", "u@y.org", "RESTRICTED", 4 },
    { "at_most_exceeded_default", "u@y.org", "SECRET", 5 },
    { "unlabelled_default", "u@y.org", NULL, 5 },
};

static struct config *cfg_g;

static void run_case(void **state)
{
    const struct label_case *c = *state;
    int calls = 0;
    struct route_label rl = { .der = c->label, .len = c->label ? strlen(c->label) : 0, .match = fake_match,
                              .ctx = &calls };
    const struct config_route *r = NULL;
    assert_int_equal(route_lookup_msg(cfg_g, c->address, &rl, &r), 0);
    assert_non_null(r);
    if ((int)r->index + 1 != c->want) {
        char d[256];
        print_message("%s with %s took %s\n", c->address, c->label ? c->label : "-", route_describe(r, d, sizeof d));
    }
    assert_int_equal(r->index + 1, c->want);
}

static void test_without_matcher(void **state)
{
    (void)state;
    const struct config_route *r = NULL;
    /* route_lookup (no label, no matcher): label rules never match */
    assert_int_equal(route_lookup(cfg_g, "u@x.org", &r), 0);
    assert_int_equal(r->index + 1, 3);
    struct route_label none = { .der = "SECRET", .len = 6 };
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.org", &none, &r), 0);
    assert_int_equal(r->index + 1, 3);
}

static void test_unknown_and_undecided(void **state)
{
    (void)state;
    const struct config_route *r = NULL;
    struct route_label any = { .unknown = true };
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.org", &any, &r), 0);
    assert_int_equal(r->index + 1, 1);
    int calls = 0;
    struct route_label q = { .der = "?", .len = 1, .match = fake_match, .ctx = &calls };
    assert_int_equal(route_lookup_msg(cfg_g, "u@x.org", &q, &r), MG_ETEMP);
    assert_int_equal(calls, 1);
    /* an address no label rule matches never asks the matcher */
    calls = 0;
    assert_int_equal(route_lookup_msg(cfg_g, "/C=GB/ADMD= /PRMD=P/S=s/", &q, &r), 0);
    assert_int_equal(r->index + 1, 5);
    assert_int_equal(calls, 0);
}

static void test_describe_and_keys(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(route_describe(&cfg_g->routes[3], buf, sizeof buf),
                        "route #4 (line 8) pattern \"*\" label [policy NATO, at most RESTRICTED] -> a");
    assert_string_equal(route_describe(&cfg_g->routes[1], buf, sizeof buf),
                        "route #2 (line 6) domain \"x.org\" label [category EYES, category ONLY] -> b");
    const struct config_route_label *l = cfg_g->routes[1].label;
    assert_non_null(l);
    assert_int_equal(l->ncategories, 2);
    assert_int_equal(l->category_line, 6);
    assert_null(cfg_g->routes[2].label);
}

static void test_load_errors(void **state)
{
    (void)state;
    static const struct { const char *rule, *want; } bad[] = {
        { "{ default = true; label_at_least = \"SECRET\"; chain = [ \"a\" ]; }",
          "routes.conf:4: route #1: the default route takes what no rule matched" },
        { "{ domain = \"x.org\"; label_at_most = \"\"; chain = [ \"a\" ]; }",
          "routes.conf:4: route #1: 'label_at_most' is empty" },
        { "{ domain = \"x.org\"; label_category = 3; chain = [ \"a\" ]; }",
          "routes.conf:4: route #1: 'label_category' must be a list of strings" },
        { "{ domain = \"x.org\"; label_category = [ ]; chain = [ \"a\" ]; }",
          "routes.conf:4: route #1: 'label_category' is empty" },
        { "{ domain = \"x.org\"; label_colour = \"red\"; chain = [ \"a\" ]; }",
          "routes.conf:4: " },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
                 "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; } );\n"
                 "routes = (\n%s\n);\n", bad[i].rule);
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        assert_int_not_equal(config_load_text("routes.conf", text, strlen(text), test_env, (void *)no_env, &cfg,
                                              &errs), 0);
        int seen = 0;
        for (size_t k = 0; k < errs.n; k++)
            seen |= strncmp(errs.v[k].text, bad[i].want, strlen(bad[i].want)) == 0;
        if (!seen)
            for (size_t k = 0; k < errs.n; k++)
                print_message("case %zu: %s\n", i, errs.v[k].text);
        assert_true(seen);
        config_errors_free(&errs);
    }
}

static void test_same_address_other_label(void **state)
{
    (void)state;
    /* the same domain twice is "never used"; with other label conditions it is another rule */
    static const char *const second[] = { "", "label_at_least = \"SECRET\"; " };
    for (int i = 0; i < 2; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
                 "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; } );\n"
                 "routes = ( { domain = \"x.org\"; %schain = [ \"a\" ]; },\n"
                 "           { domain = \"x.org\"; chain = [ \"a\" ]; } );\n", second[i]);
        struct config *cfg = NULL;
        struct config_errors errs = { 0 };
        int rc = config_load_text("r.conf", text, strlen(text), test_env, (void *)no_env, &cfg, &errs);
        if (i == 0) {
            assert_int_not_equal(rc, 0);
            assert_non_null(strstr(errs.v[0].text, "never used"));
        } else {
            assert_int_equal(rc, 0);
            config_free(cfg);
        }
        config_errors_free(&errs);
    }
}

int main(void)
{
    int failed_ = 0;
    struct config_errors errs = { 0 };
    if (config_load_text("routes.conf", routes_text, sizeof routes_text - 1, test_env, (void *)no_env, &cfg_g,
                         &errs)) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        return 1;
    }
    RUN_CASES("route_label", cases, run_case);
    static const struct CMUnitTest more[] = {
        cmocka_unit_test(test_without_matcher),
        cmocka_unit_test(test_unknown_and_undecided),
        cmocka_unit_test(test_describe_and_keys),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_same_address_other_label),
    };
    failed_ += cmocka_run_group_tests_name("route_label_more", more, NULL, NULL);
    config_free(cfg_g);
    return failed_ ? 1 : 0;
}
