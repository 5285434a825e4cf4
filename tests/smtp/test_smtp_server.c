/* test_smtp_server: the SMTP server over real loopback sockets. The server runs on a libuv
 * loop in the test's main thread; each case's client runs in a second thread with blocking
 * sockets (and OpenSSL for STARTTLS), or is swaks, a real SMTP client. Messages are completed
 * asynchronously from a timer, as the queue manager would after an fsync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mg_err.h"
#include "smtp_server.h"
#include "tls_io.h"

#define MAXTXN 16

struct fixture {
    uv_loop_t loop;
    struct smtp_server *srv;
    uv_async_t done_async;
    uv_timer_t complete_timer;
    unsigned complete_delay_ms;
    struct smtp_server_txn *txns[MAXTXN];
    int ntxn;
    struct smtp_envelope last;      /* copy of the last message's interesting fields */
    char last_body[4096];
    int nmsg;
    int client_gone_at_complete;
    int closing;
    int port;
    /* client thread */
    pthread_t thr;
    void (*client)(struct fixture *f);
    char result[2048];              /* what the client saw, as reply codes */
    char tmpdir[256];
    struct tls_io_ctx *tls_ctx;
};

/* ---- the lead's side: callbacks ---- */

static void complete_all(uv_timer_t *t)
{
    struct fixture *f = t->data;
    for (int i = 0; i < f->ntxn; i++) {
        f->client_gone_at_complete += smtp_server_txn_client_gone(f->txns[i]);
        smtp_server_txn_complete(f->txns[i], NULL);
    }
    f->ntxn = 0;
    if (f->closing)
        uv_close((uv_handle_t *)&f->complete_timer, NULL);
}

static void on_message(void *arg, struct smtp_server_txn *txn, struct smtp_envelope *env)
{
    struct fixture *f = arg;
    f->nmsg++;
    smtp_envelope_free(&f->last);
    smtp_envelope_set_str(&f->last.mail_from, env->mail_from);
    smtp_envelope_set_str(&f->last.tls_version, env->tls_version);
    smtp_envelope_set_str(&f->last.helo, env->helo);
    f->last.tls = env->tls;
    f->last.ret = env->ret;
    for (size_t i = 0; i < env->nrcpts; i++)
        smtp_envelope_add_rcpt(&f->last, env->rcpts[i].addr, env->rcpts[i].notify,
                               env->rcpts[i].orcpt_type, env->rcpts[i].orcpt);
    size_t len;
    unsigned char *c = smtp_envelope_take_content(env, &len);
    snprintf(f->last_body, sizeof f->last_body, "%.*s", (int)len, (char *)c);
    free(c);
    if (f->ntxn < MAXTXN) {
        f->txns[f->ntxn++] = txn;
        uv_timer_start(&f->complete_timer, complete_all, f->complete_delay_ms, 0);
    } else {
        struct smtp_reply r = { .code = 452, .enhanced = "4.3.1", .text = "busy" };
        smtp_server_txn_complete(txn, &r);
    }
}

static int on_rcpt(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *r,
                   struct smtp_reply *reply)
{
    if (strstr(r->addr, "@elsewhere.test")) {
        reply->code = 554;
        snprintf(reply->enhanced, sizeof reply->enhanced, "5.7.1");
        snprintf(reply->text, sizeof reply->text, "Relay access denied");
        return 1;
    }
    return 0;
}

/* ---- the client side: blocking helpers ---- */

struct cl {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static int cl_connect(struct cl *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
}

static void cl_send(struct cl *c, const char *s, size_t n)
{
    if (!n)
        n = strlen(s);
    if (c->ssl)
        SSL_write(c->ssl, s, (int)n);
    else if (write(c->fd, s, n) < 0)
        perror("write");
}

/* Read until `finals` final reply lines arrived (or EOF/timeout); append "code " per final
 * reply to out. Returns the number of final replies seen. */
static int cl_expect(struct cl *c, int finals, char *out, size_t outsz)
{
    char line[1024];
    size_t ll = 0;
    int seen = 0;
    while (seen < finals) {
        char ch;
        int n = c->ssl ? SSL_read(c->ssl, &ch, 1) : (int)read(c->fd, &ch, 1);
        if (n <= 0) {
            strncat(out, "EOF ", outsz - strlen(out) - 1);
            return seen;
        }
        if (ll < sizeof line - 1)
            line[ll++] = ch;
        if (ch == '\n') {
            line[ll] = 0;
            if (ll >= 4 && line[3] == ' ') {
                char code[8];
                snprintf(code, sizeof code, "%.3s ", line);
                strncat(out, code, outsz - strlen(out) - 1);
                seen++;
            }
            if (strstr(line, "STARTTLS"))
                strncat(out, "[starttls-offered] ", outsz - strlen(out) - 1);
            ll = 0;
        }
    }
    return seen;
}

static void cl_close(struct cl *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    close(c->fd);
}

static void *client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
    uv_async_send(&f->done_async);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    struct fixture *f = a->data;
    pthread_join(f->thr, NULL);
    uv_close((uv_handle_t *)&f->done_async, NULL);
    f->closing = 1;
    /* A pending txn still completes from the timer, which then closes itself. */
    if (!f->ntxn)
        uv_close((uv_handle_t *)&f->complete_timer, NULL);
    smtp_server_close(f->srv, NULL, NULL);
}

/* Run one scenario: server with the given options, the client function in a thread. */
static void run(struct fixture *f, struct smtp_server_opts *o, void (*client)(struct fixture *))
{
    struct smtp_server_callbacks cbs = { .rcpt = on_rcpt, .message = on_message };
    assert_int_equal(uv_loop_init(&f->loop), 0);
    o->listen = "127.0.0.1:0";
    o->hostname = "mx.test";
    assert_int_equal(smtp_server_create(&f->srv, &f->loop, o, &cbs, f), 0);
    f->port = smtp_server_port(f->srv);
    f->client = client;
    uv_async_init(&f->loop, &f->done_async, on_done);
    f->done_async.data = f;
    uv_timer_init(&f->loop, &f->complete_timer);
    f->complete_timer.data = f;
    assert_int_equal(pthread_create(&f->thr, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void fixture_free(struct fixture *f) { smtp_envelope_free(&f->last); }

/* ---- scenarios ---- */

static void client_pipelined(struct fixture *f)
{
    struct cl c;
    if (cl_connect(&c, f->port))
        return;
    cl_expect(&c, 1, f->result, sizeof f->result);
    cl_send(&c, "EHLO client.test\r\n", 0);
    cl_expect(&c, 1, f->result, sizeof f->result);
    /* RFC 2920: the whole transaction in one write, DATA last in the group. */
    cl_send(&c, "MAIL FROM:<a@s.test> RET=HDRS\r\nRCPT TO:<b@r.test> NOTIFY=SUCCESS ORCPT=rfc822;b+40r.test\r\n"
                "RCPT TO:<x@elsewhere.test>\r\nDATA\r\n", 0);
    cl_expect(&c, 4, f->result, sizeof f->result);
    cl_send(&c, "Subject: t\r\n\r\n..dot\r\n.\r\nQUIT\r\n", 0);
    cl_expect(&c, 3, f->result, sizeof f->result);
    cl_close(&c);
}

static void test_pipelining_dsn(void **state)
{
    struct fixture f = { .complete_delay_ms = 20 };
    struct smtp_server_opts o = { 0 };
    run(&f, &o, client_pipelined);
    assert_string_equal(f.result, "220 250 250 250 554 354 250 221 EOF ");
    assert_int_equal(f.nmsg, 1);
    assert_int_equal(f.last.nrcpts, 1);
    assert_string_equal(f.last.rcpts[0].addr, "b@r.test");
    assert_int_equal(f.last.rcpts[0].notify, SMTP_NOTIFY_SUCCESS);
    assert_string_equal(f.last.rcpts[0].orcpt, "b@r.test");
    assert_int_equal(f.last.ret, SMTP_RET_HDRS);
    assert_non_null(strstr(f.last_body, "\r\nSubject: t\r\n\r\n.dot\r\n"));
    fixture_free(&f);
}

static void client_bdat(struct fixture *f)
{
    struct cl c;
    if (cl_connect(&c, f->port))
        return;
    cl_send(&c, "EHLO client.test\r\nMAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nBDAT 6\r\nhello BDAT 5 LAST\r\nworldQUIT\r\n", 0);
    cl_expect(&c, 7, f->result, sizeof f->result);
    cl_close(&c);
}

static void test_bdat(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { 0 };
    run(&f, &o, client_bdat);
    assert_string_equal(f.result, "220 250 250 250 250 250 221 ");
    assert_int_equal(f.nmsg, 1);
    assert_non_null(strstr(f.last_body, "\r\nhello world"));
    fixture_free(&f);
}

/* The client hangs up right after the end of data; the message completes later. */
static void client_gone(struct fixture *f)
{
    struct cl c;
    if (cl_connect(&c, f->port))
        return;
    cl_send(&c, "EHLO client.test\r\nMAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n", 0);
    cl_expect(&c, 5, f->result, sizeof f->result);
    cl_send(&c, "x\r\n.\r\n", 0);
    cl_close(&c);
}

static void test_complete_after_disconnect(void **state)
{
    struct fixture f = { .complete_delay_ms = 300 };
    struct smtp_server_opts o = { 0 };
    run(&f, &o, client_gone);
    assert_string_equal(f.result, "220 250 250 250 354 ");
    assert_int_equal(f.nmsg, 1);
    /* on_done closed the server while the txn was pending; the loop still ran the timer,
     * the txn completed into a gone client, and everything was freed (ASan checks). */
    assert_int_equal(f.client_gone_at_complete, 1);
    fixture_free(&f);
}

static void client_limits(struct fixture *f)
{
    struct cl a, b;
    if (cl_connect(&a, f->port))
        return;
    cl_expect(&a, 1, f->result, sizeof f->result);
    if (cl_connect(&b, f->port))
        return;
    cl_expect(&b, 2, f->result, sizeof f->result);   /* 421 then EOF */
    cl_close(&b);
    /* The command timeout (300 ms) closes the idle first session. */
    cl_expect(&a, 2, f->result, sizeof f->result);   /* 421 then EOF */
    cl_close(&a);
}

static void test_session_limit_and_timeout(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { .max_sessions_per_client = 1, .cmd_timeout_ms = 300 };
    run(&f, &o, client_limits);
    assert_string_equal(f.result, "220 421 EOF 421 EOF ");
    fixture_free(&f);
}

static void test_total_session_limit(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { .max_sessions = 1, .cmd_timeout_ms = 300 };
    run(&f, &o, client_limits);
    assert_string_equal(f.result, "220 421 EOF 421 EOF ");
    fixture_free(&f);
}

/* A client that pipelines commands and never reads the replies: the server must stop reading
 * (back-pressure) instead of queueing replies without end, so our sends start to block. */
static void client_never_reads(struct fixture *f)
{
    struct cl c;
    memset(&c, 0, sizeof c);
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, (struct sockaddr *)&sa, sizeof sa))
        return;
    static char chunk[60000];
    for (size_t i = 0; i + 6 <= sizeof chunk; i += 6)
        memcpy(chunk + i, "NOOP\r\n", 6);
    size_t total = 0;
    int blocked = 0;
    while (total < (size_t)32 << 20 && !blocked) {
        ssize_t n = send(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n < 0) {
            /* Give the server time to catch up; still blocked afterwards = back-pressure. */
            struct timespec ts = { 0, 300 * 1000000L };
            nanosleep(&ts, NULL);
            n = send(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
            if (n < 0)
                blocked = 1;
        }
        if (n > 0)
            total += (size_t)n;
    }
    snprintf(f->result, sizeof f->result, "blocked=%d", blocked);
    cl_close(&c);
}

static void test_backpressure(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { .max_errors = 1000 };
    run(&f, &o, client_never_reads);
    assert_string_equal(f.result, "blocked=1");
    fixture_free(&f);
}

static void client_data_timeout(struct fixture *f)
{
    struct cl c;
    if (cl_connect(&c, f->port))
        return;
    cl_send(&c, "EHLO client.test\r\nMAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\npartial", 0);
    cl_expect(&c, 7, f->result, sizeof f->result);
    cl_close(&c);
}

static void test_data_timeout(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { .data_timeout_ms = 200 };
    run(&f, &o, client_data_timeout);
    assert_string_equal(f.result, "220 250 250 250 354 421 EOF ");
    assert_int_equal(f.nmsg, 0);
    fixture_free(&f);
}

/* ---- STARTTLS with a certificate made by `openssl req` for this run ---- */

static int make_cert(struct fixture *f)
{
    snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/mg-smtp-tls-XXXXXX");
    if (!mkdtemp(f->tmpdir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=mx.test -addext subjectAltName=DNS:mx.test "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             f->tmpdir, f->tmpdir);
    return system(cmd);
}

static void rm_tmp(struct fixture *f)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->tmpdir);
}

static void client_starttls(struct fixture *f)
{
    struct cl c;
    if (cl_connect(&c, f->port))
        return;
    cl_send(&c, "EHLO client.test\r\n", 0);
    cl_expect(&c, 2, f->result, sizeof f->result);
    /* Pipelined plaintext after STARTTLS must be thrown away, not run under TLS. */
    cl_send(&c, "STARTTLS\r\nMAIL FROM:<injected@s.test>\r\n", 0);
    cl_expect(&c, 1, f->result, sizeof f->result);
    c.ctx = SSL_CTX_new(TLS_client_method());
    char ca[300];
    snprintf(ca, sizeof ca, "%s/cert.pem", f->tmpdir);
    SSL_CTX_load_verify_locations(c.ctx, ca, NULL);
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
    c.ssl = SSL_new(c.ctx);
    SSL_set1_host(c.ssl, "mx.test");
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_connect(c.ssl) != 1) {
        strcat(f->result, "HANDSHAKE-FAILED ");
        cl_close(&c);
        return;
    }
    cl_send(&c, "EHLO client.test\r\n", 0);
    cl_expect(&c, 1, f->result, sizeof f->result);
    cl_send(&c, "MAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n", 0);
    cl_expect(&c, 3, f->result, sizeof f->result);
    cl_send(&c, "secret\r\n.\r\nQUIT\r\n", 0);
    cl_expect(&c, 2, f->result, sizeof f->result);
    cl_close(&c);
}

static void test_starttls(void **state)
{
    struct fixture f = { .complete_delay_ms = 5 };
    if (make_cert(&f) != 0) {
        rm_tmp(&f);
        fail_msg("openssl req failed: cannot make the test certificate");
    }
    char cert[300], key[300];
    snprintf(cert, sizeof cert, "%s/cert.pem", f.tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", f.tmpdir);
    assert_int_equal(tls_io_ctx_server_create(&f.tls_ctx, cert, key), 0);
    struct smtp_server_opts o = { .tls_ctx = f.tls_ctx, .require_tls = 1 };
    run(&f, &o, client_starttls);
    /* STARTTLS offered in plaintext only; no 503 for the injected MAIL (it was dropped). */
    assert_string_equal(f.result, "220 [starttls-offered] 250 220 250 250 250 354 250 221 ");
    assert_int_equal(f.nmsg, 1);
    assert_int_equal(f.last.tls, 1);
    assert_non_null(f.last.tls_version);
    assert_string_equal(f.last.mail_from, "a@s.test");
    assert_non_null(strstr(f.last_body, "with ESMTPS id"));
    tls_io_ctx_free(f.tls_ctx);
    rm_tmp(&f);
    fixture_free(&f);
}

/* ---- swaks, a real SMTP client, with pipelining ---- */

static void client_swaks(struct fixture *f)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "swaks --server 127.0.0.1:%d --pipeline --from a@s.test --to b@r.test,c@r.test "
             "--helo client.test --body 'swaks body' >/dev/null 2>&1", f->port);
    int rc = system(cmd);
    snprintf(f->result, sizeof f->result, "swaks=%d", rc);
}

static void test_swaks(void **state)
{
    if (system("command -v swaks >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: swaks is not installed (scripts/install-deps.sh --test)\n");
        skip();
    }
    struct fixture f = { .complete_delay_ms = 5 };
    struct smtp_server_opts o = { 0 };
    run(&f, &o, client_swaks);
    assert_string_equal(f.result, "swaks=0");
    assert_int_equal(f.nmsg, 1);
    assert_int_equal(f.last.nrcpts, 2);
    assert_non_null(strstr(f.last_body, "swaks body"));
    fixture_free(&f);
}

/* Bad listen addresses are refused; a port in use gives MG_EIO and the half-made server is
 * released by the loop (ASan checks that nothing leaks). */
static void test_listen_errors(void **state)
{
    static const char *const bad[] = { "127.0.0.1", "127.0.0.1:99999", "nohost:25", "[::1", ":25",
                                       "127.0.0.1:x" };
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct smtp_server_callbacks cbs = { .message = on_message };
    struct smtp_server *s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct smtp_server_opts o = { .listen = bad[i] };
        if (smtp_server_create(&s, &loop, &o, &cbs, NULL) != MG_EINVAL)
            fail_msg("listen \"%s\" was not refused", bad[i]);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    struct smtp_server_opts o = { .listen = addr };
    assert_int_equal(smtp_server_create(&s, &loop, &o, &cbs, NULL), MG_EIO);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_pipelining_dsn),
        cmocka_unit_test(test_bdat),
        cmocka_unit_test(test_complete_after_disconnect),
        cmocka_unit_test(test_session_limit_and_timeout),
        cmocka_unit_test(test_total_session_limit),
        cmocka_unit_test(test_data_timeout),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_swaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
