/* mg_ipm: X.420 (P2/P22) and STANAG 4406 (P772) content: decode with constraint check and a
 * located error, DER encode, free, and the second decoding step for open types (IPMS heading,
 * recipient and notification extensions by OID; extended body parts by OID) so callers get
 * typed values. Types come from asn1/modules/x420.asn1 and p772.asn1 (asn1c-generated). */
#ifndef MG_IPM_H
#define MG_IPM_H

#include <stddef.h>

#include "ANY.h"
#include "OBJECT_IDENTIFIER.h"
#include "asn_application.h"

#include "BodyPartInstance.h"
#include "ExtensionsField.h"
#include "IPM.h"
#include "IPMSExtension.h"
#include "IPN.h"
#include "InformationObject.h"
#include "MMInformationObject.h"

struct mg_buf;

/* Inputs larger than this are refused before decoding (a P772 message with big attachments
 * stays well below it; P1 limits the content size separately). */
#define MG_IPM_MAX_INPUT (64u * 1024u * 1024u)

/* Where and why a decode failed: offset of the first byte that does not fit, and a
 * readable account ("heading.subject: expected TeletexString, found [UNIVERSAL 4]"). */
struct mg_ipm_error {
    size_t offset;
    char what[256];
};

/* Decode BER (any length form) of type td, then check constraints. On success *out owns the
 * value (free with mg_ipm_free). Returns 0, MG_EPARSE, MG_ECONSTRAINT, MG_EINCOMPLETE
 * (input ends early), MG_ETOOBIG or MG_ENOMEM; err (may be NULL) is filled on failure.
 * Trailing bytes after the value are an error (MG_EPARSE). */
int mg_ipm_decode(asn_TYPE_descriptor_t *td, const void *buf, size_t len, void **out,
                  struct mg_ipm_error *err);
/* DER-encode value into out (appended). ANY values are copied as they are (see notes). */
int mg_ipm_encode(asn_TYPE_descriptor_t *td, const void *value, struct mg_buf *out);
/* Free a value owned by the caller (NULL is fine). */
void mg_ipm_free(asn_TYPE_descriptor_t *td, void *value);

/* Typed shorthands. */
int mg_ipm_decode_info(const void *buf, size_t len, InformationObject_t **out,
                       struct mg_ipm_error *err);
int mg_ipm_decode_ipm(const void *buf, size_t len, IPM_t **out, struct mg_ipm_error *err);
int mg_ipm_decode_ipn(const void *buf, size_t len, IPN_t **out, struct mg_ipm_error *err);
int mg_ipm_decode_mm(const void *buf, size_t len, MMInformationObject_t **out,
                     struct mg_ipm_error *err);

/* The heading extensions of an IPM, or the notification extensions of an IPN (the same
 * shape): their count, *arr set to the array (NULL and 0 when there are none). */
int mg_ipm_info_extensions(const InformationObject_t *io, IPMSExtension_t ***arr);

/* Typed DER encoders (appending to out) and frees. */
int mg_ipm_encode_info(const InformationObject_t *v, struct mg_buf *out);
int mg_ipm_encode_ipm(const IPM_t *v, struct mg_buf *out);
int mg_ipm_encode_ipn(const IPN_t *v, struct mg_buf *out);
int mg_ipm_encode_mm(const MMInformationObject_t *v, struct mg_buf *out);
void mg_ipm_free_info(InformationObject_t *v);
void mg_ipm_free_ipm(IPM_t *v);
void mg_ipm_free_ipn(IPN_t *v);
void mg_ipm_free_mm(MMInformationObject_t *v);

/* Dotted text of an OID ("1.3.26.0.4406.0.2.0"); MG_EPARSE if it is malformed. */
int mg_ipm_oid_str(const OBJECT_IDENTIFIER_t *oid, char *buf, size_t size);

/* What an OID means to us. td is NULL when the OID is only named (content types, or
 * extensions whose value we keep as plain BER). */
enum mg_ipm_oid_kind {
    MG_IPM_OID_HEADING_EXT,   /* X.420 id-hex, STANAG 4406 id-mm, private heading extensions */
    MG_IPM_OID_RECIPIENT_EXT, /* X.420 id-rex, STANAG 4406 per-recipient */
    MG_IPM_OID_NOTIFICATION,  /* other-notification-type fields (id-on, ACP 127 response) */
    MG_IPM_OID_BODY_DATA,     /* extended body part data (X.420 id-et, STANAG 4406 id-et) */
    MG_IPM_OID_BODY_PARAMS,   /* extended body part parameters (X.420 id-ep, ...) */
    MG_IPM_OID_CONTENT_TYPE,  /* P1 content types of interpersonal messaging */
};
struct mg_ipm_oid_entry {
    const char *oid;  /* dotted */
    const char *name; /* the standard's value name, e.g. "primary-precedence" */
    enum mg_ipm_oid_kind kind;
    asn_TYPE_descriptor_t *td; /* value type, or NULL */
};
/* Lookup by dotted OID; NULL when unknown. */
const struct mg_ipm_oid_entry *mg_ipm_oid_lookup(const char *dotted);
/* The whole table (for printers and tests). */
const struct mg_ipm_oid_entry *mg_ipm_oid_table(size_t *count);

/* Names asn1c drops: named numbers of INTEGER types and named bits of BIT STRING types of
 * these modules, by ASN.1 type name ("PrimaryPrecedence", 3 -> "immediate"); NULL if none. */
const char *mg_ipm_number_name(const char *type, long value);
const char *mg_ipm_bit_name(const char *type, long bit);

/* An open-type value decoded in the second step. value is owned by the struct. */
struct mg_ipm_typed {
    const struct mg_ipm_oid_entry *entry; /* NULL when the OID is unknown */
    asn_TYPE_descriptor_t *td;            /* NULL when there is no typed value */
    void *value;
};
void mg_ipm_typed_free(struct mg_ipm_typed *t);

/* Decode an IPMS extension's value by its OID. Unknown OIDs, extensions we only name and
 * absent values (X.420 DEFAULT NULL) give 0 with out->td == NULL (the caller keeps the raw
 * BER). A value that does not match its OID's type is MG_EPARSE with err filled. */
int mg_ipm_ext_decode(const IPMSExtension_t *ext, struct mg_ipm_typed *out,
                      struct mg_ipm_error *err);
/* Decode the value of an extended body part's data or parameters by its type-id. */
int mg_ipm_bodypart_decode(const BodyPartInstance_t *inst, struct mg_ipm_typed *out,
                           struct mg_ipm_error *err);
/* Find the extension with this dotted OID in a heading's extensions and decode it.
 * MG_ENOTFOUND when absent (exts may be NULL). */
int mg_ipm_ext_find(const ExtensionsField_t *exts, const char *dotted,
                    struct mg_ipm_typed *out, struct mg_ipm_error *err);

/* A BER length (X.690 8.1.3) at buf: bytes used, 0 if more input is needed, -1 if malformed
 * or too large; *len is -1 for the indefinite form. Written here because asn1c 0.9.28's
 * ber_fetch_length shifts a signed long past its width on 8 length octets (undefined
 * behaviour; found by fuzzing). */
ssize_t mg_ipm_fetch_length(int constructed, const void *buf, size_t size, ber_tlv_len_t *len);

/* Locate a decode failure: walks buf guided by td and describes the first element that does
 * not decode. Used by mg_ipm_decode; exported for the other wrappers and `mixgate decode`. */
void mg_ipm_diagnose(asn_TYPE_descriptor_t *td, const void *buf, size_t len,
                     struct mg_ipm_error *err);

#endif
