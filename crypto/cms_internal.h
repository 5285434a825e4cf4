/* cms_internal: the policy layout and helpers shared by the files of mg_crypto (not installed). */
#ifndef CMS_INTERNAL_H
#define CMS_INTERNAL_H

#include <stddef.h>
#include <openssl/cms.h>
#include <openssl/x509.h>
#include "cms_policy.h"
#include "cms_wrap.h"

struct cms_signer {
    X509 *cert;              /* owned reference, may be NULL */
    EVP_PKEY *key;           /* owned reference */
    STACK_OF(X509) *chain;   /* owned, may be NULL */
    unsigned char *label;    /* owned DER, may be NULL */
    size_t label_len;
    unsigned char *equiv;    /* owned DER, may be NULL */
    size_t equiv_len;
    unsigned char *mlexp;    /* owned DER, may be NULL */
    size_t mlexp_len;
};

struct cms_key {
    X509 *cert;    /* owned reference */
    EVP_PKEY *key; /* owned reference */
};

struct cms_policy {
    struct cms_signer signer[2];     /* CMS_LAYER_INNER, CMS_LAYER_OUTER */
    STACK_OF(X509) *recipients;      /* owned */
    struct cms_key *keys;            /* owned array */
    size_t nkeys;
    X509_STORE *anchors;             /* owned; read-only once built (X509_STORE locks itself) */
    STACK_OF(X509) *untrusted;       /* owned */
    STACK_OF(X509_CRL) *crls;        /* owned */
    STACK_OF(X509) *ocsp_good;       /* owned: current OCSP "good" answers */
    STACK_OF(X509) *ocsp_revoked;    /* owned: current OCSP "revoked" answers */
    enum cms_revocation revocation;
    long long check_time;
    char *receipt_to;                /* owned, may be NULL */
    enum cms_cipher cipher;
    int rsa_oaep, ecdh_sha256, detached, header_protection, encrypt_to_self, keep_signatures;
    ASN1_OBJECT *content_type;       /* owned, may be NULL (= id-data) */
    size_t max_size;
    struct cms_vcache *vcache;       /* one reference: shared with clones (cms_vcache.c) */
};

/* Certificates already validated by policies with the same anchors and revocation data
 * (cms_vcache.c): positive results only, for at most CMS_VCACHE_TTL seconds. */
#define CMS_VCACHE_TTL 60
struct cms_vcache;
int cms_vcache_create(struct cms_vcache **out);
struct cms_vcache *cms_vcache_ref(struct cms_vcache *c);
void cms_vcache_unref(struct cms_vcache *c);
int cms_vcache_hit(struct cms_vcache *c, X509 *cert, int purpose, long long now);
void cms_vcache_put(struct cms_vcache *c, X509 *cert, int purpose, long long now);
/* The certificate whose DER is der (from a message: outside input), decoded once per cache
 * and kept by its SHA-256 (a new reference, the caller frees it); NULL when it does not decode
 * as exactly one certificate. c NULL: decoded every time. */
X509 *cms_vcache_cert(struct cms_vcache *c, const unsigned char *der, size_t len);
/* The policy's validation inputs changed: it stops sharing its clones' cache. */
int cms_policy_own_vcache(struct cms_policy *p);

/* Validate cert for an S/MIME purpose (X509_PURPOSE_SMIME_SIGN / _ENCRYPT) against the policy's
 * anchors and CRLs. extra: more untrusted certificates (e.g. from the message), may be NULL.
 * Returns 0, MG_EREVOKED, MG_EEXPIRED, MG_EDENIED (wrong purpose) or MG_EUNTRUSTED; why gets a
 * one-line reason. */
int cms_policy_check_cert(const struct cms_policy *p, X509 *cert, STACK_OF(X509) *extra,
                          int purpose, char *why, size_t whylen);


/* DER helpers (cms_der.c). Wrap inner bytes (a SignedData, EnvelopedData, ...) in a ContentInfo
 * of the given type; strip a ContentInfo down to its [0] content. Caller frees *out. */
int cms_der_wrap(int nid, const unsigned char *in, size_t len, unsigned char **out, size_t *outlen);
int cms_der_unwrap(const unsigned char *in, size_t len, const unsigned char **content,
                   size_t *clen);

/* Shared by the wrap and unwrap sides (cms_wrap.c, cms_unwrap.c). */
/* Sets res->reason from fmt and the first OpenSSL error, clears the error queue, returns rc. */
int cms_wrap_fail(struct cms_result *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The next layer record of res (zeroed, of that kind), or NULL when CMS_MAX_LAYERS are used. */
struct cms_layer *cms_wrap_new_layer(struct cms_result *res, enum cms_layer_kind kind);
/* The OID's dotted text (id-data's when o is NULL or unprintable). */
void cms_wrap_oid_text(const ASN1_OBJECT *o, char *out, size_t outsz);
/* A memory BIO's contents as a new NUL-terminated buffer (owned by the caller; empty, never
 * NULL, for a BIO never written). 0, MG_EIO, MG_ENOMEM. */
int cms_wrap_bio_take(BIO *b, unsigned char **out, size_t *len);
/* Whether nid is an enveloped type (enveloped or authenticated-enveloped data). */
int cms_wrap_is_enveloped_nid(int nid);
/* cms's DER (a new buffer, owned by the caller). 0, MG_ECRYPTO, MG_ENOMEM. */
int cms_wrap_der_of(CMS_ContentInfo *cms, unsigned char **out, size_t *len);
struct cms_mime_field;
/* A header field that stays on the outside of a wrapped entity (not Content-*, MIME-Version). */
int cms_wrap_is_outer_header(const struct cms_mime_field *f);

#endif
