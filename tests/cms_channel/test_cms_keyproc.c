/* Tests of the key process (channels/cms/cms_keyproc*): the request parser on a table of named
 * good and malformed requests; a real key process (spawned here) holding an RSA and an EC key:
 * CMS signing and decryption (RSA key transport, ECDH key agreement) through the proxy keys
 * give results the real keys verify / that open; refusals (an operation on the wrong key type,
 * LOAD on a key connection, a broken frame, a key that does not load); the proxy works from
 * several threads at once; the connection closes with the key. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cms_keyproc.h"
#include "cms_keys.h"
#include "cms_wrap.h"
#include "mg_err.h"

static char g_pki[512];

static void pki(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_pki, name);
}

/* ---- parser ----------------------------------------------------------------------------- */

struct parse_case {
    const char *name;
    const unsigned char *buf;
    size_t len;
    int want;              /* 0 or the MG_E* */
    int type;              /* when 0 */
    size_t data_len;
};

#define H(t, n) 1, (t), 0, 0, (unsigned char)((n) >> 24), (unsigned char)((n) >> 16), \
                (unsigned char)((n) >> 8), (unsigned char)(n)
static const unsigned char load_ok[] = { H(1, 9), 0, 4, '/', 'k', 'e', 'y', 0, 1, 'p' };
static const unsigned char load_nopass[] = { H(1, 8), 0, 4, '/', 'k', 'e', 'y', 0, 0 };
static const unsigned char load_empty_path[] = { H(1, 4), 0, 0, 0, 0 };
static const unsigned char load_nul[] = { H(1, 8), 0, 4, '/', 0, 'e', 'y', 0, 0 };
static const unsigned char load_path_overruns[] = { H(1, 6), 0, 200, '/', 'k', 0, 0 };
static const unsigned char load_trailing[] = { H(1, 9), 0, 4, '/', 'k', 'e', 'y', 0, 0, 'x' };
static const unsigned char load_no_pass_field[] = { H(1, 6), 0, 4, '/', 'k', 'e', 'y' };
static const unsigned char dec_ok[] = { H(2, 7), 0, 0, 0, 1, 'a', 'b', 'c' };
static const unsigned char dec_bad_padding[] = { H(2, 7), 0, 0, 0, 4, 'a', 'b', 'c' };
static const unsigned char dec_no_data[] = { H(2, 4), 0, 0, 0, 1 };
static const unsigned char enc_nopad[] = { H(3, 5), 0, 0, 0, 3, 'z' };
static const unsigned char sign_ok[] = { H(4, 3), 1, 2, 3 };
static const unsigned char sign_empty[] = { H(4, 0) };
static const unsigned char ecdh_ok[] = { H(5, 2), 0x30, 0 };
static const unsigned char bad_version[] = { 2, 4, 0, 0, 0, 0, 0, 1, 9 };
static const unsigned char bad_reserved[] = { 1, 4, 0, 1, 0, 0, 0, 1, 9 };
static const unsigned char unknown_type[] = { H(9, 1), 9 };
static const unsigned char too_big[] = { 1, 4, 0, 0, 0, 1, 0, 0, 9 };
static const unsigned char short_body[] = { H(4, 5), 1, 2 };
static const unsigned char long_body[] = { H(4, 1), 1, 2 };
static const unsigned char half_header[] = { 1, 4, 0 };

static const struct parse_case parse_cases[] = {
    { "load", load_ok, sizeof load_ok, 0, CMS_KEYPROC_LOAD, 0 },
    { "load_without_passphrase", load_nopass, sizeof load_nopass, 0, CMS_KEYPROC_LOAD, 0 },
    { "load_empty_path", load_empty_path, sizeof load_empty_path, MG_EPARSE, 0, 0 },
    { "load_nul_in_path", load_nul, sizeof load_nul, MG_EPARSE, 0, 0 },
    { "load_path_length_overruns", load_path_overruns, sizeof load_path_overruns, MG_EPARSE, 0, 0 },
    { "load_trailing_bytes", load_trailing, sizeof load_trailing, MG_EPARSE, 0, 0 },
    { "load_missing_pass_field", load_no_pass_field, sizeof load_no_pass_field, MG_EPARSE, 0, 0 },
    { "rsa_dec", dec_ok, sizeof dec_ok, 0, CMS_KEYPROC_RSA_PRIV_DEC, 3 },
    { "rsa_dec_unknown_padding", dec_bad_padding, sizeof dec_bad_padding, MG_EPARSE, 0, 0 },
    { "rsa_dec_no_data", dec_no_data, sizeof dec_no_data, MG_EPARSE, 0, 0 },
    { "rsa_enc_no_padding", enc_nopad, sizeof enc_nopad, 0, CMS_KEYPROC_RSA_PRIV_ENC, 1 },
    { "ecdsa_sign", sign_ok, sizeof sign_ok, 0, CMS_KEYPROC_ECDSA_SIGN, 3 },
    { "ecdsa_sign_empty", sign_empty, sizeof sign_empty, MG_EPARSE, 0, 0 },
    { "ecdh", ecdh_ok, sizeof ecdh_ok, 0, CMS_KEYPROC_ECDH, 2 },
    { "bad_version", bad_version, sizeof bad_version, MG_EPROTO, 0, 0 },
    { "reserved_bits_set", bad_reserved, sizeof bad_reserved, MG_EPROTO, 0, 0 },
    { "unknown_type", unknown_type, sizeof unknown_type, MG_EPARSE, 0, 0 },
    { "body_over_the_limit", too_big, sizeof too_big, MG_ETOOBIG, 0, 0 },
    { "body_shorter_than_announced", short_body, sizeof short_body, MG_EPROTO, 0, 0 },
    { "body_longer_than_announced", long_body, sizeof long_body, MG_EPROTO, 0, 0 },
    { "half_a_header", half_header, sizeof half_header, MG_EPROTO, 0, 0 },
};

static void run_parse_case(void **state)
{
    const struct parse_case *c = *state;
    struct cms_keyproc_req *q = malloc(sizeof *q);
    assert_non_null(q);
    int rc = cms_keyproc_parse_request(c->buf, c->len, q);
    assert_int_equal(rc, c->want);
    if (!rc) {
        assert_int_equal(q->type, c->type);
        if (c->type == CMS_KEYPROC_LOAD) {
            assert_string_equal(q->path, "/key");
        } else {
            assert_int_equal(q->len, c->data_len);
        }
    }
    free(q);
}

/* ---- a real key process ------------------------------------------------------------------ */

struct kp {
    int fd;
    pid_t pid;
};

static int kp_setup(void **state)
{
    struct kp *k = calloc(1, sizeof *k);
    if (!k || cms_keyproc_spawn(&k->fd, &k->pid))
        return -1;
    *state = k;
    return 0;
}

static int kp_teardown(void **state)
{
    struct kp *k = *state;
    cms_keyproc_stop(k->fd, k->pid);
    free(k);
    return 0;
}

static char g_pinfile[560];

/* name: a PKI file name, or a PKCS#11 URI (PIN from g_pinfile) */
static EVP_PKEY *load_proxy(struct kp *k, const char *name)
{
    char p[700], why[300];
    int uri = !strncmp(name, "pkcs11:", 7);
    if (uri)
        snprintf(p, sizeof p, "%s", name);
    else
        pki(p, sizeof p, name);
    EVP_PKEY *pk = NULL;
    int rc = cms_keyproc_load_key(k->fd, p, uri ? g_pinfile : NULL, &pk, why, sizeof why);
    if (rc)
        print_message("load %s: %s\n", name, why);
    assert_int_equal(rc, 0);
    return pk;
}

static X509 *cert(const char *name)
{
    char p[700];
    pki(p, sizeof p, name);
    X509 *x = NULL;
    assert_int_equal(cms_keys_load_cert(p, &x), 0);
    return x;
}

static const char MSG[] = "From: a@example.org\r\nTo: b@example.org\r\nSubject: kp\r\n\r\nproxied\r\n";

/* sign with signer's proxy key + encrypt to rcpt; then open with rcpt's proxy key (decrypt)
 * and the real anchor; the inner text must come back and the signature verify */
static void round_trip_keys(struct kp *k, const char *signer, const char *rcpt, int oaep,
                            const char *skey, const char *rkey)
{
    char base[64];
    X509 *sc = cert((snprintf(base, sizeof base, "%s.pem", signer), base));
    X509 *rc_ = cert((snprintf(base, sizeof base, "%s.pem", rcpt), base));
    X509 *ca = cert("ca.pem");
    EVP_PKEY *spk = load_proxy(k, skey ? skey : (snprintf(base, sizeof base, "%s.key", signer), base));
    EVP_PKEY *rpk = load_proxy(k, rkey ? rkey : (snprintf(base, sizeof base, "%s.key", rcpt), base));
    struct cms_policy *p = NULL, *q = NULL;
    assert_int_equal(cms_policy_create(&p), 0);
    assert_int_equal(cms_policy_set_signer(p, CMS_LAYER_INNER, sc, spk, NULL), 0);
    assert_int_equal(cms_policy_add_recipient(p, rc_), 0);
    assert_int_equal(cms_policy_add_anchor(p, ca), 0);
    cms_policy_set_rsa_oaep(p, oaep);
    struct cms_result w, u;
    int rc = cms_wrap(p, CMS_OP_TRIPLE, CMS_FORMAT_MIME, (const unsigned char *)MSG, sizeof MSG - 1, &w);
    if (rc)
        print_message("wrap: %s\n", w.reason);
    assert_int_equal(rc, 0);
    assert_int_equal(cms_policy_create(&q), 0);
    assert_int_equal(cms_policy_add_key(q, rc_, rpk), 0);
    assert_int_equal(cms_policy_add_anchor(q, ca), 0);
    rc = cms_unwrap(q, w.data, w.len, &u);
    if (rc)
        print_message("unwrap: %s\n", u.reason);
    assert_int_equal(rc, 0);
    assert_int_equal(u.nlayers, 3);
    assert_non_null(memmem(u.data, u.len, "proxied", 7));
    cms_result_free(&w);
    cms_result_free(&u);
    cms_policy_free(p);
    cms_policy_free(q);
    EVP_PKEY_free(spk);
    EVP_PKEY_free(rpk);
    X509_free(sc);
    X509_free(rc_);
    X509_free(ca);
}

static void round_trip(struct kp *k, const char *signer, const char *rcpt, int oaep)
{
    round_trip_keys(k, signer, rcpt, oaep, NULL, NULL);
}

/* SoftHSM2 holds carol's key (a token made here, SOFTHSM2_CONF set before the key process is
 * spawned); the key process reaches it through the pkcs11 engine and p11-kit. */
static int hsm_setup(void **state)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    char dir[512], conf[540], cmd[8192];
    snprintf(dir, sizeof dir, "%s/cms_keyproc_hsm", b ? b : ".");
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    snprintf(g_pinfile, sizeof g_pinfile, "%s/pin.txt", dir);
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir -p '%s/tokens' && printf 'directories.tokendir = %s/tokens\\n"
             "objectstore.backend = file\\nlog.level = ERROR\\n' > '%s' && echo 1234 > '%s' && "
             "SOFTHSM2_CONF='%s' softhsm2-util --init-token --free --label mixgate-test --pin 1234 "
             "--so-pin 5678 >/dev/null && SOFTHSM2_CONF='%s' softhsm2-util --import '%s/carol.key' "
             "--token mixgate-test --label gw --id 01 --pin 1234 >/dev/null",
             dir, dir, dir, conf, g_pinfile, conf, conf, g_pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make the SoftHSM2 token (softhsm2 installed?)\n");
        return -1;
    }
    setenv("SOFTHSM2_CONF", conf, 1);
    return kp_setup(state);
}

static void t_pkcs11_softhsm(void **state)
{
    static const char uri[] = "pkcs11:token=mixgate-test;object=gw;type=private";
    /* a wrong PIN (before any login: PKCS#11 login state is per process): refused */
    char bad[700], why[300];
    snprintf(bad, sizeof bad, "%s.bad", g_pinfile);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("9999\n", f);
    fclose(f);
    EVP_PKEY *pk = NULL;
    struct kp *k = *state;
    assert_int_equal(cms_keyproc_load_key(k->fd, uri, bad, &pk, why, sizeof why), MG_ENOKEY);
    assert_null(pk);
    /* the HSM key signs (inner and outer) and opens the envelope made for carol */
    round_trip_keys(*state, "carol", "carol", 0, uri, uri);
}

static void t_rsa_sign_and_key_transport(void **state)
{
    round_trip(*state, "alice", "carol", 0);
}

static void t_rsa_oaep(void **state)
{
    round_trip(*state, "carol", "alice", 1);
}

static void t_ec_sign_and_key_agreement(void **state)
{
    round_trip(*state, "bob", "bob", 0);
}

static long raw(int fd, const unsigned char *req, size_t len, unsigned char *out, size_t cap,
                int *status)
{
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    unsigned char hdr[CMS_KEYPROC_HDR];
    if (recv(fd, hdr, sizeof hdr, MSG_WAITALL) != (ssize_t)sizeof hdr)
        return -1;
    uint8_t st;
    size_t n;
    if (cms_keyproc_parse_header(hdr, &st, &n) || n > cap)
        return -1;
    if (n && recv(fd, out, n, MSG_WAITALL) != (ssize_t)n)
        return -1;
    *status = st;
    return (long)n;
}

static void t_refusals(void **state)
{
    struct kp *k = *state;
    unsigned char out[512];
    int st = -1;
    /* an RSA operation on the bootstrap connection (no key): refused, connection kept */
    assert_true(raw(k->fd, dec_ok, sizeof dec_ok, out, sizeof out, &st) > 0);
    assert_int_equal(st, CMS_KEYPROC_REFUSED);
    /* a malformed body: refused, connection kept */
    assert_true(raw(k->fd, load_nul, sizeof load_nul, out, sizeof out, &st) > 0);
    assert_int_equal(st, CMS_KEYPROC_REFUSED);
    /* a key that does not load */
    char why[300];
    EVP_PKEY *pk = NULL;
    assert_int_equal(cms_keyproc_load_key(k->fd, "/nonexistent.key", NULL, &pk, why, sizeof why),
                     MG_ENOKEY);
    assert_non_null(strstr(why, "cannot load"));
    /* a certificate is no key either */
    char p[700];
    pki(p, sizeof p, "ca.pem");
    assert_int_equal(cms_keyproc_load_key(k->fd, p, NULL, &pk, why, sizeof why), MG_ENOKEY);
    /* the bootstrap connection still serves */
    EVP_PKEY *ec = load_proxy(k, "bob.key");
    EVP_PKEY_free(ec);
    /* a broken frame (bad version) is answered and closes that connection only */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        cms_keyproc_serve(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    assert_true(raw(sv[0], bad_version, sizeof bad_version, out, sizeof out, &st) > 0);
    assert_int_equal(st, CMS_KEYPROC_REFUSED);
    /* closed: the server ended (a reset, as the rest of the broken frame went unread) */
    assert_true(recv(sv[0], out, 1, 0) <= 0);
    close(sv[0]);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

struct sign_job {
    EVP_PKEY *pk;
    X509 *cert;
    int ok;
};

static void *sign_many(void *arg)
{
    struct sign_job *j = arg;
    j->ok = 1;
    for (int i = 0; i < 20 && j->ok; i++) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        unsigned char sig[512];
        size_t sl = sizeof sig;
        j->ok = m && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, j->pk) > 0 &&
                EVP_DigestSign(m, sig, &sl, (const unsigned char *)MSG, sizeof MSG) > 0;
        EVP_MD_CTX_free(m);
        /* checked with the certificate's (real) public key */
        m = EVP_MD_CTX_new();
        j->ok = j->ok && m &&
                EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, X509_get0_pubkey(j->cert)) > 0 &&
                EVP_DigestVerify(m, sig, sl, (const unsigned char *)MSG, sizeof MSG) == 1;
        EVP_MD_CTX_free(m);
    }
    return NULL;
}

static void t_threads_share_a_key(void **state)
{
    struct kp *k = *state;
    struct sign_job jobs[4];
    pthread_t th[4];
    EVP_PKEY *rsa = load_proxy(k, "alice.key"), *ec = load_proxy(k, "bob.key");
    X509 *ac = cert("alice.pem"), *bc = cert("bob.pem");
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct sign_job){ .pk = i % 2 ? ec : rsa, .cert = i % 2 ? bc : ac };
        assert_int_equal(pthread_create(&th[i], NULL, sign_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(jobs[i].ok);
    }
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    X509_free(ac);
    X509_free(bc);
}

/* A reload that no longer needs the key process closes its bootstrap connection at once
 * (cms_keyproc_retire): the keys the old configuration holds still sign until it frees them,
 * and only then does the process end. */
static void t_keys_outlive_the_bootstrap(void **state)
{
    struct kp *k = *state;
    EVP_PKEY *rsa = load_proxy(k, "alice.key");
    X509 *ac = cert("alice.pem");
    cms_keyproc_retire(k->fd);
    k->fd = -1;
    struct sign_job j = { .pk = rsa, .cert = ac };
    sign_many(&j);
    assert_true(j.ok);
    assert_int_equal(cms_keyproc_reaped(k->pid), 0); /* a key is still out there */
    EVP_PKEY_free(rsa);
    X509_free(ac);
    int ws;
    assert_int_equal(waitpid(k->pid, &ws, 0), k->pid); /* ends by itself, nobody kills it */
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    k->pid = -1;
}

int main(void)
{
    const char *b = getenv("MIXGATE_BUILD_DIR");
    snprintf(g_pki, sizeof g_pki, "%s/test-vectors/crypto", b ? b : ".");
    struct CMUnitTest tests[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
        tests[n++] = (struct CMUnitTest){ parse_cases[i].name, run_parse_case, NULL, NULL,
                                          (void *)&parse_cases[i] };
    const struct CMUnitTest live[] = {
        cmocka_unit_test_setup_teardown(t_rsa_sign_and_key_transport, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_rsa_oaep, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_ec_sign_and_key_agreement, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_refusals, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_threads_share_a_key, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_keys_outlive_the_bootstrap, kp_setup, kp_teardown),
        cmocka_unit_test_setup_teardown(t_pkcs11_softhsm, hsm_setup, kp_teardown),
    };
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        tests[n++] = live[i];
    return _cmocka_run_group_tests("cms_keyproc", tests, n, NULL, NULL);
}
