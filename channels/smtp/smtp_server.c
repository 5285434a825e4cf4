/* smtp_server: libuv transport for smtp_session (see smtp_server.h).
 *
 * Lifetime: a conn embeds its uv_tcp_t and uv_timer_t. It is referenced once by the open
 * connection and once by each pending txn. conn_close() is the one close path: it closes both
 * handles; when both close callbacks ran the connection reference is dropped; the memory goes
 * when the last reference does. The server itself is freed when it is closing, its listener
 * has closed and no conn is left. */
#include "smtp_server.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_err.h"
#include "mg_hostport.h"
#include "mg_log.h"
#include "smtp_session.h"
#include "smtp_rate.h"
#include "tls_io.h"

/* Input buffered while a message is pending before we stop reading. */
#define WAIT_INPUT_MAX 65536
/* Replies queued to a client that does not read them before we stop reading its commands
 * (otherwise a pipelining client that never reads could grow our write queue without end). */
#define WRITE_QUEUE_MAX (256 * 1024)
/* How long a closing session may wait for its last replies to drain. */
#define LINGER_MS 10000

struct smtp_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listener_open;
    struct smtp_server_opts opts;
    char *hostname, *listen;
    struct smtp_server_callbacks cbs;
    void *cb_arg;
    struct smtp_session_cfg cfg;
    struct conn *conns;          /* every conn not yet freed (open or held by a txn) */
    unsigned nopen;              /* conns with open handles */
    struct smtp_server_stats stats;
    unsigned long next_id;
    unsigned long id_base;
    int port;
    int closing;
    void (*closed_cb)(void *);
    void *closed_arg;
    struct smtp_rate rate;       /* connections per client per minute */
    /* Freed connection records kept for the next ones (owned, linked by next): a record is
     * 66 KB with its read buffer, and allocating and freeing one per SMTP session made the
     * allocator consolidate its free lists over and over on a busy relay. */
    struct conn *spare;
    unsigned nspare;
};
#define SPARE_CONNS_MAX 32

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct smtp_server *srv;
    struct conn *prev, *next;
    int refs;
    int handles;              /* open handles (0..2) */
    int closing;              /* conn_close() ran */
    int close_after_write;    /* close once the queued writes finished */
    int writes;               /* writes in flight */
    int reading;
    int write_paused;         /* reading stopped because the client does not read */
    int counted_open;
    uint64_t idle_since;      /* loop ms of the last input (fairness: longest idle goes first) */
    struct smtp_session sess;
    struct tls_io *tls;
    struct mg_buf plain;      /* decrypted input of one read */
    char id[32];
    char addr[64];
    int port;
    char rbuf[65536];         /* last member: not zeroed when the connection is made */
};

struct smtp_server_txn {
    struct conn *c;
    struct smtp_envelope *env;
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    unsigned char *data;
};

static void conn_close(struct conn *c);
static void conn_after(struct conn *c);
static void server_maybe_free(struct smtp_server *s);

static void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    struct smtp_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    smtp_session_free(&c->sess);
    tls_io_free(c->tls);
    mg_buf_free(&c->plain);
    if (s->nspare < SPARE_CONNS_MAX && !s->closing) {
        c->next = s->spare;
        s->spare = c;
        s->nspare++;
    } else {
        free(c);
    }
    server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0)
        return;
    conn_unref(c);
}

/* A session stops counting against max_sessions and max_sessions_per_client as soon as its
 * last reply is queued (QUIT, 421, a TLS failure): it takes no more commands, and a client
 * that reconnects right after QUIT must not be refused while our 221 is still being written. */
static void conn_uncount(struct conn *c)
{
    if (c->counted_open) {
        c->counted_open = 0;
        c->srv->nopen--;
        c->srv->stats.sessions_open--;
    }
}

static void conn_finishing(struct conn *c)
{
    c->close_after_write = 1;
    conn_uncount(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    conn_uncount(c);
    mg_info("event=smtp_disconnect session=%s client=%s", c->id, c->addr);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    free(w->data);
    free(w);
    c->writes--;
    if (status < 0 && !c->closing) {
        mg_info("event=smtp_write_error session=%s err=%s", c->id, uv_strerror(status));
        conn_close(c);
        return;
    }
    if (c->close_after_write && c->writes == 0) {
        conn_close(c);
        return;
    }
    if (c->write_paused && !c->closing &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < WRITE_QUEUE_MAX / 2) {
        c->write_paused = 0;
        conn_after(c);
    }
}

/* Send bytes we own (taken by this call on every path). */
static void raw_write(struct conn *c, unsigned char *data, size_t len)
{
    if (!len || c->closing) {
        free(data);
        return;
    }
    struct wreq *w = malloc(sizeof *w);
    if (!w) {
        free(data);
        conn_close(c);
        return;
    }
    w->c = c;
    w->data = data;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc) {
        free(data);
        free(w);
        conn_close(c);
        return;
    }
    c->writes++;
}

static void flush_tls(struct conn *c)
{
    size_t n;
    unsigned char *d = tls_io_take_output(c->tls, &n);
    if (d)
        raw_write(c, d, n);
}

/* Drain the session's replies to the wire (through TLS when active). */
static void flush_out(struct conn *c)
{
    struct mg_buf *o = &c->sess.out;
    if (!o->len)
        return;
    if (c->tls) {
        if (tls_io_write(c->tls, o->data, o->len))
            conn_close(c);
        mg_buf_reset(o);
        flush_tls(c);
        return;
    }
    /* Most replies fit the socket buffer: written at once, with no request, copy or callback
     * (only when nothing is queued before them, so the order stays). */
    if (!c->closing && c->writes == 0 &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        uv_buf_t b = uv_buf_init((char *)o->data, (unsigned)o->len);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w > 0 && (size_t)w == o->len) {
            mg_buf_reset(o);
            return;
        }
        if (w > 0) {
            memmove(o->data, o->data + w, o->len - (size_t)w);
            o->len -= (size_t)w;
            o->data[o->len] = 0;
        }
    }
    size_t n;
    unsigned char *d = mg_buf_steal(o, &n);
    raw_write(c, d, n);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    mg_info("event=smtp_timeout session=%s client=%s in_content=%d", c->id, c->addr,
            smtp_session_in_content(&c->sess));
    smtp_session_timeout(&c->sess);
    conn_after(c);
}

static void on_linger(uv_timer_t *t)
{
    struct conn *c = t->data;
    mg_info("event=smtp_linger_expired session=%s client=%s", c->id, c->addr);
    conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (c->closing)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    c->idle_since = uv_now(c->srv->loop);
    if (!c->tls) {
        smtp_session_input(&c->sess, buf->base, (size_t)nread);
        conn_after(c);
        return;
    }
    int was_done = tls_io_handshake_done(c->tls);
    mg_buf_reset(&c->plain);
    int rc = tls_io_feed(c->tls, buf->base, (size_t)nread, &c->plain);
    flush_tls(c);
    if (!was_done && tls_io_handshake_done(c->tls)) {
        smtp_session_tls_started(&c->sess, tls_io_version(c->tls), tls_io_cipher(c->tls));
        mg_info("event=smtp_starttls session=%s client=%s version=%s cipher=%s", c->id, c->addr,
                tls_io_version(c->tls), tls_io_cipher(c->tls));
    }
    if (rc) {
        mg_info("event=smtp_tls_error session=%s client=%s err=%s", c->id, c->addr,
                rc == MG_ECLOSED ? "close_notify" : tls_io_last_error(c->tls));
        conn_finishing(c);
        if (c->writes == 0)
            conn_close(c);
        return;
    }
    if (c->plain.len)
        smtp_session_input(&c->sess, c->plain.data, c->plain.len);
    conn_after(c);
}

static unsigned timeout_ms(const struct conn *c)
{
    const struct smtp_server_opts *o = &c->srv->opts;
    if (smtp_session_in_content(&c->sess))
        return o->data_timeout_ms ? o->data_timeout_ms : 180000;
    unsigned cmd = o->cmd_timeout_ms ? o->cmd_timeout_ms : 300000;
    if (c->sess.commands == 0) {
        unsigned first = o->first_cmd_timeout_ms ? o->first_cmd_timeout_ms : 30000;
        return first < cmd ? first : cmd;
    }
    return cmd;
}

/* After the session ran: send its replies and act on its flags. */
static void conn_after(struct conn *c)
{
    if (c->closing)
        return;
    flush_out(c);
    if (c->closing)
        return;
    struct smtp_session *s = &c->sess;
    if (s->state == SMTP_SESSION_DONE) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
        conn_finishing(c);
        if (c->writes == 0)
            conn_close(c);
        else /* a client that never reads must not keep the session forever */
            uv_timer_start(&c->timer, on_linger, LINGER_MS, 0);
        return;
    }
    if (s->want_starttls) {
        s->want_starttls = 0;
        /* The 220 went out in plaintext above; from here on everything is TLS. */
        if (tls_io_create(&c->tls, c->srv->opts.tls_ctx, 1, NULL)) {
            conn_finishing(c);
            if (c->writes == 0)
                conn_close(c);
            return;
        }
    }
    if (s->state == SMTP_SESSION_WAIT) {
        /* While the message is made durable the client waits for us: no timeout. We keep
         * reading so a disconnect is noticed (smtp_server_txn_client_gone), buffering what a
         * pipelining client sends up to a bound, then apply back-pressure. */
        uv_timer_stop(&c->timer);
        if (c->reading && s->in.len > WAIT_INPUT_MAX) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = 0;
        }
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > WRITE_QUEUE_MAX) {
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = 0;
        }
        c->write_paused = 1;
        /* The command timer keeps running: a client that reads nothing for that long goes. */
        uv_timer_start(&c->timer, on_timer, timeout_ms(c), 0);
        return;
    }
    if (!c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
            conn_close(c);
            return;
        }
        c->reading = 1;
    }
    uv_timer_start(&c->timer, on_timer, timeout_ms(c), 0);
}

static void on_message(void *hook_arg, struct smtp_session *sess, struct smtp_envelope *env)
{
    struct conn *c = (struct conn *)((char *)sess - offsetof(struct conn, sess));
    struct smtp_server_txn *t = calloc(1, sizeof *t);
    if (!t) {
        smtp_envelope_free(env);
        free(env);
        struct smtp_reply r = { .code = 451, .enhanced = "4.3.0", .text = "Out of memory" };
        smtp_session_message_done(&c->sess, &r);
        return;
    }
    t->c = c;
    t->env = env;
    c->refs++;
    c->srv->stats.txns_pending++;
    c->srv->cbs.message(c->srv->cb_arg, t, env);
}

void smtp_server_txn_complete(struct smtp_server_txn *t, const struct smtp_reply *reply)
{
    struct conn *c = t->c;
    struct smtp_server *s = c->srv;
    s->stats.txns_pending--;
    int code = reply ? reply->code : 250;
    if (code >= 200 && code < 300)
        s->stats.messages_accepted++;
    else
        s->stats.messages_rejected++;
    if (c->closing) {
        mg_warn("event=smtp_reply_dropped session=%s client=%s code=%d reason=client_gone", c->id,
                c->addr, code);
    } else {
        /* an accepted message is logged by whoever accepted it, with its queue id
         * (event=accepted): the line here only says more when the answer was a refusal */
        if (code < 400)
            mg_debug("event=smtp_accept session=%s client=%s code=%d", c->id, c->addr, code);
        else
            mg_info("event=smtp_reject session=%s client=%s code=%d", c->id, c->addr, code);
        smtp_session_message_done(&c->sess, reply);
        /* If we are inside the message callback (synchronous completion) the session's own
         * read path flushes; otherwise we do it here. */
        if (!c->sess.processing)
            conn_after(c);
    }
    smtp_envelope_free(t->env);
    free(t->env);
    free(t);
    conn_unref(c);
}

int smtp_server_txn_client_gone(const struct smtp_server_txn *t) { return t->c->closing; }

/* Sessions from addr that still count (see conn_uncount); the new one is not counted yet. */
/* The server is full and a client with `mine` sessions knocks: if some client has more than
 * mine + 1, close that client's longest idle session (nothing under way: no MAIL, no message
 * pending, not closing) so the newcomer gets its slot. */
static unsigned client_count(const struct smtp_server *s, const char *addr);

static void make_room(struct smtp_server *s, unsigned mine)
{
    struct conn *victim = NULL;
    unsigned most = 0;
    for (struct conn *c = s->conns; c; c = c->next) {
        if (!c->counted_open || c->closing || c->close_after_write || c->sess.have_mail ||
            c->sess.state != SMTP_SESSION_CMD || c->sess.want_starttls)
            continue;
        unsigned n = client_count(s, c->addr);
        if (n > most || (n == most && victim && c->idle_since < victim->idle_since)) {
            most = n;
            victim = c;
        }
    }
    if (!victim || most <= mine + 1)
        return;
    mg_info("event=smtp_evict session=%s client=%s sessions=%u detail=\"server full: the busiest client's "
            "longest idle session makes room\"", victim->id, victim->addr, most);
    mg_buf_appendf(&victim->sess.out, "421 4.7.0 %s Too many connections from your address, closing\r\n",
                   s->hostname);
    victim->sess.state = SMTP_SESSION_DONE;
    conn_after(victim);
}

static unsigned client_count(const struct smtp_server *s, const char *addr)
{
    unsigned n = 0;
    for (const struct conn *c = s->conns; c; c = c->next)
        if (c->counted_open && !strcmp(c->addr, addr))
            n++;
    return n;
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct smtp_server *s = ls->data;
    if (status < 0 || s->closing)
        return;
    /* Everything but the read buffer starts zeroed: clearing 64 KiB for each connection was
     * a visible share of a busy relay's CPU, and the buffer is only ever read after a read
     * filled it. */
    struct conn *c = s->spare;
    if (c) {
        s->spare = c->next;
        s->nspare--;
    } else {
        c = malloc(sizeof *c);
    }
    if (!c) {
        mg_warn("event=smtp_accept_failed err=%s", mg_strerror(MG_ENOMEM));
        return;
    }
    memset(c, 0, offsetof(struct conn, rbuf));
    c->srv = s;
    c->refs = 1;
    mg_buf_init(&c->plain, 0);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    snprintf(c->id, sizeof c->id, "%lx%05lu", s->id_base, ++s->next_id);
    smtp_session_init(&c->sess, &s->cfg, c->id, NULL, 0);
    if (uv_accept(ls, (uv_stream_t *)&c->tcp)) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    strcpy(c->addr, "unknown");
    if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl)) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, c->addr, sizeof c->addr);
            c->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->addr, sizeof c->addr);
            c->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    smtp_envelope_set_str(&c->sess.env.client_addr, c->addr);
    c->sess.env.client_port = c->port;
    s->stats.sessions_total++;
    unsigned max_total = s->opts.max_sessions ? s->opts.max_sessions : 100;
    unsigned max_client = s->opts.max_sessions_per_client ? s->opts.max_sessions_per_client : 20;
    mg_info("event=smtp_connect session=%s client=%s port=%d", c->id, c->addr, c->port);
    unsigned mine = client_count(s, c->addr);
    int rate_ok = smtp_rate_allow(&s->rate, c->addr, uv_now(s->loop), s->opts.max_conn_rate);
    if (rate_ok && mine < max_client && s->nopen >= max_total)
        make_room(s, mine);
    if (!rate_ok || s->nopen >= max_total || mine >= max_client) {
        const char *why = !rate_ok ? "Too many connections per minute from your address"
                          : mine >= max_client ? "Too many connections from your address" : "Too many connections";
        mg_buf_appendf(&c->sess.out, "421 4.7.0 %s %s, try again later\r\n", s->hostname, why);
        mg_info("event=smtp_reject session=%s client=%s cmd=connect code=421 enhanced=4.7.0 text=\"%s\"",
                c->id, c->addr, why);
        c->sess.state = SMTP_SESSION_DONE;
        conn_after(c);
        return;
    }
    c->counted_open = 1;
    c->idle_since = uv_now(s->loop);
    s->nopen++;
    s->stats.sessions_open++;
    uv_tcp_nodelay(&c->tcp, 1);
    smtp_session_greet(&c->sess);
    conn_after(c);
}

/* Numeric address and port to bind, with the one host:port parser (port 0 = any). */
static int parse_listen(const char *l, struct sockaddr_storage *ss)
{
    struct mg_hostport hp;
    if (mg_hostport_parse(l, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC | MG_HOSTPORT_PORT_ZERO, &hp))
        return MG_EINVAL;
    return mg_hostport_sockaddr(&hp, 0, ss, NULL);
}

static void server_free(struct smtp_server *s)
{
    for (struct conn *c = s->spare, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    free(s->hostname);
    free(s->listen);
    free(s);
}

int smtp_server_create(struct smtp_server **out, uv_loop_t *loop,
                       const struct smtp_server_opts *opts,
                       const struct smtp_server_callbacks *cbs, void *cb_arg)
{
    *out = NULL;
    if (!loop || !opts || !cbs || !cbs->message || (opts->require_tls && !opts->tls_ctx))
        return MG_EINVAL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (parse_listen(opts->listen, &ss))
        return MG_EINVAL;
    struct smtp_server *s = calloc(1, sizeof *s);
    if (!s)
        return MG_ENOMEM;
    s->loop = loop;
    s->opts = *opts;
    s->hostname = strdup(opts->hostname ? opts->hostname : "localhost");
    s->listen = strdup(opts->listen);
    if (!s->hostname || !s->listen) {
        server_free(s);
        return MG_ENOMEM;
    }
    s->opts.hostname = s->hostname;
    s->opts.listen = s->listen;
    s->cbs = *cbs;
    s->cb_arg = cb_arg;
    s->id_base = (unsigned long)time(NULL) & 0xfffffff;
    s->cfg = (struct smtp_session_cfg){
        .hostname = s->hostname,
        .max_size = opts->max_message_size,
        .max_rcpts = opts->max_recipients,
        .max_errors = opts->max_errors,
        .max_line = opts->max_line_length,
        .bare_lf_reject = opts->bare_lf_reject,
        .tls_available = opts->tls_ctx != NULL,
        .require_tls = opts->require_tls,
        .cbs = &s->cbs,
        .cb_arg = cb_arg,
        .on_message = on_message,
    };
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->listener_open = 1;
    int rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rc) {
        mg_warn("event=smtp_listen_failed listen=%s err=%s", s->listen, uv_strerror(rc));
        /* The handle must be closed before the struct goes: free it from the close callback. */
        s->closing = 1;
        smtp_server_close(s, NULL, NULL);
        return MG_EIO;
    }
    struct sockaddr_storage b;
    int bl = sizeof b;
    if (!uv_tcp_getsockname(&s->listener, (struct sockaddr *)&b, &bl))
        s->port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                                : ((struct sockaddr_in *)&b)->sin_port);
    mg_info("event=smtp_listen listen=%s port=%d tls=%s", s->listen, s->port,
            opts->tls_ctx ? "starttls" : "no");
    *out = s;
    return 0;
}

int smtp_server_port(const struct smtp_server *s) { return s->port; }

void smtp_server_get_stats(const struct smtp_server *s, struct smtp_server_stats *st) { *st = s->stats; }

static void server_maybe_free(struct smtp_server *s)
{
    if (!s->closing || s->listener_open || s->conns)
        return;
    void (*cb)(void *) = s->closed_cb;
    void *arg = s->closed_arg;
    server_free(s);
    if (cb)
        cb(arg);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct smtp_server *s = h->data;
    s->listener_open = 0;
    server_maybe_free(s);
}

void smtp_server_close(struct smtp_server *s, void (*closed_cb)(void *arg), void *arg)
{
    s->closing = 1;
    s->closed_cb = closed_cb;
    s->closed_arg = arg;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        /* A session waiting for its txn is closed too: the txn completes into a gone client. */
        if (c->sess.state != SMTP_SESSION_WAIT)
            mg_buf_appendf(&c->sess.out, "421 4.3.2 %s Service shutting down\r\n", s->hostname);
        c->sess.state = SMTP_SESSION_DONE;
        conn_after(c);
    }
    if (s->listener_open && !uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
