/* Tests of the validation cache (crypto/cms_vcache.c) behind cms_policy_check_cert: named
 * cases that a cached success is reused by the policy and its clones, and that nothing it keeps
 * outlives what it was computed from: a CRL or anchor added to a policy, an expired or revoked
 * certificate (never cached), the time to live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cms_internal.h"
#include "crypto_test_util.h"
#include "mg_err.h"

static struct test_pki g_pki;

static int check(struct cms_policy *p, enum tid t)
{
    char why[300];
    return cms_policy_check_cert(p, g_pki.cert[t], NULL, X509_PURPOSE_SMIME_SIGN, why, sizeof why);
}

static void t_success_cached_and_shared_with_clones(void **state)
{
    (void)state;
    struct cms_policy *p = test_policy(&g_pki, 1), *c = NULL;
    long long now = (long long)time(NULL);
    assert_false(cms_vcache_hit(p->vcache, g_pki.cert[T_ALICE], X509_PURPOSE_SMIME_SIGN, now));
    assert_int_equal(check(p, T_ALICE), 0);
    assert_true(cms_vcache_hit(p->vcache, g_pki.cert[T_ALICE], X509_PURPOSE_SMIME_SIGN, now));
    /* another purpose is another question */
    assert_false(cms_vcache_hit(p->vcache, g_pki.cert[T_ALICE], X509_PURPOSE_SMIME_ENCRYPT, now));
    assert_int_equal(cms_policy_clone(p, &c), 0);
    assert_ptr_equal(c->vcache, p->vcache);
    assert_true(cms_vcache_hit(c->vcache, g_pki.cert[T_ALICE], X509_PURPOSE_SMIME_SIGN, now));
    /* the time to live */
    assert_false(cms_vcache_hit(p->vcache, g_pki.cert[T_ALICE], X509_PURPOSE_SMIME_SIGN,
                                now + CMS_VCACHE_TTL + 1));
    cms_policy_free(c);
    cms_policy_free(p);
}

static void t_new_crl_is_seen_at_once(void **state)
{
    (void)state;
    /* without revocation data the revoked certificate validates, and is cached */
    struct cms_policy *p = test_policy(&g_pki, 1), *c = NULL;
    assert_int_equal(check(p, T_REVOKED), 0);
    assert_int_equal(cms_policy_clone(p, &c), 0);
    /* the clone learns of the CRL: its own cache, and the certificate is refused */
    assert_int_equal(cms_policy_add_crl(c, g_pki.crl), 0);
    assert_ptr_not_equal(c->vcache, p->vcache);
    assert_int_equal(check(c, T_REVOKED), MG_EREVOKED);
    /* the policy without the CRL still says what it said */
    assert_int_equal(check(p, T_REVOKED), 0);
    /* a revocation mode change drops the cache too */
    struct cms_vcache *before = p->vcache;
    cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_CLOSED);
    assert_ptr_not_equal(p->vcache, before);
    cms_policy_free(c);
    cms_policy_free(p);
}

static void t_failures_never_cached(void **state)
{
    (void)state;
    struct cms_policy *p = test_policy(&g_pki, 0);
    long long now = (long long)time(NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(check(p, T_EXPIRED), MG_EEXPIRED);
        assert_int_equal(check(p, T_REVOKED), MG_EREVOKED);
        assert_int_equal(check(p, T_ROGUE), MG_EUNTRUSTED);
    }
    assert_false(cms_vcache_hit(p->vcache, g_pki.cert[T_EXPIRED], X509_PURPOSE_SMIME_SIGN, now));
    assert_false(cms_vcache_hit(p->vcache, g_pki.cert[T_REVOKED], X509_PURPOSE_SMIME_SIGN, now));
    cms_policy_free(p);
}

static void t_check_time_bypasses_cache(void **state)
{
    (void)state;
    struct cms_policy *p = test_policy(&g_pki, 1);
    assert_int_equal(check(p, T_ALICE), 0);
    /* validating as of a time before the certificate existed ignores what is cached for now */
    cms_policy_set_check_time(p, 86400);
    assert_int_not_equal(check(p, T_ALICE), 0);
    cms_policy_free(p);
}

int main(void)
{
    test_pki_load(&g_pki);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_success_cached_and_shared_with_clones),
        cmocka_unit_test(t_new_crl_is_seen_at_once),
        cmocka_unit_test(t_failures_never_cached),
        cmocka_unit_test(t_check_time_bypasses_cache),
    };
    int rc = cmocka_run_group_tests_name("crypto_vcache", tests, NULL, NULL);
    test_pki_free(&g_pki);
    return rc;
}
