/* cms_internal: the policy layout and helpers shared by the files of mg_crypto (not installed). */
#ifndef CMS_INTERNAL_H
#define CMS_INTERNAL_H

#include <stddef.h>
#include <pthread.h>
#include <openssl/cms.h>
#include <openssl/x509.h>
#include "cms_policy.h"

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

/* The harvest switch's store: one SQLite connection used by whichever thread holds lock.
 * A mutex rather than a connection per thread: SQLite admits one writer per database file at a
 * time anyway, a harvest is one short upsert made only after a verified signature, and libuv's
 * pool threads give us no hook to close per-thread connections. */
struct cms_harvest {
    pthread_mutex_t lock;
    struct cert_store *store;        /* owned */
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
    int rsa_oaep, ecdh_sha256, detached, header_protection, encrypt_to_self;
    ASN1_OBJECT *content_type;       /* owned, may be NULL (= id-data) */
    size_t max_size;
    struct cms_harvest *harvest;     /* owned, NULL = harvesting off */
};

/* Validate cert for an S/MIME purpose (X509_PURPOSE_SMIME_SIGN / _ENCRYPT) against the policy's
 * anchors and CRLs. extra: more untrusted certificates (e.g. from the message), may be NULL.
 * Returns 0, MG_EREVOKED, MG_EEXPIRED, MG_EDENIED (wrong purpose) or MG_EUNTRUSTED; why gets a
 * one-line reason. */
int cms_policy_check_cert(const struct cms_policy *p, X509 *cert, STACK_OF(X509) *extra,
                          int purpose, char *why, size_t whylen);

/* With the harvest switch on, store cert (a signer that verified) under the policy's lock.
 * Returns 1 when it was new to the store, 0 when known or harvesting is off, or MG_E*. */
int cms_policy_harvest(const struct cms_policy *p, X509 *cert);

/* DER helpers (cms_der.c). Wrap inner bytes (a SignedData, EnvelopedData, ...) in a ContentInfo
 * of the given type; strip a ContentInfo down to its [0] content. Caller frees *out. */
int cms_der_wrap(int nid, const unsigned char *in, size_t len, unsigned char **out, size_t *outlen);
int cms_der_unwrap(const unsigned char *in, size_t len, const unsigned char **content,
                   size_t *clen);

#endif
