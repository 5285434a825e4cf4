/* cms_fastread: a CMS ContentInfo read from a message with the certificates it carries
 * decoded once per policy cache, not once per message (internal to mg_crypto; see
 * cms_fastread.c for why). */
#ifndef CMS_FASTREAD_H
#define CMS_FASTREAD_H

#include <stddef.h>
#include <openssl/cms.h>
#include <openssl/x509.h>

struct cms_vcache;

/* DER ContentInfo (exactly len bytes) to *cms, a SignedData's certificates cut out and returned
 * in *certs (owned by the caller, possibly empty; never NULL on 1), taken from cache c (NULL:
 * decoded here). 1 done; 0 when the input is not a form this reader takes (the caller parses
 * it the usual way and reports the errors); MG_ENOMEM. */
int cms_fast_d2i(struct cms_vcache *c, const unsigned char *der, size_t len,
                 CMS_ContentInfo **cms, STACK_OF(X509) **certs);

/* The same for an S/MIME entity instead of SMIME_read_CMS: application/pkcs7-mime (header and
 * base64 body), or multipart/signed with *dcont and *dlen the signed content's bytes (pointing
 * into ent, as they are: line ends not converted; NULL for pkcs7-mime). 1, 0 (not one it
 * reads: use SMIME_read_CMS) or MG_ENOMEM. */
int cms_fast_read(struct cms_vcache *c, const unsigned char *ent, size_t len,
                  CMS_ContentInfo **cms, STACK_OF(X509) **certs, const unsigned char **dcont,
                  size_t *dlen);

#endif
