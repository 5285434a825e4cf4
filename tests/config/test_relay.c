/* Tests of relay_check: clients by network (IPv4, IPv6, IPv4-mapped), recipients by domain. */
#include "config_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "relay.h"

static const char text[] =
    "listeners = (\n"
    "  { name = \"in\"; listen = \"[::]:25\";\n"
    "    relay_networks = [ \"192.0.2.0/24\", \"10.1.2.3\", \"2001:db8:1::/48\", \"::ffff:198.51.100.0/120\" ];\n"
    "    local_domains = [ \"Example.org\" ];\n"
    "    relay_domains = [ \"partner.example\", \".hosted.example\" ]; },\n"
    "  { name = \"closed\"; listen = \"127.0.0.1:26\"; }\n"
    ");\n"
    "channels = ( { name = \"a\"; type = \"file\"; directory = \"/a\"; } );\n"
    "routes = ( { default = true; chain = [ \"a\" ]; } );\n";

struct relay_case {
    const char *name;
    const char *listener;
    const char *client;        /* numeric address; NULL = no client address */
    const char *rcpt;
    enum relay_verdict want;
};

static const struct relay_case cases[] = {
    { "v4_in_network", "in", "192.0.2.77", "x@elsewhere.net", RELAY_BY_NETWORK },
    { "v4_host_entry", "in", "10.1.2.3", "x@elsewhere.net", RELAY_BY_NETWORK },
    { "v4_next_to_host_entry", "in", "10.1.2.4", "x@elsewhere.net", RELAY_DENIED },
    { "v4_outside", "in", "192.0.3.1", "x@elsewhere.net", RELAY_DENIED },
    { "v6_in_network", "in", "2001:db8:1:ffff::9", "x@elsewhere.net", RELAY_BY_NETWORK },
    { "v6_outside", "in", "2001:db8:2::1", "x@elsewhere.net", RELAY_DENIED },
    { "v4_mapped_client_v4_net", "in", "::ffff:192.0.2.5", "x@elsewhere.net", RELAY_BY_NETWORK },
    { "v4_mapped_client_outside", "in", "::ffff:192.0.3.5", "x@elsewhere.net", RELAY_DENIED },
    { "v4_client_mapped_net", "in", "198.51.100.200", "x@elsewhere.net", RELAY_BY_NETWORK },
    { "v4_client_mapped_net_outside", "in", "198.51.101.1", "x@elsewhere.net", RELAY_DENIED },
    { "local_domain_any_client", "in", "203.0.113.1", "x@example.org", RELAY_LOCAL_DOMAIN },
    { "local_domain_case", "in", "203.0.113.1", "x@EXAMPLE.Org", RELAY_LOCAL_DOMAIN },
    { "local_domain_trailing_dot", "in", "203.0.113.1", "x@example.org.", RELAY_LOCAL_DOMAIN },
    { "local_domain_not_subdomain", "in", "203.0.113.1", "x@www.example.org", RELAY_DENIED },
    { "relay_domain", "in", "2001:db8:9::1", "x@partner.example", RELAY_RELAY_DOMAIN },
    { "relay_subdomain_entry", "in", "203.0.113.1", "x@a.hosted.example", RELAY_RELAY_DOMAIN },
    { "relay_subdomain_not_self", "in", "203.0.113.1", "x@hosted.example", RELAY_DENIED },
    { "suffix_needs_label_boundary", "in", "203.0.113.1", "x@evilpartner.example", RELAY_DENIED },
    { "domain_beats_network", "in", "192.0.2.1", "x@example.org", RELAY_LOCAL_DOMAIN },
    { "at_in_local_part", "in", "203.0.113.1", "\"x@elsewhere.net\"@example.org", RELAY_LOCAL_DOMAIN },
    { "bare_postmaster", "closed", "203.0.113.1", "Postmaster", RELAY_LOCAL_DOMAIN },
    { "bare_other", "closed", "127.0.0.1", "root", RELAY_DENIED },
    { "closed_listener_denies", "closed", "127.0.0.1", "x@example.org", RELAY_DENIED },
    { "empty_domain", "in", "203.0.113.1", "x@", RELAY_DENIED },
    { "no_client_address", "in", NULL, "x@elsewhere.net", RELAY_DENIED },
};

static struct config *cfg_g;

static void fill(const char *s, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(40000);
    } else {
        assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
        sin6->sin6_family = AF_INET6;
    }
}

static void run_case(void **state)
{
    const struct relay_case *c = *state;
    const struct config_listener *l = config_find_listener(cfg_g, c->listener);
    assert_non_null(l);
    struct sockaddr_storage ss;
    if (c->client)
        fill(c->client, &ss);
    struct relay_result res = { .verdict = 99, .reason = NULL };
    int rc = relay_check(cfg_g, l, c->client ? (struct sockaddr *)&ss : NULL, c->rcpt, &res);
    assert_int_equal(res.verdict, c->want);
    assert_int_equal(rc, c->want == RELAY_DENIED ? MG_EDENIED : 0);
    assert_non_null(res.reason);
    if (c->want == RELAY_DENIED)
        assert_non_null(strstr(res.reason, "relay access denied"));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct relay_result res;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    const struct config_listener *l = &cfg_g->listeners[0];
    assert_int_equal(relay_check(cfg_g, NULL, NULL, "a@b", &res), MG_EINVAL);
    assert_int_equal(res.verdict, RELAY_DENIED);
    assert_int_equal(relay_check(cfg_g, l, NULL, NULL, NULL), MG_EINVAL);
    assert_int_equal(relay_check(cfg_g, l, (struct sockaddr *)&ss, "a@elsewhere.net", &res), MG_EINVAL);
    assert_int_equal(res.verdict, RELAY_DENIED);
    /* Domain decisions do not need the client's family. */
    assert_int_equal(relay_check(cfg_g, l, (struct sockaddr *)&ss, "a@example.org", NULL), 0);
}

static void test_cidr_contains(void **state)
{
    (void)state;
    struct config_cidr all4, all6, odd;
    assert_int_equal(config_parse_cidr("0.0.0.0/0", &all4), 0);
    assert_int_equal(config_parse_cidr("::/0", &all6), 0);
    assert_int_equal(config_parse_cidr("10.0.0.128/25", &odd), 0);
    struct sockaddr_storage a;
    fill("10.0.0.200", &a);
    assert_true(relay_cidr_contains(&all4, (struct sockaddr *)&a));
    assert_true(relay_cidr_contains(&odd, (struct sockaddr *)&a));
    /* ::/0 contains the mapped form of every IPv4 address too. */
    assert_true(relay_cidr_contains(&all6, (struct sockaddr *)&a));
    fill("10.0.0.127", &a);
    assert_false(relay_cidr_contains(&odd, (struct sockaddr *)&a));
    fill("2001:db8::1", &a);
    assert_false(relay_cidr_contains(&all4, (struct sockaddr *)&a));
    assert_false(relay_cidr_contains(NULL, (struct sockaddr *)&a));
}

int main(void)
{
    int failed_ = 0;
    static const char *const env[] = { NULL };
    struct config_errors errs = { 0 };
    if (config_load_text("relay.conf", text, sizeof text - 1, test_env, (void *)env, &cfg_g, &errs)) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].text);
        config_errors_free(&errs);
        return 1;
    }
    RUN_CASES("relay_check", cases, run_case);
    static const struct CMUnitTest more[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_cidr_contains),
    };
    failed_ += cmocka_run_group_tests_name("relay_more", more, NULL, NULL);
    config_free(cfg_g);
    return failed_ ? 1 : 0;
}
