/* Tests of the cms channel kind's process() on groups made here: per-recipient certificates (a
 * recipient with another certificate than the group's first is regrouped), keyless hold /
 * return / clear, a peer certificate for all, a binary (P772-style DER) triple wrap opened again
 * by the receiving side, a damaged S/MIME message held with the reason, revocation refresh,
 * re-signing, labels, selections, and the audit records of each decision. The options' errors:
 * test_cms_channel_cfg.c. */
#define _GNU_SOURCE /* memmem */
#include "cms_channel_test_util.h"

/* ---- process() -------------------------------------------------------------------------- */

struct run {
    struct config *cfg;
    struct message *msg;
    struct content *content;
    struct channel_task t;
    struct channel_result r;
    uint32_t idx[8];
    const char *addrs[8];
    int rc;
};

/* A label run_process gives the next message's envelope (then cleared). */
static const unsigned char *g_next_label;
static size_t g_next_label_len;
/* The X.400 content type the next run's content version says (then cleared). */
static const char *g_next_oid;

static const char MSG[] = "From: s@example.net\r\nTo: x@example.org\r\nSubject: hello\r\n"
                          "Message-ID: <1@t>\r\n\r\nthe body\r\n";

static void run_process(struct run *x, const char *channel, const char *const *rcpts,
                        enum message_content_type type, const void *data, size_t len)
{
    memset(x, 0, sizeof *x);
    struct config_errors errs = { 0 };
    int rc = load(channel, &x->cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_message("%s\n", errs.v[i].text);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    x->msg = message_create();
    assert_non_null(x->msg);
    assert_int_equal(message_set_originator(x->msg, "s@example.net"), 0);
    if (g_next_label) {
        assert_int_equal(message_set_label(x->msg, g_next_label, g_next_label_len), 0);
        g_next_label = NULL;
    }
    size_t n = 0;
    for (; rcpts[n]; n++) {
        assert_int_equal(message_add_rcpt(x->msg, rcpts[n], NULL, 0, NULL), 0);
        x->idx[n] = (uint32_t)n;
    }
    for (size_t i = 0; i < n; i++)
        x->addrs[i] = x->msg->rcpts[i].addr;
    x->content = content_copy(type, 0, data, len);
    assert_non_null(x->content);
    assert_int_equal(content_set_oid(x->content, g_next_oid), 0);
    g_next_oid = NULL;
    const struct config_channel *ch = config_find_channel(x->cfg, "c");
    x->t = (struct channel_task){ .cfg = x->cfg, .channel = ch, .msg = x->msg,
                                  .content = x->content, .originator = "s@example.net",
                                  .nrcpts = n, .rcpts = x->idx, .rcpt_addrs = x->addrs,
                                  .now = 1700000000 };
    x->r.rcpts = calloc(n, sizeof *x->r.rcpts);
    x->r.priority = -1;
    for (size_t i = 0; i < n; i++)
        channel_outcome_set(&x->r.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    x->rc = ch->kind->process(ch->conf, &x->t, &x->r);
}

/* The same group again through the same configuration (its run-time state kept) at now. */
static void rerun(struct run *x, int64_t now)
{
    channel_result_clear(&x->r, x->t.nrcpts);
    memset(x->r.rcpts, 0, x->t.nrcpts * sizeof *x->r.rcpts);
    x->r.priority = -1;
    for (size_t i = 0; i < x->t.nrcpts; i++)
        channel_outcome_set(&x->r.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    x->t.now = now;
    x->rc = x->t.channel->kind->process(x->t.channel->conf, &x->t, &x->r);
}

static void run_free(struct run *x)
{
    channel_result_clear(&x->r, x->t.nrcpts);
    free(x->r.rcpts);
    content_unref(x->content);
    message_free(x->msg);
    config_free(x->cfg);
}

static enum channel_action act(const struct run *x, size_t i)
{
    return x->r.rcpts[i].outcome.action;
}

static int has_audit(const struct run *x, int rcpt, const char *decision)
{
    for (size_t i = 0; i < x->r.naudit; i++)
        if (x->r.audit[i].rcpt == rcpt && !strcmp(x->r.audit[i].decision, decision))
            return 1;
    return 0;
}

/* Opens out with key/cert of name (a PKI base name); returns the cleartext (caller frees). */
static char *open_with(const struct run *x, const char *name, int *rc)
{
    char cp[700], kp[700];
    snprintf(cp, sizeof cp, "%s/%s.pem", g_pki, name);
    snprintf(kp, sizeof kp, "%s/%s.key", g_pki, name);
    X509 *cert = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    struct cms_policy *p = NULL;
    char cap[700];
    snprintf(cap, sizeof cap, "%s/ca.pem", g_pki);
    assert_int_equal(cms_keys_load_cert(cp, &cert), 0);
    assert_int_equal(cms_keys_load_cert(cap, &ca), 0);
    assert_int_equal(cms_keys_load_key(kp, NULL, &key), 0);
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_add_key(p, cert, key), 0);
    assert_int_equal(cms_policy_add_anchor(p, ca), 0);
    size_t len = 0;
    const unsigned char *d = content_data(x->r.content, &len);
    struct cms_result res;
    *rc = cms_unwrap(p, d, len, &res);
    char *out = NULL;
    if (*rc == 0) {
        out = calloc(1, res.len + 1);
        memcpy(out, res.data, res.len);
    }
    cms_result_free(&res);
    cms_policy_free(p);
    EVP_PKEY_free(key);
    X509_free(cert);
    X509_free(ca);
    return out;
}

#define STORE_OUT(extra) "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; " ID \
    " store = \"${STORE}\"; " extra " }"

static void t_regroup_by_certificate(void **state)
{
    (void)state;
    struct run x;
    const char *const rcpts[] = { "bob@example.org", "carol@example.org", "BOB@example.org", NULL };
    run_process(&x, STORE_OUT(""), rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_int_equal(act(&x, 1), CHANNEL_REGROUP);
    assert_true(has_audit(&x, 0, "encrypted"));
    assert_false(has_audit(&x, 1, "encrypted"));
    assert_true(has_audit(&x, -1, "signed"));
    assert_non_null(x.r.content);
    int rc;
    char *clear = open_with(&x, "bob", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(clear, "the body"));
    free(clear);
    assert_null(open_with(&x, "carol", &rc));
    assert_int_equal(rc, MG_ENOKEY);
    run_free(&x);
}

static void t_keyless_hold_and_return(void **state)
{
    (void)state;
    static const char *const modes[] = { "hold", "return" };
    for (int m = 0; m < 2; m++) {
        char ch[1024];
        char extra[64];
        snprintf(extra, sizeof extra, "no_certificate = \"%s\";", modes[m]);
        snprintf(ch, sizeof ch, STORE_OUT("%s"), extra);
        struct run x;
        const char *const rcpts[] = { "nobody@example.org", "bob@example.org", NULL };
        run_process(&x, ch, rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
        assert_int_equal(x.rc, 0);
        if (m == 0) {
            /* held beside one who continues with bob's encryption: decided again alone, so
             * that what it keeps (and runs again on release) is not bob's content */
            assert_int_equal(act(&x, 0), CHANNEL_REGROUP);
            assert_false(has_audit(&x, 0, "no-certificate"));
        } else {
            assert_int_equal(act(&x, 0), CHANNEL_FAILED);
            assert_non_null(strstr(x.r.rcpts[0].outcome.text, "no usable certificate for nobody@example.org"));
            assert_true(has_audit(&x, 0, "no-certificate"));
        }
        assert_int_equal(act(&x, 1), CHANNEL_CONTINUE);
        assert_true(has_audit(&x, 1, "encrypted"));
        size_t len;
        const unsigned char *d = content_data(x.r.content, &len);
        assert_null(memmem(d, len, "the body", 8));
        run_free(&x);
    }
    /* alone: held, with the content as it came */
    struct run y;
    const char *const alone[] = { "nobody@example.org", NULL };
    run_process(&y, STORE_OUT("no_certificate = \"hold\";"), alone, MESSAGE_CONTENT_RFC5322, MSG,
                sizeof MSG - 1);
    assert_int_equal(y.rc, 0);
    assert_int_equal(act(&y, 0), CHANNEL_HELD);
    assert_non_null(strstr(y.r.rcpts[0].outcome.text, "no usable certificate for nobody@example.org"));
    assert_true(has_audit(&y, 0, "no-certificate"));
    assert_null(y.r.content);
    run_free(&y);
}

static void t_keyword_kept_for_held(void **state)
{
    (void)state;
    /* the Subject keyword asked for encryption and there is no certificate: held with the
     * keyword still there, so a release runs the stage again and encrypts (never clear) */
    static const char kw[] = "From: s@example.net\r\nTo: x@example.org\r\nSubject: [secure] plan\r\n"
                             "\r\nthe body\r\n";
    struct run x;
    const char *const rcpts[] = { "nobody@example.org", NULL };
    run_process(&x, STORE_OUT("encrypt = \"subject-keyword\"; subject_keyword = \"[secure]\";"), rcpts,
                MESSAGE_CONTENT_RFC5322, kw, sizeof kw - 1);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_HELD);
    assert_null(x.r.content);
    run_free(&x);
    /* with bob beside it: bob gets the encrypted message without the keyword, nobody is
     * decided again alone (and then held as above) */
    const char *const two[] = { "bob@example.org", "nobody@example.org", NULL };
    run_process(&x, STORE_OUT("encrypt = \"subject-keyword\"; subject_keyword = \"[secure]\";"), two,
                MESSAGE_CONTENT_RFC5322, kw, sizeof kw - 1);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_int_equal(act(&x, 1), CHANNEL_REGROUP);
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    assert_non_null(memmem(d, len, "Subject: plan\r\n", 15));
    assert_null(memmem(d, len, "the body", 8));
    run_free(&x);
}

static void t_keyless_clear_regroups(void **state)
{
    (void)state;
    struct run x;
    const char *const rcpts[] = { "nobody@example.org", "bob@example.org", "other@example.org", NULL };
    run_process(&x, STORE_OUT("no_certificate = \"clear\";"), rcpts, MESSAGE_CONTENT_RFC5322, MSG,
                sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    /* the group's first goes in clear (signed); bob needs encryption: another result */
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_int_equal(act(&x, 1), CHANNEL_REGROUP);
    assert_int_equal(act(&x, 2), CHANNEL_CONTINUE);
    assert_true(has_audit(&x, 0, "sent-in-clear"));
    assert_true(has_audit(&x, 2, "sent-in-clear"));
    assert_false(has_audit(&x, 1, "sent-in-clear"));
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    assert_non_null(memmem(d, len, "the body", 8));
    assert_non_null(memmem(d, len, "multipart/signed", 16));
    run_free(&x);
}

static void t_der_triple_wrap_round_trip(void **state)
{
    (void)state;
    static const unsigned char p772[] = { 0x30, 0x06, 0x04, 0x04, 'p', '7', '7', '2' };
    struct run x;
    const char *const rcpts[] = { "u@b.example", "v@b.example", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"triple-wrap\"; " ID
                    " peer_cert = \"${PKI}/carol.pem\"; cipher = \"aes256-gcm\"; }",
                rcpts, MESSAGE_CONTENT_X400_P22, p772, sizeof p772);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_int_equal(act(&x, 1), CHANNEL_CONTINUE);
    assert_true(has_audit(&x, 0, "encrypted") && has_audit(&x, 1, "encrypted"));
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    assert_true(cms_wrap_is_der(d, len));
    assert_int_equal(content_type(x.r.content), MESSAGE_CONTENT_X400_P22);
    /* the new version is a ContentInfo: P1 names it id-ct-contentInfo (RFC 3855) */
    assert_non_null(x.r.content_oid);
    assert_string_equal(x.r.content_oid, "1.2.840.113549.1.9.16.1.6");

    /* the receiving gateway's channel opens all three layers */
    struct run y;
    const char *const r2[] = { "u@b.example", NULL };
    run_process(&y, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\", \"strip\" ];"
                    " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; ca = \"${PKI}/ca.pem\"; }",
                r2, MESSAGE_CONTENT_X400_P22, d, len);
    assert_int_equal(y.rc, 0);
    size_t l2;
    const unsigned char *d2 = content_data(y.r.content, &l2);
    assert_int_equal(l2, sizeof p772);
    assert_memory_equal(d2, p772, sizeof p772);
    assert_true(has_audit(&y, -1, "decrypted"));
    int verified = 0;
    for (size_t i = 0; i < y.r.naudit; i++)
        verified += !strcmp(y.r.audit[i].decision, "signature-verified") &&
                    !strcmp(y.r.audit[i].subject_kind, "cert") && y.r.audit[i].subject_len > 0;
    assert_int_equal(verified, 2); /* inner and outer signature */
    /* the content had no X.400 type (id-data inside): the opened version says none */
    assert_null(y.r.content_oid);
    run_free(&y);
    run_free(&x);
}

/* Without strip, the receiving gateway opens the outer signature and the envelope of a DER
 * triple wrap and keeps the inner (originator's) signature on the P772 content, as it does for
 * MIME: the version is the inner SignedData as encoded, typed id-ct-contentInfo for P1. */
static void t_der_triple_wrap_kept_signature(void **state)
{
    (void)state;
    static const unsigned char p772[] = { 0x30, 0x06, 0x04, 0x04, 'p', '7', '7', '2' };
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    g_next_oid = "1.3.26.0.4406.0.4.1";
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"triple-wrap\"; " ID
                    " peer_cert = \"${PKI}/carol.pem\"; }",
                rcpts, MESSAGE_CONTENT_X400_P22, p772, sizeof p772);
    assert_int_equal(x.rc, 0);
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    struct run y;
    g_next_oid = x.r.content_oid;
    run_process(&y, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\" ];"
                    " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; ca = \"${PKI}/ca.pem\"; }",
                rcpts, MESSAGE_CONTENT_X400_P22, d, len);
    assert_int_equal(y.rc, 0);
    assert_int_equal(act(&y, 0), CHANNEL_CONTINUE);
    assert_true(has_audit(&y, -1, "decrypted"));
    assert_true(has_audit(&y, -1, "x400-signature-kept"));
    assert_false(has_audit(&y, -1, "x400-content-restored"));
    int verified = 0;
    for (size_t i = 0; i < y.r.naudit; i++)
        verified += !strcmp(y.r.audit[i].decision, "signature-verified");
    assert_int_equal(verified, 2); /* the outer one (removed) and the inner one (kept) */
    size_t l2;
    const unsigned char *d2 = content_data(y.r.content, &l2);
    assert_true(cms_wrap_is_der(d2, l2));
    assert_true(l2 > sizeof p772);
    assert_non_null(y.r.content_oid);
    assert_string_equal(y.r.content_oid, "1.2.840.113549.1.9.16.1.6");
    /* what the recipient gets: alice's signature alone, over the P772 content */
    char ca[700];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_pki);
    X509 *anchor = NULL;
    assert_int_equal(cms_keys_load_cert(ca, &anchor), 0);
    struct cms_policy *p = NULL;
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_add_anchor(p, anchor), 0);
    struct cms_result u;
    assert_int_equal(cms_unwrap(p, d2, l2, &u), 0);
    assert_int_equal(u.nlayers, 1);
    assert_int_equal(u.layers[0].kind, CMS_KIND_SIGNED);
    assert_non_null(strstr(u.layers[0].signer, "CN=alice"));
    assert_string_equal(u.layers[0].content_type, "1.3.26.0.4406.0.4.1");
    assert_int_equal(u.len, sizeof p772);
    assert_memory_equal(u.data, p772, sizeof p772);
    assert_false(u.kept_signature);
    cms_result_free(&u);
    cms_policy_free(p);
    X509_free(anchor);
    run_free(&y);
    run_free(&x);
}

/* A content version that says its X.400 type (P772 here, whatever its bytes look like) is
 * wrapped with that type innermost (RFC 3854), and the gateway that opens it gives the opened
 * version that type again: the P1 envelope names P772, not a guess from the heading. */
static void t_der_typed_version_keeps_its_type(void **state)
{
    (void)state;
    static const unsigned char ipm[] = { 0x30, 0x05, 0x04, 0x03, 'i', 'p', 'm' };
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    g_next_oid = "1.3.26.0.4406.0.4.1";
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"triple-wrap\"; " ID
                    " peer_cert = \"${PKI}/carol.pem\"; cipher = \"aes256-gcm\"; }",
                rcpts, MESSAGE_CONTENT_X400_P22, ipm, sizeof ipm);
    assert_int_equal(x.rc, 0);
    assert_string_equal(x.r.content_oid, "1.2.840.113549.1.9.16.1.6");
    assert_true(has_audit(&x, -1, "x400-content-protected"));
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    struct run y;
    g_next_oid = x.r.content_oid;
    run_process(&y, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\", \"strip\" ];"
                    " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; ca = \"${PKI}/ca.pem\"; }",
                rcpts, MESSAGE_CONTENT_X400_P22, d, len);
    assert_int_equal(y.rc, 0);
    size_t l2;
    const unsigned char *d2 = content_data(y.r.content, &l2);
    assert_int_equal(l2, sizeof ipm);
    assert_memory_equal(d2, ipm, sizeof ipm);
    assert_true(has_audit(&y, -1, "x400-content-restored"));
    assert_non_null(y.r.content_oid);
    assert_string_equal(y.r.content_oid, "1.3.26.0.4406.0.4.1");
    run_free(&y);
    run_free(&x);
}

static void t_damaged_smime_held(void **state)
{
    (void)state;
    static const char bad[] = "From: a@b\r\nTo: c@d\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
                              "Content-Transfer-Encoding: base64\r\n\r\nMIIBnotreallycms==\r\n";
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\" ]; " ID " }",
                rcpts, MESSAGE_CONTENT_RFC5322, bad, sizeof bad - 1);
    assert_true(x.rc < 0);
    assert_non_null(strstr(x.r.error, "cannot open the protected message"));
    assert_null(x.r.content);
    run_free(&x);
}

static void t_peer_cert_all_recipients_one_result(void **state)
{
    (void)state;
    struct run x;
    const char *const rcpts[] = { "a@b.example", "b@b.example", "c@b.example", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; " ID
                    " peer_cert = \"${PKI}/carol.pem\"; encrypt = \"recipients\";"
                    " encrypt_recipients = [ \"a@*\", \"c@*\" ]; no_certificate = \"hold\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    /* b@ is not selected for encryption: it gets its own (signed, clear) result */
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_int_equal(act(&x, 1), CHANNEL_REGROUP);
    assert_int_equal(act(&x, 2), CHANNEL_CONTINUE);
    int rc;
    char *clear = open_with(&x, "carol", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(clear, "the body"));
    free(clear);
    run_free(&x);
}

static void t_revocation_refresh_on_schedule(void **state)
{
    (void)state;
    /* the store learns a CRL after the channel was configured: the next scheduled refresh (on
     * the pool, inside process) loads it and the revoked certificate is refused from then on */
    struct run x;
    const char *const rcpts[] = { "revoked@example.org", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; ca = \"${PKI}/ca.pem\";"
                    " store = \"${STORE2}\"; refresh = \"1h\"; refresh_timeout = \"2s\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE); /* no CRL known, fail-open */
    assert_true(has_audit(&x, 0, "encrypted"));
    struct cert_store *s = NULL;
    char crl[700];
    snprintf(crl, sizeof crl, "%s/ca.crl", g_pki);
    assert_int_equal(cert_store_open(&s, g_store2, NULL), 0);
    assert_int_equal(cert_store_import_file(s, crl, NULL, 0, NULL), 1);
    cert_store_close(s);
    rerun(&x, x.t.now + 60); /* not due yet: the policy in use stays */
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    rerun(&x, x.t.now + 3600);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_HELD);
    assert_non_null(strstr(x.r.rcpts[0].outcome.text, "revoked"));
    assert_true(has_audit(&x, 0, "no-certificate"));
    run_free(&x);
}

static void unlink_db(const char *path)
{
    char f[700];
    unlink(path);
    snprintf(f, sizeof f, "%s-wal", path);
    unlink(f);
    snprintf(f, sizeof f, "%s-shm", path);
    unlink(f);
}

static void t_header_changed_resigned(void **state)
{
    (void)state;
    /* alice signs with header protection; upstream (a shaper) then changes the Subject: the
     * channel drops the stale signature and signs again as the MTA (carol), new Subject kept */
    char cp[700], kp[700], cap[700];
    snprintf(cp, sizeof cp, "%s/alice.pem", g_pki);
    snprintf(kp, sizeof kp, "%s/alice.key", g_pki);
    snprintf(cap, sizeof cap, "%s/ca.pem", g_pki);
    X509 *cert = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    struct cms_policy *p = NULL;
    assert_int_equal(cms_keys_load_cert(cp, &cert), 0);
    assert_int_equal(cms_keys_load_cert(cap, &ca), 0);
    assert_int_equal(cms_keys_load_key(kp, NULL, &key), 0);
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_set_signer(p, CMS_LAYER_INNER, cert, key, NULL), 0);
    assert_int_equal(cms_policy_add_anchor(p, ca), 0);
    cms_policy_set_header_protection(p, 1);
    struct cms_result w;
    assert_int_equal(cms_wrap(p, CMS_OP_SIGN, CMS_FORMAT_MIME, (const unsigned char *)MSG,
                              sizeof MSG - 1, &w), 0);
    char *m = calloc(1, w.len + 64);
    assert_non_null(m);
    memcpy(m, w.data, w.len);
    char *subj = strstr(m, "Subject: hello");
    assert_non_null(subj);
    memcpy(subj, "Subject: HELLO", 14); /* same length: changed upstream */
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = [ \"verify\", \"sign\" ];"
                    " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; ca = \"${PKI}/ca.pem\";"
                    " bad_signature = \"hold\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, m, w.len);
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    assert_true(has_audit(&x, -1, "header-mismatch"));
    assert_true(has_audit(&x, -1, "signed"));
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    struct cms_result u;
    assert_int_equal(cms_unwrap(p, d, len, &u), 0);
    assert_int_equal(u.nlayers, 1);
    assert_non_null(strstr(u.layers[0].signer, "CN=carol"));
    assert_non_null(memmem(d, len, "Subject: HELLO", 14));
    assert_false(u.header_mismatch);
    cms_result_free(&u);
    run_free(&x);
    free(m);
    cms_result_free(&w);
    cms_policy_free(p);
    EVP_PKEY_free(key);
    X509_free(cert);
    X509_free(ca);
}

static void t_label_into_signatures_and_back(void **state)
{
    (void)state;
    /* ESSSecurityLabel { policy 1.3.6.1.4.1, classification 2 }, written in the wrong order
     * (the library re-encodes the SET canonically before signing) */
    static const unsigned char label[] = { 0x31, 0x0a, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x04, 0x01,
                                           0x02, 0x01, 0x02 };
    static const unsigned char canon[] = { 0x31, 0x0a, 0x02, 0x01, 0x02, 0x06, 0x05, 0x2b, 0x06,
                                           0x01, 0x04, 0x01 };
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    g_next_label = label;
    g_next_label_len = sizeof label;
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"triple-wrap\"; " ID
                    " peer_cert = \"${PKI}/carol.pem\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    assert_false(has_audit(&x, -1, "label-not-signed"));
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    /* the receiving gateway: both signatures carry the label; it becomes the envelope's */
    struct run y;
    run_process(&y, "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\", \"strip\" ];"
                    " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\"; ca = \"${PKI}/ca.pem\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, d, len);
    assert_int_equal(y.rc, 0);
    assert_true(y.r.label_set);
    assert_int_equal(y.r.label_len, sizeof canon);
    assert_memory_equal(y.r.label, canon, sizeof canon);
    assert_true(has_audit(&y, -1, "label-from-signature"));
    run_free(&y);
    run_free(&x);
    /* receipt_to: our inner signature asks for a signed receipt */
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; " ID
                    " receipt_to = \"receipts@a.example\"; signature_form = \"opaque\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    d = content_data(x.r.content, &len);
    run_process(&y, "{ name = \"c\"; type = \"cms\"; operations = \"verify\"; ca = \"${PKI}/ca.pem\"; }",
                rcpts, MESSAGE_CONTENT_RFC5322, d, len);
    assert_int_equal(y.rc, 0);
    assert_true(has_audit(&y, -1, "signature-verified"));
    run_free(&y);
    {
        struct cms_policy *q = NULL;
        X509 *ca = NULL;
        char cap[700];
        snprintf(cap, sizeof cap, "%s/ca.pem", g_pki);
        assert_int_equal(cms_keys_load_cert(cap, &ca), 0);
        assert_int_equal(cms_policy_create(&q), 0);
        assert_int_equal(cms_policy_add_anchor(q, ca), 0);
        struct cms_result u;
        assert_int_equal(cms_unwrap(q, d, len, &u), 0);
        assert_true(u.layers[0].receipt_requested);
        cms_result_free(&u);
        cms_policy_free(q);
        X509_free(ca);
    }
    run_free(&x);
    /* a label that is no ESSSecurityLabel: signed without it, audited */
    static const unsigned char junk[] = { 0x04, 0x01, 0x00 };
    g_next_label = junk;
    g_next_label_len = sizeof junk;
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; " ID " }",
                rcpts, MESSAGE_CONTENT_RFC5322, MSG, sizeof MSG - 1);
    assert_int_equal(x.rc, 0);
    assert_true(has_audit(&x, -1, "label-not-signed"));
    run_free(&x);
}

/* One message through a channel that signs and encrypts to the peer as selected: 1 when the
 * result is encrypted, 0 when only signed; *out gets a copy of the result (caller frees). */
static int encrypted_with(const char *select, const void *label, size_t label_len,
                          const char *msg, char **out)
{
    char ch[1024];
    snprintf(ch, sizeof ch, "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; "
             ID " peer_cert = \"${PKI}/carol.pem\"; %s }", select);
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    g_next_label = label;
    g_next_label_len = label_len;
    run_process(&x, ch, rcpts, MESSAGE_CONTENT_RFC5322, msg, strlen(msg));
    assert_int_equal(x.rc, 0);
    assert_int_equal(act(&x, 0), CHANNEL_CONTINUE);
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    *out = calloc(1, len + 1);
    memcpy(*out, d, len);
    int enc = has_audit(&x, 0, "encrypted");
    assert_int_equal(enc, memmem(d, len, "the body", 8) == NULL);
    run_free(&x);
    return enc;
}

static void t_select_by_header_and_classification(void **state)
{
    (void)state;
    static const char yes[] = "From: s@example.net\r\nX-Mixgate-Encrypt: yes\r\nSubject: h\r\n\r\nthe body\r\n";
    static const char no[] = "From: s@example.net\r\nX-Mixgate-Encrypt: no\r\nSubject: h\r\n\r\nthe body\r\n";
    static const char none[] = "From: s@example.net\r\nSubject: h\r\n\r\nthe body\r\n";
    char *o = NULL;
    /* a header an earlier stage (a rule) set: obeyed and removed */
    assert_int_equal(encrypted_with("encrypt = \"header\";", NULL, 0, yes, &o), 1);
    assert_null(strstr(o, "X-Mixgate-Encrypt"));
    free(o);
    assert_int_equal(encrypted_with("encrypt = \"header\";", NULL, 0, no, &o), 0);
    assert_null(strstr(o, "X-Mixgate-Encrypt"));
    free(o);
    assert_int_equal(encrypted_with("encrypt = \"header\";", NULL, 0, none, &o), 0);
    free(o);
    static const char own[] = "From: s@example.net\r\nX-Secure: TRUE\r\n\r\nthe body\r\n";
    assert_int_equal(encrypted_with("encrypt = \"header\"; encrypt_header = \"X-Secure\";", NULL, 0,
                                    own, &o), 1);
    free(o);
    /* the label's classification */
    static const unsigned char secret[] = { 0x31, 0x0a, 0x02, 0x01, 0x03, 0x06, 0x05, 0x2b, 0x06,
                                            0x01, 0x04, 0x01 };
    static const unsigned char restricted[] = { 0x31, 0x0a, 0x02, 0x01, 0x01, 0x06, 0x05, 0x2b,
                                                0x06, 0x01, 0x04, 0x01 };
    static const unsigned char no_class[] = { 0x31, 0x07, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x04, 0x01 };
    static const unsigned char broken[] = { 0x31, 0x0a, 0x02, 0x09, 0x03 };
    const char *sel = "encrypt = \"classification\"; encrypt_classification_min = 2;";
    assert_int_equal(encrypted_with(sel, secret, sizeof secret, none, &o), 1);
    free(o);
    assert_int_equal(encrypted_with(sel, restricted, sizeof restricted, none, &o), 0);
    free(o);
    assert_int_equal(encrypted_with(sel, no_class, sizeof no_class, none, &o), 0);
    free(o);
    assert_int_equal(encrypted_with(sel, broken, sizeof broken, none, &o), 0);
    free(o);
    assert_int_equal(encrypted_with(sel, NULL, 0, none, &o), 0);
    free(o);
}

static void t_keep_or_strip_signature_under_envelope(void **state)
{
    (void)state;
    /* bob signs and encrypts to carol (the gateway); without strip the gateway opens the
     * envelope only and the recipient still gets bob's signature; with strip, clear text */
    char p1[700], p2[700], p3[700], p4[700];
    snprintf(p1, sizeof p1, "%s/bob.pem", g_pki);
    snprintf(p2, sizeof p2, "%s/bob.key", g_pki);
    snprintf(p3, sizeof p3, "%s/carol.pem", g_pki);
    snprintf(p4, sizeof p4, "%s/ca.pem", g_pki);
    X509 *bob = NULL, *carol = NULL, *ca = NULL;
    EVP_PKEY *bk = NULL;
    assert_int_equal(cms_keys_load_cert(p1, &bob), 0);
    assert_int_equal(cms_keys_load_key(p2, NULL, &bk), 0);
    assert_int_equal(cms_keys_load_cert(p3, &carol), 0);
    assert_int_equal(cms_keys_load_cert(p4, &ca), 0);
    struct cms_policy *p = NULL;
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_set_signer(p, CMS_LAYER_INNER, bob, bk, NULL), 0);
    assert_int_equal(cms_policy_add_recipient(p, carol), 0);
    assert_int_equal(cms_policy_add_anchor(p, ca), 0);
    cms_policy_set_detached(p, 1); /* clear-signed, as mail clients do */
    struct cms_result w;
    assert_int_equal(cms_wrap(p, CMS_OP_SIGN | CMS_OP_ENCRYPT, CMS_FORMAT_MIME,
                              (const unsigned char *)MSG, sizeof MSG - 1, &w), 0);
    const char *const rcpts[] = { "u@b.example", NULL };
    for (int strip = 0; strip < 2; strip++) {
        struct run x;
        run_process(&x, strip ? "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\","
                                " \"strip\" ]; cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\";"
                                " ca = \"${PKI}/ca.pem\"; }"
                              : "{ name = \"c\"; type = \"cms\"; operations = [ \"decrypt\", \"verify\" ];"
                                " cert = \"${PKI}/carol.pem\"; key = \"${PKI}/carol.key\";"
                                " ca = \"${PKI}/ca.pem\"; }",
                    rcpts, MESSAGE_CONTENT_RFC5322, w.data, w.len);
        assert_int_equal(x.rc, 0);
        assert_true(has_audit(&x, -1, "decrypted"));
        assert_true(has_audit(&x, -1, "signature-verified"));
        size_t len;
        const unsigned char *d = content_data(x.r.content, &len);
        assert_non_null(memmem(d, len, "the body", 8));
        assert_null(memmem(d, len, "enveloped-data", 14));
        struct cms_result u;
        int rc = cms_unwrap(p, d, len, &u); /* anchors only, no key: the signature alone */
        if (strip) {
            assert_int_equal(rc, MG_EPARSE); /* nothing left to open */
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(u.nlayers, 1);
            assert_int_equal(u.layers[0].kind, CMS_KIND_SIGNED);
            assert_non_null(strstr(u.layers[0].signer, "CN=bob"));
        }
        cms_result_free(&u);
        run_free(&x);
    }
    cms_result_free(&w);
    cms_policy_free(p);
    EVP_PKEY_free(bk);
    X509_free(bob);
    X509_free(carol);
    X509_free(ca);
}

static void t_forged_status_removed_footer_alone(void **state)
{
    (void)state;
    /* no status header stated, a footer only: the sender's forged status header still goes */
    static const char forged[] = "From: x@c.example\r\nX-Mixgate-Security: signed by the CEO, verified\r\n"
                                 "Subject: f\r\n\r\nthe body\r\n";
    struct run x;
    const char *const rcpts[] = { "u@b.example", NULL };
    run_process(&x, "{ name = \"c\"; type = \"cms\"; operations = \"verify\"; status_header = false;"
                    " status_footer = true; }",
                rcpts, MESSAGE_CONTENT_RFC5322, forged, sizeof forged - 1);
    assert_int_equal(x.rc, 0);
    size_t len;
    const unsigned char *d = content_data(x.r.content, &len);
    assert_null(memmem(d, len, "the CEO", 7));
    assert_non_null(memmem(d, len, "the body", 8));
    run_free(&x);
}

static int setup_store(void)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(g_pki, sizeof g_pki, "%s/test-vectors/crypto", b ? b : ".");
    snprintf(g_store, sizeof g_store, "%s/cms_channel_test.db", b ? b : ".");
    unlink_db(g_store);
    struct cert_store *s = NULL;
    if (cert_store_open(&s, g_store, NULL))
        return -1;
    static const char *const files[] = { "ca.pem", "bob.pem", "carol.pem", "expired.pem", NULL };
    for (int i = 0; files[i]; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", g_pki, files[i]);
        if (cert_store_import_file(s, p, NULL, i == 0, NULL) < 1) {
            cert_store_close(s);
            return -1;
        }
    }
    cert_store_close(s);
    /* the second store: the anchor and revoked@, no CRL yet */
    snprintf(g_store2, sizeof g_store2, "%s/cms_channel_test2.db", b ? b : ".");
    unlink_db(g_store2);
    if (cert_store_open(&s, g_store2, NULL))
        return -1;
    static const char *const files2[] = { "ca.pem", "revoked.pem", NULL };
    for (int i = 0; files2[i]; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", g_pki, files2[i]);
        if (cert_store_import_file(s, p, NULL, i == 0, NULL) < 1) {
            cert_store_close(s);
            return -1;
        }
    }
    cert_store_close(s);
    return 0;
}

int main(void)
{
    if (setup_store()) {
        fprintf(stderr, "cannot build the test store from %s (crypto.pki fixture?)\n", g_pki);
        return 1;
    }
    struct CMUnitTest tests[64];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_regroup_by_certificate);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_keyless_hold_and_return);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_keyless_clear_regroups);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_der_triple_wrap_round_trip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_der_triple_wrap_kept_signature);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_der_typed_version_keeps_its_type);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_damaged_smime_held);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_peer_cert_all_recipients_one_result);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_revocation_refresh_on_schedule);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_keyword_kept_for_held);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_header_changed_resigned);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_label_into_signatures_and_back);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_select_by_header_and_classification);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_keep_or_strip_signature_under_envelope);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(t_forged_status_removed_footer_alone);
    int rc = _cmocka_run_group_tests("cms_channel", tests, n, NULL, NULL);
    unlink_db(g_store);
    unlink_db(g_store2);
    return rc;
}
