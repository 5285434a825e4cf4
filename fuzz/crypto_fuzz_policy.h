/* The crypto fuzz targets' policy: the fixed test-only PKI committed in fuzz/keys/ (anchor,
 * CRL, alice's RSA and bob's EC key and certificate), so that inputs made with those keys
 * (fuzz/gen-crypto-corpus.sh) verify and decrypt and the fuzzer reaches inner layers, header
 * protection and every success path. Built once per process, read-only afterwards. */
#ifndef CRYPTO_FUZZ_POLICY_H
#define CRYPTO_FUZZ_POLICY_H

#include <stdio.h>
#include <openssl/x509.h>
#include "cms_keys.h"
#include "cms_policy.h"
#include "mg_log.h"

#ifndef FUZZ_KEYS_DIR
#error "FUZZ_KEYS_DIR (fuzz/keys) must be defined by the build"
#endif

/* 2026-01-01T00:00:00Z: certificates are checked at a fixed time, so a unit means the same
 * thing every day (the keys run 2020-2099 anyway). */
#define FUZZ_CHECK_TIME 1767225600LL

static void fuzz_add_identity(struct cms_policy *p, const char *name)
{
    char cpath[512], kpath[512];
    snprintf(cpath, sizeof cpath, "%s/%s.pem", FUZZ_KEYS_DIR, name);
    snprintf(kpath, sizeof kpath, "%s/%s.key", FUZZ_KEYS_DIR, name);
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    if (cms_keys_load_cert(cpath, &c) || cms_keys_load_key(kpath, NULL, &k) ||
        cms_policy_add_key(p, c, k))
        mg_panic("fuzz setup: cannot load %s", cpath);
    /* alice signs receipts and detached layers the receipt target makes */
    if (name[0] == 'a' && cms_policy_set_signer(p, CMS_LAYER_INNER, c, k, NULL))
        mg_panic("fuzz setup: signer");
    X509_free(c);
    EVP_PKEY_free(k);
}

/* The policy: anchor, CRL, the keys of first and second (alice signs the inner layer), checked
 * at check_time (0: now). */
static inline struct cms_policy *fuzz_crypto_policy_build(const char *first, const char *second,
                                                          long long check_time)
{
    struct cms_policy *p = NULL;
    if (cms_policy_create(&p))
        mg_panic("fuzz setup: policy");
    X509 *ca = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    if (cms_keys_load_cert(FUZZ_KEYS_DIR "/ca.pem", &ca) || cms_policy_add_anchor(p, ca) ||
        cms_keys_load_crls(FUZZ_KEYS_DIR "/ca.crl", &crls) || sk_X509_CRL_num(crls) < 1 ||
        cms_policy_add_crl(p, sk_X509_CRL_value(crls, 0)))
        mg_panic("fuzz setup: cannot load the anchor and CRL in %s", FUZZ_KEYS_DIR);
    X509_free(ca);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    fuzz_add_identity(p, first);
    fuzz_add_identity(p, second);
    cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_CLOSED);
    if (check_time)
        cms_policy_set_check_time(p, check_time);
    cms_policy_set_max_size(p, 1u << 20);
    return p;
}

static inline struct cms_policy *fuzz_crypto_policy(void)
{
    static struct cms_policy *p; /* the fuzzer's only state, read-only after creation */
    if (!p)
        p = fuzz_crypto_policy_build("alice", "bob", FUZZ_CHECK_TIME);
    return p;
}

/* The same, keeping a signature found under an envelope (a cms channel without strip). */
static inline struct cms_policy *fuzz_crypto_policy_keep(void)
{
    static struct cms_policy *p;
    if (!p) {
        p = fuzz_crypto_policy_build("alice", "bob", FUZZ_CHECK_TIME);
        cms_policy_set_keep_signatures(p, 1);
    }
    return p;
}

#endif
