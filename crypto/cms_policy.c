/* cms_policy: builds the policy object (see cms_policy.h) and validates certificates against it
 * for S/MIME purposes: path to a trust anchor, validity period, CRL revocation by policy. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <openssl/x509_vfy.h>
#include <openssl/err.h>
#include "cms_internal.h"
#include "cert_store.h"
#include "mg_err.h"

int cms_policy_create(struct cms_policy **out)
{
    struct cms_policy *p = calloc(1, sizeof *p);
    if (!p)
        return MG_ENOMEM;
    p->recipients = sk_X509_new_null();
    p->untrusted = sk_X509_new_null();
    p->crls = sk_X509_CRL_new_null();
    p->ocsp_good = sk_X509_new_null();
    p->ocsp_revoked = sk_X509_new_null();
    p->anchors = X509_STORE_new();
    p->max_size = 64u << 20;
    if (!p->recipients || !p->untrusted || !p->crls || !p->anchors || !p->ocsp_good ||
        !p->ocsp_revoked || cms_vcache_create(&p->vcache)) {
        cms_policy_free(p);
        return MG_ENOMEM;
    }
    *out = p;
    return 0;
}

static void signer_clear(struct cms_signer *s)
{
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    sk_X509_pop_free(s->chain, X509_free);
    free(s->label);
    free(s->equiv);
    free(s->mlexp);
    memset(s, 0, sizeof *s);
}

void cms_policy_free(struct cms_policy *p)
{
    if (!p)
        return;
    for (int i = 0; i < 2; i++)
        signer_clear(&p->signer[i]);
    sk_X509_pop_free(p->recipients, X509_free);
    sk_X509_pop_free(p->untrusted, X509_free);
    sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
    sk_X509_pop_free(p->ocsp_good, X509_free);
    sk_X509_pop_free(p->ocsp_revoked, X509_free);
    X509_STORE_free(p->anchors);
    for (size_t i = 0; i < p->nkeys; i++) {
        X509_free(p->keys[i].cert);
        EVP_PKEY_free(p->keys[i].key);
    }
    free(p->keys);
    free(p->receipt_to);
    ASN1_OBJECT_free(p->content_type);
    cms_vcache_unref(p->vcache);
    free(p);
}

int cms_policy_own_vcache(struct cms_policy *p)
{
    struct cms_vcache *n = NULL;
    if (cms_vcache_create(&n))
        return MG_ENOMEM;
    cms_vcache_unref(p->vcache);
    p->vcache = n;
    return 0;
}

static int dup_blob(unsigned char **dst, size_t *dlen, const unsigned char *src, size_t len)
{
    *dst = NULL;
    *dlen = 0;
    if (!src)
        return 0;
    if (!(*dst = malloc(len ? len : 1)))
        return MG_ENOMEM;
    memcpy(*dst, src, len);
    *dlen = len;
    return 0;
}

static int signer_copy(struct cms_signer *d, const struct cms_signer *s)
{
    memset(d, 0, sizeof *d);
    if (s->cert && !X509_up_ref(s->cert))
        return MG_ENOMEM;
    d->cert = s->cert;
    if (s->key && !EVP_PKEY_up_ref(s->key))
        return MG_ENOMEM;
    d->key = s->key;
    if (s->chain && !(d->chain = X509_chain_up_ref(s->chain)))
        return MG_ENOMEM;
    int rc = dup_blob(&d->label, &d->label_len, s->label, s->label_len);
    if (!rc)
        rc = dup_blob(&d->equiv, &d->equiv_len, s->equiv, s->equiv_len);
    if (!rc)
        rc = dup_blob(&d->mlexp, &d->mlexp_len, s->mlexp, s->mlexp_len);
    return rc;
}

static int copy_certs(STACK_OF(X509) *dst, STACK_OF(X509) *src)
{
    for (int i = 0; i < sk_X509_num(src); i++)
        if (!X509_add_cert(dst, sk_X509_value(src, i), X509_ADD_FLAG_UP_REF))
            return MG_ENOMEM;
    return 0;
}

int cms_policy_clone(const struct cms_policy *p, struct cms_policy **out)
{
    struct cms_policy *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    int rc = 0;
    for (int i = 0; !rc && i < 2; i++)
        rc = signer_copy(&c->signer[i], &p->signer[i]);
    if (!rc && (!(c->recipients = sk_X509_new_null()) || !(c->untrusted = sk_X509_new_null()) ||
                !(c->ocsp_good = sk_X509_new_null()) || !(c->ocsp_revoked = sk_X509_new_null()) ||
                !(c->crls = sk_X509_CRL_new_null())))
        rc = MG_ENOMEM;
    if (!rc)
        rc = copy_certs(c->recipients, p->recipients);
    if (!rc)
        rc = copy_certs(c->untrusted, p->untrusted);
    if (!rc)
        rc = copy_certs(c->ocsp_good, p->ocsp_good);
    if (!rc)
        rc = copy_certs(c->ocsp_revoked, p->ocsp_revoked);
    for (int i = 0; !rc && i < sk_X509_CRL_num(p->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(p->crls, i);
        if (!X509_CRL_up_ref(crl) || !sk_X509_CRL_push(c->crls, crl))
            rc = MG_ENOMEM;
    }
    /* the anchors are read-only once built (X509_STORE locks itself): share them */
    if (!rc && X509_STORE_up_ref(p->anchors))
        c->anchors = p->anchors;
    else if (!rc)
        rc = MG_ENOMEM;
    if (!rc && p->nkeys && !(c->keys = calloc(p->nkeys, sizeof *c->keys)))
        rc = MG_ENOMEM;
    for (size_t i = 0; !rc && i < p->nkeys; i++) {
        X509_up_ref(p->keys[i].cert);
        EVP_PKEY_up_ref(p->keys[i].key);
        c->keys[i] = p->keys[i];
        c->nkeys++;
    }
    if (!rc && p->receipt_to && !(c->receipt_to = strdup(p->receipt_to)))
        rc = MG_ENOMEM;
    if (!rc && p->content_type && !(c->content_type = OBJ_dup(p->content_type)))
        rc = MG_ENOMEM;
    c->vcache = cms_vcache_ref(p->vcache);
    c->revocation = p->revocation;
    c->check_time = p->check_time;
    c->cipher = p->cipher;
    c->rsa_oaep = p->rsa_oaep;
    c->ecdh_sha256 = p->ecdh_sha256;
    c->detached = p->detached;
    c->header_protection = p->header_protection;
    c->encrypt_to_self = p->encrypt_to_self;
    c->keep_signatures = p->keep_signatures;
    c->max_size = p->max_size;
    if (rc) {
        cms_policy_free(c);
        ERR_clear_error();
        return rc;
    }
    *out = c;
    return 0;
}

int cms_policy_set_signer(struct cms_policy *p, enum cms_layer_which which, X509 *cert,
                          EVP_PKEY *key, STACK_OF(X509) *chain)
{
    if ((which != CMS_LAYER_INNER && which != CMS_LAYER_OUTER) || !cert || !key)
        return MG_EINVAL;
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return MG_ENOKEY;
    }
    struct cms_signer *s = &p->signer[which];
    STACK_OF(X509) *dup = NULL;
    if (chain && !(dup = X509_chain_up_ref(chain)))
        return MG_ENOMEM;
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    sk_X509_pop_free(s->chain, X509_free);
    X509_up_ref(cert);
    EVP_PKEY_up_ref(key);
    s->cert = cert;
    s->key = key;
    s->chain = dup;
    return 0;
}

static int push_cert(STACK_OF(X509) *sk, X509 *cert)
{
    if (!cert)
        return MG_EINVAL;
    if (!X509_add_cert(sk, cert, X509_ADD_FLAG_UP_REF | X509_ADD_FLAG_NO_DUP))
        return MG_ENOMEM;
    return 0;
}

int cms_policy_add_recipient(struct cms_policy *p, X509 *cert) { return push_cert(p->recipients, cert); }
int cms_policy_add_untrusted(struct cms_policy *p, X509 *cert) { return push_cert(p->untrusted, cert); }

int cms_policy_add_anchor(struct cms_policy *p, X509 *cert)
{
    if (!cert)
        return MG_EINVAL;
    if (!X509_STORE_add_cert(p->anchors, cert)) {
        ERR_clear_error(); /* adding the same anchor twice is not an error */
    }
    /* the store may be shared with clones: they keep their cache, this policy gets its own */
    return cms_policy_own_vcache(p);
}

int cms_policy_add_crl(struct cms_policy *p, X509_CRL *crl)
{
    if (!crl)
        return MG_EINVAL;
    X509_CRL_up_ref(crl);
    if (!sk_X509_CRL_push(p->crls, crl)) {
        X509_CRL_free(crl);
        return MG_ENOMEM;
    }
    if (p->revocation == CMS_REVOCATION_NONE)
        p->revocation = CMS_REVOCATION_FAIL_OPEN;
    return cms_policy_own_vcache(p);
}

int cms_policy_add_key(struct cms_policy *p, X509 *cert, EVP_PKEY *key)
{
    if (!cert || !key)
        return MG_EINVAL;
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return MG_ENOKEY;
    }
    struct cms_key *k = realloc(p->keys, (p->nkeys + 1) * sizeof *k);
    if (!k)
        return MG_ENOMEM;
    p->keys = k;
    X509_up_ref(cert);
    EVP_PKEY_up_ref(key);
    p->keys[p->nkeys].cert = cert;
    p->keys[p->nkeys].key = key;
    p->nkeys++;
    return 0;
}

void cms_policy_set_revocation(struct cms_policy *p, enum cms_revocation mode)
{
    if (p->revocation != mode && cms_policy_own_vcache(p))
        mode = CMS_REVOCATION_FAIL_CLOSED; /* no cache of its own (out of memory): the stricter */
    p->revocation = mode;
}

int cms_policy_add_ocsp_status(struct cms_policy *p, X509 *cert, int revoked)
{
    int rc = push_cert(revoked ? p->ocsp_revoked : p->ocsp_good, cert);
    return rc ? rc : cms_policy_own_vcache(p);
}

static int in_stack(STACK_OF(X509) *sk, X509 *x)
{
    for (int i = 0; i < sk_X509_num(sk); i++)
        if (!X509_cmp(sk_X509_value(sk, i), x))
            return 1;
    return 0;
}
void cms_policy_set_check_time(struct cms_policy *p, long long t) { p->check_time = t; }
void cms_policy_set_cipher(struct cms_policy *p, enum cms_cipher c) { p->cipher = c; }
void cms_policy_set_rsa_oaep(struct cms_policy *p, int on) { p->rsa_oaep = !!on; }
void cms_policy_set_ecdh_sha256(struct cms_policy *p, int on) { p->ecdh_sha256 = !!on; }
void cms_policy_set_detached(struct cms_policy *p, int on) { p->detached = !!on; }
void cms_policy_set_header_protection(struct cms_policy *p, int on) { p->header_protection = !!on; }
void cms_policy_set_encrypt_to_self(struct cms_policy *p, int on) { p->encrypt_to_self = !!on; }
void cms_policy_set_keep_signatures(struct cms_policy *p, int on) { p->keep_signatures = !!on; }
void cms_policy_set_max_size(struct cms_policy *p, size_t max) { p->max_size = max; }

int cms_policy_set_content_type(struct cms_policy *p, const char *oid)
{
    ASN1_OBJECT *o = NULL;
    if (oid && !(o = OBJ_txt2obj(oid, 1))) {
        ERR_clear_error();
        return MG_EINVAL;
    }
    ASN1_OBJECT_free(p->content_type);
    p->content_type = o;
    return 0;
}

/* The DER must be exactly one element with the expected universal tag (SET or SEQUENCE) and
 * well-formed lengths all the way down (ASN1_parse walks nested values). */
static int check_der(const unsigned char *der, size_t len, int want_tag)
{
    if (!der || len == 0 || len > 1u << 20)
        return MG_EINVAL;
    const unsigned char *q = der;
    long l;
    int tag, cls;
    int inf = ASN1_get_object(&q, &l, &tag, &cls, (long)len);
    if ((inf & 0x80) || !(inf & V_ASN1_CONSTRUCTED) || tag != want_tag || cls != V_ASN1_UNIVERSAL ||
        (inf & 1) || q + l != der + len) {
        ERR_clear_error();
        return MG_EPARSE;
    }
    BIO *null = BIO_new(BIO_s_null());
    int ok = null && ASN1_parse(null, der, (long)len, 0) == 1;
    BIO_free(null);
    ERR_clear_error();
    return ok ? 0 : MG_EPARSE;
}

static int set_blob(unsigned char **dst, size_t *dlen, const unsigned char *der, size_t len, int tag)
{
    int rc = check_der(der, len, tag);
    if (rc)
        return rc;
    unsigned char *c = malloc(len);
    if (!c)
        return MG_ENOMEM;
    memcpy(c, der, len);
    free(*dst);
    *dst = c;
    *dlen = len;
    return 0;
}

int cms_policy_set_label(struct cms_policy *p, enum cms_layer_which w, const unsigned char *der, size_t len)
{
    if (w != CMS_LAYER_INNER && w != CMS_LAYER_OUTER)
        return MG_EINVAL;
    int rc = check_der(der, len, V_ASN1_SET);
    if (rc)
        return rc;
    /* ESSSecurityLabel is a SET: DER wants its elements in tag order, and labels made by other
     * tools often are not (policy OID before classification). A verifier that re-encodes the
     * signed attributes as DER (Bouncy Castle does) then computes another digest and rejects the
     * signature, so re-encode the top-level SET canonically before signing it. */
    const unsigned char *q = der;
    STACK_OF(ASN1_TYPE) *set = d2i_ASN1_SET_ANY(NULL, &q, (long)len);
    unsigned char *canon = NULL;
    int clen = set && q == der + len ? i2d_ASN1_SET_ANY(set, &canon) : -1;
    sk_ASN1_TYPE_pop_free(set, ASN1_TYPE_free);
    ERR_clear_error();
    if (clen <= 0)
        return MG_EPARSE;
    rc = set_blob(&p->signer[w].label, &p->signer[w].label_len, canon, (size_t)clen, V_ASN1_SET);
    OPENSSL_free(canon);
    return rc;
}

int cms_policy_set_equivalent_labels(struct cms_policy *p, enum cms_layer_which w,
                                     const unsigned char *der, size_t len)
{
    if (w != CMS_LAYER_INNER && w != CMS_LAYER_OUTER)
        return MG_EINVAL;
    return set_blob(&p->signer[w].equiv, &p->signer[w].equiv_len, der, len, V_ASN1_SEQUENCE);
}

int cms_policy_set_ml_history(struct cms_policy *p, enum cms_layer_which w,
                              const unsigned char *der, size_t len)
{
    if (w != CMS_LAYER_INNER && w != CMS_LAYER_OUTER)
        return MG_EINVAL;
    return set_blob(&p->signer[w].mlexp, &p->signer[w].mlexp_len, der, len, V_ASN1_SEQUENCE);
}

int cms_policy_set_receipt_request(struct cms_policy *p, const char *to)
{
    char *c = NULL;
    if (to && !(c = strdup(to)))
        return MG_ENOMEM;
    free(p->receipt_to);
    p->receipt_to = c;
    return 0;
}

/* Revocation by policy: a current OCSP "good" answer stands in for a missing CRL; fail-open
 * also accepts a missing or stale CRL; a listed serial is never accepted. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return ok;
    const struct cms_policy *p = X509_STORE_CTX_get_app_data(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    if (e == X509_V_ERR_UNABLE_TO_GET_CRL || e == X509_V_ERR_CRL_HAS_EXPIRED ||
        e == X509_V_ERR_CRL_NOT_YET_VALID) {
        /* the trust anchor is trusted by configuration, not by a revocation status */
        int top = sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) - 1;
        if (p->revocation == CMS_REVOCATION_FAIL_OPEN || X509_STORE_CTX_get_error_depth(ctx) == top ||
            in_stack(p->ocsp_good, X509_STORE_CTX_get_current_cert(ctx)))
            return 1;
    }
    return ok;
}

int cms_policy_check_cert(const struct cms_policy *p, X509 *cert, STACK_OF(X509) *extra,
                          int purpose, char *why, size_t whylen)
{
    int rc = MG_ENOMEM;
    STACK_OF(X509) *untrusted = X509_chain_up_ref(p->untrusted);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!untrusted || !ctx)
        goto out;
    for (int i = 0; extra && i < sk_X509_num(extra); i++)
        if (!X509_add_cert(untrusted, sk_X509_value(extra, i), X509_ADD_FLAG_UP_REF))
            goto out;
    if (!X509_STORE_CTX_init(ctx, p->anchors, cert, untrusted))
        goto out;
    X509_STORE_CTX_set_purpose(ctx, purpose);
    if (p->check_time)
        X509_STORE_CTX_set_time(ctx, 0, (time_t)p->check_time);
    if (p->revocation != CMS_REVOCATION_NONE) {
        X509_STORE_CTX_set0_crls(ctx, p->crls);
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        X509_STORE_CTX_set_app_data(ctx, (void *)p);
        X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    }
    char subj[256];
    X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof subj);
    /* a current OCSP "revoked" refuses in every mode, and says so: checked first, so that a
     * fail-closed policy does not report the missing CRL instead */
    if (in_stack(p->ocsp_revoked, cert)) {
        if (why)
            snprintf(why, whylen, "certificate %s: revoked (OCSP)", subj);
        rc = MG_EREVOKED;
        goto out;
    }
    /* validated a moment ago against the same anchors and revocation data */
    long long now = (long long)time(NULL);
    if (!p->check_time && cms_vcache_hit(p->vcache, cert, purpose, now)) {
        rc = 0;
        goto out;
    }
    if (X509_verify_cert(ctx) == 1) {
        if (!p->check_time)
            cms_vcache_put(p->vcache, cert, purpose, now);
        rc = 0;
        goto out;
    }
    int e = X509_STORE_CTX_get_error(ctx);
    if (why)
        snprintf(why, whylen, "certificate %s: %s", subj, X509_verify_cert_error_string(e));
    switch (e) {
    case X509_V_ERR_CERT_REVOKED:
        rc = MG_EREVOKED;
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        rc = MG_EEXPIRED;
        break;
    case X509_V_ERR_INVALID_PURPOSE: /* trusted, but not issued for S/MIME */
        rc = MG_EDENIED;
        break;
    default:
        rc = MG_EUNTRUSTED;
    }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}
