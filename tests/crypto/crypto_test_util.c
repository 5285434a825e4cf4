/* crypto_test_util: shared fixture loading for the crypto tests (see header). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include "crypto_test_util.h"
#include "cms_keys.h"

const unsigned char test_label1[10] = { 0x31, 0x08, 0x02, 0x01, 0x01, 0x06, 0x03, 0x2a, 0x03, 0x04 };
const unsigned char test_label2[10] = { 0x31, 0x08, 0x02, 0x01, 0x02, 0x06, 0x03, 0x2a, 0x03, 0x04 };

static const char *const names[T_N] = { "ca", "alice", "bob", "carol", "alice2", "expired",
                                        "revoked", "rogue", "server" };

void test_pki_load(struct test_pki *pki)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    assert_non_null(b);
    snprintf(pki->dir, sizeof pki->dir, "%s/test-vectors/crypto", b);
    char path[700];
    for (int i = 0; i < T_N; i++) {
        snprintf(path, sizeof path, "%s/%s.pem", pki->dir, names[i]);
        assert_int_equal(cms_keys_load_cert(path, &pki->cert[i]), 0);
        snprintf(path, sizeof path, "%s/%s.key", pki->dir, names[i]);
        assert_int_equal(cms_keys_load_key(path, NULL, &pki->key[i]), 0);
    }
    STACK_OF(X509_CRL) *crls = NULL;
    snprintf(path, sizeof path, "%s/ca.crl", pki->dir);
    assert_int_equal(cms_keys_load_crls(path, &crls), 0);
    pki->crl = sk_X509_CRL_shift(crls);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

void test_pki_free(struct test_pki *pki)
{
    for (int i = 0; i < T_N; i++) {
        X509_free(pki->cert[i]);
        EVP_PKEY_free(pki->key[i]);
    }
    X509_CRL_free(pki->crl);
}

struct cms_policy *test_policy(struct test_pki *pki, int no_crl)
{
    struct cms_policy *p;
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_add_anchor(p, pki->cert[T_CA]), 0);
    if (!no_crl) {
        assert_int_equal(cms_policy_add_crl(p, pki->crl), 0);
        cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_CLOSED);
    }
    return p;
}
