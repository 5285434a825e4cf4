/* cms_keyproc_server: the key process (see cms_keyproc.h). One poll loop over the bootstrap
 * connection (LOAD requests) and one connection per loaded key (private-key operations with
 * that key only). Requests are served one at a time; a malformed request is answered REFUSED
 * (a broken frame closes that connection). The process ends when the daemon's end closes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_keyproc.h"
#include "cms_keys.h"
#include "mg_err.h"
#include "mg_log.h"

#define MAX_CONNS 256

struct kconn {
    int fd;
    EVP_PKEY *key;  /* owned; NULL = the bootstrap connection */
};

static int io_full(int fd, void *buf, size_t n, int writing)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = writing ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return MG_EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One response; with pass_fd >= 0 that fd travels with the header (SCM_RIGHTS). */
static int respond(int fd, uint8_t status, const void *body, size_t len, int pass_fd)
{
    unsigned char hdr[CMS_KEYPROC_HDR];
    cms_keyproc_put_header(hdr, status, len);
    if (pass_fd < 0) {
        if (io_full(fd, hdr, sizeof hdr, 1))
            return MG_EIO;
    } else {
        struct iovec iov = { .iov_base = hdr, .iov_len = sizeof hdr };
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof u);
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof u.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        ssize_t r;
        do
            r = sendmsg(fd, &m, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)sizeof hdr)
            return MG_EIO;
    }
    return len ? io_full(fd, (void *)body, len, 1) : 0;
}

static int refuse(int fd, uint8_t status, const char *why)
{
    return respond(fd, status, why, strlen(why), -1);
}

static int do_load(struct kconn *conns, size_t *n, int fd, const struct cms_keyproc_req *q)
{
    char pass[256] = "";
    EVP_PKEY *k = NULL;
    int rc = 0;
    if (q->passfile[0] && (rc = cms_keys_read_pass(q->passfile, pass, sizeof pass)) != 0)
        return refuse(fd, CMS_KEYPROC_FAILED, "cannot read the passphrase file");
    rc = cms_keys_load_key(q->path, q->passfile[0] ? pass : NULL, &k);
    OPENSSL_cleanse(pass, sizeof pass);
    if (rc)
        return refuse(fd, CMS_KEYPROC_FAILED, mg_strerror(rc));
    if (!EVP_PKEY_is_a(k, "RSA") && !EVP_PKEY_is_a(k, "EC")) {
        EVP_PKEY_free(k);
        return refuse(fd, CMS_KEYPROC_FAILED, "only RSA and EC keys");
    }
    unsigned char *spki = NULL;
    int sl = i2d_PUBKEY(k, &spki);
    int sv[2];
    if (sl <= 0 || *n >= MAX_CONNS || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        OPENSSL_free(spki);
        EVP_PKEY_free(k);
        return refuse(fd, CMS_KEYPROC_FAILED, "no resources for another key");
    }
    rc = respond(fd, CMS_KEYPROC_OK, spki, (size_t)sl, sv[1]);
    close(sv[1]);
    OPENSSL_free(spki);
    if (rc) {
        close(sv[0]);
        EVP_PKEY_free(k);
        return rc;
    }
    conns[*n].fd = sv[0];
    conns[*n].key = k;
    (*n)++;
    return 0;
}

/* One private-key operation with the connection's key. */
static int do_op(struct kconn *kc, const struct cms_keyproc_req *q)
{
    EVP_PKEY *k = kc->key;
    int is_rsa = EVP_PKEY_is_a(k, "RSA");
    if ((q->type == CMS_KEYPROC_RSA_PRIV_DEC || q->type == CMS_KEYPROC_RSA_PRIV_ENC) != is_rsa)
        return refuse(kc->fd, CMS_KEYPROC_REFUSED, "operation does not fit the key type");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    EVP_PKEY *peer = NULL;
    unsigned char *out = NULL;
    size_t outlen = 0;
    int ok = ctx != NULL;
    switch (q->type) {
    case CMS_KEYPROC_RSA_PRIV_DEC:
        ok = ok && EVP_PKEY_decrypt_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, (int)q->padding) > 0 &&
             EVP_PKEY_decrypt(ctx, NULL, &outlen, q->data, q->len) > 0 &&
             (out = OPENSSL_malloc(outlen ? outlen : 1)) &&
             EVP_PKEY_decrypt(ctx, out, &outlen, q->data, q->len) > 0;
        break;
    case CMS_KEYPROC_RSA_PRIV_ENC:
    case CMS_KEYPROC_ECDSA_SIGN:
        ok = ok && EVP_PKEY_sign_init(ctx) > 0 &&
             (q->type != CMS_KEYPROC_RSA_PRIV_ENC ||
              EVP_PKEY_CTX_set_rsa_padding(ctx, (int)q->padding) > 0) &&
             EVP_PKEY_sign(ctx, NULL, &outlen, q->data, q->len) > 0 &&
             (out = OPENSSL_malloc(outlen ? outlen : 1)) &&
             EVP_PKEY_sign(ctx, out, &outlen, q->data, q->len) > 0;
        break;
    case CMS_KEYPROC_ECDH: {
        const unsigned char *p = q->data;
        peer = d2i_PUBKEY(NULL, &p, (long)q->len);
        ok = ok && peer && p == q->data + q->len && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_derive_set_peer(ctx, peer) > 0 && EVP_PKEY_derive(ctx, NULL, &outlen) > 0 &&
             (out = OPENSSL_malloc(outlen ? outlen : 1)) && EVP_PKEY_derive(ctx, out, &outlen) > 0;
        break;
    }
    default:
        ok = 0;
        break;
    }
    int rc = ok ? respond(kc->fd, CMS_KEYPROC_OK, out, outlen, -1)
                : refuse(kc->fd, CMS_KEYPROC_FAILED, "the key operation failed");
    if (out)
        OPENSSL_clear_free(out, outlen);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* Reads and serves one request on conns[i]; nonzero closes the connection. */
static int serve_one(struct kconn *conns, size_t *n, size_t i)
{
    unsigned char *buf = malloc(CMS_KEYPROC_HDR + CMS_KEYPROC_MAX_BODY);
    if (!buf)
        return MG_ENOMEM;
    int fd = conns[i].fd;
    uint8_t type;
    size_t blen;
    int rc = io_full(fd, buf, CMS_KEYPROC_HDR, 0);
    if (!rc && (rc = cms_keyproc_parse_header(buf, &type, &blen)) != 0) {
        /* the frame is lost: say why, then close */
        refuse(fd, CMS_KEYPROC_REFUSED, "malformed request header");
    } else if (!rc && !(rc = io_full(fd, buf + CMS_KEYPROC_HDR, blen, 0))) {
        struct cms_keyproc_req *q = malloc(sizeof *q);
        if (!q)
            rc = MG_ENOMEM;
        else if (cms_keyproc_parse_request(buf, CMS_KEYPROC_HDR + blen, q) != 0)
            rc = refuse(fd, CMS_KEYPROC_REFUSED, "malformed request");
        else if ((q->type == CMS_KEYPROC_LOAD) != (conns[i].key == NULL))
            rc = refuse(fd, CMS_KEYPROC_REFUSED, "request not allowed on this connection");
        else if (q->type == CMS_KEYPROC_LOAD)
            rc = do_load(conns, n, fd, q);
        else
            rc = do_op(&conns[i], q);
        free(q);
    }
    OPENSSL_cleanse(buf, CMS_KEYPROC_HDR + CMS_KEYPROC_MAX_BODY);
    free(buf);
    return rc;
}

void cms_keyproc_serve(int fd)
{
    struct kconn conns[MAX_CONNS];
    struct pollfd pf[MAX_CONNS];
    size_t n = 1;
    conns[0].fd = fd;
    conns[0].key = NULL;
    while (n > 0 && conns[0].fd >= 0) {
        for (size_t i = 0; i < n; i++) {
            pf[i].fd = conns[i].fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        if (poll(pf, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t polled = n;
        for (size_t i = 0; i < polled; i++) {
            if (!pf[i].revents)
                continue;
            if (serve_one(conns, &n, i) != 0) {
                close(conns[i].fd);
                EVP_PKEY_free(conns[i].key);
                conns[i].fd = -1;
                conns[i].key = NULL;
            }
        }
        /* drop closed key connections (the bootstrap one ends the loop) */
        size_t k = 1;
        for (size_t i = 1; i < n; i++)
            if (conns[i].fd >= 0)
                conns[k++] = conns[i];
        n = conns[0].fd >= 0 ? k : 0;
    }
    for (size_t i = 1; i < n; i++) {
        close(conns[i].fd);
        EVP_PKEY_free(conns[i].key);
    }
}

int cms_keyproc_spawn(int *fd, pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return MG_EIO;
    pid_t p = fork();
    if (p < 0) {
        close(sv[0]);
        close(sv[1]);
        return MG_EIO;
    }
    if (p == 0) {
        /* the key process: outlives the daemon's orderly stop until its end closes */
        close(sv[0]);
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        cms_keyproc_serve(sv[1]);
        _exit(0); /* nothing of the parent's to flush or to check for leaks */
    }
    close(sv[1]);
    *fd = sv[0];
    *pid = p;
    return 0;
}

void cms_keyproc_stop(int fd, pid_t pid)
{
    if (fd >= 0)
        close(fd);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}
