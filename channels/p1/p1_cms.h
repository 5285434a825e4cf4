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

/* The same, replacing the content type whatever it was: oid is a dotted OID (extended type)
 * or "2" / "22" (built-in, [APPLICATION 6] INTEGER). For content opened here (a cms channel
 * decrypted or stripped it): the envelope named the CMS type it travelled as. */
int p1_cms_set_type(const uint8_t *env, size_t len, const char *oid, uint8_t **out, size_t *outlen);

#define P1_CMS_P772 "1.3.26.0.4406.0.4.1" /* STANAG 4406 P772 content type */

/* The content type a P1 envelope must name for the content version c (n octets) it carries,
 * into out ("22", "2" or a dotted OID): the content version decides, not the message.
 * stored: what the message's envelope says (dotted OID, "2"/"22"; NULL or "" = none).
 *  - c is a CMS ContentInfo: id-ct-contentInfo (RFC 3855), or stored when that names a
 *    PKCS / S/MIME type already;
 *  - else, when stored names a PKCS / S/MIME type (the content was opened here) or nothing:
 *    the IPM's own type, read from its heading (RFC 3854 puts the type innermost, and the
 *    opened layer is gone): P772 when the heading (an IPN: its extensions) carries a STANAG
 *    4406 extension (1.3.26.0.4406.*), else P22 ("22", also for bytes that are no IPM);
 *  - else stored (the content is what the envelope said).
 * Returns 1 when out differs from stored (a stored envelope must be retyped), 0 when not,
 * MG_EINVAL when out is too small. Content from outside: never trusted. */
int p1_cms_content_type(const uint8_t *c, size_t n, const char *stored, char *out, size_t outsz);

/* The same for a content version that names its own type (version: what the processing
 * channel that made it said, content_oid): version itself, in the envelope's built-in form
 * for P2 / P22 ("2" / "22" for 2.6.1.10.0 / .1); stored when that names the same type (in
 * either form), or a PKCS / S/MIME type when version does too. Returns 1 when out differs
 * from stored, 0 when not, MG_EINVAL (version NULL or "", out too small). */
int p1_cms_version_type(const char *version, const char *stored, char *out, size_t outsz);

#endif
