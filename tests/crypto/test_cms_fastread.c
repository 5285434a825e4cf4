/* Tests of the fast CMS reader (crypto/cms_fastread.c) behind cms_unwrap: named cases that a
 * SignedData's certificates are cut out and come from the policy's cache (decoded once, the
 * same object every time), that enveloped data is read as it is, that every input it does not
 * expect (other transfer encodings, bad base64, trailing bytes, BER indefinite lengths, other
 * certificate choices, every truncation) makes it step aside instead of guessing, and that
 * unwrap gives the same results through it: signer, layers, a tampered signature refused. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/cms.h>

#include "cms_fastread.h"
#include "cms_internal.h"
#include "cms_wrap.h"
#include "crypto_test_util.h"
#include "mg_err.h"

static struct test_pki g_pki;

static const char msg[] = "From: a@example.org\r\nTo: b@example.org\r\nSubject: fast\r\n"
                          "\r\nHello, world.\r\n";

/* A writer signing as alice, encrypting to bob. */
static struct cms_policy *writer(void)
{
    struct cms_policy *p = test_policy(&g_pki, 1);
    assert_int_equal(cms_policy_set_signer(p, CMS_LAYER_INNER, g_pki.cert[T_ALICE],
                                           g_pki.key[T_ALICE], NULL), 0);
    assert_int_equal(cms_policy_add_recipient(p, g_pki.cert[T_BOB]), 0);
    return p;
}

static void wrap_form(unsigned ops, enum cms_format fmt, int detached, struct cms_result *res)
{
    struct cms_policy *w = writer();
    cms_policy_set_detached(w, detached);
    assert_int_equal(cms_wrap(w, ops, fmt, (const unsigned char *)msg, strlen(msg), res), 0);
    cms_policy_free(w);
}

static void wrap(unsigned ops, enum cms_format fmt, struct cms_result *res)
{
    wrap_form(ops, fmt, 0, res);
}

static void t_signed_mime_certs_cut_and_cached(void **state)
{
    (void)state;
    struct cms_result wr;
    wrap(CMS_OP_SIGN, CMS_FORMAT_MIME, &wr);
    struct cms_policy *r = test_policy(&g_pki, 1);
    X509 *first = NULL;
    for (int round = 0; round < 2; round++) {
        CMS_ContentInfo *cms = NULL;
        STACK_OF(X509) *certs = NULL;
        const unsigned char *dc;
        size_t dcl;
        assert_int_equal(cms_fast_read(r->vcache, wr.data, wr.len, &cms, &certs, &dc, &dcl), 1);
        assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
        assert_int_equal(sk_X509_num(certs), 1);
        assert_int_equal(X509_cmp(sk_X509_value(certs, 0), g_pki.cert[T_ALICE]), 0);
        /* cut out of the structure OpenSSL parsed */
        STACK_OF(X509) *in = CMS_get1_certs(cms);
        assert_true(sk_X509_num(in) <= 0); /* -1: none at all */
        sk_X509_pop_free(in, X509_free);
        /* the second message's certificate is the first one's object: decoded once */
        if (round == 0)
            first = sk_X509_value(certs, 0);
        else
            assert_ptr_equal(sk_X509_value(certs, 0), first);
        sk_X509_pop_free(certs, X509_free);
        CMS_ContentInfo_free(cms);
    }
    /* without a cache it still works, decoding each time */
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    const unsigned char *dc;
    size_t dcl;
    assert_int_equal(cms_fast_read(NULL, wr.data, wr.len, &cms, &certs, &dc, &dcl), 1);
    assert_int_equal(sk_X509_num(certs), 1);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    cms_policy_free(r);
    cms_result_free(&wr);
}

static void t_enveloped_read_as_is(void **state)
{
    (void)state;
    struct cms_result wr;
    wrap(CMS_OP_ENCRYPT, CMS_FORMAT_MIME, &wr);
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    const unsigned char *dc;
    size_t dcl;
    assert_int_equal(cms_fast_read(NULL, wr.data, wr.len, &cms, &certs, &dc, &dcl), 1);
    assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_enveloped);
    assert_int_equal(sk_X509_num(certs), 0);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    cms_result_free(&wr);
}

static void t_multipart_signed(void **state)
{
    (void)state;
    struct cms_result wr, ur;
    wrap_form(CMS_OP_SIGN | CMS_OP_ENCRYPT, CMS_FORMAT_MIME, 1, &wr);
    struct cms_policy *r = test_policy(&g_pki, 1);
    assert_int_equal(cms_policy_add_key(r, g_pki.cert[T_BOB], g_pki.key[T_BOB]), 0);
    assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), 0);
    assert_int_equal(ur.nlayers, 2);
    assert_int_equal(X509_cmp(ur.layers[1].signer_cert, g_pki.cert[T_ALICE]), 0);
    assert_non_null(strstr((const char *)ur.data, "Hello, world."));
    cms_result_free(&ur);
    cms_result_free(&wr);
    /* the signed entity itself: content bytes as they are, signature read here */
    wrap_form(CMS_OP_SIGN, CMS_FORMAT_MIME, 1, &wr);
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    const unsigned char *dc;
    size_t dcl;
    assert_int_equal(cms_fast_read(r->vcache, wr.data, wr.len, &cms, &certs, &dc, &dcl), 1);
    assert_non_null(dc);
    assert_true(dcl > 13 && !memcmp(dc, "Content-Type:", 13));
    /* the content's own last line end is content, the one before the delimiter is not */
    assert_true(dcl > 15 && !memcmp(dc + dcl - 15, "Hello, world.\r\n", 15));
    assert_true(!memcmp(dc + dcl, "\r\n--", 4));
    assert_int_equal(sk_X509_num(certs), 1);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    /* malformed multiparts step aside: no close delimiter, a third part */
    char *m = calloc(1, wr.len + 200);
    assert_non_null(m);
    memcpy(m, wr.data, wr.len);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\r' || m[n - 1] == '\n'))
        n--;
    assert_true(n > 2 && m[n - 1] == '-' && m[n - 2] == '-');
    m[n - 2] = 0; /* the close delimiter becomes a plain one: no close */
    assert_int_equal(cms_fast_read(NULL, (unsigned char *)m, strlen(m), &cms, &certs, &dc, &dcl), 0);
    strcat(m, "\r\nContent-Type: text/plain\r\n\r\nthird\r\n");
    const char *bq = strstr(m, "boundary=\"");
    assert_non_null(bq);
    char bnd[100];
    snprintf(bnd, sizeof bnd, "%.*s", (int)strcspn(bq + 10, "\""), bq + 10);
    strcat(m, "--");
    strcat(m, bnd);
    strcat(m, "--\r\n");
    assert_int_equal(cms_fast_read(NULL, (unsigned char *)m, strlen(m), &cms, &certs, &dc, &dcl), 0);
    /* a parameter whose name only ends in "boundary" is not the boundary */
    memcpy(m, wr.data, wr.len);
    m[wr.len] = 0;
    char *bp = strstr(m, " boundary=");
    assert_non_null(bp);
    bp[0] = 'x';
    assert_int_equal(cms_fast_read(NULL, (unsigned char *)m, strlen(m), &cms, &certs, &dc, &dcl), 0);
    /* no line at all between the first two delimiters: no first part */
    memcpy(m, wr.data, wr.len);
    m[wr.len] = 0;
    char delim[110];
    snprintf(delim, sizeof delim, "\r\n--%s\r\n", bnd);
    char *first = strstr(m, delim);
    assert_non_null(first);
    char *line_end = first + strlen(delim) - 2;  /* the first delimiter line's CRLF */
    char *second = strstr(line_end, delim);      /* the CRLF before the second delimiter */
    assert_non_null(second);
    memmove(line_end + 2, second + 2, strlen(second + 2) + 1);
    assert_int_equal(cms_fast_read(NULL, (unsigned char *)m, strlen(m), &cms, &certs, &dc, &dcl), 0);
    free(m);
    cms_policy_free(r);
    cms_result_free(&wr);
}

/* Edits of a signed S/MIME message, each of which the fast reader must leave to OpenSSL. */
struct edit_case {
    const char *name;
    const char *find, *replace;  /* a text edit of the message, or NULL */
    const char *append;          /* appended to the base64 body, or NULL */
};

static const struct edit_case edit_cases[] = {
    { "quoted_printable", "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: 7bit", NULL },
    { "bad_base64_char", NULL, NULL, "AB*D\r\n" },
    { "after_padding", NULL, NULL, "====AAAA\r\n" },
    { "not_pkcs7", "application/pkcs7-mime", "application/octet-stream", NULL },
};

static void t_edits_step_aside(void **state)
{
    (void)state;
    struct cms_result wr;
    wrap(CMS_OP_SIGN, CMS_FORMAT_MIME, &wr);
    for (size_t i = 0; i < sizeof edit_cases / sizeof *edit_cases; i++) {
        const struct edit_case *c = &edit_cases[i];
        size_t cap = wr.len + 256;
        char *m = calloc(1, cap);
        assert_non_null(m);
        memcpy(m, wr.data, wr.len);
        if (c->find) {
            char *at = strstr(m, c->find);
            assert_non_null(at);
            size_t fl = strlen(c->find), rl = strlen(c->replace);
            memmove(at + rl, at + fl, strlen(at + fl) + 1);
            memcpy(at, c->replace, rl);
        }
        if (c->append) {
            /* before the padding: the body ends with the last base64 line */
            size_t n = strlen(m);
            while (n && (m[n - 1] == '\r' || m[n - 1] == '\n'))
                m[--n] = 0;
            strcat(m, "\r\n");
            strcat(m, c->append);
        }
        CMS_ContentInfo *cms = NULL;
        STACK_OF(X509) *certs = NULL;
        const unsigned char *dc;
        size_t dcl;
        int r = cms_fast_read(NULL, (unsigned char *)m, strlen(m), &cms, &certs, &dc, &dcl);
        if (r != 0)
            fail_msg("case %s: %d", c->name, r);
        assert_null(cms);
        assert_null(certs);
        free(m);
    }
    cms_result_free(&wr);
}

static void t_der_forms(void **state)
{
    (void)state;
    struct cms_result wr;
    wrap(CMS_OP_SIGN, CMS_FORMAT_DER, &wr);
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    assert_int_equal(cms_fast_d2i(NULL, wr.data, wr.len, &cms, &certs), 1);
    assert_int_equal(sk_X509_num(certs), 1);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    /* every truncation steps aside (and reads nothing past the end: ASan) */
    for (size_t n = 0; n < wr.len; n++) {
        unsigned char *t = malloc(n ? n : 1);
        assert_non_null(t);
        memcpy(t, wr.data, n);
        assert_int_equal(cms_fast_d2i(NULL, t, n, &cms, &certs), 0);
        free(t);
    }
    /* trailing bytes after the ContentInfo */
    unsigned char *tr = malloc(wr.len + 2);
    assert_non_null(tr);
    memcpy(tr, wr.data, wr.len);
    tr[wr.len] = tr[wr.len + 1] = 0;
    assert_int_equal(cms_fast_d2i(NULL, tr, wr.len + 2, &cms, &certs), 0);
    free(tr);
    /* BER: the outer SEQUENCE with an indefinite length */
    unsigned char *ber = malloc(wr.len + 4);
    assert_non_null(ber);
    size_t hl = (wr.data[1] & 0x80) ? 2 + (wr.data[1] & 0x7f) : 2;
    ber[0] = 0x30;
    ber[1] = 0x80;
    memcpy(ber + 2, wr.data + hl, wr.len - hl);
    ber[2 + wr.len - hl] = 0;
    ber[3 + wr.len - hl] = 0;
    assert_int_equal(cms_fast_d2i(NULL, ber, wr.len - hl + 4, &cms, &certs), 0);
    free(ber);
    /* another CertificateChoices than a Certificate: the first certificate's tag changed */
    unsigned char *alt = malloc(wr.len);
    assert_non_null(alt);
    memcpy(alt, wr.data, wr.len);
    unsigned char *cder = NULL;
    int cl = i2d_X509(g_pki.cert[T_ALICE], &cder);
    assert_true(cl > 0);
    unsigned char *at = NULL;
    for (size_t i = 0; i + (size_t)cl <= wr.len && !at; i++)
        if (!memcmp(alt + i, cder, (size_t)cl))
            at = alt + i;
    assert_non_null(at);
    at[0] = 0xa1; /* [1] v1AttrCert */
    assert_int_equal(cms_fast_d2i(NULL, alt, wr.len, &cms, &certs), 0);
    OPENSSL_free(cder);
    free(alt);
    cms_result_free(&wr);
}

static void t_unwrap_through_fast_reader(void **state)
{
    (void)state;
    struct cms_result wr, ur;
    wrap(CMS_OP_SIGN | CMS_OP_ENCRYPT, CMS_FORMAT_MIME, &wr);
    struct cms_policy *r = test_policy(&g_pki, 1);
    assert_int_equal(cms_policy_add_key(r, g_pki.cert[T_BOB], g_pki.key[T_BOB]), 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), 0);
        assert_int_equal(ur.nlayers, 2);
        assert_int_equal(ur.layers[0].kind, CMS_KIND_ENVELOPED);
        assert_int_equal(ur.layers[1].kind, CMS_KIND_SIGNED);
        assert_non_null(ur.layers[1].signer_cert);
        assert_int_equal(X509_cmp(ur.layers[1].signer_cert, g_pki.cert[T_ALICE]), 0);
        assert_int_equal(sk_X509_num(ur.signers), 1);
        assert_non_null(strstr((const char *)ur.data, "Hello, world."));
        /* the signer is the cached object */
        unsigned char *der = NULL;
        int dl = i2d_X509(g_pki.cert[T_ALICE], &der);
        X509 *cached = cms_vcache_cert(r->vcache, der, (size_t)dl);
        assert_ptr_equal(cached, ur.layers[1].signer_cert);
        X509_free(cached);
        OPENSSL_free(der);
        cms_result_free(&ur);
    }
    cms_policy_free(r);
    cms_result_free(&wr);
}

static void t_tampered_signature_refused(void **state)
{
    (void)state;
    struct cms_result wr, ur;
    wrap(CMS_OP_SIGN, CMS_FORMAT_DER, &wr);
    /* the signed content is in the DER as it is: change one byte of it */
    unsigned char *at = memmem(wr.data, wr.len, "Hello", 5);
    assert_non_null(at);
    at[0] = 'J';
    struct cms_policy *r = test_policy(&g_pki, 1);
    assert_int_equal(cms_unwrap(r, wr.data, wr.len, &ur), MG_EVERIFY);
    cms_result_free(&ur);
    cms_policy_free(r);
    cms_result_free(&wr);
}

int main(void)
{
    test_pki_load(&g_pki);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_signed_mime_certs_cut_and_cached),
        cmocka_unit_test(t_enveloped_read_as_is),
        cmocka_unit_test(t_multipart_signed),
        cmocka_unit_test(t_edits_step_aside),
        cmocka_unit_test(t_der_forms),
        cmocka_unit_test(t_unwrap_through_fast_reader),
        cmocka_unit_test(t_tampered_signature_refused),
    };
    int rc = cmocka_run_group_tests_name("crypto_fastread", tests, NULL, NULL);
    test_pki_free(&g_pki);
    return rc;
}
