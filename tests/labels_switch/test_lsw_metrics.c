/* Tests of the label decision counters (lsw_gate_metrics): every recipient's decision at the
 * delivery gate counts once in mixgate_label_decisions_total{channel,peer,decision}, read back
 * from the Prometheus exposition, on the example policy (etc/examples/labels/example-spif.xml). */
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
#include "content.h"
#include "lsw.h"
#include "metrics.h"
#include "mg_buf.h"
#include "mg_err.h"

static char SPIF[1024];

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    return !strcmp(name, "SPIF") ? SPIF : NULL;
}

#define CLEAR(classes)                                                                              \
    "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.3.6.1.4.1.99999.7'/>" classes \
    "</clearance>"

static const char CONF[] =
    "global = { hostname = \"t.test\"; var_dir = \"/tmp/lsw-metrics-unit\"; };\n"
    "listeners = ( { name = \"in\"; listen = \"127.0.0.1:1\"; } );\n"
    "peers = ( { name = \"p\"; type = \"smtp\"; host = \"127.0.0.1:9\"; } );\n"
    "channels = ( { name = \"out\"; type = \"smtp\"; } );\n"
    "routes = ( { default = true; chain = [ \"out\" ]; peer = \"p\"; } );\n"
    "labels = { spif = \"${SPIF}\";\n"
    "  clearances = ( { recipient = \"hi@x.test\"; clearance = \"" CLEAR("<classification lacv='1'/><classification lacv='4'/>") "\"; },\n"
    "                 { recipient = \"lo@x.test\"; clearance = \"" CLEAR("<classification lacv='1'/>") "\"; } );\n"
    "};\n";

static char *label_der(const struct lsw *l, int lacv, size_t *len)
{
    char x[300], err[600];
    snprintf(x, sizeof x, "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.3.6.1.4.1.99999.7'/>"
             "<classification lacv='%d'/></label>", lacv);
    unsigned char *der = NULL;
    assert_int_equal(lsw_label_from_text(l, x, &der, len, err, sizeof err), 0);
    return (char *)der;
}

static void gate(struct lsw_gate *g, const struct config *cfg, const unsigned char *label, size_t len,
                 const char *const *rcpts, size_t n)
{
    struct message *m = message_create();
    snprintf(m->id, sizeof m->id, "0000000000TEST");
    uint32_t idx[8];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(message_add_rcpt(m, rcpts[i], NULL, 0, NULL), 0);
        idx[i] = (uint32_t)i;
    }
    struct content *c = content_copy(MESSAGE_CONTENT_RFC5322, 0, "A: 1\r\n\r\nx\r\n", 11);
    struct channel_task t = { .cfg = cfg, .channel = config_find_channel(cfg, "out"), .msg = m, .content = c,
                              .nrcpts = n, .rcpts = idx, .rcpt_addrs = rcpts, .label = label, .label_len = len,
                              .peer = config_find_peer(cfg, "p") };
    struct channel_result r = { 0 };
    r.rcpts = calloc(n, sizeof *r.rcpts);
    assert_int_equal(lsw_gate_check(g, &t, &r), 0);
    channel_result_clear(&r, n);
    free(r.rcpts);
    content_unref(c);
    message_free(m);
}

/* The value of the series with exactly these labels ("" when absent). */
static double series(struct metrics *m, const char *labels)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(metrics_render(m, &b), 0);
    char want[256];
    snprintf(want, sizeof want, "mixgate_label_decisions_total{%s} ", labels);
    const char *text = b.data ? (const char *)b.data : "";
    const char *p = strstr(text, want);
    double v = p ? strtod(p + strlen(want), NULL) : -1;
    mg_buf_free(&b);
    return v;
}

static void decisions_counted(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = channels_config_load_text("m.conf", CONF, sizeof CONF - 1, env, NULL, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    struct lsw *l = NULL;
    assert_int_equal(lsw_load(cfg, &l, NULL), 0);
    struct metrics *m = NULL;
    assert_int_equal(metrics_create(&m), 0);
    struct lsw_gate *g = NULL;
    assert_int_equal(lsw_gate_create(&g, NULL), 0);
    assert_int_equal(lsw_gate_metrics(g, m), 0);
    /* before a configuration is synced: deferred, never allowed */
    size_t sl = 0, ul = 0;
    char *secret = label_der(l, 4, &sl), *uncl = label_der(l, 1, &ul);
    const char *const two[] = { "hi@x.test", "lo@x.test" };
    gate(g, cfg, (unsigned char *)secret, sl, two, 2);
    assert_true(series(m, "channel=\"out\",peer=\"p\",decision=\"deferred\"") == 2);
    assert_int_equal(lsw_gate_sync(g, cfg), 0);
    gate(g, cfg, (unsigned char *)secret, sl, two, 2);        /* hi allowed, lo denied */
    gate(g, cfg, (unsigned char *)uncl, ul, two, 2);          /* both allowed */
    const char *const three[] = { "nobody@x.test", "lo@x.test", "hi@x.test" };
    gate(g, cfg, (unsigned char *)"\x31\x05\x02", 3, three, 3); /* undecodable: every one denied */
    gate(g, cfg, NULL, 0, two, 1);                           /* unlabelled: denied (the default) */
    assert_true(series(m, "channel=\"out\",peer=\"p\",decision=\"allowed\"") == 3);
    assert_true(series(m, "channel=\"out\",peer=\"p\",decision=\"denied\"") == 5);
    assert_true(series(m, "channel=\"out\",peer=\"p\",decision=\"deferred\"") == 2);
    /* registered once: a second registration finds the same family */
    assert_int_equal(lsw_gate_metrics(g, m), 0);
    assert_true(series(m, "channel=\"out\",peer=\"p\",decision=\"allowed\"") == 3);
    free(secret);
    free(uncl);
    lsw_gate_free(g);
    metrics_free(m);
    lsw_free(l);
    config_free(cfg);
}

int main(void)
{
    const char *src = getenv("MIXGATE_SOURCE_DIR");
    snprintf(SPIF, sizeof SPIF, "%s/etc/examples/labels/example-spif.xml", src ? src : ".");
    const struct CMUnitTest t[] = { cmocka_unit_test(decisions_counted) };
    return cmocka_run_group_tests_name("lsw_metrics", t, NULL, NULL);
}
