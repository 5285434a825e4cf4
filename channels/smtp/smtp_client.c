/* smtp_client: the libuv/TLS transport of the SMTP client (see smtp_client.h). The protocol is
 * smtp_client_session (no I/O), name resolution is smtp_dns; this file connects to candidate
 * addresses in turn, moves bytes between the socket, tls_io and the session, runs the
 * timeouts and turns the session's events into the public callbacks.
 *
 * Lifetime: the client embeds its uv_tcp_t and two uv_timer_t (timeouts; deferred work). The
 * tcp handle is closed and initialised again for each address tried. smtp_client_close() is
 * the one way out: it closes everything and the memory goes in the last close callback, so a
 * user may call it from inside its own open/sent callback. The resolver (smtp_dns) is owned
 * while it lives and closed as soon as it has answered.
 *
 * Content: written straight from the caller's envelope in pieces (smtp_dotstuff), one uv_write
 * per batch of pieces, never copied whole; the envelope is borrowed until sent_cb, and sent_cb
 * runs only once no write that points into the content is pending (a peer that answers before
 * it has read everything cannot make us free what libuv still writes). Under TLS each piece is
 * encrypted as it goes and the ciphertext is handed over in 64 KiB steps. */
#include "smtp_client.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_hostport.h"
#include "mg_log.h"
#include "smtp_client_session.h"
#include "smtp_dns.h"
#include "tls_io.h"

#define BODY_BATCH 64               /* uv_buf_t per uv_write of content */
#define MAX_PIECE (1u << 30)        /* uv_buf_t lengths are unsigned int */
#define TLS_FLUSH (64u * 1024)

enum phase { P_RESOLVE, P_CONNECT, P_SESSION, P_DEAD };

struct candidate {
    struct smtp_dns_candidate c;
    int no_tls;                  /* opportunistic retry in plaintext after a failed handshake */
};

struct smtp_client {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_timer_t timer;            /* connect / command / data timeouts */
    uv_timer_t defer;            /* work that must run from the loop, not inside a call */
    int tcp_state;               /* 0 none, 1 open, 2 closing */
    uv_shutdown_t shutdown_req;
    int timers_open;
    struct smtp_dns *dns;        /* owned while resolving */
    int dns_open;                /* the resolver's close callback is pending */
    /* options (copies) */
    struct smtp_client_opts o;
    char *helo, *host, *domain, *dns_servers, *ca_file, *verify_name;
    int port;
    struct tls_io_ctx *tls_ctx;
    int tls_ctx_owned;           /* 0 when borrowed from the options */
    struct tls_io *tls;          /* owned, per connection */
    struct mg_buf plain;
    /* candidates */
    struct candidate cand[SMTP_DNS_MAX_CANDIDATES];
    int ncand, cur;
    /* protocol */
    enum phase phase;
    struct smtp_client_session sess;
    int sess_live;
    int timer_kind;              /* what the timer waits for (smtp_client_session_waiting) */
    struct smtp_reply best;      /* best explanation while opening */
    struct smtp_client_info info;
    char peer_addr[64], peer_label[340];
    char tls_version[32], tls_cipher[64]; /* copies: the SSL object goes with the connection */
    /* callbacks */
    smtp_client_open_cb open_cb;
    void *open_arg;
    int open_reported;
    smtp_client_sent_cb sent_cb;
    void *sent_arg;
    int in_flight;               /* a message was accepted by smtp_client_send */
    int body_writes;             /* content writes libuv has not completed */
    int done_pending;            /* results final, waiting for body_writes to drain */
    int deferred_result;         /* results final, to be reported from the defer timer */
    int write_err;               /* a synchronous write failure, handled from the defer timer */
    int open_started;            /* start_open ran */
    /* closing */
    int closing;
    void (*closed_cb)(void *);
    void *closed_arg;
};

static void start_next_candidate(struct smtp_client *c);
static void conn_failed(struct smtp_client *c, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void maybe_free(struct smtp_client *c);
static void after_session(struct smtp_client *c);

static void on_defer(uv_timer_t *t);
static void defer(struct smtp_client *c) { uv_timer_start(&c->defer, on_defer, 0, 0); }

/* ---------------------------------------------------------------- writing */

struct wreq {
    uv_write_t req;
    struct smtp_client *c;
    unsigned char *data;         /* owned copy, or NULL for content pieces */
};

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct smtp_client *c = w->c;
    if (!w->data && --c->body_writes == 0 && c->done_pending)
        defer(c);
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && c->tcp_state == 1)
        conn_failed(c, 421, "4.4.2", "Write failed: %s", uv_strerror(status));
}

/* Writes what the socket takes now when nothing is queued before it (the common case: a
 * command or a message fits the socket buffer), so no request, copy or callback is needed;
 * bufs are advanced past what was written. Returns the number of buffers left to queue. */
static unsigned try_writev(struct smtp_client *c, uv_buf_t *bufs, unsigned n)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) != 0)
        return n;
    int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (w <= 0)
        return n; /* EAGAIN, or an error the queued write reports */
    size_t done = (size_t)w;
    unsigned i = 0;
    while (i < n && done >= bufs[i].len)
        done -= bufs[i++].len;
    if (i < n && done) {
        bufs[i].base += done;
        bufs[i].len -= done;
    }
    memmove(bufs, bufs + i, (n - i) * sizeof *bufs);
    return n - i;
}

/* data: owned, freed here or after the write; NULL = bufs point into the content. */
static void raw_writev(struct smtp_client *c, unsigned char *data, uv_buf_t *bufs, unsigned n)
{
    if (c->tcp_state != 1 || !n) {
        free(data);
        return;
    }
    n = try_writev(c, bufs, n);
    if (!n) {
        free(data);
        return;
    }
    struct wreq *w = malloc(sizeof *w);
    if (!w) {
        free(data);
        c->write_err = MG_ENOMEM;
        defer(c);
        return;
    }
    w->c = c;
    w->data = data;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write)) {
        free(data);
        free(w);
        c->write_err = MG_EIO;
        defer(c);
        return;
    }
    if (!data)
        c->body_writes++;
}

static void raw_write(struct smtp_client *c, unsigned char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    raw_writev(c, data, &b, len ? 1 : 0);
}

static void flush_tls(struct smtp_client *c)
{
    size_t n;
    unsigned char *d = c->tls ? tls_io_take_output(c->tls, &n) : NULL;
    if (d)
        raw_write(c, d, n);
}

static void send_bytes(struct smtp_client *c, const void *p, size_t n)
{
    if (!n)
        return;
    if (c->tls) {
        if (tls_io_write(c->tls, p, n))
            c->write_err = MG_ECRYPTO, defer(c);
        flush_tls(c);
        return;
    }
    if (c->tcp_state == 1) {
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
        if (try_writev(c, &b, 1) == 0)
            return; /* all written: no copy needed */
        p = b.base;
        n = b.len;
    }
    unsigned char *d = malloc(n);
    if (!d) {
        c->write_err = MG_ENOMEM;
        defer(c);
        return;
    }
    memcpy(d, p, n);
    raw_write(c, d, n);
}

/* The session's queued commands go out. 1 if anything was written. */
static int flush_out(struct smtp_client *c)
{
    struct mg_buf *out = &c->sess.out;
    if (!out->len)
        return 0;
    send_bytes(c, out->data, out->len);
    mg_buf_reset(out);
    return 1;
}

/* The content, dot-stuffed piece by piece (smtp_dotstuff), then CRLF.CRLF. */
static void send_body(struct smtp_client *c)
{
    const struct smtp_envelope *e = c->sess.env;
    struct smtp_dotstuff it;
    smtp_dotstuff_init(&it, e->content, e->content_len);
    uv_buf_t bufs[BODY_BATCH];
    unsigned n = 0;
    const void *base;
    size_t len;
    while (c->tcp_state == 1 && !c->write_err && smtp_dotstuff_next(&it, &base, &len)) {
        if (c->tls) {
            if (tls_io_write(c->tls, base, len)) {
                c->write_err = MG_ECRYPTO;
                defer(c);
                break;
            }
            if (tls_io_output_pending(c->tls) >= TLS_FLUSH)
                flush_tls(c);
            continue;
        }
        const char *p = base;
        while (len) {
            size_t k = len > MAX_PIECE ? MAX_PIECE : len;
            /* libuv's uv_buf_t is not const; the bytes are only read. */
            bufs[n++] = uv_buf_init((char *)(uintptr_t)p, (unsigned)k);
            p += k;
            len -= k;
            if (n == BODY_BATCH) {
                raw_writev(c, NULL, bufs, n);
                n = 0;
            }
        }
    }
    if (n)
        raw_writev(c, NULL, bufs, n);
    flush_tls(c);
}

/* ---------------------------------------------------------------- timers */

static void on_client_timer(uv_timer_t *t);

static void arm(struct smtp_client *c, unsigned ms) { uv_timer_start(&c->timer, on_client_timer, ms, 0); }
static unsigned cmd_ms(const struct smtp_client *c) { return c->o.cmd_timeout_ms ? c->o.cmd_timeout_ms : 300000; }
static unsigned data_ms(const struct smtp_client *c) { return c->o.data_timeout_ms ? c->o.data_timeout_ms : 600000; }
static unsigned conn_ms(const struct smtp_client *c) { return c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 30000; }

/* Restart the timer when a command went out or what we wait for changed; stop it when idle. */
static void update_timer(struct smtp_client *c, int wrote)
{
    int kind = c->sess_live ? smtp_client_session_waiting(&c->sess) : 0;
    if (!kind)
        uv_timer_stop(&c->timer);
    else if (wrote || kind != c->timer_kind)
        arm(c, kind == 2 ? data_ms(c) : cmd_ms(c));
    c->timer_kind = kind;
}

static void on_client_timer(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    conn_failed(c, 421, "4.4.2", "Timeout waiting for %s", c->peer_label[0] ? c->peer_label : "-");
}

/* ---------------------------------------------------------------- connection */

static void tcp_closed(uv_handle_t *h)
{
    struct smtp_client *c = h->data;
    c->tcp_state = 0;
    /* The next address (if any) can only start once the handle is free again. */
    if (!c->closing && c->phase == P_CONNECT)
        start_next_candidate(c);
    else if (c->done_pending)
        defer(c);
    maybe_free(c);
}

static void close_tcp(struct smtp_client *c)
{
    tls_io_free(c->tls);
    c->tls = NULL;
    uv_timer_stop(&c->timer);
    c->timer_kind = 0;
    if (c->tcp_state == 1) {
        c->tcp_state = 2;
        uv_close((uv_handle_t *)&c->tcp, tcp_closed);
    }
}

static void report_open(struct smtp_client *c, int status, const struct smtp_reply *r)
{
    if (c->open_reported)
        return;
    c->open_reported = 1;
    if (c->open_cb)
        c->open_cb(c, status, r, c->open_arg);
}

/* The results are final: hand them to sent_cb, unless content writes still point into the
 * caller's envelope (then from on_write / tcp_closed through the defer timer). */
static void finish_message(struct smtp_client *c)
{
    if (!c->in_flight)
        return;
    if (c->body_writes && c->tcp_state == 1) {
        c->done_pending = 1;
        return;
    }
    c->done_pending = 0;
    size_t n;
    int status;
    struct smtp_reply *res = smtp_client_session_take_results(&c->sess, &n, &status);
    if (!res)
        return; /* not final yet */
    c->in_flight = 0;
    smtp_client_sent_cb cb = c->sent_cb;
    void *arg = c->sent_arg;
    if (c->closing && status == 0)
        status = MG_ECLOSED;
    if (cb)
        cb(c, status, res, n, arg);
    free(res);
}

/* The connection cannot go on (why: the session's or our reason). While opening, keep the
 * most telling explanation (a peer's 5xx beats a local 4xx) and try the next address. */
static void connection_lost(struct smtp_client *c, const struct smtp_reply *why)
{
    if (c->phase == P_DEAD)
        return;
    char q[300];
    mg_info("event=smtp_client_conn_failed peer=%s addr=%s code=%d enhanced=%s text=%s",
            c->info.peer_name ? c->info.peer_name : "-", c->peer_addr[0] ? c->peer_addr : "-", why->code,
            why->enhanced[0] ? why->enhanced : "-", mg_log_quote(why->text, q, sizeof q));
    if (!c->open_reported) {
        if (!c->best.code || why->code >= c->best.code)
            c->best = *why;
        if (c->phase != P_RESOLVE && c->cur + 1 < c->ncand && !c->closing) {
            c->phase = P_CONNECT;
            if (c->tcp_state == 1)
                close_tcp(c); /* tcp_closed() starts the next candidate */
            else if (c->tcp_state == 0)
                start_next_candidate(c);
            return;
        }
        close_tcp(c);
        c->phase = P_DEAD;
        report_open(c, c->best.code >= 500 ? MG_EDENIED : MG_ETEMP, &c->best);
        return;
    }
    close_tcp(c);
    c->phase = P_DEAD;
}

static void conn_failed(struct smtp_client *c, int code, const char *enh, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->sess_live && c->sess.state != SCS_DONE) {
        smtp_client_session_fail(&c->sess, code, enh, text); /* raises FAILED (and MSG_DONE) */
        after_session(c);
        return;
    }
    struct smtp_reply r;
    smtp_reply_set(&r, code, enh, text);
    connection_lost(c, &r);
}

static void ready(struct smtp_client *c)
{
    c->phase = P_SESSION;
    mg_info("event=smtp_client_ready peer=%s addr=%s port=%d tls=%s verified=%s esmtp=%d", c->info.peer_name,
            c->peer_addr, c->info.port, c->info.tls ? c->info.tls_version : "no",
            c->info.tls_verified ? "yes" : "no", c->info.esmtp);
    report_open(c, 0, &c->sess.last);
}

static void start_tls(struct smtp_client *c)
{
    const char *name = c->verify_name ? c->verify_name : c->cand[c->cur].c.name;
    if (tls_io_create(&c->tls, c->tls_ctx, 0, name)) {
        conn_failed(c, 421, "4.3.0", "Cannot start TLS");
        return;
    }
    flush_tls(c);
    arm(c, cmd_ms(c));
}

static void copy_ext(struct smtp_client *c)
{
    const struct smtp_client_ext *x = &c->sess.ext;
    struct smtp_client_info *in = &c->info;
    in->esmtp = x->esmtp;
    in->pipelining = x->pipelining;
    in->size_ext = x->size_ext;
    in->dsn = x->dsn;
    in->eightbitmime = x->eightbitmime;
    in->smtputf8 = x->smtputf8;
    in->chunking = x->chunking;
    in->starttls_offered = x->starttls_offered;
    in->max_size = x->max_size;
}

/* Act on what the session asked for after a call into it. Order matters: a failure first (so
 * the client is unusable inside sent_cb), then the message's results, then the rest. */
static void after_session(struct smtp_client *c)
{
    if (!c->sess_live)
        return;
    struct smtp_client_session *s = &c->sess;
    unsigned ev = s->events;
    s->events = 0;
    copy_ext(c);
    int wrote = flush_out(c);
    if (ev & SCS_EV_FAILED) {
        struct smtp_reply why = s->fail;
        connection_lost(c, &why);
    } else {
        if (ev & SCS_EV_STARTTLS)
            start_tls(c);
        if (ev & SCS_EV_BODY) {
            send_body(c);
            wrote = 1;
        }
        if (c->tcp_state == 1)
            update_timer(c, wrote);
    }
    if (ev & SCS_EV_MSG_DONE) {
        finish_message(c);
        if (c->closing)
            return;
    }
    if (ev & SCS_EV_CLOSED) {
        close_tcp(c);
        c->phase = P_DEAD;
    }
    if ((ev & SCS_EV_READY) && !(ev & SCS_EV_FAILED))
        ready(c);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    char *p = malloc(65536);
    *b = uv_buf_init(p, p ? 65536 : 0);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct smtp_client *c = st->data;
    if (c->tcp_state != 1 || c->phase == P_DEAD || !c->sess_live) {
        free(buf->base);
        return;
    }
    if (nread < 0) {
        free(buf->base);
        if (c->sess.state == SCS_QUIT) {
            close_tcp(c);
            c->phase = P_DEAD;
            return;
        }
        conn_failed(c, 421, "4.4.2", "Connection to %s lost: %s", c->peer_addr, uv_strerror((int)nread));
        return;
    }
    if (!c->tls) {
        smtp_client_session_input(&c->sess, buf->base, (size_t)nread);
        free(buf->base);
        after_session(c);
        return;
    }
    mg_buf_reset(&c->plain);
    int rc = tls_io_feed(c->tls, buf->base, (size_t)nread, &c->plain);
    free(buf->base);
    flush_tls(c);
    if (rc) {
        if (c->sess.state == SCS_TLS && c->o.starttls == SMTP_CLIENT_TLS_OPPORTUNISTIC && !c->open_reported) {
            /* Opportunistic: try this address again without TLS (RFC 3207 §4.1 leaves it to
             * the client; refusing to deliver at all would be worse than plaintext). */
            mg_info("event=smtp_client_tls_failed peer=%s addr=%s err=\"%s\" action=retry_plaintext",
                    c->cand[c->cur].c.name, c->peer_addr, tls_io_last_error(c->tls));
            c->cand[c->cur].no_tls = 1;
            c->cur--;
            c->phase = P_CONNECT;
            close_tcp(c);
            return;
        }
        conn_failed(c, 421, rc == MG_EVERIFY ? "4.7.5" : "4.7.0", "TLS with %s failed: %s", c->peer_addr,
                    tls_io_last_error(c->tls));
        return;
    }
    if (c->sess.state == SCS_TLS && tls_io_handshake_done(c->tls)) {
        c->info.tls = 1;
        c->info.tls_verified = tls_io_peer_verified(c->tls);
        snprintf(c->tls_version, sizeof c->tls_version, "%s", tls_io_version(c->tls));
        snprintf(c->tls_cipher, sizeof c->tls_cipher, "%s", tls_io_cipher(c->tls));
        smtp_client_session_tls_started(&c->sess);
    }
    if (c->plain.len)
        smtp_client_session_input(&c->sess, c->plain.data, c->plain.len);
    after_session(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct smtp_client *c = req->data;
    free(req);
    if (c->closing || c->phase != P_CONNECT || c->tcp_state != 1)
        return;
    if (status < 0) {
        conn_failed(c, 421, "4.4.1", "Connection to %s failed: %s", c->peer_label, uv_strerror(status));
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
        conn_failed(c, 421, "4.4.1", "Cannot read from %s", c->peer_addr);
        return;
    }
    struct smtp_client_session_cfg sc = {
        .helo = c->helo,
        .peer = c->peer_label,
        .starttls = c->o.starttls,
        .no_tls = c->cand[c->cur].no_tls,
        .max_reply_lines = c->o.max_reply_lines,
    };
    if (c->sess_live)
        smtp_client_session_free(&c->sess);
    smtp_client_session_init(&c->sess, &sc);
    c->sess_live = 1;
    c->phase = P_SESSION;
    update_timer(c, 1); /* the greeting */
}

static void start_next_candidate(struct smtp_client *c)
{
    if (c->closing)
        return;
    c->cur++;
    if (c->cur >= c->ncand) {
        c->phase = P_DEAD;
        report_open(c, c->best.code >= 500 ? MG_EDENIED : MG_ETEMP, &c->best);
        return;
    }
    if (c->sess_live) { /* the previous address's session */
        smtp_client_session_free(&c->sess);
        c->sess_live = 0;
    }
    struct candidate *k = &c->cand[c->cur];
    memset(&c->info, 0, sizeof c->info);
    c->info.peer_name = k->c.name;
    c->info.peer_addr = c->peer_addr;
    c->tls_version[0] = c->tls_cipher[0] = 0;
    c->info.tls_version = c->tls_version;
    c->info.tls_cipher = c->tls_cipher;
    if (k->c.addr.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&k->c.addr, c->peer_addr, sizeof c->peer_addr);
        c->info.port = ntohs(((struct sockaddr_in6 *)&k->c.addr)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&k->c.addr, c->peer_addr, sizeof c->peer_addr);
        c->info.port = ntohs(((struct sockaddr_in *)&k->c.addr)->sin_port);
    }
    snprintf(c->peer_label, sizeof c->peer_label, "%s [%s]", k->c.name, c->peer_addr);
    c->phase = P_CONNECT;
    uv_tcp_init(c->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_state = 1;
    uv_connect_t *req = malloc(sizeof *req);
    if (!req) {
        conn_failed(c, 421, "4.3.0", "Out of memory");
        return;
    }
    req->data = c;
    int rc = uv_tcp_connect(req, &c->tcp, (struct sockaddr *)&k->c.addr, on_connect);
    if (rc) {
        free(req);
        conn_failed(c, 421, "4.4.1", "Connection to %s failed: %s", c->peer_label, uv_strerror(rc));
        return;
    }
    arm(c, conn_ms(c));
}

/* ---------------------------------------------------------------- resolution */

static void dns_closed(void *arg)
{
    struct smtp_client *c = arg;
    c->dns_open = 0;
    maybe_free(c);
}

static void dns_done(void *arg, int status, const struct smtp_reply *err,
                     const struct smtp_dns_candidate *cands, size_t n)
{
    struct smtp_client *c = arg;
    for (size_t i = 0; status == 0 && i < n && i < SMTP_DNS_MAX_CANDIDATES; i++) {
        c->cand[i].c = cands[i];
        c->cand[i].no_tls = 0;
    }
    c->ncand = status == 0 ? (int)n : 0;
    smtp_dns_close(c->dns, dns_closed, c);
    c->dns = NULL;
    if (c->closing)
        return;
    if (status) {
        connection_lost(c, err);
        return;
    }
    c->cur = -1;
    start_next_candidate(c);
}

static void start_open(struct smtp_client *c)
{
    /* A literal address needs no DNS. */
    struct mg_hostport hp;
    if (c->host && mg_hostport_parse(c->host, 0, &hp) == 0 && hp.family != AF_UNSPEC &&
        mg_hostport_sockaddr(&hp, c->port, &c->cand[0].c.addr, NULL) == 0) {
        snprintf(c->cand[0].c.name, sizeof c->cand[0].c.name, "%s", c->host);
        c->ncand = 1;
        c->cur = -1;
        start_next_candidate(c);
        return;
    }
    int rc = smtp_dns_create(&c->dns, c->loop, c->dns_servers);
    if (rc == 0) {
        c->dns_open = 1;
        rc = smtp_dns_resolve(c->dns, c->host ? c->host : c->domain, !c->host, c->port, dns_done, c);
        if (rc) {
            smtp_dns_close(c->dns, dns_closed, c);
            c->dns = NULL;
        }
    }
    if (rc) {
        struct smtp_reply r;
        smtp_reply_set(&r, 451, "4.4.3", "DNS resolver initialisation failed");
        connection_lost(c, &r);
    }
}

static void on_defer(uv_timer_t *t)
{
    struct smtp_client *c = t->data;
    if (c->closing)
        return;
    if (!c->open_started) {
        c->open_started = 1;
        start_open(c);
        return;
    }
    if (c->deferred_result) {
        c->deferred_result = 0;
        finish_message(c);
    }
    if (c->done_pending && !c->closing)
        finish_message(c);
    if (c->write_err && !c->closing) {
        int e = c->write_err;
        c->write_err = 0;
        conn_failed(c, 421, e == MG_ENOMEM ? "4.3.0" : "4.4.2", "Write to %s failed: %s", c->peer_addr,
                    mg_strerror(e));
    }
}

/* ---------------------------------------------------------------- public */

int smtp_client_send(struct smtp_client *c, const struct smtp_envelope *env,
                     smtp_client_sent_cb sent_cb, void *arg)
{
    if (!sent_cb || smtp_client_session_check_env(env))
        return MG_EINVAL;
    if (c->closing || c->phase == P_DEAD || (c->sess_live && c->sess.state == SCS_DONE))
        return MG_ECLOSED;
    if (!c->sess_live || c->phase != P_SESSION || c->in_flight || c->deferred_result || !c->open_reported)
        return MG_ESTATE;
    int rc = smtp_client_session_send(&c->sess, env);
    if (rc)
        return rc;
    c->in_flight = 1;
    c->sent_cb = sent_cb;
    c->sent_arg = arg;
    if (c->sess.events & SCS_EV_MSG_DONE) {
        /* Refused here (SMTPUTF8, 8BITMIME, SIZE): reported from the loop, never from inside
         * this call. */
        c->sess.events &= ~(unsigned)SCS_EV_MSG_DONE;
        c->deferred_result = 1;
        defer(c);
        return 0;
    }
    int wrote = flush_out(c);
    update_timer(c, wrote);
    return 0;
}

int smtp_client_usable(const struct smtp_client *c)
{
    return !c->closing && c->phase == P_SESSION && c->sess_live && smtp_client_session_usable(&c->sess);
}

const struct smtp_client_info *smtp_client_get_info(const struct smtp_client *c) { return &c->info; }

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct smtp_client *c = req->data;
    if (c->tcp_state == 1)
        close_tcp(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct smtp_client *c = h->data;
    c->timers_open--;
    maybe_free(c);
}

static void free_opts(struct smtp_client *c)
{
    if (c->tls_ctx_owned)
        tls_io_ctx_free(c->tls_ctx);
    free(c->helo);
    free(c->host);
    free(c->domain);
    free(c->dns_servers);
    free(c->ca_file);
    free(c->verify_name);
    mg_buf_free(&c->plain);
}

static void maybe_free(struct smtp_client *c)
{
    if (!c->closing || c->timers_open || c->tcp_state || c->dns_open)
        return;
    void (*cb)(void *) = c->closed_cb;
    void *arg = c->closed_arg;
    tls_io_free(c->tls);
    if (c->sess_live)
        smtp_client_session_free(&c->sess);
    free_opts(c);
    free(c);
    if (cb)
        cb(arg);
}

static int dupopt(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : MG_ENOMEM;
}

int smtp_client_open(struct smtp_client **out, uv_loop_t *loop, const struct smtp_client_opts *o,
                     smtp_client_open_cb open_cb, void *arg)
{
    *out = NULL;
    if (!loop || !o || (!o->host && !o->domain) || !open_cb)
        return MG_EINVAL;
    struct smtp_client *c = calloc(1, sizeof *c);
    if (!c)
        return MG_ENOMEM;
    c->loop = loop;
    c->o = *o;
    c->port = o->port ? o->port : 25;
    mg_buf_init(&c->plain, 1 << 20);
    int rc = dupopt(&c->helo, o->helo_name ? o->helo_name : "localhost");
    if (!rc && o->host) {
        /* The one host:port parser: "name", "name:port", "v4:port", "[v6]:port", bare v6. */
        struct mg_hostport hp;
        rc = mg_hostport_parse(o->host, 0, &hp);
        if (!rc && hp.has_port)
            c->port = hp.port;
        if (!rc)
            rc = dupopt(&c->host, hp.host);
    }
    if (!rc && !o->host)
        rc = dupopt(&c->domain, o->domain);
    if (!rc)
        rc = dupopt(&c->dns_servers, o->dns_servers);
    if (!rc)
        rc = dupopt(&c->ca_file, o->tls_ca_file);
    if (!rc)
        rc = dupopt(&c->verify_name, o->tls_verify_name);
    if (!rc && o->starttls != SMTP_CLIENT_TLS_NONE) {
        if (o->tls_ctx) {
            c->tls_ctx = o->tls_ctx;
        } else {
            rc = tls_io_ctx_client_create(&c->tls_ctx, o->tls_verify, c->ca_file) ? MG_EINVAL : 0;
            c->tls_ctx_owned = rc == 0;
        }
    }
    /* The HELO name goes on the wire verbatim. */
    for (const char *p = c->helo; !rc && p && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 127)
            rc = MG_EINVAL;
    if (rc) {
        free_opts(c);
        free(c);
        return rc;
    }
    c->o.helo_name = c->helo;
    c->o.host = c->host;
    c->o.domain = c->domain;
    c->o.dns_servers = c->dns_servers;
    c->o.tls_ca_file = c->ca_file;
    c->o.tls_verify_name = c->verify_name;
    c->open_cb = open_cb;
    c->open_arg = arg;
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->defer);
    c->timer.data = c->defer.data = c;
    c->shutdown_req.data = c;
    c->timers_open = 2;
    c->phase = P_RESOLVE;
    c->cur = -1;
    *out = c;
    /* Everything else happens from the loop, so open_cb never runs inside this call (c-ares
     * may answer from /etc/hosts or fail at once, and a connect may fail synchronously). */
    defer(c);
    return 0;
}

void smtp_client_close(struct smtp_client *c, void (*closed_cb)(void *arg), void *arg)
{
    if (c->closing)
        return;
    c->closed_cb = closed_cb;
    c->closed_arg = arg;
    if (!c->open_reported) {
        struct smtp_reply r;
        smtp_reply_set(&r, 421, "4.4.0", "Closed while connecting");
        c->closing = 1;
        report_open(c, MG_ECLOSED, &r);
    }
    c->closing = 1;
    if (c->dns) {
        smtp_dns_close(c->dns, dns_closed, c); /* its callback never runs now */
        c->dns = NULL;
    }
    if (c->in_flight) {
        if (c->sess.state != SCS_DONE && !c->deferred_result)
            smtp_client_session_fail(&c->sess, 421, "4.4.0", "Connection closed by the sender");
        c->sess.events = 0;
        close_tcp(c); /* no content write is pending past this point */
        c->deferred_result = 0;
        finish_message(c);
    }
    if (c->sess_live && c->tcp_state == 1 && smtp_client_session_quit(&c->sess)) {
        /* Polite QUIT; the handle closes after the write has gone (uv_shutdown waits for it). */
        flush_out(c);
        if (c->tls) {
            tls_io_shutdown(c->tls);
            flush_tls(c);
        }
        if (c->tcp_state == 1 && uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) == 0) {
            c->phase = P_DEAD;
            uv_close((uv_handle_t *)&c->timer, timer_closed);
            uv_close((uv_handle_t *)&c->defer, timer_closed);
            return;
        }
    }
    close_tcp(c);
    c->phase = P_DEAD;
    uv_close((uv_handle_t *)&c->timer, timer_closed);
    uv_close((uv_handle_t *)&c->defer, timer_closed);
}
