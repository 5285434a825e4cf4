/* Unit tests of cert_store: import of PEM, DER, PKCS#12 and cert+key bundles; lookup by rfc822
 * and X.400 O/R address choosing the newest valid certificate and never an expired or revoked
 * one; keys encrypted at rest (wrong passphrase = no keys); key rotation on decryption through a
 * policy filled from the store; harvesting the signer certificate of a verified message, by the
 * store call and by the policy's harvest switch during cms_unwrap (also from two threads). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>
#include <sqlite3.h>
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

/* An empty store file (no anchors: the policy holds them) for harvesting. */
static void harvest_db(char *out, size_t n, const char *name)
{
    char f[900];
    snprintf(out, n, "%s/harvest-%s.db", pki.dir, name);
    unlink(out);
    snprintf(f, sizeof f, "%s-wal", out);
    unlink(f);
    snprintf(f, sizeof f, "%s-shm", out);
    unlink(f);
    struct cert_store *s = NULL;
    assert_int_equal(cert_store_open(&s, out, NULL), 0);
    cert_store_close(s);
}

/* What a channel does after an unwrap: the verified signers into the store (own connection).
 * Returns the number new. */
static int harvest_into(const char *dbpath, const struct cms_result *res)
{
    struct cert_store *s = NULL;
    if (cert_store_open(&s, dbpath, NULL))
        return MG_EDB;
    int n = cert_store_harvest(s, res);
    cert_store_close(s);
    return n;
}

/* 1 when the store at dbpath finds an encryption certificate for addr equal to want. */
static int store_has(const char *dbpath, const char *addr, X509 *want, const struct cms_policy *p)
{
    struct cert_store *s = NULL;
    X509 *x = NULL;
    assert_int_equal(cert_store_open(&s, dbpath, NULL), 0);
    int rc = cert_store_find_encryption_cert(s, addr, p, &x, NULL, 0);
    int found = rc == 0 && X509_cmp(x, want) == 0;
    if (rc != 0)
        assert_int_equal(rc, MG_ENOTFOUND);
    X509_free(x);
    cert_store_close(s);
    return found;
}

/* A message from the sender identities of a case: inner signer (and outer signer, encrypted to
 * carol, for a triple wrap). */
static void make_signed(enum tid inner, int outer, int tamper, struct cms_result *wr)
{
    struct cms_policy *w = test_policy(&pki, 0);
    assert_int_equal(cms_policy_set_signer(w, CMS_LAYER_INNER, pki.cert[inner], pki.key[inner],
                                           NULL), 0);
    unsigned ops = CMS_OP_SIGN;
    if (outer >= 0) {
        assert_int_equal(cms_policy_set_signer(w, CMS_LAYER_OUTER, pki.cert[outer], pki.key[outer],
                                               NULL), 0);
        assert_int_equal(cms_policy_add_recipient(w, pki.cert[T_CAROL]), 0);
        ops = CMS_OP_TRIPLE;
    }
    static const char m[] = "From: sender@example.org\r\nSubject: harvest\r\n\r\nsigned body\r\n";
    int rc = cms_wrap(w, ops, CMS_FORMAT_DER, (const unsigned char *)m, strlen(m), wr);
    assert_int_equal(rc, 0);
    if (tamper)
        wr->data[wr->len - 40] ^= 1; /* inside the signed content / signature */
    cms_policy_free(w);
}

static void test_harvest_switch(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int on;            /* the caller harvests */
        enum tid inner;
        int outer;         /* outer signer (triple wrap, encrypted to carol) or -1 */
        int tamper;
        int reader_key;    /* the reader holds carol's key */
        int want_rc;
        int want_new;      /* new certificates after the first unwrap */
        enum tid found[2]; /* certificates findable afterwards (T_N = none) */
        enum tid absent;   /* a certificate that must not be findable (T_N = none) */
    } cases[] = {
        { "on: unknown signer is harvested", 1, T_ALICE, -1, 0, 0, 0, 1, { T_ALICE, T_N }, T_N },
        { "off: nothing is stored", 0, T_ALICE, -1, 0, 0, 0, 0, { T_N, T_N }, T_ALICE },
        { "on: altered message never harvests", 1, T_ALICE, -1, 1, 0, MG_EVERIFY, 0, { T_N, T_N },
          T_ALICE },
        { "on: triple wrap harvests inner and outer signers", 1, T_ALICE, T_BOB, 0, 1, 0, 2,
          { T_ALICE, T_BOB }, T_N },
        { "on: outer verifies, no key for the inside: only the outer signer", 1, T_ALICE, T_BOB, 0,
          0, MG_ENOKEY, 1, { T_BOB, T_N }, T_ALICE },
    };
    static const char *const addr[T_N] = { [T_ALICE] = "alice@example.org",
                                           [T_BOB] = "bob@example.org",
                                           [T_CAROL] = "carol@example.org" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("harvest case: %s\n", cases[i].name);
        char dbp[900];
        char tag[16];
        snprintf(tag, sizeof tag, "case%zu", i);
        harvest_db(dbp, sizeof dbp, tag);
        struct cms_result wr, ur;
        make_signed(cases[i].inner, cases[i].outer, cases[i].tamper, &wr);
        struct cms_policy *r = test_policy(&pki, 0);
        if (cases[i].reader_key)
            assert_int_equal(cms_policy_add_key(r, pki.cert[T_CAROL], pki.key[T_CAROL]), 0);
        assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), cases[i].want_rc);
        if (cases[i].on)
            assert_int_equal(sk_X509_num(ur.signers), cases[i].want_new);
        assert_int_equal(cases[i].on ? harvest_into(dbp, &ur) : 0, cases[i].want_new);
        for (int k = 0; k < 2; k++)
            if (cases[i].found[k] != T_N)
                assert_true(store_has(dbp, addr[cases[i].found[k]], pki.cert[cases[i].found[k]], r));
        if (cases[i].absent != T_N)
            assert_false(store_has(dbp, addr[cases[i].absent], pki.cert[cases[i].absent], r));
        /* a second unwrap of the same message finds the certificates known: nothing new */
        cms_result_free(&ur);
        assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), cases[i].want_rc);
        assert_int_equal(cases[i].on ? harvest_into(dbp, &ur) : 0, 0);
        cms_result_free(&ur);
        cms_result_free(&wr);
        cms_policy_free(r);
    }
}

static void test_harvest_untrusted_signer(void **state)
{
    (void)state;
    /* a self-signed signer outside the CA: the signature is sound, the path is not */
    char dbp[900];
    harvest_db(dbp, sizeof dbp, "rogue");
    struct cms_policy *w, *r = test_policy(&pki, 0);
    assert_int_equal(cms_policy_create(&w), 0);
    assert_int_equal(cms_policy_add_anchor(w, pki.cert[T_ROGUE]), 0);
    assert_int_equal(cms_policy_set_signer(w, CMS_LAYER_INNER, pki.cert[T_ROGUE], pki.key[T_ROGUE],
                                           NULL), 0);
    static const char m[] = "From: rogue@example.org\r\n\r\nhello\r\n";
    struct cms_result wr, ur;
    assert_int_equal(cms_wrap(w, CMS_OP_SIGN, CMS_FORMAT_MIME, (const unsigned char *)m, strlen(m),
                              &wr), 0);
    assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), MG_EUNTRUSTED);
    assert_int_equal(sk_X509_num(ur.signers), 0);
    assert_int_equal(harvest_into(dbp, &ur), 0);
    struct cert_store *s = NULL;
    assert_int_equal(cert_store_open(&s, dbp, NULL), 0);
    X509 *x = NULL;
    assert_int_equal(cert_store_get(s, 1, &x, NULL), MG_ENOTFOUND);
    cert_store_close(s);
    cms_result_free(&wr);
    cms_result_free(&ur);
    cms_policy_free(w);
    cms_policy_free(r);
}

static void test_harvest_bad_store(void **state)
{
    (void)state;
    /* a store that cannot be opened: the harvest fails, the unwrap's result stands and can be
     * stored elsewhere */
    char dbp[900];
    harvest_db(dbp, sizeof dbp, "keep");
    struct cms_policy *r = test_policy(&pki, 0);
    struct cms_result wr, ur;
    make_signed(T_CAROL, -1, 0, &wr);
    assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), 0);
    assert_int_equal(harvest_into("/nonexistent-mixgate-dir/x.db", &ur), MG_EDB);
    assert_int_equal(harvest_into(dbp, &ur), 1);
    assert_true(store_has(dbp, "carol@example.org", pki.cert[T_CAROL], r));
    cms_result_free(&wr);
    cms_result_free(&ur);
    cms_policy_free(r);
}

#define HARVEST_ROUNDS 12

struct harvest_thread {
    const struct cms_policy *p;
    const struct cms_result *msgs; /* 2 messages, different signers */
    const char *dbp;               /* each thread harvests through its own connection */
    int ok, harvested;
};

static void *harvest_thread_main(void *arg)
{
    struct harvest_thread *t = arg;
    t->ok = 1;
    for (int i = 0; i < HARVEST_ROUNDS; i++) {
        const struct cms_result *m = &t->msgs[i % 2];
        struct cms_result ur;
        int n = -1;
        if (cms_unwrap(t->p, m->data, m->len, &ur) != 0 || (n = harvest_into(t->dbp, &ur)) < 0)
            t->ok = 0;
        else
            t->harvested += n;
        cms_result_free(&ur);
    }
    return NULL;
}

static int count_rows(void *arg, int n, char **vals, char **cols)
{
    (void)cols;
    if (n == 1 && vals[0])
        snprintf(arg, 32, "%s", vals[0]);
    return 0;
}

static void test_harvest_two_threads(void **state)
{
    (void)state;
    char dbp[900];
    harvest_db(dbp, sizeof dbp, "threads");
    struct cms_result msgs[2];
    make_signed(T_ALICE, -1, 0, &msgs[0]);
    make_signed(T_BOB, -1, 0, &msgs[1]);
    struct cms_policy *r = test_policy(&pki, 0);
    /* both threads unwrap and harvest both messages at once: each certificate is new exactly
     * once (the store's check-and-insert is one transaction) */
    struct harvest_thread a[2] = { { r, msgs, dbp, 0, 0 }, { r, msgs, dbp, 0, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, harvest_thread_main, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(a[0].ok, 1);
    assert_int_equal(a[1].ok, 1);
    assert_int_equal(a[0].harvested + a[1].harvested, 2);
    assert_true(store_has(dbp, "alice@example.org", pki.cert[T_ALICE], r));
    assert_true(store_has(dbp, "bob@example.org", pki.cert[T_BOB], r));
    /* the file itself is sound, with one row per certificate and per address */
    sqlite3 *db3 = NULL;
    char res[32] = "";
    assert_int_equal(sqlite3_open_v2(dbp, &db3, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db3, "PRAGMA integrity_check", count_rows, res, NULL), SQLITE_OK);
    assert_string_equal(res, "ok");
    assert_int_equal(sqlite3_exec(db3, "SELECT count(*) FROM certs", count_rows, res, NULL), SQLITE_OK);
    assert_string_equal(res, "2");
    assert_int_equal(sqlite3_exec(db3, "SELECT count(*) FROM emails", count_rows, res, NULL), SQLITE_OK);
    assert_string_equal(res, "2");
    sqlite3_close(db3);
    cms_result_free(&msgs[0]);
    cms_result_free(&msgs[1]);
    cms_policy_free(r);
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
        cmocka_unit_test(test_harvest_switch),
        cmocka_unit_test(test_harvest_untrusted_signer),
        cmocka_unit_test(test_harvest_bad_store),
        cmocka_unit_test(test_harvest_two_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
