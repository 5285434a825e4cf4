/* The second decoding step (mg_asn1_open.h): the id -> type tables are complete, and open
 * types in the real vectors come out typed: envelope extensions (standard and private),
 * OR-address extension attributes, the presentation -> ACSE -> RTSE -> P1 bind chain of the
 * CP PPDU, P1 content by content type. Expected values come from tshark's -V decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asn1_test_util.h"
#include "mg_asn1.h"
#include "mg_asn1_open.h"
#include "mg_err.h"

#include "Association-data.h"
#include "CommonName.h"
#include "ExtensionAttributes.h"
#include "Fully-encoded-data.h"
#include "InternalTraceInformation.h"
#include "InternalTraceInformationElement.h"
#include "MessageSecurityLabel.h"
#include "NativeInteger.h"
#include "PerRecipientMessageTransferFields.h"
#include "User-data.h"

#define P772_TX "x400/p772-transfer-success.tshark-V.txt"
#define PING_OK "x400/x400-ping-success.tshark-V.txt"

static void *load(const char *rel, const asn_TYPE_descriptor_t *td)
{
    unsigned char *data = NULL;
    size_t len = 0;
    void *v = NULL;
    if (atu_read_vector(rel, &data, &len))
        return NULL;
    assert_int_equal(mg_asn1_decode(td, data, len, &v, NULL), 0);
    free(data);
    return v;
}

struct num_case {
    const char *name;
    long lo, hi;                  /* numbers that must have a type */
    const long *holes;            /* numbers that must not */
    size_t nholes;
    const asn_TYPE_descriptor_t *(*type)(long);
    const char *(*name_of)(long);
};

static const long ext_holes[] = {0, 36, 41, 43, 44, 47, -1, 1000};
static const long attr_holes[] = {0, 41, -5};

static const struct num_case num_cases[] = {
    {"standard-extensions", 1, 46, ext_holes, 8, mg_asn1_open_ext_std_type,
     mg_asn1_open_ext_std_name},
    {"extension-attributes", 1, 40, attr_holes, 3, mg_asn1_open_exattr_type,
     mg_asn1_open_exattr_name},
};

static void tables_complete(void **state)
{
    const struct num_case *c = *state;
    for (long n = c->lo; n <= c->hi; n++) {
        int hole = 0;
        for (size_t k = 0; k < c->nholes; k++)
            hole |= c->holes[k] == n;
        if (hole)
            continue;
        if (!c->type(n) || !c->name_of(n))
            fail_msg("%s: %ld has no type", c->name, n);
    }
    for (size_t k = 0; k < c->nholes; k++)
        assert_null(c->type(c->holes[k]));
}

static void envelope_extensions(void **state)
{
    MTS_APDU_t *a = load("x400/ber/wsample-p1-MTS-APDU-message-p772.ber", &asn_DEF_MTS_APDU);
    if (!a)
        skip();
    const Extensions_t *ex = a->choice.message.envelope.extensions;
    assert_non_null(ex);

    /* Standard 38: internal trace, typed. */
    const ExtensionField_t *f = mg_asn1_open_ext_find_std(ex, 38);
    assert_non_null(f);
    struct mg_asn1_value v = {0};
    assert_int_equal(mg_asn1_open_ext_decode(f, NULL, &v, NULL), 0);
    assert_ptr_equal(v.td, &asn_DEF_InternalTraceInformation);
    const InternalTraceInformation_t *it = v.ptr;
    assert_int_equal(it->list.count, 1);
    char *want[2];
    size_t n = atu_tshark_values(P772_TX, "InternalTraceInformation:", NULL, "mta-name", want, 2);
    assert_true(n >= 1);
    assert_int_equal((size_t)it->list.array[0]->mta_name.size, strlen(want[0]));
    assert_memory_equal(it->list.array[0]->mta_name.buf, want[0], strlen(want[0]));
    atu_free_strs(want, n);
    mg_asn1_value_free(&v);
    assert_null(v.ptr);

    /* Private: unknown without a table, typed with one (tshark: "PriorityLevelQualifier:
     * high (1)", an INTEGER). */
    const char *plq = "1.3.26.0.4406.0.8.0";
    f = mg_asn1_open_ext_find_private(ex, plq);
    assert_non_null(f);
    struct mg_asn1_err err = {0};
    assert_int_equal(mg_asn1_open_ext_decode(f, NULL, &v, &err), MG_ENOTFOUND);
    assert_int_equal(err.code, MG_ENOTFOUND);
    assert_null(v.td);
    const struct mg_asn1_oid_type table[] = {{plq, &asn_DEF_NativeInteger, "plq"},
                                             {NULL, NULL, NULL}};
    assert_int_equal(mg_asn1_open_ext_decode(f, table, &v, NULL), 0);
    assert_ptr_equal(v.td, &asn_DEF_NativeInteger);
    assert_int_equal(*(long *)v.ptr, 1);
    mg_asn1_value_free(&v);
    for (int bit = 0; bit < 3; bit++)   /* tshark: criticality 00 */
        assert_int_equal(mg_asn1_open_ext_critical(f, bit), 0);
    assert_null(mg_asn1_open_ext_find_std(ex, 20));
    assert_null(mg_asn1_open_ext_find_private(ex, "1.2.3"));

    /* Recipient's common-name extension attribute. */
    const PerRecipientMessageTransferFields_t *r =
        a->choice.message.envelope.per_recipient_fields.list.array[0];
    assert_non_null(r->recipient_name.extension_attributes);
    const ExtensionAttribute_t *ea = r->recipient_name.extension_attributes->list.array[0];
    assert_int_equal(mg_asn1_open_exattr_decode(ea, &v, NULL), 0);
    assert_ptr_equal(v.td, &asn_DEF_CommonName);
    n = atu_tshark_values(P772_TX, "MTS-APDU: message", NULL, "CommonName", want, 2);
    assert_true(n >= 1);
    const CommonName_t *cn = v.ptr;
    assert_int_equal((size_t)cn->size, strlen(want[0]));
    assert_memory_equal(cn->buf, want[0], cn->size);
    atu_free_strs(want, n);
    mg_asn1_value_free(&v);

    mg_asn1_free_MTS_APDU(a);
}

/* Build a message-security-label extension, encode it, and get the label back typed. */
static void extension_build(void **state)
{
    SecurityLabel_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->security_policy_identifier = calloc(1, sizeof *l->security_policy_identifier);
    assert_non_null(l->security_policy_identifier);
    assert_int_equal(mg_asn1_oid_set(l->security_policy_identifier, "1.3.26.1.3.1"), 0);
    l->security_classification = calloc(1, sizeof(long));
    assert_non_null(l->security_classification);
    *l->security_classification = 4;

    ExtensionField_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(mg_asn1_open_ext_set_std(f, 20, l, 1u << 2), 0);
    assert_int_equal(mg_asn1_open_ext_critical(f, 2), 1);
    assert_int_equal(mg_asn1_open_ext_critical(f, 0), 0);
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(mg_asn1_encode_der(&asn_DEF_ExtensionField, f, &der, &len), 0);
    ExtensionField_t *g = NULL;
    assert_int_equal(mg_asn1_decode(&asn_DEF_ExtensionField, der, len, (void **)&g, NULL), 0);
    struct mg_asn1_value v = {0};
    assert_int_equal(mg_asn1_open_ext_decode(g, NULL, &v, NULL), 0);
    assert_ptr_equal(v.td, &asn_DEF_MessageSecurityLabel);
    const SecurityLabel_t *back = v.ptr;
    assert_true(mg_asn1_oid_is(back->security_policy_identifier, "1.3.26.1.3.1"));
    assert_int_equal(*back->security_classification, 4);
    assert_int_equal(mg_asn1_open_ext_critical(g, 2), 1);
    mg_asn1_value_free(&v);
    mg_asn1_free(&asn_DEF_ExtensionField, g);
    free(der);
    assert_int_equal(mg_asn1_open_ext_set_std(f, 36, NULL, 0), MG_ENOTFOUND);
    mg_asn1_free(&asn_DEF_ExtensionField, f);
    mg_asn1_free_SecurityLabel(l);
}

/* CP PPDU -> (context 1) AARQ -> user information EXTERNAL (context 3) -> RTORQ -> bind. */
static void bind_chain(void **state)
{
    CP_type_t *cp = load("x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber", &asn_DEF_CP_type);
    if (!cp)
        skip();
    struct mg_asn1_pcontext ctx[8];
    size_t n = 0;
    assert_int_equal(mg_asn1_open_pcontexts(cp, ctx, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(mg_asn1_open_pcontexts(cp, ctx, 2, &n), MG_ETOOBIG);
    assert_int_equal(mg_asn1_open_pcontexts(cp, ctx, 8, &n), 0);
    assert_ptr_equal(ctx[0].td, &asn_DEF_ACSE_apdu);
    assert_ptr_equal(ctx[1].td, &asn_DEF_RTSE_apdus);
    assert_ptr_equal(ctx[2].td, &asn_DEF_MTS_APDU);

    const PDV_list_t *pdv =
        cp->normal_mode_parameters->user_data->choice.fully_encoded_data.list.array[0];
    struct mg_asn1_value acse = {0}, rtse = {0};
    assert_int_equal(mg_asn1_open_pdv_decode(pdv, ctx, n, &acse, NULL), 0);
    assert_ptr_equal(acse.td, &asn_DEF_ACSE_apdu);
    const ACSE_apdu_t *a = acse.ptr;
    assert_int_equal(a->present, ACSE_apdu_PR_aarq);
    const External_t *x = a->choice.aarq.user_information->list.array[0];
    assert_int_equal(mg_asn1_open_external_decode(x, ctx, n, &rtse, NULL), 0);
    assert_ptr_equal(rtse.td, &asn_DEF_RTSE_apdus);
    const RTSE_apdus_t *r = rtse.ptr;
    assert_int_equal(r->present, RTSE_apdus_PR_rtorq_apdu);
    MTA_Bind_Invoke_t *b = NULL;
    assert_int_equal(mg_asn1_open_rtorq_bind(&r->choice.rtorq_apdu, &b, NULL), 0);
    char *want[1];
    size_t k = atu_tshark_values(PING_OK, "MTABindArgument", NULL, "initiator-name", want, 1);
    assert_int_equal(k, 1);
    assert_int_equal((size_t)b->choice.authenticated.initiator_name.size, strlen(want[0]));
    assert_memory_equal(b->choice.authenticated.initiator_name.buf, want[0], strlen(want[0]));
    atu_free_strs(want, k);

    /* Unknown context: not found, nothing allocated. */
    struct mg_asn1_value none = {0};
    assert_int_equal(mg_asn1_open_pdv_decode(pdv, ctx + 1, 2, &none, NULL), MG_ENOTFOUND);
    assert_null(none.ptr);

    mg_asn1_free_MTA_Bind_Invoke(b);
    mg_asn1_value_free(&rtse);
    mg_asn1_value_free(&acse);
    mg_asn1_free_CP_type(cp);
}

/* Content by content type: the caller's table (P772 when its type is generated), and the
 * built-in external(1). */
static void content_by_type(void **state)
{
    MTS_APDU_t *a = load("x400/ber/wsample-p1-MTS-APDU-message-p772.ber", &asn_DEF_MTS_APDU);
    if (!a)
        skip();
    const Message_t *m = &a->choice.message;
    struct mg_asn1_value v = {0};
    struct mg_asn1_err err = {0};
    assert_int_equal(mg_asn1_open_content_decode(&m->envelope.content_type, &m->content, NULL, &v,
                                                 &err),
                     MG_ENOTFOUND);
    const asn_TYPE_descriptor_t *p772 = mg_asn1_pdu_by_name("MMInformationObject");
    if (p772) {
        const struct mg_asn1_content_entry table[] = {{22, NULL, &asn_DEF_External},
                                                      {-1, "1.3.26.0.4406.0.4.1", p772},
                                                      {0, NULL, NULL}};
        int rc = mg_asn1_open_content_decode(&m->envelope.content_type, &m->content, table, &v,
                                             &err);
        if (rc)
            fail_msg("P772 content: %s: %s", mg_errname(rc), err.what);
        assert_ptr_equal(v.td, p772);
        mg_asn1_value_free(&v);
    } else {
        fprintf(stderr, "*** MMInformationObject not generated: P772 content case not run ***\n");
    }
    mg_asn1_free_MTS_APDU(a);

    External_t *x = load("x400/ber/wsample-rtse-RTTR-octets.ber", &asn_DEF_External);
    assert_non_null(x);
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(mg_asn1_encode_External(x, &der, &len), 0);
    ContentType_t ct = {.present = ContentType_PR_built_in, .choice.built_in = 1};
    OCTET_STRING_t content = {.buf = der, .size = (int)len};
    assert_int_equal(mg_asn1_open_content_decode(&ct, &content, NULL, &v, NULL), 0);
    assert_ptr_equal(v.td, &asn_DEF_External);
    assert_int_equal(*((External_t *)v.ptr)->indirect_reference, *x->indirect_reference);
    mg_asn1_value_free(&v);
    free(der);
    mg_asn1_free_External(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"tables-standard-extensions", tables_complete, NULL, NULL, (void *)&num_cases[0]},
        {"tables-extension-attributes", tables_complete, NULL, NULL, (void *)&num_cases[1]},
        cmocka_unit_test(envelope_extensions),
        cmocka_unit_test(extension_build),
        cmocka_unit_test(bind_chain),
        cmocka_unit_test(content_by_type),
    };
    return cmocka_run_group_tests_name("asn1_open", tests, NULL, NULL);
}
