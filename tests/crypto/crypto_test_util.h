/* crypto_test_util: loads the test PKI generated into the build tree (gen-test-pki.py) for the
 * crypto unit tests, and small helpers shared by them. */
#ifndef CRYPTO_TEST_UTIL_H
#define CRYPTO_TEST_UTIL_H

#include <stddef.h>
#include <openssl/x509.h>
#include "cms_policy.h"

enum tid { T_CA, T_ALICE, T_BOB, T_CAROL, T_ALICE2, T_EXPIRED, T_REVOKED, T_ROGUE, T_SERVER, T_N };

struct test_pki {
    X509 *cert[T_N];
    EVP_PKEY *key[T_N];
    X509_CRL *crl;
    char dir[512];
};

/* Loads everything or fails the test. */
void test_pki_load(struct test_pki *pki);
void test_pki_free(struct test_pki *pki);
/* A policy trusting the CA, with the CA's CRL (fail-closed) unless no_crl. */
struct cms_policy *test_policy(struct test_pki *pki, int no_crl);

/* ESSSecurityLabel DER: SET { classification c, policy 1.2.3.4 } (DER order: INTEGER first) */
extern const unsigned char test_label1[10], test_label2[10];

#endif
