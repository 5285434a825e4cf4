/* cms_vcache: the certificates a policy has already validated (path to an anchor, validity,
 * revocation by its CRLs and OCSP answers), so that the signer and the peer gateway are not
 * validated again for every message: a gateway signs and encrypts with the same two
 * certificates all day, and the full check (X509_verify_cert with CRLs, an RSA verification per
 * link) was a tenth of the cms stage's CPU. Shared by a policy and its per-message clones
 * (cms_policy_clone), which have the same anchors and revocation data; a policy whose anchors
 * or revocation data change gets a cache of its own. Only successes are kept, each for at
 * most CMS_VCACHE_TTL seconds and never past the certificate's notAfter, so a new CRL or an
 * expiry is seen within that time (a refresh builds a new policy, with an empty cache).
 *
 * It also keeps the certificates messages carry, decoded, by the SHA-256 of their DER
 * (cms_vcache_cert): every message from the peer gateway carries the same signer certificate,
 * and OpenSSL 3.0 decodes a certificate's public key through its provider decoders, which was
 * half of what reading an S/MIME message cost the receiving gateway. Bounded (CC_SLOTS, the
 * oldest goes) and dropped with the validation results. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cms_internal.h"
#include "mg_err.h"

#define VC_SLOTS 64
#define CC_SLOTS 32

struct vc_entry {
    unsigned char fp[EVP_MAX_MD_SIZE]; /* SHA-1 of the certificate (OpenSSL keeps it cached) */
    unsigned fplen;
    int purpose;
    long long until;                   /* unix seconds; 0 = empty */
};

struct cc_entry {
    unsigned char h[32];               /* SHA-256 of the certificate's DER */
    X509 *x;                           /* one reference, owned by the cache; NULL = empty */
};

struct cms_vcache {
    pthread_mutex_t lock;
    int refs;
    unsigned next;                     /* the slot the next entry replaces */
    struct vc_entry e[VC_SLOTS];
    unsigned cc_next;                  /* the certificate slot the next decode replaces */
    struct cc_entry cc[CC_SLOTS];
};

int cms_vcache_create(struct cms_vcache **out)
{
    struct cms_vcache *c = calloc(1, sizeof *c);
    if (!c || pthread_mutex_init(&c->lock, NULL)) {
        free(c);
        return MG_ENOMEM;
    }
    c->refs = 1;
    *out = c;
    return 0;
}

struct cms_vcache *cms_vcache_ref(struct cms_vcache *c)
{
    pthread_mutex_lock(&c->lock);
    c->refs++;
    pthread_mutex_unlock(&c->lock);
    return c;
}

void cms_vcache_unref(struct cms_vcache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last) {
        for (int i = 0; i < CC_SLOTS; i++)
            X509_free(c->cc[i].x);
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
}

static int fingerprint(X509 *cert, unsigned char *fp, unsigned *len)
{
    return X509_digest(cert, EVP_sha1(), fp, len) == 1;
}

int cms_vcache_hit(struct cms_vcache *c, X509 *cert, int purpose, long long now)
{
    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!c || !fingerprint(cert, fp, &len))
        return 0;
    int hit = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < VC_SLOTS && !hit; i++)
        hit = c->e[i].until > now && c->e[i].purpose == purpose && c->e[i].fplen == len &&
              !memcmp(c->e[i].fp, fp, len);
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void cms_vcache_put(struct cms_vcache *c, X509 *cert, int purpose, long long now)
{
    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!c || !fingerprint(cert, fp, &len))
        return;
    long long until = now + CMS_VCACHE_TTL;
    /* never past the certificate's own end */
    int days = 0, secs = 0;
    ASN1_TIME *t = ASN1_TIME_new();
    if (!t || !ASN1_TIME_set(t, (time_t)now) ||
        !ASN1_TIME_diff(&days, &secs, t, X509_get0_notAfter(cert))) {
        ASN1_TIME_free(t);
        return;
    }
    ASN1_TIME_free(t);
    long long left = (long long)days * 86400 + secs;
    if (left <= 0)
        return;
    if (left < CMS_VCACHE_TTL)
        until = now + left;
    pthread_mutex_lock(&c->lock);
    struct vc_entry *e = &c->e[c->next++ % VC_SLOTS];
    memcpy(e->fp, fp, len);
    e->fplen = len;
    e->purpose = purpose;
    e->until = until;
    pthread_mutex_unlock(&c->lock);
}

X509 *cms_vcache_cert(struct cms_vcache *c, const unsigned char *der, size_t len)
{
    unsigned char h[32];
    if (len > LONG_MAX || !EVP_Digest(der, len, h, NULL, EVP_sha256(), NULL))
        return NULL;
    if (c) {
        pthread_mutex_lock(&c->lock);
        for (int i = 0; i < CC_SLOTS; i++)
            if (c->cc[i].x && !memcmp(c->cc[i].h, h, sizeof h)) {
                X509 *x = c->cc[i].x;
                X509_up_ref(x);
                pthread_mutex_unlock(&c->lock);
                return x;
            }
        pthread_mutex_unlock(&c->lock);
    }
    /* decoded outside the lock: the slow part, and other threads need not wait for it */
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (!x || q != der + len) {
        X509_free(x);
        return NULL;
    }
    if (c) {
        X509_up_ref(x);
        pthread_mutex_lock(&c->lock);
        struct cc_entry *e = &c->cc[c->cc_next++ % CC_SLOTS];
        X509 *old = e->x;
        memcpy(e->h, h, sizeof h);
        e->x = x;
        pthread_mutex_unlock(&c->lock);
        X509_free(old); /* threads still using it hold their own reference */
    }
    return x;
}
