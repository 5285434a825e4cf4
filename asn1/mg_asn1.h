/* mg_asn1: the thin C API over the asn1c-generated X.411 (P1/P3), ESS, X.841 and OSI
 * upper-layer types: decode BER (any length form) with a structural pre-check, a constraint
 * check and a located error; encode DER; free. One typed trio per PDU (mg_asn1_decode_<T>,
 * mg_asn1_encode_<T>, mg_asn1_free_<T>) plus the generic calls they are made of. The second
 * decoding step for open types (extensions, extension attributes, EXTERNAL, presentation
 * data values, RTSE user data) is in mg_asn1_open.h. */
#ifndef MG_ASN1_H
#define MG_ASN1_H

#include <stddef.h>

#include "asn_application.h"
#include "OBJECT_IDENTIFIER.h"

/* X.411 P1 and P3 */
#include "MTS-APDU.h"
#include "Message.h"
#include "Probe.h"
#include "Report.h"
#include "MessageTransferEnvelope.h"
#include "ProbeTransferEnvelope.h"
#include "ReportTransferEnvelope.h"
#include "ReportTransferContent.h"
#include "MTABindArgument.h"
#include "MTABindResult.h"
#include "MTABindError.h"
#include "MTSBindArgument.h"
#include "MTSBindResult.h"
#include "ORName.h"
#include "ORAddress.h"
#include "SecurityLabel.h"
/* ESS (RFC 2634 / 5035) and X.841 clearance */
#include "ESSSecurityLabel.h"
#include "EquivalentLabels.h"
#include "ReceiptRequest.h"
#include "Receipt.h"
#include "ContentHints.h"
#include "MLExpansionHistory.h"
#include "SigningCertificate.h"
#include "SigningCertificateV2.h"
#include "Clearance.h"
/* OSI upper layers */
#include "External.h"
#include "RTSE-apdus.h"
#include "RTORQ.h"
#include "RTOAC.h"
#include "RTORJ.h"
#include "RTAB.h"
#include "RTTRapdu.h"
#include "MTA-Bind-Invoke.h"
#include "MTA-Bind-Result.h"
#include "MTA-Bind-Error.h"
#include "ACSE-apdu.h"
#include "AARQ-apdu.h"
#include "AARE-apdu.h"
#include "RLRQ-apdu.h"
#include "RLRE-apdu.h"
#include "ABRT-apdu.h"
#include "CP-type.h"
#include "CPA-PPDU.h"
#include "CPR-PPDU.h"
#include "Abort-type.h"
#include "User-data-PPDU.h"

/* Inputs larger than this are refused before decoding. P1 content is carried inside the
 * MTS-APDU, so the bound is the largest message the gateway accepts, with room to spare. */
#define MG_ASN1_MAX_INPUT (256u * 1024u * 1024u)
/* Deepest TLV nesting accepted (X.400 messages nest about 20 deep). */
#define MG_ASN1_MAX_DEPTH 100

/* Why a decode failed: code (the MG_E* returned), the byte offset of the first byte that
 * does not fit, and what was expected there, e.g.
 * "MTS-APDU: length 812 runs past the end of the enclosing value (ends at 763)". */
struct mg_asn1_err {
    int code;
    size_t offset;
    char what[224];
};

/* Checks that buf holds exactly one well-formed BER TLV (tags, lengths, indefinite-length
 * end markers, nesting depth): 0, MG_EINCOMPLETE (truncated) or MG_EPARSE (malformed or
 * trailing bytes). Stops at the first problem and locates it in err (may be NULL). */
int mg_asn1_ber_check(const void *buf, size_t len, struct mg_asn1_err *err);

/* Decode one BER value of type td that fills buf exactly, then asn_check_constraints().
 * On success *out owns the value (free with mg_asn1_free(td, *out)). Returns 0, MG_EPARSE,
 * MG_ECONSTRAINT, MG_EINCOMPLETE, MG_ETOOBIG or MG_ENOMEM; err (may be NULL) says where
 * and what. *out is NULL on failure. */
int mg_asn1_decode(const asn_TYPE_descriptor_t *td, const void *buf, size_t len, void **out,
                   struct mg_asn1_err *err);

/* mg_asn1_decode with options. MG_ASN1_LENIENT_SIZES skips the SIZE check of named list
 * types (asn1c's own constraint check still runs): for labels from tools that write an
 * empty SET where SIZE (1..n) forbids it (spiffing does, for a label without categories). */
#define MG_ASN1_LENIENT_SIZES 0x1u
int mg_asn1_decode_ex(const asn_TYPE_descriptor_t *td, const void *buf, size_t len,
                      unsigned flags, void **out, struct mg_asn1_err *err);

/* Encode value as DER into a malloc'ed buffer (*out, caller frees with free()). Checks
 * constraints first: MG_ECONSTRAINT for a value that breaks them, MG_ENOMEM, MG_EINVAL. */
int mg_asn1_encode_der(const asn_TYPE_descriptor_t *td, const void *value, unsigned char **out,
                       size_t *len);

/* Free a value decoded or built for td (NULL is fine). */
void mg_asn1_free(const asn_TYPE_descriptor_t *td, void *value);

/* Deep copy through DER (src must satisfy its constraints). */
int mg_asn1_copy(const asn_TYPE_descriptor_t *td, const void *src, void **out);

/* OID helpers: dotted text ("2.6.0.1.6") of an OBJECT IDENTIFIER into buf (0, MG_EPARSE,
 * MG_ETOOBIG); equality with dotted text (1 equal, 0 not or invalid). */
int mg_asn1_oid_str(const OBJECT_IDENTIFIER_t *oid, char *buf, size_t bufsz);
int mg_asn1_oid_is(const OBJECT_IDENTIFIER_t *oid, const char *dotted);
/* Set oid (owned storage, freed with its container) from dotted text: 0 or MG_EINVAL. */
int mg_asn1_oid_set(OBJECT_IDENTIFIER_t *oid, const char *dotted);

/* The per-PDU API. X(T) where T is the asn1c C name (type T_t, descriptor asn_DEF_T). */
#define MG_ASN1_PDU_LIST(X)                                                                 \
    X(MTS_APDU) X(Message) X(Probe) X(Report) X(MessageTransferEnvelope)                    \
    X(ProbeTransferEnvelope) X(ReportTransferEnvelope) X(ReportTransferContent)             \
    X(MTABindArgument) X(MTABindResult) X(MTABindError) X(MTSBindArgument) X(MTSBindResult) \
    X(ORName) X(ORAddress) X(SecurityLabel)                                                 \
    X(ESSSecurityLabel) X(EquivalentLabels) X(ReceiptRequest) X(Receipt) X(ContentHints)    \
    X(MLExpansionHistory) X(SigningCertificate) X(SigningCertificateV2) X(Clearance)        \
    X(External) X(RTSE_apdus) X(RTORQ) X(RTOAC) X(RTORJ) X(RTAB) X(RTTRapdu)                \
    X(MTA_Bind_Invoke) X(MTA_Bind_Result) X(MTA_Bind_Error)                                 \
    X(ACSE_apdu) X(AARQ_apdu) X(AARE_apdu) X(RLRQ_apdu) X(RLRE_apdu) X(ABRT_apdu)           \
    X(CP_type) X(CPA_PPDU) X(CPR_PPDU) X(Abort_type) X(User_data_PPDU)

/* int  mg_asn1_decode_T(const void *buf, size_t len, T_t **out, struct mg_asn1_err *err);
 * int  mg_asn1_encode_T(const T_t *v, unsigned char **der, size_t *len);
 * void mg_asn1_free_T(T_t *v); */
#define MG_ASN1_DECLARE_PDU(T)                                                               \
    int mg_asn1_decode_##T(const void *buf, size_t len, T##_t **out, struct mg_asn1_err *err); \
    int mg_asn1_encode_##T(const T##_t *v, unsigned char **der, size_t *len);                \
    void mg_asn1_free_##T(T##_t *v);
MG_ASN1_PDU_LIST(MG_ASN1_DECLARE_PDU)
#undef MG_ASN1_DECLARE_PDU

/* Descriptor of a PDU by its ASN.1 name ("MTS-APDU", "ESSSecurityLabel"), or NULL: for
 * tools and tests that take the type as text. Covers every PDU asn1c generated a table
 * entry for (modules/<module>.pdus), including other owners' modules. */
const asn_TYPE_descriptor_t *mg_asn1_pdu_by_name(const char *name);

#endif
