/* cms_policy: what a CMS / S/MIME wrap or unwrap should do: keys, recipients, trust, labels,
 * algorithms and revocation policy. Build it once (the setters are not thread-safe), then share
 * it read-only between any number of threads calling cms_wrap_* concurrently: every call makes
 * its own OpenSSL objects and only reads the policy. */
#ifndef CMS_POLICY_H
#define CMS_POLICY_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

enum cms_cipher {
    CMS_CIPHER_AES128_CBC = 0, /* STANAG 4406 / ACP 145 profile: the default */
    CMS_CIPHER_AES256_CBC,
    CMS_CIPHER_AES128_GCM,     /* AuthEnvelopedData (RFC 5083/5084) */
    CMS_CIPHER_AES256_GCM,
};

enum cms_layer_which { CMS_LAYER_INNER = 0, CMS_LAYER_OUTER = 1 };

enum cms_revocation {
    CMS_REVOCATION_NONE = 0,    /* no CRL checks */
    CMS_REVOCATION_FAIL_OPEN,   /* check where a CRL is known; no CRL for an issuer is fine */
    CMS_REVOCATION_FAIL_CLOSED, /* every certificate in the path needs a current CRL */
};

struct cms_policy;

int cms_policy_create(struct cms_policy **out);
void cms_policy_free(struct cms_policy *p);
/* A new policy with everything p has (its own references: signers, recipients, keys, anchors,
 * CRLs, OCSP answers, algorithms, labels). A channel builds its base
 * policy once and clones it per message to add that message's recipients. */
int cms_policy_clone(const struct cms_policy *p, struct cms_policy **out);

/* Signer for a layer. The outer signer defaults to the inner one. The policy takes its own
 * references (the caller keeps its own). chain may be NULL: extra certificates to include. */
int cms_policy_set_signer(struct cms_policy *p, enum cms_layer_which which, X509 *cert,
                          EVP_PKEY *key, STACK_OF(X509) *chain);
/* Encryption recipients (several allowed). */
int cms_policy_add_recipient(struct cms_policy *p, X509 *cert);
/* A key we hold for decryption; several per identity are tried in turn (key rotation). */
int cms_policy_add_key(struct cms_policy *p, X509 *cert, EVP_PKEY *key);
/* Trust anchors, untrusted intermediates and CRLs for path validation. */
int cms_policy_add_anchor(struct cms_policy *p, X509 *cert);
int cms_policy_add_untrusted(struct cms_policy *p, X509 *cert);
int cms_policy_add_crl(struct cms_policy *p, X509_CRL *crl);
void cms_policy_set_revocation(struct cms_policy *p, enum cms_revocation mode);
/* A current OCSP answer for cert (from cert_store's cache): good stands in for a missing CRL
 * (fail-closed), revoked refuses the certificate. */
int cms_policy_add_ocsp_status(struct cms_policy *p, X509 *cert, int revoked);
/* Validate certificates at this time instead of now (0 = now). For tests and old vectors. */
void cms_policy_set_check_time(struct cms_policy *p, long long unix_time);

/* ESS attributes (opaque DER, validated for outer structure here). label: ESSSecurityLabel
 * (a SET); equivalent: EquivalentLabels (a SEQUENCE); mlexp: MLExpansionHistory (a SEQUENCE). */
int cms_policy_set_label(struct cms_policy *p, enum cms_layer_which which,
                         const unsigned char *der, size_t len);
int cms_policy_set_equivalent_labels(struct cms_policy *p, enum cms_layer_which which,
                                     const unsigned char *der, size_t len);
int cms_policy_set_ml_history(struct cms_policy *p, enum cms_layer_which which,
                              const unsigned char *der, size_t len);
/* Ask for a signed receipt (RFC 2634 2.7) on the inner signature: from all recipients, replies
 * to receipt_to (an rfc822 address). */
int cms_policy_set_receipt_request(struct cms_policy *p, const char *receipt_to);

void cms_policy_set_cipher(struct cms_policy *p, enum cms_cipher c);
void cms_policy_set_rsa_oaep(struct cms_policy *p, int on);      /* OAEP-SHA256 key transport */
void cms_policy_set_ecdh_sha256(struct cms_policy *p, int on);   /* SHA-256 KDF for ECDH */
void cms_policy_set_detached(struct cms_policy *p, int on);      /* MIME: multipart/signed */
void cms_policy_set_header_protection(struct cms_policy *p, int on);
/* Also encrypt to the originator (our signer certificate), so sent mail stays readable. */
void cms_policy_set_encrypt_to_self(struct cms_policy *p, int on);
/* Unwrap: a signed layer found under an envelope is verified (and recorded, as always) but
 * kept in the output, so the recipient can check the signature too; only the envelope (and
 * an outer signature over it) is removed. MIME: the output is the signed entity; DER (a
 * STANAG 4406 triple wrap of X.400 content): the inner SignedData ContentInfo as it was
 * encoded. res->kept_signature says it happened. Off: every layer is removed. */
void cms_policy_set_keep_signatures(struct cms_policy *p, int on);
/* eContentType for binary (DER) wraps, dotted OID; NULL = id-data. E.g. a P772 content. */
int cms_policy_set_content_type(struct cms_policy *p, const char *oid);
/* Largest input accepted (default 64 MiB). */
void cms_policy_set_max_size(struct cms_policy *p, size_t max);

#endif
