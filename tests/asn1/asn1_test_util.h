/* asn1_test_util: shared helpers of the asn1 tests: reading a third-party vector (skipping
 * loudly when MIXGATE_VECTORS is absent), rendering O/R names the way tshark prints them,
 * and pulling expected values out of the tshark -V reference text. */
#ifndef ASN1_TEST_UTIL_H
#define ASN1_TEST_UTIL_H

struct mg_buf;
#include <stddef.h>

#include "mg_asn1.h"

/* Path of $MIXGATE_VECTORS/rel into buf; NULL (after printing why) when the folder is
 * missing, so the caller skip()s. */
const char *atu_vector_path(const char *rel, char *buf, size_t bufsz);
/* Read $MIXGATE_VECTORS/rel; 0 or -1. *data is malloc'ed. */
int atu_read_vector(const char *rel, unsigned char **data, size_t *len);

/* "/C=gb/A= /P=smhs/O=percival/S=gal/" (tshark's p1 rendering: C, A, P, O, OU, S, G, I,
 * Q, CN from the common-name extension attribute). */
void atu_orname_text(const ORAddress_t *addr_fields_of_orname, char *buf, size_t bufsz);
/* ORName shares ORAddress's leading fields (COMPONENTS OF): view it as one. */
const ORAddress_t *atu_orname_address(const ORName_t *n, ORAddress_t *tmp);
/* "/C=gb/A= /P=smhs/ $ local-id" (tshark's MTSIdentifier rendering). */
void atu_mtsid_text(const MTSIdentifier_t *id, char *buf, size_t bufsz);

/* Every value tshark shows as "<key> (<value>)" or "<key>: <value>" between the first line
 * containing from and the next line containing to (to NULL: end of file), in order.
 * Returns the count found (at most max); vals are malloc'ed (free with atu_free_strs). */
size_t atu_tshark_values(const char *tshark_rel, const char *from, const char *to,
                         const char *key, char **vals, size_t max);
void atu_free_strs(char **vals, size_t n);


/* Appends the DER of v to out. 0, or the encoder's MG_E* code (the caller asserts). */
int atu_append_der(const asn_TYPE_descriptor_t *td, const void *v, struct mg_buf *out);
/* Appends presentation user data (fully encoded, context 1) carrying an ACSE RLRQ
 * (response 0) or RLRE (response 1) with reason normal: the P-RELEASE of an association.
 * 0 or MG_E*. */
int atu_build_release(int response, struct mg_buf *out);

#endif
