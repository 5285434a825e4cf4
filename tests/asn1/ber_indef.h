/* ber_indef: test helpers that rewrite a BER value into another valid BER encoding of the
 * same value, and back, without knowing its ASN.1 type:
 *  - ber_indef_convert: every constructed TLV gets the indefinite length form; every
 *    universal OCTET STRING or character string longer than seg bytes becomes a
 *    constructed, indefinite-length string of OCTET STRING segments of at most seg bytes
 *    (X.690 8.7.3 / 8.23), the habits real X.400 MTAs have;
 *  - ber_indef_normalize: definite minimal lengths everywhere and constructed universal
 *    strings joined into one primitive, so two encodings of one value compare equal even
 *    where asn1c copied ANY contents verbatim.
 * Strings under context or application tags (IMPLICIT) cannot be recognised without the
 * type and are left primitive. Shared with the X.420/P772 tests (link mg_ber_indef). */
#ifndef BER_INDEF_H
#define BER_INDEF_H

#include <stddef.h>

/* Both return 0, or -1 for input that is not well-formed BER (or out of memory);
 * *out is malloc'ed (caller frees). */
int ber_indef_convert(const unsigned char *in, size_t len, size_t seg, unsigned char **out,
                      size_t *outlen);
int ber_indef_normalize(const unsigned char *in, size_t len, unsigned char **out,
                        size_t *outlen);

#endif
