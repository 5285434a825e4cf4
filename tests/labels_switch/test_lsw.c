/* Tests of the labels glue (channels/labels) on the shared vectors ($MIXGATE_VECTORS/labels):
 * the `labels` group (errors with their lines), access decisions per recipient (address,
 * domain, pattern), channel and peer, through equivalent policies (the oracle's TLPX label
 * against a UK clearance); the gate's outcomes and audit records; extraction from every
 * location at once; the submission decisions (reject, default, correct, inconsistency with
 * and without the header); the shaper's every output form decoded back and equal to what
 * the engine says, history written then parsed, UK -> TLPX translation and no equivalent
 * (NATO): fail or hold. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "channels.h"
#include "lbl_ber.h"
#include "lbl_codec.h"
#include "lbl_header.h"
#include "lbl_marking.h"
#include "lbl_xml.h"
#include "lsw.h"
#include "lsw_certclear.h"
#include "lsw_int.h"
#include "lsw_msg.h"
#include "lsw_x400.h"
#include "mg_buf.h"
#include "mg_ipm.h"
#include "mg_err.h"

static char V[1024]; /* $MIXGATE_VECTORS/labels/spiffing */

#define FOOD_OID "1.2.826.0.1.6726289.0.0"
#define UK_OID "1.2.826.0.1.6726289.0.4"
#define TLPX_OID "1.2.826.0.1.6726289.0.1"

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    return !strcmp(name, "V") ? V : NULL;
}

static const char *const CONF =
    "global = { hostname = \"t.test\"; var_dir = \"/tmp/lsw-unit\"; };\n"
    "listeners = ( { name = \"reject\"; listen = \"127.0.0.1:1\"; }, { name = \"default\"; listen = \"127.0.0.1:2\"; },\n"
    "  { name = \"correct\"; listen = \"127.0.0.1:3\"; }, { name = \"incons\"; listen = \"127.0.0.1:4\"; },\n"
    "  { name = \"all\"; listen = \"127.0.0.1:5\"; }, { name = \"none\"; listen = \"127.0.0.1:6\"; } );\n"
    "peers = ( { name = \"p\"; type = \"smtp\"; host = \"127.0.0.1:9\"; },\n"
    "  { name = \"x4\"; type = \"x400\"; mta_name = \"M\"; our_mta_name = \"U\"; presentation_address = \"a\";\n"
    "    clearance = \"${V}/test-data/food-clearance-lactose-intolerant.xml\"; } );\n"
    "labels = {\n"
    "  spif = \"${V}/repaired/food-policy.xml\";\n"
    "  spifs = [ \"${V}/test-data/uk-demo.xml\", \"${V}/test-data/tlp-plus.xml\", \"${V}/test-data/tlp.xml\",\n"
    "            \"${V}/test-data/nato-4774-policy.xml\" ];\n"
    "  clearances = ( { recipient = \"ok@X.test\"; clearance = \"${V}/test-data/food-clearance-all-okay.xml\"; },\n"
    "    { domain = \"lact.test\"; clearance = \"${V}/test-data/food-clearance-lactose-intolerant.xml\"; },\n"
    "    { pattern = \"*@*.ok.test\"; clearance = \"${V}/generated-ber/food-clearance-all-okay.ber\"; },\n"
    "    { recipient = \"uk@x.test\"; clearance = \"${V}/test-data/uk-demo-secret-uk.xml\"; } );\n"
    "  channels = ( { channel = \"lact-chan\"; clearance = \"${V}/test-data/food-clearance-lactose-intolerant.xml\"; } );\n"
    "  submission = (\n"
    "    { listener = \"reject\"; extract = [ \"x-x411\", \"sio-label\" ]; },\n"
    "    { listener = \"default\"; extract = [ \"x-x411\" ]; on_missing = \"default\"; on_invalid = \"default\";\n"
    "      default_label = \"${V}/test-data/food-label-milk-chocolate.xml\"; },\n"
    "    { listener = \"correct\"; extract = [ \"x-x411\" ]; on_invalid = \"correct\";\n"
    "      class_defaults = [ \"<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.2.826.0.1.6726289.0.0'/>"
    "<classification lacv='51'/></label>\" ]; },\n"
    "    { listener = \"incons\"; extract = [ \"sio-label\", \"x-x411\" ]; on_inconsistent = \"reject\"; },\n"
    "    { listener = \"all\"; extract = [ \"x411\", \"ess\", \"x-x411\", \"sio-label\", \"xml\", \"header\",\n"
    "      \"subject\", \"flot\" ]; governing = \"flot\"; on_inconsistent = \"header\"; }\n"
    "  );\n"
    "};\n"
    "channels = (\n"
    "  { name = \"shape\"; type = \"shaper\"; spif = \"${V}/repaired/food-policy.xml\";\n"
    "    outputs = [ \"sio-label\", \"x-x411\", \"xml\", \"flot\", \"subject\", \"history\" ];\n"
    "    headers = ( { name = \"X-Class\"; value = \"\\${classification} / \\${marking}\"; } ); },\n"
    "  { name = \"to-tlpx\"; type = \"shaper\"; spif = \"${V}/test-data/tlp-plus.xml\";\n"
    "    outputs = [ \"sio-label\", \"history\", \"history-text\" ]; keep_inbound = [ \"x-x411\" ]; },\n"
    "  { name = \"to-tlpx-content\"; type = \"shaper\"; spif = \"${V}/test-data/tlp-plus.xml\"; input = \"content\";\n"
    "    extract = [ \"sio-label\" ]; outputs = [ \"x-x411\" ]; x_x411_type = \"ess\"; },\n"
    "  { name = \"from-history\"; type = \"shaper\"; spif = \"${V}/test-data/uk-demo.xml\"; input = \"content\";\n"
    "    extract = [ \"sio-label-history\" ]; outputs = [ \"sio-label\" ]; },\n"
    "  { name = \"nato-xml\"; type = \"shaper\"; spif = \"${V}/test-data/nato-4774-policy.xml\";\n"
    "    outputs = [ \"xml\" ]; xml_format = \"nato\";\n"
    "    headers = ( { name = \"X-Marking-Fr\"; value = \"(\\${marking:subject:fr})\"; } ); },\n"
    "  { name = \"to-x400\"; type = \"shaper\"; spif = \"${V}/repaired/food-policy.xml\"; outputs = [ \"x411-envelope\" ]; },\n"
    "  { name = \"to-nato\"; type = \"shaper\"; spif = \"${V}/test-data/nato-4774-policy.xml\"; outputs = [ \"sio-label\" ]; },\n"
    "  { name = \"to-nato-hold\"; type = \"shaper\"; spif = \"${V}/test-data/nato-4774-policy.xml\";\n"
    "    outputs = [ \"sio-label\" ]; on_no_equivalent = \"hold\"; },\n"
    "  { name = \"lact-chan\"; type = \"file\"; directory = \"/tmp/lsw-unit/d\"; },\n"
    "  { name = \"out\"; type = \"file\"; directory = \"/tmp/lsw-unit/d\"; } );\n"
    "routes = ( { default = true; chain = [ \"out\" ]; } );\n";

struct fx {
    struct config *cfg;
    struct lsw *l;
    struct lsw_gate *g;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct config_errors errs = { 0 };
    int rc = channels_config_load_text("lsw.conf", CONF, strlen(CONF), env, NULL, &f->cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].text);
    config_errors_free(&errs);
    if (rc || lsw_load(f->cfg, &f->l, NULL) || lsw_gate_create(&f->g, NULL) || lsw_gate_sync(f->g, f->cfg))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lsw_gate_free(f->g);
    lsw_free(f->l);
    config_free(f->cfg);
    free(f);
    return 0;
}

static void label_file(struct fx *f, const char *rel, struct lbl_label *l)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", V, rel);
    struct lbl_err err = { "" };
    lbl_label_init(l);
    if (lsw_read_label(lsw_policies(f->l), p, l, &err))
        fail_msg("%s: %s", rel, err.msg);
}

static char *form(struct fx *f, const struct lbl_label *l, enum lbl_format fmt)
{
    char *out = NULL;
    size_t n = 0;
    struct lbl_err err = { "" };
    const struct lbl_policy *p = lbl_policy_set_find(lsw_policies(f->l), l->policy);
    if (lbl_encode(l, fmt, p, &out, &n, &err))
        fail_msg("encode: %s", err.msg);
    return out;
}

static void uk_official(struct lbl_label *l)
{
    lbl_label_init(l);
    snprintf(l->policy, sizeof l->policy, "%s", UK_OID);
    l->has_class = 1;
    l->class_lacv = 10;
}

/* ---- configuration errors ------------------------------------------------------------- */

static void config_errors_have_lines(void **state)
{
    (void)state;
    static const char *const bad =
        "listeners = ( { name = \"in\"; listen = \"127.0.0.1:1\"; } );\n"
        "channels = ( { name = \"out\"; type = \"file\"; directory = \"/tmp/d\"; } );\n"
        "routes = ( { default = true; chain = [ \"out\" ]; } );\n"
        "labels = { spif = \"${V}/repaired/food-policy.xml\"; colour = 1;\n"
        "  clearances = ( { recipient = \"a@b\"; clearance = \"/nonexistent/c.xml\"; } );\n"
        "  submission = ( { listener = \"nope\"; extract = [ \"carrier-pigeon\" ]; on_missing = \"maybe\"; },\n"
        "    { listener = \"in\"; extract = [ \"header\" ]; header_regex = \"a(b\"; } );\n"
        "};\n";
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    assert_int_equal(channels_config_load_text("bad.conf", bad, strlen(bad), env, NULL, &cfg, &errs), MG_ECONFIG);
    assert_null(cfg);
    static const struct {
        int line;
        const char *has;
    } want[] = { { 4, "unknown key 'colour'" }, { 5, "/nonexistent/c.xml" }, { 6, "carrier-pigeon" },
                 { 6, "'on_missing' must be one of" }, { 6, "no listener called 'nope'" },
                 { 7, "'header_regex' = \"a(b\" does not compile" } };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int found = 0;
        for (size_t k = 0; k < errs.n && !found; k++)
            found = errs.v[k].line == want[i].line && strstr(errs.v[k].message, want[i].has);
        if (!found) {
            for (size_t k = 0; k < errs.n; k++)
                fprintf(stderr, "  got: %s\n", errs.v[k].text);
            fail_msg("no error at line %d with '%s'", want[i].line, want[i].has);
        }
    }
    config_errors_free(&errs);
}

/* ---- decisions ------------------------------------------------------------------------- */

static const struct {
    const char *label, *rcpt, *channel;
    enum lsw_verdict want;
    const char *why;
    const char *peer;
} decisions[] = {
    /* an x400 peer's own clearance */
    { "test-data/food-label-milk-chocolate.xml", "ok@x.test", "out", LSW_DENY, "peer x4 clearance: restrictive", "x4" },
    { "test-data/food-label-milk-chocolate.xml", "ok@x.test", "out", LSW_ALLOW, "allowed (recipient)", "p" }, /* p: no clearance */
    { "test-data/food-label-milk-chocolate.xml", "ok@x.test", "out", LSW_ALLOW, "allowed", NULL },
    { "test-data/food-label-milk-chocolate.xml", "Ok@x.TEST", "out", LSW_DENY, "has no clearance", NULL }, /* local part exact */
    { "test-data/food-label-milk-chocolate.xml", "ok@X.test", "out", LSW_ALLOW, "allowed", NULL },
    { "test-data/food-label-milk-chocolate.xml", "any@LACT.test", "out", LSW_DENY, "Lactose", NULL },
    { "test-data/food-label-milk-chocolate.xml", "a@b.ok.test", "out", LSW_ALLOW, "allowed", NULL },
    { "test-data/food-label-milk-chocolate.xml", "a@ok.test", "out", LSW_DENY, "has no clearance", NULL },
    { "test-data/food-label-milk-chocolate.xml", "ok@x.test", "lact-chan", LSW_DENY, "channel lact-chan", NULL },
    { "test-data/food-label-bacon.xml", "ok@x.test", "out", LSW_DENY, "Meaty", NULL },
    /* the oracle's third decision: TLPX AMBER EU through the equivalent UK policy */
    { "test-data/tlpx-amber-eu.xml", "uk@x.test", "out", LSW_ALLOW, "allowed", NULL },
    { "test-data/tlpx-amber-eu.xml", "ok@x.test", "out", LSW_DENY, "no equivalent", NULL },
};

static void decide_table(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof decisions / sizeof *decisions; i++) {
        struct lbl_label l;
        label_file(f, decisions[i].label, &l);
        char why[1200], pub[300];
        const struct config_peer *peer = decisions[i].peer ? config_find_peer(f->cfg, decisions[i].peer) : NULL;
        enum lsw_verdict v = lsw_decide(f->l, &l, decisions[i].rcpt, decisions[i].channel, peer, why, sizeof why,
                                        pub, sizeof pub);
        if (v != decisions[i].want || !strstr(why, decisions[i].why))
            fail_msg("[%zu] %s -> %s: verdict %d (%s), want %d (%s)", i, decisions[i].label, decisions[i].rcpt, v,
                     why, decisions[i].want, decisions[i].why);
        /* the public text never names categories */
        assert_null(strstr(pub, "Lactose"));
        assert_null(strstr(pub, "Meaty"));
        lbl_label_free(&l);
    }
}

/* ---- the gate ----------------------------------------------------------------------------- */

static void run_gate(struct fx *f, const unsigned char *label, size_t len, const char *const *rcpts, size_t n,
                     struct channel_result *r, struct message **mout)
{
    struct message *m = message_create();
    snprintf(m->id, sizeof m->id, "0000000000TEST");
    uint32_t idx[8];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(message_add_rcpt(m, rcpts[i], NULL, 0, NULL), 0);
        idx[i] = (uint32_t)i;
    }
    struct content *c = content_copy(MESSAGE_CONTENT_RFC5322, 0, "A: 1\r\n\r\nx\r\n", 11);
    struct channel_task t = { .cfg = f->cfg, .channel = config_find_channel(f->cfg, "out"), .msg = m, .content = c,
                              .nrcpts = n, .rcpts = idx, .rcpt_addrs = (const char *const *)rcpts,
                              .label = label, .label_len = len, .peer = config_find_peer(f->cfg, "p") };
    memset(r, 0, sizeof *r);
    r->rcpts = calloc(n, sizeof *r->rcpts);
    for (size_t i = 0; i < n; i++)
        channel_outcome_set(&r->rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    assert_int_equal(lsw_gate_check(f->g, &t, r), 0);
    content_unref(c);
    *mout = m;
}

static void gate_outcomes_and_audit(void **state)
{
    struct fx *f = *state;
    struct lbl_label l;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    unsigned char *der = NULL;
    size_t dl = 0;
    assert_int_equal(lsw_label_encode(&l, NULL, &der, &dl), 0);
    const char *rcpts[] = { "ok@x.test", "a@lact.test", "nobody@x.test" };
    struct channel_result r;
    struct message *m = NULL;
    run_gate(f, der, dl, rcpts, 3, &r, &m);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    assert_int_equal(r.rcpts[1].outcome.action, CHANNEL_FAILED);
    assert_string_equal(r.rcpts[1].outcome.status, "5.7.1");
    assert_null(strstr(r.rcpts[1].outcome.text, "Lactose"));
    assert_int_equal(r.rcpts[1].outcome.x400_diagnostic, 46);
    assert_int_equal(r.rcpts[2].outcome.action, CHANNEL_FAILED);
    assert_int_equal(r.naudit, 3);
    static const char *const dec[] = { "access-granted", "access-denied", "access-denied" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.audit[i].rcpt, (int)i);
        assert_string_equal(r.audit[i].decision, dec[i]);
        assert_string_equal(r.audit[i].subject_kind, "label");
        assert_int_equal(r.audit[i].subject_len, dl);
        assert_memory_equal(r.audit[i].subject, der, dl);
        assert_non_null(strstr(r.audit[i].summary, "Lactose")); /* the marking: for the auditor */
    }
    assert_non_null(strstr(r.audit[1].reason, "Lactose"));
    channel_result_clear(&r, 3);
    free(r.rcpts);
    message_free(m);
    /* unlabelled: denied (the default) */
    run_gate(f, NULL, 0, rcpts, 1, &r, &m);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_FAILED);
    assert_string_equal(r.audit[0].decision, "access-denied");
    channel_result_clear(&r, 1);
    free(r.rcpts);
    message_free(m);
    /* a corrupt label: denied, never allowed */
    run_gate(f, (const unsigned char *)"\x31\x05\x02", 3, rcpts, 1, &r, &m);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_FAILED);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    message_free(m);
    free(der);
    lbl_label_free(&l);
}

static void gate_unknown_config_defers(void **state)
{
    struct fx *f = *state;
    struct config other = *f->cfg; /* another address: not synced */
    const char *rcpts[] = { "ok@x.test" };
    struct message *m = message_create();
    assert_int_equal(message_add_rcpt(m, rcpts[0], NULL, 0, NULL), 0);
    uint32_t idx[1] = { 0 };
    struct channel_task t = { .cfg = &other, .msg = m, .nrcpts = 1, .rcpts = idx };
    struct channel_result r = { 0 };
    r.rcpts = calloc(1, sizeof *r.rcpts);
    assert_int_equal(lsw_gate_check(f->g, &t, &r), 0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_DEFERRED);
    free(r.rcpts);
    message_free(m);
}

/* ---- extraction --------------------------------------------------------------------------- */

static unsigned char *every_location(struct fx *f, const struct lbl_label *l, const struct lbl_label *xx_label,
                                     size_t *len)
{
    const struct lbl_policy *p = lbl_policy_set_find(lsw_policies(f->l), l->policy);
    char *xx = form(f, xx_label, LBL_FMT_XX411), *sio = form(f, l, LBL_FMT_SIO), *xml = NULL, *mark = NULL,
         *subj = NULL, *flot = NULL;
    assert_int_equal(lbl_xml_write_label(l, &xml), 0);
    for (char *q = xml; *q; q++)
        if (*q == '\n')
            *q = ' ';
    assert_int_equal(lbl_marking(p, l, "", LBL_LOC_XHEADER, &mark, NULL), 0);
    assert_int_equal(lbl_marking(p, l, "", LBL_LOC_SUBJECT, &subj, NULL), 0);
    assert_int_equal(lbl_marking(p, l, "", LBL_LOC_FLOT, &flot, NULL), 0);
    char *m = NULL;
    int n = asprintf(&m, "From: a@b\r\n%s\r\n%s\r\nX-Security-Label-XML: %s\r\nX-Security-Marking: %s\r\n"
                         "Subject: [%s] lunch\r\n\r\n%s\r\nbody\r\n", xx, sio, xml, mark, subj, flot);
    assert_true(n > 0);
    *len = (size_t)n;
    free(xx); free(sio); free(xml); free(mark); free(subj); free(flot);
    return (unsigned char *)m;
}

static void extraction_every_location(void **state)
{
    struct fx *f = *state;
    struct lbl_label l;
    label_file(f, "test-data/food-label-water.xml", &l);
    size_t len = 0;
    unsigned char *m = every_location(f, &l, &l, &len);
    const struct lsw_extract *ex = NULL;
    for (size_t i = 0; i < f->l->nex; i++)
        if (!strcmp(f->l->ex[i].listener, "all"))
            ex = &f->l->ex[i];
    assert_non_null(ex);
    unsigned char *x411 = NULL;
    size_t xl = 0;
    struct lbl_err err = { "" };
    assert_int_equal(lbl_x411_encode(&l, NULL, &x411, &xl, &err), 0);
    struct lsw_found *found = NULL;
    size_t n = 0;
    char errs[500];
    assert_int_equal(lsw_find_labels(&ex->s, lsw_policies(f->l), m, len, x411, xl, &found, &n, errs, sizeof errs), 0);
    /* every place but the ESS (the message is not signed) */
    static const enum lsw_src want[] = { LSW_SRC_X411, LSW_SRC_XX411, LSW_SRC_SIO, LSW_SRC_XML, LSW_SRC_HEADER,
                                         LSW_SRC_SUBJECT, LSW_SRC_FLOT };
    if (n != sizeof want / sizeof *want) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  found %s\n", lsw_src_name(found[i].src));
        fail_msg("found %zu labels (%s)", n, errs);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(found[i].src, want[i]);
        if (!lbl_label_equal(&found[i].label, &l))
            fail_msg("label from %s differs", lsw_src_name(found[i].src));
    }
    lsw_found_free(found, n);
    free(x411);
    free(m);
    lbl_label_free(&l);
}

/* X-X411 holding base64 of an ESS label (the issue allows both) */
static void extraction_xx411_ess(void **state)
{
    struct fx *f = *state;
    struct lbl_label l;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    unsigned char *der = NULL;
    size_t dl = 0;
    struct lbl_err err = { "" };
    assert_int_equal(lbl_ess_encode(&l, NULL, &der, &dl, &err), 0);
    char *b = NULL, *m = NULL;
    assert_int_equal(lbl_b64_encode(der, dl, &b), 0);
    assert_true(asprintf(&m, "X-X411: %s\r\n\r\nbody\r\n", b) > 0);
    static char xx[] = "X-X411";
    struct lsw_sources s = { .src = { LSW_SRC_XX411 }, .nsrc = 1, .xx411_header = xx };
    struct lsw_found *found = NULL;
    size_t n = 0;
    assert_int_equal(lsw_find_labels(&s, lsw_policies(f->l), (unsigned char *)m, strlen(m), NULL, 0, &found, &n,
                                     NULL, 0), 0);
    assert_int_equal(n, 1);
    assert_true(lbl_label_equal(&found[0].label, &l));
    lsw_found_free(found, n);
    free(b);
    free(m);
    free(der);
    lbl_label_free(&l);
}

struct sub_case {
    const char *name, *listener;
    const char *sio_label, *xx_label; /* files, NULL = none */
    int rc;
    const char *want_label;           /* the envelope label after, NULL = none */
    const char *want_header;          /* added to the content */
};

static const struct sub_case sub_cases[] = {
    { "sub_reject_missing", "reject", NULL, NULL, MG_EDENIED, NULL, NULL },
    { "sub_reject_invalid", "reject", NULL, "test-data/food-label-cheap-milk-chocolate.xml", MG_EDENIED, NULL, NULL },
    { "sub_accept_valid", "reject", NULL, "test-data/food-label-milk-chocolate.xml", 0,
      "test-data/food-label-milk-chocolate.xml", NULL },
    { "sub_sio_when_no_xx411", "reject", "test-data/food-label-bacon.xml", NULL, 0, "test-data/food-label-bacon.xml",
      NULL },
    { "sub_other_policy_refused", "reject", NULL, "test-data/tlpx-amber-eu.xml", MG_EDENIED, NULL, NULL },
    { "sub_default_missing", "default", NULL, NULL, 0, "test-data/food-label-milk-chocolate.xml", NULL },
    { "sub_default_invalid", "default", NULL, "test-data/food-label-cheap-milk-chocolate.xml", 0,
      "test-data/food-label-milk-chocolate.xml", NULL },
    { "sub_incons_reject", "incons", "test-data/food-label-bacon.xml", "test-data/food-label-milk-chocolate.xml",
      MG_EDENIED, NULL, NULL },
    { "sub_consistent", "incons", "test-data/food-label-bacon.xml", "test-data/food-label-bacon.xml", 0,
      "test-data/food-label-bacon.xml", NULL },
    { "sub_no_extraction", "none", NULL, NULL, 0, NULL, NULL },
    /* not correctable (a category its classification excludes): the default of its classification */
    { "sub_correct_class_default", "correct", NULL, "test-data/food-label-cheap-milk-chocolate.xml", 0, "@c51", NULL },
    /* not correctable, no default for its classification: refused */
    { "sub_correct_refused", "correct", NULL, "test-data/food-label-meaty-milk-chocolate.xml", MG_EDENIED, NULL, NULL },
};

static void run_sub(void **state)
{
    struct fx *f = ((void **)*state)[0];
    const struct sub_case *c = ((void **)*state)[1];
    char *hdrs = strdup("");
    for (int k = 0; k < 2; k++) {
        const char *file = k ? c->xx_label : c->sio_label;
        if (!file)
            continue;
        struct lbl_label l;
        label_file(f, file, &l);
        char *h = form(f, &l, k ? LBL_FMT_XX411 : LBL_FMT_SIO), *nh = NULL;
        assert_true(asprintf(&nh, "%s%s\r\n", hdrs, h) > 0);
        free(hdrs);
        free(h);
        hdrs = nh;
        lbl_label_free(&l);
    }
    char *text = NULL;
    int n = asprintf(&text, "From: a@b\r\n%sSubject: s\r\n\r\nbody\r\n", hdrs);
    free(hdrs);
    unsigned char *content = (unsigned char *)text;
    size_t len = (size_t)n;
    struct message *m = message_create();
    struct submit_origin o = { .listener = config_find_listener(f->cfg, c->listener) };
    struct submit_result res;
    assert_int_equal(lsw_submit_extract(f->g, f->cfg, &o, m, &content, &len, &res), c->rc);
    if (c->rc) {
        assert_int_equal(res.verdict, SUBMIT_LABEL_REJECTED);
        assert_string_equal(res.status, "5.7.1");
    }
    if (c->want_label) {
        struct lbl_label want, got;
        if (!strcmp(c->want_label, "@c51")) {
            lbl_label_init(&want);
            snprintf(want.policy, sizeof want.policy, "%s", FOOD_OID);
            want.has_class = 1;
            want.class_lacv = 51;
        } else {
            label_file(f, c->want_label, &want);
        }
        lbl_label_init(&got);
        struct lbl_err err = { "" };
        assert_int_equal(lsw_label_decode(m->label, m->label_len, &got, &err), 0);
        assert_true(lbl_label_equal(&want, &got));
        lbl_label_free(&want);
        lbl_label_free(&got);
        assert_true(message_id_valid(m->id));
    } else if (!c->rc) {
        assert_null(m->label);
    }
    message_free(m);
    free(content);
}

static void commit_cb(void *arg, int status)
{
    int *v = arg;
    *v = status + 1000;
}

static int count_rec(void *arg, const struct audit_entry *e)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

/* Accepted: the records are appended and submit waits for them (lsw_submit_commit); refused:
 * appended, nothing to wait for. A loop-less audit store completes at once. */
static void sub_audit_commit(void **state)
{
    struct fx *f = *state;
    char path[] = "/tmp/lsw-audit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct audit *au = NULL;
    assert_int_equal(audit_open(&au, NULL, path, NULL), 0);
    struct lsw_gate *g = NULL;
    assert_int_equal(lsw_gate_create(&g, au), 0);
    assert_int_equal(lsw_gate_sync(g, f->cfg), 0);
    struct lbl_label l;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    char *h = form(f, &l, LBL_FMT_XX411), *text = NULL;
    int n = asprintf(&text, "%s\r\n\r\nb\r\n", h);
    free(h);
    unsigned char *content = (unsigned char *)text;
    size_t len = (size_t)n;
    struct message *m = message_create();
    struct submit_origin o = { .listener = config_find_listener(f->cfg, "reject") };
    struct submit_result res;
    assert_int_equal(lsw_submit_extract(g, f->cfg, &o, m, &content, &len, &res), 0);
    int got = 0;
    assert_int_equal(lsw_submit_commit(g, m->id, commit_cb, &got), 0);
    assert_int_equal(got, 1000); /* durable, status 0 */
    assert_int_equal(lsw_submit_commit(g, m->id, commit_cb, &got), MG_ENOTFOUND); /* once */
    struct audit_filter flt = { .qid = m->id };
    int nrec = 0;
    assert_int_equal(audit_query(au, &flt, count_rec, &nrec), 0);
    assert_int_equal(nrec, 1); /* label-extracted */
    message_free(m);
    free(content);
    /* refused: recorded, nothing to wait for */
    text = strdup("A: 1\r\n\r\nb\r\n");
    content = (unsigned char *)text;
    len = strlen(text);
    m = message_create();
    assert_int_equal(lsw_submit_extract(g, f->cfg, &o, m, &content, &len, &res), MG_EDENIED);
    assert_int_equal(lsw_submit_commit(g, m->id, commit_cb, &got), MG_ENOTFOUND);
    flt.qid = m->id;
    nrec = 0;
    assert_int_equal(audit_query(au, &flt, count_rec, &nrec), 0);
    assert_int_equal(nrec, 1); /* label-rejected */
    message_free(m);
    free(content);
    lbl_label_free(&l);
    lsw_gate_free(g);
    audit_close(au);
    unlink(path);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

static void sub_correct_drops_unknown(void **state)
{
    struct fx *f = *state;
    struct lbl_label l;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    assert_int_equal(lbl_label_add_cat(&l, "1.2.826.0.1.6726289.0.0.2", LBL_TAG_RESTRICTIVE, 77), 0); /* unknown */
    char *h = form(f, &l, LBL_FMT_XX411), *text = NULL;
    int n = asprintf(&text, "%s\r\n\r\nb\r\n", h);
    free(h);
    unsigned char *content = (unsigned char *)text;
    size_t len = (size_t)n;
    struct message *m = message_create();
    struct submit_origin o = { .listener = config_find_listener(f->cfg, "correct") };
    struct submit_result res;
    assert_int_equal(lsw_submit_extract(f->g, f->cfg, &o, m, &content, &len, &res), 0);
    struct lbl_label want, got;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &want);
    lbl_label_init(&got);
    struct lbl_err err = { "" };
    assert_int_equal(lsw_label_decode(m->label, m->label_len, &got, &err), 0);
    assert_true(lbl_label_equal(&want, &got));
    lbl_label_free(&want);
    lbl_label_free(&got);
    lbl_label_free(&l);
    message_free(m);
    free(content);
}

static void sub_inconsistency_header(void **state)
{
    struct fx *f = *state;
    struct lbl_label l, other;
    label_file(f, "test-data/food-label-water.xml", &l);
    label_file(f, "test-data/food-label-bacon.xml", &other);
    size_t len = 0;
    unsigned char *content = every_location(f, &l, &other, &len); /* X-X411 disagrees */
    struct message *m = message_create();
    struct submit_origin o = { .listener = config_find_listener(f->cfg, "all") };
    struct submit_result res;
    assert_int_equal(lsw_submit_extract(f->g, f->cfg, &o, m, &content, &len, &res), 0);
    char *v = NULL;
    assert_int_equal(lsw_msg_header(content, len, "X-Security-Label-Inconsistent", 0, &v), 0);
    assert_string_equal(v, "label from x-x411 differs from the governing label from flot");
    free(v);
    message_free(m);
    free(content);
    lbl_label_free(&l);
    lbl_label_free(&other);
}

/* ---- the shaper ------------------------------------------------------------------------- */

static int shape(struct fx *f, const char *chname, const struct lbl_label *in, const char *text,
                 struct channel_result *r)
{
    const struct config_channel *ch = config_find_channel(f->cfg, chname);
    assert_non_null(ch);
    struct message *m = message_create();
    snprintf(m->id, sizeof m->id, "0000000000TEST");
    assert_int_equal(message_add_rcpt(m, "ok@x.test", NULL, 0, NULL), 0);
    uint32_t idx[1] = { 0 };
    const char *addrs[1] = { "ok@x.test" };
    unsigned char *der = NULL;
    size_t dl = 0;
    if (in)
        assert_int_equal(lsw_label_encode(in, NULL, &der, &dl), 0);
    struct content *c = content_copy(MESSAGE_CONTENT_RFC5322, 0, text, strlen(text));
    struct channel_task t = { .cfg = f->cfg, .channel = ch, .msg = m, .content = c, .nrcpts = 1, .rcpts = idx,
                              .rcpt_addrs = addrs, .label = der, .label_len = dl, .now = 1700000000 };
    memset(r, 0, sizeof *r);
    r->rcpts = calloc(1, sizeof *r->rcpts);
    channel_outcome_set(&r->rcpts[0].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    int rc = ch->kind->process(ch->conf, &t, r);
    content_unref(c);
    free(der);
    message_free(m);
    return rc;
}

/* shape() for an X.400 content (P22 / P772 BER). */
static int shape_x400(struct fx *f, const char *chname, const struct lbl_label *in, const unsigned char *ber,
                      size_t len, struct channel_result *r)
{
    const struct config_channel *ch = config_find_channel(f->cfg, chname);
    struct message *m = message_create();
    snprintf(m->id, sizeof m->id, "0000000000TEST");
    assert_int_equal(message_add_rcpt(m, "/C=GB/ADMD= /PRMD=X/S=y/", NULL, 0, NULL), 0);
    assert_int_equal(message_set_x400(m, NULL, "1.3.26.0.4406.0.4.1", NULL, 0), 0);
    uint32_t idx[1] = { 0 };
    const char *addrs[1] = { "/C=GB/ADMD= /PRMD=X/S=y/" };
    unsigned char *der = NULL;
    size_t dl = 0;
    if (in)
        assert_int_equal(lsw_label_encode(in, NULL, &der, &dl), 0);
    struct content *c = content_copy(MESSAGE_CONTENT_X400_P22, 0, ber, len);
    struct channel_task t = { .cfg = f->cfg, .channel = ch, .msg = m, .content = c, .nrcpts = 1, .rcpts = idx,
                              .rcpt_addrs = addrs, .label = der, .label_len = dl, .now = 1700000000 };
    memset(r, 0, sizeof *r);
    r->rcpts = calloc(1, sizeof *r->rcpts);
    channel_outcome_set(&r->rcpts[0].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    int rc = ch->kind->process(ch->conf, &t, r);
    content_unref(c);
    free(der);
    message_free(m);
    return rc;
}

static char *out_header(const struct channel_result *r, const char *name)
{
    size_t n = 0;
    const unsigned char *d = content_data(r->content, &n);
    char *v = NULL;
    if (lsw_msg_header(d, n, name, 0, &v))
        fail_msg("no %s in [%.*s]", name, (int)n, d);
    return v;
}

static void shaper_every_output(void **state)
{
    struct fx *f = *state;
    struct lbl_label l, got;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    lbl_label_init(&got);
    const struct lbl_policy *p = lbl_policy_set_find(lsw_policies(f->l), FOOD_OID);
    struct channel_result r;
    assert_int_equal(shape(f, "shape", &l, "Subject: lunch\r\nSIO-Label: old\r\n\r\nhello\r\n", &r), 0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    struct lbl_err err = { "" };
    char *v = out_header(&r, "SIO-Label");
    assert_int_equal(lbl_sio_decode(v, strlen(v), lsw_policies(f->l), &got, &err), 0);
    assert_true(lbl_label_equal(&got, &l));
    free(v);
    v = out_header(&r, "X-X411");
    assert_int_equal(lbl_xx411_decode(v, strlen(v), &got, &err), 0);
    assert_true(lbl_label_equal(&got, &l));
    free(v);
    v = out_header(&r, "X-Security-Label-XML");
    assert_int_equal(lbl_xml_parse_label(v, strlen(v), lsw_policies(f->l), &got, &err), 0);
    assert_true(lbl_label_equal(&got, &l));
    free(v);
    char *mark = NULL, *subj = NULL, *flot = NULL;
    assert_int_equal(lbl_marking(p, &l, "", LBL_LOC_PAGEBOTTOM, &mark, NULL), 0);
    assert_int_equal(lbl_marking(p, &l, "", LBL_LOC_SUBJECT, &subj, NULL), 0);
    assert_int_equal(lbl_marking(p, &l, "", LBL_LOC_FLOT, &flot, NULL), 0);
    v = out_header(&r, "Subject");
    char *want = NULL;
    assert_true(asprintf(&want, "[%s] lunch", subj) > 0);
    assert_string_equal(v, want);
    free(want);
    free(v);
    v = out_header(&r, "X-Class");
    assert_true(asprintf(&want, "%s / %s", lbl_policy_class_name(p, l.class_lacv), mark) > 0);
    assert_string_equal(v, want);
    free(want);
    free(v);
    size_t n = 0, off = 0, fl = 0;
    const unsigned char *d = content_data(r.content, &n);
    assert_int_equal(lsw_msg_flot(d, n, &off, &fl), 0);
    assert_int_equal(fl, strlen(flot));
    assert_memory_equal(d + off, flot, fl);
    /* the inbound SIO-Label was replaced, not kept; no history (nothing was converted) */
    assert_null(memmem(d, n, "SIO-Label: old", 14));
    assert_null(memmem(d, n, "SIO-Label-History", 17));
    assert_true(r.label_set);
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_true(lbl_label_equal(&got, &l));
    assert_int_equal(r.naudit, 1);
    assert_string_equal(r.audit[0].decision, "label-marked");
    free(mark); free(subj); free(flot);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&got);
    lbl_label_free(&l);
}

static void shaper_translates_with_history(void **state)
{
    struct fx *f = *state;
    struct lbl_label uk, got, prev;
    uk_official(&uk);
    lbl_label_init(&got);
    lbl_label_init(&prev);
    struct channel_result r;
    assert_int_equal(shape(f, "to-tlpx", &uk, "Subject: s\r\nX-X411: kept\r\nSIO-Label: dropped\r\n\r\nhello\r\n", &r),
                     0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    struct lbl_err err = { "" };
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_string_equal(got.policy, TLPX_OID);
    assert_int_equal(got.class_lacv, 11);
    char *v = out_header(&r, "SIO-Label-History");
    assert_int_equal(lbl_sio_history_decode(v, strlen(v), lsw_policies(f->l), &prev, &err), 0);
    assert_true(lbl_label_equal(&prev, &uk));
    free(v);
    assert_string_equal(r.audit[0].decision, "label-converted");
    {   /* per form: the inbound X-X411 is kept, the inbound SIO-Label replaced; the original as text */
        size_t cl = 0;
        const unsigned char *cd = content_data(r.content, &cl);
        assert_non_null(memmem(cd, cl, "X-X411: kept\r\n", 14));
        assert_null(memmem(cd, cl, "SIO-Label: dropped", 18));
        size_t off = 0, fl = 0;
        assert_int_equal(lsw_msg_flot(cd, cl, &off, &fl), 0);
        if (fl < 30 || memcmp(cd + off, "[original label, policy UK: ", 28))
            fail_msg("first line [%.*s]", (int)fl, cd + off);
    }
    /* the history is parsed on input: tunnelled back through a hop (the shaper with input = content) */
    size_t n = 0;
    const unsigned char *d = content_data(r.content, &n);
    char *text = strndup((const char *)d, n);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    assert_int_equal(shape(f, "to-tlpx-content", NULL, text, &r), 0);
    v = out_header(&r, "X-X411"); /* x_x411_type = "ess": base64 of the ESS label */
    {
        unsigned char *der = NULL;
        size_t dl = 0;
        assert_int_equal(lbl_b64_decode(v, strlen(v), &der, &dl), 0);
        assert_int_equal(lbl_ess_decode(der, dl, &got, &err), 0);
        free(der);
    }
    assert_string_equal(got.policy, TLPX_OID);
    free(v);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    /* a hop back into the UK policy restores the original from the history (tunnelled) */
    assert_int_equal(shape(f, "from-history", NULL, text, &r), 0);
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_true(lbl_label_equal(&got, &uk));
    assert_string_equal(r.audit[0].decision, "label-marked");
    free(text);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&uk);
    lbl_label_free(&got);
    lbl_label_free(&prev);
}

/* A P772 content: the converted label's history goes to the heading's rfc-822-field extension
 * (the body and the other heading fields keep their values), is read back from there on input
 * (the from-history shaper restores the original), and a shaper with nothing to write leaves the
 * content's bytes alone. */
static void shaper_x400_heading_history(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("MIXGATE_SOURCE_DIR");
    char path[1200];
    snprintf(path, sizeof path, "%s/test-vectors/ipm/p772-full.p772", src ? src : ".");
    unsigned char *p772 = NULL;
    size_t plen = 0;
    assert_int_equal(mg_read_file(path, 1 << 20, &p772, &plen), 0);
    struct lbl_label uk, got, prev;
    uk_official(&uk);
    lbl_label_init(&got);
    lbl_label_init(&prev);
    struct channel_result r;
    assert_int_equal(shape_x400(f, "to-tlpx", &uk, p772, plen, &r), 0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_CONTINUE);
    struct lbl_err err = { "" };
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_string_equal(got.policy, TLPX_OID);
    size_t n = 0;
    const unsigned char *d = content_data(r.content, &n);
    assert_int_equal(content_type(r.content), MESSAGE_CONTENT_X400_P22);
    char **lines = NULL;
    size_t nl = 0;
    assert_int_equal(lsw_x400_fields(d, n, &lines, &nl), 0);
    const char *h = lsw_x400_field(lines, nl, "SIO-Label-History", 0);
    assert_non_null(h);
    assert_int_equal(lbl_sio_history_decode(h, strlen(h), lsw_policies(f->l), &prev, &err), 0);
    assert_true(lbl_label_equal(&prev, &uk));
    assert_non_null(lsw_x400_field(lines, nl, "SIO-Label", 0)); /* the new label, a header form too */
    lsw_x400_fields_free(lines, nl);
    int skipped = 0;
    for (size_t i = 0; i < r.naudit; i++)
        skipped |= !strcmp(r.audit[i].decision, "label-forms-skipped"); /* history-text: no text */
    assert_true(skipped);
    {   /* everything but the rfc-822-field extension is the original's */
        InformationObject_t *a = NULL, *b = NULL;
        struct mg_ipm_error e;
        assert_int_equal(mg_ipm_decode_info(p772, plen, &a, &e), 0);
        assert_int_equal(mg_ipm_decode_info(d, n, &b, &e), 0);
        ExtensionsField_t *bx = b->choice.ipm.heading.extensions;
        assert_non_null(bx);
        int had = 0;
        for (int i = 0; i < bx->list.count;) {
            char oid[64];
            assert_int_equal(mg_ipm_oid_str(&bx->list.array[i]->type, oid, sizeof oid), 0);
            if (!strcmp(oid, LSW_X400_RFC822_FIELD_OID)) {
                IPMSExtension_t *x = bx->list.array[i];
                asn_set_del(&bx->list, i, 0);
                ASN_STRUCT_FREE(asn_DEF_IPMSExtension, x);
                had++;
            } else {
                i++;
            }
        }
        assert_int_equal(had, 1);
        assert_non_null(a->choice.ipm.heading.extensions); /* P772: heading extensions of its own */
        struct mg_buf ba, bb;
        mg_buf_init(&ba, 0);
        mg_buf_init(&bb, 0);
        assert_int_equal(mg_ipm_encode_info(a, &ba), 0);
        assert_int_equal(mg_ipm_encode_info(b, &bb), 0);
        assert_int_equal(ba.len, bb.len);
        assert_memory_equal(ba.data, bb.data, ba.len);
        mg_buf_free(&ba);
        mg_buf_free(&bb);
        mg_ipm_free_info(a);
        mg_ipm_free_info(b);
    }
    /* parsed on input: the history in the heading restores the original label */
    unsigned char *shaped = malloc(n);
    memcpy(shaped, d, n);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    assert_int_equal(shape_x400(f, "from-history", NULL, shaped, n, &r), 0);
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_true(lbl_label_equal(&got, &uk));
    channel_result_clear(&r, 1);
    free(r.rcpts);
    /* nothing to write (the x411-envelope form only): the content's bytes unchanged */
    struct lbl_label milk;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &milk);
    assert_int_equal(shape_x400(f, "to-x400", &milk, p772, plen, &r), 0);
    lbl_label_free(&milk);
    d = content_data(r.content, &n);
    assert_int_equal(n, plen);
    assert_memory_equal(d, p772, plen);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    free(shaped);
    free(p772);
    lbl_label_free(&uk);
    lbl_label_free(&got);
    lbl_label_free(&prev);
}

static void shaper_x411_privacy_mark(void **state)
{
    struct fx *f = *state;
    struct lbl_label l, got;
    label_file(f, "test-data/food-label-milk-chocolate.xml", &l);
    lbl_label_init(&got);
    assert_int_equal(lbl_label_set_privacy(&l, "F\xc3\xbc" "r Z\xc3\xb6" "e; ok"), 0);
    struct channel_result r;
    assert_int_equal(shape(f, "to-x400", &l, "A: 1\r\n\r\nb\r\n", &r), 0);
    struct lbl_err err = { "" };
    assert_int_equal(lsw_label_decode(r.label, r.label_len, &got, &err), 0);
    assert_string_equal(got.privacy_mark, "F??r Z??e? ok");
    unsigned char *x = NULL;
    size_t xl = 0;
    assert_int_equal(lbl_x411_encode(&got, NULL, &x, &xl, &err), 0); /* now fits an X.411 envelope */
    free(x);
    assert_string_equal(r.audit[0].decision, "label-privacy-mark-converted");
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&l);
    lbl_label_free(&got);
}

static void shaper_nato_xml(void **state)
{
    struct fx *f = *state;
    struct lbl_label l, got;
    label_file(f, "test-data/nato-4774-17-4.xml", &l);
    lbl_label_init(&got);
    struct channel_result r;
    assert_int_equal(shape(f, "nato-xml", &l, "A: 1\r\n\r\nb\r\n", &r), 0);
    char *v = out_header(&r, "X-Security-Label-XML");
    assert_non_null(strstr(v, "stanag:4774"));
    struct lbl_err err = { "" };
    assert_int_equal(lbl_xml_parse_label(v, strlen(v), lsw_policies(f->l), &got, &err), 0);
    assert_true(lbl_label_equal(&got, &l));
    free(v);
    v = out_header(&r, "X-Marking-Fr"); /* any phrase, any language of the SPIF */
    assert_string_equal(v, "(NATO DIFFUSION RESTREINTE Communicable a Japon, Suisse, Ukraine)");
    free(v);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&l);
    lbl_label_free(&got);
}

/* A privacy mark XML 1.0 cannot carry (issue 14): the XML writer refuses it, so the shaper
 * adds no XML header (never one that does not parse) and says so in the audit. */
static void shaper_xml_unfit_mark(void **state)
{
    struct fx *f = *state;
    struct lbl_label l;
    label_file(f, "test-data/nato-4774-17-4.xml", &l);
    assert_int_equal(lbl_label_set_privacy(&l, "NO\x01" "PE"), 0);
    struct channel_result r;
    assert_int_equal(shape(f, "nato-xml", &l, "A: 1\r\n\r\nb\r\n", &r), 0);
    size_t n = 0;
    const unsigned char *d = content_data(r.content, &n);
    char *v = NULL;
    assert_int_not_equal(lsw_msg_header(d, n, "X-Security-Label-XML", 0, &v), 0);
    assert_null(v);
    int audited = 0;
    for (size_t i = 0; i < r.naudit; i++)
        audited |= !strcmp(r.audit[i].decision, "label-xml-not-written");
    assert_true(audited);
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&l);
}

static void shaper_no_equivalent(void **state)
{
    struct fx *f = *state;
    struct lbl_label uk;
    uk_official(&uk);
    struct channel_result r;
    assert_int_equal(shape(f, "to-nato", &uk, "A: 1\r\n\r\nb\r\n", &r), 0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_FAILED);
    assert_string_equal(r.rcpts[0].outcome.status, "5.7.1");
    assert_null(r.content);
    assert_false(r.label_set);
    assert_string_equal(r.audit[0].decision, "label-translation-failed");
    channel_result_clear(&r, 1);
    free(r.rcpts);
    assert_int_equal(shape(f, "to-nato-hold", &uk, "A: 1\r\n\r\nb\r\n", &r), 0);
    assert_int_equal(r.rcpts[0].outcome.action, CHANNEL_HELD);
    assert_non_null(strstr(r.rcpts[0].outcome.text, "NATO"));
    channel_result_clear(&r, 1);
    free(r.rcpts);
    /* no label at all: unchanged, audited */
    assert_int_equal(shape(f, "shape", NULL, "A: 1\r\n\r\nb\r\n", &r), 0);
    assert_null(r.content);
    assert_string_equal(r.audit[0].decision, "label-absent");
    channel_result_clear(&r, 1);
    free(r.rcpts);
    lbl_label_free(&uk);
}

/* subjectDirectoryAttributes: the clearance attribute's first value, hostile shapes refused */
static void sda_clearance_values(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned char der[32];
        size_t len;
        int rc;
        size_t voff, vlen;
    } cases[] = {
        { "one_attr", { 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x37, 0x31, 0x03, 0x30, 0x01, 0x00 }, 14, 0, 11, 3 },
        { "other_then_clearance",
          { 0x30, 0x15, 0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x31, 0x00, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x37,
            0x31, 0x03, 0x04, 0x01, 0x07 }, 23, 0, 20, 3 },
        { "no_clearance", { 0x30, 0x09, 0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x31, 0x00 }, 11, MG_ENOTFOUND, 0, 0 },
        { "truncated", { 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04 }, 8, MG_EPARSE, 0, 0 },
        { "length_past_end", { 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00 }, 7, MG_EPARSE, 0, 0 },
        { "empty_set", { 0x30, 0x09, 0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x37, 0x31, 0x00 }, 11, MG_EPARSE, 0, 0 },
        { "not_a_sequence", { 0x31, 0x00 }, 2, MG_EPARSE, 0, 0 },
        { "empty", { 0 }, 0, MG_EPARSE, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const unsigned char *v = NULL;
        size_t vl = 0;
        int rc = lsw_sda_clearance(cases[i].der, cases[i].len, &v, &vl);
        if (rc != cases[i].rc)
            fail_msg("%s: %d, want %d", cases[i].name, rc, cases[i].rc);
        if (!rc && (v != cases[i].der + cases[i].voff || vl != cases[i].vlen))
            fail_msg("%s: value at %td+%zu", cases[i].name, v - cases[i].der, vl);
    }
}

static void no_vectors(void **state)
{
    (void)state;
    fprintf(stderr, "*** SKIPPED: test vectors not found in %s; set MIXGATE_VECTORS ***\n", V);
    skip();
}

int main(void)
{
    const char *v = getenv("MIXGATE_VECTORS");
    snprintf(V, sizeof V, "%s/labels/spiffing", v ? v : "../shared/vectors");
    char probe[1100];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/test-data/tests.xml", V);
    if (stat(probe, &st) != 0) {
        const struct CMUnitTest t[] = { cmocka_unit_test(no_vectors) };
        return cmocka_run_group_tests(t, NULL, NULL);
    }
    size_t ns = sizeof sub_cases / sizeof *sub_cases;
    static void *sub_state[32][2];
    struct CMUnitTest *t = calloc(ns + 24, sizeof *t);
    size_t n = 0;
    t[n++] = (struct CMUnitTest)cmocka_unit_test(config_errors_have_lines);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(decide_table);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(gate_outcomes_and_audit);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(gate_unknown_config_defers);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(extraction_every_location);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(extraction_xx411_ess);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(sub_correct_drops_unknown);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(sub_audit_commit);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(sub_inconsistency_header);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_every_output);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_translates_with_history);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_no_equivalent);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(sda_clearance_values);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_x411_privacy_mark);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_x400_heading_history);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_nato_xml);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(shaper_xml_unfit_mark);
    size_t fixed = n;
    for (size_t i = 0; i < ns; i++)
        t[n++] = (struct CMUnitTest){ .name = sub_cases[i].name, .test_func = run_sub,
                                      .initial_state = sub_state[i] };
    /* one fixture for all: the cases get it through their state */
    void *fx = NULL;
    if (setup(&fx) != 0) {
        free(t);
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < fixed; i++)
        t[i].initial_state = fx;
    for (size_t i = 0; i < ns; i++) {
        sub_state[i][0] = fx;
        sub_state[i][1] = (void *)&sub_cases[i];
    }
    int rc = _cmocka_run_group_tests("lsw", t, n, NULL, NULL);
    teardown(&fx);
    free(t);
    return rc;
}
