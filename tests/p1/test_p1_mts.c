/* test_p1_mts: the MTS-APDU mapping (channels/p1/p1_mts) on the real P772 transfer of the
 * shared captures (envelope fields, O/R names in RFC 2156 text, the envelope slice, the
 * content byte for byte) and on broken inputs (every truncation is an error with a reason). */
#include "p1_mts.h"
#include "p1_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mg_err.h"

static void real_p772(void **state)
{
    (void)state;
    struct mg_buf vb = { 0 }, eb = { 0 }, cb = { 0 };
    if (ptu_vector("ber/wsample-p1-MTS-APDU-message-p772.ber", &vb) ||
        ptu_vector("ber/wsample-p1-MessageTransferEnvelope.ber", &eb) ||
        ptu_vector("ber/wsample-p772-content.p772", &cb)) {
        mg_buf_free(&vb);
        mg_buf_free(&eb);
        mg_buf_free(&cb);
        skip();
    }
    const uint8_t *apdu = vb.data, *env = eb.data, *content = cb.data;
    size_t len = vb.len, elen = eb.len, clen = cb.len;
    struct p1_mts_in m;
    char why[200];
    assert_int_equal(p1_mts_decode(apdu, len, NULL, &m, why, sizeof why), 0);
    assert_int_equal(m.kind, P1_MTS_MESSAGE);
    assert_string_equal(m.mts_id, "[/C=gb/ADMD= /PRMD=smhs/;percival.s:055680:20051001113050]");
    assert_string_equal(m.originator, "/C=gb/ADMD= /PRMD=smhs/O=percival/S=gal/");
    assert_string_equal(m.content_oid, "1.3.26.0.4406.0.4.1");
    assert_int_equal(m.nrcpts, 1);
    assert_string_equal(m.rcpts[0].addr, "/C=gb/ADMD= /PRMD=smhs/O=guinevere/CN=ethereal/");
    assert_true(m.rcpts[0].responsibility);
    assert_int_equal(m.ntrace, 1);
    assert_false(m.trace_has_us);
    /* the envelope slice is the capture's envelope; the content is the capture's content */
    assert_int_equal(m.envelope_len, elen);
    assert_memory_equal(m.envelope, env, elen);
    assert_int_equal(m.content_len, clen);
    assert_memory_equal(m.content, content, clen);
    p1_mts_in_free(&m);

    /* Our own domain in the trace is a loop. */
    struct oraddr us;
    assert_int_equal(oraddr_parse("/C=GB/ADMD= /PRMD=SMHS/", &us, NULL, 0), 0);
    assert_int_equal(p1_mts_decode(apdu, len, &us, &m, why, sizeof why), 0);
    assert_true(m.trace_has_us);
    p1_mts_in_free(&m);
    assert_int_equal(oraddr_parse("/C=GB/ADMD= /PRMD=OTHER/", &us, NULL, 0), 0);
    assert_int_equal(p1_mts_decode(apdu, len, &us, &m, why, sizeof why), 0);
    assert_false(m.trace_has_us);
    p1_mts_in_free(&m);

    /* Relayed: the envelope as received plus our trace element, the content unchanged. */
    assert_int_equal(p1_mts_decode(apdu, len, NULL, &m, why, sizeof why), 0);
    struct oraddr ours;
    assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &ours, NULL, 0), 0);
    uint8_t *relay = NULL;
    size_t rlen = 0;
    assert_int_equal(p1_mts_relay(m.envelope, m.envelope_len, 0, m.content, m.content_len, &ours,
                                  1796613075L, &relay, &rlen), 0);
    struct p1_mts_in r2;
    assert_int_equal(p1_mts_decode(relay, rlen, &ours, &r2, why, sizeof why), 0);
    assert_int_equal(r2.ntrace, 2);
    assert_true(r2.trace_has_us);
    assert_string_equal(r2.mts_id, m.mts_id);
    assert_string_equal(r2.originator, m.originator);
    assert_string_equal(r2.content_oid, m.content_oid);
    assert_string_equal(r2.rcpts[0].addr, m.rcpts[0].addr);
    assert_int_equal(r2.content_len, m.content_len);
    assert_memory_equal(r2.content, m.content, m.content_len);
    /* only the trace grew: the new envelope is the old one plus the element and lengths */
    assert_true(r2.envelope_len > m.envelope_len);
    p1_mts_in_free(&r2);
    free(relay);
    /* not an envelope */
    static const uint8_t junk[] = { 0x30, 0x00 };
    assert_int_equal(p1_mts_relay(junk, sizeof junk, 0, NULL, 0, &ours, 0, &relay, &rlen), MG_EPARSE);
    p1_mts_in_free(&m);

    /* Every truncation fails with a reason and leaves nothing allocated. */
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 37)) {
        why[0] = '\0';
        int rc = p1_mts_decode(apdu, cut, NULL, &m, why, sizeof why);
        if (rc == 0)
            fail_msg("truncated at %zu decoded", cut);
        assert_true(why[0] != '\0');
    }
    mg_buf_free(&vb);
    mg_buf_free(&eb);
    mg_buf_free(&cb);
}

/* What p1_mts_build makes decodes back to the same plain fields (message and probe). */
static void build_roundtrip(void **state)
{
    (void)state;
    struct oraddr gdi;
    assert_int_equal(oraddr_parse("/C=GB/ADMD= /PRMD=MIXGATE/", &gdi, NULL, 0), 0);
    const char *rcpts[] = { "/C=GB/ADMD= /PRMD=X/O=Y/OU=A/OU=B/S=Smith/G=John/",
                            "/C=GB/ADMD=BT/PRMD=X/CN=Bob Jones/", "/C=DE/ADMD= /DD.ID=7/" };
    static const uint8_t body[] = { 0x31, 0x00 };
    for (int probe = 0; probe < 2; probe++) {
        struct p1_mts_out o = {
            .kind = probe ? P1_MTS_PROBE : P1_MTS_MESSAGE, .local_id = "id-1", .gdi = &gdi,
            .originator = "/C=FR/ADMD= /PRMD=Z/S=op/", .rcpts = rcpts, .nrcpts = 3,
            .content_oid = probe ? "22" : "1.3.26.0.4406.0.4.1", .content = body,
            .content_len = sizeof body, .priority = 3, .now = 1796613075L,
        };
        uint8_t *der = NULL;
        size_t len = 0;
        char why[200] = "";
        if (p1_mts_build(&o, &der, &len, why, sizeof why) != 0)
            fail_msg("build: %s", why);
        struct p1_mts_in m;
        assert_int_equal(p1_mts_decode(der, len, &gdi, &m, why, sizeof why), 0);
        assert_int_equal(m.kind, o.kind);
        assert_string_equal(m.mts_id, "[/C=GB/ADMD= /PRMD=MIXGATE/;id-1]");
        assert_string_equal(m.originator, o.originator);
        assert_string_equal(m.content_oid, o.content_oid);
        assert_int_equal(m.nrcpts, 3);
        for (int i = 0; i < 3; i++)
            assert_string_equal(m.rcpts[i].addr, rcpts[i]);
        assert_true(m.trace_has_us);
        if (!probe) {
            assert_int_equal(m.priority, 3);
            assert_int_equal(m.content_len, sizeof body);
        }
        p1_mts_in_free(&m);
        free(der);
    }
    /* a value X.411 does not allow (a country name of 3 letters) is refused with a reason */
    const char *bad[] = { "/C=GBR/ADMD= /S=x/" };
    struct p1_mts_out o = { .kind = P1_MTS_MESSAGE, .local_id = "x", .gdi = &gdi,
                            .originator = "/C=GB/ADMD= /S=y/", .rcpts = bad, .nrcpts = 1,
                            .content_oid = "22", .now = 0 };
    uint8_t *der = NULL;
    size_t len;
    char why[200] = "";
    assert_int_equal(p1_mts_build(&o, &der, &len, why, sizeof why), MG_EINVAL);
    assert_true(why[0] != '\0');
    assert_null(der);
}

static void garbage(void **state)
{
    (void)state;
    static const uint8_t cases[][8] = {
        { 0xa0, 0x00 },                         /* empty message */
        { 0xa2, 0x02, 0x31, 0x00 },             /* probe with an empty envelope */
        { 0x04, 0x01, 0x00 },                   /* not an MTS-APDU */
        { 0xa0, 0x80, 0x31, 0x80, 0x00, 0x00 }, /* indefinite, unterminated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct p1_mts_in m;
        char why[200] = "";
        assert_true(p1_mts_decode(cases[i], sizeof cases[i], NULL, &m, why, sizeof why) < 0);
        assert_true(why[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_p772),
        cmocka_unit_test(build_roundtrip),
        cmocka_unit_test(garbage),
    };
    return cmocka_run_group_tests_name("p1_mts", tests, NULL, NULL);
}
