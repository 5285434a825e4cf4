/* lsw_smime: the ESS security label of a signed S/MIME layer (application/pkcs7-mime
 * signed-data, or the signature part of multipart/signed), or of a binary X.400 content that is
 * CMS SignedData (STANAG 4406 Annex B, RFC 3854/3855: a P772/P22 content signed as a whole and
 * carried with the X.400 content type id-signedData), read from the first signer's signed
 * attributes WITHOUT verifying the signature (verification is the cms channel's business).
 * Untrusted input: sizes bounded, never aborts. */
#ifndef LSW_SMIME_H
#define LSW_SMIME_H

#include <stddef.h>

/* *der (malloc'd): the ESSSecurityLabel DER. MG_ENOTFOUND (not signed, or no label),
 * MG_EPARSE (not CMS), MG_ENOMEM. */
int lsw_smime_ess_label(const unsigned char *c, size_t len, unsigned char **der, size_t *dlen);

/* The same for a binary content: a DER/BER ContentInfo whose contentType is id-signedData, or a
 * bare SignedData (RFC 3855 lets the X.400 content type say id-signedData; both encodings are
 * met). Same returns; MG_ENOTFOUND also for anything that is not signed CMS. */
int lsw_smime_ess_label_der(const unsigned char *c, size_t len, unsigned char **der, size_t *dlen);

#endif
