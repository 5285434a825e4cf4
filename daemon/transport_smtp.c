/* transport_smtp: the qmgr transport for `smtp` channels. Keeps connections per destination
 * (a smart host, or a recipient domain for MX peers) and reuses them for several messages, at
 * most max_connections at once per destination. Deliveries wait in a FIFO per destination for
 * a free connection. When a destination cannot be reached and no connection to it is open,
 * every delivery waiting for it gets the same temporary failure at once instead of each
 * waiting out its own connect timeout. */
#include "daemon.h"
#include "mg_err.h"
#include "mg_log.h"
#include "smtp_client.h"
#include "tls_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDLE_CLOSE_MS 5000

struct dest;

/* Part of a qmgr delivery going to one destination (MX peers split by domain). */
struct sdel {
    struct qmgr_delivery *d;
    struct sdel_group *g;
    size_t *idx;                 /* owned: indexes into d->rcpts / d->outcomes */
    size_t n;
    struct smtp_envelope env;    /* built for the send; content borrowed from d */
    struct sdel *next;           /* in the destination's wait FIFO */
};

/* The sdels of one qmgr delivery: it is done when all are. */
struct sdel_group {
    struct qmgr_delivery *d;
    size_t pending;
    int dsn_everywhere;
};

struct conn {
    struct smtp_client *c;
    struct dest *dest;
    struct sdel *busy;           /* the send in flight */
    unsigned sent;
    int open;                    /* open_cb reported success */
    int closing;
    uv_timer_t idle;             /* embedded: conn freed in its close callback */
    struct conn *next;           /* in the destination's list */
};

struct dest {
    char *key;                   /* "peer:<name>" or "mx:<peer>:<domain>" */
    struct smtp_pool *pool;
    struct conn *conns;
    size_t nconns;
    struct sdel *whead, *wtail;  /* waiting sends */
    /* connection options, copied from the peer when the destination is created */
    char *host, *domain, *ca, *helo;
    int port;
    enum smtp_client_tls tls;
    int verify;
    unsigned connect_timeout_ms;
    unsigned max_conns, per_conn;
    struct tls_io_ctx *tls_ctx;  /* owned: shared by this destination's connections */
    struct tls_io_ctx **retired; /* owned: contexts replaced by a reload, still used by
                                    connections opened before it; freed with the pool */
    size_t nretired;
    struct dest *next;
};

struct smtp_pool {
    uv_loop_t *loop;
    struct daemon *d;
    struct dest *dests;
    size_t nconns_total;
    int closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void dest_dispatch(struct dest *ds);

static void group_part_done(struct sdel *s)
{
    struct sdel_group *g = s->g;
    s->env.content = NULL;       /* borrowed from the delivery */
    smtp_envelope_free(&s->env);
    free(s->idx);
    free(s);
    if (--g->pending == 0) {
        struct qmgr_delivery *d = g->d;
        d->next_hop_dsn = g->dsn_everywhere;
        free(g);
        qmgr_delivery_done(d);
    }
}

static void sdel_fail_all(struct sdel *s, const struct smtp_reply *r, const char *remote)
{
    char st[16];
    snprintf(st, sizeof st, "%s", r && r->enhanced[0] ? r->enhanced : "4.4.1");
    for (size_t i = 0; i < s->n; i++)
        qmgr_delivery_set(s->d, s->idx[i], r && r->code ? r->code : 451, st,
                          r && r->text[0] ? r->text : "connection failed", remote);
    s->g->dsn_everywhere = 0;
    group_part_done(s);
}

static void pool_maybe_closed(struct smtp_pool *p)
{
    if (p->closing && p->nconns_total == 0 && p->closed) {
        void (*cb)(void *) = p->closed;
        p->closed = NULL;
        for (struct dest *ds = p->dests, *nx; ds; ds = nx) {
            nx = ds->next;
            tls_io_ctx_free(ds->tls_ctx);
            for (size_t i = 0; i < ds->nretired; i++)
                tls_io_ctx_free(ds->retired[i]);
            free(ds->retired);
            free(ds->key); free(ds->host); free(ds->domain); free(ds->ca); free(ds->helo);
            free(ds);
        }
        void *arg = p->closed_arg;
        free(p);
        cb(arg);
    }
}

static void on_idle_closed(uv_handle_t *h)
{
    struct conn *cn = h->data;
    struct smtp_pool *p = cn->dest->pool;
    free(cn);
    p->nconns_total--;
    pool_maybe_closed(p);
}

static void on_client_closed(void *arg)
{
    struct conn *cn = arg;
    uv_close((uv_handle_t *)&cn->idle, on_idle_closed);
}

static void conn_close(struct conn *cn)
{
    if (cn->closing)
        return;
    cn->closing = 1;
    struct dest *ds = cn->dest;
    for (struct conn **pp = &ds->conns; *pp; pp = &(*pp)->next) {
        if (*pp == cn) {
            *pp = cn->next;
            ds->nconns--;
            break;
        }
    }
    uv_timer_stop(&cn->idle);
    smtp_client_close(cn->c, on_client_closed, cn);
}

static void on_idle_timeout(uv_timer_t *t)
{
    struct conn *cn = t->data;
    if (!cn->busy)
        conn_close(cn);
}

static void on_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct conn *cn = arg;
    struct sdel *s = cn->busy;
    cn->busy = NULL;
    cn->sent++;
    const struct smtp_client_info *info = smtp_client_get_info(c);
    char remote[300];
    snprintf(remote, sizeof remote, "%s[%s]", info && info->peer_name ? info->peer_name : "?",
             info && info->peer_addr ? info->peer_addr : "?");
    for (size_t i = 0; i < s->n && i < n; i++)
        qmgr_delivery_set(s->d, s->idx[i], res[i].code, res[i].enhanced, res[i].text, remote);
    if (!(info && info->dsn))
        s->g->dsn_everywhere = 0;
    struct dest *ds = cn->dest;
    group_part_done(s);
    if (status != 0 || !smtp_client_usable(c) || cn->sent >= ds->per_conn || ds->pool->closing)
        conn_close(cn);
    else
        uv_timer_start(&cn->idle, on_idle_timeout, IDLE_CLOSE_MS, 0);
    dest_dispatch(ds);
}

static int conn_send(struct conn *cn, struct sdel *s)
{
    uv_timer_stop(&cn->idle);
    cn->busy = s;
    int rc = smtp_client_send(cn->c, &s->env, on_sent, cn);
    if (rc != 0)
        cn->busy = NULL;
    return rc;
}

static void on_open(struct smtp_client *c, int status, const struct smtp_reply *reply, void *arg)
{
    struct conn *cn = arg;
    struct dest *ds = cn->dest;
    if (status != 0) {
        char text[300];
        snprintf(text, sizeof text, "%d %s %s", reply ? reply->code : 0, reply ? reply->enhanced : "",
                 reply ? reply->text : "");
        mg_warn("event=connect_failed dest=%s reply=\"%s\"", ds->key, text);
        conn_close(cn);
        /* Nothing else can serve the waiting sends soon: fail them now (they are deferred and
         * retried with back-off), unless another connection is open and will take them. */
        int others = 0;
        for (struct conn *o = ds->conns; o; o = o->next)
            others |= o->open;
        if (!others) {
            struct smtp_reply r = reply ? *reply : (struct smtp_reply){ 0 };
            if (r.code < 400)
                r.code = 451;
            while (ds->whead) {
                struct sdel *s = ds->whead;
                ds->whead = s->next;
                if (!ds->whead)
                    ds->wtail = NULL;
                sdel_fail_all(s, &r, ds->host ? ds->host : ds->domain);
            }
        }
        return;
    }
    cn->open = 1;
    const struct smtp_client_info *info = smtp_client_get_info(c);
    mg_debug("event=connected dest=%s peer=%s tls=%d", ds->key, info ? info->peer_addr : "?",
             info ? info->tls : 0);
    dest_dispatch(ds);
    if (!cn->busy && !cn->closing)
        uv_timer_start(&cn->idle, on_idle_timeout, IDLE_CLOSE_MS, 0);
}

static int conn_open(struct dest *ds)
{
    struct smtp_pool *p = ds->pool;
    if (ds->tls != SMTP_CLIENT_TLS_NONE && !ds->tls_ctx) {
        int rc = tls_io_ctx_client_create(&ds->tls_ctx, ds->verify, ds->ca);
        if (rc != 0) {
            mg_error("event=tls_setup_failed dest=%s ca=%s error=\"%s\"", ds->key, ds->ca ? ds->ca : "system",
                     mg_strerror(rc));
            return rc;
        }
    }
    struct conn *cn = calloc(1, sizeof *cn);
    if (!cn)
        return MG_ENOMEM;
    cn->dest = ds;
    struct smtp_client_opts o = {
        .tls_ctx = ds->tls_ctx,
        .helo_name = ds->helo, .host = ds->host, .domain = ds->domain, .port = ds->port,
        .starttls = ds->tls, .tls_verify = ds->verify, .tls_ca_file = ds->ca,
        .connect_timeout_ms = ds->connect_timeout_ms,
    };
    int rc = smtp_client_open(&cn->c, p->loop, &o, on_open, cn);
    if (rc != 0) {
        free(cn);
        return rc;
    }
    uv_timer_init(p->loop, &cn->idle);
    cn->idle.data = cn;
    cn->next = ds->conns;
    ds->conns = cn;
    ds->nconns++;
    p->nconns_total++;
    return 0;
}

static void dest_dispatch(struct dest *ds)
{
    while (ds->whead) {
        struct conn *idle = NULL;
        for (struct conn *cn = ds->conns; cn; cn = cn->next)
            if (cn->open && !cn->busy && !cn->closing && smtp_client_usable(cn->c)) {
                idle = cn;
                break;
            }
        if (idle) {
            struct sdel *s = ds->whead;
            ds->whead = s->next;
            if (!ds->whead)
                ds->wtail = NULL;
            if (conn_send(idle, s) != 0) {
                conn_close(idle);
                /* put it back at the head and try another connection */
                s->next = ds->whead;
                ds->whead = s;
                if (!ds->wtail)
                    ds->wtail = s;
            }
            continue;
        }
        /* Open another connection if every open one is busy and the limit allows. */
        size_t opening = 0;
        for (struct conn *cn = ds->conns; cn; cn = cn->next)
            opening += !cn->open && !cn->closing;
        size_t waiting = 0;
        for (struct sdel *s = ds->whead; s; s = s->next)
            waiting++;
        if (opening >= waiting || ds->nconns >= ds->max_conns || ds->pool->closing)
            break;
        if (conn_open(ds) != 0) {
            struct smtp_reply r = { .code = 451, .enhanced = "4.3.0", .text = "cannot open a connection" };
            struct sdel *s = ds->whead;
            ds->whead = s->next;
            if (!ds->whead)
                ds->wtail = NULL;
            sdel_fail_all(s, &r, NULL);
        }
    }
}

static int str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* Copies the connection options of peer into ds. Returns 1 when something that matters for a
 * connection changed (a SIGHUP changed the peer): idle connections are then closed so the next
 * message goes where the configuration now says. Fields are left unchanged on out of memory. */
static int dest_apply_peer(struct dest *ds, const struct config_peer *peer, const char *helo)
{
    enum smtp_client_tls tls = peer->starttls == CONFIG_STARTTLS_REQUIRED ? SMTP_CLIENT_TLS_REQUIRED
                               : peer->starttls == CONFIG_STARTTLS_NONE   ? SMTP_CLIENT_TLS_NONE
                                                                          : SMTP_CLIENT_TLS_OPPORTUNISTIC;
    const char *host = peer->mx ? NULL : (peer->host ? peer->host : "localhost");
    int changed = str_differs(ds->host, host) || str_differs(ds->ca, peer->ca) ||
                  str_differs(ds->helo, helo) || ds->port != peer->port || ds->tls != tls ||
                  ds->verify != peer->verify;
    if (changed) {
        char *nh = host ? strdup(host) : NULL, *nc = peer->ca ? strdup(peer->ca) : NULL;
        char *nhelo = strdup(helo);
        if ((host && !nh) || (peer->ca && !nc) || !nhelo) {
            free(nh); free(nc); free(nhelo);
            return 0;
        }
        if (ds->tls_ctx) {   /* built from the old settings; busy connections may still use it */
            struct tls_io_ctx **r = realloc(ds->retired, (ds->nretired + 1) * sizeof *r);
            if (!r) {
                free(nh); free(nc); free(nhelo);
                return 0;
            }
            ds->retired = r;
            ds->retired[ds->nretired++] = ds->tls_ctx;
            ds->tls_ctx = NULL;
        }
        free(ds->host); free(ds->ca); free(ds->helo);
        ds->host = nh;
        ds->ca = nc;
        ds->helo = nhelo;
        ds->port = peer->port;
        ds->tls = tls;
        ds->verify = peer->verify;
    }
    ds->connect_timeout_ms = (peer->connect_timeout ? peer->connect_timeout : 30) * 1000u;
    ds->max_conns = peer->max_connections ? peer->max_connections : 10;
    ds->per_conn = peer->messages_per_connection ? peer->messages_per_connection : 100;
    return changed;
}

static struct dest *dest_get(struct smtp_pool *p, const struct config_peer *peer, const char *domain)
{
    char key[1200];
    if (peer->mx)
        snprintf(key, sizeof key, "mx:%s:%s", peer->name, domain);
    else
        snprintf(key, sizeof key, "peer:%s", peer->name);
    const char *helo = p->d->cfg->global.hostname;
    for (struct dest *ds = p->dests; ds; ds = ds->next) {
        if (strcmp(ds->key, key))
            continue;
        if (dest_apply_peer(ds, peer, helo)) {
            mg_info("event=peer_changed dest=%s detail=\"new connections use the reloaded settings\"", key);
            for (struct conn *cn = ds->conns, *nx; cn; cn = nx) {
                nx = cn->next;
                if (!cn->busy)
                    conn_close(cn);
                else
                    cn->sent = ds->per_conn; /* closed after its current message */
            }
        }
        return ds;
    }
    struct dest *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->pool = p;
    ds->key = strdup(key);
    ds->domain = peer->mx ? strdup(domain) : NULL;
    ds->port = -1;               /* forces dest_apply_peer to fill everything */
    dest_apply_peer(ds, peer, helo);
    if (!ds->key || !ds->helo || (peer->mx ? !ds->domain : !ds->host)) {
        free(ds->key); free(ds->helo); free(ds->domain); free(ds->host); free(ds->ca);
        free(ds);
        return NULL;
    }
    ds->next = p->dests;
    p->dests = ds;
    return ds;
}

static const char *addr_domain(const char *a)
{
    const char *at = strrchr(a, '@');
    return at ? at + 1 : "";
}

/* Builds the outgoing envelope for the recipients idx[0..n) of d. */
static int build_env(struct sdel *s)
{
    const struct message *m = s->d->msg;
    struct smtp_envelope *e = &s->env;
    smtp_envelope_init(e);
    int rc = smtp_envelope_set_str(&e->mail_from, m->originator);
    if (!rc && m->envid)
        rc = smtp_envelope_set_str(&e->envid, m->envid);
    e->ret = m->ret == MESSAGE_RET_FULL ? SMTP_RET_FULL : m->ret == MESSAGE_RET_HDRS ? SMTP_RET_HDRS : SMTP_RET_NONE;
    int eight = 0, utf8 = 0;
    for (size_t i = 0; i < s->d->content_len && !eight; i++)
        eight = s->d->content[i] >= 0x80;
    for (const char *p = m->originator; *p; p++)
        utf8 |= (unsigned char)*p >= 0x80;
    for (size_t i = 0; !rc && i < s->n; i++) {
        const struct message_rcpt *r = &m->rcpts[s->d->rcpts[s->idx[i]]];
        for (const char *p = r->addr; *p; p++)
            utf8 |= (unsigned char)*p >= 0x80;
        unsigned notify = 0;
        if (r->notify & MESSAGE_NOTIFY_NEVER) notify |= SMTP_NOTIFY_NEVER;
        if (r->notify & MESSAGE_NOTIFY_SUCCESS) notify |= SMTP_NOTIFY_SUCCESS;
        if (r->notify & MESSAGE_NOTIFY_FAILURE) notify |= SMTP_NOTIFY_FAILURE;
        if (r->notify & MESSAGE_NOTIFY_DELAY) notify |= SMTP_NOTIFY_DELAY;
        char otype[64] = "";
        const char *oaddr = NULL;
        if (r->orcpt) {
            const char *semi = strchr(r->orcpt, ';');
            if (semi && (size_t)(semi - r->orcpt) < sizeof otype) {
                memcpy(otype, r->orcpt, (size_t)(semi - r->orcpt));
                otype[semi - r->orcpt] = 0;
                oaddr = semi + 1;
            }
        }
        rc = smtp_envelope_add_rcpt(e, r->addr, notify, oaddr ? otype : NULL, oaddr);
    }
    e->body = eight ? SMTP_BODY_8BITMIME : SMTP_BODY_NONE;
    e->smtputf8 = utf8;
    e->size = s->d->content_len;
    e->content = (unsigned char *)s->d->content;  /* borrowed; cleared before free */
    e->content_len = s->d->content_len;
    return rc;
}

void smtp_pool_deliver(void *arg, struct qmgr_delivery *d)
{
    struct smtp_pool *p = arg;
    struct sdel_group *g = calloc(1, sizeof *g);
    if (!g || !d->peer) {
        free(g);
        for (size_t i = 0; i < d->nrcpts; i++)
            qmgr_delivery_set(d, i, 451, "4.3.5", d->peer ? "out of memory" : "smtp channel without a peer", NULL);
        qmgr_delivery_done(d);
        return;
    }
    g->d = d;
    g->dsn_everywhere = 1;
    /* Split by destination: one for a smart host, one per recipient domain for MX. */
    size_t *assigned = calloc(d->nrcpts, sizeof *assigned);
    struct sdel **parts = calloc(d->nrcpts, sizeof *parts);
    size_t nparts = 0;
    int oom = !assigned || !parts;
    for (size_t i = 0; !oom && i < d->nrcpts; i++) {
        const char *dom = addr_domain(d->msg->rcpts[d->rcpts[i]].addr);
        struct sdel *s = NULL;
        for (size_t k = 0; k < nparts; k++) {
            const char *kd = addr_domain(d->msg->rcpts[d->rcpts[parts[k]->idx[0]]].addr);
            if (!d->peer->mx || !strcasecmp(kd, dom))
                s = parts[k];
        }
        if (!s) {
            s = calloc(1, sizeof *s);
            if (!s || !(s->idx = calloc(d->nrcpts, sizeof *s->idx))) {
                free(s);
                oom = 1;
                break;
            }
            s->d = d;
            s->g = g;
            parts[nparts++] = s;
        }
        s->idx[s->n++] = i;
    }
    free(assigned);
    g->pending = nparts + 1;   /* +1 guards against completion while we are still queueing */
    for (size_t k = 0; k < nparts; k++) {
        struct sdel *s = parts[k];
        const char *dom = addr_domain(d->msg->rcpts[d->rcpts[s->idx[0]]].addr);
        struct dest *ds = oom ? NULL : dest_get(p, d->peer, dom);
        if (!ds || build_env(s) != 0) {
            struct smtp_reply r = { .code = 451, .enhanced = "4.3.0", .text = "out of memory" };
            sdel_fail_all(s, &r, NULL);
            continue;
        }
        s->next = NULL;
        if (ds->wtail)
            ds->wtail->next = s;
        else
            ds->whead = s;
        ds->wtail = s;
        dest_dispatch(ds);
    }
    if (oom)
        for (size_t i = 0; i < d->nrcpts; i++)
            if (!d->outcomes[i].code)
                qmgr_delivery_set(d, i, 451, "4.3.0", "out of memory", NULL);
    free(parts);
    /* drop the guard */
    if (--g->pending == 0) {
        d->next_hop_dsn = g->dsn_everywhere;
        free(g);
        qmgr_delivery_done(d);
    }
}

int smtp_pool_create(struct smtp_pool **out, uv_loop_t *loop, struct daemon *d)
{
    struct smtp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return MG_ENOMEM;
    p->loop = loop;
    p->d = d;
    *out = p;
    return 0;
}

size_t smtp_pool_connections(const struct smtp_pool *p)
{
    return p->nconns_total;
}

void smtp_pool_close(struct smtp_pool *p, void (*done)(void *arg), void *arg)
{
    p->closing = 1;
    p->closed = done;
    p->closed_arg = arg;
    for (struct dest *ds = p->dests; ds; ds = ds->next) {
        /* Waiting sends are failed temporarily: they stay queued and go out after restart. */
        while (ds->whead) {
            struct sdel *s = ds->whead;
            ds->whead = s->next;
            struct smtp_reply r = { .code = 451, .enhanced = "4.3.2", .text = "mixgated is stopping" };
            sdel_fail_all(s, &r, NULL);
        }
        ds->wtail = NULL;
        for (struct conn *cn = ds->conns, *nx; cn; cn = nx) {
            nx = cn->next;
            if (!cn->busy)
                conn_close(cn);
        }
    }
    pool_maybe_closed(p);
}
