/* Tests of rules_prepare / rules_eval: every condition kind (a case that matches and one that
 * does not), every action kind, first match wins, per-recipient differences, ${} expansion,
 * hostile messages (no separator, a 1 MB header line, 1000-deep multipart, NUL bytes, junk),
 * and evaluation from several threads on one shared rule set. */
#define _GNU_SOURCE /* memmem */
#include "rules_test_util.h"

#include <pthread.h>

/* ---- messages ------------------------------------------------------------------------ */

#define M_PLAIN "From: a@origin.example\r\nTo: b@dest.example\r\nSubject: Hello [hold] there\r\n" \
                "\r\nbody\r\n"
#define M_FOLDED "Subject: first part\r\n\tand [hold] in the fold\r\n\r\nbody\r\n"
#define M_ENCODED "Subject: =?UTF-8?Q?please_=5Bhold=5D?=\r\n =?utf-8?B?IG5vdw==?=\r\n\r\nbody\r\n"
#define M_TWO_X "X-Tag: one\r\nX-Tag: two\r\n\r\n"
#define M_NUL_HIDE "Subject: x\0y [hold]\r\n\r\n"
#define M_LF "Subject: lf only [hold]\n\nbody\n"
#define M_ATTACH                                                                            \
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"           \
    "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n"                            \
    "--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"                             \
    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nJVBERi0=\r\n--b1--\r\n"
#define M_NAME_ONLY                                                                         \
    "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nx\n"   \
    "--zz\nContent-Type: image/png;\n name=pic.png\n\niVBOR\n--zz--\n"
#define M_NESTED_ATTACH                                                                     \
    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"                              \
    "Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain" \
    "\r\n\r\nx\r\n--i\r\nContent-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n" \
    "<p>\r\n--i--\r\n--o--\r\n"
#define M_ALTERNATIVE                                                                       \
    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n"                \
    "Content-Type: text/plain\r\n\r\nx\r\n--alt\r\nContent-Type: text/html\r\n"             \
    "Content-Disposition: inline\r\n\r\n<p>x</p>\r\n--alt--\r\n"
#define M_SIGNED                                                                            \
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"         \
    " micalg=sha-256; boundary=\"sig\"\r\n\r\n--sig\r\nContent-Type: text/plain\r\n\r\n"    \
    "signed text\r\n--sig\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"  \
    "Content-Disposition: attachment; filename=smime.p7s\r\n\r\nMIIB\r\n--sig--\r\n"
#define M_SIGNED_ATTACH                                                                     \
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "            \
    "boundary=sig\r\n\r\n--sig\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n" \
    "Content-Type: text/plain\r\n\r\nx\r\n--m\r\nContent-Type: application/zip\r\n"         \
    "Content-Disposition: attachment; filename=x.zip\r\n\r\nUEsD\r\n--m--\r\n"              \
    "--sig\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--sig--\r\n"
#define M_ENVELOPED                                                                         \
    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"   \
    "Content-Disposition: attachment; filename=smime.p7m\r\n\r\nMIIB\r\n"
#define M_AUTHENV "Content-Type: application/pkcs7-mime; smime-type=\"authEnveloped-data\"\r\n\r\nMIIB\r\n"
#define M_X_PKCS7 "Content-Type: application/x-pkcs7-mime; name=smime.p7m\r\n\r\nMIIB\r\n"
#define M_SIGNED_DATA "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nMIIB\r\n"
#define M_CMS_ENV "Content-Type: application/cms; encapsulatingContent=envelopedData\r\n\r\nMIIB\r\n"
#define M_CMS_SIGNED "Content-Type: application/cms;\r\n encapsulatingContent=\"signedData\"\r\n\r\nx\r\n"
#define M_COMPRESSED "Content-Type: application/pkcs7-mime; smime-type=compressed-data\r\n\r\nx\r\n"
#define M_SIGNED_ENC                                                                        \
    "Content-Type: multipart/signed; boundary=s\r\n\r\n--s\r\n"                             \
    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIIB\r\n"       \
    "--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--s--\r\n"
#define M_BOUNDARY_PREFIX                                                                   \
    "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n" \
    "\r\n--b10\r\nContent-Disposition: attachment; filename=no\r\n\r\nx\r\n--b1--\r\n"
#define M_SENS "Sensitivity: Company-Confidential\r\nImportance: High\r\n\r\nx\r\n"
#define M_SENS_PRIV "Sensitivity:  private \r\nImportance: low\r\n\r\nx\r\n"

struct cond_case {
    const char *name;
    const char *rule;       /* one rule group, action hold */
    const char *content;
    size_t len;             /* 0 = strlen */
    const char *originator; /* NULL = alice@origin.example */
    const char *rcpt;
    int priority;
    int classification;
    bool match;
};

#define HOLD "action = \"hold\"; reason = \"r\";"

static const struct cond_case cond_cases[] = {
    /* addresses */
    { "rcpt_exact", "recipient = \"Bob@Dest.example\";", M_PLAIN, 0, NULL, "bob@dest.EXAMPLE", 0, -1, true },
    { "rcpt_exact_no", "recipient = \"bob@dest.example\";", M_PLAIN, 0, NULL, "bobby@dest.example", 0, -1, false },
    { "rcpt_exact_list", "recipient = [ \"x@y.z\", \"bob@dest.example\" ];", M_PLAIN, 0, NULL, "bob@dest.example", 0, -1, true },
    { "rcpt_domain", "recipient_domain = \"dest.example\";", M_PLAIN, 0, NULL, "bob@DEST.example", 0, -1, true },
    { "rcpt_domain_sub_no", "recipient_domain = \"dest.example\";", M_PLAIN, 0, NULL, "bob@a.dest.example", 0, -1, false },
    { "rcpt_suffix_self", "recipient_suffix = \"dest.example\";", M_PLAIN, 0, NULL, "bob@dest.example", 0, -1, true },
    { "rcpt_suffix_sub", "recipient_suffix = \"dest.example\";", M_PLAIN, 0, NULL, "bob@mx.dest.example", 0, -1, true },
    { "rcpt_suffix_lookalike_no", "recipient_suffix = \"dest.example\";", M_PLAIN, 0, NULL, "bob@evildest.example", 0, -1, false },
    { "rcpt_suffix_dot_only_sub", "recipient_suffix = \".dest.example\";", M_PLAIN, 0, NULL, "bob@dest.example", 0, -1, false },
    { "rcpt_suffix_dot_sub", "recipient_suffix = \".dest.example\";", M_PLAIN, 0, NULL, "bob@x.dest.example", 0, -1, true },
    { "rcpt_glob", "recipient_glob = \"reject-test@*\";", M_PLAIN, 0, NULL, "REJECT-test@x.example", 0, -1, true },
    { "rcpt_glob_no", "recipient_glob = \"reject-test@*\";", M_PLAIN, 0, NULL, "xreject-test@x.example", 0, -1, false },
    { "rcpt_regex", "recipient_regex = \"^[a-z]+\\\\+tag@\";", M_PLAIN, 0, NULL, "Bob+tag@x.example", 0, -1, true },
    { "rcpt_regex_no", "recipient_regex = \"^[a-z]+\\\\+tag@\";", M_PLAIN, 0, NULL, "bob@x.example", 0, -1, false },
    { "rcpt_x400", "recipient = \"/C=GB/ADMD= /PRMD=X/O=Y/S=Smith/\";", M_PLAIN, 0, NULL, "/C=GB/ADMD= /PRMD=X/O=Y/S=Smith/", 0, -1, true },
    { "orig_exact", "originator = \"alice@origin.example\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "orig_null_sender", "originator = \"\";", M_PLAIN, 0, "", "x@y.z", 0, -1, true },
    { "orig_null_sender_no", "originator = \"\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "orig_domain", "originator_domain = \"origin.example\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "orig_suffix_no", "originator_suffix = \"other.example\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "orig_glob", "originator_glob = \"*@origin.*\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "orig_regex_no", "originator_regex = \"^bob@\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "orig_no_domain_no", "originator_domain = \"origin.example\";", M_PLAIN, 0, "postmaster", "x@y.z", 0, -1, false },
    { "all_conditions_and", "recipient_domain = \"y.z\"; originator_domain = \"nope.example\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    /* headers */
    { "header_regex", "header = { name = \"subject\"; regex = \"\\\\[hold\\\\]\"; };", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "header_regex_no", "header = { name = \"Subject\"; regex = \"\\\\[held\\\\]\"; };", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "header_absent_no", "header = { name = \"X-None\"; regex = \"^\"; };", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "header_present", "header = { name = \"To\"; regex = \"^\"; };", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "header_unfolded", "header = { name = \"Subject\"; regex = \"part\\tand \\\\[hold\"; };", M_FOLDED, 0, NULL, "x@y.z", 0, -1, true },
    { "header_rfc2047", "header = { name = \"Subject\"; regex = \"^please \\\\[hold\\\\] now$\"; };", M_ENCODED, 0, NULL, "x@y.z", 0, -1, true },
    { "header_any_instance", "header = { name = \"X-Tag\"; regex = \"^two$\"; };", M_TWO_X, 0, NULL, "x@y.z", 0, -1, true },
    { "header_case_insensitive_value", "header = { name = \"X-Tag\"; regex = \"^ONE$\"; };", M_TWO_X, 0, NULL, "x@y.z", 0, -1, true },
    { "header_all_of_list", "header = ( { name = \"X-Tag\"; regex = \"one\"; }, { name = \"X-Tag\"; regex = \"three\"; } );", M_TWO_X, 0, NULL, "x@y.z", 0, -1, false },
    { "header_nul_does_not_hide", "header = { name = \"Subject\"; regex = \"\\\\[hold\\\\]\"; };", M_NUL_HIDE, sizeof M_NUL_HIDE - 1, NULL, "x@y.z", 0, -1, true },
    { "header_lf_only", "header = { name = \"Subject\"; regex = \"only \\\\[hold\\\\]$\"; };", M_LF, 0, NULL, "x@y.z", 0, -1, true },
    { "header_body_not_searched", "header = { name = \"Subject\"; regex = \"body\"; };", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    /* size */
    { "size_min", "size_min = 10;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "size_min_no", "size_min = \"1k\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "size_max_no", "size_max = 10;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "size_range", "size_min = 10; size_max = 1000;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    /* attachments */
    { "attach_disposition", "has_attachments = true;", M_ATTACH, 0, NULL, "x@y.z", 0, -1, true },
    { "attach_name_param", "has_attachments = true;", M_NAME_ONLY, 0, NULL, "x@y.z", 0, -1, true },
    { "attach_nested", "has_attachments = true;", M_NESTED_ATTACH, 0, NULL, "x@y.z", 0, -1, true },
    { "attach_none_alternative", "has_attachments = true;", M_ALTERNATIVE, 0, NULL, "x@y.z", 0, -1, false },
    { "attach_false", "has_attachments = false;", M_ALTERNATIVE, 0, NULL, "x@y.z", 0, -1, true },
    { "attach_boundary_prefix_no", "has_attachments = true;", M_BOUNDARY_PREFIX, 0, NULL, "x@y.z", 0, -1, false },
    { "attach_not_plain", "has_attachments = true;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "attach_signature_is_none", "has_attachments = true;", M_SIGNED, 0, NULL, "x@y.z", 0, -1, false },
    { "attach_inside_signed", "has_attachments = true;", M_SIGNED_ATTACH, 0, NULL, "x@y.z", 0, -1, true },
    { "attach_p7m_is_none", "has_attachments = true;", M_ENVELOPED, 0, NULL, "x@y.z", 0, -1, false },
    /* signed / encrypted */
    { "signed_multipart", "signed = true;", M_SIGNED, 0, NULL, "x@y.z", 0, -1, true },
    { "signed_signed_data", "signed = true;", M_SIGNED_DATA, 0, NULL, "x@y.z", 0, -1, true },
    { "signed_cms", "signed = true;", M_CMS_SIGNED, 0, NULL, "x@y.z", 0, -1, true },
    { "signed_plain_no", "signed = true;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "signed_false_plain", "signed = false;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "signed_enveloped_no", "signed = true;", M_ENVELOPED, 0, NULL, "x@y.z", 0, -1, false },
    { "encrypted_enveloped", "encrypted = true;", M_ENVELOPED, 0, NULL, "x@y.z", 0, -1, true },
    { "encrypted_auth_enveloped", "encrypted = true;", M_AUTHENV, 0, NULL, "x@y.z", 0, -1, true },
    { "encrypted_x_pkcs7_no_type", "encrypted = true;", M_X_PKCS7, 0, NULL, "x@y.z", 0, -1, true },
    { "encrypted_cms", "encrypted = true;", M_CMS_ENV, 0, NULL, "x@y.z", 0, -1, true },
    { "encrypted_inside_signed", "encrypted = true; signed = true;", M_SIGNED_ENC, 0, NULL, "x@y.z", 0, -1, true },
    { "encrypted_signed_data_no", "encrypted = true;", M_SIGNED_DATA, 0, NULL, "x@y.z", 0, -1, false },
    { "encrypted_compressed_no", "encrypted = true;", M_COMPRESSED, 0, NULL, "x@y.z", 0, -1, false },
    { "encrypted_false", "encrypted = false;", M_SIGNED, 0, NULL, "x@y.z", 0, -1, true },
    /* priority */
    { "priority_eq", "priority = 3;", M_PLAIN, 0, NULL, "x@y.z", 3, -1, true },
    { "priority_eq_no", "priority = 3;", M_PLAIN, 0, NULL, "x@y.z", 2, -1, false },
    { "priority_min", "priority_min = 4;", M_PLAIN, 0, NULL, "x@y.z", 5, -1, true },
    { "priority_min_no", "priority_min = 4;", M_PLAIN, 0, NULL, "x@y.z", 3, -1, false },
    { "priority_max", "priority_max = 1;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    /* sensitivity / importance */
    { "sensitivity", "sensitivity = \"company-confidential\";", M_SENS, 0, NULL, "x@y.z", 0, -1, true },
    { "sensitivity_list_trimmed", "sensitivity = [ \"personal\", \"private\" ];", M_SENS_PRIV, 0, NULL, "x@y.z", 0, -1, true },
    { "sensitivity_no", "sensitivity = \"private\";", M_SENS, 0, NULL, "x@y.z", 0, -1, false },
    { "sensitivity_absent_no", "sensitivity = \"personal\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "importance", "importance = \"high\";", M_SENS, 0, NULL, "x@y.z", 0, -1, true },
    { "importance_no", "importance = \"high\";", M_SENS_PRIV, 0, NULL, "x@y.z", 0, -1, false },
    { "importance_absent_is_normal", "importance = \"normal\";", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    /* classification (the label hook) */
    { "class_eq", "classification = 2;", M_PLAIN, 0, NULL, "x@y.z", 0, 2, true },
    { "class_eq_no", "classification = 2;", M_PLAIN, 0, NULL, "x@y.z", 0, 3, false },
    { "class_min", "classification_min = 3;", M_PLAIN, 0, NULL, "x@y.z", 0, 4, true },
    { "class_min_no", "classification_min = 3;", M_PLAIN, 0, NULL, "x@y.z", 0, 1, false },
    { "class_max_unlabelled_no", "classification_max = 2;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, false },
    { "class_none", "classification = -1;", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
    { "class_none_labelled_no", "classification = -1;", M_PLAIN, 0, NULL, "x@y.z", 0, 0, false },
    /* no conditions */
    { "no_conditions_match_all", "", M_PLAIN, 0, NULL, "x@y.z", 0, -1, true },
};

static void run_cond_case(void **state)
{
    const struct cond_case *c = *state;
    char text[2048];
    snprintf(text, sizeof text, "{ name = \"r\"; %s " HOLD " }", c->rule);
    struct rules *r = rt_compile_ok(text);
    struct rules_prepared *p = rt_prepare(&(struct rt_msg){ .content = c->content, .len = c->len,
        .originator = c->originator, .priority = c->priority, .classification = c->classification });
    struct rules_result res;
    assert_int_equal(rules_eval(r, p, c->rcpt, &res), 0);
    if (c->match) {
        assert_int_equal(res.action, RULES_HOLD);
        assert_int_equal(res.rule_index, 0);
        assert_string_equal(res.rule_name, "r");
        assert_int_equal(res.rule_line, 2);
    } else {
        assert_int_equal(res.action, RULES_CONTINUE);
        assert_int_equal(res.rule_index, -1);
        assert_null(res.rule_name);
    }
    rules_result_free(&res);
    rules_prepared_free(p);
    rules_free(r);
}

/* ---- actions, precedence, recipients, expansion --------------------------------------- */

static const char *const RULESET =
    "{ name = \"ret\"; recipient_domain = \"ret.example\"; action = \"return\";\n"
    "  status = \"550 5.7.1\"; text = \"no mail for ${recipient} (${rule})\"; },\n"
    "{ name = \"ret-default\"; recipient_domain = \"ret2.example\"; action = \"return\";\n"
    "  status = \"451 4.7.0\"; },\n"
    "{ name = \"hold\"; recipient_domain = \"hold.example\"; action = \"hold\";\n"
    "  reason = \"held ${qid} by ${rule}\"; notify = \"sec@example.org\"; },\n"
    "{ name = \"drop\"; recipient_domain = \"drop.example\"; action = \"discard\"; discard = true; },\n"
    "{ name = \"edit\"; recipient_domain = \"edit.example\";\n"
    "  add_header = [ \"X-Q: ${qid}|${originator}|${recipient}|${date}|${rule}\",\n"
    "                 \"X-Esc: \\\\${qid} $$ $${qid}\" ];\n"
    "  replace_header = \"Subject: replaced\"; remove_header = \"To\";\n"
    "  copy = [ \"archive@example.org\", \"audit@example.org\" ];\n"
    "  notify = \"sec@example.org\"; notify_text = \"alert ${qid} ${rule}\"; },\n"
    "{ name = \"first\"; recipient_domain = \"both.example\"; action = \"hold\"; reason = \"1\"; },\n"
    "{ name = \"second\"; recipient_domain = \"both.example\"; action = \"hold\"; reason = \"2\"; }";

struct act_fixture {
    struct rules *r;
    struct rules_prepared *p;
};

static int act_setup(void **state)
{
    struct act_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->r = rt_compile_ok(RULESET);
    f->p = rt_prepare(&(struct rt_msg){ .content = M_PLAIN, .classification = -1 });
    *state = f;
    return 0;
}

static int act_teardown(void **state)
{
    struct act_fixture *f = *state;
    rules_prepared_free(f->p);
    rules_free(f->r);
    free(f);
    return 0;
}

static void action_return(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "bob@ret.example", &res), 0);
    assert_int_equal(res.action, RULES_RETURN);
    assert_int_equal(res.status_code, 550);
    assert_string_equal(res.status, "5.7.1");
    assert_string_equal(res.text, "no mail for bob@ret.example (ret)");
    assert_int_equal(res.n_edits, 0);
    assert_null(res.notify_text);
    rules_result_free(&res);
    assert_int_equal(rules_eval(f->r, f->p, "bob@ret2.example", &res), 0);
    assert_int_equal(res.action, RULES_RETURN);
    assert_int_equal(res.status_code, 451);
    assert_string_equal(res.status, "4.7.0");
    assert_string_equal(res.text, "rejected by policy rule ret-default");
    rules_result_free(&res);
}

static void action_hold_and_notify(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "bob@hold.example", &res), 0);
    assert_int_equal(res.action, RULES_HOLD);
    assert_string_equal(res.hold_reason, "held Q123 by hold");
    assert_int_equal(res.n_notify, 1);
    assert_string_equal(res.notify[0], "sec@example.org");
    assert_string_equal(res.notify_text,
                        "mixgate: rule hold matched message Q123 from <alice@origin.example> to "
                        "<bob@hold.example>");
    rules_result_free(&res);
}

static void action_discard(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "bob@drop.example", &res), 0);
    assert_int_equal(res.action, RULES_DISCARD);
    assert_string_equal(res.rule_name, "drop");
    assert_int_equal(res.rule_index, 3);
    rules_result_free(&res);
}

static void action_continue_edits_expanded(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "bob@edit.example", &res), 0);
    assert_int_equal(res.action, RULES_CONTINUE);
    assert_int_equal(res.rule_index, 4);
    assert_int_equal(res.n_edits, 4);
    /* order: add_header entries, replace_header, remove_header */
    assert_int_equal(res.edits[0].op, RULES_EDIT_ADD);
    assert_string_equal(res.edits[0].name, "X-Q");
    assert_string_equal(res.edits[0].value, "Q123|alice@origin.example|bob@edit.example|"
                                            "Thu, 01 Jan 1970 00:00:00 +0000|edit");
    /* "\${" is "${" (the form for configuration files); "$$" is "$", so "$${qid}" is the
     * literal text "${qid}" */
    assert_string_equal(res.edits[1].value, "Q123 $ ${qid}");
    assert_int_equal(res.edits[2].op, RULES_EDIT_REPLACE);
    assert_string_equal(res.edits[2].value, "replaced");
    assert_int_equal(res.edits[3].op, RULES_EDIT_REMOVE);
    assert_null(res.edits[3].value);
    assert_int_equal(res.n_copy, 2);
    assert_string_equal(res.copy[1], "audit@example.org");
    assert_string_equal(res.notify_text, "alert Q123 edit");
    rules_result_free(&res);
}

static void first_match_wins(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "x@both.example", &res), 0);
    assert_string_equal(res.rule_name, "first");
    assert_string_equal(res.hold_reason, "1");
    rules_result_free(&res);
}

static void no_match_continues(void **state)
{
    struct act_fixture *f = *state;
    struct rules_result res;
    assert_int_equal(rules_eval(f->r, f->p, "x@elsewhere.example", &res), 0);
    assert_int_equal(res.action, RULES_CONTINUE);
    assert_int_equal(res.rule_index, -1);
    assert_int_equal(res.n_edits + res.n_copy + res.n_notify, 0);
    rules_result_free(&res);
}

static void per_recipient_results(void **state)
{
    struct act_fixture *f = *state;
    static const struct { const char *rcpt; enum rules_action a; } want[] = {
        { "a@ret.example", RULES_RETURN }, { "a@hold.example", RULES_HOLD },
        { "a@drop.example", RULES_DISCARD }, { "a@edit.example", RULES_CONTINUE },
        { "a@none.example", RULES_CONTINUE },
    };
    struct rules_result res[5];
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(rules_eval(f->r, f->p, want[i].rcpt, &res[i]), 0);
        assert_int_equal(res[i].action, want[i].a);
    }
    assert_false(rules_result_same(&res[3], &res[4])); /* edits vs none */
    struct rules_result again;
    assert_int_equal(rules_eval(f->r, f->p, "a@edit.example", &again), 0);
    assert_true(rules_result_same(&res[3], &again));
    rules_result_free(&again);
    /* ${recipient} makes the edit differ per recipient */
    assert_int_equal(rules_eval(f->r, f->p, "b@edit.example", &again), 0);
    assert_false(rules_result_same(&res[3], &again));
    rules_result_free(&again);
    for (size_t i = 0; i < 5; i++)
        rules_result_free(&res[i]);
}

static void expansion_no_injection(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok("{ name = \"e\"; add_header = \"X-O: <${originator}>\"; }");
    struct rules_prepared *p = rt_prepare(&(struct rt_msg){ .content = M_PLAIN,
        .originator = "evil@x\r\nBcc: victim@y", .classification = -1 });
    struct rules_result res;
    assert_int_equal(rules_eval(r, p, "a@b.c", &res), 0);
    assert_string_equal(res.edits[0].value, "<evil@x  Bcc: victim@y>");
    rules_result_free(&res);
    rules_prepared_free(p);
    rules_free(r);
}

static void date_expansion(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok("{ name = \"d\"; add_header = \"Date-X: ${date}\"; }");
    struct rules_msg msg = { .qid = "Q", .originator = "a@b", .content = (const unsigned char *)"",
                             .content_len = 0, .classification = -1, .now = 1796610599 };
    struct rules_prepared *p = NULL;
    assert_int_equal(rules_prepare(&msg, &p), 0);
    struct rules_result res;
    assert_int_equal(rules_eval(r, p, "a@b.c", &res), 0);
    assert_string_equal(res.edits[0].value, "Mon, 07 Dec 2026 02:29:59 +0000");
    rules_result_free(&res);
    rules_prepared_free(p);
    rules_free(r);
}

/* ---- hostile messages ------------------------------------------------------------------ */

static char *deep_multipart(size_t depth, size_t *len)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(mg_buf_appendf(&b, "Content-Type: multipart/mixed; boundary=b%zu\r\n\r\n"
                                            "--b%zu\r\n", i, i), 0);
    assert_int_equal(mg_buf_appendf(&b, "Content-Disposition: attachment; filename=x\r\n\r\nx\r\n"), 0);
    for (size_t i = depth; i-- > 0;)
        assert_int_equal(mg_buf_appendf(&b, "--b%zu--\r\n", i), 0);
    return (char *)mg_buf_steal(&b, len);
}

struct hostile {
    const char *name;
    char *content;
    size_t len;
    bool want_truncated;
    size_t want_headers;
};

static void check_hostile(const struct hostile *h, const struct rules *r)
{
    struct rules_prepared *p = rt_prepare(&(struct rt_msg){ .content = h->content, .len = h->len,
                                                            .classification = -1 });
    struct rules_prepared_info info;
    rules_prepared_get_info(p, &info);
    print_message("%s: headers=%zu truncated=%d attach=%d\n", h->name, info.n_headers,
                  info.truncated, info.has_attachments);
    assert_int_equal(info.truncated, h->want_truncated);
    if (h->want_headers != (size_t)-1)
        assert_int_equal(info.n_headers, h->want_headers);
    struct rules_result res;
    assert_int_equal(rules_eval(r, p, "bob@dest.example", &res), 0);
    unsigned char *out = NULL;
    size_t out_len = 0;
    struct rules_edit e = { RULES_EDIT_ADD, "X-A", "1" };
    assert_int_equal(rules_apply_headers((const unsigned char *)h->content, h->len, &e, 1, &out,
                                         &out_len), 0);
    /* the output is the input with one field (and at most one line end before it) inserted */
    size_t i = 0;
    while (i < h->len && i < out_len && out[i] == (unsigned char)h->content[i])
        i++;
    size_t ins = out_len - h->len;
    assert_true(ins >= 7 && ins <= 10);
    assert_non_null(memmem(out + i, ins, "X-A: 1", 6));
    assert_memory_equal(out + i + ins, h->content + i, h->len - i);
    free(out);
    rules_result_free(&res);
    rules_prepared_free(p);
}

static void hostile_messages(void **state)
{
    (void)state;
    struct rules *r = rt_compile_ok(
        "{ name = \"h\"; header = { name = \"Subject\"; regex = \"(a|b)*c\"; }; action = \"hold\"; reason = \"r\"; },\n"
        "{ name = \"att\"; has_attachments = true; action = \"hold\"; reason = \"a\"; },\n"
        "{ name = \"s\"; signed = true; encrypted = true; importance = \"high\"; action = \"hold\"; reason = \"s\"; }");
    size_t big = 1024 * 1024;
    char *huge_line = malloc(big + 64);
    assert_non_null(huge_line);
    memcpy(huge_line, "Subject: ", 9);
    memset(huge_line + 9, 'a', big);
    memcpy(huge_line + 9 + big, "\r\n\r\nbody", 8);
    char *no_name = malloc(big);
    assert_non_null(no_name);
    memset(no_name, 'x', big); /* one line, no colon: no header at all */
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)((i * 7919u + 13u) >> 3);
    char *many = malloc(2000 * 8 + 8);
    assert_non_null(many);
    for (size_t i = 0; i < 2000; i++)
        memcpy(many + i * 8, "X-A: 1\r\n", 8);
    memcpy(many + 16000, "\r\nbody", 6);
    char *encoded = malloc(70000);
    assert_non_null(encoded);
    memcpy(encoded, "Subject: ", 9);
    for (size_t i = 9; i + 6 < 69990; i += 6)
        memcpy(encoded + i, "=?a?Q?", 6);
    size_t enc_len = 9 + ((69990 - 9 - 6) / 6 + 1) * 6;
    memcpy(encoded + enc_len, "\r\n\r\n", 4);
    enc_len += 4;
    size_t deep_len = 0;
    char *deep = deep_multipart(1000, &deep_len);
    size_t shallow_len = 0;
    char *shallow = deep_multipart(8, &shallow_len);

    struct hostile cases[] = {
        { "no_separator", (char *)"Subject: a\r\nTo: b", 17, false, 2 },
        { "no_header", (char *)"\r\njust a body\r\n", 15, false, 0 },
        { "empty", (char *)"", 0, false, 0 },
        { "header_line_1MB", huge_line, 9 + big + 8, true, 1 },
        { "no_colon_1MB", no_name, big, false, 0 },
        { "binary_junk", junk, sizeof junk, false, (size_t)-1 },
        { "nul_bytes", (char *)"Sub\0ject: x\r\nA: \0\0\0\r\n\r\n\0", 24, false, 0 },
        { "2000_fields", many, 16006, true, RULES_MAX_HEADERS },
        { "encoded_word_flood", encoded, enc_len, true, 1 },
        { "multipart_1000_deep", deep, deep_len, true, 1 },
        { "multipart_8_deep", shallow, shallow_len, false, 1 },
        { "boundary_never_closed", (char *)"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n"
          "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--q", 97, false, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_hostile(&cases[i], r);
    /* the 8-deep one is within the limits: its attachment is seen */
    struct rules_prepared *p = rt_prepare(&(struct rt_msg){ .content = shallow, .len = shallow_len,
                                                            .classification = -1 });
    struct rules_prepared_info info;
    rules_prepared_get_info(p, &info);
    assert_true(info.has_attachments);
    rules_prepared_free(p);
    free(huge_line);
    free(no_name);
    free(many);
    free(encoded);
    free(deep);
    free(shallow);
    rules_free(r);
}

/* ---- threads ----------------------------------------------------------------------------- */

struct thread_arg {
    const struct rules *r;
    const struct rules_prepared *p;
    int failures;
};

static void *eval_thread(void *v)
{
    struct thread_arg *a = v;
    for (int i = 0; i < 2000; i++) {
        struct rules_result res;
        const char *rcpt = i % 2 ? "x@hold.example" : "x@edit.example";
        if (rules_eval(a->r, a->p, rcpt, &res) != 0 ||
            res.action != (i % 2 ? RULES_HOLD : RULES_CONTINUE))
            a->failures++;
        rules_result_free(&res);
    }
    return NULL;
}

static void shared_between_threads(void **state)
{
    struct act_fixture *f = *state;
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){ f->r, f->p, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, eval_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

static void bad_arguments(void **state)
{
    (void)state;
    struct rules_prepared *p = NULL;
    struct rules_msg msg = { .content = NULL, .content_len = 5 };
    assert_int_equal(rules_prepare(&msg, &p), MG_EINVAL);
    assert_null(p);
    assert_int_equal(rules_prepare(NULL, &p), MG_EINVAL);
    struct rules_result res;
    assert_int_equal(rules_eval(NULL, NULL, "x", &res), MG_EINVAL);
    assert_int_equal(res.rule_index, -1);
    struct rules *r = NULL;
    assert_int_equal(rules_compile(NULL, "f", NULL, &r), MG_EINVAL);
}

int main(void)
{
    size_t n = sizeof cond_cases / sizeof *cond_cases;
    struct CMUnitTest *tests = calloc(n + 16, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){ .name = cond_cases[i].name, .test_func = run_cond_case,
                                        .initial_state = (void *)&cond_cases[i] };
    const struct CMUnitTest more[] = {
        cmocka_unit_test_setup_teardown(action_return, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(action_hold_and_notify, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(action_discard, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(action_continue_edits_expanded, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(first_match_wins, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(no_match_continues, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(per_recipient_results, act_setup, act_teardown),
        cmocka_unit_test_setup_teardown(shared_between_threads, act_setup, act_teardown),
        cmocka_unit_test(expansion_no_injection),
        cmocka_unit_test(date_expansion),
        cmocka_unit_test(hostile_messages),
        cmocka_unit_test(bad_arguments),
    };
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        tests[n++] = more[i];
    int rc = _cmocka_run_group_tests("rules_match", tests, n, NULL, NULL);
    free(tests);
    return rc;
}
