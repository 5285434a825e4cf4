/* cms_keyproc_client: the daemon's side of the key process (see cms_keyproc.h): a proxy
 * EVP_PKEY per loaded key that holds the public key only and sends every private-key
 * operation to the key process over the key's own connection.
 *
 * OpenSSL 3.0 offers two ways to put a private-key operation elsewhere: a provider (a whole
 * key-management and signature/asym-cipher/key-exchange implementation, several hundred lines)
 * or the legacy RSA_METHOD / EC_KEY_METHOD hooks, which 3.0 still honours for "foreign" keys
 * through its legacy code path. We use the hooks (deprecated in 3.0, hence the suppression
 * below, confined to this file): priv_dec and priv_enc are exactly the raw operations CMS key
 * transport and PKCS#1/PSS signing reduce to; ECDSA sign and ECDH compute_key those of EC. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_keyproc.h"
#include "mg_err.h"

/* Connections per key: the pool threads that process groups at once (queue.max_processing,
 * 4 by default) each find one free, and the key process serves each in its own thread. */
#define KP_LANES 4

/* One key's connections; owned by the proxy key (freed by the method's finish). */
struct kp_conn {
    int fd[KP_LANES];
    pthread_mutex_t lock[KP_LANES]; /* one request at a time per connection */
    int nlanes;
    unsigned next;                  /* where the next request starts looking (a hint) */
    RSA_METHOD *rsa_meth;           /* owned, or NULL */
    EC_KEY_METHOD *ec_meth;         /* owned, or NULL */
};


/* Sends one request and reads the answer into out (at most outcap bytes). Returns the answer's
 * length, or -1. With fdout, an fd that came with the answer is stored there. */
static long exchange(int fd, uint8_t type, const void *body, size_t len, unsigned char *out,
                     size_t outcap, int *status, int *fdout)
{
    unsigned char hdr[CMS_KEYPROC_HDR];
    cms_keyproc_put_header(hdr, type, len);
    if (cms_keyproc_io_full(fd, hdr, sizeof hdr, 1) ||
        (len && cms_keyproc_io_full(fd, (void *)body, len, 1)))
        return -1;
    if (fdout) {
        *fdout = -1;
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = hdr, .iov_len = sizeof hdr };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof u.buf };
        ssize_t r;
        do
            r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)sizeof hdr)
            return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                c->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(fdout, CMSG_DATA(c), sizeof(int));
    } else if (cms_keyproc_io_full(fd, hdr, sizeof hdr, 0)) {
        return -1;
    }
    uint8_t st;
    size_t n;
    if (cms_keyproc_parse_header(hdr, &st, &n) || n > outcap) {
        if (fdout && *fdout >= 0)
            close(*fdout);
        return -1;
    }
    if (n && cms_keyproc_io_full(fd, out, n, 0))
        return -1;
    *status = st;
    return (long)n;
}

/* One private-key operation on conn: returns the result length or -1. */
static long op(struct kp_conn *c, uint8_t type, const unsigned char *pre, size_t prelen,
               const unsigned char *data, size_t len, unsigned char *out, size_t outcap)
{
    unsigned char body[CMS_KEYPROC_MAX_BODY];
    if (!c || prelen + len > sizeof body)
        return -1;
    if (prelen)
        memcpy(body, pre, prelen);
    memcpy(body + prelen, data, len);
    unsigned char res[CMS_KEYPROC_MAX_BODY];
    int status = -1;
    /* a free connection if there is one, else wait for the one the hint names */
    unsigned start = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
    int lane = -1;
    for (int i = 0; i < c->nlanes && lane < 0; i++) {
        int k = (int)((start + (unsigned)i) % (unsigned)c->nlanes);
        if (pthread_mutex_trylock(&c->lock[k]) == 0)
            lane = k;
    }
    if (lane < 0) {
        lane = (int)(start % (unsigned)c->nlanes);
        pthread_mutex_lock(&c->lock[lane]);
    }
    long n = exchange(c->fd[lane], type, body, prelen + len, res, sizeof res, &status, NULL);
    pthread_mutex_unlock(&c->lock[lane]);
    if (n < 0 || status != CMS_KEYPROC_OK || (size_t)n > outcap)
        return -1;
    memcpy(out, res, (size_t)n);
    OPENSSL_cleanse(res, (size_t)n);
    return n;
}

static void conn_free(struct kp_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nlanes; i++) {
        close(c->fd[i]);
        pthread_mutex_destroy(&c->lock[i]);
    }
    if (c->rsa_meth)
        RSA_meth_free(c->rsa_meth);
    if (c->ec_meth) /* EC_KEY_METHOD_free(NULL) crashes in 3.0 */
        EC_KEY_METHOD_free(c->ec_meth);
    free(c);
}

/* ---- RSA ------------------------------------------------------------------------------- */

static int rsa_priv(int type, int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                    int padding)
{
    struct kp_conn *c = RSA_get_app_data(rsa);
    if (flen <= 0 || (padding != RSA_PKCS1_PADDING && padding != RSA_NO_PADDING))
        return -1;
    unsigned char pre[4] = { 0, 0, 0, (unsigned char)padding };
    long n = op(c, (uint8_t)type, pre, 4, from, (size_t)flen, to, (size_t)RSA_size(rsa));
    return n < 0 ? -1 : (int)n;
}

static int rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int pad)
{
    return rsa_priv(CMS_KEYPROC_RSA_PRIV_DEC, flen, from, to, rsa, pad);
}

static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int pad)
{
    return rsa_priv(CMS_KEYPROC_RSA_PRIV_ENC, flen, from, to, rsa, pad);
}

static int rsa_finish(RSA *rsa)
{
    struct kp_conn *c = RSA_get_app_data(rsa);
    int (*orig)(RSA *) = RSA_meth_get_finish(RSA_PKCS1_OpenSSL());
    if (orig)
        orig(rsa);
    RSA_set_app_data(rsa, NULL);
    conn_free(c);   /* frees the method too: RSA_free does not touch it after finish */
    return 1;
}

static EVP_PKEY *rsa_proxy(EVP_PKEY *pub, struct kp_conn *c)
{
    BIGNUM *n = NULL, *e = NULL;
    RSA *rsa = NULL;
    EVP_PKEY *pk = NULL;
    if (!EVP_PKEY_get_bn_param(pub, "n", &n) || !EVP_PKEY_get_bn_param(pub, "e", &e) ||
        !(c->rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) ||
        !RSA_meth_set1_name(c->rsa_meth, "mixgate key process") ||
        !RSA_meth_set_priv_dec(c->rsa_meth, rsa_priv_dec) ||
        !RSA_meth_set_priv_enc(c->rsa_meth, rsa_priv_enc) ||
        !RSA_meth_set_finish(c->rsa_meth, rsa_finish) || !(rsa = RSA_new()) ||
        !RSA_set0_key(rsa, n, e, NULL)) {
        BN_free(n);
        BN_free(e);
        RSA_free(rsa);
        return NULL;
    }
    /* from here the RSA owns n, e and (through finish) the connection */
    RSA_set_method(rsa, c->rsa_meth);
    RSA_set_app_data(rsa, c);
    if (!(pk = EVP_PKEY_new()) || !EVP_PKEY_assign_RSA(pk, rsa)) {
        EVP_PKEY_free(pk);
        RSA_free(rsa);
        return (EVP_PKEY *)-1; /* c already freed */
    }
    return pk;
}

/* ---- EC -------------------------------------------------------------------------------- */

static int ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                   unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
    (void)type;
    (void)kinv;
    (void)r;
    struct kp_conn *c = EC_KEY_get_ex_data(ec, 0);
    if (dlen <= 0)
        return 0;
    long n = op(c, CMS_KEYPROC_ECDSA_SIGN, NULL, 0, dgst, (size_t)dlen, sig,
                (size_t)ECDSA_size(ec));
    if (n < 0)
        return 0;
    *siglen = (unsigned)n;
    return 1;
}

static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                              const BIGNUM *r, EC_KEY *ec)
{
    unsigned char der[256];
    unsigned int len = 0;
    if ((size_t)ECDSA_size(ec) > sizeof der || !ec_sign(0, dgst, dlen, der, &len, kinv, r, ec))
        return NULL;
    const unsigned char *p = der;
    return d2i_ECDSA_SIG(NULL, &p, (long)len);
}

static int ec_compute_key(unsigned char **psec, size_t *pseclen, const EC_POINT *pub,
                          const EC_KEY *ec)
{
    struct kp_conn *c = EC_KEY_get_ex_data(ec, 0);
    EC_KEY *peer = EC_KEY_new();
    unsigned char *spki = NULL;
    int sl = -1;
    if (peer && EC_KEY_set_group(peer, EC_KEY_get0_group(ec)) && EC_KEY_set_public_key(peer, pub))
        sl = i2d_EC_PUBKEY(peer, &spki);
    EC_KEY_free(peer);
    if (sl <= 0)
        return 0;
    unsigned char out[256];
    long n = op(c, CMS_KEYPROC_ECDH, NULL, 0, spki, (size_t)sl, out, sizeof out);
    OPENSSL_free(spki);
    if (n <= 0 || !(*psec = OPENSSL_malloc((size_t)n)))
        return 0;
    memcpy(*psec, out, (size_t)n);
    OPENSSL_cleanse(out, sizeof out);
    *pseclen = (size_t)n;
    return 1;
}

static void ec_finish(EC_KEY *ec)
{
    struct kp_conn *c = EC_KEY_get_ex_data(ec, 0);
    void (*orig)(EC_KEY *) = NULL;
    EC_KEY_METHOD_get_init(EC_KEY_OpenSSL(), NULL, &orig, NULL, NULL, NULL, NULL);
    if (orig)
        orig(ec);
    EC_KEY_set_ex_data(ec, 0, NULL);
    conn_free(c);
}

/* A copy would share the connection without owning it: refused. */
static int ec_copy(EC_KEY *dst, const EC_KEY *src)
{
    (void)dst;
    (void)src;
    return 0;
}

static EVP_PKEY *ec_proxy(EVP_PKEY *pub, struct kp_conn *c)
{
    const EC_KEY *src = EVP_PKEY_get0_EC_KEY(pub);
    EC_KEY *ec = NULL;
    EVP_PKEY *pk = NULL;
    int (*init)(EC_KEY *) = NULL;
    int (*set_group)(EC_KEY *, const EC_GROUP *) = NULL;
    int (*set_private)(EC_KEY *, const BIGNUM *) = NULL;
    int (*set_public)(EC_KEY *, const EC_POINT *) = NULL;
    if (!src || !(c->ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())))
        return NULL;
    EC_KEY_METHOD_get_init(EC_KEY_OpenSSL(), &init, NULL, NULL, &set_group, &set_private,
                           &set_public);
    EC_KEY_METHOD_set_init(c->ec_meth, init, ec_finish, ec_copy, set_group, set_private,
                           set_public);
    EC_KEY_METHOD_set_sign(c->ec_meth, ec_sign, NULL, ec_sign_sig);
    EC_KEY_METHOD_set_compute_key(c->ec_meth, ec_compute_key);
    if (!(ec = EC_KEY_new()) || !EC_KEY_set_group(ec, EC_KEY_get0_group(src)) ||
        !EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(src))) {
        EC_KEY_free(ec);
        return NULL;
    }
    if (!EC_KEY_set_method(ec, c->ec_meth) || !EC_KEY_set_ex_data(ec, 0, c)) {
        EC_KEY_free(ec);
        return NULL;
    }
    if (!(pk = EVP_PKEY_new()) || !EVP_PKEY_assign_EC_KEY(pk, ec)) {
        EVP_PKEY_free(pk);
        EC_KEY_free(ec);
        return (EVP_PKEY *)-1; /* c already freed */
    }
    return pk;
}

/* ---- loading ---------------------------------------------------------------------------- */

int cms_keyproc_env_fd(void)
{
    const char *v = getenv(CMS_KEYPROC_ENV);
    if (!v || !*v)
        return -1;
    char *end;
    long fd = strtol(v, &end, 10);
    return *end || fd < 0 || fd > 65535 ? -1 : (int)fd;
}

static int put_path(unsigned char *b, size_t *o, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > CMS_KEYPROC_MAX_PATH)
        return MG_EINVAL;
    b[(*o)++] = (unsigned char)(n >> 8);
    b[(*o)++] = (unsigned char)n;
    memcpy(b + *o, s ? s : "", n);
    *o += n;
    return 0;
}

/* One LOAD: the public key (DER, into spki) and a new connection (kfd). */
static int load_once(int fd, const unsigned char *body, size_t len, unsigned char *spki,
                     size_t cap, long *spkilen, int *kfd, char *why, size_t whylen)
{
    int status = -1;
    long n = exchange(fd, CMS_KEYPROC_LOAD, body, len, spki, cap - 1, &status, kfd);
    if (n < 0) {
        snprintf(why, whylen, "the key process does not answer");
        return MG_EIO;
    }
    if (status != CMS_KEYPROC_OK || *kfd < 0) {
        if (*kfd >= 0)
            close(*kfd);
        *kfd = -1;
        spki[n] = 0;
        snprintf(why, whylen, "the key process cannot load it: %s", (char *)spki);
        return MG_ENOKEY;
    }
    *spkilen = n;
    return 0;
}

int cms_keyproc_load_key(int fd, const char *path, const char *passfile, EVP_PKEY **out,
                         char *why, size_t whylen)
{
    unsigned char body[2 * (CMS_KEYPROC_MAX_PATH + 2)];
    size_t len = 0;
    if (put_path(body, &len, path) || put_path(body, &len, passfile)) {
        snprintf(why, whylen, "path too long");
        return MG_EINVAL;
    }
    struct kp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    unsigned char spki[CMS_KEYPROC_MAX_BODY], more[CMS_KEYPROC_MAX_BODY];
    long sl = 0, ml = 0;
    int rc = 0;
    for (int i = 0; !rc && i < KP_LANES; i++) {
        int kfd = -1;
        rc = load_once(fd, body, len, i ? more : spki, sizeof spki, i ? &ml : &sl, &kfd, why,
                       whylen);
        if (!rc && i && (ml != sl || memcmp(more, spki, (size_t)sl))) {
            snprintf(why, whylen, "the key changed between loads");
            rc = MG_ENOKEY;
        }
        if (!rc && pthread_mutex_init(&c->lock[i], NULL))
            rc = MG_ENOMEM;
        if (rc) {
            if (kfd >= 0)
                close(kfd);
            break;
        }
        c->fd[c->nlanes++] = kfd;
    }
    const unsigned char *p = spki;
    EVP_PKEY *pub = rc ? NULL : d2i_PUBKEY(NULL, &p, sl);
    if (!rc && !pub) {
        snprintf(why, whylen, "bad public key from the key process");
        rc = MG_EPARSE;
    }
    if (rc) {
        conn_free(c);
        ERR_clear_error();
        return rc;
    }
    EVP_PKEY *pk = EVP_PKEY_is_a(pub, "RSA") ? rsa_proxy(pub, c) : ec_proxy(pub, c);
    EVP_PKEY_free(pub);
    ERR_clear_error();
    if (pk == (EVP_PKEY *)-1)
        return MG_ENOMEM;
    if (!pk) {
        conn_free(c);
        return MG_ENOMEM;
    }
    *out = pk;
    why[0] = 0;
    return 0;
}
