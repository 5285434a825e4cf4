/* Tests of the cms channel kind's options: a table of named cases, each with the message and
 * the line (file:line) it must give at load time, and configurations that load. */
#include "cms_channel_test_util.h"

/* ---- configuration errors --------------------------------------------------------------- */

struct cfg_case {
    const char *name;
    const char *channel;   /* the channel entry, line 3 of the file onwards */
    const char *want;      /* NULL = loads */
};


static const struct cfg_case cfg_cases[] = {
    { "minimal_decrypt", "{ name = \"c\"; type = \"cms\"; operations = \"decrypt\"; " ID " }", NULL },
    { "pair_protect", "{ name = \"c\"; type = \"cms\"; operations = [ \"sign\", \"encrypt\" ]; " ID
      " peer_cert = \"${PKI}/carol.pem\"; }", NULL },
    { "missing_operations", "{ name = \"c\"; type = \"cms\"; " ID " }",
      "t.conf:3: channel 'c': 'operations' is required" },
    { "unknown_operation", "{ name = \"c\"; type = \"cms\";\n operations = [ \"decrypt\", \"burn\" ]; }",
      "t.conf:4: channel 'c': unknown operation \"burn\"" },
    { "unknown_key", "{ name = \"c\"; type = \"cms\"; operations = \"decrypt\";\n ciper = \"x\"; }",
      "unknown key 'ciper'" },
    { "bad_cipher", "{ name = \"c\"; type = \"cms\"; operations = \"decrypt\";\n cipher = \"rc2\"; }",
      "t.conf:4: channel 'c': 'cipher' must be one of \"aes128-cbc\"" },
    { "sign_needs_key", "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; }",
      "operations sign and triple-wrap need the gateway's 'cert' and 'key'" },
    { "encrypt_needs_certs", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; }",
      "operation encrypt needs 'peer_cert' or a 'store'" },
    { "key_mismatch", "{ name = \"c\"; type = \"cms\"; operations = \"sign\";\n cert = \"${PKI}/alice.pem\";"
      " key = \"${PKI}/carol.key\"; }", "does not belong to the certificate" },
    { "missing_file", "{ name = \"c\"; type = \"cms\"; operations = \"verify\";\n ca = \"/nonexistent/ca.pem\"; }",
      "t.conf:4: channel 'c': cannot load trust anchors from /nonexistent/ca.pem" },
    { "revoked_peer", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; ca = \"${PKI}/ca.pem\";"
      " crl = \"${PKI}/ca.crl\";\n peer_cert = \"${PKI}/revoked.pem\"; }",
      "t.conf:4: channel 'c': the peer certificate" },
    { "expired_peer", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; ca = \"${PKI}/ca.pem\";"
      " peer_cert = \"${PKI}/expired.pem\"; }", "is not usable" },
    { "tls_only_peer", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; ca = \"${PKI}/ca.pem\";"
      " peer_cert = \"${PKI}/server.pem\"; }", "not for S/MIME encryption" },
    { "keyword_without_mode", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; " ID
      " peer_cert = \"${PKI}/carol.pem\";\n subject_keyword = \"[x]\"; }",
      "t.conf:4: channel 'c': 'subject_keyword' needs encrypt = \"subject-keyword\"" },
    { "recipients_mode_needs_list", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; " ID
      " peer_cert = \"${PKI}/carol.pem\"; encrypt = \"recipients\"; }", "needs 'encrypt_recipients'" },
    { "encrypt_and_triple", "{ name = \"c\"; type = \"cms\"; operations = [ \"encrypt\", \"triple-wrap\" ]; "
      ID " peer_cert = \"${PKI}/carol.pem\"; }", "'triple-wrap' already encrypts" },
    { "strip_alone", "{ name = \"c\"; type = \"cms\"; operations = \"strip\"; }",
      "operation strip needs verify or decrypt" },
    { "harvest_needs_store", "{ name = \"c\"; type = \"cms\"; operations = \"verify\"; harvest = true; }",
      "'harvest' needs a 'store'" },
    { "bad_header_name", "{ name = \"c\"; type = \"cms\"; operations = \"verify\";\n"
      " status_header_name = \"X: y\"; }", "t.conf:4: channel 'c': 'status_header_name' must be" },
    { "refresh_needs_store", "{ name = \"c\"; type = \"cms\"; operations = \"verify\";\n refresh = \"1h\"; }",
      "t.conf:4: channel 'c': 'refresh' needs a 'store'" },
    { "refresh_bad_duration", "{ name = \"c\"; type = \"cms\"; operations = \"verify\"; store = \"${STORE}\";\n"
      " refresh = \"soon\"; }", "t.conf:4: channel 'c': 'refresh' must be a duration" },
    { "encrypt_header_without_mode", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; " ID
      " peer_cert = \"${PKI}/carol.pem\";\n encrypt_header = \"X-E\"; }",
      "t.conf:4: channel 'c': 'encrypt_header' needs encrypt = \"header\"" },
    { "classification_needs_min", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; " ID
      " peer_cert = \"${PKI}/carol.pem\"; encrypt = \"classification\"; }",
      "needs 'encrypt_classification_min'" },
    { "classification_range", "{ name = \"c\"; type = \"cms\"; operations = \"encrypt\"; " ID
      " peer_cert = \"${PKI}/carol.pem\"; encrypt = \"classification\";\n encrypt_classification_min = 300; }",
      "t.conf:4: channel 'c': 'encrypt_classification_min' must be a number from 0 to 255" },
    { "equivalent_label_not_ess", "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; " ID "\n"
      " equivalent_labels = [ \"${PKI}/ca.pem\" ]; }",
      "t.conf:4: channel 'c': the equivalent label " },
    { "equivalent_label_missing_file", "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; " ID "\n"
      " equivalent_labels = \"/nonexistent/label.der\"; }",
      "t.conf:4: channel 'c': cannot read the equivalent label /nonexistent/label.der" },
    { "equivalent_labels_need_sign", "{ name = \"c\"; type = \"cms\"; operations = \"decrypt\"; " ID "\n"
      " equivalent_labels_from_shaper = true; }",
      "t.conf:4: channel 'c': 'equivalent_labels_from_shaper' needs operation sign or triple-wrap" },
    { "equivalent_from_shaper_not_bool", "{ name = \"c\"; type = \"cms\"; operations = \"sign\"; " ID "\n"
      " equivalent_labels_from_shaper = \"yes\"; }",
      "t.conf:4: channel 'c': 'equivalent_labels_from_shaper' must be true or false" },
    { "equivalent_from_shaper_loads", "{ name = \"c\"; type = \"cms\"; operations = \"triple-wrap\"; " ID
      " peer_cert = \"${PKI}/carol.pem\"; equivalent_labels_from_shaper = true; }", NULL },
    { "receipt_to_needs_sign", "{ name = \"c\"; type = \"cms\"; operations = \"verify\";\n"
      " receipt_to = \"r@a.example\"; }", "t.conf:4: channel 'c': 'receipt_to' needs operation sign" },
    { "keyless_value", "{ name = \"c\"; type = \"cms\"; operations = \"verify\";\n no_certificate = \"drop\"; }",
      "t.conf:4: channel 'c': 'no_certificate' must be one of \"hold\", \"return\", \"clear\"" },
};

static void run_cfg_case(void **state)
{
    const struct cfg_case *c = *state;
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = load(c->channel, &cfg, &errs);
    if (!c->want) {
        for (size_t i = 0; i < errs.n; i++)
            print_message("%s\n", errs.v[i].text);
        assert_int_equal(rc, 0);
        assert_non_null(cfg);
    } else {
        assert_int_not_equal(rc, 0);
        int found = 0;
        for (size_t i = 0; i < errs.n; i++)
            if (strstr(errs.v[i].text, c->want))
                found = 1;
        if (!found)
            for (size_t i = 0; i < errs.n; i++)
                print_message("got: %s\n", errs.v[i].text);
        assert_true(found);
    }
    config_free(cfg);
    config_errors_free(&errs);
}

int main(void)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(g_pki, sizeof g_pki, "%s/test-vectors/crypto", b ? b : ".");
    snprintf(g_store, sizeof g_store, "%s/cms_channel_cfg_test.db", b ? b : ".");
    struct CMUnitTest tests[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof cfg_cases / sizeof cfg_cases[0] && n < 64; i++)
        tests[n++] = (struct CMUnitTest){ cfg_cases[i].name, run_cfg_case, NULL, NULL,
                                          (void *)&cfg_cases[i] };
    int rc = _cmocka_run_group_tests("cms_channel_cfg", tests, n, NULL, NULL);
    unlink(g_store);
    return rc;
}
