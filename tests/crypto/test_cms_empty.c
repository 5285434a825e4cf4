/* Regression tests for empty CMS contents (issue 14, found by fuzzing): a memory BIO that was
 * never written has no data pointer, and copying "0 bytes from NULL" out of it is undefined
 * behaviour that aborts the sanitizer builds. The messages are made by `openssl cms` (an
 * independent implementation) at test time with the test PKI: an empty body signed as
 * multipart/signed and as opaque DER, an empty body encrypted, and a multipart/signed whose
 * first part is empty but whose signature covers something else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cms_wrap.h"
#include "crypto_test_util.h"
#include "mg_err.h"

static struct test_pki pki;
static char work[600];
static const char *only; /* argv[1]: run just this case (to see each one fail before a fix) */

/* Runs a shell command line in the work directory ($PKI = the test PKI) or fails the test. */
static void sh(const char *line)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", work, line);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static unsigned char *slurp(const char *name, size_t *len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int setup(void **state)
{
    (void)state;
    test_pki_load(&pki);
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(work, sizeof work, "%s/tests/crypto/cms_empty", b);
    if (setenv("PKI", pki.dir, 1) != 0)
        return -1;
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && : > '%s/empty'", work, work, work);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_pki_free(&pki);
    return 0;
}

struct empty_case {
    const char *name;
    const char *make;  /* openssl command line(s) writing the file "out" */
    int want_rc;
    int want_kind;     /* kind of the one layer met, 0 = none */
};

#define SIGN "openssl cms -sign -signer \"$PKI/alice.pem\" -inkey \"$PKI/alice.key\" -md sha256"
static const struct empty_case cases[] = {
    /* the default S/MIME output is multipart/signed: first part empty, detached signature */
    { "empty_body_signed_multipart", SIGN " -in empty -out out", 0, CMS_KIND_SIGNED },
    /* opaque SignedData in DER: eContent is an empty OCTET STRING */
    { "empty_body_signed_opaque_der", SIGN " -in empty -nodetach -outform DER -out out", 0, CMS_KIND_SIGNED },
    /* opaque S/MIME (application/pkcs7-mime; smime-type=signed-data) */
    { "empty_body_signed_opaque_smime", SIGN " -in empty -nodetach -out out", 0, CMS_KIND_SIGNED },
    /* EnvelopedData of an empty body: decrypt_layer's output BIO is never written */
    { "empty_body_enveloped_der",
      "openssl cms -encrypt -in empty -aes128 -outform DER -out out \"$PKI/alice.pem\"", 0,
      CMS_KIND_ENVELOPED },
    /* an empty first part (one empty line, as openssl writes it), the signature made over
     * "x": must fail as a bad signature */
    { "empty_first_part_wrong_signature",
      "printf x > x && " SIGN " -in x -out signed_x && "
      "awk '/^------/ { if (!s) { print; print \"\"; s = 1; next } s = 2 } s != 1' signed_x > out",
      MG_EVERIFY, CMS_KIND_SIGNED },
    /* no line at all between the delimiters: OpenSSL finds no first part */
    { "first_part_missing",
      "printf x > x && " SIGN " -in x -out signed_x && "
      "awk '/^------/ { if (!s) { print; s = 1; next } s = 2 } s != 1' signed_x > out",
      MG_EPARSE, 0 },
};

static void test_empty_contents(void **state)
{
    (void)state;
    struct cms_policy *p = test_policy(&pki, 1);
    assert_int_equal(cms_policy_add_key(p, pki.cert[T_ALICE], pki.key[T_ALICE]), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct empty_case *c = &cases[i];
        if (only && strcmp(only, c->name) != 0)
            continue;
        print_message("[ case ] %s\n", c->name);
        sh("rm -f out");
        sh(c->make);
        size_t len;
        unsigned char *in = slurp("out", &len);
        assert_true(len > 0);
        struct cms_result r;
        int rc = cms_unwrap(p, in, len, &r);
        if (rc != c->want_rc)
            fail_msg("%s: got %s (%s), want %s", c->name, mg_errname(rc), r.reason,
                     mg_errname(c->want_rc));
        if (!c->want_kind) {
            assert_int_equal(r.nlayers, 0);
            assert_null(r.data);
            cms_result_free(&r);
            free(in);
            continue;
        }
        assert_true(r.nlayers >= 1);
        assert_int_equal(r.layers[0].kind, c->want_kind);
        if (c->want_rc == 0) {
            assert_int_equal(r.nlayers, 1);
            assert_int_equal(r.layers[0].status, 0);
            /* the content is empty, and still a valid (NUL-terminated) buffer */
            assert_int_equal(r.len, 0);
            assert_non_null(r.data);
            if (c->want_kind == CMS_KIND_SIGNED)
                assert_non_null(strstr(r.layers[0].signer, "CN=alice"));
        } else {
            assert_int_equal(r.layers[0].status, c->want_rc);
        }
        cms_result_free(&r);
        free(in);
    }
    cms_policy_free(p);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_contents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
