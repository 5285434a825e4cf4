/* mg_asn1_open: id -> type tables and the second decoding step for open types; see
 * mg_asn1_open.h. The tables replace X.411's information object sets, which asn1c 0.9.28
 * cannot compile (NOTES-asn1c.md rule 1). */
#include "mg_asn1_open.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"

/* Generated descriptors the tables point at (headers not all included by mg_asn1.h). */
#include "AsymmetricToken.h"
#include "CertificateSelectors.h"
#include "CommonName.h"
#include "Context-list.h"
#include "ContentCorrelator.h"
#include "ContentConfidentialityAlgorithmIdentifier.h"
#include "ContentIntegrityCheck.h"
#include "ConversionWithLossProhibited.h"
#include "DLExemptedRecipients.h"
#include "DLExpansionHistory.h"
#include "DLExpansionProhibited.h"
#include "ExtendedCertificates.h"
#include "ExtendedNetworkAddress.h"
#include "ExtensionORAddressComponents.h"
#include "ExtensionPhysicalDeliveryAddressComponents.h"
#include "InternalTraceInformation.h"
#include "LatestDeliveryTime.h"
#include "LocalPostalAttributes.h"
#include "MessageOriginAuthenticationCheck.h"
#include "MessageSecurityLabel.h"
#include "MessageToken.h"
#include "MTAOriginatorRequestedAlternateRecipient.h"
#include "OriginatingMTACertificate.h"
#include "OriginatorAndDLExpansionHistory.h"
#include "OriginatorCertificate.h"
#include "OriginatorReturnAddress.h"
#include "PDSName.h"
#include "PhysicalDeliveryCountryName.h"
#include "PhysicalDeliveryModes.h"
#include "PhysicalDeliveryOfficeName.h"
#include "PhysicalDeliveryOfficeNumber.h"
#include "PhysicalDeliveryOrganizationName.h"
#include "PhysicalDeliveryPersonalName.h"
#include "PhysicalDeliveryReportRequest.h"
#include "PhysicalForwardingAddress.h"
#include "PhysicalForwardingAddressRequest.h"
#include "PhysicalForwardingProhibited.h"
#include "PhysicalRenditionAttributes.h"
#include "PostOfficeBoxAddress.h"
#include "PostalCode.h"
#include "PosteRestanteAddress.h"
#include "ProbeOriginAuthenticationCheck.h"
#include "ProofOfDelivery.h"
#include "ProofOfDeliveryRequest.h"
#include "ProofOfSubmission.h"
#include "ProofOfSubmissionRequest.h"
#include "RecipientCertificate.h"
#include "RecipientNumberForAdvice.h"
#include "RecipientReassignmentProhibited.h"
#include "RedirectionHistory.h"
#include "RegisteredMailType.h"
#include "ReportOriginAuthenticationCheck.h"
#include "ReportingDLName.h"
#include "ReportingMTACertificate.h"
#include "ReportingMTAName.h"
#include "RequestedDeliveryMethod.h"
#include "StreetAddress.h"
#include "TeletexCommonName.h"
#include "TeletexDomainDefinedAttributes.h"
#include "TeletexOrganizationName.h"
#include "TeletexOrganizationalUnitNames.h"
#include "TeletexPersonalName.h"
#include "TerminalType.h"
#include "TraceInformation.h"
#include "UnformattedPostalAddress.h"
#include "UniquePostalName.h"
#include "UniversalCommonName.h"
#include "UniversalDomainDefinedAttributes.h"
#include "UniversalExtensionORAddressComponents.h"
#include "UniversalExtensionPhysicalDeliveryAddressComponents.h"
#include "UniversalLocalPostalAttributes.h"
#include "UniversalOrganizationName.h"
#include "UniversalOrganizationalUnitNames.h"
#include "UniversalPersonalName.h"
#include "UniversalPhysicalDeliveryOfficeName.h"
#include "UniversalPhysicalDeliveryOfficeNumber.h"
#include "UniversalPhysicalDeliveryOrganizationName.h"
#include "UniversalPhysicalDeliveryPersonalName.h"
#include "UniversalPostOfficeBoxAddress.h"
#include "UniversalPosteRestanteAddress.h"
#include "UniversalStreetAddress.h"
#include "UniversalUniquePostalName.h"
#include "UniversalUnformattedPostalAddress.h"

struct num_type {
    const char *name;
    const asn_TYPE_descriptor_t *td;
};

/* X.411 standard extensions, indexed by number. MTA transfer uses the MTA form of 2
 * (originator-requested-alternate-recipient: OR-address mandatory, same encoding). */
static const struct num_type std_ext[] = {
    [1] = {"recipient-reassignment-prohibited", &asn_DEF_RecipientReassignmentProhibited},
    [2] = {"originator-requested-alternate-recipient",
           &asn_DEF_MTAOriginatorRequestedAlternateRecipient},
    [3] = {"dl-expansion-prohibited", &asn_DEF_DLExpansionProhibited},
    [4] = {"conversion-with-loss-prohibited", &asn_DEF_ConversionWithLossProhibited},
    [5] = {"latest-delivery-time", &asn_DEF_LatestDeliveryTime},
    [6] = {"requested-delivery-method", &asn_DEF_RequestedDeliveryMethod},
    [7] = {"physical-forwarding-prohibited", &asn_DEF_PhysicalForwardingProhibited},
    [8] = {"physical-forwarding-address-request", &asn_DEF_PhysicalForwardingAddressRequest},
    [9] = {"physical-delivery-modes", &asn_DEF_PhysicalDeliveryModes},
    [10] = {"registered-mail-type", &asn_DEF_RegisteredMailType},
    [11] = {"recipient-number-for-advice", &asn_DEF_RecipientNumberForAdvice},
    [12] = {"physical-rendition-attributes", &asn_DEF_PhysicalRenditionAttributes},
    [13] = {"originator-return-address", &asn_DEF_OriginatorReturnAddress},
    [14] = {"physical-delivery-report-request", &asn_DEF_PhysicalDeliveryReportRequest},
    [15] = {"originator-certificate", &asn_DEF_OriginatorCertificate},
    [16] = {"message-token", &asn_DEF_MessageToken},
    [17] = {"content-confidentiality-algorithm-identifier",
            &asn_DEF_ContentConfidentialityAlgorithmIdentifier},
    [18] = {"content-integrity-check", &asn_DEF_ContentIntegrityCheck},
    [19] = {"message-origin-authentication-check", &asn_DEF_MessageOriginAuthenticationCheck},
    [20] = {"message-security-label", &asn_DEF_MessageSecurityLabel},
    [21] = {"proof-of-submission-request", &asn_DEF_ProofOfSubmissionRequest},
    [22] = {"proof-of-delivery-request", &asn_DEF_ProofOfDeliveryRequest},
    [23] = {"content-correlator", &asn_DEF_ContentCorrelator},
    [24] = {"probe-origin-authentication-check", &asn_DEF_ProbeOriginAuthenticationCheck},
    [25] = {"redirection-history", &asn_DEF_RedirectionHistory},
    [26] = {"dl-expansion-history", &asn_DEF_DLExpansionHistory},
    [27] = {"physical-forwarding-address", &asn_DEF_PhysicalForwardingAddress},
    [28] = {"recipient-certificate", &asn_DEF_RecipientCertificate},
    [29] = {"proof-of-delivery", &asn_DEF_ProofOfDelivery},
    [30] = {"originator-and-DL-expansion-history", &asn_DEF_OriginatorAndDLExpansionHistory},
    [31] = {"reporting-DL-name", &asn_DEF_ReportingDLName},
    [32] = {"reporting-MTA-certificate", &asn_DEF_ReportingMTACertificate},
    [33] = {"report-origin-authentication-check", &asn_DEF_ReportOriginAuthenticationCheck},
    [34] = {"originating-MTA-certificate", &asn_DEF_OriginatingMTACertificate},
    [35] = {"proof-of-submission", &asn_DEF_ProofOfSubmission},
    [36] = {"forwarding-request", NULL},              /* X.413 (message store) */
    [37] = {"trace-information", &asn_DEF_TraceInformation},
    [38] = {"internal-trace-information", &asn_DEF_InternalTraceInformation},
    [39] = {"reporting-MTA-name", &asn_DEF_ReportingMTAName},
    [40] = {"multiple-originator-certificates", &asn_DEF_ExtendedCertificates},
    [41] = {"blind-copy-recipients", NULL},           /* X.420 */
    [42] = {"dl-exempted-recipients", &asn_DEF_DLExemptedRecipients},
    [43] = {"body-part-encryption-token", NULL},      /* X.420 */
    [44] = {"forwarded-content-token", NULL},         /* X.420 */
    [45] = {"certificate-selectors", &asn_DEF_CertificateSelectors},
    [46] = {"certificate-selectors-override", &asn_DEF_CertificateSelectors},
};

/* X.411 extension attributes (EXTENSION-ATTRIBUTE objects), indexed by type number. */
static const struct num_type ex_attr[] = {
    [1] = {"common-name", &asn_DEF_CommonName},
    [2] = {"teletex-common-name", &asn_DEF_TeletexCommonName},
    [3] = {"teletex-organization-name", &asn_DEF_TeletexOrganizationName},
    [4] = {"teletex-personal-name", &asn_DEF_TeletexPersonalName},
    [5] = {"teletex-organizational-unit-names", &asn_DEF_TeletexOrganizationalUnitNames},
    [6] = {"teletex-domain-defined-attributes", &asn_DEF_TeletexDomainDefinedAttributes},
    [7] = {"pds-name", &asn_DEF_PDSName},
    [8] = {"physical-delivery-country-name", &asn_DEF_PhysicalDeliveryCountryName},
    [9] = {"postal-code", &asn_DEF_PostalCode},
    [10] = {"physical-delivery-office-name", &asn_DEF_PhysicalDeliveryOfficeName},
    [11] = {"physical-delivery-office-number", &asn_DEF_PhysicalDeliveryOfficeNumber},
    [12] = {"extension-OR-address-components", &asn_DEF_ExtensionORAddressComponents},
    [13] = {"physical-delivery-personal-name", &asn_DEF_PhysicalDeliveryPersonalName},
    [14] = {"physical-delivery-organization-name", &asn_DEF_PhysicalDeliveryOrganizationName},
    [15] = {"extension-physical-delivery-address-components",
            &asn_DEF_ExtensionPhysicalDeliveryAddressComponents},
    [16] = {"unformatted-postal-address", &asn_DEF_UnformattedPostalAddress},
    [17] = {"street-address", &asn_DEF_StreetAddress},
    [18] = {"post-office-box-address", &asn_DEF_PostOfficeBoxAddress},
    [19] = {"poste-restante-address", &asn_DEF_PosteRestanteAddress},
    [20] = {"unique-postal-name", &asn_DEF_UniquePostalName},
    [21] = {"local-postal-attributes", &asn_DEF_LocalPostalAttributes},
    [22] = {"extended-network-address", &asn_DEF_ExtendedNetworkAddress},
    [23] = {"terminal-type", &asn_DEF_TerminalType},
    [24] = {"universal-common-name", &asn_DEF_UniversalCommonName},
    [25] = {"universal-organization-name", &asn_DEF_UniversalOrganizationName},
    [26] = {"universal-personal-name", &asn_DEF_UniversalPersonalName},
    [27] = {"universal-organizational-unit-names", &asn_DEF_UniversalOrganizationalUnitNames},
    [28] = {"universal-domain-defined-attributes", &asn_DEF_UniversalDomainDefinedAttributes},
    [29] = {"universal-physical-delivery-office-name",
            &asn_DEF_UniversalPhysicalDeliveryOfficeName},
    [30] = {"universal-physical-delivery-office-number",
            &asn_DEF_UniversalPhysicalDeliveryOfficeNumber},
    [31] = {"universal-extension-OR-address-components",
            &asn_DEF_UniversalExtensionORAddressComponents},
    [32] = {"universal-physical-delivery-personal-name",
            &asn_DEF_UniversalPhysicalDeliveryPersonalName},
    [33] = {"universal-physical-delivery-organization-name",
            &asn_DEF_UniversalPhysicalDeliveryOrganizationName},
    [34] = {"universal-extension-physical-delivery-address-components",
            &asn_DEF_UniversalExtensionPhysicalDeliveryAddressComponents},
    [35] = {"universal-unformatted-postal-address", &asn_DEF_UniversalUnformattedPostalAddress},
    [36] = {"universal-street-address", &asn_DEF_UniversalStreetAddress},
    [37] = {"universal-post-office-box-address", &asn_DEF_UniversalPostOfficeBoxAddress},
    [38] = {"universal-poste-restante-address", &asn_DEF_UniversalPosteRestanteAddress},
    [39] = {"universal-unique-postal-name", &asn_DEF_UniversalUniquePostalName},
    [40] = {"universal-local-postal-attributes", &asn_DEF_UniversalLocalPostalAttributes},
};

#define N_OF(a) ((long)(sizeof(a) / sizeof((a)[0])))

void mg_asn1_value_free(struct mg_asn1_value *v)
{
    if (!v)
        return;
    mg_asn1_free(v->td, v->ptr);
    v->td = NULL;
    v->ptr = NULL;
}

static int not_found(struct mg_asn1_err *err, const char *what)
{
    if (err) {
        err->code = MG_ENOTFOUND;
        err->offset = 0;
        strncpy(err->what, what, sizeof err->what - 1);
        err->what[sizeof err->what - 1] = '\0';
    }
    return MG_ENOTFOUND;
}

/* Decode an ANY's bytes as td into out. */
static int decode_any(const asn_TYPE_descriptor_t *td, const ANY_t *any, struct mg_asn1_value *out,
                      struct mg_asn1_err *err)
{
    void *v = NULL;
    int rc = mg_asn1_decode(td, any->buf, (size_t)any->size, &v, err);
    if (rc)
        return rc;
    out->td = td;
    out->ptr = v;
    return 0;
}

const asn_TYPE_descriptor_t *mg_asn1_open_ext_std_type(long n)
{
    return (n > 0 && n < N_OF(std_ext)) ? std_ext[n].td : NULL;
}

const char *mg_asn1_open_ext_std_name(long n)
{
    return (n > 0 && n < N_OF(std_ext)) ? std_ext[n].name : NULL;
}

int mg_asn1_open_ext_decode(const ExtensionField_t *f, const struct mg_asn1_oid_type *private_table,
                            struct mg_asn1_value *out, struct mg_asn1_err *err)
{
    const asn_TYPE_descriptor_t *td = NULL;
    if (!f || !out)
        return MG_EINVAL;
    out->td = NULL;
    out->ptr = NULL;
    if (f->type.present == ExtensionType_PR_standard_extension) {
        td = mg_asn1_open_ext_std_type(f->type.choice.standard_extension);
        if (!td)
            return not_found(err, "standard extension without a known type");
    } else if (f->type.present == ExtensionType_PR_private_extension) {
        for (const struct mg_asn1_oid_type *e = private_table; e && e->oid; e++)
            if (mg_asn1_oid_is(&f->type.choice.private_extension, e->oid)) {
                td = e->td;
                break;
            }
        if (!td)
            return not_found(err, "private extension not in the table");
    } else {
        return not_found(err, "extension without a type");
    }
    if (!f->value) {
        out->td = td;    /* absent: the IF ABSENT default applies */
        return 0;
    }
    return decode_any(td, f->value, out, err);
}

const ExtensionField_t *mg_asn1_open_ext_find_std(const Extensions_t *exts, long n)
{
    if (!exts)
        return NULL;
    for (int i = 0; i < exts->list.count; i++) {
        const ExtensionField_t *f = exts->list.array[i];
        if (f && f->type.present == ExtensionType_PR_standard_extension &&
            f->type.choice.standard_extension == n)
            return f;
    }
    return NULL;
}

const ExtensionField_t *mg_asn1_open_ext_find_private(const Extensions_t *exts, const char *oid)
{
    if (!exts || !oid)
        return NULL;
    for (int i = 0; i < exts->list.count; i++) {
        const ExtensionField_t *f = exts->list.array[i];
        if (f && f->type.present == ExtensionType_PR_private_extension &&
            mg_asn1_oid_is(&f->type.choice.private_extension, oid))
            return f;
    }
    return NULL;
}

int mg_asn1_open_ext_set_std(ExtensionField_t *f, long n, const void *value, unsigned crit_bits)
{
    const asn_TYPE_descriptor_t *td = mg_asn1_open_ext_std_type(n);
    if (!f)
        return MG_EINVAL;
    if (!td)
        return MG_ENOTFOUND;
    f->type.present = ExtensionType_PR_standard_extension;
    f->type.choice.standard_extension = n;
    if (crit_bits & 7u) {
        f->criticality = calloc(1, sizeof *f->criticality);
        if (!f->criticality)
            return MG_ENOMEM;
        f->criticality->buf = calloc(1, 1);
        if (!f->criticality->buf)
            return MG_ENOMEM;
        f->criticality->buf[0] = (uint8_t)(((crit_bits & 1u) << 7) | ((crit_bits & 2u) << 5) |
                                           ((crit_bits & 4u) << 3));
        f->criticality->size = 1;
        /* DER: no trailing zero bits (X.690 11.2.2). */
        int last = 0;
        for (int b = 0; b < 3; b++)
            if (crit_bits & (1u << b))
                last = b;
        f->criticality->bits_unused = 7 - last;
    }
    if (!value)
        return 0;
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = mg_asn1_encode_der(td, value, &der, &len);
    if (rc)
        return rc;
    f->value = calloc(1, sizeof *f->value);
    if (!f->value) {
        free(der);
        return MG_ENOMEM;
    }
    f->value->buf = der;   /* ownership moves to the field */
    f->value->size = (int)len;
    return 0;
}

int mg_asn1_open_ext_critical(const ExtensionField_t *f, int bit)
{
    if (!f || !f->criticality || bit < 0)
        return 0;
    const BIT_STRING_t *c = f->criticality;
    size_t byte = (size_t)bit / 8;
    if (byte >= (size_t)c->size)
        return 0;
    /* The last octet's unused bits are not bits of the value. */
    if (byte == (size_t)c->size - 1 && (7 - bit % 8) < c->bits_unused)
        return 0;
    return (c->buf[byte] >> (7 - bit % 8)) & 1;
}

const asn_TYPE_descriptor_t *mg_asn1_open_exattr_type(long n)
{
    return (n > 0 && n < N_OF(ex_attr)) ? ex_attr[n].td : NULL;
}

const char *mg_asn1_open_exattr_name(long n)
{
    return (n > 0 && n < N_OF(ex_attr)) ? ex_attr[n].name : NULL;
}

int mg_asn1_open_exattr_decode(const ExtensionAttribute_t *a, struct mg_asn1_value *out,
                               struct mg_asn1_err *err)
{
    if (!a || !out)
        return MG_EINVAL;
    out->td = NULL;
    out->ptr = NULL;
    const asn_TYPE_descriptor_t *td = mg_asn1_open_exattr_type(a->extension_attribute_type);
    if (!td)
        return not_found(err, "unknown extension attribute type");
    return decode_any(td, &a->extension_attribute_value, out, err);
}

int mg_asn1_open_content_decode(const ContentType_t *ct, const OCTET_STRING_t *content,
                                const struct mg_asn1_content_entry *table,
                                struct mg_asn1_value *out, struct mg_asn1_err *err)
{
    const asn_TYPE_descriptor_t *td = NULL;
    if (!ct || !content || !out)
        return MG_EINVAL;
    out->td = NULL;
    out->ptr = NULL;
    for (const struct mg_asn1_content_entry *e = table; e && e->td; e++) {
        if (ct->present == ContentType_PR_built_in && e->built_in >= 0 &&
            ct->choice.built_in == e->built_in) {
            td = e->td;
            break;
        }
        if (ct->present == ContentType_PR_extended && e->oid &&
            mg_asn1_oid_is(&ct->choice.extended, e->oid)) {
            td = e->td;
            break;
        }
    }
    if (!td && ct->present == ContentType_PR_built_in &&
        ct->choice.built_in == BuiltInContentType_external)
        td = &asn_DEF_External;
    if (!td)
        return not_found(err, "content type not in the table");
    void *v = NULL;
    int rc = mg_asn1_decode(td, content->buf, (size_t)content->size, &v, err);
    if (rc)
        return rc;
    out->td = td;
    out->ptr = v;
    return 0;
}

static const struct mg_asn1_oid_type abstract_syntaxes[] = {
    {"2.2.1.0.1", &asn_DEF_ACSE_apdu, "acse-as-id"},
    {"2.6.0.2.12", &asn_DEF_RTSE_apdus, "id-as-mta-rtse"},
    {"2.6.0.2.7", &asn_DEF_MTS_APDU, "id-as-mta"},
    {NULL, NULL, NULL},
};

const asn_TYPE_descriptor_t *mg_asn1_open_abstract_syntax(const OBJECT_IDENTIFIER_t *as)
{
    for (const struct mg_asn1_oid_type *e = abstract_syntaxes; as && e->oid; e++)
        if (mg_asn1_oid_is(as, e->oid))
            return e->td;
    return NULL;
}

int mg_asn1_open_pcontexts(const CP_type_t *cp, struct mg_asn1_pcontext *out, size_t max,
                           size_t *n)
{
    if (!cp || !n || (!out && max))
        return MG_EINVAL;
    *n = 0;
    if (!cp->normal_mode_parameters ||
        !cp->normal_mode_parameters->presentation_context_definition_list)
        return MG_ENOTFOUND;
    const Context_list_t *cl = cp->normal_mode_parameters->presentation_context_definition_list;
    for (int i = 0; i < cl->list.count; i++) {
        if ((size_t)i >= max)
            return MG_ETOOBIG;
        out[i].id = cl->list.array[i]->presentation_context_identifier;
        out[i].td = mg_asn1_open_abstract_syntax(&cl->list.array[i]->abstract_syntax_name);
        *n = (size_t)i + 1;
    }
    return 0;
}

static const asn_TYPE_descriptor_t *context_type(const struct mg_asn1_pcontext *ctx, size_t n,
                                                 long id)
{
    for (size_t i = 0; ctx && i < n; i++)
        if (ctx[i].id == id)
            return ctx[i].td;
    return NULL;
}

int mg_asn1_open_pdv_decode(const PDV_list_t *pdv, const struct mg_asn1_pcontext *ctx, size_t n,
                            struct mg_asn1_value *out, struct mg_asn1_err *err)
{
    if (!pdv || !out)
        return MG_EINVAL;
    out->td = NULL;
    out->ptr = NULL;
    if (pdv->presentation_data_values.present !=
        PDV_list__presentation_data_values_PR_single_ASN1_type)
        return not_found(err, "presentation data value is not single-ASN1-type");
    const asn_TYPE_descriptor_t *td = context_type(ctx, n, pdv->presentation_context_identifier);
    if (!td)
        return not_found(err, "presentation context unknown");
    return decode_any(td, &pdv->presentation_data_values.choice.single_ASN1_type, out, err);
}

int mg_asn1_open_external_decode(const External_t *ext, const struct mg_asn1_pcontext *ctx,
                                 size_t n, struct mg_asn1_value *out, struct mg_asn1_err *err)
{
    if (!ext || !out)
        return MG_EINVAL;
    out->td = NULL;
    out->ptr = NULL;
    if (ext->encoding.present != External__encoding_PR_single_ASN1_type)
        return not_found(err, "EXTERNAL is not single-ASN1-type");
    if (!ext->indirect_reference)
        return not_found(err, "EXTERNAL has no indirect reference");
    const asn_TYPE_descriptor_t *td = context_type(ctx, n, *ext->indirect_reference);
    if (!td)
        return not_found(err, "presentation context unknown");
    return decode_any(td, &ext->encoding.choice.single_ASN1_type, out, err);
}

int mg_asn1_open_rtorq_bind(const RTORQapdu_t *rq, MTA_Bind_Invoke_t **out, struct mg_asn1_err *err)
{
    if (!rq || !out)
        return MG_EINVAL;
    *out = NULL;
    if (rq->connectionDataRQ.present != ConnectionData_PR_open)
        return not_found(err, "RTORQ carries no open connection data");
    const ANY_t *a = &rq->connectionDataRQ.choice.open;
    return mg_asn1_decode_MTA_Bind_Invoke(a->buf, (size_t)a->size, out, err);
}

int mg_asn1_open_rtoac_bind(const RTOACapdu_t *ac, MTA_Bind_Result_t **out, struct mg_asn1_err *err)
{
    if (!ac || !out)
        return MG_EINVAL;
    *out = NULL;
    if (ac->connectionDataAC.present != ConnectionData_PR_open)
        return not_found(err, "RTOAC carries no open connection data");
    const ANY_t *a = &ac->connectionDataAC.choice.open;
    return mg_asn1_decode_MTA_Bind_Result(a->buf, (size_t)a->size, out, err);
}

int mg_asn1_open_rtorj_bind_error(const RTORJapdu_t *rj, long *bind_error, struct mg_asn1_err *err)
{
    if (!rj || !bind_error)
        return MG_EINVAL;
    if (!rj->userDataRJ)
        return not_found(err, "RTORJ carries no user data");
    MTA_Bind_Error_t *e = NULL;
    int rc = mg_asn1_decode_MTA_Bind_Error(rj->userDataRJ->buf, (size_t)rj->userDataRJ->size, &e,
                                           err);
    if (rc)
        return rc;
    *bind_error = e->choice.mta_bind_error;
    mg_asn1_free_MTA_Bind_Error(e);
    return 0;
}
