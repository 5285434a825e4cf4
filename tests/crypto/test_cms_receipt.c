/* Unit tests of cms_receipt: a receipt requested by alice's signed message (MIME and DER) is
 * made by carol and verifies against the original; a tampered receipt, a receipt checked
 * against another message, and a message without a request each fail precisely. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cms_internal.h"
#include "cms_receipt.h"
#include "crypto_test_util.h"
#include "mg_err.h"

static struct test_pki pki;
static const char msg[] = "From: alice@example.org\r\nTo: carol@example.org\r\nSubject: rr\r\n"
                          "Content-Type: text/plain\r\n\r\nplease acknowledge\r\n";

static struct cms_policy *signer_policy(enum tid who, int request)
{
    struct cms_policy *p = test_policy(&pki, 0);
    assert_int_equal(cms_policy_set_signer(p, CMS_LAYER_INNER, pki.cert[who], pki.key[who], NULL), 0);
    if (request)
        assert_int_equal(cms_policy_set_receipt_request(p, "alice@example.org"), 0);
    return p;
}

static void test_receipts(void **state)
{
    static const enum cms_format fmts[] = { CMS_FORMAT_MIME, CMS_FORMAT_DER };
    for (int f = 0; f < 2; f++) {
        struct cms_policy *alice = signer_policy(T_ALICE, 1), *carol = signer_policy(T_CAROL, 0);
        struct cms_result sent, other, rcpt, ver, un;
        assert_int_equal(cms_wrap(alice, CMS_OP_SIGN, fmts[f], (const unsigned char *)msg,
                                  strlen(msg), &sent), 0);
        /* the request is visible on unwrap */
        assert_int_equal(cms_unwrap(carol, sent.data, sent.len, &un), 0);
        assert_int_equal(un.layers[0].receipt_requested, 1);
        cms_result_free(&un);
        int rc = cms_receipt_make(carol, sent.data, sent.len, &rcpt);
        if (rc)
            fail_msg("make: %s %s", mg_errname(rc), rcpt.reason);
        rc = cms_receipt_verify(alice, rcpt.data, rcpt.len, sent.data, sent.len, &ver);
        if (rc)
            fail_msg("verify: %s %s", mg_errname(rc), ver.reason);
        assert_non_null(strstr(ver.layers[0].signer, "CN=carol"));
        cms_result_free(&ver);
        /* the same read twice: the receipt (DER, or application/pkcs7-mime) is read through
         * cms_fastread, its signer's certificate the object of the policy's cache */
        rc = cms_receipt_verify(alice, rcpt.data, rcpt.len, sent.data, sent.len, &ver);
        if (rc)
            fail_msg("verify again: %s %s", mg_errname(rc), ver.reason);
        assert_non_null(strstr(ver.layers[0].signer, "CN=carol"));
        unsigned char *der = NULL;
        int dl = i2d_X509(pki.cert[T_CAROL], &der);
        X509 *cached = cms_vcache_cert(alice->vcache, der, (size_t)dl);
        assert_ptr_equal(cached, ver.layers[0].signer_cert);
        X509_free(cached);
        OPENSSL_free(der);
        cms_result_free(&ver);
        /* a receipt signed by a certificate no anchor issued (carried in the receipt) */
        struct cms_policy *rogue = signer_policy(T_ROGUE, 0);
        struct cms_result rr;
        assert_int_equal(cms_receipt_make(rogue, sent.data, sent.len, &rr), 0);
        assert_int_equal(cms_receipt_verify(alice, rr.data, rr.len, sent.data, sent.len, &ver), MG_EVERIFY);
        cms_result_free(&ver);
        cms_result_free(&rr);
        cms_policy_free(rogue);
        /* against another message alice sent: no */
        assert_int_equal(cms_wrap(alice, CMS_OP_SIGN, fmts[f], (const unsigned char *)msg,
                                  strlen(msg), &other), 0);
        assert_int_equal(cms_receipt_verify(alice, rcpt.data, rcpt.len, other.data, other.len, &ver),
                         MG_EVERIFY);
        cms_result_free(&ver);
        /* tampered receipt (DER: flip a signature byte near the end) */
        if (fmts[f] == CMS_FORMAT_DER) {
            rcpt.data[rcpt.len - 3] ^= 1;
            assert_int_equal(cms_receipt_verify(alice, rcpt.data, rcpt.len, sent.data, sent.len,
                                                &ver), MG_EVERIFY);
            cms_result_free(&ver);
        }
        cms_result_free(&rcpt);
        /* no request: no receipt */
        struct cms_policy *plain = signer_policy(T_ALICE, 0);
        struct cms_result s2;
        assert_int_equal(cms_wrap(plain, CMS_OP_SIGN, fmts[f], (const unsigned char *)msg,
                                  strlen(msg), &s2), 0);
        assert_int_equal(cms_receipt_make(carol, s2.data, s2.len, &rcpt), MG_ENOTFOUND);
        cms_result_free(&rcpt);
        cms_result_free(&s2);
        cms_result_free(&sent);
        cms_result_free(&other);
        cms_policy_free(plain);
        cms_policy_free(alice);
        cms_policy_free(carol);
    }
}

/* STANAG-style: the request sits in the inner signature of a triple wrap. carol (recipient)
 * opens the envelope to answer; alice (sender) encrypted to herself too, so she can open her
 * own message to check the receipt. */
static void test_receipt_triple_wrap(void **state)
{
    static const enum cms_format fmts[] = { CMS_FORMAT_MIME, CMS_FORMAT_DER };
    for (int f = 0; f < 2; f++) {
        struct cms_policy *alice = signer_policy(T_ALICE, 1), *carol = signer_policy(T_CAROL, 0);
        assert_int_equal(cms_policy_add_recipient(alice, pki.cert[T_CAROL]), 0);
        cms_policy_set_encrypt_to_self(alice, 1);
        assert_int_equal(cms_policy_add_key(alice, pki.cert[T_ALICE], pki.key[T_ALICE]), 0);
        assert_int_equal(cms_policy_add_key(carol, pki.cert[T_CAROL], pki.key[T_CAROL]), 0);
        struct cms_result sent, rcpt, ver;
        assert_int_equal(cms_wrap(alice, CMS_OP_TRIPLE, fmts[f], (const unsigned char *)msg,
                                  strlen(msg), &sent), 0);
        int rc = cms_receipt_make(carol, sent.data, sent.len, &rcpt);
        if (rc)
            fail_msg("make: %s %s", mg_errname(rc), rcpt.reason);
        rc = cms_receipt_verify(alice, rcpt.data, rcpt.len, sent.data, sent.len, &ver);
        if (rc)
            fail_msg("verify: %s %s", mg_errname(rc), ver.reason);
        cms_result_free(&ver);
        /* someone without a key for the envelope cannot answer */
        struct cms_policy *bob = signer_policy(T_BOB, 0);
        struct cms_result nb;
        assert_int_equal(cms_receipt_make(bob, sent.data, sent.len, &nb), MG_ENOKEY);
        cms_result_free(&nb);
        cms_policy_free(bob);
        cms_result_free(&rcpt);
        cms_result_free(&sent);
        cms_policy_free(alice);
        cms_policy_free(carol);
    }
}

static int setup(void **state)
{
    test_pki_load(&pki);
    return 0;
}

static int teardown(void **state)
{
    test_pki_free(&pki);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipts),
        cmocka_unit_test(test_receipt_triple_wrap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
