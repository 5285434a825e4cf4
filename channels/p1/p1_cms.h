/* p1_cms: X.400 content protected with CMS (RFC 3854, STANAG 4406 Annex B triple wrap) as P1
 * carries it (RFC 3855): the content is the DER ContentInfo of the outermost layer and the
 * MTS envelope's content type says so (id-ct-contentInfo), where it said P772 or P22 before
 * the cms channel wrapped it. The channel recognises such content by its bytes (an IPM begins
 * with its heading, a SET; a ContentInfo with a CMS content-type OID) and retypes the stored
 * envelope it relays. */
#ifndef P1_CMS_H
#define P1_CMS_H

#include <stddef.h>
#include <stdint.h>

#define P1_CMS_CONTENT_INFO "1.2.840.113549.1.9.16.1.6" /* id-ct-contentInfo */

/* 1 when c is exactly one DER/BER ContentInfo of SignedData, EnvelopedData or
 * AuthEnvelopedData; else 0. Content from outside: every length is checked. */
int p1_cms_is_content_info(const uint8_t *c, size_t n);

/* A copy of a stored MessageTransferEnvelope (a SET) whose content type (built-in or
 * extended, exactly one) is replaced by the extended type `oid` (dotted), unless it names a
 * PKCS / S/MIME type (1.2.840.113549.1...) already, which stays: *out (malloc'ed, caller
 * frees). The other members stay as they were. 0, MG_EPARSE (no envelope, none or
 * several content types), MG_EINVAL (a bad OID), MG_ENOMEM. */
int p1_cms_retype(const uint8_t *env, size_t len, const char *oid, uint8_t **out, size_t *outlen);

#endif
