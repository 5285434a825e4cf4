/* cms_receipt: ESS signed receipts (RFC 2634 section 2): make one for a signed message that
 * requested it, and check a receipt that comes back against the message we sent. Thread-safe
 * like cms_wrap (read-only policy, per-call OpenSSL objects). */
#ifndef CMS_RECEIPT_H
#define CMS_RECEIPT_H

#include <stddef.h>
#include "cms_wrap.h"

/* msg: a signed message (S/MIME or DER) with a receiptRequest in its first signature, or in a
 * signature below layers we can open (a triple wrap: outer signature verified, envelope
 * decrypted with the policy's keys). Verifies it, then signs a receipt with the policy's inner
 * signer: DER in, DER out; S/MIME in, an S/MIME entity (smime-type=signed-receipt) out.
 * MG_ENOTFOUND when no receipt was requested. */
int cms_receipt_make(const struct cms_policy *p, const unsigned char *msg, size_t len,
                     struct cms_result *res);
/* Verify receipt (S/MIME or DER) against orig, the signed message it acknowledges (as sent: a
 * triple-wrapped original needs a key that opens it, e.g. encrypt-to-self). 0 when the
 * receipt is signed by a valid certificate and its msgSigDigest, contentType and
 * signedContentIdentifier match orig; MG_EVERIFY otherwise. res->layers[0] is the receipt. */
int cms_receipt_verify(const struct cms_policy *p, const unsigned char *receipt, size_t rlen,
                       const unsigned char *orig, size_t olen, struct cms_result *res);

#endif
