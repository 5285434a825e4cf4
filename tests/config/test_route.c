/* Tests of route_lookup: each kind of match, first match wins, the default, case rules. */
#include "config_test_util.h"

#include "route.h"

static const char *const no_env[] = { NULL };

/* Route numbers below are 1-based positions in this list. */
static const char routes_text[] =
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
    "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; },\n"
    "             { name = \"b\"; type = \"file\"; directory = \"/b\"; } );\n"
    "routes = (\n"
    "  { recipient = \"Boss@Example.ORG\"; chain = [ \"a\" ]; },\n"        /* 1 */
    "  { domain = \"example.org\"; chain = [ \"b\" ]; },\n"                 /* 2 */
    "  { domain_suffix = \"corp.example\"; chain = [ \"a\" ]; },\n"         /* 3 */
    "  { domain_suffix = \".sub.example\"; chain = [ \"b\" ]; },\n"         /* 4 */
    "  { pattern = \"list-*@Lists.Example\"; chain = [ \"a\" ]; },\n"       /* 5 */
    "  { pattern = \"*@*.test\"; chain = [ \"b\" ]; },\n"                   /* 6 */
    "  { default = true; chain = [ \"a\" ]; },\n"                           /* 7: position only */
    "  { domain = \"late.example\"; chain = [ \"b\" ]; },\n"                /* 8: after default */
    "  { or_address = \"/C=GB/ADMD= /PRMD=SMHS/\"; chain = [ \"a\" ]; },\n"    /* 9 */
    "  { or_address = \"C=GB;A= ;P=SMHS;O=Navy;OU=Ops\"; chain = [ \"b\" ]; },\n" /* 10 */
    "  { or_address = \"/C=GB/\"; chain = [ \"b\" ]; },\n"                 /* 11 */
    "  { or_address = \"/C=FR/ADMD=ATLAS/PRMD=X/\"; chain = [ \"a\" ]; },\n" /* 12 */
    "  { or_address = \"/C=FR/ADMD=ATLAS/O=Y/\"; chain = [ \"b\" ]; }\n" /* 13 */
    ");\n";

struct route_case {
    const char *name;
    const char *address;
    int want;                  /* 1-based route number */
};

static const struct route_case cases[] = {
    { "recipient_exact", "Boss@example.org", 1 },
    { "recipient_domain_case", "Boss@EXAMPLE.ORG", 1 },
    { "recipient_local_case_matters", "boss@example.org", 2 },
    { "recipient_before_domain", "Boss@example.org.", 1 },
    { "domain_exact", "anyone@example.org", 2 },
    { "domain_case", "anyone@ExAmPlE.oRg", 2 },
    { "domain_not_subdomain", "anyone@www.example.org", 7 },
    { "domain_trailing_dot", "anyone@example.org.", 2 },
    { "suffix_self", "x@corp.example", 3 },
    { "suffix_subdomain", "x@deep.a.CORP.example", 3 },
    { "suffix_label_boundary", "x@notcorp.example", 7 },
    { "dot_suffix_not_self", "x@sub.example", 7 },
    { "dot_suffix_subdomain", "x@a.sub.example", 4 },
    { "pattern_glob", "list-users@lists.example", 5 },
    { "pattern_domain_case", "list-users@LISTS.EXAMPLE", 5 },
    { "pattern_local_case", "LIST-users@lists.example", 7 },
    { "pattern_star_domain", "who@host.test", 6 },
    { "pattern_no_match", "who@test", 7 },
    { "default_catches_rest", "someone@elsewhere.net", 7 },
    { "rule_after_default_still_used", "x@late.example", 8 },
    { "last_at_is_domain", "\"a@b\"@example.org", 2 },
    { "no_domain_default", "postmaster", 7 },
    { "empty_address_default", "", 7 },
    /* O/R addresses: or_address rules only, the most specific matching one. */
    { "or_prefix", "/C=GB/ADMD= /PRMD=SMHS/O=Army/S=Smith/", 9 },
    { "or_more_specific_wins", "/C=GB/ADMD= /PRMD=SMHS/O=Navy/OU=Ops/OU=Sub/S=Smith/", 10 },
    { "or_ou_prefix_order", "/C=GB/ADMD= /PRMD=SMHS/O=Navy/OU=Sub/OU=Ops/S=Smith/", 9 },
    { "or_case_and_blanks", "/c=gb/admd=/prmd=smhs/o=navy/ou1=OPS/s=x/", 10 },
    { "or_semicolon_form", "S=Smith;O=Army;P=SMHS;A= ;C=GB", 9 },
    { "or_country_only", "/C=GB/ADMD=BT/PRMD=Other/S=x/", 11 },
    { "or_admd_differs", "/C=GB/ADMD=BT/PRMD=SMHS/S=x/", 11 },
    { "or_first_of_equals", "/C=FR/ADMD=ATLAS/PRMD=X/O=Y/S=y/", 12 },
    { "or_other_same_size", "/C=FR/ADMD=ATLAS/O=Y/S=y/", 13 },
    { "or_no_rule_default", "/C=US/ADMD= /PRMD=Z/S=y/", 7 },
    { "or_domain_rules_skip", "/C=DE/ADMD= /PRMD=example.org/S=x/", 7 },
};

static struct config *cfg_g;

static void run_case(void **state)
{
    const struct route_case *c = *state;
    const struct config_route *r = NULL;
    assert_int_equal(route_lookup(cfg_g, c->address, &r), 0);
    assert_non_null(r);
    if ((int)r->index + 1 != c->want) {
        char d[256];
        print_message("%s took %s\n", c->address, route_describe(r, d, sizeof d));
    }
    assert_int_equal(r->index + 1, c->want);
}

static void test_no_default(void **state)
{
    (void)state;
    static const char text[] =
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
        "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; } );\n"
        "routes = ( { domain = \"example.org\"; chain = [ \"a\" ]; } );\n";
    struct config *cfg = test_load_ok(text, no_env);
    const struct config_route *r = (const struct config_route *)1;
    assert_int_equal(route_lookup(cfg, "x@example.com", &r), MG_ENOTFOUND);
    assert_null(r);
    assert_int_equal(route_lookup(cfg, "x@example.org", &r), 0);
    assert_int_equal(r->line, 3);
    config_free(cfg);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const struct config_route *r;
    assert_int_equal(route_lookup(NULL, "a@b", &r), MG_EINVAL);
    assert_int_equal(route_lookup(cfg_g, NULL, &r), MG_EINVAL);
    assert_int_equal(route_lookup(cfg_g, "a@b", NULL), MG_EINVAL);
    char longaddr[1100];
    memset(longaddr, 'a', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    assert_int_equal(route_lookup(cfg_g, longaddr, &r), MG_EINVAL);
}

static void test_or_describe(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(route_describe(&cfg_g->routes[9], buf, sizeof buf),
                        "route #10 (line 14) or_address \"/C=GB/ADMD= /PRMD=SMHS/O=Navy/OU=Ops/\" -> b");
    const struct config_route *r;
    /* A malformed O/R address is an argument error, not a silent default. */
    assert_int_equal(route_lookup(cfg_g, "/C=GB/NOPE=1/", &r), MG_EINVAL);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(route_describe(&cfg_g->routes[4], buf, sizeof buf),
                        "route #5 (line 9) pattern \"list-*@lists.example\" -> a");
    assert_string_equal(route_describe(cfg_g->default_route, buf, sizeof buf),
                        "route #7 (line 11) default -> a");
    char tiny[8];
    route_describe(&cfg_g->routes[0], tiny, sizeof tiny);
    assert_string_equal(tiny, "route #");
}

int main(void)
{
    int failed_ = 0;
    static const char *const env[] = { NULL };
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    if (config_load_text("routes.conf", routes_text, sizeof routes_text - 1, test_env, (void *)env,
                         &cfg, &errs)) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        return 1;
    }
    cfg_g = cfg;
    RUN_CASES("route_lookup", cases, run_case);
    static const struct CMUnitTest more[] = {
        cmocka_unit_test(test_no_default),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_or_describe),
    };
    failed_ += cmocka_run_group_tests_name("route_more", more, NULL, NULL);
    config_free(cfg);
    return failed_ ? 1 : 0;
}
