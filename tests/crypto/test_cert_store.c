/* Unit tests of cert_store: import of PEM, DER, PKCS#12 and cert+key bundles; lookup by rfc822
 * and X.400 O/R address choosing the newest valid certificate and never an expired or revoked
 * one; keys encrypted at rest (wrong passphrase = no keys); key rotation on decryption through a
 * policy filled from the store; harvesting the signer certificate of a verified message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cert_store.h"
#include "cms_wrap.h"
#include "cms_keys.h"
#include "crypto_test_util.h"
#include "mg_buf.h"
#include "mg_err.h"

static struct test_pki pki;
static char db[700];
static const char pass[] = "mixgate-test-only";
static const char orname[] = "C=GB;ADMD= ;PRMD=mixgate;O=test;S=bob";

static void path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", pki.dir, name);
}

static struct cert_store *fresh_store(void)
{
    char f[800];
    unlink(db);
    snprintf(f, sizeof f, "%s-wal", db);
    unlink(f);
    snprintf(f, sizeof f, "%s-shm", db);
    unlink(f);
    struct cert_store *s = NULL;
    assert_int_equal(cert_store_open(&s, db, pass), 0);
    static const struct { const char *file; int anchor; const char *orname; int want; } imports[] = {
        { "ca.pem", 1, NULL, 1 },
        { "alice.p12", 0, NULL, 2 },      /* alice + the CA from the bag (not as anchor) */
        { "alice2-bundle.pem", 0, NULL, 1 },
        { "bob.der", 0, orname, 1 },
        { "expired.pem", 0, NULL, 1 },
        { "revoked.pem", 0, NULL, 1 },
        { "ca.crl", 0, NULL, 1 },
    };
    for (size_t i = 0; i < sizeof imports / sizeof imports[0]; i++) {
        char f2[800];
        path(f2, sizeof f2, imports[i].file);
        int n = cert_store_import_file(s, f2, pass, imports[i].anchor, imports[i].orname);
        if (n != imports[i].want)
            fail_msg("import %s: got %d want %d", imports[i].file, n, imports[i].want);
    }
    return s;
}

static void test_lookup(void **state)
{
    struct cert_store *s = fresh_store();
    struct cms_policy *p;
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cert_store_fill_policy(s, p), 0);
    cms_policy_set_revocation(p, CMS_REVOCATION_FAIL_CLOSED);
    static const struct { const char *addr; int want; const char *cn; } cases[] = {
        { "alice@example.org", 0, "CN=alice2" },  /* newest of two valid certificates */
        { "ALICE@example.org", 0, "CN=alice2" },  /* addresses compare case-insensitively */
        { orname, 0, "CN=bob" },                  /* X.400 O/R address */
        { "bob@example.org", 0, "CN=bob" },
        { "expired@example.org", MG_EEXPIRED, NULL },
        { "revoked@example.org", MG_EREVOKED, NULL },
        { "nobody@example.org", MG_ENOTFOUND, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        X509 *x = NULL;
        int rc = cert_store_find_encryption_cert(s, cases[i].addr, p, &x, NULL, 0);
        print_message("[ case ] %s: %s\n", cases[i].addr, mg_errname(rc));
        assert_int_equal(rc, cases[i].want);
        if (cases[i].cn) {
            char subj[256];
            X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
            assert_non_null(strstr(subj, cases[i].cn));
        }
        X509_free(x);
    }
    /* list shows anchors and held keys */
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(cert_store_list(s, f), 0);
    rewind(f);
    char line[600];
    int anchors = 0, keys = 0, rows = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        anchors += strstr(line, " A") != NULL;
        keys += strstr(line, "K ") != NULL;
    }
    fclose(f);
    assert_int_equal(rows, 6);
    assert_int_equal(anchors, 1);
    assert_int_equal(keys, 2);
    cms_policy_free(p);
    cert_store_close(s);
}

/* Mail to alice's old and new certificates opens with the keys from the store; with the wrong
 * passphrase the store yields no keys at all (encrypted at rest). */
static void test_keys_rotation_and_at_rest(void **state)
{
    cert_store_close(fresh_store());
    static const enum tid targets[] = { T_ALICE, T_ALICE2 };
    for (int wrong = 0; wrong < 2; wrong++) {
        struct cert_store *s = NULL;
        assert_int_equal(cert_store_open(&s, db, wrong ? "not the passphrase" : pass), 0);
        struct cms_policy *r;
        assert_int_equal(cms_policy_create(&r), 0);
        assert_int_equal(cert_store_fill_policy(s, r), 0);
        for (int t = 0; t < 2; t++) {
            struct cms_policy *w = test_policy(&pki, 0);
            assert_int_equal(cms_policy_add_recipient(w, pki.cert[targets[t]]), 0);
            struct cms_result wr, ur;
            static const char m[] = "From: a@example.org\r\n\r\nrotated\r\n";
            assert_int_equal(cms_wrap(w, CMS_OP_ENCRYPT, CMS_FORMAT_MIME, (const unsigned char *)m,
                                      strlen(m), &wr), 0);
            int rc = cms_unwrap(r, wr.data, wr.len, &ur);
            assert_int_equal(rc, wrong ? MG_ENOKEY : 0);
            cms_result_free(&wr);
            cms_result_free(&ur);
            cms_policy_free(w);
        }
        cms_policy_free(r);
        cert_store_close(s);
    }
}

static void test_harvest(void **state)
{
    struct cert_store *s = fresh_store();
    struct cms_policy *w = test_policy(&pki, 0), *r;
    assert_int_equal(cms_policy_set_signer(w, CMS_LAYER_INNER, pki.cert[T_CAROL], pki.key[T_CAROL],
                                           NULL), 0);
    struct cms_result wr, ur;
    static const char m[] = "From: carol@example.org\r\n\r\nsigned\r\n";
    assert_int_equal(cms_wrap(w, CMS_OP_SIGN, CMS_FORMAT_MIME, (const unsigned char *)m, strlen(m),
                              &wr), 0);
    assert_int_equal(cms_policy_create(&r), 0);
    assert_int_equal(cert_store_fill_policy(s, r), 0);
    X509 *x = NULL;
    assert_int_equal(cert_store_find_encryption_cert(s, "carol@example.org", r, &x, NULL, 0), MG_ENOTFOUND);
    assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), 0);
    assert_int_equal(cert_store_harvest(s, &ur), 1);
    assert_int_equal(cert_store_find_encryption_cert(s, "carol@example.org", r, &x, NULL, 0), 0);
    assert_int_equal(X509_cmp(x, pki.cert[T_CAROL]), 0);
    X509_free(x);
    /* a message that fails verification harvests nothing */
    struct cms_result bad;
    wr.data[wr.len / 2] ^= 1;
    cms_unwrap(r, wr.data, wr.len, &bad);
    assert_int_equal(cert_store_harvest(s, &bad), 0);
    cms_result_free(&bad);
    cms_result_free(&wr);
    cms_result_free(&ur);
    cms_policy_free(w);
    cms_policy_free(r);
    cert_store_close(s);
}

static int setup(void **state)
{
    test_pki_load(&pki);
    snprintf(db, sizeof db, "%s/store-test.db", pki.dir);
    /* a PEM bundle of certificate and key, as administrators often have them */
    char c[800], k[800], out[800];
    path(c, sizeof c, "alice2.pem");
    path(k, sizeof k, "alice2.key");
    path(out, sizeof out, "alice2-bundle.pem");
    unsigned char *cd, *kd;
    size_t cl, kl;
    assert_int_equal(mg_read_file(c, 0, &cd, &cl), 0);
    assert_int_equal(mg_read_file(k, 0, &kd, &kl), 0);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    fwrite(cd, 1, cl, f);
    fwrite(kd, 1, kl, f);
    fclose(f);
    free(cd);
    free(kd);
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
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_keys_rotation_and_at_rest),
        cmocka_unit_test(test_harvest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
