/* Tests of the ESS EquivalentLabels attribute (RFC 2634 section 3.4) in the cms channel's own
 * signatures: named cases, each a channel configuration (fixed labels from files and/or the
 * label before the shaper's conversion), the message's label and the group's (the shaper's
 * output), and the labels every signature must carry, read back from the signed result by our
 * own parser (cms_unwrap for the attributes, lbl_ess_decode_equivalent for their content) and
 * by `openssl cms -cmsout -print` for the sign-only cases. */
#include "cms_channel_test_util.h"
#include "lbl_ber.h"

#include <sys/stat.h>

/* ESSSecurityLabel { classification N, policy 2.999.P (the example arc: no tool gives it a
 * name, so openssl prints it dotted) } in DER (canonical: INTEGER first) */
#define LBL(cls, pol) { 0x31, 0x08, 0x02, 0x01, cls, 0x06, 0x03, 0x88, 0x37, pol }
static const unsigned char L_ORIG[] = LBL(2, 1);   /* the message's label as it came in */
static const unsigned char L_SHAPED[] = LBL(3, 2); /* the shaper's output */
static const unsigned char L_CONF[] = LBL(4, 3);   /* a fixed equivalent from the configuration */
/* the same label as L_ORIG written in the wrong SET order: canonicalised before it is signed */
static const unsigned char L_ORIG_UNSORTED[] = { 0x31, 0x08, 0x06, 0x03, 0x88, 0x37, 0x01,
                                                 0x02, 0x01, 0x02 };

static char g_dir[600];

static const char *eq_env(void *ctx, const char *name)
{
    if (!strcmp(name, "EQ"))
        return g_dir;
    return env_fn(ctx, name);
}

/* One expected signature: its label's policy arc (0 = no label) and its equivalents' arcs. */
struct want_sig {
    int label;
    int equiv[4];      /* policy arcs in order, 0-terminated; {0} = no attribute */
};

struct eq_case {
    const char *name;
    const char *opts;              /* the channel's options after its identity */
    bool triple;
    const unsigned char *msg_label; size_t msg_label_len;
    const unsigned char *grp_label; size_t grp_label_len; /* NULL = no shaper ran */
    struct want_sig inner, outer;  /* outer only for triple */
    const char *audit_reason;      /* a substring of the equivalent-labels-signed record, or NULL
                                      when there must be none */
};

#define B(x) x, sizeof x

static const struct eq_case cases[] = {
    { "configured_label_in_signature", "equivalent_labels = \"${EQ}/conf.der\";", false,
      B(L_ORIG), NULL, 0, { 1, { 3 } }, { 0, { 0 } }, "1 equivalent label(s) (1 from the configuration" },
    { "shaper_output_signed_original_equivalent", "equivalent_labels_from_shaper = true;", false,
      B(L_ORIG), B(L_SHAPED), { 2, { 1 } }, { 0, { 0 } }, "0 from the configuration, 1 from the shaper" },
    { "both_sources", "equivalent_labels = [ \"${EQ}/conf.der\" ]; equivalent_labels_from_shaper = true;",
      false, B(L_ORIG), B(L_SHAPED), { 2, { 3, 1 } }, { 0, { 0 } }, "2 equivalent label(s)" },
    { "no_conversion_no_attribute", "equivalent_labels_from_shaper = true;", false,
      B(L_ORIG), B(L_ORIG_UNSORTED), { 1, { 0 } }, { 0, { 0 } }, NULL },
    { "configured_same_as_own_label_skipped", "equivalent_labels = \"${EQ}/orig.der\";", false,
      B(L_ORIG), NULL, 0, { 1, { 0 } }, { 0, { 0 } }, NULL },
    { "no_option_no_attribute", "", false, B(L_ORIG), B(L_SHAPED), { 2, { 0 } }, { 0, { 0 } }, NULL },
    { "triple_wrap_inner_original_outer_shaped", "equivalent_labels_from_shaper = true;"
      " peer_cert = \"${PKI}/carol.pem\";", true, B(L_ORIG), B(L_SHAPED), { 1, { 2 } }, { 2, { 1 } },
      "outer signature: 1 equivalent label(s)" },
};

static void write_file(const char *name, const unsigned char *d, size_t n)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static int policy_arc(const char *oid)
{
    const char *dot = strrchr(oid, '.');
    return strncmp(oid, "2.999.", 6) || !dot ? -1 : atoi(dot + 1);
}

/* The layer's attributes as the case wants them, read with our own parsers. */
static void check_sig(const char *what, const struct cms_layer *l, const struct want_sig *w)
{
    struct lbl_err err;
    memset(&err, 0, sizeof err);
    if (w->label) {
        struct lbl_label lab;
        memset(&lab, 0, sizeof lab);
        assert_non_null(l->label);
        assert_int_equal(lbl_ess_decode(l->label, l->label_len, &lab, &err), 0);
        if (policy_arc(lab.policy) != w->label)
            fail_msg("%s: label policy %s", what, lab.policy);
        lbl_label_free(&lab);
    }
    if (!w->equiv[0]) {
        if (l->equiv)
            fail_msg("%s: an EquivalentLabels attribute where none belongs", what);
        return;
    }
    if (!l->equiv)
        fail_msg("%s: no EquivalentLabels attribute", what);
    struct lbl_label *eq = NULL;
    size_t n = 0;
    if (lbl_ess_decode_equivalent(l->equiv, l->equiv_len, &eq, &n, &err))
        fail_msg("%s: EquivalentLabels does not decode: %s", what, err.msg);
    size_t want = 0;
    while (want < 4 && w->equiv[want])
        want++;
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        if (policy_arc(eq[i].policy) != w->equiv[i])
            fail_msg("%s: equivalent %zu has policy %s", what, i, eq[i].policy);
        assert_true(eq[i].has_class);
        lbl_label_free(&eq[i]);
    }
    free(eq);
}

/* `openssl cms -cmsout -print` of the S/MIME result: it parses, and names the attribute and
 * every equivalent's policy. */
static void check_openssl(const struct eq_case *c, const unsigned char *d, size_t len)
{
    char in[700], cmd[1600];
    snprintf(in, sizeof in, "%s/%s.eml", g_dir, c->name);
    write_file(strrchr(in, '/') + 1, d, len);
    snprintf(cmd, sizeof cmd, "openssl cms -cmsout -print -in '%s' 2>&1", in);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    if (st != 0)
        fail_msg("openssl cms -cmsout -print failed: %.500s", out);
    bool named = strstr(out, "id-smime-aa-equivalentLabels") || strstr(out, "1.2.840.113549.1.9.16.2.9");
    assert_int_equal(named, c->inner.equiv[0] != 0);
    for (int i = 0; i < 4 && c->inner.equiv[i]; i++) {
        char oid[40];
        snprintf(oid, sizeof oid, "2.999.%d", c->inner.equiv[i]);
        if (!strstr(out, oid))
            fail_msg("openssl does not show the equivalent label's policy %s", oid);
    }
}

static void run_case(void **state)
{
    const struct eq_case *c = *state;
    char text[4096], chan[1200];
    snprintf(chan, sizeof chan, "{ name = \"c\"; type = \"cms\"; operations = \"%s\"; " ID " %s }",
             c->triple ? "triple-wrap" : "sign", c->opts);
    snprintf(text, sizeof text,
             "global = { hostname = \"t\"; var_dir = \"/tmp\"; }; listeners = ( { name = \"s\";"
             " listen = \"127.0.0.1:1\"; } );\n"
             "channels = (\n%s,\n{ name = \"f\"; type = \"file\"; directory = \"/tmp/none\"; }\n);\n"
             "routes = ( { default = true; chain = [ \"c\", \"f\" ]; } );\n", chan);
    struct config_load_opts o = { .kinds = kinds, .env = eq_env };
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = config_load_text_ex("t.conf", text, strlen(text), &o, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    static const char MSG[] = "From: s@example.net\r\nTo: u@b.example\r\nSubject: eq\r\n\r\nbody\r\n";
    struct message *msg = message_create();
    assert_non_null(msg);
    assert_int_equal(message_set_originator(msg, "s@example.net"), 0);
    assert_int_equal(message_set_label(msg, c->msg_label, c->msg_label_len), 0);
    assert_int_equal(message_add_rcpt(msg, "u@b.example", NULL, 0, NULL), 0);
    uint32_t idx = 0;
    const char *addr = msg->rcpts[0].addr;
    struct content *content = content_copy(MESSAGE_CONTENT_RFC5322, 0, MSG, sizeof MSG - 1);
    const struct config_channel *ch = config_find_channel(cfg, "c");
    struct channel_task t = { .cfg = cfg, .channel = ch, .msg = msg, .content = content,
                              .originator = "s@example.net", .nrcpts = 1, .rcpts = &idx,
                              .rcpt_addrs = &addr, .now = 1700000000,
                              .label = c->grp_label ? c->grp_label : c->msg_label,
                              .label_len = c->grp_label ? c->grp_label_len : c->msg_label_len };
    struct channel_result r = { .priority = -1 };
    r.rcpts = calloc(1, sizeof *r.rcpts);
    channel_outcome_set(&r.rcpts[0].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    assert_int_equal(ch->kind->process(ch->conf, &t, &r), 0);
    assert_non_null(r.content);
    /* the audit record of the decision */
    const struct channel_audit *rec = NULL;
    for (size_t i = 0; i < r.naudit; i++)
        if (!strcmp(r.audit[i].decision, "equivalent-labels-signed") &&
            (!rec || (c->audit_reason && strstr(r.audit[i].reason, c->audit_reason))))
            rec = &r.audit[i];
    if (c->audit_reason) {
        assert_non_null(rec);
        if (!strstr(rec->reason, c->audit_reason))
            fail_msg("audit reason \"%s\" lacks \"%s\"", rec->reason, c->audit_reason);
        assert_string_equal(rec->subject_kind, "label");
    } else {
        assert_null(rec);
    }
    /* read back: carol's key opens the triple wrap; the anchors verify both signatures */
    size_t len = 0;
    const unsigned char *d = content_data(r.content, &len);
    char cp[700], kp[700], cap[700];
    snprintf(cp, sizeof cp, "%s/carol.pem", g_pki);
    snprintf(kp, sizeof kp, "%s/carol.key", g_pki);
    snprintf(cap, sizeof cap, "%s/ca.pem", g_pki);
    X509 *cert = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    struct cms_policy *p = NULL;
    assert_int_equal(cms_keys_load_cert(cp, &cert), 0);
    assert_int_equal(cms_keys_load_cert(cap, &ca), 0);
    assert_int_equal(cms_keys_load_key(kp, NULL, &key), 0);
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_add_key(p, cert, key), 0);
    assert_int_equal(cms_policy_add_anchor(p, ca), 0);
    struct cms_result res;
    assert_int_equal(cms_unwrap(p, d, len, &res), 0);
    const struct cms_layer *sig[2] = { NULL, NULL }; /* outermost first */
    size_t ns = 0;
    for (int i = 0; i < res.nlayers; i++)
        if (res.layers[i].kind == CMS_KIND_SIGNED && ns < 2) {
            assert_int_equal(res.layers[i].status, 0);
            sig[ns++] = &res.layers[i];
        }
    assert_int_equal(ns, c->triple ? 2 : 1);
    if (c->triple) {
        check_sig("outer", sig[0], &c->outer);
        check_sig("inner", sig[1], &c->inner);
    } else {
        check_sig("signature", sig[0], &c->inner);
        check_openssl(c, d, len);
    }
    cms_result_free(&res);
    cms_policy_free(p);
    EVP_PKEY_free(key);
    X509_free(cert);
    X509_free(ca);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    content_unref(content);
    message_free(msg);
    config_free(cfg);
}

int main(void)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(g_pki, sizeof g_pki, "%s/test-vectors/crypto", b ? b : ".");
    snprintf(g_dir, sizeof g_dir, "%s/test-cms-equiv.%ld", b ? b : ".", (long)getpid());
    if (mkdir(g_dir, 0700) != 0) {
        perror(g_dir);
        return 1;
    }
    (void)load; /* the shared loader: this test loads with its own ${EQ} variable */
    write_file("conf.der", L_CONF, sizeof L_CONF);
    write_file("orig.der", L_ORIG_UNSORTED, sizeof L_ORIG_UNSORTED);
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tests[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
    int rc = _cmocka_run_group_tests("cms_equiv", tests, sizeof tests / sizeof tests[0], NULL, NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (getenv("KEEP_EQ") ? 0 : system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", g_dir);
    return rc;
}
