/* Our encoders against an independent decoder: a P1 association (bind request and
 * response, a probe and a report transferred with RTTR, release) whose every ASN.1 layer is DER from mg_asn1 (P1 bind, ROS wrapper,
 * RTSE, EXTERNAL, ACSE, presentation) is framed in TPKT/COTP/session on TCP port 102,
 * written as a pcap, and dissected by `tshark -V`: the test fails on "Malformed" or any
 * expert error or warning, and checks that tshark reads back the values we put in. The PDUs start from
 * the real capture's (decoded), get new names and passwords, and are re-encoded from the
 * innermost layer out. Skips loudly without tshark or the vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "asn1_test_util.h"
#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "p1_session.h"
#include "p1_tpkt.h"
#include "pcap_writer.h"

#include "Association-data.h"
#include "Extensions.h"
#include "Fully-encoded-data.h"
#include "User-data.h"

static const struct mg_asn1_pcontext p1_ctx[] = {
    {1, &asn_DEF_ACSE_apdu}, {3, &asn_DEF_RTSE_apdus}, {5, &asn_DEF_MTS_APDU}};

/* Replace an open value's bytes with the DER of (td, v). */
static void set_any(ANY_t *any, const asn_TYPE_descriptor_t *td, const void *v)
{
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(mg_asn1_encode_der(td, v, &der, &len), 0);
    free(any->buf);
    any->buf = der;
    any->size = (int)len;
}

static void set_str(OCTET_STRING_t *s, const char *text)
{
    assert_int_equal(OCTET_STRING_fromString(s, text), 0);
}

static void der_of(const asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out)
{
    assert_int_equal(atu_append_der(td, v, out), 0);
}

/* CP PPDU carrying AARQ + RTORQ + MTA-Bind-Invoke{initiator, password}. */
static void build_cp(const char *initiator, const char *password, struct mg_buf *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(atu_read_vector("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", &data,
                                     &len), 0);
    CP_type_t *cp = NULL;
    assert_int_equal(mg_asn1_decode_CP_type(data, len, &cp, NULL), 0);
    free(data);
    PDV_list_t *pdv = cp->normal_mode_parameters->user_data->choice.fully_encoded_data.list.array[0];
    struct mg_asn1_value acse = {0}, rtse = {0};
    assert_int_equal(mg_asn1_open_pdv_decode(pdv, p1_ctx, 3, &acse, NULL), 0);
    ACSE_apdu_t *a = acse.ptr;
    External_t *x = a->choice.aarq.user_information->list.array[0];
    assert_int_equal(mg_asn1_open_external_decode(x, p1_ctx, 3, &rtse, NULL), 0);
    RTSE_apdus_t *r = rtse.ptr;
    MTA_Bind_Invoke_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtorq_bind(&r->choice.rtorq_apdu, &b, NULL), 0);

    set_str(&b->choice.authenticated.initiator_name, initiator);
    set_str(&b->choice.authenticated.initiator_credentials.choice.simple.choice.ia5_string,
            password);
    set_any(&r->choice.rtorq_apdu.connectionDataRQ.choice.open, &asn_DEF_MTA_Bind_Invoke, b);
    set_any(&x->encoding.choice.single_ASN1_type, &asn_DEF_RTSE_apdus, r);
    set_any(&pdv->presentation_data_values.choice.single_ASN1_type, &asn_DEF_ACSE_apdu, a);
    der_of(&asn_DEF_CP_type, cp, out);

    mg_asn1_free_MTA_Bind_Invoke(b);
    mg_asn1_value_free(&rtse);
    mg_asn1_value_free(&acse);
    mg_asn1_free_CP_type(cp);
}

/* CPA PPDU carrying AARE(accepted) + RTOAC + MTA-Bind-Result{responder, password}. */
static void build_cpa(const char *responder, const char *password, struct mg_buf *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(atu_read_vector("x400/ber/wsample-pres-CPA-ppdu-aare-rtoac.ber", &data, &len),
                     0);
    CPA_PPDU_t *cpa = NULL;
    assert_int_equal(mg_asn1_decode_CPA_PPDU(data, len, &cpa, NULL), 0);
    free(data);
    PDV_list_t *pdv =
        cpa->normal_mode_parameters->user_data->choice.fully_encoded_data.list.array[0];
    struct mg_asn1_value acse = {0}, rtse = {0};
    assert_int_equal(mg_asn1_open_pdv_decode(pdv, p1_ctx, 3, &acse, NULL), 0);
    ACSE_apdu_t *a = acse.ptr;
    External_t *x = a->choice.aare.user_information->list.array[0];
    assert_int_equal(mg_asn1_open_external_decode(x, p1_ctx, 3, &rtse, NULL), 0);
    RTSE_apdus_t *r = rtse.ptr;
    MTA_Bind_Result_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtoac_bind(&r->choice.rtoac_apdu, &b, NULL), 0);

    set_str(&b->choice.authenticated.responder_name, responder);
    set_str(&b->choice.authenticated.responder_credentials.choice.simple.choice.ia5_string,
            password);
    set_any(&r->choice.rtoac_apdu.connectionDataAC.choice.open, &asn_DEF_MTA_Bind_Result, b);
    set_any(&x->encoding.choice.single_ASN1_type, &asn_DEF_RTSE_apdus, r);
    set_any(&pdv->presentation_data_values.choice.single_ASN1_type, &asn_DEF_ACSE_apdu, a);
    der_of(&asn_DEF_CPA_PPDU, cpa, out);

    mg_asn1_free_MTA_Bind_Result(b);
    mg_asn1_value_free(&rtse);
    mg_asn1_value_free(&acse);
    mg_asn1_free_CPA_PPDU(cpa);
}



/* ---- P1 probe and report, written in XER (readable fixtures), sent as RTTR ---- */

#define GDI_XER                                                                            \
    "<global-domain-identifier><country-name><iso-3166-alpha2-code>gb</iso-3166-alpha2-code>" \
    "</country-name><administration-domain-name><printable> </printable>"                  \
    "</administration-domain-name><private-domain-identifier><printable>mixgate</printable>" \
    "</private-domain-identifier></global-domain-identifier>"
#define ORNAME_XER(org, surname)                                                           \
    "<built-in-standard-attributes><country-name><iso-3166-alpha2-code>gb"                 \
    "</iso-3166-alpha2-code></country-name><administration-domain-name><printable> "       \
    "</printable></administration-domain-name><private-domain-name><printable>mixgate"     \
    "</printable></private-domain-name><organization-name>" org "</organization-name>"     \
    "<personal-name><surname>" surname "</surname></personal-name>"                        \
    "</built-in-standard-attributes>"
#define TRACE_XER                                                                          \
    "<trace-information><TraceInformationElement>" GDI_XER                                 \
    "<domain-supplied-information><arrival-time>251123054700Z</arrival-time>"              \
    "<routing-action><relayed/></routing-action></domain-supplied-information>"            \
    "</TraceInformationElement></trace-information>"

static const char probe_xer[] =
    "<MTS-APDU><probe>"
    "<probe-identifier>" GDI_XER "<local-identifier>probe-0001</local-identifier></probe-identifier>"
    "<originator-name>" ORNAME_XER("example", "prober") "</originator-name>"
    "<content-type><built-in>22</built-in></content-type>"
    "<content-length>1234</content-length>"
    TRACE_XER
    "<per-recipient-fields><PerRecipientProbeTransferFields>"
    "<recipient-name>" ORNAME_XER("example", "target") "</recipient-name>"
    "<originally-specified-recipient-number>1</originally-specified-recipient-number>"
    "<per-recipient-indicators>10010000</per-recipient-indicators>"
    "</PerRecipientProbeTransferFields></per-recipient-fields>"
    "</probe></MTS-APDU>";

static const char report_xer[] =
    "<MTS-APDU><report><envelope>"
    "<report-identifier>" GDI_XER "<local-identifier>report-0001</local-identifier></report-identifier>"
    "<report-destination-name>" ORNAME_XER("example", "prober") "</report-destination-name>"
    TRACE_XER
    "</envelope><content>"
    "<subject-identifier>" GDI_XER "<local-identifier>probe-0001</local-identifier></subject-identifier>"
    "<per-recipient-fields><PerRecipientReportTransferFields>"
    "<actual-recipient-name>" ORNAME_XER("example", "target") "</actual-recipient-name>"
    "<originally-specified-recipient-number>1</originally-specified-recipient-number>"
    "<per-recipient-indicators>10000000</per-recipient-indicators>"
    "<last-trace-information><arrival-time>251123054800Z</arrival-time>"
    "<report-type><non-delivery><non-delivery-reason-code>1</non-delivery-reason-code>"
    "<non-delivery-diagnostic-code>0</non-delivery-diagnostic-code></non-delivery></report-type>"
    "</last-trace-information>"
    "</PerRecipientReportTransferFields></per-recipient-fields>"
    "</content></report></MTS-APDU>";

/* MTS-APDU from XER; the probe also gets a message-security-label extension built with
 * mg_asn1_open_ext_set_std (policy 1.3.26.1.3.1, secret, critical for delivery). */
static MTS_APDU_t *apdu_from_xer(const char *xer)
{
    MTS_APDU_t *a = NULL;
    asn_dec_rval_t r = xer_decode(NULL, &asn_DEF_MTS_APDU, (void **)&a, xer, strlen(xer));
    if (r.code != RC_OK)
        fail_msg("XER fixture does not decode (at %zu)", r.consumed);
    if (a->present == MTS_APDU_PR_probe) {
        SecurityLabel_t *l = calloc(1, sizeof *l);
        assert_non_null(l);
        l->security_policy_identifier = calloc(1, sizeof *l->security_policy_identifier);
        l->security_classification = calloc(1, sizeof *l->security_classification);
        assert_non_null(l->security_policy_identifier);
        assert_non_null(l->security_classification);
        assert_int_equal(mg_asn1_oid_set(l->security_policy_identifier, "1.3.26.1.3.1"), 0);
        *l->security_classification = 4;
        ExtensionField_t *f = calloc(1, sizeof *f);
        a->choice.probe.extensions = calloc(1, sizeof *a->choice.probe.extensions);
        assert_non_null(f);
        assert_non_null(a->choice.probe.extensions);
        assert_int_equal(mg_asn1_open_ext_set_std(f, 20, l, 1u << 2), 0);
        assert_int_equal(ASN_SET_ADD(&a->choice.probe.extensions->list, f), 0);
        mg_asn1_free_SecurityLabel(l);
    }
    return a;
}

/* Presentation TD user data: context 3 (RTSE) carrying RTTR = EXTERNAL(context 5, APDU). */
static void build_rttr(const MTS_APDU_t *a, struct mg_buf *out)
{
    External_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->direct_reference = calloc(1, sizeof *x->direct_reference);
    x->indirect_reference = calloc(1, sizeof *x->indirect_reference);
    assert_non_null(x->direct_reference);
    assert_non_null(x->indirect_reference);
    assert_int_equal(mg_asn1_oid_set(x->direct_reference, "2.1.1"), 0);
    *x->indirect_reference = 5;
    x->encoding.present = External__encoding_PR_single_ASN1_type;
    set_any(&x->encoding.choice.single_ASN1_type, &asn_DEF_MTS_APDU, a);

    RTSE_apdus_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->present = RTSE_apdus_PR_rttr_apdu;
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(mg_asn1_encode_External(x, &der, &len), 0);
    r->choice.rttr_apdu.buf = der;
    r->choice.rttr_apdu.size = (int)len;

    User_data_PPDU_t *ud = calloc(1, sizeof *ud);
    PDV_list_t *pdv = calloc(1, sizeof *pdv);
    assert_non_null(ud);
    assert_non_null(pdv);
    ud->present = User_data_PR_fully_encoded_data;
    pdv->presentation_context_identifier = 3;
    pdv->presentation_data_values.present = PDV_list__presentation_data_values_PR_single_ASN1_type;
    set_any(&pdv->presentation_data_values.choice.single_ASN1_type, &asn_DEF_RTSE_apdus, r);
    assert_int_equal(ASN_SEQUENCE_ADD(&ud->choice.fully_encoded_data.list, pdv), 0);
    der_of(&asn_DEF_User_data_PPDU, ud, out);
    mg_asn1_free_User_data_PPDU(ud);
    mg_asn1_free_RTSE_apdus(r);
    mg_asn1_free_External(x);
}

/* ---- OSI framing below presentation: the P1 stack's own (channels/p1) ---- */

struct wire {
    struct pcapw *w;
    struct p1_tpkt t[2];   /* [0] client, [1] server */
};

static void wire_flush(struct wire *x, int from_server, struct p1_chain *c)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    assert_int_equal(p1_chain_drain(c, &b), 0);
    assert_int_equal(pcapw_send(x->w, from_server, b.data, b.len), 0);
    mg_buf_free(&b);
}

/* CR from the client, CC from the server. */
static void send_connect(struct wire *x)
{
    struct p1_chain c;
    p1_chain_init(&c);
    p1_tpkt_init(&x->t[0], 1, 0, 2048);
    p1_tpkt_init(&x->t[1], 0, 0, 2048);
    assert_int_equal(p1_tpkt_connect(&x->t[0], NULL, NULL, &c), 0);
    wire_flush(x, 0, &c);
    struct p1_tpkt_ind cr = {.type = P1_TPKT_CONNECT, .tpdu_size = 2048};
    assert_int_equal(p1_tpkt_accept(&x->t[1], &cr, &c), 0);
    x->t[0].tpdu_size = x->t[1].tpdu_size;
    wire_flush(x, 1, &c);
    p1_chain_free(&c);
}

static void send_tsdu(struct wire *x, int from_server, struct p1_chain *tsdu)
{
    struct p1_chain c;
    p1_chain_init(&c);
    assert_int_equal(p1_tpkt_data(&x->t[from_server], tsdu, &c), 0);
    wire_flush(x, from_server, &c);
    p1_chain_free(&c);
}

/* GT + DT SPDUs (ISO 8327 basic concatenation) around presentation user data. */
static void send_data(struct wire *x, int from_server, const struct mg_buf *user)
{
    struct p1_chain c;
    p1_chain_init(&c);
    assert_int_equal(p1_chain_borrow(&c, user->data, user->len), 0);
    assert_int_equal(p1_session_prepend_dt(&c), 0);
    send_tsdu(x, from_server, &c);
    p1_chain_free(&c);
}

/* One SPDU (after GT when cat0): CN/AC get our connect fields, FN/DN the user data. */
static void send_spdu_cat(struct wire *x, int from_server, uint8_t cat0, struct p1_spdu *sp)
{
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (cat0)
        assert_int_equal(mg_buf_append(&b, (uint8_t[]){cat0, 0}, 2), 0);
    assert_int_equal(p1_session_encode(&b, sp), 0);
    struct p1_chain c;
    p1_chain_init(&c);
    assert_int_equal(p1_chain_own(&c, b.data, b.len), 0);
    send_tsdu(x, from_server, &c);
    p1_chain_free(&c);
    mg_buf_free(&b);
}

/* GT + MAJOR SYNC POINT / ACTIVITY END (serial number as decimal digits): RTSE ends an
 * APDU's transfer with it, and tshark reassembles the RTTR there. */
static void send_major_sync(struct wire *x, int from_server, unsigned serial)
{
    struct p1_spdu sp = {.si = P1_SI_AE, .has_serial = 1, .serial = serial};
    send_spdu_cat(x, from_server, P1_SI_GT, &sp);
}

static void send_spdu(struct wire *x, int from_server, uint8_t si, const struct mg_buf *user)
{
    struct p1_spdu sp;
    if (si == P1_SI_CN)
        p1_session_cn_fields(&sp, NULL, NULL);
    else if (si == P1_SI_AC)
        p1_session_ac_fields(&sp, P1_SUR_RTSE, NULL);
    else
        sp = (struct p1_spdu){.si = si};
    sp.has_ud = 1;
    sp.ud = user->data;
    sp.ud_len = user->len;
    send_spdu_cat(x, from_server, 0, &sp);
}

static void p1_association_in_tshark(void **state)
{
    char vec[4096];
    if (!atu_vector_path("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", vec, sizeof vec))
        skip();
    if (system("tshark -v >/dev/null 2>&1") != 0) {
        fprintf(stderr, "*** tshark not installed: pcap dissection test SKIPPED ***\n");
        skip();
    }
    struct mg_buf cp, cpa, rlrq, rlre, probe, report;
    mg_buf_init(&cp, 0);
    mg_buf_init(&cpa, 0);
    mg_buf_init(&rlrq, 0);
    mg_buf_init(&rlre, 0);
    mg_buf_init(&probe, 0);
    mg_buf_init(&report, 0);
    build_cp("mixgate.example", "s3cret-pw", &cp);
    build_cpa("peer-mta.example", "0ther-pw", &cpa);
    assert_int_equal(atu_build_release(0, &rlrq), 0);
    assert_int_equal(atu_build_release(1, &rlre), 0);
    MTS_APDU_t *pa = apdu_from_xer(probe_xer), *ra = apdu_from_xer(report_xer);
    build_rttr(pa, &probe);
    build_rttr(ra, &report);
    mg_asn1_free_MTS_APDU(pa);
    mg_asn1_free_MTS_APDU(ra);

    char path[] = "/tmp/mixgate-asn1-pcap-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct pcapw w;
    assert_int_equal(pcapw_open(&w, path, 0x0a000001, 40102, 0x0a000002, 102), 0);
    struct wire x = {.w = &w};
    send_connect(&x);               /* CR, CC */
    send_spdu(&x, 0, 13, &cp);     /* CN(CP(AARQ(RTORQ(bind)))) */
    send_spdu(&x, 1, 14, &cpa);    /* AC(CPA(AARE(RTOAC(bind result)))) */
    send_data(&x, 0, &probe);      /* GT+DT(TD(RTTR(EXTERNAL(probe)))) */
    send_major_sync(&x, 0, 1);
    send_data(&x, 0, &report);     /* GT+DT(TD(RTTR(EXTERNAL(report)))) */
    send_major_sync(&x, 0, 2);
    send_spdu(&x, 0, 9, &rlrq);    /* FN(RLRQ) */
    send_spdu(&x, 1, 10, &rlre);   /* DN(RLRE) */
    assert_int_equal(pcapw_close(&w), 0);
    p1_tpkt_free(&x.t[0]);
    p1_tpkt_free(&x.t[1]);

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "tshark -r %s -V 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct mg_buf text;
    mg_buf_init(&text, 64u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        assert_int_equal(mg_buf_append(&text, chunk, n), 0);
    int status = pclose(p);
    assert_int_equal(mg_buf_append(&text, "", 1), 0);
    const char *t = (const char *)text.data;
    if (status != 0 || strstr(t, "Malformed") || strstr(t, "[Expert Info (Error") ||
        strstr(t, "[Expert Info (Warning")) {
        fprintf(stderr, "%s\n", t);
        fail_msg("tshark found errors in %s (kept for inspection)", path);
    }
    /* tshark read back what we encoded, layer by layer. */
    static const char *const want[] = {
        "ISO 8823 OSI Presentation Protocol", "aSO-context-name: 2.6.0.1.6",
        "X.228 OSI Reliable Transfer Service", "checkpointSize: 63",
        "initiator-name: mixgate.example", "ia5-string: s3cret-pw",
        "responder-name: peer-mta.example", "ia5-string: 0ther-pw", "rlrq", "rlre",
        "MTS-APDU: probe (2)", "local-identifier: probe-0001",
        "originator-name (/C=gb/A= /P=mixgate/O=example/S=prober/)",
        "recipient-name (/C=gb/A= /P=mixgate/O=example/S=target/)", "content-length: 1234",
        "standard-extension: message-security-label (20)", "1.3.26.1.3.1",
        "MTS-APDU: report (1)", "local-identifier: report-0001",
        "actual-recipient-name (/C=gb/A= /P=mixgate/O=example/S=target/)",
        "non-delivery-reason-code: unable-to-transfer (1)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i])) {
            fprintf(stderr, "%s\n", t);
            fail_msg("tshark output lacks \"%s\" (pcap kept: %s)", want[i], path);
        }
    if (getenv("MIXGATE_KEEP_PCAP"))   /* for looking at it in wireshark */
        fprintf(stderr, "pcap kept: %s\n", path);
    else
        unlink(path);
    mg_buf_free(&text);
    mg_buf_free(&cp);
    mg_buf_free(&cpa);
    mg_buf_free(&rlrq);
    mg_buf_free(&rlre);
    mg_buf_free(&probe);
    mg_buf_free(&report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(p1_association_in_tshark),
    };
    return cmocka_run_group_tests_name("asn1_pcap", tests, NULL, NULL);
}
