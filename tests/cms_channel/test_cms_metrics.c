/* Tests of the cms channel's crypto counters (cms_chan_metrics.c): a channel instance
 * registered in a metrics registry through its kind's metrics hook counts what process() did,
 * read back from the registry's Prometheus exposition. Named cases, each a fresh registry: the
 * sending side (signed, encrypted), the receiving side (decrypted, verified), a tampered
 * signature (verify_failed and the bad_signature action), a message for a key not held here
 * (no_key), a recipient without a certificate (keyless: held, returned, clear), and an
 * instance without the hook's call, which counts nothing. */
#define _GNU_SOURCE /* memmem */
#include "cms_channel_test_util.h"
#include "metrics.h"

struct run {
    struct config *cfg;
    struct message *msg;
    struct content *content;
    struct channel_task t;
    struct channel_result r;
    uint32_t idx[4];
    const char *addrs[4];
};

/* process() of the channel `c` (configured by channel) on one group, counted in m (NULL: the
 * hook is not called). */
static void run_process(struct run *x, struct metrics *m, const char *channel,
                        const char *const *rcpts, const void *data, size_t len)
{
    memset(x, 0, sizeof *x);
    struct config_errors errs = { 0 };
    int rc = load(channel, &x->cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    const struct config_channel *ch = config_find_channel(x->cfg, "c");
    assert_non_null(ch->kind->metrics);
    if (m)
        assert_int_equal(ch->kind->metrics(ch->conf, m), 0);
    x->msg = message_create();
    assert_non_null(x->msg);
    assert_int_equal(message_set_originator(x->msg, "s@example.net"), 0);
    size_t n = 0;
    for (; rcpts[n]; n++) {
        assert_int_equal(message_add_rcpt(x->msg, rcpts[n], NULL, 0, NULL), 0);
        x->idx[n] = (uint32_t)n;
        x->addrs[n] = x->msg->rcpts[n].addr;
    }
    x->content = content_copy(MESSAGE_CONTENT_RFC5322, 0, data, len);
    x->t = (struct channel_task){ .cfg = x->cfg, .channel = ch, .msg = x->msg,
                                  .content = x->content, .originator = "s@example.net",
                                  .nrcpts = n, .rcpts = x->idx, .rcpt_addrs = x->addrs,
                                  .now = 1700000000 };
    x->r.rcpts = calloc(n, sizeof *x->r.rcpts);
    x->r.priority = -1;
    for (size_t i = 0; i < n; i++)
        channel_outcome_set(&x->r.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    assert_int_equal(ch->kind->process(ch->conf, &x->t, &x->r), 0);
}

static void run_free(struct run *x)
{
    channel_result_clear(&x->r, x->t.nrcpts);
    free(x->r.rcpts);
    content_unref(x->content);
    message_free(x->msg);
    config_free(x->cfg);
}

/* The value of the series name{labels}; 0 when absent (a counter never incremented). */
static double series(struct metrics *m, const char *name, const char *labels)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(metrics_render(m, &b), 0);
    char want[300];
    snprintf(want, sizeof want, "%s{%s} ", name, labels);
    const char *text = b.data ? (const char *)b.data : "";
    const char *p = strstr(text, want);
    double v = p ? strtod(p + strlen(want), NULL) : 0;
    mg_buf_free(&b);
    return v;
}

static double op(struct metrics *m, const char *what)
{
    char l[100];
    snprintf(l, sizeof l, "channel=\"c\",operation=\"%s\"", what);
    return series(m, "mixgate_cms_operations_total", l);
}

static double dec(struct metrics *m, const char *reason, const char *action)
{
    char l[150];
    snprintf(l, sizeof l, "channel=\"c\",reason=\"%s\",action=\"%s\"", reason, action);
    return series(m, "mixgate_cms_decisions_total", l);
}

static const char MSG[] = "From: s@example.net\r\nTo: x@example.org\r\nSubject: hello\r\n"
                          "Message-ID: <1@t>\r\n\r\nthe body\r\n";

/* Sender: alice signs and encrypts to carol (the peer gateway). */
#define SEND "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; " ID \
             " peer_cert = \"${PKI}/carol.pem\"; }"
/* Receiver holding carol's key (or alice's: no key for carol's messages). */
#define RECV(who, extra) "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\", \"strip\" ];" \
    " cert = \"${PKI}/" who ".pem\"; key = \"${PKI}/" who ".key\"; ca = \"${PKI}/ca.pem\"; " extra " }"

static const char *const ONE[] = { "x@example.org", NULL };

/* What the sender makes of MSG (caller frees). */
static unsigned char *protected_msg(size_t *len)
{
    struct run x;
    run_process(&x, NULL, SEND, ONE, MSG, sizeof MSG - 1);
    size_t n = 0;
    const unsigned char *d = content_data(x.r.content, &n);
    unsigned char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, d, n);
    out[n] = 0;
    *len = n;
    run_free(&x);
    return out;
}

static void t_sender_counts_signed_encrypted(void **state)
{
    (void)state;
    struct metrics *m = NULL;
    assert_int_equal(metrics_create(&m), 0);
    for (int i = 0; i < 2; i++) {
        struct run x;
        run_process(&x, m, SEND, ONE, MSG, sizeof MSG - 1);
        run_free(&x);
    }
    assert_true(op(m, "signed") == 2);
    assert_true(op(m, "encrypted") == 2);
    assert_true(op(m, "decrypted") == 0);
    metrics_free(m);
}

static void t_receiver_counts_decrypted_verified(void **state)
{
    (void)state;
    size_t len;
    unsigned char *p = protected_msg(&len);
    struct metrics *m = NULL;
    assert_int_equal(metrics_create(&m), 0);
    struct run x;
    run_process(&x, m, RECV("carol", ""), ONE, p, len);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    run_free(&x);
    assert_true(op(m, "decrypted") == 1);
    assert_true(op(m, "verified") == 1);
    assert_true(op(m, "verify_failed") == 0);
    assert_true(op(m, "signed") == 0);
    metrics_free(m);
    free(p);
}

static void t_bad_signature_counted_with_action(void **state)
{
    (void)state;
    /* a signed-only message from alice with its body changed */
    static const char *const modes[] = { "hold", "held", "return", "returned", "tag", "tagged" };
    for (size_t k = 0; k < 3; k++) {
        struct run s;
        run_process(&s, NULL, "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\" ]; "
                    "signature_form = \"opaque\"; " ID " }", ONE, MSG, sizeof MSG - 1);
        size_t n = 0;
        const unsigned char *d = content_data(s.r.content, &n);
        unsigned char *t = malloc(n);
        assert_non_null(t);
        memcpy(t, d, n);
        run_free(&s);
        /* one base64 character of the signed content, well inside the body */
        const unsigned char *b = memmem(t, n, "\r\n\r\n", 4);
        assert_non_null(b);
        unsigned char *at = (unsigned char *)b + 4 + 120;
        *at = *at == 'A' ? 'B' : 'A';
        struct metrics *m = NULL;
        assert_int_equal(metrics_create(&m), 0);
        char ch[600];
        snprintf(ch, sizeof ch, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", "
                 "\"verify\", \"strip\" ]; cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; "
                 "ca = \"${PKI}/ca.pem\"; bad_signature = \"%s\"; }", modes[2 * k]);
        struct run x;
        run_process(&x, m, ch, ONE, t, n);
        run_free(&x);
        free(t);
        if (op(m, "verify_failed") != 1 || dec(m, "bad_signature", modes[2 * k + 1]) != 1)
            fail_msg("bad_signature = %s: not counted as %s", modes[2 * k], modes[2 * k + 1]);
        assert_true(op(m, "verified") == 0);
        metrics_free(m);
    }
}

static void t_no_key_counted(void **state)
{
    (void)state;
    size_t len;
    unsigned char *p = protected_msg(&len);
    struct metrics *m = NULL;
    assert_int_equal(metrics_create(&m), 0);
    struct run x;
    run_process(&x, m, RECV("alice", "no_key = \"hold\";"), ONE, p, len);
    assert_int_equal(x.r.rcpts[0].outcome.action, CHANNEL_HELD);
    run_free(&x);
    assert_true(dec(m, "no_key", "held") == 1);
    assert_true(op(m, "decrypted") == 0);
    run_process(&x, m, RECV("alice", "no_key = \"pass\";"), ONE, p, len);
    run_free(&x);
    assert_true(dec(m, "no_key", "passed") == 1);
    metrics_free(m);
    free(p);
}

static void t_keyless_counted_per_mode(void **state)
{
    (void)state;
    static const struct {
        const char *mode, *action;
    } cases[] = { { "hold", "held" }, { "return", "returned" }, { "clear", "clear" } };
    static const char *const nobody[] = { "nobody@example.org", NULL };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ch[600];
        snprintf(ch, sizeof ch, "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; "
                 ID " store = \"${STORE}\"; no_certificate = \"%s\"; }", cases[i].mode);
        struct metrics *m = NULL;
        assert_int_equal(metrics_create(&m), 0);
        struct run x;
        run_process(&x, m, ch, nobody, MSG, sizeof MSG - 1);
        run_free(&x);
        if (dec(m, "keyless", cases[i].action) != 1)
            fail_msg("mode %s: keyless/%s not counted once", cases[i].mode, cases[i].action);
        assert_true(op(m, "encrypted") == 0);
        metrics_free(m);
    }
}

static void t_no_hook_no_counts(void **state)
{
    (void)state;
    struct metrics *m = NULL;
    assert_int_equal(metrics_create(&m), 0);
    struct run x;
    run_process(&x, NULL, SEND, ONE, MSG, sizeof MSG - 1);
    run_free(&x);
    assert_true(op(m, "signed") == 0);
    metrics_free(m);
}

int main(void)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(g_pki, sizeof g_pki, "%s/test-vectors/crypto", b ? b : ".");
    snprintf(g_store, sizeof g_store, "%s/cms_metrics_test.db", b ? b : ".");
    unlink(g_store);
    struct cert_store *s = NULL;
    char ca[700];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_pki);
    if (cert_store_open(&s, g_store, NULL) || cert_store_import_file(s, ca, NULL, 1, NULL) < 1) {
        fprintf(stderr, "cannot build the test store from %s (crypto.pki fixture?)\n", g_pki);
        cert_store_close(s);
        return 1;
    }
    cert_store_close(s);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sender_counts_signed_encrypted),
        cmocka_unit_test(t_receiver_counts_decrypted_verified),
        cmocka_unit_test(t_bad_signature_counted_with_action),
        cmocka_unit_test(t_no_key_counted),
        cmocka_unit_test(t_keyless_counted_per_mode),
        cmocka_unit_test(t_no_hook_no_counts),
    };
    int rc = cmocka_run_group_tests_name("cms_metrics", tests, NULL, NULL);
    unlink(g_store);
    return rc;
}
