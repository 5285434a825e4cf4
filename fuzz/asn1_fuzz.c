/* Fuzz targets of the X.411 / ESS / OSI layer (asn1/mg_asn1, asn1/mg_asn1_open), one source
 * built four times (ASN1_FUZZ_* selects): asn1_mts_apdu (P1 MTS-APDU), asn1_ess_label
 * (ESSSecurityLabel), asn1_x411_label (X.411 SecurityLabel), asn1_ppdu (the presentation
 * PPDUs CP, CPA, CPR, abort and data transfer). On a successful decode every open type the
 * value carries is decoded in the second step, and DER re-encoding must be stable:
 * decode(DER(v)) succeeds and gives the same DER; anything else is a bug and traps.
 * Every decode asks for the located error, so the failure-path locator is fuzzed too. The
 * MTS-APDU target also finds each extension again by number or OID, reads its criticality and
 * writes its value into a new field as the relay does (which must decode again); the PPDU
 * target opens ACSE user information (EXTERNAL) and the P1 bind in RTSE connection APDUs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_asn1.h"
#include "mg_asn1_open.h"

#include "ExtensionAttributes.h"
#include "Fully-encoded-data.h"
#include "PerRecipientMessageTransferFields.h"
#include "User-data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DER stability of a decoded value. */
static void der_stable(const asn_TYPE_descriptor_t *td, const void *v)
{
    unsigned char *d1 = NULL, *d2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (mg_asn1_encode_der(td, v, &d1, &l1) != 0)
        __builtin_trap();   /* a value we accepted must encode */
    void *v2 = NULL;
    if (mg_asn1_decode(td, d1, l1, &v2, NULL) != 0)
        __builtin_trap();
    if (mg_asn1_encode_der(td, v2, &d2, &l2) != 0 || l1 != l2 || memcmp(d1, d2, l1) != 0)
        __builtin_trap();
    mg_asn1_free(td, v2);
    free(d1);
    free(d2);
}

/* A standard extension as the switch reads and writes it: found by number, its criticality
 * read, and its decoded value set into a fresh field (mg_asn1_open_ext_set_std, as the relay
 * writes one), which must decode again. */
__attribute__((unused)) static void std_ext(const Extensions_t *ex, const ExtensionField_t *f,
                                            const struct mg_asn1_value *val)
{
    long n = f->type.choice.standard_extension;
    (void)mg_asn1_open_ext_std_name(n);
    if (!mg_asn1_open_ext_find_std(ex, n))
        __builtin_trap();   /* f itself is one */
    unsigned crit = 0;
    for (int b = 0; b < 3; b++)
        crit |= (unsigned)(mg_asn1_open_ext_critical(f, b) != 0) << b;
    if (!val->ptr)
        return;
    ExtensionField_t g;
    memset(&g, 0, sizeof g);
    if (mg_asn1_open_ext_set_std(&g, n, val->ptr, crit) == 0) {
        struct mg_asn1_value back = {0};
        if (mg_asn1_open_ext_decode(&g, NULL, &back, NULL) != 0 || !back.ptr)
            __builtin_trap();
        for (int b = 0; b < 3; b++)
            if ((mg_asn1_open_ext_critical(&g, b) != 0) != ((crit >> b) & 1))
                __builtin_trap();
        mg_asn1_value_free(&back);
    }
    ASN_STRUCT_FREE_CONTENTS_ONLY(asn_DEF_ExtensionField, &g);
}

/* Only the MTS-APDU target walks extensions and attributes. */
__attribute__((unused)) static void open_exts(const Extensions_t *ex)
{
    for (int i = 0; ex && i < ex->list.count; i++) {
        const ExtensionField_t *f = ex->list.array[i];
        struct mg_asn1_value val = {0};
        int rc = mg_asn1_open_ext_decode(f, NULL, &val, NULL);
        if (rc == 0 && val.ptr)
            der_stable(val.td, val.ptr);
        if (rc == 0 && f->type.present == ExtensionType_PR_standard_extension)
            std_ext(ex, f, &val);
        else if (f->type.present == ExtensionType_PR_private_extension) {
            char oid[128];
            if (mg_asn1_oid_str(&f->type.choice.private_extension, oid, sizeof oid) == 0 &&
                !mg_asn1_open_ext_find_private(ex, oid))
                __builtin_trap();
        }
        mg_asn1_value_free(&val);
    }
}

__attribute__((unused)) static void open_attrs(const ExtensionAttributes_t *ea)
{
    for (int i = 0; ea && i < ea->list.count; i++) {
        struct mg_asn1_value val = {0};
        (void)mg_asn1_open_exattr_name(ea->list.array[i]->extension_attribute_type);
        if (mg_asn1_open_exattr_decode(ea->list.array[i], &val, NULL) == 0)
            der_stable(val.td, val.ptr);
        mg_asn1_value_free(&val);
    }
}

#if defined(ASN1_FUZZ_MTS_APDU)

#include "InformationObject.h"
#include "MMInformationObject.h"

/* The content types the switch opens (as the X.420 / P772 owners map them): P2 and P22
 * (built-in 2 and 22, and their OIDs) and P772, so message contents are decoded too. */
static const struct mg_asn1_content_entry content_table[] = {
    {2, NULL, &asn_DEF_InformationObject},
    {22, NULL, &asn_DEF_InformationObject},
    {-1, "2.6.1.10.0", &asn_DEF_InformationObject},
    {-1, "2.6.1.10.1", &asn_DEF_InformationObject},
    {-1, "1.3.26.0.4406.0.4.1", &asn_DEF_MMInformationObject},
    {0, NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_asn1_err err;   /* asked for so that the error locator runs too */
    MTS_APDU_t *a = NULL;
    if (mg_asn1_decode_MTS_APDU(data, size, &a, &err) != 0)
        return 0;
    if (a->present == MTS_APDU_PR_message) {
        const MessageTransferEnvelope_t *e = &a->choice.message.envelope;
        open_exts(e->extensions);
        open_attrs(e->originator_name.extension_attributes);
        for (int i = 0; i < e->per_recipient_fields.list.count; i++) {
            const PerRecipientMessageTransferFields_t *r = e->per_recipient_fields.list.array[i];
            open_exts(r->extensions);
            open_attrs(r->recipient_name.extension_attributes);
        }
        struct mg_asn1_value c = {0};
        if (mg_asn1_open_content_decode(&e->content_type, &a->choice.message.content,
                                        content_table, &c, NULL) == 0)
            der_stable(c.td, c.ptr);
        mg_asn1_value_free(&c);
    } else if (a->present == MTS_APDU_PR_probe) {
        open_exts(a->choice.probe.extensions);
    } else if (a->present == MTS_APDU_PR_report) {
        open_exts(a->choice.report.envelope.extensions);
        open_exts(a->choice.report.content.extensions);
    }
    der_stable(&asn_DEF_MTS_APDU, a);
    mg_asn1_free_MTS_APDU(a);
    return 0;
}

#elif defined(ASN1_FUZZ_ESS_LABEL) || defined(ASN1_FUZZ_X411_LABEL)

#ifdef ASN1_FUZZ_ESS_LABEL
#define LABEL_TD asn_DEF_ESSSecurityLabel
#else
#define LABEL_TD asn_DEF_SecurityLabel
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_asn1_err err;   /* asked for so that the error locator runs too */
    void *v = NULL;
    /* Lenient first (what labels/ may use), then strict must agree or be stricter. */
    int lenient = mg_asn1_decode_ex(&LABEL_TD, data, size, MG_ASN1_LENIENT_SIZES, &v, &err);
    mg_asn1_free(&LABEL_TD, v);
    v = NULL;
    if (mg_asn1_decode(&LABEL_TD, data, size, &v, &err) != 0)
        return 0;
    if (lenient != 0)
        __builtin_trap();   /* strict accepted what lenient refused */
    der_stable(&LABEL_TD, v);
    mg_asn1_free(&LABEL_TD, v);
    return 0;
}

#elif defined(ASN1_FUZZ_PPDU)

#include "ACSE-apdu.h"
#include "Association-data.h"
#include "External.h"
#include "MTA-Bind-Invoke.h"
#include "MTA-Bind-Result.h"
#include "RTSE-apdus.h"

/* Contexts P1 proposes (as in the real CP): ACSE, RTSE, MTS. */
static const struct mg_asn1_pcontext p1_ctx[] = {
    {1, &asn_DEF_ACSE_apdu}, {3, &asn_DEF_RTSE_apdus}, {5, &asn_DEF_MTS_APDU}};

static void open_value(const struct mg_asn1_value *val);

/* The EXTERNALs of ACSE user information, opened by presentation context (the RTSE
 * connection APDUs P1 carries there), and what they hold. */
static void open_assoc_data(const struct Association_data *ad)
{
    for (int i = 0; ad && i < ad->list.count; i++) {
        struct mg_asn1_value val = {0};
        if (mg_asn1_open_external_decode(ad->list.array[i], p1_ctx, 3, &val, NULL) == 0 &&
            val.ptr) {
            der_stable(val.td, val.ptr);
            open_value(&val);
        }
        mg_asn1_value_free(&val);
    }
}

/* The opened value of a PDV: ACSE user information, and the P1 bind in RTSE connection
 * APDUs (as the P1 layer reads them). */
static void open_value(const struct mg_asn1_value *val)
{
    if (val->td == &asn_DEF_ACSE_apdu) {
        const ACSE_apdu_t *a = val->ptr;
        if (a->present == ACSE_apdu_PR_aarq)
            open_assoc_data(a->choice.aarq.user_information);
        else if (a->present == ACSE_apdu_PR_aare)
            open_assoc_data(a->choice.aare.user_information);
    } else if (val->td == &asn_DEF_RTSE_apdus) {
        const RTSE_apdus_t *r = val->ptr;
        if (r->present == RTSE_apdus_PR_rtorq_apdu) {
            MTA_Bind_Invoke_t *b = NULL;
            if (mg_asn1_open_rtorq_bind(&r->choice.rtorq_apdu, &b, NULL) == 0 && b)
                der_stable(&asn_DEF_MTA_Bind_Invoke, b);
            mg_asn1_free(&asn_DEF_MTA_Bind_Invoke, b);
        } else if (r->present == RTSE_apdus_PR_rtoac_apdu) {
            MTA_Bind_Result_t *b = NULL;
            if (mg_asn1_open_rtoac_bind(&r->choice.rtoac_apdu, &b, NULL) == 0 && b)
                der_stable(&asn_DEF_MTA_Bind_Result, b);
            mg_asn1_free(&asn_DEF_MTA_Bind_Result, b);
        } else if (r->present == RTSE_apdus_PR_rtorj_apdu) {
            long e = 0;
            (void)mg_asn1_open_rtorj_bind_error(&r->choice.rtorj_apdu, &e, NULL);
        }
    }
}

static void open_user_data(const User_data_t *ud)
{
    if (!ud || ud->present != User_data_PR_fully_encoded_data)
        return;
    for (int i = 0; i < ud->choice.fully_encoded_data.list.count; i++) {
        struct mg_asn1_value val = {0};
        if (mg_asn1_open_pdv_decode(ud->choice.fully_encoded_data.list.array[i], p1_ctx, 3, &val,
                                    NULL) == 0 && val.ptr) {
            der_stable(val.td, val.ptr);
            open_value(&val);
        }
        mg_asn1_value_free(&val);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_asn1_err err;   /* asked for so that the error locator runs too */
    CP_type_t *cp = NULL;
    if (mg_asn1_decode_CP_type(data, size, &cp, &err) == 0) {
        struct mg_asn1_pcontext ctx[16];
        size_t n = 0;
        (void)mg_asn1_open_pcontexts(cp, ctx, 16, &n);
        if (cp->normal_mode_parameters)
            open_user_data(cp->normal_mode_parameters->user_data);
        der_stable(&asn_DEF_CP_type, cp);
        mg_asn1_free_CP_type(cp);
    }
    CPA_PPDU_t *cpa = NULL;
    if (mg_asn1_decode_CPA_PPDU(data, size, &cpa, &err) == 0) {
        if (cpa->normal_mode_parameters)
            open_user_data(cpa->normal_mode_parameters->user_data);
        der_stable(&asn_DEF_CPA_PPDU, cpa);
        mg_asn1_free_CPA_PPDU(cpa);
    }
    CPR_PPDU_t *cpr = NULL;
    if (mg_asn1_decode_CPR_PPDU(data, size, &cpr, &err) == 0) {
        if (cpr->present == CPR_PPDU_PR_normal_mode_parameters)
            open_user_data(cpr->choice.normal_mode_parameters.user_data);
        der_stable(&asn_DEF_CPR_PPDU, cpr);
        mg_asn1_free_CPR_PPDU(cpr);
    }
    Abort_type_t *ab = NULL;
    if (mg_asn1_decode_Abort_type(data, size, &ab, &err) == 0) {
        der_stable(&asn_DEF_Abort_type, ab);
        mg_asn1_free_Abort_type(ab);
    }
    User_data_PPDU_t *td = NULL;
    if (mg_asn1_decode_User_data_PPDU(data, size, &td, &err) == 0) {
        open_user_data(td);
        der_stable(&asn_DEF_User_data_PPDU, td);
        mg_asn1_free_User_data_PPDU(td);
    }
    return 0;
}

#else
#error "define one of ASN1_FUZZ_MTS_APDU, ASN1_FUZZ_ESS_LABEL, ASN1_FUZZ_X411_LABEL, ASN1_FUZZ_PPDU"
#endif
