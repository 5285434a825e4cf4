/* tls_io: OpenSSL through a pair of memory BIOs (see tls_io.h). OpenSSL does the TLS; this
 * file only moves bytes between the BIOs and the caller and turns OpenSSL's results into
 * MG_E* codes with a readable reason. */
#include "tls_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mg_err.h"

struct tls_io_ctx {
    SSL_CTX *ssl_ctx;
    int verify;
};

struct tls_io {
    SSL *ssl;
    BIO *rbio, *wbio;         /* owned by ssl after SSL_set_bio */
    int is_server;
    int hs_done;
    int verified;
    int verify;               /* fail the handshake when the peer does not verify */
    struct mg_buf early;      /* plaintext written before the handshake completed */
    char err[256];
};

static void set_ossl_err(struct tls_io *t, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[200] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(t->err, sizeof t->err, "%s%s%s", what, *buf ? ": " : "", buf);
    ERR_clear_error();
}

int tls_io_ctx_server_create(struct tls_io_ctx **out, const char *cert_file, const char *key_file)
{
    *out = NULL;
    if (!cert_file || !key_file)
        return MG_EINVAL;
    struct tls_io_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    c->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ssl_ctx) {
        free(c);
        return MG_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(c->ssl_ctx, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(c->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->ssl_ctx) != 1) {
        ERR_clear_error();
        SSL_CTX_free(c->ssl_ctx);
        free(c);
        return MG_ENOKEY;
    }
    *out = c;
    return 0;
}

int tls_io_ctx_client_create(struct tls_io_ctx **out, int verify, const char *ca_file)
{
    *out = NULL;
    struct tls_io_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx) {
        free(c);
        return MG_ENOMEM;
    }
    c->verify = verify;
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    int ok = ca_file ? SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
    if (ok != 1) {
        ERR_clear_error();
        SSL_CTX_free(c->ssl_ctx);
        free(c);
        return MG_ENOKEY;
    }
    /* With SSL_VERIFY_NONE OpenSSL still verifies and records the result, which we report as
     * tls_io_peer_verified(); with SSL_VERIFY_PEER a failure aborts the handshake. */
    SSL_CTX_set_verify(c->ssl_ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    *out = c;
    return 0;
}

void tls_io_ctx_free(struct tls_io_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

static int is_ip_literal(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

int tls_io_create(struct tls_io **out, struct tls_io_ctx *ctx, int is_server, const char *host)
{
    *out = NULL;
    if (!ctx)
        return MG_EINVAL;
    struct tls_io *t = calloc(1, sizeof *t);
    if (!t)
        return MG_ENOMEM;
    mg_buf_init(&t->early, 0);
    t->is_server = is_server;
    t->verify = ctx->verify;
    t->ssl = SSL_new(ctx->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        ERR_clear_error();
        return MG_ENOMEM;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (is_server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (host && *host) {
            if (is_ip_literal(host)) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
            } else {
                SSL_set_tlsext_host_name(t->ssl, host);
                SSL_set1_host(t->ssl, host);
            }
        }
        /* Queue the ClientHello now; the result is WANT_READ. */
        SSL_do_handshake(t->ssl);
        ERR_clear_error();
    }
    *out = t;
    return 0;
}

void tls_io_free(struct tls_io *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    mg_buf_free(&t->early);
    free(t);
}

static int handshake(struct tls_io *t)
{
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->hs_done = 1;
        X509 *peer = SSL_get0_peer_certificate(t->ssl);
        t->verified = peer && SSL_get_verify_result(t->ssl) == X509_V_OK;
        if (t->early.len) {
            int w = SSL_write(t->ssl, t->early.data, (int)t->early.len);
            mg_buf_free(&t->early);
            if (w <= 0) {
                set_ossl_err(t, "TLS write failed");
                return MG_ECRYPTO;
            }
        }
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    long vr = SSL_get_verify_result(t->ssl);
    if (!t->is_server && t->verify && vr != X509_V_OK) {
        snprintf(t->err, sizeof t->err, "certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return MG_EVERIFY;
    }
    set_ossl_err(t, "TLS handshake failed");
    return MG_ECRYPTO;
}

int tls_io_feed(struct tls_io *t, const void *data, size_t len, struct mg_buf *plain)
{
    ERR_clear_error();
    if (len > 0x7fffffff)
        return MG_ETOOBIG;
    if (len && BIO_write(t->rbio, data, (int)len) != (int)len) {
        set_ossl_err(t, "BIO_write failed");
        return MG_ENOMEM;
    }
    if (!t->hs_done) {
        int rc = handshake(t);
        if (rc || !t->hs_done)
            return rc;
    }
    unsigned char buf[16384];
    for (;;) {
        int n = SSL_read(t->ssl, buf, sizeof buf);
        if (n > 0) {
            int rc = mg_buf_append(plain, buf, (size_t)n);
            if (rc)
                return rc;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN)
            return MG_ECLOSED;
        set_ossl_err(t, "TLS read failed");
        return MG_ECRYPTO;
    }
}

int tls_io_write(struct tls_io *t, const void *data, size_t len)
{
    if (!len)
        return 0;
    if (!t->hs_done)
        return mg_buf_append(&t->early, data, len);
    ERR_clear_error();
    const unsigned char *p = data;
    while (len) {
        int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
        int w = SSL_write(t->ssl, p, chunk);
        if (w <= 0) {
            set_ossl_err(t, "TLS write failed");
            return MG_ECRYPTO;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void tls_io_shutdown(struct tls_io *t)
{
    if (t->hs_done)
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

size_t tls_io_output_pending(const struct tls_io *t) { return BIO_ctrl_pending(t->wbio); }

unsigned char *tls_io_take_output(struct tls_io *t, size_t *len)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    *len = 0;
    if (!n || n > 0x7fffffff)
        return NULL;
    unsigned char *b = malloc(n);
    if (!b)
        return NULL;
    int r = BIO_read(t->wbio, b, (int)n);
    if (r <= 0) {
        free(b);
        return NULL;
    }
    *len = (size_t)r;
    return b;
}

int tls_io_handshake_done(const struct tls_io *t) { return t->hs_done; }
int tls_io_peer_verified(const struct tls_io *t) { return t->verified; }

const char *tls_io_version(const struct tls_io *t)
{
    return t->hs_done ? SSL_get_version(t->ssl) : "";
}

const char *tls_io_cipher(const struct tls_io *t)
{
    return t->hs_done ? SSL_get_cipher_name(t->ssl) : "";
}

const char *tls_io_last_error(const struct tls_io *t) { return t->err; }
