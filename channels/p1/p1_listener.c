/* p1_listener: TCP (RFC 1006) listener driving one responder p1_assoc per connection
 * (p1_listener.h). Bytes in -> p1_assoc_input -> indications -> the owner's callbacks;
 * whatever the machine queued is written after each step; the connection closes once the
 * machine is closed and its last bytes are written. */
#include "p1_listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_err.h"
#include "mg_hostport.h"
#include "mg_log.h"

struct p1_listener {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    int tcp_open, closing;
    int port;
    struct p1_listener_opts opts;
    struct p1_listener_cbs cbs;
    void *arg;
    struct p1_conn *conns;       /* open connections (list) */
    unsigned nassocs;            /* connections with an accepted bind */
    unsigned long next_id;
    void (*done)(void *);
    void *done_arg;
};

struct p1_conn {
    struct p1_conn *next, *prev;
    struct p1_listener *l;       /* NULL once the listener is gone (waiting for apdu_done) */
    uv_tcp_t tcp;
    uv_timer_t timer;
    int handles;                 /* open libuv handles of this connection */
    int closing;
    int bound;                   /* counted in l->nassocs */
    int apdu_pending;            /* the owner is storing an APDU */
    int writes;                  /* writes in flight */
    struct p1_assoc a;
    struct p1_twa twa;           /* our messages for the peer (two-way alternate) */
    char id[24];
    char peer[64];
    char mta[P1_BIND_NAME_MAX + 1];
};

struct wreq {
    uv_write_t w;
    struct p1_conn *c;
    struct mg_buf b;             /* owned: the bytes being written */
};

static void conn_close(struct p1_conn *c);
static void conn_after(struct p1_conn *c);

const char *p1_conn_peer_addr(const struct p1_conn *c) { return c->peer; }
const char *p1_conn_id(const struct p1_conn *c) { return c->id; }
const char *p1_conn_peer_mta(const struct p1_conn *c) { return c->mta; }
int p1_listener_port(const struct p1_listener *l) { return l->port; }

static void listener_maybe_done(struct p1_listener *l)
{
    if (!l->closing || l->tcp_open || l->conns)
        return;
    void (*done)(void *) = l->done;
    void *arg = l->done_arg;
    free(l);
    if (done)
        done(arg);
}

static void conn_maybe_free(struct p1_conn *c)
{
    if (c->handles || c->writes || c->apdu_pending)
        return;
    struct p1_listener *l = c->l;
    if (l) {
        if (c->prev)
            c->prev->next = c->next;
        else
            l->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    p1_assoc_free(&c->a);
    free(c);
    if (l)
        listener_maybe_done(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct p1_conn *c = h->data;
    c->handles--;
    conn_maybe_free(c);
}

static void conn_close(struct p1_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    p1_twa_end(&c->twa, "the connection closed"); /* a transfer in flight goes back */
    if (c->bound && c->l) {
        c->l->nassocs--;
        c->bound = 0;
        if (c->l->cbs.unbound)
            c->l->cbs.unbound(c->l->arg, c);
    }
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_write(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct p1_conn *c = r->c;
    mg_buf_free(&r->b);
    free(r);
    c->writes--;
    if (status < 0 && !c->closing) {
        mg_warn("event=p1_write_failed session=%s error=\"%s\"", c->id, uv_strerror(status));
        conn_close(c);
    } else if (!c->closing && c->writes == 0 && c->a.state == P1_AS_CLOSED) {
        conn_close(c); /* the machine ended (release, refusal, abort): last bytes are out */
    }
    conn_maybe_free(c);
}

/* Write whatever the machine queued. */
static void flush(struct p1_conn *c)
{
    if (c->closing)
        return;
    struct wreq *r = calloc(1, sizeof *r);
    if (!r) {
        conn_close(c);
        return;
    }
    mg_buf_init(&r->b, 0);
    if (p1_chain_drain(&c->a.out, &r->b) != 0) {
        mg_buf_free(&r->b);
        free(r);
        conn_close(c);
        return;
    }
    if (r->b.len == 0) {
        mg_buf_free(&r->b);
        free(r);
        if (c->writes == 0 && c->a.state == P1_AS_CLOSED)
            conn_close(c);
        return;
    }
    r->c = c;
    uv_buf_t b = uv_buf_init((char *)r->b.data, (unsigned)r->b.len);
    int rc = uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc) {
        mg_buf_free(&r->b);
        free(r);
        conn_close(c);
        return;
    }
    c->writes++;
}

static void handle_bind(struct p1_conn *c, const struct p1_ind *ind)
{
    struct p1_listener *l = c->l;
    struct p1_bind ours;
    memset(&ours, 0, sizeof ours);
    long err = P1_BIND_ERR_AUTHENTICATION;
    const struct p1_listener_opts *o = &l->opts;
    /* Our selectors, when configured, must be the ones the peer called. */
    const struct { const struct p1_sel *want, *got; const char *what; } sels[] = {
        { &o->tsel, &ind->called_tsel, "TSEL" }, { &o->ssel, &ind->called_ssel, "SSEL" },
        { &o->psel, &ind->called_psel, "PSEL" } };
    for (size_t i = 0; i < 3; i++) {
        if (sels[i].want->len && (sels[i].want->len != sels[i].got->len ||
                                  memcmp(sels[i].want->v, sels[i].got->v, sels[i].want->len))) {
            mg_warn("event=p1_bind_refused session=%s client=%s name=\"%s\" reason=\"called %s "
                    "is not ours\"", c->id, c->peer, ind->bind.name, sels[i].what);
            p1_assoc_bind_refuse(&c->a, P1_BIND_ERR_AUTHENTICATION);
            return;
        }
    }
    int busy = l->nassocs >= (o->max_assocs ? o->max_assocs : 100);
    int refuse = l->cbs.bind(l->arg, c, ind, busy, &ours, &err);
    if (refuse) {
        p1_assoc_bind_refuse(&c->a, err);
        return;
    }
    if (p1_assoc_bind_accept(&c->a, &ours) == 0) {
        c->bound = 1;
        l->nassocs++;
        snprintf(c->mta, sizeof c->mta, "%s", ind->bind.name);
        p1_twa_bound(&c->twa, &c->a, ind->dialogue);
    }
}

static void handle_inds(struct p1_conn *c)
{
    struct p1_ind ind;
    while (!c->closing && p1_assoc_next_ind(&c->a, &ind)) {
        if (p1_twa_on_ind(&c->twa, &c->a, &ind))
            continue;
        switch (ind.type) {
        case P1_IND_BIND_REQUEST:
            if (c->l)
                handle_bind(c, &ind);
            break;
        case P1_IND_APDU:
            if (!c->l) {
                p1_assoc_abort(&c->a, "shutting down");
                break;
            }
            c->apdu_pending = 1;
            c->l->cbs.apdu(c->l->arg, c, ind.apdu, ind.apdu_len);
            break;
        case P1_IND_RELEASED:
            mg_info("event=p1_released session=%s mta=\"%s\"", c->id, c->mta);
            break;
        case P1_IND_ABORTED:
            mg_warn("event=p1_aborted session=%s client=%s mta=\"%s\" reason=\"%s\"", c->id,
                    c->peer, c->mta, ind.reason);
            break;
        case P1_IND_TRANSFER_DISCARDED:
            mg_warn("event=p1_transfer_discarded session=%s mta=\"%s\" reason=\"%s\"", c->id,
                    c->mta, ind.reason);
            break;
        default:
            break;
        }
    }
}

/* p1_twa's source: the owner's callbacks for this connection. */
static int twa_pending(void *arg)
{
    struct p1_conn *c = arg;
    return c->l && c->l->cbs.out_pending(c->l->arg, c);
}

static int twa_next(void *arg, const uint8_t **apdu, size_t *len, void **tok)
{
    struct p1_conn *c = arg;
    return c->l && c->l->cbs.out_next(c->l->arg, c, apdu, len, tok);
}

static void twa_done(void *arg, void *tok, enum p1_twa_outcome o, const char *reason)
{
    struct p1_conn *c = arg;
    if (o == P1_TWA_CONFIRMED)
        mg_info("event=p1_twa_transfer_confirmed session=%s mta=\"%s\"", c->id, c->mta);
    else
        mg_warn("event=p1_twa_transfer_%s session=%s mta=\"%s\" reason=\"%s\"",
                o == P1_TWA_REFUSED ? "refused" : "lost", c->id, c->mta, reason);
    if (c->l)
        c->l->cbs.out_done(c->l->arg, c, tok, (int)o, reason);
}

int p1_listener_twa_bound(const struct p1_listener *l, const char *mta)
{
    for (const struct p1_conn *c = l ? l->conns : NULL; c; c = c->next)
        if (!c->closing && c->bound && c->twa.enabled && strcmp(c->mta, mta) == 0)
            return 1;
    return 0;
}

void p1_listener_out_kick(struct p1_listener *l, const char *mta)
{
    for (struct p1_conn *c = l ? l->conns : NULL; c; c = c->next) {
        if (!c->closing && c->bound && strcmp(c->mta, mta) == 0) {
            p1_twa_kick(&c->twa, &c->a);
            flush(c);
        }
    }
}

static void conn_after(struct p1_conn *c)
{
    handle_inds(c);
    flush(c);
}

void p1_conn_apdu_done(struct p1_conn *c, int status)
{
    if (!c->apdu_pending)
        return;
    c->apdu_pending = 0;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    if (status == 0)
        p1_assoc_apdu_durable(&c->a);
    else
        p1_assoc_abort(&c->a, "the message could not be stored");
    conn_after(c);
}

static void on_timer(uv_timer_t *t)
{
    struct p1_conn *c = t->data;
    if (c->closing)
        return;
    if (c->apdu_pending) {
        uv_timer_again(&c->timer); /* our own storage is the wait: not the peer's idleness */
        return;
    }
    mg_warn("event=p1_idle_timeout session=%s mta=\"%s\"", c->id, c->mta);
    p1_assoc_timeout(&c->a);
    conn_after(c);
    if (!c->closing && c->a.state == P1_AS_CLOSED && c->writes == 0)
        conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    (void)sz;
    b->base = malloc(65536);
    b->len = b->base ? 65536 : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct p1_conn *c = s->data;
    if (n > 0 && !c->closing) {
        uv_timer_again(&c->timer);
        p1_assoc_input(&c->a, b->base, (size_t)n);
        conn_after(c);
    } else if (n < 0 && !c->closing) {
        if (n != UV_EOF || (c->a.state != P1_AS_CLOSED && c->a.state != P1_AS_IDLE))
            mg_info("event=p1_disconnected session=%s mta=\"%s\" state=%d%s", c->id, c->mta,
                    (int)c->a.state, n == UV_EOF ? "" : " error=read");
        conn_close(c);
    }
    free(b->base);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct p1_listener *l = server->data;
    if (status < 0 || l->closing)
        return;
    struct p1_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->l = l;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    uv_timer_init(l->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    snprintf(c->id, sizeof c->id, "P%lu", ++l->next_id);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    c->peer[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
        else
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
    }
    struct p1_assoc_cfg cfg = {
        .initiator = 0,
        .max_apdu = l->opts.max_apdu,
        .called_tsel = l->opts.tsel,
        .called_ssel = l->opts.ssel,
        .called_psel = l->opts.psel,
    };
    p1_assoc_init(&c->a, &cfg);
    const struct p1_twa_src src = { twa_pending, twa_next, twa_done, c };
    p1_twa_init(&c->twa, l->cbs.out_next ? &src : NULL);
    unsigned idle = l->opts.idle_timeout_ms ? l->opts.idle_timeout_ms : 600000u;
    uv_timer_start(&c->timer, on_timer, idle, idle);
    uv_tcp_nodelay(&c->tcp, 1);
    mg_info("event=p1_connect session=%s client=%s", c->id, c->peer);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

int p1_listener_create(struct p1_listener **out, uv_loop_t *loop,
                       const struct p1_listener_opts *o, const struct p1_listener_cbs *cbs,
                       void *arg)
{
    *out = NULL;
    if (!loop || !o || !o->listen || !cbs || !cbs->bind || !cbs->apdu ||
        !cbs->out_pending != !cbs->out_next || !cbs->out_next != !cbs->out_done)
        return MG_EINVAL;
    struct mg_hostport hp;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (mg_hostport_parse(o->listen, MG_HOSTPORT_NEED_PORT | MG_HOSTPORT_NUMERIC |
                                         MG_HOSTPORT_PORT_ZERO, &hp) ||
        mg_hostport_sockaddr(&hp, 0, &ss, NULL))
        return MG_EINVAL;
    struct p1_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MG_ENOMEM;
    l->loop = loop;
    l->opts = *o;
    l->opts.listen = NULL; /* borrowed only for the call */
    l->cbs = *cbs;
    l->arg = arg;
    uv_tcp_init(loop, &l->tcp);
    l->tcp.data = l;
    l->tcp_open = 1;
    int rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
    if (rc) {
        mg_warn("event=p1_listen_failed listen=%s err=%s", o->listen, uv_strerror(rc));
        p1_listener_close(l, NULL, NULL);
        return MG_EIO;
    }
    struct sockaddr_storage b;
    int bl = sizeof b;
    if (!uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&b, &bl))
        l->port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                                : ((struct sockaddr_in *)&b)->sin_port);
    *out = l;
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct p1_listener *l = h->data;
    l->tcp_open = 0;
    listener_maybe_done(l);
}

void p1_listener_close(struct p1_listener *l, void (*done)(void *arg), void *arg)
{
    if (!l || l->closing)
        return;
    l->closing = 1;
    l->done = done;
    l->done_arg = arg;
    for (struct p1_conn *c = l->conns; c; c = c->next) {
        if (!c->closing) {
            p1_assoc_abort(&c->a, "shutting down");
            flush(c);
            conn_close(c);
        }
    }
    uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}
