/* cms_wrap: sign, encrypt, triple-wrap and unwrap messages with CMS at the boundary.
 * Two forms: MIME (an RFC 5322 message; S/MIME per RFC 8551, outer headers kept) and DER
 * (binary CMS ContentInfo, e.g. a P772 content per STANAG 4406 Annex B / RFC 3855).
 * Each call is a pure function from (policy, bytes) to a cms_result: thread-safe for a shared,
 * fully built policy, so it can run on the libuv thread pool. */
#ifndef CMS_WRAP_H
#define CMS_WRAP_H

#include <stddef.h>
#include <openssl/x509.h>
#include "cms_policy.h"

enum cms_format { CMS_FORMAT_MIME = 0, CMS_FORMAT_DER = 1 };

/* Layers to add, innermost first; any combination. SIGN|ENCRYPT|OUTER_SIGN = triple wrap. */
enum {
    CMS_OP_SIGN = 1,        /* inner SignedData, with the inner label */
    CMS_OP_ENCRYPT = 2,     /* EnvelopedData (AuthEnvelopedData with a GCM cipher) */
    CMS_OP_OUTER_SIGN = 4,  /* outer SignedData, with the outer label */
};
#define CMS_OP_TRIPLE (CMS_OP_SIGN | CMS_OP_ENCRYPT | CMS_OP_OUTER_SIGN)

enum cms_layer_kind { CMS_KIND_SIGNED = 1, CMS_KIND_ENVELOPED, CMS_KIND_AUTH_ENVELOPED };

#define CMS_MAX_LAYERS 8

/* What one layer was. Everything here is owned by the result. */
struct cms_layer {
    enum cms_layer_kind kind;
    int status;                 /* 0, or the MG_E* code this layer failed with */
    char signer[256];           /* signer subject (signed layers) */
    X509 *signer_cert;          /* owned reference (for harvesting), may be NULL */
    unsigned char *label;       /* ESSSecurityLabel DER of the first signer, may be NULL */
    size_t label_len;
    unsigned char *equiv;       /* EquivalentLabels DER, may be NULL */
    size_t equiv_len;
    unsigned char *mlexp;       /* MLExpansionHistory DER, may be NULL */
    size_t mlexp_len;
    int receipt_requested;
    int nrecipients;            /* enveloped layers */
    char recipients[512];       /* "issuer#serial; ..." (truncated if long) */
    char content_type[64];      /* dotted OID of the content inside this layer */
};

struct cms_result {
    unsigned char *data;        /* owned (free with cms_result_free): the output bytes */
    size_t len;
    int nlayers;
    struct cms_layer layers[CMS_MAX_LAYERS]; /* outermost first for unwrap, innermost first for wrap */
    int skipped_encrypt;        /* wrap: input already encrypted for these recipients */
    int header_mismatch;        /* unwrap: protected header differs from the outer header */
    int kept_signature;         /* unwrap (cms_policy_set_keep_signatures): data is the signed
                                 * layer found under an envelope, verified and left on (its
                                 * layer is the last one recorded), not that layer's content */
    char reason[256];           /* one line: why it failed, or notes on success */
    STACK_OF(X509) *signers;    /* unwrap: owned, never NULL after cms_unwrap*() (wrap: NULL):
                                 * every signer whose signature verified and
                                 * whose path validated, all layers, also when a later layer then
                                 * failed: what the caller may harvest (cert_store_harvest) */
};

void cms_result_init(struct cms_result *r);
void cms_result_free(struct cms_result *r);

/* Add the layers in ops to the message. MIME: in is an RFC 5322 message; headers other than
 * Content-* stay outside, the MIME entity is protected (the whole message with header
 * protection). DER: in is the content octets (ops with SIGN/ENCRYPT) or a CMS ContentInfo
 * already signed (ops without SIGN). Never encrypts again what is already encrypted for the
 * same recipients. Returns 0 or MG_E*; res->reason says why. */
int cms_wrap(const struct cms_policy *p, unsigned ops, enum cms_format fmt,
             const unsigned char *in, size_t len, struct cms_result *res);

/* Remove every layer it can (verify, decrypt), recording each. The format is detected (PEM if
 * the first line is a CMS PEM start line, DER if it parses as a CMS ContentInfo, MIME
 * otherwise). On failure res->layers still describes the layers met so far. Returns 0, MG_EVERIFY (bad signature or content), MG_ENOKEY (no key for
 * any recipient), MG_ECRYPTO (decryption failed), MG_EREVOKED/MG_EEXPIRED/MG_EUNTRUSTED
 * (signer certificate), MG_EPARSE (not CMS / S/MIME) ...
 * Pure: res->signers returns the signers that verified (even when a later layer then fails);
 * storing them (harvesting) is the caller's business, so this library does no I/O. */
int cms_unwrap(const struct cms_policy *p, const unsigned char *in, size_t len,
               struct cms_result *res);

/* Verify a detached DER signature (RFC 4134 4.3 style) over content, then unwrap whatever the
 * content holds no further (it is returned as is in res->data). */
int cms_unwrap_detached(const struct cms_policy *p, const unsigned char *sig, size_t siglen,
                        const unsigned char *content, size_t clen, struct cms_result *res);

/* Whether cert may be an encryption recipient under p right now: chains to an anchor, in its
 * validity period, not revoked (by the policy's revocation mode), S/MIME key usage. The same
 * check cms_wrap makes, for callers that decide per recipient before wrapping. Returns 0,
 * MG_EREVOKED, MG_EEXPIRED, MG_EUNTRUSTED or MG_EDENIED; why gets a one-line reason. */
int cms_wrap_check_recipient(const struct cms_policy *p, X509 *cert, char *why, size_t whylen);

/* Sniff: 1 if the bytes are DER CMS, 0 otherwise. */
int cms_wrap_is_der(const unsigned char *in, size_t len);
/* Sniff: 1 if the first line is a PEM start line of a CMS ContentInfo ("-----BEGIN CMS-----"
 * or "-----BEGIN PKCS7-----", as `openssl cms -outform PEM` writes it; trailing blanks and CR
 * allowed), 0 otherwise. A message whose first line only begins with "-----BEGIN " (a header
 * line, a PGP block) is MIME. */
int cms_wrap_is_pem(const unsigned char *in, size_t len);

#endif
