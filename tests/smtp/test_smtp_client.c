/* test_smtp_client: the SMTP client against real peers it did not write: an aiosmtpd sink
 * (tests/smtp/aiosmtpd_sink.py), Postfix's smtp-sink, and a closed port; MX resolution through
 * c-ares against a small fake DNS responder (tests/smtp/fake_dns.py). Each case opens one
 * connection, sends its messages on it one after another, and closes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mg_err.h"
#include "smtp_client.h"
#include "smtp_dns.h"
#include "smtp_server.h"
#include "tls_io.h"

#ifndef SMTP_TEST_DIR
#error "SMTP_TEST_DIR must name tests/smtp"
#endif
#define PY "/usr/bin/python3"

static char tmpdir[256];

/* ---- peers ---- */

struct peer {
    pid_t pid;
    int port;
    int listen_fd;     /* P_SILENT: a socket that listens and never answers */
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int read_portfile(const char *path)
{
    for (int i = 0; i < 200; i++) { /* up to 10 s: python start-up on a busy machine */
        FILE *f = fopen(path, "r");
        if (f) {
            int port = 0;
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
            if (port > 0)
                return port;
        }
        sleep_ms(50);
    }
    return -1;
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        /* Peers' own diagnostics (aiosmtpd prints a traceback per failed TLS handshake, which
         * some cases cause on purpose) go to a file, not into the test output. */
        char errlog[300];
        snprintf(errlog, sizeof errlog, "%s/peers.stderr", tmpdir);
        if (!freopen(errlog, "a", stderr))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void peer_stop(struct peer *p)
{
    if (p->listen_fd > 0) {
        close(p->listen_fd);
        p->listen_fd = 0;
    }
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static int wait_listening(int port)
{
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

enum peer_kind { P_AIO, P_AIO_TLS, P_AIO_UTF8, P_SINK, P_SINK_DROP, P_SINK_NOESMTP, P_CLOSED, P_SILENT };

static int peer_start(struct peer *p, enum peer_kind k, const char *tag)
{
    char portfile[512], log[512], cert[300], key[300], dump[512];
    snprintf(portfile, sizeof portfile, "%s/%s.port", tmpdir, tag);
    snprintf(log, sizeof log, "%s/%s.log", tmpdir, tag);
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    memset(p, 0, sizeof *p);
    switch (k) {
    case P_AIO:
    case P_AIO_TLS:
    case P_AIO_UTF8: {
        char *argv[10] = { PY, SMTP_TEST_DIR "/aiosmtpd_sink.py", portfile, log };
        int n = 4;
        if (k == P_AIO_TLS) {
            argv[n++] = "--tls";
            argv[n++] = cert;
            argv[n++] = key;
        }
        if (k == P_AIO_UTF8)
            argv[n++] = "--utf8";
        argv[n] = NULL;
        p->pid = spawn(argv);
        p->port = read_portfile(portfile);
        return p->port > 0 ? 0 : -1;
    }
    case P_SINK:
    case P_SINK_DROP:
    case P_SINK_NOESMTP: {
        char addr[64];
        p->port = free_port();
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p->port);
        snprintf(dump, sizeof dump, "%s/%s-dump/%%M.", tmpdir, tag);
        char *argv[10] = { "/usr/sbin/smtp-sink", "-u", "root", "-d", dump, addr, "10", NULL };
        if (k == P_SINK_DROP || k == P_SINK_NOESMTP) {
            argv[5] = k == P_SINK_DROP ? "-q" : "-e";
            argv[6] = k == P_SINK_DROP ? "." : addr;
            argv[7] = k == P_SINK_DROP ? addr : "10";
            argv[8] = k == P_SINK_DROP ? "10" : NULL;
            argv[9] = NULL;
        }
        p->pid = spawn(argv);
        return wait_listening(p->port);
    }
    case P_CLOSED:
        p->port = free_port();
        return 0;
    case P_SILENT: {
        /* The kernel completes the handshake from the backlog; nobody ever says 220. */
        p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof sa;
        if (bind(p->listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(p->listen_fd, 4) ||
            getsockname(p->listen_fd, (struct sockaddr *)&sa, &sl))
            return -1;
        p->port = ntohs(sa.sin_port);
        return 0;
    }
    }
    return -1;
}

/* ---- client run ---- */

struct msgspec {
    const char *from;
    const char *rcpts; /* comma-separated */
    const char *content;
    int smtputf8;
    int dsn;           /* RET=HDRS ENVID, NOTIFY and ORCPT on every recipient */
};

struct run {
    uv_loop_t loop;
    struct smtp_envelope env[4];
    size_t nmsgs, next;
    char out[1024];
    struct smtp_client_info info;
    int closed;
};

static void on_closed(void *arg) { ((struct run *)arg)->closed = 1; }

static void on_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg);

static void send_next(struct smtp_client *c, struct run *r)
{
    if (r->next >= r->nmsgs) {
        smtp_client_close(c, on_closed, r);
        return;
    }
    int rc = smtp_client_send(c, &r->env[r->next++], on_sent, r);
    if (rc) {
        size_t l = strlen(r->out);
        snprintf(r->out + l, sizeof r->out - l, " send:%s", mg_errname(rc));
        smtp_client_close(c, on_closed, r);
    }
}

static void on_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct run *r = arg;
    size_t l = strlen(r->out);
    l += (size_t)snprintf(r->out + l, sizeof r->out - l, " [");
    for (size_t i = 0; i < n; i++)
        l += (size_t)snprintf(r->out + l, sizeof r->out - l, "%s%d %s", i ? " " : "", res[i].code,
                              res[i].enhanced[0] ? res[i].enhanced : "-");
    l += (size_t)snprintf(r->out + l, sizeof r->out - l, "]%s", status ? "!" : "");
    if (status) {
        smtp_client_close(c, on_closed, r);
        return;
    }
    send_next(c, r);
}

static void on_open(struct smtp_client *c, int status, const struct smtp_reply *rep, void *arg)
{
    struct run *r = arg;
    r->info = *smtp_client_get_info(c);
    if (status) {
        snprintf(r->out, sizeof r->out, "open:%d %s", rep->code, rep->enhanced);
        smtp_client_close(c, on_closed, r);
        return;
    }
    snprintf(r->out, sizeof r->out, "open:ok tls=%d verified=%d", r->info.tls, r->info.tls_verified);
    send_next(c, r);
}

static void build_env(struct smtp_envelope *e, const struct msgspec *m)
{
    smtp_envelope_init(e);
    smtp_envelope_set_str(&e->mail_from, m->from);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", m->rcpts);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        smtp_envelope_add_rcpt(e, t, m->dsn ? SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE : 0,
                               m->dsn ? "rfc822" : NULL, m->dsn ? t : NULL);
    if (m->dsn) {
        e->ret = SMTP_RET_HDRS;
        smtp_envelope_set_str(&e->envid, "env+id=1");
    }
    e->smtputf8 = m->smtputf8;
    e->content = (unsigned char *)strdup(m->content);
    e->content_len = strlen(m->content);
}

static void run_client(struct run *r, struct smtp_client_opts *o, const struct msgspec *msgs, size_t n)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++)
        build_env(&r->env[i], &msgs[i]);
    r->nmsgs = n;
    assert_int_equal(uv_loop_init(&r->loop), 0);
    struct smtp_client *c;
    assert_int_equal(smtp_client_open(&c, &r->loop, o, on_open, r), 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(r->closed, 1);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    for (size_t i = 0; i < n; i++)
        smtp_envelope_free(&r->env[i]);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* ---- cases ---- */

enum tlsmode { T_NONE, T_OPP, T_REQ };

struct ccase {
    const char *name;
    enum peer_kind peer;
    enum tlsmode tls;
    int verify;                 /* 1 = verify against the test CA */
    const char *verify_name;    /* NULL = the peer name (127.0.0.1) */
    struct msgspec msgs[3];
    size_t nmsgs;
    const char *expect;
    int delivered;              /* messages the aiosmtpd sink logged (-1 = do not check) */
};

#define OKMSG(r) { "a@s.test", r, "Subject: t\r\n\r\nhello\r\n.leading dot\nbare lf\r\n", 0, 0 }

static const struct ccase cases[] = {
    { "per-recipient-results-two-messages", P_AIO, T_NONE, 0, NULL,
      { OKMSG("ok@r.test,temp1@r.test,perm1@r.test"), OKMSG("ok2@r.test") }, 2,
      "open:ok tls=0 verified=0 [250 2.0.0 450 4.2.1 550 5.1.1] [250 2.0.0]", 2 },
    { "all-recipients-refused-then-next-message", P_AIO, T_NONE, 0, NULL,
      { OKMSG("perm1@r.test,temp2@r.test"), OKMSG("ok@r.test") }, 2,
      "open:ok tls=0 verified=0 [550 5.1.1 450 4.2.1] [250 2.0.0]", 1 },
    { "content-rejected", P_AIO, T_NONE, 0, NULL,
      { { "a@s.test", "ok@r.test,perm@r.test", "REJECTME\r\n", 0, 0 } }, 1,
      "open:ok tls=0 verified=0 [554 5.6.0 550 5.1.1]", 0 },
    { "starttls-required-verified", P_AIO_TLS, T_REQ, 1, "mx.test", { OKMSG("ok@r.test") }, 1,
      "open:ok tls=1 verified=1 [250 2.0.0]", 1 },
    { "starttls-required-wrong-name", P_AIO_TLS, T_REQ, 1, "other.test", { OKMSG("ok@r.test") }, 1,
      "open:421 4.7.5", 0 },
    { "starttls-opportunistic-wrong-name-falls-back", P_AIO_TLS, T_OPP, 1, "other.test",
      { OKMSG("ok@r.test") }, 1, "open:ok tls=0 verified=0 [250 2.0.0]", 1 },
    { "starttls-opportunistic-unverified", P_AIO_TLS, T_OPP, 0, NULL, { OKMSG("ok@r.test") }, 1,
      "open:ok tls=1 verified=0 [250 2.0.0]", 1 },
    { "starttls-opportunistic-not-offered", P_AIO, T_OPP, 0, NULL, { OKMSG("ok@r.test") }, 1,
      "open:ok tls=0 verified=0 [250 2.0.0]", 1 },
    { "starttls-required-not-offered", P_AIO, T_REQ, 0, NULL, { OKMSG("ok@r.test") }, 1,
      "open:421 4.7.0", 0 },
    { "smtputf8-offered", P_AIO_UTF8, T_NONE, 0, NULL,
      { { "a@s.test", "j\xc3\xb6rg@r.test", "Subject: x\r\n\r\nutf8\r\n", 1, 0 } }, 1,
      "open:ok tls=0 verified=0 [250 2.0.0]", 1 },
    { "smtputf8-not-offered", P_AIO, T_NONE, 0, NULL,
      { { "a@s.test", "j\xc3\xb6rg@r.test", "Subject: x\r\n\r\nutf8\r\n", 1, 0 }, OKMSG("ok@r.test") }, 2,
      "open:ok tls=0 verified=0 [553 5.6.7] [250 2.0.0]", 1 },
    { "smtp-sink-pipelined-dsn", P_SINK, T_OPP, 0, NULL,
      { { "a@s.test", "b@r.test,c@r.test", "Subject: s\r\n\r\nx\r\n", 0, 1 }, OKMSG("d@r.test"),
        OKMSG("e@r.test") }, 3,
      "open:ok tls=0 verified=0 [250 2.0.0 250 2.0.0] [250 2.0.0] [250 2.0.0]", -1 },
    { "peer-drops-after-data", P_SINK_DROP, T_NONE, 0, NULL, { OKMSG("b@r.test,c@r.test") }, 1,
      "open:ok tls=0 verified=0 [421 4.4.2 421 4.4.2]!", -1 },
    { "address-injection-refused", P_AIO, T_NONE, 0, NULL,
      { { "a@s.test", "evil@r.test>\r\nRSET", "x\r\n", 0, 0 } }, 1,
      "open:ok tls=0 verified=0 send:MG_EINVAL", 0 },
    { "ehlo-refused-helo-fallback", P_SINK_NOESMTP, T_OPP, 0, NULL,
      { { "a@s.test", "b@r.test", "x\r\n", 0, 1 }, OKMSG("c@r.test") }, 2,
      "open:ok tls=0 verified=0 [250 2.0.0] [250 2.0.0]", -1 },
    { "connection-refused", P_CLOSED, T_NONE, 0, NULL, { OKMSG("b@r.test") }, 1, "open:421 4.4.1", -1 },
    { "greeting-timeout", P_SILENT, T_NONE, 0, NULL, { OKMSG("b@r.test") }, 1, "open:421 4.4.2", -1 },
};

static int have_aiosmtpd(void) { return system(PY " -c 'import aiosmtpd' 2>/dev/null") == 0; }

static void test_cases(void **state)
{
    if (!have_aiosmtpd() || access("/usr/sbin/smtp-sink", X_OK) != 0) {
        fprintf(stderr, "SKIP: python3-aiosmtpd or postfix (smtp-sink) missing: run scripts/install-deps.sh --test\n");
        skip();
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ccase *t = &cases[i];
        struct peer p;
        char tag[64], log[512], ca[300];
        snprintf(tag, sizeof tag, "c%zu", i);
        snprintf(log, sizeof log, "%s/%s.log", tmpdir, tag);
        snprintf(ca, sizeof ca, "%s/cert.pem", tmpdir);
        if (peer_start(&p, t->peer, tag) != 0) {
            peer_stop(&p);
            fail_msg("case %s: peer did not start", t->name);
        }
        char host[64];
        snprintf(host, sizeof host, "127.0.0.1:%d", p.port);
        struct smtp_client_opts o = {
            .helo_name = "client.test",
            .host = host,
            .starttls = t->tls == T_REQ ? SMTP_CLIENT_TLS_REQUIRED
                        : t->tls == T_OPP ? SMTP_CLIENT_TLS_OPPORTUNISTIC : SMTP_CLIENT_TLS_NONE,
            .tls_verify = t->verify,
            .tls_ca_file = ca,
            .tls_verify_name = t->verify_name,
            .connect_timeout_ms = 5000,
            .cmd_timeout_ms = t->peer == P_SILENT ? 300 : 10000,
            .data_timeout_ms = 10000,
        };
        struct run r;
        run_client(&r, &o, t->msgs, t->nmsgs);
        /* No wait needed: the sink appends and closes its log line before it answers 250, and
         * run_client returns only after the client has seen every reply. */
        peer_stop(&p);
        if (strcmp(r.out, t->expect))
            fail_msg("case %s: got \"%s\", expected \"%s\"", t->name, r.out, t->expect);
        if (t->delivered >= 0 && count_lines(log) != t->delivered)
            fail_msg("case %s: sink logged %d messages, expected %d", t->name, count_lines(log), t->delivered);
    }
}

/* What reached smtp-sink: DSN parameters passed on (xtext-encoded) and dot-stuffing undone. */
static void test_sink_dump(void **state)
{
    if (access("/usr/sbin/smtp-sink", X_OK) != 0) {
        fprintf(stderr, "SKIP: smtp-sink missing\n");
        skip();
    }
    struct peer p;
    assert_int_equal(peer_start(&p, P_SINK, "dump"), 0);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", p.port);
    struct smtp_client_opts o = { .host = host, .cmd_timeout_ms = 10000 };
    const struct msgspec m[] = {
        { "a@s.test", "b@r.test", "Subject: s\r\n\r\n.dot\n..two\r\nend", 0, 1 },
    };
    struct run r;
    run_client(&r, &o, m, 1);
    peer_stop(&p);
    assert_string_equal(r.out, "open:ok tls=0 verified=0 [250 2.0.0]");
    assert_int_equal(r.info.pipelining, 1);
    assert_int_equal(r.info.dsn, 1);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cat %s/dump-dump/* > %s/dump.txt", tmpdir, tmpdir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/dump.txt", tmpdir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "X-Mail-Args: <a@s.test> RET=HDRS ENVID=env+2Bid+3D1"));
    assert_non_null(strstr(buf, "X-Rcpt-Args: <b@r.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@r.test"));
    assert_non_null(strstr(buf, "\n.dot\n..two\nend\n"));
}

/* MX resolution with c-ares against fake_dns.py, delivering to the aiosmtpd sink. */
struct mcase {
    const char *name;
    const char *domain;
    const char *expect;
    int smarthost;      /* use domain as a smart host name (A/AAAA only, no MX) */
};

static const struct mcase mcases[] = {
    { "mx-record", "mx.example", "open:ok tls=0 verified=0 [250 2.0.0]", 0 },
    { "mx-preference-order-skips-dead", "two.example", "open:ok tls=0 verified=0 [250 2.0.0]", 0 },
    { "implicit-mx-a-record", "nomx.example", "open:ok tls=0 verified=0 [250 2.0.0]", 0 },
    { "null-mx", "nullmx.example", "open:556 5.1.10", 0 },
    { "nxdomain", "nothere.example", "open:550 5.1.2", 0 },
    { "smarthost-by-name", "mail.mx.example", "open:ok tls=0 verified=0 [250 2.0.0]", 1 },
    { "smarthost-unknown-name", "nothere.example", "open:451 4.4.4", 1 },
};

static void test_mx(void **state)
{
    if (!have_aiosmtpd()) {
        fprintf(stderr, "SKIP: python3-aiosmtpd missing\n");
        skip();
    }
    struct peer sink, dns = { 0 };
    assert_int_equal(peer_start(&sink, P_AIO, "mx"), 0);
    char portfile[512];
    snprintf(portfile, sizeof portfile, "%s/dns.port", tmpdir);
    /* two.example: the preferred MX has an address nobody listens on (127.0.0.2 on the
     * sink's port), the second one is the sink. */
    char *argv[] = { PY, SMTP_TEST_DIR "/fake_dns.py", portfile,
                     "MX:mx.example:10:mail.mx.example", "A:mail.mx.example:127.0.0.1",
                     "MX:two.example:20:good.two.example", "MX:two.example:10:dead.two.example",
                     "A:dead.two.example:127.0.0.2", "A:good.two.example:127.0.0.1",
                     "A:nomx.example:127.0.0.1", "MX:nullmx.example:0:.", NULL };
    dns.pid = spawn(argv);
    dns.port = read_portfile(portfile);
    if (dns.port <= 0) {
        peer_stop(&dns);
        peer_stop(&sink);
        fail_msg("fake DNS did not start");
    }
    char servers[64];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", dns.port);
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++) {
        const struct mcase *t = &mcases[i];
        char hp[300];
        snprintf(hp, sizeof hp, "%s:%d", t->domain, sink.port);
        struct smtp_client_opts o = {
            .domain = t->smarthost ? NULL : t->domain,
            .host = t->smarthost ? hp : NULL,
            .port = sink.port,
            .dns_servers = servers,
            .connect_timeout_ms = 2000,
            .cmd_timeout_ms = 10000,
        };
        const struct msgspec m[] = { OKMSG("ok@r.test") };
        struct run r;
        run_client(&r, &o, m, 1);
        if (strcmp(r.out, t->expect)) {
            peer_stop(&dns);
            peer_stop(&sink);
            fail_msg("case %s: got \"%s\", expected \"%s\"", t->name, r.out, t->expect);
        }
    }
    peer_stop(&dns);
    peer_stop(&sink);
}

/* A peer that misbehaves on purpose (tests/smtp/scripted_peer.py): malformed, endless, overlong
 * and 421 replies must end in a clean temporary failure, never a hang or a crash. */
struct scase {
    const char *name;
    const char *replies[8];
    const char *expect;
};

static const struct scase scases[] = {
    { "malformed-greeting", { "hello there\r\n" }, "open:421 4.5.0" },
    { "greeting-554", { "554 5.7.1 go away\r\n" }, "open:554 5.7.1" },
    { "greeting-421", { "421 4.3.2 busy\r\n" }, "open:421 4.3.2" },
    { "endless-multiline", { "*300:220-more\r\n" }, "open:421 4.5.0" },
    { "overlong-line", { "*5000:x" }, "open:421 4.5.0" },
    { "reply-code-out-of-range", { "220 ok\r\n", "650 what\r\n" }, "open:421 4.5.0" },
    { "closed-after-ehlo", { "220 ok\r\n", "250 ok\r\n" }, "open:ok tls=0 verified=0 [421 4.4.2]!" },
    { "421-mid-transaction", { "220 ok\r\n", "250 ok\r\n", "250 2.1.0 ok\r\n", "421 4.3.2 shutting down\r\n" },
      "open:ok tls=0 verified=0 [421 4.3.2]!" },
    { "no-pipelining-step-by-step", { "220 ok\r\n", "250 ok\r\n", "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n",
                                      "354 go\r\n", "250 2.0.0 done\r\n" },
      "open:ok tls=0 verified=0 [250 2.0.0]" },
};

static void test_misbehaving_peers(void **state)
{
    for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
        const struct scase *t = &scases[i];
        char portfile[512];
        snprintf(portfile, sizeof portfile, "%s/s%zu.port", tmpdir, i);
        char *argv[12] = { PY, SMTP_TEST_DIR "/scripted_peer.py", portfile };
        int n = 3;
        for (int k = 0; k < 8 && t->replies[k]; k++)
            argv[n++] = (char *)t->replies[k];
        argv[n] = NULL;
        struct peer p = { 0 };
        p.pid = spawn(argv);
        p.port = read_portfile(portfile);
        if (p.port <= 0) {
            peer_stop(&p);
            fail_msg("case %s: peer did not start", t->name);
        }
        char host[64];
        snprintf(host, sizeof host, "127.0.0.1:%d", p.port);
        struct smtp_client_opts o = { .host = host, .cmd_timeout_ms = 5000, .max_reply_lines = 100 };
        const struct msgspec m[] = { OKMSG("b@r.test") };
        struct run r;
        run_client(&r, &o, m, 1);
        peer_stop(&p);
        if (strcmp(r.out, t->expect))
            fail_msg("case %s: got \"%s\", expected \"%s\"", t->name, r.out, t->expect);
    }
}

/* mixgate to mixgate: our client delivers to our server over STARTTLS with verification; every
 * envelope parameter must arrive as sent, and the content must round-trip through dot-stuffing. */
struct rt {
    struct run run;
    struct smtp_server *srv;
    struct smtp_envelope got;
    char body[1024];
    int nmsg;
};

static void rt_message(void *arg, struct smtp_server_txn *txn, struct smtp_envelope *env)
{
    struct rt *t = arg;
    t->nmsg++;
    t->got = *env; /* take everything; the server's copy is emptied below */
    const char *c = (const char *)env->content;
    /* skip our own Received: header (first line plus tab-continued lines) */
    const char *p = c;
    while ((p = strstr(p, "\r\n")) && p[2] == '\t')
        p += 2;
    const char *b = p ? p + 2 : c;
    snprintf(t->body, sizeof t->body, "%.*s", (int)(env->content_len - (size_t)(b - c)), b);
    smtp_envelope_init(env);
    smtp_server_txn_complete(txn, NULL); /* synchronous completion, inside the callback */
}

static void rt_closed(void *arg)
{
    struct rt *t = arg;
    t->run.closed = 1;
    smtp_server_close(t->srv, NULL, NULL);
}

static void rt_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct rt *t = arg;
    snprintf(t->run.out, sizeof t->run.out, "status=%d code=%d %s", status, res[0].code, res[0].enhanced);
    smtp_client_close(c, rt_closed, t);
}

static void rt_open(struct smtp_client *c, int status, const struct smtp_reply *rep, void *arg)
{
    struct rt *t = arg;
    t->run.info = *smtp_client_get_info(c);
    if (status || smtp_client_send(c, &t->run.env[0], rt_sent, t)) {
        snprintf(t->run.out, sizeof t->run.out, "open failed %d %s", rep->code, rep->text);
        smtp_client_close(c, rt_closed, t);
    }
}

static void test_roundtrip_own_server(void **state)
{
    struct rt t;
    memset(&t, 0, sizeof t);
    char cert[300], key[300];
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    struct tls_io_ctx *sctx;
    assert_int_equal(tls_io_ctx_server_create(&sctx, cert, key), 0);
    assert_int_equal(uv_loop_init(&t.run.loop), 0);
    struct smtp_server_opts so = { .listen = "127.0.0.1:0", .hostname = "mx.test", .tls_ctx = sctx,
                                   .require_tls = 1 };
    struct smtp_server_callbacks cbs = { .message = rt_message };
    assert_int_equal(smtp_server_create(&t.srv, &t.run.loop, &so, &cbs, &t), 0);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", smtp_server_port(t.srv));
    const struct msgspec m = { "s\xc3\xa9nder@s.test", "r1@r.test,r2@r.test",
                               "Subject: rt\r\n\r\n.one\n..two\r\n.\r\nlast", 1, 1 };
    build_env(&t.run.env[0], &m);
    t.run.env[0].body = SMTP_BODY_8BITMIME;
    struct smtp_client_opts o = { .host = host, .helo_name = "client.test",
                                  .starttls = SMTP_CLIENT_TLS_REQUIRED, .tls_verify = 1,
                                  .tls_ca_file = cert, .tls_verify_name = "mx.test",
                                  .cmd_timeout_ms = 10000 };
    struct smtp_client *c;
    assert_int_equal(smtp_client_open(&c, &t.run.loop, &o, rt_open, &t), 0);
    uv_run(&t.run.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&t.run.loop), 0);
    tls_io_ctx_free(sctx);
    assert_string_equal(t.run.out, "status=0 code=250 2.0.0");
    assert_int_equal(t.run.info.tls, 1);
    assert_int_equal(t.run.info.tls_verified, 1);
    assert_int_equal(t.run.info.chunking, 1);
    assert_int_equal(t.nmsg, 1);
    assert_int_equal(t.got.tls, 1);
    assert_string_equal(t.got.mail_from, "s\xc3\xa9nder@s.test");
    assert_int_equal(t.got.smtputf8, 1);
    assert_int_equal(t.got.body, SMTP_BODY_8BITMIME);
    assert_int_equal(t.got.ret, SMTP_RET_HDRS);
    assert_string_equal(t.got.envid, "env+id=1");
    assert_int_equal(t.got.nrcpts, 2);
    assert_string_equal(t.got.rcpts[1].addr, "r2@r.test");
    assert_int_equal(t.got.rcpts[1].notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
    assert_string_equal(t.got.rcpts[1].orcpt, "r2@r.test");
    assert_string_equal(t.body, "Subject: rt\r\n\r\n.one\r\n..two\r\n.\r\nlast\r\n");
    assert_int_equal(t.got.size, strlen("Subject: rt\r\n\r\n.one\n..two\r\n.\r\nlast"));
    smtp_envelope_free(&t.got);
    smtp_envelope_free(&t.run.env[0]);
}

/* ---- the content on the wire, byte for byte ----
 * A scripted peer on the same loop (a plain uv_tcp_t, 127.0.0.1 port 0) records exactly what
 * arrives after DATA. The client writes the content in pieces straight from the envelope
 * (several uv_buf_t per write, "." and "\r" inserted as separate pieces); the peer must see
 * the same bytes a plain copying stuffer would produce. */
struct wire {
    uv_loop_t loop;
    uv_tcp_t srv, conn;
    int port, conn_open;
    char *in;           /* unprocessed command bytes */
    size_t inlen;
    int in_data;
    unsigned char *data[2]; /* captured content per message, with the final ".\r\n" */
    size_t datalen[2];
    int nmsg;
    struct smtp_envelope env[2];
    int sent;
    char out[256];
    int closed;
    int early;          /* answer 354 and 250 at once after DATA, then only read */
    size_t discarded;
    int saw_poison;     /* a byte the client overwrote after sent_cb reached the peer */
};

static void w_written(uv_write_t *req, int status) { free(req); }

static void w_reply(struct wire *w, const char *s)
{
    uv_write_t *req = malloc(sizeof *req + strlen(s));
    char *copy = (char *)(req + 1);
    memcpy(copy, s, strlen(s));
    uv_buf_t b = uv_buf_init(copy, (unsigned)strlen(s));
    assert_int_equal(uv_write(req, (uv_stream_t *)&w->conn, &b, 1, w_written), 0);
}

static void w_conn_closed(uv_handle_t *h) { }

/* The straightforward copying stuffer, as a reference. */
static unsigned char *ref_stuff(const unsigned char *p, size_t n, size_t *outlen)
{
    unsigned char *o = malloc(2 * n + 8);
    size_t k = 0;
    int bol = 1;
    for (size_t i = 0; i < n; i++) {
        if (bol && p[i] == '.')
            o[k++] = '.';
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            o[k++] = '\r';
        o[k++] = p[i];
        bol = p[i] == '\n';
    }
    if (n && p[n - 1] != '\n') {
        o[k++] = '\r';
        o[k++] = '\n';
    }
    memcpy(o + k, ".\r\n", 3);
    *outlen = k + 3;
    return o;
}

static void w_process(struct wire *w)
{
    for (;;) {
        if (w->in_data) {
            int i = w->nmsg;
            unsigned char *d = w->data[i];
            size_t n = w->datalen[i];
            if ((n == 3 && !memcmp(d, ".\r\n", 3)) || (n >= 5 && !memcmp(d + n - 5, "\r\n.\r\n", 5))) {
                w->in_data = 0;
                w->nmsg++;
                w_reply(w, "250 2.0.0 got it\r\n");
                continue;
            }
            return;
        }
        char *lf = w->inlen ? memchr(w->in, '\n', w->inlen) : NULL;
        if (!lf)
            return;
        size_t ll = (size_t)(lf - w->in) + 1;
        if (!strncmp(w->in, "EHLO", 4))
            w_reply(w, "250-wire.test\r\n250 PIPELINING\r\n");
        else if (!strncmp(w->in, "MAIL", 4) || !strncmp(w->in, "RCPT", 4))
            w_reply(w, "250 ok\r\n");
        else if (!strncmp(w->in, "DATA", 4) && w->early) {
            w_reply(w, "354 go\r\n250 2.0.0 early\r\n");
            w->in_data = 2;
            w->inlen = 0;
            return;
        } else if (!strncmp(w->in, "DATA", 4)) {
            w_reply(w, "354 go\r\n");
            assert_true(w->nmsg < 2);
            w->in_data = 1;
            /* what follows DATA in this buffer is content */
            size_t rest = w->inlen - ll;
            w->data[w->nmsg] = realloc(w->data[w->nmsg], w->datalen[w->nmsg] + rest + 1);
            memcpy(w->data[w->nmsg] + w->datalen[w->nmsg], w->in + ll, rest);
            w->datalen[w->nmsg] += rest;
            w->inlen = 0;
            continue;
        } else if (!strncmp(w->in, "QUIT", 4)) {
            w_reply(w, "221 bye\r\n");
        } else
            w_reply(w, "500 what\r\n");
        memmove(w->in, w->in + ll, w->inlen - ll);
        w->inlen -= ll;
    }
}

static void w_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    char *p = malloc(65536);
    *b = uv_buf_init(p, 65536);
}

static void w_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct wire *w = st->data;
    if (nread < 0) {
        free(buf->base);
        if (w->conn_open) {
            w->conn_open = 0;
            uv_close((uv_handle_t *)&w->conn, w_conn_closed);
        }
        return;
    }
    if (w->in_data == 2) {
        w->discarded += (size_t)nread;
        if (memchr(buf->base, 'Z', (size_t)nread))
            w->saw_poison = 1;
        free(buf->base);
        return;
    }
    if (w->in_data) {
        int i = w->nmsg;
        w->data[i] = realloc(w->data[i], w->datalen[i] + (size_t)nread + 1);
        memcpy(w->data[i] + w->datalen[i], buf->base, (size_t)nread);
        w->datalen[i] += (size_t)nread;
    } else {
        w->in = realloc(w->in, w->inlen + (size_t)nread + 1);
        memcpy(w->in + w->inlen, buf->base, (size_t)nread);
        w->inlen += (size_t)nread;
    }
    free(buf->base);
    w_process(w);
}

static void w_accept(uv_stream_t *srv, int status)
{
    struct wire *w = srv->data;
    assert_int_equal(status, 0);
    uv_tcp_init(&w->loop, &w->conn);
    w->conn.data = w;
    assert_int_equal(uv_accept(srv, (uv_stream_t *)&w->conn), 0);
    w->conn_open = 1;
    uv_read_start((uv_stream_t *)&w->conn, w_alloc, w_read);
    w_reply(w, "220 wire.test ESMTP\r\n");
}

static void w_closed(void *arg)
{
    struct wire *w = arg;
    w->closed = 1;
    uv_close((uv_handle_t *)&w->srv, NULL);
}

static void w_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct wire *w = arg;
    size_t l = strlen(w->out);
    snprintf(w->out + l, sizeof w->out - l, " [%d %s]%s", res[0].code, res[0].enhanced, status ? "!" : "");
    if (status || w->sent == 2 || smtp_client_send(c, &w->env[w->sent++], w_sent, w))
        smtp_client_close(c, w_closed, w);
}

/* The early peer: sent_cb must come only once libuv no longer writes from the content, so
 * overwriting and freeing it right here must not change what reaches the peer. */
static void w_sent_early(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct wire *w = arg;
    snprintf(w->out, sizeof w->out, "status=%d [%d %s]", status, res[0].code, res[0].enhanced);
    memset(w->env[0].content, 'Z', w->env[0].content_len);
    free(w->env[0].content);
    w->env[0].content = NULL;
    w->env[0].content_len = 0;
    smtp_client_close(c, w_closed, w);
}

static void w_open_early(struct smtp_client *c, int status, const struct smtp_reply *rep, void *arg)
{
    struct wire *w = arg;
    if (status || smtp_client_send(c, &w->env[0], w_sent_early, w))
        smtp_client_close(c, w_closed, w);
}

static void w_open(struct smtp_client *c, int status, const struct smtp_reply *rep, void *arg)
{
    struct wire *w = arg;
    snprintf(w->out, sizeof w->out, "open:%d", status);
    if (status || smtp_client_send(c, &w->env[w->sent++], w_sent, w))
        smtp_client_close(c, w_closed, w);
}

static void test_wire_dotstuff(void **state)
{
    struct wire *w = calloc(1, sizeof *w);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_tcp_init(&w->loop, &w->srv);
    w->srv.data = w;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&w->srv, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&w->srv, 4, w_accept), 0);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    uv_tcp_getsockname(&w->srv, (struct sockaddr *)&ss, &sl);
    w->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

    /* 1: lines starting with '.', CRLF and bare-LF endings, no final newline. */
    static const char small[] = ".a\r\n..b\nc\r\n.\n.\r\n\nend";
    /* 2: ~300 KB of the same kinds of lines, so the content needs many uv_write batches. */
    size_t biglen = 300000;
    unsigned char *big = malloc(biglen);
    for (size_t i = 0; i < biglen; i++) {
        size_t col = i % 37;
        big[i] = col == 36 ? '\n' : (col == 35 && (i / 37) % 2) ? '\r' : (col == 0 && (i / 37) % 3 == 0) ? '.' : 'a' + (char)(i % 26);
    }
    const unsigned char *content[2] = { (const unsigned char *)small, big };
    size_t clen[2] = { sizeof small - 1, biglen };
    for (int i = 0; i < 2; i++) {
        smtp_envelope_init(&w->env[i]);
        smtp_envelope_set_str(&w->env[i].mail_from, "a@s.test");
        smtp_envelope_add_rcpt(&w->env[i], "b@r.test", 0, NULL, NULL);
        w->env[i].content = malloc(clen[i]);
        memcpy(w->env[i].content, content[i], clen[i]);
        w->env[i].content_len = clen[i];
    }
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", w->port);
    struct smtp_client_opts o = { .host = host, .helo_name = "client.test", .cmd_timeout_ms = 10000,
                                  .data_timeout_ms = 10000 };
    struct smtp_client *c;
    assert_int_equal(smtp_client_open(&c, &w->loop, &o, w_open, w), 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->conn_open) { /* the client closed first; let our side finish */
        w->conn_open = 0;
        uv_close((uv_handle_t *)&w->conn, w_conn_closed);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    assert_int_equal(uv_loop_close(&w->loop), 0);
    assert_int_equal(w->closed, 1);
    assert_string_equal(w->out, "open:0 [250 2.0.0] [250 2.0.0]");
    assert_int_equal(w->nmsg, 2);
    static const char small_wire[] = "..a\r\n...b\r\nc\r\n..\r\n..\r\n\r\nend\r\n.\r\n";
    assert_int_equal(w->datalen[0], sizeof small_wire - 1);
    assert_memory_equal(w->data[0], small_wire, sizeof small_wire - 1);
    size_t rl;
    unsigned char *ref = ref_stuff(big, biglen, &rl);
    assert_int_equal(w->datalen[1], rl);
    assert_memory_equal(w->data[1], ref, rl);
    free(ref);
    free(big);
    for (int i = 0; i < 2; i++) {
        smtp_envelope_free(&w->env[i]);
        free(w->data[i]);
    }
    free(w->in);
    free(w);
}

static void test_wire_early_reply(void **state)
{
    struct wire *w = calloc(1, sizeof *w);
    w->early = 1;
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_tcp_init(&w->loop, &w->srv);
    w->srv.data = w;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&w->srv, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&w->srv, 4, w_accept), 0);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    uv_tcp_getsockname(&w->srv, (struct sockaddr *)&ss, &sl);
    /* 8 MB: more than the socket buffers take at once, so writes are pending at the reply */
    size_t len = 8u << 20;
    smtp_envelope_init(&w->env[0]);
    smtp_envelope_set_str(&w->env[0].mail_from, "a@s.test");
    smtp_envelope_add_rcpt(&w->env[0], "b@r.test", 0, NULL, NULL);
    w->env[0].content = malloc(len);
    for (size_t i = 0; i < len; i++)
        w->env[0].content[i] = i % 64 == 63 ? '\n' : i % 128 == 0 ? '.' : 'a';
    w->env[0].content_len = len;
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    struct smtp_client_opts o = { .host = host, .cmd_timeout_ms = 10000, .data_timeout_ms = 10000 };
    struct smtp_client *c;
    assert_int_equal(smtp_client_open(&c, &w->loop, &o, w_open_early, w), 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->conn_open) {
        w->conn_open = 0;
        uv_close((uv_handle_t *)&w->conn, w_conn_closed);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    assert_int_equal(uv_loop_close(&w->loop), 0);
    assert_int_equal(w->closed, 1);
    assert_string_equal(w->out, "status=0 [250 2.0.0]");
    /* all of the stuffed content and the QUIT arrived, none of it overwritten */
    assert_true(w->discarded >= len + len / 64 + 3);
    assert_int_equal(w->saw_poison, 0);
    smtp_envelope_free(&w->env[0]);
    free(w->in);
    free(w);
}

/* ---- smtp_dns lifetime: a lookup closed before it answers never calls back ---- */
struct dnsrun {
    int cb_calls, closed;
};

static void dns_cb_never(void *arg, int status, const struct smtp_reply *err,
                         const struct smtp_dns_candidate *c, size_t n)
{
    ((struct dnsrun *)arg)->cb_calls++;
}

static void dns_closed_cb(void *arg) { ((struct dnsrun *)arg)->closed++; }

static void test_dns_lifetime(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct smtp_dns *d = NULL;
    assert_int_equal(smtp_dns_create(&d, &loop, "not an address"), MG_EINVAL);
    assert_null(d);
    /* a resolver that receives and never answers: the query stays pending */
    uv_udp_t mute;
    assert_int_equal(uv_udp_init(&loop, &mute), 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_udp_bind(&mute, (const struct sockaddr *)&sa, 0), 0);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    uv_udp_getsockname(&mute, (struct sockaddr *)&ss, &sl);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    assert_int_equal(smtp_dns_create(&d, &loop, server), 0);
    struct dnsrun r = { 0 };
    assert_int_equal(smtp_dns_resolve(d, "", 1, 25, dns_cb_never, &r), MG_EINVAL);
    assert_int_equal(smtp_dns_resolve(d, "example.test", 1, 25, dns_cb_never, &r), 0);
    assert_int_equal(smtp_dns_resolve(d, "example.test", 1, 25, dns_cb_never, &r), MG_ESTATE);
    assert_int_equal(r.cb_calls, 0); /* never inside the call */
    uv_run(&loop, UV_RUN_NOWAIT);   /* the query is sent */
    smtp_dns_close(d, dns_closed_cb, &r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.cb_calls, 0);
    assert_int_equal(r.closed, 1);
    /* closed before the deferred start ran */
    assert_int_equal(smtp_dns_create(&d, &loop, NULL), 0);
    assert_int_equal(smtp_dns_resolve(d, "localhost", 0, 25, dns_cb_never, &r), 0);
    smtp_dns_close(d, dns_closed_cb, &r);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.cb_calls, 0);
    assert_int_equal(r.closed, 2);
    uv_close((uv_handle_t *)&mute, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mg-smtp-client-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    chmod(tmpdir, 0755);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=mx.test -addext subjectAltName=DNS:mx.test "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             tmpdir, tmpdir);
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
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_sink_dump),
        cmocka_unit_test(test_mx),
        cmocka_unit_test(test_roundtrip_own_server),
        cmocka_unit_test(test_misbehaving_peers),
        cmocka_unit_test(test_wire_dotstuff),
        cmocka_unit_test(test_wire_early_reply),
        cmocka_unit_test(test_dns_lifetime),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
