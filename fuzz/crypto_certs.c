/* libFuzzer target: certificate import from outside files (cms_keys.c): certificates in PEM or
 * DER, CRLs in PEM or DER, PKCS#12 (with the fixed test password), then what an import does
 * next: path validation of each certificate against the fixed anchor and CRL, and adding each
 * CRL to a policy. The first byte of a unit chooses the parser (c, l, p; anything else: all). */
#include <stddef.h>
#include <stdint.h>
#include <openssl/x509v3.h>
#include "cms_internal.h"
#include "cms_keys.h"
#include "crypto_fuzz_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void certs(const struct cms_policy *p, const uint8_t *d, size_t n)
{
    STACK_OF(X509) *sk = NULL;
    if (cms_keys_parse_certs(d, n, &sk) == 0) {
        char why[300];
        for (int i = 0; i < sk_X509_num(sk) && i < 8; i++)
            cms_policy_check_cert(p, sk_X509_value(sk, i), sk, X509_PURPOSE_SMIME_SIGN, why,
                                  sizeof why);
    }
    sk_X509_pop_free(sk, X509_free);
}

static void crls(const uint8_t *d, size_t n)
{
    STACK_OF(X509_CRL) *sk = NULL;
    if (cms_keys_parse_crls(d, n, &sk) == 0) {
        struct cms_policy *q;
        if (cms_policy_create(&q) == 0) {
            for (int i = 0; i < sk_X509_CRL_num(sk); i++)
                cms_policy_add_crl(q, sk_X509_CRL_value(sk, i));
            cms_policy_free(q);
        }
    }
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
}

static void p12(const uint8_t *d, size_t n)
{
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    STACK_OF(X509) *chain = NULL;
    cms_keys_load_p12(d, n, "mixgate-test-only", &k, &c, &chain);
    EVP_PKEY_free(k);
    X509_free(c);
    sk_X509_pop_free(chain, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct cms_policy *p = fuzz_crypto_policy();
    switch (data[0]) {
    case 'c': certs(p, data + 1, size - 1); break;
    case 'l': crls(data + 1, size - 1); break;
    case 'p': p12(data + 1, size - 1); break;
    default:
        certs(p, data + 1, size - 1);
        crls(data + 1, size - 1);
        p12(data + 1, size - 1);
    }
    return 0;
}
