/* Tests of mixer_dsnp: the RFC 3461 DSN parameters <-> X.411 report requests and identifiers
 * as RFC 2156 appendix A (and 5.2) says, one named case per rule of the RFC's text; the
 * message transfer envelope written and read back field by field; the golden envelope
 * (test-vectors/mixer/dsnp/envelope.ber, MIXER_REGEN=1 rewrites it) decoded to the values it
 * was made of; hostile envelopes refused without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mixer_dsnp.h"

static const char *src_dir(void)
{
    const char *s = getenv("MIXGATE_SOURCE_DIR");
    return s && *s ? s : ".";
}

/* RFC 2156 A.3.1 NOTIFY -> per-recipient-indicators: "If the value is NEVER, both bits are
 * zero. If SUCCESS is present, the report bit is set. Otherwise, the non-delivery-report bit
 * is set." The originating-MTA bits (ours) ask at least as much; responsibility always. */
static void test_notify_to_indicators(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned notify, want;
    } cases[] = {
        {"NEVER: neither originator bit", MIXER_NOTIFY_NEVER,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR},
        {"SUCCESS: report bit", MIXER_NOTIFY_SUCCESS,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_REPORT | MIXER_PRI_ORIG_REPORT},
        {"SUCCESS,FAILURE: report bit", MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_REPORT | MIXER_PRI_ORIG_REPORT},
        {"SUCCESS,DELAY: report bit", MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_DELAY,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_REPORT | MIXER_PRI_ORIG_REPORT},
        {"FAILURE: non-delivery bit", MIXER_NOTIFY_FAILURE,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR | MIXER_PRI_ORIG_NDR},
        {"DELAY: non-delivery bit", MIXER_NOTIFY_DELAY,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR | MIXER_PRI_ORIG_NDR},
        {"FAILURE,DELAY: non-delivery bit", MIXER_NOTIFY_FAILURE | MIXER_NOTIFY_DELAY,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR | MIXER_PRI_ORIG_NDR},
        {"not given: non-delivery bit", 0,
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_NDR | MIXER_PRI_ORIG_NDR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mixer_dsnp_indicators(cases[i].notify) != cases[i].want)
            fail_msg("case %s: got 0x%02x, want 0x%02x", cases[i].name,
                     mixer_dsnp_indicators(cases[i].notify), cases[i].want);
}

/* RFC 2156 A.3.2 per-recipient-indicators -> NOTIFY: "If both bits are zero, the parameter is
 * NEVER. If the report bit is set, SUCCESS is used. Otherwise, FAILURE is used." X.411's
 * "report" asks for non-delivery reports too, so FAILURE goes with SUCCESS. */
static void test_indicators_to_notify(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned ind, want;
    } cases[] = {
        {"both zero: NEVER", MIXER_PRI_RESPONSIBILITY, MIXER_NOTIFY_NEVER},
        {"both zero, MTA asks: still NEVER",
         MIXER_PRI_RESPONSIBILITY | MIXER_PRI_MTA_REPORT | MIXER_PRI_MTA_NDR, MIXER_NOTIFY_NEVER},
        {"report: SUCCESS (and FAILURE)", MIXER_PRI_RESPONSIBILITY | MIXER_PRI_ORIG_REPORT,
         MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE},
        {"report and non-delivery: SUCCESS (and FAILURE)",
         MIXER_PRI_ORIG_REPORT | MIXER_PRI_ORIG_NDR, MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE},
        {"non-delivery: FAILURE", MIXER_PRI_RESPONSIBILITY | MIXER_PRI_ORIG_NDR,
         MIXER_NOTIFY_FAILURE},
        {"10101000 (a P1 default): FAILURE", 0xa8, MIXER_NOTIFY_FAILURE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mixer_dsnp_notify(cases[i].ind) != cases[i].want)
            fail_msg("case %s: got 0x%x, want 0x%x", cases[i].name,
                     mixer_dsnp_notify(cases[i].ind), cases[i].want);
    /* a round trip keeps what both worlds can say */
    static const unsigned keep[] = {MIXER_NOTIFY_NEVER, MIXER_NOTIFY_FAILURE,
                                    MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mixer_dsnp_notify(mixer_dsnp_indicators(keep[i])), keep[i]);
}

/* A.3.2: "additional originating MTA requirements are satisfied by the gateway": what the
 * MTA's report request asks beyond the NOTIFY passed on (the originator's), the gateway
 * reports itself. */
static void test_gateway_notify(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned ind, want;
    } cases[] = {
        {"mta report, originator ndr: gateway reports delivery", 0x80 | 0x40 | 0x08, MIXER_NOTIFY_SUCCESS},
        {"mta report, originator none: delivery and failure", 0x80 | 0x40, MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE},
        {"mta ndr, originator none: failure", 0x80 | 0x20, MIXER_NOTIFY_FAILURE},
        {"mta ndr, originator ndr: nothing more", 0x80 | 0x20 | 0x08, 0},
        {"mta ndr, originator report: nothing more", 0x80 | 0x20 | 0x10, 0},
        {"mta report, originator report: nothing more", 0x80 | 0x40 | 0x10, 0},
        {"mta report and ndr, originator ndr: delivery", 0x80 | 0x60 | 0x08, MIXER_NOTIFY_SUCCESS},
        {"nobody asks: nothing", 0x80, 0},
        {"originator only: nothing", 0x80 | 0x08, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mixer_dsnp_gateway_notify(cases[i].ind) != cases[i].want)
            fail_msg("case %s: got 0x%x, want 0x%x", cases[i].name,
                     mixer_dsnp_gateway_notify(cases[i].ind), cases[i].want);
    /* what the gateway asks for an SMTP message (mixer_dsnp_indicators) never leaves the
     * gateway anything to serve itself at the far gateway */
    static const unsigned notify[] = {0, MIXER_NOTIFY_NEVER, MIXER_NOTIFY_FAILURE,
                                      MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mixer_dsnp_gateway_notify(mixer_dsnp_indicators(notify[i])),
                         notify[i] & MIXER_NOTIFY_NEVER ? MIXER_NOTIFY_FAILURE : 0);
}

/* RET: A.3.2 "content-return-request ... FALSE, the parameter RET may be set to HDRS"; 5.2:
 * the gateway always requests return of content towards X.400. */
static void test_ret(void **state)
{
    (void)state;
    assert_int_equal(mixer_dsnp_ret(false), MIXER_RET_HDRS);
    assert_int_equal(mixer_dsnp_ret(true), MIXER_RET_FULL);
    assert_true(mixer_dsnp_content_return(MIXER_RET_HDRS));
    assert_true(mixer_dsnp_content_return(MIXER_RET_FULL));
    assert_true(mixer_dsnp_content_return(MIXER_RET_UNSPEC));
}

/* ENVID: A.3.1 content correlator "SMTP/NOTARY ENVID: " + ENVID; A.3.2 ENVID from the MTS
 * identifier "X400-MTS-Identifier: " + mts-msg-id. */
static void test_envid(void **state)
{
    (void)state;
    char out[600];
    static const struct {
        const char *name, *envid, *want;
        int rc;
    } to[] = {
        {"plain", "QQ314159", "SMTP/NOTARY ENVID: QQ314159", 0},
        {"from an MTS identifier stays a correlator",
         "X400-MTS-Identifier: [/C=GB/ADMD= /;a1]",
         "SMTP/NOTARY ENVID: X400-MTS-Identifier: [/C=GB/ADMD= /;a1]", 0},
        {"control character", "a\x01z", NULL, MG_EINVAL},
    };
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        int rc = mixer_dsnp_correlator(to[i].envid, out, sizeof out);
        if (rc != to[i].rc || (to[i].want && strcmp(out, to[i].want) != 0))
            fail_msg("case %s: rc %d, \"%s\"", to[i].name, rc, rc ? "" : out);
    }
    char big[600];
    memset(big, 'x', 500);
    big[500] = 0;
    assert_int_equal(mixer_dsnp_correlator(big, out, sizeof out), MG_ETOOBIG);

    assert_int_equal(mixer_dsnp_envid_of_correlator("SMTP/NOTARY ENVID: QQ314159", out, sizeof out), 0);
    assert_string_equal(out, "QQ314159");
    assert_int_equal(mixer_dsnp_envid_of_correlator("Subject:/Message-ID:x", out, sizeof out),
                     MG_ENOTFOUND);
    assert_int_equal(mixer_dsnp_envid_of_mts_id("[/C=GB/ADMD= /PRMD=X/;abc]", out, sizeof out), 0);
    assert_string_equal(out, "X400-MTS-Identifier: [/C=GB/ADMD= /PRMD=X/;abc]");
    memset(big, 'y', 120);
    big[120] = 0;
    assert_int_equal(mixer_dsnp_envid_of_mts_id(big, out, sizeof out), MG_ETOOBIG);
}

static void fill(struct mixer_dsnp_env *e)
{
    mixer_dsnp_env_init(e);
    snprintf(e->mts_id, sizeof e->mts_id, "[/C=GB/ADMD= /PRMD=Example/;1K20ABCDEF0000]");
    snprintf(e->originator, sizeof e->originator, "/C=GB/ADMD= /PRMD=Example/O=MIXER/RFC-822=alice(a)example.org/");
    snprintf(e->content_type, sizeof e->content_type, "22");
    e->precedence = 3; /* immediate: normal, qualifier high */
    e->content_return = mixer_dsnp_content_return(MIXER_RET_HDRS);
    assert_int_equal(mixer_dsnp_correlator("env-42", e->correlator, sizeof e->correlator), 0);
    snprintf(e->trace_gdi, sizeof e->trace_gdi, "/C=GB/ADMD= /PRMD=Example/");
    snprintf(e->arrival, sizeof e->arrival, "261207050000Z");
    struct mixer_dsnp_rcpt *r = mixer_dsnp_env_add(e);
    assert_non_null(r);
    snprintf(r->addr, sizeof r->addr, "/C=GB/ADMD= /PRMD=Example/O=Ops/S=Smith/");
    r->indicators = mixer_dsnp_indicators(MIXER_NOTIFY_SUCCESS);
    snprintf(r->orcpt, sizeof r->orcpt, "/C=GB/ADMD= /PRMD=Example/O=Ops/S=Desk/");
    r = mixer_dsnp_env_add(e);
    assert_non_null(r);
    snprintf(r->addr, sizeof r->addr, "/C=GB/ADMD= /PRMD=Example/O=Ops/G=Ann/S=Jones/");
    r->indicators = mixer_dsnp_indicators(MIXER_NOTIFY_NEVER);
}

/* The envelope written, compared with the golden file, read back: every field. */
static void test_envelope_round_trip(void **state)
{
    (void)state;
    struct mixer_dsnp_env e, b;
    fill(&e);
    struct mg_buf out;
    mg_buf_init(&out, 1u << 20);
    char why[300] = "";
    int rc = mixer_dsnp_env_to_ber(&e, &out, why, sizeof why);
    if (rc)
        fail_msg("to_ber: %s (%s)", mg_strerror(rc), why);
    char path[1024];
    snprintf(path, sizeof path, "%s/test-vectors/mixer/dsnp/envelope.ber", src_dir());
    if (getenv("MIXER_REGEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
        fclose(f);
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char gold[8192];
    size_t gl = fread(gold, 1, sizeof gold, f);
    fclose(f);
    assert_int_equal(gl, out.len);
    assert_memory_equal(gold, out.data, gl);

    mixer_dsnp_env_init(&b);
    rc = mixer_dsnp_env_from_ber(gold, gl, &b, why, sizeof why);
    if (rc)
        fail_msg("from_ber: %s (%s)", mg_strerror(rc), why);
    assert_string_equal(b.mts_id, e.mts_id);
    assert_string_equal(b.originator, e.originator);
    assert_string_equal(b.content_type, "22");
    assert_int_equal(b.priority, 0);   /* immediate travels as normal ... */
    assert_int_equal(b.precedence, 3); /* ... with the qualifier high */
    assert_true(b.content_return);
    assert_string_equal(b.correlator, "SMTP/NOTARY ENVID: env-42");
    assert_string_equal(b.trace_gdi, e.trace_gdi);
    assert_string_equal(b.arrival, e.arrival);
    assert_int_equal(b.nrcpts, 2);
    assert_string_equal(b.rcpts[0].addr, e.rcpts[0].addr);
    assert_int_equal(b.rcpts[0].indicators, e.rcpts[0].indicators);
    assert_int_equal(mixer_dsnp_notify(b.rcpts[0].indicators),
                     MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE);
    assert_string_equal(b.rcpts[0].orcpt, e.rcpts[0].orcpt);
    assert_string_equal(b.rcpts[0].redirected, e.arrival);
    assert_string_equal(b.rcpts[1].addr, e.rcpts[1].addr);
    assert_int_equal(mixer_dsnp_notify(b.rcpts[1].indicators), MIXER_NOTIFY_NEVER);
    assert_string_equal(b.rcpts[1].orcpt, "");
    char envid[200];
    assert_int_equal(mixer_dsnp_envid_of_correlator(b.correlator, envid, sizeof envid), 0);
    assert_string_equal(envid, "env-42");
    /* an extended content type and every precedence survive too */
    for (int p = 0; p <= 5; p++) {
        out.len = 0;
        snprintf(e.content_type, sizeof e.content_type, "1.3.26.0.4406.0.4.1");
        e.precedence = p;
        assert_int_equal(mixer_dsnp_env_to_ber(&e, &out, why, sizeof why), 0);
        assert_int_equal(mixer_dsnp_env_from_ber(out.data, out.len, &b, why, sizeof why), 0);
        assert_string_equal(b.content_type, "1.3.26.0.4406.0.4.1");
        assert_int_equal(b.precedence, p);
        static const int x411[6] = {1, 1, 0, 0, 2, 2}; /* ACP 123 pairs */
        assert_int_equal(b.priority, x411[p]);
    }
    mixer_dsnp_env_free(&b);
    mixer_dsnp_env_free(&e);
    mg_buf_free(&out);
}

/* Hostile or useless envelopes: errors, never a crash. */
static void test_envelope_refused(void **state)
{
    (void)state;
    struct mixer_dsnp_env e;
    mixer_dsnp_env_init(&e);
    char why[200];
    static const struct {
        const char *name;
        const char *ber;
        size_t len;
    } cases[] = {
        {"empty", "", 0},
        {"truncated SET", "\x31\x10\x02\x01", 4},
        {"an INTEGER", "\x02\x01\x05", 3},
        {"empty SET", "\x31\x00", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mixer_dsnp_env_from_ber(cases[i].ber, cases[i].len, &e, why, sizeof why) != MG_EPARSE)
            fail_msg("case %s accepted", cases[i].name);
    struct mg_buf out;
    mg_buf_init(&out, 1u << 20);
    assert_int_equal(mixer_dsnp_env_to_ber(&e, &out, why, sizeof why), MG_EINVAL);
    fill(&e);
    snprintf(e.mts_id, sizeof e.mts_id, "not-an-id");
    assert_int_equal(mixer_dsnp_env_to_ber(&e, &out, why, sizeof why), MG_EINVAL);
    mixer_dsnp_env_free(&e);
    mg_buf_free(&out);
}

/* A real envelope (the shared vectors' P772 transfer): its report requests read as NOTIFY. */
static void test_real_envelope(void **state)
{
    (void)state;
    const char *v = getenv("MIXGATE_VECTORS");
    char path[1024];
    snprintf(path, sizeof path, "%s/x400/ber/wsample-p1-MessageTransferEnvelope.ber", v ? v : "");
    FILE *f = v && *v ? fopen(path, "rb") : NULL;
    if (!f)
        skip();
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct mixer_dsnp_env e;
    mixer_dsnp_env_init(&e);
    char why[300] = "";
    int rc = mixer_dsnp_env_from_ber(buf, n, &e, why, sizeof why);
    if (rc)
        fail_msg("real envelope: %s (%s)", mg_strerror(rc), why);
    assert_true(e.nrcpts > 0);
    assert_true(e.mts_id[0] == '[');
    assert_true(e.originator[0] == '/');
    assert_true(e.trace_gdi[0] == '/');
    for (size_t i = 0; i < e.nrcpts; i++) {
        assert_true(e.rcpts[i].addr[0] == '/');
        unsigned nt = mixer_dsnp_notify(e.rcpts[i].indicators);
        assert_true(nt == MIXER_NOTIFY_NEVER || nt == MIXER_NOTIFY_FAILURE ||
                    nt == (MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE));
    }
    /* its one recipient asks for every report (originator-report set): SUCCESS,FAILURE */
    assert_int_equal(e.rcpts[0].indicators, 0xf0);
    assert_int_equal(mixer_dsnp_notify(e.rcpts[0].indicators),
                     MIXER_NOTIFY_SUCCESS | MIXER_NOTIFY_FAILURE);
    print_message("real envelope: %s from %s, %zu recipient(s), first indicators 0x%02x\n",
                  e.mts_id, e.originator, e.nrcpts, e.rcpts[0].indicators);
    mixer_dsnp_env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_to_indicators),
        cmocka_unit_test(test_indicators_to_notify),
        cmocka_unit_test(test_gateway_notify),
        cmocka_unit_test(test_ret),
        cmocka_unit_test(test_envid),
        cmocka_unit_test(test_envelope_round_trip),
        cmocka_unit_test(test_envelope_refused),
        cmocka_unit_test(test_real_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
