/* mg_asn1_open: the second decoding step for the open types (ANY) that asn1c leaves as
 * bytes: X.411 extension values (by standard-extension number or private OID), OR-address
 * extension attributes (by type number), P1 content (by content type, through a caller's
 * table), presentation data values and EXTERNALs (by presentation context), and the MTA
 * bind argument/result/error carried in RTSE connection data. Callers get typed values. */
#ifndef MG_ASN1_OPEN_H
#define MG_ASN1_OPEN_H

#include <stddef.h>

#include "mg_asn1.h"

#include "ContentType.h"
#include "ExtensionAttribute.h"
#include "ExtensionField.h"
#include "Extensions.h"
#include "PDV-list.h"

/* A typed value: td says what ptr is (td == &asn_DEF_SecurityLabel -> SecurityLabel_t *).
 * Owns ptr; release with mg_asn1_value_free. */
struct mg_asn1_value {
    const asn_TYPE_descriptor_t *td;
    void *ptr;
};
void mg_asn1_value_free(struct mg_asn1_value *v);

/* An OID -> type mapping; tables end with an entry whose oid is NULL. */
struct mg_asn1_oid_type {
    const char *oid;                   /* dotted */
    const asn_TYPE_descriptor_t *td;
    const char *name;                  /* for logs */
};

/* ---- X.411 extensions ---- */

/* Type of standard extension n (1..46), or NULL for a number X.411 does not define here
 * (36 forwarding-request, 41/43/44 X.420 ones, unknown numbers). */
const asn_TYPE_descriptor_t *mg_asn1_open_ext_std_type(long n);
/* Its name ("message-security-label"), or NULL. */
const char *mg_asn1_open_ext_std_name(long n);

/* Decode an ExtensionField's value by its type: standard extensions through the built-in
 * table, private ones through private_table (may be NULL). Returns 0 with out->td set and
 * out->ptr the value, or out->ptr NULL when the field carries no value (the extension's
 * IF ABSENT default applies); MG_ENOTFOUND when the type is unknown (relay the bytes as they
 * are, or refuse if critical); MG_EPARSE / MG_ECONSTRAINT / MG_EINCOMPLETE with err set. */
int mg_asn1_open_ext_decode(const ExtensionField_t *f, const struct mg_asn1_oid_type *private_table,
                            struct mg_asn1_value *out, struct mg_asn1_err *err);

/* The first field of exts that is standard extension n (NULL when absent or exts NULL). */
const ExtensionField_t *mg_asn1_open_ext_find_std(const Extensions_t *exts, long n);
/* The first field of exts that is the private extension with this dotted OID. */
const ExtensionField_t *mg_asn1_open_ext_find_private(const Extensions_t *exts, const char *oid);

/* Fill f as standard extension n carrying value (of n's type, DER-encoded into the field;
 * value NULL leaves the value absent) and, when crit_bits is not 0, the criticality bits
 * (1 << 0 submission, 1 << 1 transfer, 1 << 2 delivery). f must be zeroed or freshly
 * freed contents. 0, MG_ENOTFOUND (no known type for n), MG_ECONSTRAINT, MG_ENOMEM. */
int mg_asn1_open_ext_set_std(ExtensionField_t *f, long n, const void *value, unsigned crit_bits);

/* Criticality bits of a field (X.411 Criticality: bit 0 submission, 1 transfer,
 * 2 delivery): 1 if set, 0 if not or absent. */
int mg_asn1_open_ext_critical(const ExtensionField_t *f, int bit);

/* ---- OR-address extension attributes ---- */

/* Type of extension attribute n (1..40), or NULL. Name ("common-name") or NULL. */
const asn_TYPE_descriptor_t *mg_asn1_open_exattr_type(long n);
const char *mg_asn1_open_exattr_name(long n);
/* Decode an extension attribute's value: 0, MG_ENOTFOUND (unknown type) or a decode error. */
int mg_asn1_open_exattr_decode(const ExtensionAttribute_t *a, struct mg_asn1_value *out,
                               struct mg_asn1_err *err);

/* ---- P1 content ---- */

/* Maps a content type to the type of the content octets. built_in is the
 * BuiltInContentType number, or -1 when the entry is for an extended (OID) type. Tables
 * end with an entry whose td is NULL. */
struct mg_asn1_content_entry {
    long built_in;
    const char *oid;
    const asn_TYPE_descriptor_t *td;
};

/* Decode content octets by content type through table (the X.420/P772 owners provide
 * theirs); the built-in type external(1) is always known (an EXTERNAL). 0, MG_ENOTFOUND
 * (type not in the table), or a decode error. */
int mg_asn1_open_content_decode(const ContentType_t *ct, const OCTET_STRING_t *content,
                                const struct mg_asn1_content_entry *table,
                                struct mg_asn1_value *out, struct mg_asn1_err *err);

/* ---- Presentation contexts, EXTERNAL, RTSE ---- */

/* Abstract syntaxes P1 uses over RTSE: ACSE (2.2.1.0.1) -> ACSE-apdu; id-as-mta-rtse
 * (2.6.0.2.12) -> RTSE-apdus; id-as-mta (2.6.0.2.7) -> MTS-APDU.
 * NULL for others. */
const asn_TYPE_descriptor_t *mg_asn1_open_abstract_syntax(const OBJECT_IDENTIFIER_t *as);

/* A negotiated presentation context: identifier and the type its data values have. */
struct mg_asn1_pcontext {
    long id;
    const asn_TYPE_descriptor_t *td;   /* NULL: abstract syntax unknown to us */
};

/* The contexts proposed in a CP PPDU's definition list (normal mode): fills up to max
 * entries, *n the number found. 0, MG_ENOTFOUND (no definition list), MG_ETOOBIG. */
int mg_asn1_open_pcontexts(const CP_type_t *cp, struct mg_asn1_pcontext *out, size_t max,
                           size_t *n);

/* Decode a PDV-list's single-ASN1-type value by its presentation context. 0, MG_ENOTFOUND
 * (no such context, unknown syntax, or not single-ASN1-type), or a decode error. */
int mg_asn1_open_pdv_decode(const PDV_list_t *pdv, const struct mg_asn1_pcontext *ctx, size_t n,
                            struct mg_asn1_value *out, struct mg_asn1_err *err);

/* Decode an EXTERNAL's single-ASN1-type value by its indirect reference (presentation
 * context), as ACSE user information and RTTR carry it. Same returns as above. */
int mg_asn1_open_external_decode(const External_t *ext, const struct mg_asn1_pcontext *ctx,
                                 size_t n, struct mg_asn1_value *out, struct mg_asn1_err *err);

/* The P1 bind in RTSE connection data. Each returns 0, MG_ENOTFOUND (no user data or
 * recovery instead of open) or a decode error; *out owns the value. */
int mg_asn1_open_rtorq_bind(const RTORQapdu_t *rq, MTA_Bind_Invoke_t **out, struct mg_asn1_err *err);
int mg_asn1_open_rtoac_bind(const RTOACapdu_t *ac, MTA_Bind_Result_t **out, struct mg_asn1_err *err);
/* The MTABindError in an RTORJ's userDataRJ ([18]{INTEGER}), e.g. authentication-error(2). */
int mg_asn1_open_rtorj_bind_error(const RTORJapdu_t *rj, long *bind_error, struct mg_asn1_err *err);

#endif
