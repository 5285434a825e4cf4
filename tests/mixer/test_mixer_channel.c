/* Tests of the `mixer` processing channel kind (channels/mixer): etc/examples/mixer.conf loads
 * through the registry; option and table errors name file:line; process() converts content
 * both ways, rewrites every recipient's and the originator's next-hop address, fails a
 * recipient whose address does not map (5.1.3, X.411 unrecognised-OR-name), fails the group
 * with a report when the content cannot be converted, and holds it when the originator
 * cannot be mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels.h"
#include "config.h"
#include "route.h"
#include "content.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "message.h"
#include "mixer_ber.h"
#include "mixer_channel.h"
#include "mixer_dsnp.h"
#include "mixer_conv.h"
#include "mixer_report.h"
#include "oraddr.h"

static char tables_dir[1024];

static const char *x400_content; /* MIXGATE_X400_CONTENT for the next load, NULL = default */

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "MIXGATE_MIXER_TABLES"))
        return tables_dir;
    if (!strcmp(name, "MIXGATE_X400_CONTENT"))
        return x400_content;
    return NULL;
}

static const char *src_dir(void)
{
    const char *s = getenv("MIXGATE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static char *slurp(const char *rel, size_t *len)
{
    char p[1024];
    unsigned char *d = NULL;
    snprintf(p, sizeof p, "%s/%s", src_dir(), rel);
    if (mg_read_file(p, 0, &d, len) != 0)
        fail_msg("%s: cannot read", p);
    return (char *)d;
}

static struct config *load(const char *text, struct config_errors *errs)
{
    struct config *cfg = NULL;
    snprintf(tables_dir, sizeof tables_dir, "%s/etc/mixer", src_dir());
    (void)channels_config_load_text("t.conf", text, strlen(text), env, NULL, &cfg, errs);
    return cfg;
}

static void test_example_conf(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = slurp("etc/examples/mixer.conf", &len);
    struct config_errors errs = {0};
    struct config *cfg = load(text, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    assert_non_null(cfg);
    const struct config_channel *ch = config_find_channel(cfg, "mixer-to-x400");
    assert_non_null(ch);
    assert_ptr_equal(ch->kind, &mixer_channel_kind);
    config_free(cfg);
    config_errors_free(&errs);
    free(text);
}

static const char base[] =
    "global = { hostname = \"h\"; var_dir = \"/tmp\"; };\n"
    "channels = ( { name = \"out\"; type = \"file\"; directory = \"/tmp/x\"; },\n";

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *channel;
        const char *want; /* a line of the error list */
    } cases[] = {
        {"{ name = \"m\"; type = \"mixer\"; or_address = \"/C=GB/O=X/\"; }",
         "t.conf:3: channel 'm': domain (the Internet domain of X.400 users) is required"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; }",
         "t.conf:3: channel 'm': or_address (the O/R address of Internet users, e.g. "
         "\"/C=GB/ADMD= /PRMD=Example/O=MIXER/\") is required"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  direction = \"sideways\"; }",
         "t.conf:4: channel 'm': direction must be to-x400, to-smtp or auto, not 'sideways'"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  content = \"p2x\"; }",
         "t.conf:4: channel 'm': content must be p2, p22 or p772, not 'p2x'"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  rfc2or = \"/nonexistent/rfc2or\"; }",
         "t.conf:4: mixer table /nonexistent/rfc2or cannot be read: not found"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  notifications = \"dsn\"; }",
         "t.conf:4: channel 'm': notifications must be text (RFC 2156) or mdn (RFC 8098), not 'dsn'"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  dsn = \"ipm\"; }",
         "t.conf:4: channel 'm': dsn must be report (RFC 2156 5.1.8) or message, not 'ipm'"},
        {"{ name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = \"/C=GB/\";\n"
         "  tabels = \"x\"; }",
         "t.conf:4: unknown key 'tabels' in channel 'm' (did you mean 'tables'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s  %s\n);\nroutes = ( { default = true; chain = [ \"out\" ]; } );\n",
                 base, cases[i].channel);
        struct config_errors errs = {0};
        struct config *cfg = load(text, &errs);
        assert_null(cfg);
        bool found = false;
        for (size_t k = 0; k < errs.n; k++)
            found |= !strcmp(errs.v[k].text, cases[i].want);
        if (!found) {
            for (size_t k = 0; k < errs.n; k++)
                print_message("got: %s\n", errs.v[k].text);
            fail_msg("case %zu: no \"%s\"", i, cases[i].want);
        }
        config_errors_free(&errs);
    }
    /* a preferred-gateway table with an error: its own file:line */
    char text[4096], want[1200];
    snprintf(text, sizeof text,
             "%s  { name = \"m\"; type = \"mixer\"; domain = \"x.example\"; or_address = "
             "\"/C=GB/\";\n  gate1 = \"%s/test-vectors/mixer/tables/gate1-bad\"; }\n);\n"
             "routes = ( { default = true; chain = [ \"out\" ]; } );\n",
             base, src_dir());
    snprintf(want, sizeof want, "%s/test-vectors/mixer/tables/gate1-bad:3: expected \"left#right#\"",
             src_dir());
    struct config_errors errs = {0};
    struct config *cfg = load(text, &errs);
    assert_null(cfg);
    bool found = false;
    for (size_t k = 0; k < errs.n; k++)
        found |= !strcmp(errs.v[k].text, want);
    if (!found) {
        for (size_t k = 0; k < errs.n; k++)
            print_message("got: %s\n", errs.v[k].text);
        fail_msg("no \"%s\"", want);
    }
    config_errors_free(&errs);
}

/* Run the channel `name` of etc/examples/mixer.conf over one group. */
struct run {
    struct config *cfg;
    struct message *msg;
    struct channel_result r;
    uint32_t idx[8];
    const char *addrs[8];
    size_t n;
    int rc;
};

/* Called on the message before process() when set: the DSN parameters a test gives it. */
static void (*prep_msg)(struct message *m);
/* The group's queue priority in the task (0..5). */
static int task_priority = MESSAGE_PRIORITY_DEFAULT;

/* extra: options added to the channel's definition (NULL = none). */
static void run_ex(struct run *x, const char *channel, const char *extra,
                   enum message_content_type ct, const void *data, size_t len,
                   const char *originator, const char *const *rcpts)
{
    size_t tl = 0;
    char *text = slurp("etc/examples/mixer.conf", &tl);
    memset(x, 0, sizeof *x);
    if (extra) {
        char key[128];
        snprintf(key, sizeof key, "name = \"%s\";", channel);
        char *at = strstr(text, key);
        assert_non_null(at);
        size_t off = (size_t)(at - text) + strlen(key);
        char *t2 = malloc(tl + strlen(extra) + 2);
        assert_non_null(t2);
        memcpy(t2, text, off);
        t2[off] = ' ';
        memcpy(t2 + off + 1, extra, strlen(extra));
        strcpy(t2 + off + 1 + strlen(extra), text + off);
        free(text);
        text = t2;
    }
    x->cfg = load(text, NULL);
    free(text);
    assert_non_null(x->cfg);
    const struct config_channel *ch = config_find_channel(x->cfg, channel);
    assert_non_null(ch);
    x->msg = message_create();
    assert_int_equal(message_set_originator(x->msg, originator), 0);
    for (x->n = 0; rcpts[x->n]; x->n++) {
        assert_int_equal(message_add_rcpt(x->msg, rcpts[x->n], NULL, 0, NULL), 0);
        x->idx[x->n] = (uint32_t)x->n;
        x->addrs[x->n] = rcpts[x->n];
    }
    struct content *c = content_copy(ct, 0, data, len);
    assert_non_null(c);
    struct channel_task t = {.cfg = x->cfg, .channel = ch, .msg = x->msg, .content = c,
                             .originator = originator, .nrcpts = x->n, .rcpts = x->idx,
                             .rcpt_addrs = x->addrs, .now = 1765000000,
                             .priority = task_priority};
    if (prep_msg)
        prep_msg(x->msg);
    x->r.priority = -1;
    x->r.rcpts = calloc(x->n, sizeof *x->r.rcpts);
    for (size_t i = 0; i < x->n; i++)
        channel_outcome_set(&x->r.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    x->rc = ch->kind->process(ch->conf, &t, &x->r);
    content_unref(c);
}

static void run(struct run *x, const char *channel, enum message_content_type ct,
                const void *data, size_t len, const char *originator, const char *const *rcpts)
{
    run_ex(x, channel, NULL, ct, data, len, originator, rcpts);
}

static void run_free(struct run *x)
{
    channel_result_clear(&x->r, x->n);
    free(x->r.rcpts);
    message_free(x->msg);
    config_free(x->cfg);
}

/* RFC 2156 tables 3 and 4 (etc/mixer/gate1, gate2): a recipient in a domain another X.400
 * gateway serves goes under that gateway's O/R address (and is not refused as an Internet
 * address of ours), the return address stays under our own; an O/R address another Internet
 * gateway serves goes under its domain. */
/* Route rules `or_mapped_by`: an O/R address the mixer's tables map to an RFC 822 address
 * (or2rfc, or an RFC-822 domain-defined attribute) that the routes send to the Internet takes
 * that rule, ahead of any or_address pattern. The tables are symmetric: Camelot, the X.400
 * community, is mapped too (camelot.example), but its domain routes back into X.400, so its
 * users stay X.400 users, as do those no table maps. Errors name the line. */
static void test_route_or_mapped_by(void **state)
{
    (void)state;
    static const char text[] =
        "global = { hostname = \"h\"; var_dir = \"/tmp\"; };\n"
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
        "channels = ( { name = \"out\"; type = \"file\"; directory = \"/tmp/x\"; },\n"
        "  { name = \"to-smtp\"; type = \"mixer\"; direction = \"to-smtp\"; domain = \"x400.example\";\n"
        "    or_address = \"/C=GB/ADMD= /PRMD=Example/O=MIXER/\"; tables = \"${MIXGATE_MIXER_TABLES}\"; },\n"
        "  { name = \"to-x400\"; type = \"mixer\"; direction = \"to-x400\"; domain = \"x400.example\";\n"
        "    or_address = \"/C=GB/ADMD= /PRMD=Example/O=MIXER/\"; tables = \"${MIXGATE_MIXER_TABLES}\"; },\n"
        "  { name = \"x400\"; type = \"file\"; directory = \"/tmp/y\"; } );\n"
        "routes = (\n"
        "  { or_address = \"*\"; chain = [ \"x400\" ]; },\n"
        "  { or_address = \"/C=GB/ADMD= /PRMD=Example/O=Example/\"; chain = [ \"x400\" ]; },\n"
        "  { or_mapped_by = \"to-smtp\"; chain = [ \"to-smtp\", \"out\" ]; },\n"
        "  { domain_suffix = \"camelot.example\"; chain = [ \"to-x400\", \"x400\" ]; },\n"
        "  { default = true; chain = [ \"out\" ]; } );\n";
    struct config_errors errs = {0};
    struct config *cfg = load(text, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    assert_non_null(cfg);
    static const struct {
        const char *addr;
        size_t want; /* route index */
    } cases[] = {
        /* or2rfc: O$Example.PRMD$Example.ADMD$ .C$GB -> example.org, routed to the Internet
         * (it beats the longer or_address pattern) */
        {"/C=GB/ADMD= /PRMD=Example/O=Example/S=ops/", 2},
        /* an Internet address carried in the RFC-822 domain-defined attribute */
        {"/C=GB/ADMD= /PRMD=Example/O=MIXER/DD.RFC-822=bob(a)else.example/", 2},
        /* or2rfc maps Camelot to camelot.example, whose route goes back into X.400 */
        {"/C=GB/ADMD= /PRMD=Camelot/S=Jones/G=Bob/", 0},
        /* X.400 users no table maps */
        {"/C=FR/ADMD=ATLAS/PRMD=Nowhere/S=Durand/", 0},
        {"/C=GB/ADMD= /PRMD=Other/S=Smith/", 0},
        /* not O/R addresses: the Internet rules only */
        {"bob@example.org", 4},
        {"bob.jones@camelot.example", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct config_route *rt = NULL;
        assert_int_equal(route_lookup(cfg, cases[i].addr, &rt), 0);
        if (rt->index != cases[i].want)
            print_message("%s: route %zu, want %zu\n", cases[i].addr, rt->index, cases[i].want);
        assert_int_equal(rt->index, cases[i].want);
    }
    assert_true(route_matches_cfg(cfg, &cfg->routes[2], "/C=GB/ADMD= /PRMD=Example/O=Example/S=x/"));
    assert_false(route_matches_cfg(cfg, &cfg->routes[2], "/C=GB/ADMD= /PRMD=Camelot/S=Jones/"));
    assert_false(route_matches_cfg(cfg, &cfg->routes[2], "bob@example.org"));
    assert_false(route_matches(&cfg->routes[2], "/C=GB/ADMD= /PRMD=Example/O=Example/S=x/"));
    config_free(cfg);
    config_errors_free(&errs);

    static const struct {
        const char *rule, *want;
    } bad[] = {
        {"{ or_mapped_by = \"nosuch\"; chain = [ \"out\" ]; }",
         "t.conf:5: route #1: or_mapped_by names channel 'nosuch', which is not defined"},
        {"{ or_mapped_by = \"out\"; chain = [ \"out\" ]; }",
         "t.conf:5: route #1: or_mapped_by: channel 'out' (type file) has no address mapping to ask "
         "(a mixer channel has)"},
        {"{ or_mapped_by = \"out\"; domain = \"x.org\"; chain = [ \"out\" ]; }",
         "t.conf:5: route #1: give only one of recipient, domain, domain_suffix, pattern, or_address, "
         "or_mapped_by, default (a route matches one way)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[1024];
        snprintf(t, sizeof t,
                 "global = { hostname = \"h\"; var_dir = \"/tmp\"; };\n"
                 "listeners = ( { name = \"in\"; listen = \"127.0.0.1:2525\"; } );\n"
                 "channels = ( { name = \"out\"; type = \"file\"; directory = \"/tmp/x\"; } );\n"
                 "routes = (\n  %s\n);\n", bad[i].rule);
        struct config_errors e = {0};
        struct config *c = load(t, &e);
        assert_null(c);
        bool found = false;
        for (size_t k = 0; k < e.n; k++) {
            found |= !strcmp(e.v[k].text, bad[i].want);
            if (!found)
                print_message("got: %s\n", e.v[k].text);
        }
        assert_true(found);
        config_errors_free(&e);
    }
}

static void test_preferred_gateways(void **state)
{
    (void)state;
    static const char msg[] = "From: a@uk.alter.example\r\nTo: b@uk.alter.example\r\n"
                              "Subject: g\r\n\r\nhi\r\n";
    static const char *const rcpts[] = {"postmaster@uk.alter.example", NULL};
    struct run x;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, msg, strlen(msg), "a@uk.alter.example",
        rcpts);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    assert_string_equal(x.r.rcpts[0].next_addr,
                        "/C=GB/ADMD=BTglobal/PRMD=relay/DD.RFC-822=postmaster(a)uk.alter.example/");
    assert_string_equal(x.r.originator,
                        "/C=GB/ADMD= /PRMD=Example/O=MIXER/RFC-822=a(a)uk.alter.example/");
    run_free(&x);
    size_t len = 0;
    char *ber = slurp("test-vectors/mixer/smtp/full-heading.p22", &len);
    static const char *const ors[] = {"/C=US/ADMD=ATT/G=Andy/S=Wharol/",
                                      "/C=US/ADMD=ATT/O=MMNY/S=Wharol/", NULL};
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, ber, len,
        "/C=GB/ADMD= /PRMD=Camelot/S=Boss/", ors);
    free(ber);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    assert_string_equal(x.r.rcpts[0].next_addr, "Andy.Wharol@attmail.example");
    assert_int_equal(x.r.rcpts[1].outcome.action, CHANNEL_CONTINUE);
    assert_string_equal(x.r.rcpts[1].next_addr, "/O=MMNY/S=Wharol/@attmail.example");
    run_free(&x);
}

static void test_to_x400(void **state)
{
    (void)state;
    size_t len = 0;
    char *in = slurp("test-vectors/mixer/smtp/mmhs.in", &len);
    static const char *const rcpts[] = {"\"/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/\"@x400.example",
                                        "Bob.Jones@camelot.example", "j\xc3\xb6rg@x400.example",
                                        "someone@elsewhere.example", NULL};
    struct run x;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, in, len, "ops@example.org", rcpts);
    free(in);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_P22);
    assert_int_equal(x.r.priority, 4); /* MMHS-Primary-Precedence: flash */
    assert_string_equal(x.r.originator, "/C=GB/ADMD= /PRMD=Example/O=Example/S=ops/");
    assert_string_equal(x.r.rcpts[0].next_addr, "/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/");
    /* in the canonical O/R form the P1 side compares with its envelope's recipients */
    assert_string_equal(x.r.rcpts[1].next_addr, "/C=GB/ADMD= /PRMD=Camelot/S=Jones/G=Bob/");
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    assert_int_equal(x.r.rcpts[1].outcome.action, CHANNEL_CONTINUE);
    /* the non-ASCII address has no X.400 form: that recipient fails with a report */
    assert_int_equal(x.r.rcpts[2].outcome.action, CHANNEL_FAILED);
    assert_string_equal(x.r.rcpts[2].outcome.status, "5.1.3");
    assert_int_equal(x.r.rcpts[2].outcome.x400_reason, 1);
    assert_int_equal(x.r.rcpts[2].outcome.x400_diagnostic, 0);
    assert_non_null(strstr(x.r.rcpts[2].outcome.text, "has no X.400 address"));
    /* an Internet address with no MCGAM is not an X.400 user: never encapsulated for P1 */
    assert_int_equal(x.r.rcpts[3].outcome.action, CHANNEL_FAILED);
    assert_non_null(strstr(x.r.rcpts[3].outcome.text, "it is an Internet address"));
    assert_null(x.r.rcpts[3].next_addr);
    /* the new content is P772 (the example's default) and carries the MMHS fields */
    size_t cl = 0;
    const unsigned char *cd = content_data(x.r.content, &cl);
    struct mg_buf back;
    char why[256] = "";
    struct mixer_gw g;
    memset(&g, 0, sizeof g);
    snprintf(g.domain, sizeof g.domain, "x400.example");
    mg_buf_init(&back, 0);
    if (mixer_conv_to_822(&g, MIXER_CONTENT_P772, cd, cl, &back, why, sizeof why) != 0)
        fail_msg("the channel's content does not convert back: %s", why);
    assert_non_null(strstr((const char *)back.data, "MMHS-Primary-Precedence: flash\r\n"));
    assert_non_null(strstr((const char *)back.data, "Subject: OPORD 7\r\n"));
    mg_buf_free(&back);
    run_free(&x);
}

static void test_to_smtp(void **state)
{
    (void)state;
    size_t len = 0;
    char *ber = slurp("test-vectors/mixer/smtp/full-heading.p22", &len);
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/",
                                        "/C=GB/ADMD= /PRMD=Example/O=MIXER/RFC-822=a(a)b.example/",
                                        "/C=GB/RFC-822=broken/", "/C=FR/ADMD=atlas/S=x/", NULL};
    struct run x;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, ber, len,
        "/C=GB/ADMD= /PRMD=Camelot/S=Boss/", rcpts);
    free(ber);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_RFC5322);
    assert_int_equal(x.r.priority, -1); /* a P22 message has no precedence */
    assert_string_equal(x.r.originator, "Boss@camelot.example");
    assert_string_equal(x.r.rcpts[0].next_addr, "Smith@Lab.camelot.example");
    assert_string_equal(x.r.rcpts[1].next_addr, "a@b.example");
    assert_int_equal(x.r.rcpts[2].outcome.action, CHANNEL_FAILED);
    /* no MCGAM: the quoted form under our own domain would loop back to X.400 */
    assert_int_equal(x.r.rcpts[3].outcome.action, CHANNEL_FAILED);
    assert_non_null(strstr(x.r.rcpts[3].outcome.text, "no MCGAM maps this O/R address"));
    size_t cl = 0;
    const char *cd = (const char *)content_data(x.r.content, &cl);
    assert_non_null(strstr(cd, "Subject: Re: plans\r\n"));
    /* the gateway's trace line on top */
    assert_true(strncmp(cd, "Received: by mixer.localhost with MIXER (RFC 2156 conversion, "
                            "channel mixer-to-smtp) id ", 88) == 0);
    /* the envelope as X400-* fields, and a Date from the arrival (the content had one) */
    assert_non_null(strstr(cd, "\r\nX400-Originator: Boss@camelot.example\r\n"));
    assert_non_null(strstr(cd, "\r\nX400-Recipients: Smith@Lab.camelot.example, a@b.example, "));
    assert_non_null(strstr(cd, "\r\nX400-Content-Type: P2-1988 (22)\r\n"));
    run_free(&x);
}

/* RFC 2156 A.3.1: the DSN parameters an SMTP message came with become the converted
 * message's transfer envelope: NOTIFY as report requests, ORCPT as redirection history, ENVID
 * as the content correlator, content return requested, the P772 precedence (flash: urgent). */
static void prep_to_x400(struct message *m)
{
    assert_int_equal(message_set_envid(m, "env-7"), 0);
    m->ret = MESSAGE_RET_HDRS;
    m->rcpts[0].notify = MESSAGE_NOTIFY_SUCCESS;
    assert_int_equal(message_rcpt_set_str(&m->rcpts[0].orcpt, "rfc822;Ann.Desk@camelot.example"), 0);
    m->rcpts[1].notify = MESSAGE_NOTIFY_NEVER;
    m->arrival = 1765000000;
}

static void test_dsn_params_to_x400(void **state)
{
    (void)state;
    size_t len = 0;
    char *in = slurp("test-vectors/mixer/smtp/mmhs.in", &len);
    static const char *const rcpts[] = {"Bob.Jones@camelot.example",
                                        "\"/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/\"@x400.example",
                                        "someone@elsewhere.example", NULL};
    struct run x;
    prep_msg = prep_to_x400;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, in, len, "ops@example.org", rcpts);
    prep_msg = NULL;
    free(in);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.x400_env);
    assert_false(x.r.env_set); /* ENVID and RET stay for our own DSNs */
    struct mixer_dsnp_env e;
    mixer_dsnp_env_init(&e);
    char why[300] = "";
    int rc = mixer_dsnp_env_from_ber(x.r.x400_env, x.r.x400_env_len, &e, why, sizeof why);
    if (rc)
        fail_msg("envelope: %s (%s)", mg_strerror(rc), why);
    assert_true(!strncmp(e.mts_id, "[/C=GB/ADMD= /PRMD=Example/;", 28));
    assert_string_equal(e.originator, "/C=GB/ADMD= /PRMD=Example/O=Example/S=ops/");
    assert_string_equal(e.content_type, "1.3.26.0.4406.0.4.1");
    assert_int_equal(e.precedence, 4); /* MMHS-Primary-Precedence: flash */
    assert_int_equal(e.priority, 2);   /* urgent */
    assert_true(e.content_return);
    assert_string_equal(e.correlator, "SMTP/NOTARY ENVID: env-7");
    assert_string_equal(e.trace_gdi, "/C=GB/ADMD= /PRMD=Example/");
    assert_string_equal(e.arrival, "251206054640Z");
    /* the Internet recipient with no MCGAM failed: not in the envelope */
    assert_int_equal(e.nrcpts, 2);
    assert_string_equal(e.rcpts[0].addr, "/C=GB/ADMD= /PRMD=Camelot/G=Bob/S=Jones/");
    assert_int_equal(mixer_dsnp_notify(e.rcpts[0].indicators),
                     MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_true(e.rcpts[0].indicators & MIXER_PRI_RESPONSIBILITY);
    assert_string_equal(e.rcpts[0].orcpt, "/C=GB/ADMD= /PRMD=Camelot/G=Ann/S=Desk/");
    assert_string_equal(e.rcpts[1].addr, "/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/");
    assert_int_equal(mixer_dsnp_notify(e.rcpts[1].indicators), MESSAGE_NOTIFY_NEVER);
    assert_string_equal(e.rcpts[1].orcpt, "");
    /* the next hop's names are the envelope's, in the form the P1 side compares them */
    char canon[1024], err[100];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(oraddr_normalize(e.rcpts[k].addr, canon, sizeof canon, err, sizeof err), 0);
        assert_string_equal(x.r.rcpts[k].next_addr, canon);
    }
    mixer_dsnp_env_free(&e);
    run_free(&x);
}

/* RFC 2156 A.3.2: the envelope a message came over P1 with gives the SMTP side its DSN
 * parameters: NOTIFY from the report requests, ORCPT from the redirection history, ENVID
 * from the MTS identifier, RET=HDRS when content return was not requested. */
static struct mg_buf env_in;

static void prep_to_smtp(struct message *m)
{
    assert_int_equal(message_set_x400(m, NULL, NULL, env_in.data, env_in.len), 0);
}

static void test_dsn_params_to_smtp(void **state)
{
    (void)state;
    struct mixer_dsnp_env e;
    mixer_dsnp_env_init(&e);
    snprintf(e.mts_id, sizeof e.mts_id, "[/C=GB/ADMD= /PRMD=Camelot/;q-7]");
    snprintf(e.originator, sizeof e.originator, "/C=GB/ADMD= /PRMD=Camelot/S=Boss/");
    snprintf(e.content_type, sizeof e.content_type, "22");
    snprintf(e.trace_gdi, sizeof e.trace_gdi, "/C=GB/ADMD= /PRMD=Camelot/");
    snprintf(e.arrival, sizeof e.arrival, "251206054640Z");
    e.content_return = false;
    struct mixer_dsnp_rcpt *d = mixer_dsnp_env_add(&e);
    snprintf(d->addr, sizeof d->addr, "/C=GB/ADMD= /PRMD=Example/O=Example/S=Smith/");
    d->indicators = MIXER_PRI_RESPONSIBILITY | MIXER_PRI_ORIG_REPORT;
    snprintf(d->orcpt, sizeof d->orcpt, "/C=GB/ADMD= /PRMD=Example/O=Example/S=Desk/");
    d = mixer_dsnp_env_add(&e);
    snprintf(d->addr, sizeof d->addr, "/C=GB/ADMD= /PRMD=Camelot/S=Jones/G=Ann/");
    d->indicators = MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR;
    d = mixer_dsnp_env_add(&e);
    snprintf(d->addr, sizeof d->addr, "/C=GB/ADMD= /PRMD=Camelot/S=Other/");
    d->indicators = MIXER_PRI_ORIG_NDR;
    mg_buf_init(&env_in, 1u << 20);
    char why[300] = "";
    int rc = mixer_dsnp_env_to_ber(&e, &env_in, why, sizeof why);
    if (rc)
        fail_msg("envelope: %s (%s)", mg_strerror(rc), why);
    mixer_dsnp_env_free(&e);
    size_t len = 0;
    char *ber = slurp("test-vectors/mixer/smtp/full-heading.p22", &len);
    /* the message's recipients name the same O/R addresses in another attribute order */
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Example/O=Example/S=Smith/",
                                        "/C=GB/ADMD= /PRMD=Camelot/G=Ann/S=Jones/",
                                        "/C=GB/ADMD= /PRMD=Camelot/S=Absent/", NULL};
    struct run x;
    prep_msg = prep_to_smtp;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, ber, len,
        "/C=GB/ADMD= /PRMD=Camelot/S=Boss/", rcpts);
    prep_msg = NULL;
    free(ber);
    mg_buf_free(&env_in);
    assert_int_equal(x.rc, 0);
    assert_true(x.r.rcpts[0].dsn_set);
    assert_int_equal(x.r.rcpts[0].notify, MESSAGE_NOTIFY_SUCCESS | MESSAGE_NOTIFY_FAILURE);
    assert_string_equal(x.r.rcpts[0].orcpt, "x400;/C=GB/ADMD= /PRMD=Example/O=Example/S=Desk/");
    assert_true(x.r.rcpts[1].dsn_set);
    assert_int_equal(x.r.rcpts[1].notify, MESSAGE_NOTIFY_NEVER);
    assert_null(x.r.rcpts[1].orcpt);
    /* A.3.2: the originator asked for nothing, its MTA for non-delivery reports: the gateway
     * reports failures itself; the first recipient's originator asked for all its MTA did */
    assert_int_equal(x.r.rcpts[1].gateway_notify, MESSAGE_NOTIFY_FAILURE);
    assert_int_equal(x.r.rcpts[0].gateway_notify, 0);
    assert_false(x.r.rcpts[2].dsn_set); /* not in the envelope: left as it was */
    assert_true(x.r.env_set);
    assert_string_equal(x.r.envid, "X400-MTS-Identifier: [/C=GB/ADMD= /PRMD=Camelot/;q-7]");
    assert_int_equal(x.r.ret, MESSAGE_RET_HDRS);
    assert_null(x.r.x400_env);
    assert_null(x.r.content_oid); /* an Internet message has no X.400 content type */
    run_free(&x);
}

/* RFC 6710 / ACP 123: the queue priority (an MT-PRIORITY from a trusted client) gives the X.400
 * priority when the message has no Priority field, and for P772 the precedence with its
 * qualifier; the default (routine) stays normal. */
static void test_priority_to_x400(void **state)
{
    (void)state;
    static const char msg[] = "From: ops@example.org\r\nTo: Bob.Jones@camelot.example\r\n"
                              "Subject: p\r\n\r\nhi\r\n";
    static const char prio_msg[] = "From: ops@example.org\r\nTo: Bob.Jones@camelot.example\r\n"
                                   "Priority: non-urgent\r\nSubject: p\r\n\r\nhi\r\n";
    static const char *const rcpts[] = {"Bob.Jones@camelot.example", NULL};
    static const struct {
        const char *name;
        int p22;
        const char *msg;
        int queue, want_priority, want_precedence;
    } cases[] = {
        {"P22, flash from MT-PRIORITY", 1, msg, 4, 2, -1},
        {"P22, deferred", 1, msg, 0, 1, -1},
        {"P22, immediate", 1, msg, 3, 0, -1},
        {"P22, the default", 1, msg, MESSAGE_PRIORITY_DEFAULT, 0, -1},
        {"P22, the Priority field wins", 1, prio_msg, 5, 1, -1},
        {"P772, override", 0, msg, 5, 2, 5},
        {"P772, the default", 0, msg, MESSAGE_PRIORITY_DEFAULT, 0, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct run x;
        task_priority = cases[k].queue;
        x400_content = cases[k].p22 ? "p22" : NULL; /* the example's content variable */
        run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, cases[k].msg, strlen(cases[k].msg),
            "ops@example.org", rcpts);
        x400_content = NULL;
        task_priority = MESSAGE_PRIORITY_DEFAULT;
        assert_int_equal(x.rc, 0);
        assert_non_null(x.r.x400_env);
        struct mixer_dsnp_env e;
        mixer_dsnp_env_init(&e);
        char why[200] = "";
        assert_int_equal(mixer_dsnp_env_from_ber(x.r.x400_env, x.r.x400_env_len, &e, why, sizeof why), 0);
        if (e.priority != cases[k].want_priority || e.precedence != cases[k].want_precedence)
            fail_msg("case %s: priority %d precedence %d", cases[k].name, e.priority, e.precedence);
        /* the converted version says its X.400 type, the one its envelope names */
        assert_non_null(x.r.content_oid);
        assert_string_equal(x.r.content_oid, cases[k].p22 ? "22" : "1.3.26.0.4406.0.4.1");
        assert_string_equal(x.r.content_oid, e.content_type);
        mixer_dsnp_env_free(&e);
        run_free(&x);
    }
}

static void test_precedence_to_smtp(void **state)
{
    (void)state;
    size_t len = 0;
    char *ber = slurp("test-vectors/mixer/smtp/mmhs.p772", &len);
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Camelot/S=Ops/", NULL};
    struct run x;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, ber, len, "", rcpts);
    free(ber);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.r.priority, 4); /* primary-precedence flash */
    assert_string_equal(x.r.originator, "");
    assert_string_equal(x.r.rcpts[0].next_addr, "Ops@camelot.example");
    run_free(&x);
}

/* X.400 content carries no Date: the converted message gets one from the arrival time */
static void test_date_from_arrival(void **state)
{
    (void)state;
    size_t len = 0;
    char *ber = slurp("test-vectors/ipm/p772-full.p772", &len);
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Camelot/S=Ops/", NULL};
    struct run x;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, ber, len, "", rcpts);
    free(ber);
    assert_int_equal(x.rc, 0);
    size_t cl = 0;
    const char *cd = (const char *)content_data(x.r.content, &cl);
    /* t.now = 1765000000 = Sat, 6 Dec 2025 05:46:40 UTC; P772 content type named */
    assert_non_null(strstr(cd, "\r\nDate: Sat, 6 Dec 2025 05:46:40 +0000\r\n"));
    assert_non_null(strstr(cd, "\r\nX400-Content-Type: (1) (3) (26) (0) (4406) (0) (4) (1)\r\n"));
    assert_int_equal(x.r.priority, 4);
    run_free(&x);
}

/* RFC 2156's loop guard: a message that crossed gateways five times is not converted again */
static void test_loop_guard(void **state)
{
    (void)state;
    struct mg_buf m;
    mg_buf_init(&m, 0);
    for (int i = 0; i < 5; i++)
        mg_buf_appendf(&m, "Received: by gw%d.example with MIXER (RFC 2156 conversion) id x; "
                           "Mon, 7 Dec 2026 03:00:00 +0000\r\n", i);
    mg_buf_appendf(&m, "From: a@example.org\r\nSubject: loop\r\n\r\nbody\r\n");
    static const char *const rcpts[] = {"\"/C=GB/ADMD= /PRMD=Camelot/S=a/\"@x400.example", NULL};
    struct run x;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, m.data, m.len, "a@example.org", rcpts);
    assert_int_equal(x.rc, 0);
    assert_null(x.r.content);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_FAILED);
    assert_string_equal(x.r.rcpts[0].outcome.status, "5.4.6");
    assert_int_equal(x.r.rcpts[0].outcome.x400_diagnostic, 3);
    run_free(&x);
    /* four earlier conversions are fine */
    size_t cut = (size_t)(strstr((const char *)m.data, "Received: by gw1") - (const char *)m.data);
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, m.data + cut, m.len - cut, "a@example.org",
        rcpts);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    run_free(&x);
    mg_buf_free(&m);
}

static void test_conversion_failure(void **state)
{
    (void)state;
    static const char junk[] = {0x30, 0x03, 0x01, 0x01};
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Camelot/S=a/",
                                        "/C=GB/ADMD= /PRMD=Camelot/S=b/", NULL};
    struct run x;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_P22, junk, sizeof junk, "", rcpts);
    assert_int_equal(x.rc, 0);
    assert_null(x.r.content);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(x.r.rcpts[i].outcome.action, CHANNEL_FAILED);
        assert_string_equal(x.r.rcpts[i].outcome.status, "5.6.0");
        assert_int_equal(x.r.rcpts[i].outcome.x400_diagnostic, 12);
        assert_non_null(strstr(x.r.rcpts[i].outcome.text, "MIXER conversion to RFC 5322 failed"));
    }
    run_free(&x);
    /* an originator with no X.400 form: the group is held with the reason */
    static const char msg[] = "From: a@b.example\r\n\r\nx\r\n";
    static const char *const r2[] = {"x@x400.example", NULL};
    static const char *const r3[] = {"\"/C=GB/ADMD= /PRMD=Camelot/S=a/\"@x400.example", NULL};
    (void)r2;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, msg, sizeof msg - 1, "j\xc3\xb6rg@b.example",
        r3);
    assert_int_not_equal(x.rc, 0);
    assert_non_null(strstr(x.r.error, "originator"));
    run_free(&x);
}

/* An X.400 report content becomes an RFC 3464 DSN to the mapped report destination. */
static void test_report_to_dsn(void **state)
{
    (void)state;
    size_t len = 0;
    char *ber = slurp("test-vectors/mixer/report/x400-mixed.ber", &len);
    assert_non_null(ber);
    static const char *const rcpts[] = {"/C=GB/ADMD= /PRMD=Camelot/S=Boss/", NULL};
    struct run x;
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_REPORT, ber, len, "", rcpts);
    free(ber);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_RFC5322);
    assert_string_equal(x.r.originator, "");
    assert_string_equal(x.r.rcpts[0].next_addr, "Boss@camelot.example");
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    size_t cl = 0;
    const unsigned char *cd = content_data(x.r.content, &cl);
    struct mixer_report *rep = calloc(1, sizeof *rep);
    assert_non_null(rep);
    size_t skipped = 0;
    char why[200] = "";
    if (mixer_dsn_parse(cd, cl, rep, &skipped, why, sizeof why) != 0)
        fail_msg("the channel's DSN does not parse: %s", why);
    assert_string_equal(rep->subject_id, "[/C=GB/ADMD= /PRMD=Example/;M42.1]");
    assert_int_equal(rep->nrcpts, 3);
    assert_int_equal(rep->rcpts[1].reason, 1);
    assert_int_equal(rep->rcpts[1].diagnostic, 3);
    assert_string_equal(rep->rcpts[1].status, "5.4.6");
    assert_non_null(strstr((const char *)cd, "\r\nTo: <Boss@camelot.example>\r\n"));
    assert_non_null(strstr((const char *)cd, "Subject: Delivery-Report (success and failures)\r\n"));
    free(rep);
    run_free(&x);
    /* returned X.400 content (a P22 IPM) comes back as message/rfc822 */
    size_t plen = 0;
    char *p22 = slurp("test-vectors/mixer/smtp/full-heading.p22", &plen);
    assert_non_null(p22);
    struct mixer_report *rr = calloc(1, sizeof *rr);
    assert_non_null(rr);
    snprintf(rr->subject_id, sizeof rr->subject_id, "[/C=GB/ADMD= /PRMD=Camelot/;M1]");
    rr->nrcpts = 1;
    snprintf(rr->rcpts[0].final_rcpt, sizeof rr->rcpts[0].final_rcpt,
             "/C=GB/ADMD= /PRMD=Camelot/S=Gone/");
    rr->rcpts[0].reason = 1;
    rr->rcpts[0].diagnostic = 0;
    rr->returned = (const unsigned char *)p22;
    rr->returned_len = plen;
    struct mg_buf rber;
    mg_buf_init(&rber, 0);
    char rwhy[200] = "";
    if (mixer_report_to_ber(rr, "251206000000Z", &rber, rwhy, sizeof rwhy) != 0)
        fail_msg("report: %s", rwhy);
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_REPORT, rber.data, rber.len, "", rcpts);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    cd = content_data(x.r.content, &cl);
    assert_non_null(strstr((const char *)cd, "\r\nContent-Type: message/rfc822\r\n"));
    assert_non_null(strstr((const char *)cd, "Subject: Re: plans\r\n"));
    assert_non_null(strstr((const char *)cd, "The Original Message follows:"));
    assert_non_null(strstr((const char *)cd, "\r\nOriginal-Recipient: rfc822; Gone@camelot.example\r\n"));
    run_free(&x);
    mg_buf_free(&rber);
    free(rr);
    free(p22);
    /* a report content that does not decode: the recipients fail, nothing is dropped */
    static const char junk[] = {0x31, 0x03, 0x01, 0x01, 0x00};
    run(&x, "mixer-to-smtp", MESSAGE_CONTENT_X400_REPORT, junk, sizeof junk, "", rcpts);
    assert_int_equal(x.rc, 0);
    assert_null(x.r.content);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_FAILED);
    assert_string_equal(x.r.rcpts[0].outcome.status, "5.6.0");
    assert_non_null(strstr(x.r.rcpts[0].outcome.text, "cannot be mapped to a DSN"));
    run_free(&x);
}

/* A DSN (null reverse path) becomes an X.400 report content, with the X.400 subject identifier
 * from its ENVID or one the gateway makes up; a DSN-like message with a sender is a message. */
/* RFC 2156 5.1.8.3: a DSN with a failed recipient and delayed / relayed / expanded ones
 * becomes an X.400 report for the failed one and an IPM (a new message to the same
 * recipient, its status part as text) for the others; that copy crosses as an IPM. */
static void test_dsn_mixed_actions(void **state)
{
    (void)state;
    static const char *const rcpts[] = {"\"/C=GB/ADMD= /PRMD=Camelot/S=Boss/\"@x400.example", NULL};
    size_t len = 0;
    char *in = slurp("test-vectors/mixer/report/dsn-x400-relayed.in", &len);
    struct run x;
    run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, in, len, "", rcpts);
    free(in);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_REPORT);
    size_t cl = 0;
    const unsigned char *cd = content_data(x.r.content, &cl);
    struct mixer_report *rep = calloc(1, sizeof *rep);
    assert_non_null(rep);
    char why[200] = "";
    assert_int_equal(mixer_report_from_ber(cd, cl, rep, NULL, why, sizeof why), 0);
    assert_int_equal(rep->nrcpts, 1);
    assert_int_equal(rep->rcpts[0].delivered, 0);
    free(rep);
    assert_int_equal(x.r.nmessages, 1);
    assert_string_equal(x.r.messages[0].originator, "");
    assert_string_equal(x.r.messages[0].rcpt, rcpts[0]);
    assert_non_null(strstr((const char *)x.r.messages[0].content, "Action: relayed"));
    assert_null(strstr((const char *)x.r.messages[0].content, "message/delivery-status"));
    /* the copy, processed in its turn, becomes an IPM */
    struct run y;
    run(&y, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, x.r.messages[0].content,
        x.r.messages[0].len, "", rcpts);
    assert_int_equal(y.rc, 0);
    assert_non_null(y.r.content);
    assert_int_equal(content_type(y.r.content), MESSAGE_CONTENT_X400_P22);
    assert_int_equal(y.r.nmessages, 0);
    run_free(&y);
    run_free(&x);
}

static void test_dsn_to_report(void **state)
{
    (void)state;
    static const char *const rcpts[] = {"\"/C=GB/ADMD= /PRMD=Camelot/S=Boss/\"@x400.example", NULL};
    static const struct {
        const char *file, *originator;
        enum message_content_type want;
    } cases[] = {
        {"test-vectors/mixer/report/dsn-x400-envid.in", "", MESSAGE_CONTENT_X400_REPORT},
        {"test-vectors/mixer/report/dsn-x400-envid.in", "someone@example.org",
         MESSAGE_CONTENT_X400_P22},
        {"test-vectors/mixer/report/dsn-postfix-bounce.in", "", MESSAGE_CONTENT_X400_REPORT},
        {"test-vectors/mixer/report/dsn-x400-returned.in", "", MESSAGE_CONTENT_X400_REPORT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len = 0;
        char *in = slurp(cases[k].file, &len);
        assert_non_null(in);
        struct run x;
        run(&x, "mixer-to-x400", MESSAGE_CONTENT_RFC5322, in, len, cases[k].originator, rcpts);
        free(in);
        if (x.rc)
            fail_msg("case %zu: %s", k, x.r.error);
        assert_non_null(x.r.content);
        assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
        assert_string_equal(x.r.rcpts[0].next_addr, "/C=GB/ADMD= /PRMD=Camelot/S=Boss/");
        if (cases[k].want == MESSAGE_CONTENT_X400_REPORT) {
            assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_REPORT);
            size_t cl = 0;
            const unsigned char *cd = content_data(x.r.content, &cl);
            struct mixer_report *rep = calloc(1, sizeof *rep);
            assert_non_null(rep);
            char why[200] = "";
            struct mg_buf ret;
            mg_buf_init(&ret, 0);
            if (mixer_report_from_ber(cd, cl, rep, &ret, why, sizeof why) != 0)
                fail_msg("the channel's report does not decode: %s", why);
            assert_int_equal(rep->rcpts[0].delivered, 0);
            assert_int_equal(rep->rcpts[0].reason, 1);
            /* the whole DSN went back as an IPM (RFC 2156 5.1.8.1): its text is in there */
            assert_true(rep->returned_len > 0);
            {
                /* and the report says which content type that IPM is (X.411 content-type, so
                 * that a P1 receiver and tshark can read it): the channel's P772 OID */
                static const uint8_t p772[] = {0x06, 0x08, 0x2b, 0x1a, 0x00, 0xa2,
                                               0x36, 0x00, 0x04, 0x01};
                struct mixer_tlv top, m;
                assert_int_equal(mixer_ber_read(cd, cl, &top), 0);
                int found = 0;
                for (size_t off = 0; off < top.vlen && !found; off += m.size) {
                    assert_int_equal(mixer_ber_read(top.v + off, top.vlen - off, &m), 0);
                    found = m.size == sizeof p772 && !memcmp(top.v + off, p772, sizeof p772);
                }
                if (!found)
                    fail_msg("case %zu: no content-type for the returned content", k);
            }
            {
                struct mg_buf dsn822;
                mg_buf_init(&dsn822, 0);
                struct mixer_gw g0;
                memset(&g0, 0, sizeof g0);
                snprintf(g0.domain, sizeof g0.domain, "x400.example");
                enum mixer_content kind0;
                assert_int_equal(
                    mixer_conv_content_kind(rep->returned, rep->returned_len, &kind0), 0);
                if (mixer_conv_to_822(&g0, kind0, rep->returned, rep->returned_len, &dsn822, why,
                                      sizeof why) != 0)
                    fail_msg("returned content does not convert back: %s", why);
                if (!strstr((const char *)dsn822.data, "Final-Recipient: "))
                    fail_msg("case %zu: %.*s", k, (int)dsn822.len, (const char *)dsn822.data);
                if (k == 3)
                    assert_non_null(strstr((const char *)dsn822.data, "Subject: plans"));
                mg_buf_free(&dsn822);
            }
            if (k == 2) {
                /* no X.400 envelope id: the gateway made the subject identifier up */
                assert_non_null(strstr(rep->subject_id, ";DSN."));
                assert_int_equal(rep->rcpts[0].diagnostic, 0); /* 5.1.1 */
            } else if (k == 0) {
                assert_string_equal(rep->subject_id, "[/C=DE/ADMD= /PRMD=Bund/;ABC.123]");
                assert_int_equal(rep->nrcpts, 1);
                assert_int_equal(rep->rcpts[0].diagnostic, 5); /* 5.4.7: maximum-time-expired */
                assert_string_equal(rep->rcpts[0].original_rcpt,
                                    "/C=DE/ADMD= /PRMD=Bund/S=Meyer/");
            } else {
                assert_string_equal(rep->subject_id, "[/C=DE/ADMD= /PRMD=Bund/;ABC.124]");
                assert_int_equal(rep->nrcpts, 2);
                assert_int_equal(rep->rcpts[0].diagnostic, 4); /* 5.2.2: recipient-unavailable */
                assert_int_equal(rep->rcpts[1].delivered, 1);
            }
            mg_buf_free(&ret);
            free(rep);
        } else {
            /* not an X.400 report: an ordinary IPM */
            assert_int_not_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_REPORT);
            assert_int_not_equal(content_type(x.r.content), MESSAGE_CONTENT_RFC5322);
        }
        run_free(&x);
    }
    /* dsn = "message": the DSN crosses as an ordinary IPM */
    size_t len = 0;
    char *in = slurp("test-vectors/mixer/report/dsn-x400-envid.in", &len);
    assert_non_null(in);
    struct run x;
    run_ex(&x, "mixer-to-x400", "dsn = \"message\";", MESSAGE_CONTENT_RFC5322, in, len, "",
           rcpts);
    free(in);
    assert_int_equal(x.rc, 0);
    assert_non_null(x.r.content);
    assert_int_not_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_REPORT);
    assert_int_not_equal(content_type(x.r.content), MESSAGE_CONTENT_RFC5322);
    run_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_conf),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_to_x400),
        cmocka_unit_test(test_to_smtp),
        cmocka_unit_test(test_dsn_params_to_x400),
        cmocka_unit_test(test_dsn_params_to_smtp),
        cmocka_unit_test(test_dsn_mixed_actions),
        cmocka_unit_test(test_priority_to_x400),
        cmocka_unit_test(test_route_or_mapped_by),
        cmocka_unit_test(test_preferred_gateways),
        cmocka_unit_test(test_precedence_to_smtp),
        cmocka_unit_test(test_loop_guard),
        cmocka_unit_test(test_date_from_arrival),
        cmocka_unit_test(test_conversion_failure),
        cmocka_unit_test(test_report_to_dsn),
        cmocka_unit_test(test_dsn_to_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
