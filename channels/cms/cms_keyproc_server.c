/* cms_keyproc_server: the key process (see cms_keyproc.h). The main thread serves the
 * bootstrap connection (LOAD requests); every loaded key gets its own connection served by its
 * own thread (private-key operations with that key only), so operations run in parallel. A
 * malformed request is answered REFUSED (a broken frame closes that connection). The process
 * ends when the daemon's end of the bootstrap connection and every key connection are closed:
 * a reload that no longer needs keys closes the bootstrap at once, while the configuration it
 * replaces may still sign and decrypt with its keys until its last message is done. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* close_range */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_keyproc.h"
#include "cms_keyproc_int.h"
#include "cms_keys.h"
#include "mg_err.h"
#include "mg_log.h"

#define MAX_KEY_CONNS 256

/* The key process's state: the number of key connections being served (each by its thread). */
struct kp_server {
    pthread_mutex_t lock;
    pthread_cond_t idle;      /* signalled when nconns drops to 0 */
    unsigned nconns;
};

/* One key connection, served by its own thread until it closes: the operations of several
 * keys, and of several connections to one key, run in parallel (on every core). */
struct kconn {
    int fd;
    EVP_PKEY *key;            /* owned */
    struct kp_server *srv;
};


/* One response; with pass_fd >= 0 that fd travels with the header (SCM_RIGHTS). */
static int respond(int fd, uint8_t status, const void *body, size_t len, int pass_fd)
{
    unsigned char hdr[CMS_KEYPROC_HDR];
    cms_keyproc_put_header(hdr, status, len);
    if (pass_fd < 0) {
        if (cms_keyproc_io_full(fd, hdr, sizeof hdr, 1))
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
    return len ? cms_keyproc_io_full(fd, (void *)body, len, 1) : 0;
}

static int refuse(int fd, uint8_t status, const char *why)
{
    return respond(fd, status, why, strlen(why), -1);
}

static int serve_one(int fd, EVP_PKEY *key, struct kp_server *srv);

static void *key_thread(void *arg)
{
    struct kconn *kc = arg;
    while (serve_one(kc->fd, kc->key, kc->srv) == 0)
        ;
    close(kc->fd);
    EVP_PKEY_free(kc->key);
    pthread_mutex_lock(&kc->srv->lock);
    if (--kc->srv->nconns == 0)
        pthread_cond_signal(&kc->srv->idle);
    pthread_mutex_unlock(&kc->srv->lock);
    free(kc);
    return NULL;
}

static int do_load(struct kp_server *srv, int fd, const struct cms_keyproc_req *q)
{
    char pass[256] = "";
    EVP_PKEY *k = NULL;
    int rc = 0;
    if (q->passfile[0] && (rc = cms_keys_read_pass(q->passfile, pass, sizeof pass)) != 0)
        return refuse(fd, CMS_KEYPROC_FAILED, "cannot read the passphrase file");
    if (cms_keyproc_is_pkcs11(q->path))
        rc = cms_keyproc_load_pkcs11(q->path, q->passfile[0] ? pass : NULL, &k);
    else
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
    int sv[2] = { -1, -1 };
    struct kconn *kc = calloc(1, sizeof *kc);
    pthread_mutex_lock(&srv->lock);
    bool room = srv->nconns < MAX_KEY_CONNS;
    if (room)
        srv->nconns++;
    pthread_mutex_unlock(&srv->lock);
    if (sl <= 0 || !kc || !room || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        OPENSSL_free(spki);
        EVP_PKEY_free(k);
        free(kc);
        if (room) {
            pthread_mutex_lock(&srv->lock);
            srv->nconns--;
            pthread_mutex_unlock(&srv->lock);
        }
        return refuse(fd, CMS_KEYPROC_FAILED, "no resources for another key");
    }
    *kc = (struct kconn){ .fd = sv[0], .key = k, .srv = srv };
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, key_thread, kc)) {
        pthread_attr_destroy(&at);
        close(sv[0]);
        close(sv[1]);
        OPENSSL_free(spki);
        EVP_PKEY_free(k);
        free(kc);
        pthread_mutex_lock(&srv->lock);
        srv->nconns--;
        pthread_mutex_unlock(&srv->lock);
        return refuse(fd, CMS_KEYPROC_FAILED, "no resources for another key");
    }
    pthread_attr_destroy(&at);
    rc = respond(fd, CMS_KEYPROC_OK, spki, (size_t)sl, sv[1]);
    close(sv[1]); /* the daemon has its end now (or the thread sees EOF and ends) */
    OPENSSL_free(spki);
    return rc;
}

/* One private-key operation with the connection's key. */
static int do_op(int fd, EVP_PKEY *k, const struct cms_keyproc_req *q)
{
    int is_rsa = EVP_PKEY_is_a(k, "RSA");
    if ((q->type == CMS_KEYPROC_RSA_PRIV_DEC || q->type == CMS_KEYPROC_RSA_PRIV_ENC) != is_rsa)
        return refuse(fd, CMS_KEYPROC_REFUSED, "operation does not fit the key type");
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
    int rc = ok ? respond(fd, CMS_KEYPROC_OK, out, outlen, -1)
                : refuse(fd, CMS_KEYPROC_FAILED, "the key operation failed");
    if (out)
        OPENSSL_clear_free(out, outlen);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* Reads and serves one request on fd (key NULL: the bootstrap connection, where only LOAD is
 * allowed; else a key connection, where only that key's operations are); nonzero closes it. */
static int serve_one(int fd, EVP_PKEY *key, struct kp_server *srv)
{
    unsigned char *buf = malloc(CMS_KEYPROC_HDR + CMS_KEYPROC_MAX_BODY);
    if (!buf)
        return MG_ENOMEM;
    uint8_t type;
    size_t blen;
    int rc = cms_keyproc_io_full(fd, buf, CMS_KEYPROC_HDR, 0);
    if (!rc && (rc = cms_keyproc_parse_header(buf, &type, &blen)) != 0) {
        /* the frame is lost: say why, then close */
        refuse(fd, CMS_KEYPROC_REFUSED, "malformed request header");
    } else if (!rc && !(rc = cms_keyproc_io_full(fd, buf + CMS_KEYPROC_HDR, blen, 0))) {
        struct cms_keyproc_req *q = malloc(sizeof *q);
        if (!q)
            rc = MG_ENOMEM;
        else if (cms_keyproc_parse_request(buf, CMS_KEYPROC_HDR + blen, q) != 0)
            rc = refuse(fd, CMS_KEYPROC_REFUSED, "malformed request");
        else if ((q->type == CMS_KEYPROC_LOAD) != (key == NULL))
            rc = refuse(fd, CMS_KEYPROC_REFUSED, "request not allowed on this connection");
        else if (q->type == CMS_KEYPROC_LOAD)
            rc = do_load(srv, fd, q);
        else
            rc = do_op(fd, key, q);
        free(q);
    }
    OPENSSL_cleanse(buf, CMS_KEYPROC_HDR + CMS_KEYPROC_MAX_BODY);
    free(buf);
    return rc;
}

void cms_keyproc_serve(int fd)
{
    struct kp_server srv = { .nconns = 0 };
    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.idle, NULL);
    while (serve_one(fd, NULL, &srv) == 0)
        ;
    close(fd);
    /* no new key now; the keys already handed out stay usable until their holders close them */
    pthread_mutex_lock(&srv.lock);
    while (srv.nconns > 0)
        pthread_cond_wait(&srv.idle, &srv.lock);
    pthread_mutex_unlock(&srv.lock);
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

int cms_keyproc_spawn_exec(const char *exe, const char *flag, int *fd, pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return MG_EIO;
    /* everything the child needs is made before the fork: it only clears one flag and execs */
    char fdtext[16];
    snprintf(fdtext, sizeof fdtext, "%d", sv[1]);
    char *const argv[] = { (char *)exe, (char *)flag, fdtext, NULL };
    pid_t p = fork();
    if (p < 0) {
        close(sv[0]);
        close(sv[1]);
        return MG_EIO;
    }
    if (p == 0) {
        if (fcntl(sv[1], F_SETFD, 0) == 0)
            execv(exe, argv);
        _exit(127);
    }
    close(sv[1]);
    *fd = sv[0];
    *pid = p;
    return 0;
}

void cms_keyproc_main(int fd)
{
    /* nothing of the daemon's but our socket: a leaked fd (a listener, the queue) must not
     * outlive the daemon in here */
    if (fd > 3)
        close_range(3, (unsigned)fd - 1, 0);
    close_range((unsigned)fd + 1, ~0u, 0);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    /* Private-key operations are the gateway's bulk CPU work (an RSA-2048 signature or key
     * unwrap per message); the daemon's loop, which answers SMTP and P1 and commits the queue,
     * is latency. On a busy machine the loop must not wait behind them: measured with
     * bench/cms-relay at load 7 on two cores, acceptance of signed-and-encrypted mail went from
     * 2.5-3 s to 0.9-1.6 s per 2,000 messages. The operations still run (as soon as a core is
     * free); the threads made later inherit the value. */
    errno = 0;
    if (nice(CMS_KEYPROC_NICE) == -1 && errno)
        mg_warn("event=keyproc_nice_failed error=\"%s\"", strerror(errno));
    cms_keyproc_serve(fd);
}

void cms_keyproc_retire(int fd)
{
    if (fd >= 0)
        close(fd);
}

int cms_keyproc_reaped(pid_t pid)
{
    pid_t r;
    do
        r = waitpid(pid, NULL, WNOHANG);
    while (r < 0 && errno == EINTR);
    return r == pid || (r < 0 && errno == ECHILD);
}

void cms_keyproc_stop(int fd, pid_t pid)
{
    if (fd >= 0)
        close(fd);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}
