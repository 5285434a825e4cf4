/* lsw_smime: the ESS security label of a signed S/MIME layer (application/pkcs7-mime
 * signed-data, or the signature part of multipart/signed), read from the first signer's
 * signed attributes WITHOUT verifying the signature (verification is the cms channel's
 * business). Untrusted input: sizes bounded, never aborts. */
#ifndef LSW_SMIME_H
#define LSW_SMIME_H

#include <stddef.h>

/* *der (malloc'd): the ESSSecurityLabel DER. MG_ENOTFOUND (not signed, or no label),
 * MG_EPARSE (not CMS), MG_ENOMEM. */
int lsw_smime_ess_label(const unsigned char *c, size_t len, unsigned char **der, size_t *dlen);

#endif
