/* test_p1_mts: the MTS-APDU mapping (channels/p1/p1_mts) on the real P772 transfer of the
 * shared captures (envelope fields, O/R names in RFC 2156 text, the envelope slice, the
 * content byte for byte) and on broken inputs (every truncation is an error with a reason). */
#include "mg_asn1.h"
#include "p1_mts.h"
#include "p1_report.h"
#include "p1_test_util.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "LastTraceInformation.h"
#include "PerRecipientReportTransferFields.h"

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
    /* priority normal with the priority-level-qualifier high: immediate (3) */
    assert_int_equal(m.priority, 3);
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
    /* Responsibility: kept for the recipients of this delivery only. */
    uint8_t *env2 = malloc(m.envelope_len);
    assert_non_null(env2);
    for (int keep = 0; keep < 2; keep++) {
        memcpy(env2, m.envelope, m.envelope_len);
        const char *k[] = { m.rcpts[0].addr };
        assert_int_equal(p1_mts_responsibility(env2, m.envelope_len, k, keep ? 1 : 0), 0);
        assert_int_equal(p1_mts_relay(env2, m.envelope_len, 0, m.content, m.content_len, &ours, 0,
                                      &relay, &rlen), 0);
        assert_int_equal(p1_mts_decode(relay, rlen, &ours, &r2, why, sizeof why), 0);
        assert_int_equal(r2.rcpts[0].responsibility, keep);
        p1_mts_in_free(&r2);
        free(relay);
    }
    free(env2);
    /* not an envelope */
    static const uint8_t junk[] = { 0x30, 0x00 };
    assert_int_equal(p1_mts_relay(junk, sizeof junk, 0, NULL, 0, &ours, 0, &relay, &rlen), MG_EPARSE);
    p1_mts_in_free(&m);

    /* The X.411 message-security-label (standard extension 20) becomes the queue's label. */
    {
        MTS_APDU_t *a = NULL;
        assert_int_equal(mg_asn1_decode_MTS_APDU(apdu, len, &a, NULL), 0);
        MessageTransferEnvelope_t *e = &a->choice.message.envelope;
        ExtensionField_t *f = calloc(1, sizeof *f);
        static const uint8_t lab[] = { 0x31, 0x03, 0x02, 0x01, 0x03 }; /* SET { classification } */
        f->type.present = ExtensionType_PR_standard_extension;
        f->type.choice.standard_extension = 20;
        f->value = calloc(1, sizeof *f->value);
        f->value->buf = malloc(sizeof lab);
        memcpy(f->value->buf, lab, sizeof lab);
        f->value->size = sizeof lab;
        if (!e->extensions)
            e->extensions = calloc(1, sizeof *e->extensions);
        assert_int_equal(ASN_SET_ADD(&e->extensions->list, f), 0);
        unsigned char *der = NULL;
        size_t dlen = 0;
        assert_int_equal(mg_asn1_encode_der(&asn_DEF_MTS_APDU, a, &der, &dlen), 0);
        mg_asn1_free_MTS_APDU(a);
        assert_int_equal(p1_mts_decode(der, dlen, NULL, &m, why, sizeof why), 0);
        assert_int_equal(m.label_len, sizeof lab);
        assert_memory_equal(m.label, lab, sizeof lab);
        assert_int_equal(m.priority, 3); /* the qualifier is still read among the extensions */
        assert_string_equal(m.critical, "");
        p1_mts_in_free(&m);
        free(der);
        /* an extension we do not support, critical for transfer: flagged (not for delivery
         * only, nor one a relay meets by doing nothing) */
        static const struct { long type; uint8_t crit; const char *want; } cc[] = {
            { 5, 0x40, "standard 5" }, { 5, 0x20, "" }, { 3, 0x40, "" }, { 20, 0x40, "" } };
        for (size_t k = 0; k < sizeof cc / sizeof *cc; k++) {
            assert_int_equal(mg_asn1_decode_MTS_APDU(apdu, len, &a, NULL), 0);
            e = &a->choice.message.envelope;
            ExtensionField_t *x = calloc(1, sizeof *x);
            x->type.present = ExtensionType_PR_standard_extension;
            x->type.choice.standard_extension = cc[k].type;
            x->criticality = calloc(1, sizeof *x->criticality);
            x->criticality->buf = malloc(1);
            x->criticality->buf[0] = cc[k].crit;
            x->criticality->size = 1;
            x->criticality->bits_unused = 5;
            x->value = calloc(1, sizeof *x->value);
            x->value->buf = malloc(2);
            memcpy(x->value->buf, "\x05\x00", 2);
            x->value->size = 2;
            if (!e->extensions)
                e->extensions = calloc(1, sizeof *e->extensions);
            assert_int_equal(ASN_SET_ADD(&e->extensions->list, x), 0);
            assert_int_equal(mg_asn1_encode_der(&asn_DEF_MTS_APDU, a, &der, &dlen), 0);
            mg_asn1_free_MTS_APDU(a);
            assert_int_equal(p1_mts_decode(der, dlen, NULL, &m, why, sizeof why), 0);
            assert_string_equal(m.critical, cc[k].want);
            p1_mts_in_free(&m);
            free(der);
        }
    }

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

/* MIXGATE_P1_MTS_SEEDS=dir: write what we build as seeds of fuzz/corpus/p1_mts (by hand). */
static void seed(const char *name, const uint8_t *p, size_t n)
{
    const char *dir = getenv("MIXGATE_P1_MTS_SEEDS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
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
            .deferred = 1796613075L + 3600,
        };
        uint8_t *der = NULL;
        size_t len = 0;
        char why[200] = "";
        if (p1_mts_build(&o, &der, &len, why, sizeof why) != 0)
            fail_msg("build: %s", why);
        seed(probe ? "built-probe" : "built-message", der, len);
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
            /* the deferred delivery time, from the decode and from the stored envelope */
            assert_int_equal(m.deferred, 1796613075L + 3600);
            int64_t when = 0;
            assert_int_equal(p1_mts_deferred_time(m.envelope, m.envelope_len, &when), 1);
            assert_int_equal(when, 1796613075L + 3600);
        } else {
            assert_int_equal(m.deferred, 0);   /* a probe has none */
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

/* UTCTime as X.680 allows it (seconds optional, Z or an offset; 50..99 = 19xx) and what it
 * does not; a stored envelope without the field has no deferred delivery time. */
static void utctime(void **state)
{
    (void)state;
    static const struct { const char *in; int rc; int64_t want; } cases[] = {
        { "261207050000Z", 0, 1796619600 },           /* 2026-12-07T05:00:00Z */
        { "2612070500Z", 0, 1796619600 },             /* no seconds */
        { "261207070000+0200", 0, 1796619600 },       /* the same instant, 2 h east */
        { "261207033000-0130", 0, 1796619600 },
        { "700101000000Z", 0, 0 },
        { "991231235959Z", 0, 946684799 },            /* 1999 */
        { "000229120000Z", 0, 951825600 },            /* 2000-02-29, a leap day */
        { "261307050000Z", MG_EPARSE, 0 },            /* month 13 */
        { "261207056000Z", MG_EPARSE, 0 },            /* minute 60 */
        { "261207050000", MG_EPARSE, 0 },             /* no zone */
        { "2612070500Z0", MG_EPARSE, 0 },
        { "26120705000aZ", MG_EPARSE, 0 },
        { "261207050000+02", MG_EPARSE, 0 },
        { "", MG_EPARSE, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t t = -1;
        int rc = p1_mts_utctime((const uint8_t *)cases[i].in, strlen(cases[i].in), &t);
        if (rc != cases[i].rc || (rc == 0 && t != cases[i].want))
            fail_msg("%s: rc %d t %lld", cases[i].in, rc, (long long)t);
    }
    int64_t when = 5;
    static const uint8_t none[] = { 0x31, 0x03, 0x02, 0x01, 0x00 };
    assert_int_equal(p1_mts_deferred_time(none, sizeof none, &when), 0);
    assert_int_equal(when, 0);
    static const uint8_t bad[] = { 0x31, 0x04, 0x80, 0x02, '2', '6' };
    assert_int_equal(p1_mts_deferred_time(bad, sizeof bad, &when), MG_EPARSE);
    assert_int_equal(p1_mts_deferred_time(bad, 3, &when), MG_EPARSE);   /* truncated */
}

/* X.400 reports: a DR and an NDR for a P1 message, relayed as a Report APDU that decodes
 * back (destination = the subject's originator, codes and subject identifier in the content);
 * no report about a report, none for an Internet originator, none for delays only. */
static void reports(void **state)
{
    (void)state;
    struct message *m = message_create();
    assert_non_null(m);
    assert_int_equal(message_set_originator(m, "/C=FR/ADMD= /PRMD=Z/S=op/"), 0);
    assert_int_equal(message_set_x400(m, "[/C=FR/ADMD= /PRMD=Z/;abc-1]", "22", NULL, 0), 0);
    assert_int_equal(message_set_received(m, "PEER [127.0.0.1]", "P1"), 0);
    snprintf(m->id, sizeof m->id, "1K20AG4B5A9D00");
    assert_int_equal(message_add_rcpt(m, "/C=GB/ADMD= /PRMD=X/S=ok/", NULL, 0, NULL), 0);
    assert_int_equal(message_add_rcpt(m, "/C=GB/ADMD= /PRMD=X/CN=No One/", NULL, 0, NULL), 0);
    struct report_item items[] = {
        { .rcpt = 0, .action = DSN_ACTION_RELAYED, .status = "2.0.0", .diagnostic = "transferred",
          .x400_reason = -1, .x400_diagnostic = -1 },
        { .rcpt = 1, .action = DSN_ACTION_FAILED, .status = "5.1.2",
          .diagnostic = "550 5.1.2 <no.one@x.example>: no route; [retry] \"later\"",
          .x400_reason = -1, .x400_diagnostic = -1 },
    };
    struct oraddr us;
    assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &us, NULL, 0), 0);
    struct message *rm = NULL;
    unsigned char *rc_content = NULL;
    size_t rlen = 0;
    assert_int_equal(p1_report_build(&us, m, items, 2, NULL, 0, 1796613075, &rm, &rc_content, &rlen), 0);
    assert_non_null(rm);
    assert_int_equal(rm->content_type, MESSAGE_CONTENT_X400_REPORT);
    assert_string_equal(rm->originator, "");
    assert_int_equal(rm->nrcpts, 1);
    assert_string_equal(rm->rcpts[0].addr, "/C=FR/ADMD= /PRMD=Z/S=op/");
    assert_int_equal(rm->rcpts[0].kind, MESSAGE_ADDR_ORADDR);
    assert_true(report_is_report(rm));
    /* the p1 channel relays it as a Report APDU */
    uint8_t *apdu = NULL;
    size_t alen = 0;
    assert_int_equal(p1_mts_relay(rm->x400_env, rm->x400_env_len, 1, rc_content, rlen, &us,
                                  1796613076, &apdu, &alen), 0);
    seed("built-report", apdu, alen);
    struct p1_mts_in in;
    char why[200];
    assert_int_equal(p1_mts_decode(apdu, alen, &us, &in, why, sizeof why), 0);
    assert_int_equal(in.kind, P1_MTS_REPORT);
    assert_string_equal(in.rcpts[0].addr, "/C=FR/ADMD= /PRMD=Z/S=op/");
    assert_string_equal(in.mts_id, "[/C=XX/ADMD= /PRMD=MIXGATE/;R1K20AG4B5A9D00]");
    assert_int_equal(in.ntrace, 2);
    p1_mts_in_free(&in);
    ReportTransferContent_t *c = NULL;
    assert_int_equal(mg_asn1_decode_ReportTransferContent(rc_content, rlen, &c, NULL), 0);
    assert_int_equal(c->per_recipient_fields.list.count, 2);
    const LastTraceInformation_t *l0 = &c->per_recipient_fields.list.array[0]->last_trace_information;
    const LastTraceInformation_t *l1 = &c->per_recipient_fields.list.array[1]->last_trace_information;
    assert_int_equal(l0->report_type.present, ReportType_PR_delivery);
    assert_int_equal(l1->report_type.present, ReportType_PR_non_delivery);
    assert_int_equal(l1->report_type.choice.non_delivery.non_delivery_reason_code, 1);
    assert_non_null(l1->report_type.choice.non_delivery.non_delivery_diagnostic_code);
    assert_int_equal(*l1->report_type.choice.non_delivery.non_delivery_diagnostic_code, 0);
    char local[64];
    snprintf(local, sizeof local, "%.*s", (int)c->subject_identifier.local_identifier.size,
             (const char *)c->subject_identifier.local_identifier.buf);
    assert_string_equal(local, "abc-1");
    char cn[ORADDR_TEXT_MAX];
    assert_int_equal(p1_mts_orname_text(&c->per_recipient_fields.list.array[1]->actual_recipient_name,
                                        cn, sizeof cn), 0);
    assert_string_equal(cn, "/C=GB/ADMD= /PRMD=X/CN=No One/");
    /* the reply text as a PrintableString: what it cannot hold became spaces */
    const PerRecipientReportTransferFields_t *f1 = c->per_recipient_fields.list.array[1];
    assert_non_null(f1->supplementary_information);
    assert_int_equal(f1->supplementary_information->size, 55);
    assert_memory_equal(f1->supplementary_information->buf,
                        "550 5.1.2  no.one x.example : no route   retry   later ", 55);
    mg_asn1_free_ReportTransferContent(c);
    free(apdu);
    /* A report content made elsewhere (the mixer's X.400 form of a DSN) in a new envelope of
     * ours: decodes as a Report APDU to its destination, the content byte for byte. */
    apdu = NULL;
    alen = 0;
    why[0] = '\0';
    assert_int_equal(p1_mts_report_apdu(&us, "RDSN-1", "/C=FR/ADMD= /PRMD=Z/S=op/", 1796613077,
                                        rc_content, rlen, NULL, 0, &apdu, &alen, why, sizeof why), 0);
    seed("built-report-new", apdu, alen);
    assert_int_equal(p1_mts_decode(apdu, alen, &us, &in, why, sizeof why), 0);
    assert_int_equal(in.kind, P1_MTS_REPORT);
    assert_string_equal(in.rcpts[0].addr, "/C=FR/ADMD= /PRMD=Z/S=op/");
    assert_string_equal(in.mts_id, "[/C=XX/ADMD= /PRMD=MIXGATE/;RDSN-1]");
    assert_int_equal(in.ntrace, 1);
    assert_true(in.trace_has_us);
    assert_int_equal(in.content_len, rlen);
    assert_memory_equal(in.content, rc_content, rlen);
    p1_mts_in_free(&in);
    free(apdu);
    /* what is not a ReportTransferContent, or a destination that is no O/R address */
    static const uint8_t notrc[] = { 0x31, 0x03, 0x02, 0x01, 0x05 };
    why[0] = '\0';
    assert_int_equal(p1_mts_report_apdu(&us, "x", "/C=FR/ADMD= /PRMD=Z/S=op/", 0, notrc,
                                        sizeof notrc, NULL, 0, &apdu, &alen, why, sizeof why), MG_EPARSE);
    assert_null(apdu);
    assert_non_null(strstr(why, "not an X.411 ReportTransferContent"));
    why[0] = '\0';
    assert_int_equal(p1_mts_report_apdu(&us, "x", "op@example.org", 0, rc_content, rlen, NULL, 0, &apdu,
                                        &alen, why, sizeof why), MG_EINVAL);
    assert_null(apdu);
    assert_true(why[0] != '\0');
    free(rc_content);
    /* never a report about a report */
    struct message *r2 = NULL;
    unsigned char *c2 = NULL;
    size_t l2 = 0;
    struct report_item again = { .rcpt = 0, .action = DSN_ACTION_FAILED, .status = "5.1.2",
                                 .x400_reason = -1, .x400_diagnostic = -1 };
    assert_int_equal(p1_report_build(&us, rm, &again, 1, NULL, 0, 0, &r2, &c2, &l2), 0);
    assert_null(r2);
    message_free(rm);
    /* delays only: no X.400 report */
    struct report_item delayed = { .rcpt = 0, .action = DSN_ACTION_DELAYED, .status = "4.4.1",
                                   .x400_reason = -1, .x400_diagnostic = -1 };
    assert_int_equal(p1_report_build(&us, m, &delayed, 1, NULL, 0, 0, &r2, &c2, &l2), 0);
    assert_null(r2);
    /* an Internet originator gets none from here */
    assert_int_equal(message_set_originator(m, "op@example.org"), 0);
    assert_int_equal(p1_report_build(&us, m, items, 2, NULL, 0, 0, &r2, &c2, &l2), 0);
    assert_null(r2);
    message_free(m);
}

/* A report carries its subject's security label (X.411: the message-security-label of the
 * ReportTransferEnvelope): in the envelope it relays, which decodes back, and as the queued
 * report's label the delivery gate decides. A subject without one takes the stand-in label of
 * report_build (the labels group's report label), for X.400 reports and DSNs alike. */
static void report_labels(void **state)
{
    (void)state;
    /* SecurityLabel ::= SET { security-classification 2, security-policy-identifier 1.2.3 } */
    static const uint8_t label[] = { 0x31, 0x07, 0x02, 0x01, 0x02, 0x06, 0x02, 0x2a, 0x03 };
    static const uint8_t standin[] = { 0x31, 0x07, 0x02, 0x01, 0x00, 0x06, 0x02, 0x2a, 0x03 };
    struct oraddr us;
    assert_int_equal(oraddr_parse("/C=XX/ADMD= /PRMD=MIXGATE/", &us, NULL, 0), 0);
    struct report_item item = { .rcpt = 0, .action = DSN_ACTION_FAILED, .status = "5.7.1",
                                .diagnostic = "delivery not authorized", .x400_reason = 1,
                                .x400_diagnostic = 46 };
    struct {
        const char *name;
        const char *originator;
        const uint8_t *subject_label; size_t subject_len;
        const uint8_t *standin; size_t standin_len;
        const uint8_t *want; size_t want_len; /* NULL: the report has no label */
    } cases[] = {
        { "x400 subject label", "/C=FR/ADMD= /PRMD=Z/S=op/", label, sizeof label, standin, sizeof standin,
          label, sizeof label },
        { "x400 unlabelled, stand-in", "/C=FR/ADMD= /PRMD=Z/S=op/", NULL, 0, standin, sizeof standin,
          standin, sizeof standin },
        { "x400 unlabelled, none", "/C=FR/ADMD= /PRMD=Z/S=op/", NULL, 0, NULL, 0, NULL, 0 },
        { "dsn subject label", "op@example.org", label, sizeof label, standin, sizeof standin,
          label, sizeof label },
        { "dsn unlabelled, stand-in", "op@example.org", NULL, 0, standin, sizeof standin,
          standin, sizeof standin },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct message *m = message_create();
        assert_non_null(m);
        int x400 = cases[i].originator[0] == '/';
        assert_int_equal(message_set_originator(m, cases[i].originator), 0);
        assert_int_equal(message_set_x400(m, "[/C=FR/ADMD= /PRMD=Z/;lbl-1]", "22", NULL, 0), 0);
        assert_int_equal(message_set_received(m, "PEER [127.0.0.1]", x400 ? "P1" : "ESMTP"), 0);
        snprintf(m->id, sizeof m->id, "1K20AG4B5A9D0%zu", i);
        assert_int_equal(message_add_rcpt(m, "/C=GB/ADMD= /PRMD=X/S=denied/", NULL, 0, NULL), 0);
        if (cases[i].subject_label)
            assert_int_equal(message_set_label(m, cases[i].subject_label, cases[i].subject_len), 0);
        struct report_ctx ctx = { .reporting_mta = "mx.example", .now = 1796613075,
                                  .x400 = p1_report_build, .x400_ctx = &us,
                                  .unlabelled_label = cases[i].standin,
                                  .unlabelled_label_len = cases[i].standin_len };
        static const char body[] = "Subject: x\r\n\r\nbody\r\n";
        struct message *rm = NULL;
        unsigned char *rc_content = NULL;
        size_t rlen = 0;
        assert_int_equal(report_build(&ctx, m, &item, 1, body, sizeof body - 1, &rm, &rc_content, &rlen), 0);
        assert_non_null(rm);
        if (cases[i].want) {
            assert_int_equal(rm->label_len, cases[i].want_len);
            assert_memory_equal(rm->label, cases[i].want, cases[i].want_len);
        } else {
            assert_null(rm->label);
        }
        /* the subject is not changed by the stand-in */
        assert_int_equal(m->label_len, cases[i].subject_len);
        if (x400) {
            uint8_t *apdu = NULL;
            size_t alen = 0;
            assert_int_equal(p1_mts_relay(rm->x400_env, rm->x400_env_len, 1, rc_content, rlen, &us,
                                          1796613076, &apdu, &alen), 0);
            if (i == 0)
                seed("built-report-label", apdu, alen);
            struct p1_mts_in in;
            char why[200] = "";
            assert_int_equal(p1_mts_decode(apdu, alen, &us, &in, why, sizeof why), 0);
            assert_int_equal(in.kind, P1_MTS_REPORT);
            if (cases[i].want) {
                assert_int_equal(in.label_len, cases[i].want_len);
                assert_memory_equal(in.label, cases[i].want, cases[i].want_len);
            } else {
                assert_null(in.label);
            }
            p1_mts_in_free(&in);
            free(apdu);
        }
        message_free(rm);
        free(rc_content);
        message_free(m);
    }
}

/* `mixgate p1 send --label`: the envelope's message-security-label as given, read back by
 * the decoder (the queue's label); a value that is no X.411 SecurityLabel is refused with the
 * reason, never sent. */
static void build_with_label(void **state)
{
    (void)state;
    struct oraddr gdi;
    assert_int_equal(oraddr_parse("/C=GB/ADMD= /PRMD=MIXGATE/", &gdi, NULL, 0), 0);
    const char *rcpts[] = { "/C=GB/ADMD= /PRMD=X/S=One/" };
    static const uint8_t body[] = { 0x31, 0x00 };
    static const uint8_t label[] = { 0x31, 0x07, 0x02, 0x01, 0x04, 0x06, 0x02, 0x2a, 0x03 };
    static const uint8_t notlabel[] = { 0x30, 0x03, 0x02, 0x01, 0x04 };
    struct {
        const char *name;
        enum p1_mts_kind kind;
        const uint8_t *label; size_t len;
        int want;
    } cases[] = {
        { "message", P1_MTS_MESSAGE, label, sizeof label, 0 },
        { "probe", P1_MTS_PROBE, label, sizeof label, 0 },
        { "not a SecurityLabel", P1_MTS_MESSAGE, notlabel, sizeof notlabel, MG_EINVAL },
        { "truncated", P1_MTS_MESSAGE, label, sizeof label - 1, MG_EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct p1_mts_out o = {
            .kind = cases[i].kind, .local_id = "lbl-1", .gdi = &gdi, .originator = "/C=FR/ADMD= /PRMD=Z/S=op/",
            .rcpts = rcpts, .nrcpts = 1, .content_oid = "22", .content = body, .content_len = sizeof body,
            .priority = 1, .now = 1796613075L, .label = cases[i].label, .label_len = cases[i].len,
        };
        uint8_t *der = NULL;
        size_t len = 0;
        char why[200] = "";
        int rc = p1_mts_build(&o, &der, &len, why, sizeof why);
        if (rc != cases[i].want)
            fail_msg("%s: %d (%s)", cases[i].name, rc, why);
        if (rc) {
            assert_non_null(strstr(why, "security label"));
            assert_null(der);
            continue;
        }
        if (cases[i].kind == P1_MTS_MESSAGE)
            seed("built-message-label", der, len);
        struct p1_mts_in m;
        assert_int_equal(p1_mts_decode(der, len, &gdi, &m, why, sizeof why), 0);
        if (cases[i].kind == P1_MTS_MESSAGE) {
            assert_int_equal(m.label_len, sizeof label);
            assert_memory_equal(m.label, label, sizeof label);
        }
        p1_mts_in_free(&m);
        free(der);
    }
}

/* The label the gate decided on goes out in a relayed envelope: p1_mts_env_set_label replaces
 * (or adds) the message-security-label of a stored envelope and keeps everything else; the
 * same label leaves it alone. */
static void relay_label_replaced(void **state)
{
    (void)state;
    struct oraddr gdi;
    assert_int_equal(oraddr_parse("/C=GB/ADMD= /PRMD=MIXGATE/", &gdi, NULL, 0), 0);
    const char *rcpts[] = { "/C=GB/ADMD= /PRMD=X/S=One/" };
    static const uint8_t body[] = { 0x31, 0x00 };
    static const uint8_t secret[] = { 0x31, 0x07, 0x02, 0x01, 0x04, 0x06, 0x02, 0x2a, 0x03 };
    static const uint8_t conf[] = { 0x31, 0x07, 0x02, 0x01, 0x03, 0x06, 0x02, 0x2a, 0x03 };
    struct {
        const char *name;
        const uint8_t *sent; size_t sent_len;   /* the envelope's label as received */
        const uint8_t *now; size_t now_len;     /* the label the gate decided on */
        int rewritten;
    } cases[] = {
        { "replaced", secret, sizeof secret, conf, sizeof conf, 1 },
        { "added", NULL, 0, conf, sizeof conf, 1 },
        { "same", secret, sizeof secret, secret, sizeof secret, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct p1_mts_out o = {
            .kind = P1_MTS_MESSAGE, .local_id = "rl-1", .gdi = &gdi, .originator = "/C=FR/ADMD= /PRMD=Z/S=op/",
            .rcpts = rcpts, .nrcpts = 1, .content_oid = "22", .content = body, .content_len = sizeof body,
            .priority = 1, .now = 1796613075L, .deferred = 1796613075L + 60, .label = cases[i].sent,
            .label_len = cases[i].sent_len,
        };
        uint8_t *der = NULL, *env2 = NULL, *apdu = NULL;
        size_t len = 0, env2_len = 0, alen = 0;
        char why[200] = "";
        assert_int_equal(p1_mts_build(&o, &der, &len, why, sizeof why), 0);
        struct p1_mts_in m;
        assert_int_equal(p1_mts_decode(der, len, &gdi, &m, why, sizeof why), 0);
        assert_int_equal(p1_mts_env_set_label(m.envelope, m.envelope_len, 0, cases[i].now, cases[i].now_len,
                                              &env2, &env2_len), 0);
        if (!cases[i].rewritten) {
            assert_null(env2);
            p1_mts_in_free(&m);
            free(der);
            continue;
        }
        assert_non_null(env2);
        assert_int_equal(p1_mts_relay(env2, env2_len, 0, body, sizeof body, &gdi, 1796613076L, &apdu, &alen), 0);
        struct p1_mts_in r;
        assert_int_equal(p1_mts_decode(apdu, alen, &gdi, &r, why, sizeof why), 0);
        assert_int_equal(r.label_len, cases[i].now_len);
        assert_memory_equal(r.label, cases[i].now, cases[i].now_len);
        /* everything else as received */
        assert_string_equal(r.mts_id, m.mts_id);
        assert_string_equal(r.originator, m.originator);
        assert_int_equal(r.deferred, m.deferred);
        assert_int_equal(r.ntrace, 2);
        p1_mts_in_free(&r);
        free(apdu);
        free(env2);
        p1_mts_in_free(&m);
        free(der);
    }
    /* not an envelope */
    uint8_t *out = NULL;
    size_t ol = 0;
    static const uint8_t junk[] = { 0x30, 0x00 };
    assert_int_equal(p1_mts_env_set_label(junk, sizeof junk, 0, secret, sizeof secret, &out, &ol), MG_EPARSE);
    assert_null(out);
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
        cmocka_unit_test(utctime),
        cmocka_unit_test(reports),
        cmocka_unit_test(report_labels),
        cmocka_unit_test(build_with_label),
        cmocka_unit_test(relay_label_replaced),
        cmocka_unit_test(garbage),
    };
    return cmocka_run_group_tests_name("p1_mts", tests, NULL, NULL);
}
