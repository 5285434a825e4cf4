/* lbl_ber: the DER/BER label codecs, on asn1's generated types (mg_asn1, asn1/README.md):
 * ESSSecurityLabel (RFC 2634), X.411 SecurityLabel (privacy mark limited to PrintableString)
 * and the X.841 Clearance. Categories use the NATO tag encodings (ACP 145 / STANAG 4774):
 * restrictive and permissive bitmaps, enumerated attributes, informative (tagType7).
 * Categories of other types are kept as bytes (lbl_rawcat) and written back unchanged. */
#ifndef LBL_BER_H
#define LBL_BER_H

#include <stddef.h>

#include "lbl_label.h"
#include "lbl_spif.h"

#define LBL_BER_MAX_BYTES (64 * 1024)

/* NATO security category types (2.16.840.1.101.2.1.8.3.x). */
#define LBL_OID_NATO_RESTRICTIVE "2.16.840.1.101.2.1.8.3.0"
#define LBL_OID_NATO_ENUM_PERMISSIVE "2.16.840.1.101.2.1.8.3.1"
#define LBL_OID_NATO_PERMISSIVE "2.16.840.1.101.2.1.8.3.2"
#define LBL_OID_NATO_ENUM_RESTRICTIVE "2.16.840.1.101.2.1.8.3.4"
#define LBL_OID_NATO_INFORMATIVE "2.16.840.1.101.2.1.8.3.3"

/* ESS requires a policy identifier: a label without one is refused. */
int lbl_ess_decode(const void *der, size_t len, struct lbl_label *out, struct lbl_err *err);
/* p (may be NULL) chooses the tagType7 encoding (bitset or attributes) per tag. */
int lbl_ess_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len,
                   struct lbl_err *err);
/* EquivalentLabels (SEQUENCE OF ESSSecurityLabel): *out is an array of *n labels; free each
 * with lbl_label_free() and the array with free(). */
int lbl_ess_decode_equivalent(const void *der, size_t len, struct lbl_label **out, size_t *n, struct lbl_err *err);
/* X.411 also accepts a privacy mark sent as UTF8String when its text is PrintableString-safe
 * (a common encoder habit); the mark is kept as text. */
int lbl_x411_decode(const void *ber, size_t len, struct lbl_label *out, struct lbl_err *err);
/* Fails if the privacy mark is not a PrintableString. */
int lbl_x411_encode(const struct lbl_label *l, const struct lbl_policy *p, unsigned char **out, size_t *len,
                    struct lbl_err *err);
int lbl_clearance_ber_decode(const void *ber, size_t len, struct lbl_clearance *out, struct lbl_err *err);
int lbl_clearance_ber_encode(const struct lbl_clearance *c, unsigned char **out, size_t *len, struct lbl_err *err);

#endif
