/* test_tls_io: the memory-BIO TLS engine with no sockets: a client and a server tls_io pass
 * each other's output directly. Certificates are made by `openssl req` at test time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "tls_io.h"

static char tmpdir[256], cert[300], key[300];

/* Move output between the two ends until neither has anything to send; the first error of
 * each side's feed is kept in cerr and serr. */
static void pump(struct tls_io *c, struct tls_io *s, struct mg_buf *cplain, struct mg_buf *splain,
                 int *cerr, int *serr)
{
    for (int round = 0; round < 20; round++) {
        size_t n;
        int moved = 0;
        unsigned char *d = tls_io_take_output(c, &n);
        if (d) {
            int rc = tls_io_feed(s, d, n, splain);
            if (rc && !*serr)
                *serr = rc;
            free(d);
            moved = 1;
        }
        d = tls_io_take_output(s, &n);
        if (d) {
            int rc = tls_io_feed(c, d, n, cplain);
            if (rc && !*cerr)
                *cerr = rc;
            free(d);
            moved = 1;
        }
        if (!moved)
            return;
    }
}

struct tcase {
    const char *name;
    int verify;
    const char *host;
    int client_err;     /* expected error on the client side (0 = handshake completes) */
    int verified;
    const char *err_substr;
};

static const struct tcase cases[] = {
    { "verified", 1, "mx.test", 0, 1, NULL },
    { "wrong-name-verify", 1, "other.test", MG_EVERIFY, 0, "hostname mismatch" },
    { "wrong-name-no-verify", 0, "other.test", 0, 0, NULL },
    { "no-host-no-verify", 0, NULL, 0, 1, NULL },
    { "ip-literal-not-in-cert", 1, "192.0.2.1", MG_EVERIFY, 0, "mismatch" },
};

static void test_handshakes(void **state)
{
    struct tls_io_ctx *sctx;
    assert_int_equal(tls_io_ctx_server_create(&sctx, cert, key), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *t = &cases[i];
        struct tls_io_ctx *cctx;
        assert_int_equal(tls_io_ctx_client_create(&cctx, t->verify, cert), 0);
        struct tls_io *c, *s;
        assert_int_equal(tls_io_create(&c, cctx, 0, t->host), 0);
        assert_int_equal(tls_io_create(&s, sctx, 1, NULL), 0);
        struct mg_buf cp, sp;
        mg_buf_init(&cp, 1 << 16);
        mg_buf_init(&sp, 1 << 16);
        /* Written before the handshake: held and sent once it completes. */
        assert_int_equal(tls_io_write(c, "EHLO early\r\n", 12), 0);
        int cerr = 0, serr = 0;
        pump(c, s, &cp, &sp, &cerr, &serr);
        if (cerr != t->client_err)
            fail_msg("case %s: client error %d (%s), expected %d", t->name, cerr, tls_io_last_error(c),
                     t->client_err);
        if (t->err_substr && !strstr(tls_io_last_error(c), t->err_substr))
            fail_msg("case %s: error \"%s\" lacks \"%s\"", t->name, tls_io_last_error(c), t->err_substr);
        if (!t->client_err) {
            assert_true(tls_io_handshake_done(c));
            assert_true(tls_io_handshake_done(s));
            if (tls_io_peer_verified(c) != t->verified)
                fail_msg("case %s: verified=%d", t->name, tls_io_peer_verified(c));
            assert_string_equal(tls_io_version(c), "TLSv1.3");
            assert_true(strlen(tls_io_cipher(c)) > 0);
            assert_int_equal(sp.len, 12);
            assert_memory_equal(sp.data, "EHLO early\r\n", 12);
            assert_int_equal(tls_io_write(s, "250 ok\r\n", 8), 0);
            pump(c, s, &cp, &sp, &cerr, &serr);
            assert_int_equal(cp.len, 8);
            /* close_notify reaches the peer as MG_ECLOSED */
            tls_io_shutdown(s);
            pump(c, s, &cp, &sp, &cerr, &serr);
            assert_int_equal(cerr, MG_ECLOSED);
        }
        mg_buf_free(&cp);
        mg_buf_free(&sp);
        tls_io_free(c);
        tls_io_free(s);
        tls_io_ctx_free(cctx);
    }
    tls_io_ctx_free(sctx);
}

static void test_garbage_and_bad_files(void **state)
{
    struct tls_io_ctx *sctx;
    assert_int_equal(tls_io_ctx_server_create(&sctx, cert, key), 0);
    struct tls_io *s;
    assert_int_equal(tls_io_create(&s, sctx, 1, NULL), 0);
    struct mg_buf p;
    mg_buf_init(&p, 1024);
    /* A plaintext SMTP command where a ClientHello should be. */
    assert_int_equal(tls_io_feed(s, "MAIL FROM:<a@b>\r\n", 17, &p), MG_ECRYPTO);
    assert_true(strlen(tls_io_last_error(s)) > 0);
    mg_buf_free(&p);
    tls_io_free(s);
    tls_io_ctx_free(sctx);
    struct tls_io_ctx *x;
    assert_int_equal(tls_io_ctx_server_create(&x, "/nonexistent/cert.pem", key), MG_ENOKEY);
    assert_int_equal(tls_io_ctx_server_create(&x, key, key), MG_ENOKEY);
    assert_int_equal(tls_io_ctx_client_create(&x, 1, "/nonexistent/ca.pem"), MG_ENOKEY);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mg-tls-io-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=mx.test -addext subjectAltName=DNS:mx.test -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshakes),
        cmocka_unit_test(test_garbage_and_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
