/* Every real X.400 BER vector (x400/ber/, the P772 content excepted: asn1-ipm covers it)
 * decodes with its type; key values match tshark's -V decode of the capture (or the vector
 * README where tshark does not show them); the DER re-encoding decodes to the same value;
 * and the vector rewritten with indefinite lengths and segmented strings decodes to the
 * same value too. Table-driven: one named case per vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asn1_test_util.h"
#include "ber_indef.h"
#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_err.h"

#include "Association-data.h"
#include "Context-list.h"
#include "Extensions.h"
#include "Fully-encoded-data.h"
#include "InternalTraceInformation.h"
#include "PerRecipientMessageTransferFields.h"
#include "Result-list.h"
#include "TraceInformationElement.h"
#include "User-data.h"

#define PING_OK "x400/x400-ping-success.tshark-V.txt"
#define PING_REFUSE "x400/x400-ping-refuse.tshark-V.txt"
#define P772_TX "x400/p772-transfer-success.tshark-V.txt"

struct vcase {
    const char *file;                 /* under x400/ber/ */
    const char *pdu;                  /* ASN.1 type name */
    void (*check)(const void *v);     /* key values (NULL: decode and round trips only) */
};

static void assert_str(const OCTET_STRING_t *s, const char *want)
{
    assert_non_null(s);
    assert_int_equal((size_t)s->size, strlen(want));
    assert_memory_equal(s->buf, want, strlen(want));
}

/* The one value tshark shows for key in the given section. */
static void assert_tshark1(const OCTET_STRING_t *s, const char *tshark, const char *from,
                           const char *to, const char *key)
{
    char *v[2];
    size_t n = atu_tshark_values(tshark, from, to, key, v, 2);
    assert_true(n >= 1);
    assert_str(s, v[0]);
    atu_free_strs(v, n);
}

/* ---- P1 bind ---- */

static void check_bind_arg(const MTABindArgument_t *a, const char *tshark)
{
    assert_int_equal(a->present, MTABindArgument_PR_authenticated);
    const struct MTABindArgument__authenticated *au = &a->choice.authenticated;
    assert_tshark1(&au->initiator_name, tshark, "MTABindArgument", NULL, "initiator-name");
    assert_int_equal(au->initiator_credentials.present, Credentials_PR_simple);
    assert_int_equal(au->initiator_credentials.choice.simple.present, Password_PR_ia5_string);
    assert_tshark1(&au->initiator_credentials.choice.simple.choice.ia5_string, tshark,
                   "MTABindArgument", NULL, "ia5-string");
}

static void chk_bind_arg_ok(const void *v) { check_bind_arg(v, PING_OK); }
static void chk_bind_arg_bad(const void *v) { check_bind_arg(v, PING_REFUSE); }

static void chk_bind_result(const void *v)
{
    const MTABindResult_t *r = v;
    /* tshark 4.0 does not show the bind result; the vector README names the values. */
    assert_int_equal(r->present, MTABindResult_PR_authenticated);
    assert_str(&r->choice.authenticated.responder_name, "guinevere.smhs.co.uk");
    assert_str(&r->choice.authenticated.responder_credentials.choice.simple.choice.ia5_string,
               "merlin");
}

/* ---- P1 message ---- */

static void check_envelope(const MessageTransferEnvelope_t *e)
{
    char buf[256];
    char *v[8];
    size_t n;
    const char *from = "MTS-APDU: message", *to = "            content (";
    ORAddress_t tmp;

    n = atu_tshark_values(P772_TX, from, to, "message-identifier", v, 8);
    assert_int_equal(n, 1);
    atu_mtsid_text(&e->message_identifier, buf, sizeof buf);
    assert_string_equal(buf, v[0]);
    atu_free_strs(v, n);

    n = atu_tshark_values(P772_TX, from, to, "originator-name", v, 8);
    assert_int_equal(n, 1);
    atu_orname_text(atu_orname_address(&e->originator_name, &tmp), buf, sizeof buf);
    assert_string_equal(buf, v[0]);
    atu_free_strs(v, n);

    n = atu_tshark_values(P772_TX, from, to, "recipient-name", v, 8);
    assert_int_equal((size_t)e->per_recipient_fields.list.count, n);
    for (size_t i = 0; i < n; i++) {
        const PerRecipientMessageTransferFields_t *r = e->per_recipient_fields.list.array[i];
        atu_orname_text(atu_orname_address(&r->recipient_name, &tmp), buf, sizeof buf);
        assert_string_equal(buf, v[i]);
        assert_int_equal(r->originally_specified_recipient_number, (long)i + 1);
    }
    atu_free_strs(v, n);

    n = atu_tshark_values(P772_TX, from, to, "extended", v, 8);
    assert_int_equal(n, 1);
    assert_int_equal(e->content_type.present, ContentType_PR_extended);
    assert_int_equal(mg_asn1_oid_str(&e->content_type.choice.extended, buf, sizeof buf), 0);
    assert_non_null(strstr(v[0], buf));
    assert_true(strncmp(v[0], buf, strlen(buf)) == 0);
    atu_free_strs(v, n);

    /* Extensions: the private one by OID, the standard one by number (tshark names it). */
    assert_non_null(e->extensions);
    n = atu_tshark_values(P772_TX, from, to, "private-extension", v, 8);
    assert_int_equal(n, 1);
    const ExtensionField_t *pf = NULL;
    for (int i = 0; i < e->extensions->list.count; i++)
        if (e->extensions->list.array[i]->type.present == ExtensionType_PR_private_extension)
            pf = e->extensions->list.array[i];
    assert_non_null(pf);
    assert_int_equal(mg_asn1_oid_str(&pf->type.choice.private_extension, buf, sizeof buf), 0);
    assert_true(strncmp(v[0], buf, strlen(buf)) == 0);
    atu_free_strs(v, n);

    n = atu_tshark_values(P772_TX, from, to, "standard-extension", v, 8);
    assert_int_equal(n, 1);
    const ExtensionField_t *it = mg_asn1_open_ext_find_std(e->extensions, 38);
    assert_non_null(it);
    assert_non_null(strstr(v[0], mg_asn1_open_ext_std_name(38)));
    atu_free_strs(v, n);

    /* Trace: one element, relayed. */
    assert_int_equal(e->trace_information.list.count, 1);
    assert_int_equal(
        e->trace_information.list.array[0]->domain_supplied_information.routing_action, 0);
}

static void chk_envelope(const void *v) { check_envelope(v); }

static void chk_mts_apdu(const void *v)
{
    const MTS_APDU_t *a = v;
    char *vals[2];
    assert_int_equal(a->present, MTS_APDU_PR_message);
    check_envelope(&a->choice.message.envelope);
    size_t n = atu_tshark_values(P772_TX, "MTS-APDU: message", NULL, "content", vals,
                                 2);
    assert_true(n >= 1);
    /* "content (435 bytes)" */
    assert_int_equal((long)a->choice.message.content.size, strtol(vals[0], NULL, 10));
    atu_free_strs(vals, n);
}

/* ---- ACSE ---- */

static void check_user_info_ext(const Association_data_t *ud, long indirect)
{
    assert_non_null(ud);
    assert_int_equal(ud->list.count, 1);
    const External_t *x = ud->list.array[0];
    assert_non_null(x->direct_reference);
    assert_true(mg_asn1_oid_is(x->direct_reference, "2.1.1"));   /* BER transfer syntax */
    assert_non_null(x->indirect_reference);
    assert_int_equal(*x->indirect_reference, indirect);
    assert_int_equal(x->encoding.present, External__encoding_PR_single_ASN1_type);
}

static long tshark_indirect(const char *tshark)
{
    char *v[1];
    size_t n = atu_tshark_values(tshark, "Association Control", NULL, "indirect-reference", v, 1);
    assert_int_equal(n, 1);
    long r = strtol(v[0], NULL, 10);
    atu_free_strs(v, n);
    return r;
}

static void chk_aarq(const void *v)
{
    const ACSE_apdu_t *a = v;
    assert_int_equal(a->present, ACSE_apdu_PR_aarq);
    assert_true(mg_asn1_oid_is(&a->choice.aarq.aSO_context_name.choice.name, "2.6.0.1.6"));
    check_user_info_ext(a->choice.aarq.user_information, tshark_indirect(PING_OK));
}

static void check_aare(const void *v, long result, long diag)
{
    const ACSE_apdu_t *a = v;
    assert_int_equal(a->present, ACSE_apdu_PR_aare);
    const AARE_apdu_t *r = &a->choice.aare;
    assert_true(mg_asn1_oid_is(&r->aSO_context_name.choice.name, "2.6.0.1.6"));
    assert_int_equal(r->result.choice.result, result);
    assert_int_equal(r->result_source_diagnostic.present,
                     Associate_source_diagnostic_PR_acse_service_user);
    assert_int_equal(r->result_source_diagnostic.choice.acse_service_user.choice.value, diag);
    check_user_info_ext(r->user_information, 3);
}

static void chk_aare_accept(const void *v) { check_aare(v, 0, 0); }
/* rejected-permanent(1), no-reason-given(1) */
static void chk_aare_reject(const void *v) { check_aare(v, 1, 1); }

static void chk_rlrq(const void *v)
{
    const ACSE_apdu_t *a = v;
    assert_int_equal(a->present, ACSE_apdu_PR_rlrq);
    assert_non_null(a->choice.rlrq.reason);
    assert_int_equal(*a->choice.rlrq.reason, 0);
}

static void chk_rlre(const void *v)
{
    const ACSE_apdu_t *a = v;
    assert_int_equal(a->present, ACSE_apdu_PR_rlre);
    assert_non_null(a->choice.rlre.reason);
    assert_int_equal(*a->choice.rlre.reason, 0);
}

/* ---- Presentation ---- */

static void check_results(const Result_list_t *rl)
{
    assert_non_null(rl);
    assert_int_equal(rl->list.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rl->list.array[i]->result, 0);
}

static void chk_cp(const void *v)
{
    const CP_type_t *cp = v;
    assert_int_equal(cp->mode_selector.mode_value, 1);
    assert_non_null(cp->normal_mode_parameters);
    const Context_list_t *cl = cp->normal_mode_parameters->presentation_context_definition_list;
    assert_non_null(cl);
    assert_int_equal(cl->list.count, 3);
    char *as[4];
    size_t n = atu_tshark_values(PING_OK, "ISO 8823 OSI Presentation Protocol", "ISO 8650-1",
                                 "abstract-syntax-name", as, 4);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        assert_int_equal(mg_asn1_oid_str(&cl->list.array[i]->abstract_syntax_name, buf,
                                         sizeof buf), 0);
        assert_true(strncmp(as[i], buf, strlen(buf)) == 0);
    }
    atu_free_strs(as, n);
    const User_data_t *ud = cp->normal_mode_parameters->user_data;
    assert_non_null(ud);
    assert_int_equal(ud->present, User_data_PR_fully_encoded_data);
    assert_int_equal(ud->choice.fully_encoded_data.list.count, 1);
}

static void chk_cpa(const void *v)
{
    const CPA_PPDU_t *c = v;
    assert_int_equal(c->mode_selector.mode_value, 1);
    assert_non_null(c->normal_mode_parameters);
    check_results(c->normal_mode_parameters->presentation_context_definition_result_list);
}

static void chk_cpr(const void *v)
{
    const CPR_PPDU_t *c = v;
    assert_int_equal(c->present, CPR_PPDU_PR_normal_mode_parameters);
    check_results(c->choice.normal_mode_parameters.presentation_context_definition_result_list);
    assert_non_null(c->choice.normal_mode_parameters.user_data);
}

/* ---- RTSE ---- */

static void check_rtorq(const RTORQapdu_t *rq, const char *tshark)
{
    char *v[1];
    size_t n = atu_tshark_values(tshark, "Reliable Transfer", NULL, "checkpointSize", v, 1);
    assert_int_equal(n, 1);
    assert_int_equal(rq->checkpointSize, strtol(v[0], NULL, 10));
    atu_free_strs(v, n);
    assert_null(rq->windowSize);          /* defaulted (3) on the wire */
    assert_int_equal(rq->dialogueMode, 0); /* monologue */
}

static void chk_rtorq(const void *v)
{
    const RTSE_apdus_t *r = v;
    assert_int_equal(r->present, RTSE_apdus_PR_rtorq_apdu);
    check_rtorq(&r->choice.rtorq_apdu, PING_OK);
    MTA_Bind_Invoke_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtorq_bind(&r->choice.rtorq_apdu, &b, NULL), 0);
    check_bind_arg(b, PING_OK);
    mg_asn1_free_MTA_Bind_Invoke(b);
}

static void chk_rtorq_recover(const void *v)
{
    const RTSE_apdus_t *r = v;
    assert_int_equal(r->present, RTSE_apdus_PR_rtorq_apdu);
    check_rtorq(&r->choice.rtorq_apdu, P772_TX);
    const ConnectionData_t *cd = &r->choice.rtorq_apdu.connectionDataRQ;
    assert_int_equal(cd->present, ConnectionData_PR_recover);
    assert_tshark1(&cd->choice.recover.callingSSuserReference.choice.t61String, P772_TX,
                   "Reliable Transfer", NULL, "t61String");
    MTA_Bind_Invoke_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtorq_bind(&r->choice.rtorq_apdu, &b, NULL), MG_ENOTFOUND);
    assert_null(b);
}

static void chk_rtoac(const void *v)
{
    const RTSE_apdus_t *r = v;
    assert_int_equal(r->present, RTSE_apdus_PR_rtoac_apdu);
    assert_int_equal(r->choice.rtoac_apdu.checkpointSize, 63);
    assert_null(r->choice.rtoac_apdu.windowSize);
    MTA_Bind_Result_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtoac_bind(&r->choice.rtoac_apdu, &b, NULL), 0);
    chk_bind_result(b);
    mg_asn1_free_MTA_Bind_Result(b);
}

static void check_rtorj(const void *v, long want)
{
    const RTSE_apdus_t *r = v;
    long e = -1;
    assert_int_equal(r->present, RTSE_apdus_PR_rtorj_apdu);
    assert_int_equal(mg_asn1_open_rtorj_bind_error(&r->choice.rtorj_apdu, &e, NULL), 0);
    assert_int_equal(e, want);
}

static void chk_rtorj_autherr(const void *v) { check_rtorj(v, MTABindError_authentication_error); }
static void chk_rtorj_busy(const void *v) { check_rtorj(v, MTABindError_busy); }

static void chk_rttr(const void *v)
{
    const External_t *x = v;
    char *vals[1];
    size_t n = atu_tshark_values(P772_TX, "[Reassembled RTSE length", NULL,
                                 "indirect-reference", vals, 1);
    assert_int_equal(n, 1);
    assert_non_null(x->indirect_reference);
    assert_int_equal(*x->indirect_reference, strtol(vals[0], NULL, 10));
    atu_free_strs(vals, n);
    /* The single-ASN1-type is the MTS-APDU (presentation context 5 = id-as-mta). */
    struct mg_asn1_pcontext ctx[] = {{1, &asn_DEF_ACSE_apdu}, {3, &asn_DEF_RTSE_apdus},
                                     {5, &asn_DEF_MTS_APDU}};
    struct mg_asn1_value val = {0};
    assert_int_equal(mg_asn1_open_external_decode(x, ctx, 3, &val, NULL), 0);
    assert_ptr_equal(val.td, &asn_DEF_MTS_APDU);
    chk_mts_apdu(val.ptr);
    mg_asn1_value_free(&val);
}

static const struct vcase cases[] = {
    {"wsample-acse-AARE-accept.ber", "ACSE-apdu", chk_aare_accept},
    {"wsample-acse-AARE-reject.ber", "ACSE-apdu", chk_aare_reject},
    {"wsample-acse-AARQ-mts-transfer.ber", "ACSE-apdu", chk_aarq},
    {"wsample-acse-RLRE.ber", "ACSE-apdu", chk_rlre},
    {"wsample-acse-RLRQ.ber", "ACSE-apdu", chk_rlrq},
    {"wsample-p1-Bind-Invoke-wrapped.ber", "MTA-Bind-Invoke", chk_bind_arg_ok},
    {"wsample-p1-MTABindArgument-authenticated.ber", "MTABindArgument", chk_bind_arg_ok},
    {"wsample-p1-MTABindArgument-bad-credentials.ber", "MTABindArgument", chk_bind_arg_bad},
    {"wsample-p1-MTABindResult-authenticated.ber", "MTABindResult", chk_bind_result},
    {"wsample-p1-MTS-APDU-message-p772.ber", "MTS-APDU", chk_mts_apdu},
    {"wsample-p1-MessageTransferEnvelope.ber", "MessageTransferEnvelope", chk_envelope},
    {"wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", "CP-type", chk_cp},
    {"wsample-pres-CPA-ppdu-aare-rtoac.ber", "CPA-PPDU", chk_cpa},
    {"wsample-pres-CPR-ppdu-aare-reject-rtorj.ber", "CPR-PPDU", chk_cpr},
    {"wsample-rtse-RTOAC.ber", "RTSE-apdus", chk_rtoac},
    {"wsample-rtse-RTORJ-bind-error.ber", "RTSE-apdus", chk_rtorj_autherr},
    {"wsample-rtse-RTORJ-busy.ber", "RTSE-apdus", chk_rtorj_busy},
    {"wsample-rtse-RTORQ-recover.ber", "RTSE-apdus", chk_rtorq_recover},
    {"wsample-rtse-RTORQ.ber", "RTSE-apdus", chk_rtorq},
    {"wsample-rtse-RTTR-octets.ber", "External", chk_rttr},
};

/* Normal form of the DER of the value decoded from (buf, len): equal normal forms mean
 * equal values (ANY contents are copied verbatim by asn1c, hence the normalisation). */
static void value_form(const asn_TYPE_descriptor_t *td, const unsigned char *buf, size_t len,
                       unsigned char **out, size_t *outlen, const char *what)
{
    void *v = NULL;
    struct mg_asn1_err err = {0};
    int rc = mg_asn1_decode(td, buf, len, &v, &err);
    if (rc)
        fail_msg("%s: %s at %zu: %s", what, mg_errname(rc), err.offset, err.what);
    unsigned char *der = NULL;
    size_t dlen = 0;
    assert_int_equal(mg_asn1_encode_der(td, v, &der, &dlen), 0);
    mg_asn1_free(td, v);
    assert_int_equal(ber_indef_normalize(der, dlen, out, outlen), 0);
    free(der);
}

static void run_case(void **state)
{
    const struct vcase *c = *state;
    char rel[256];
    unsigned char *data = NULL;
    size_t len = 0;
    snprintf(rel, sizeof rel, "x400/ber/%s", c->file);
    if (atu_read_vector(rel, &data, &len))
        skip();
    const asn_TYPE_descriptor_t *td = mg_asn1_pdu_by_name(c->pdu);
    assert_non_null(td);

    /* 1. decodes, key values */
    void *v = NULL;
    struct mg_asn1_err err = {0};
    int rc = mg_asn1_decode(td, data, len, &v, &err);
    if (rc)
        fail_msg("%s as %s: %s at %zu: %s", c->file, c->pdu, mg_errname(rc), err.offset,
                 err.what);
    if (c->check)
        c->check(v);

    /* 2. DER re-encoding decodes to the same value (same DER again) */
    unsigned char *der1 = NULL, *der2 = NULL;
    size_t d1 = 0, d2 = 0;
    assert_int_equal(mg_asn1_encode_der(td, v, &der1, &d1), 0);
    void *v2 = NULL;
    assert_int_equal(mg_asn1_decode(td, der1, d1, &v2, NULL), 0);
    if (c->check)
        c->check(v2);
    assert_int_equal(mg_asn1_encode_der(td, v2, &der2, &d2), 0);
    assert_int_equal(d1, d2);
    assert_memory_equal(der1, der2, d1);
    mg_asn1_free(td, v2);

    /* 3. indefinite lengths + segmented strings: same value */
    unsigned char *ind = NULL, *f1 = NULL, *f2 = NULL;
    size_t il = 0, l1 = 0, l2 = 0;
    assert_int_equal(ber_indef_convert(data, len, 5, &ind, &il), 0);
    void *v3 = NULL;
    rc = mg_asn1_decode(td, ind, il, &v3, &err);
    if (rc)
        fail_msg("%s (indefinite form) as %s: %s at %zu: %s", c->file, c->pdu, mg_errname(rc),
                 err.offset, err.what);
    if (c->check)
        c->check(v3);
    mg_asn1_free(td, v3);
    value_form(td, data, len, &f1, &l1, "original");
    value_form(td, ind, il, &f2, &l2, "indefinite");
    assert_int_equal(l1, l2);
    assert_memory_equal(f1, f2, l1);

    free(f1);
    free(f2);
    free(ind);
    free(der1);
    free(der2);
    mg_asn1_free(td, v);
    free(data);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tests[i] = (struct CMUnitTest){cases[i].file, run_case, NULL, NULL, (void *)&cases[i]};
    }
    return cmocka_run_group_tests_name("asn1_vectors", tests, NULL, NULL);
}
