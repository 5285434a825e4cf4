/* smtp_channel: the `smtp` channel kind. One instance per configured smtp channel (and per
 * configuration generation: a SIGHUP starts new instances and stops the old ones once their
 * deliveries are over). An instance keeps connections per destination (the route's smart host,
 * or one recipient domain for MX peers: the queue manager groups recipients by next_hop, so
 * each delivery goes to exactly one destination) and reuses them for several messages, at most
 * the peer's max_connections at once. A destination with no connection and nothing waiting is
 * freed at once (long-running MX relays see many domains: nothing may grow per domain ever
 * seen). When a destination cannot be reached and no connection to it is open, every delivery
 * waiting for it gets the same temporary failure at once, flagged as a destination failure so
 * the queue manager throttles the destination instead of feeding it more. */
#include "smtp_channel.h"
#include "mg_err.h"
#include "mg_log.h"
#include "smtp_client.h"
#include "tls_io.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_CLOSE_DEFAULT 5 /* seconds an idle connection is kept for the next message */

struct smtp_conf {
    uint32_t idle_timeout;      /* seconds; 0 = close after each message's last use */
};

struct dest;

/* One delivery waiting for, or on, a connection. */
struct sdel {
    struct channel_delivery *d;
    struct smtp_envelope env;    /* built for the send; content borrowed from d */
    int retried;                 /* already sent again after a cached connection failed */
    struct sdel *next;           /* in the destination's wait FIFO */
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
    char *key;                   /* the peer name, or "<peer>/<domain>" for MX peers */
    struct smtp_inst *inst;
    struct conn *conns;          /* open or opening */
    size_t nconns;               /* conns in the list */
    size_t nhandles;             /* conns not yet freed (closing ones too) */
    struct sdel *whead, *wtail;  /* waiting sends */
    const struct config_peer *peer; /* borrowed from the instance's config */
    char *domain;                /* owned, MX peers only */
    struct tls_io_ctx *tls_ctx;  /* borrowed from the instance's cache (inst_tls) */
    struct dest *next;
};

struct smtp_inst {
    uv_loop_t *loop;
    uint64_t idle_ms;
    const struct config *cfg;    /* borrowed: lives longer than the instance */
    struct dest *dests;
    size_t nconns_total;         /* connection handles not yet freed */
    int closing;
    void (*closed)(void *arg);
    void *closed_arg;
    /* TLS client contexts by (verification, CA file), made once per instance: loading the CA
     * store for every new destination record cost a few milliseconds each time one went idle
     * and came back. */
    struct inst_tls {
        int verify;
        char *ca;                /* owned or NULL = the system store */
        struct tls_io_ctx *ctx;  /* owned */
        struct inst_tls *next;
    } *tls;
};

static int inst_tls(struct smtp_inst *si, int verify, const char *ca, struct tls_io_ctx **out)
{
    for (struct inst_tls *t = si->tls; t; t = t->next) {
        if (t->verify == verify && ((!t->ca && !ca) || (t->ca && ca && strcmp(t->ca, ca) == 0))) {
            *out = t->ctx;
            return 0;
        }
    }
    struct inst_tls *t = calloc(1, sizeof *t);
    if (!t || (ca && !(t->ca = strdup(ca)))) {
        free(t);
        return MG_ENOMEM;
    }
    int rc = tls_io_ctx_client_create(&t->ctx, verify, ca);
    if (rc != 0) {
        free(t->ca);
        free(t);
        return rc;
    }
    t->verify = verify;
    t->next = si->tls;
    si->tls = t;
    *out = t->ctx;
    return 0;
}

static void dest_dispatch(struct dest *ds);

static void dest_free(struct dest *ds)
{
    free(ds->key);
    free(ds->domain);
    free(ds);
}

/* Frees the destination when nothing refers to it any more. */
static void dest_maybe_free(struct dest *ds)
{
    if (ds->whead || ds->nhandles)
        return;
    struct smtp_inst *si = ds->inst;
    for (struct dest **pp = &si->dests; *pp; pp = &(*pp)->next) {
        if (*pp == ds) {
            *pp = ds->next;
            break;
        }
    }
    dest_free(ds);
}

static void inst_maybe_closed(struct smtp_inst *si)
{
    if (si->closing && si->nconns_total == 0 && si->closed) {
        void (*cb)(void *) = si->closed;
        si->closed = NULL;
        cb(si->closed_arg);
    }
}

static void sdel_done(struct sdel *s)
{
    struct channel_delivery *d = s->d;
    s->env.content = NULL;       /* borrowed from the delivery */
    smtp_envelope_free(&s->env);
    free(s);
    channel_delivery_done(d);
}

static void sdel_fail_all(struct sdel *s, const struct smtp_reply *r, const char *remote,
                          int dest_failure)
{
    char st[16];
    snprintf(st, sizeof st, "%s", r && r->enhanced[0] ? r->enhanced : "4.4.1");
    for (size_t i = 0; i < s->d->nrcpts; i++) {
        channel_delivery_set(s->d, i, r && r->code ? r->code : 451, st,
                             r && r->text[0] ? r->text : "connection failed", remote);
        if (dest_failure)
            s->d->outcomes[i].flags |= CHANNEL_OUT_DEST_FAILURE;
    }
    sdel_done(s);
}

static void on_idle_closed(uv_handle_t *h)
{
    struct conn *cn = h->data;
    struct dest *ds = cn->dest;
    struct smtp_inst *si = ds->inst;
    free(cn);
    ds->nhandles--;
    si->nconns_total--;
    dest_maybe_free(ds);
    inst_maybe_closed(si);
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

/* An idle connection waits idle_timeout for the next message, then closes (and with the
 * last one its destination record goes). */
static void conn_idle(struct conn *cn)
{
    uint64_t ms = cn->dest->inst->idle_ms;
    if (ms == 0) {
        conn_close(cn);
        return;
    }
    uv_timer_start(&cn->idle, on_idle_timeout, ms, 0);
}

static void on_sent(struct smtp_client *c, int status, const struct smtp_reply *res, size_t n, void *arg)
{
    struct conn *cn = arg;
    struct sdel *s = cn->busy;
    cn->busy = NULL;
    cn->sent++;
    struct dest *ds0 = cn->dest;
    if (status != 0 && cn->sent > 1 && !s->retried && !ds0->inst->closing) {
        /* A cached connection the peer had already closed (idle timeout, its own limits):
         * the message goes again on a fresh connection at once, as Postfix does, instead of
         * waiting out a retry. Once only: a second failure is the peer's answer. */
        s->retried = 1;
        s->next = ds0->whead;
        ds0->whead = s;
        if (!ds0->wtail)
            ds0->wtail = s;
        mg_debug("event=smtp_retry_fresh_connection dest=%s", ds0->key);
        conn_close(cn);
        dest_dispatch(ds0);
        return;
    }
    const struct smtp_client_info *info = smtp_client_get_info(c);
    char remote[300];
    snprintf(remote, sizeof remote, "%s[%s]", info && info->peer_name ? info->peer_name : "?",
             info && info->peer_addr ? info->peer_addr : "?");
    for (size_t i = 0; i < s->d->nrcpts; i++) {
        if (i < n)
            channel_delivery_set(s->d, i, res[i].code, res[i].enhanced, res[i].text, remote);
        else
            channel_delivery_set(s->d, i, 451, "4.4.2", "no result from the peer", remote);
        if (info && info->dsn)
            s->d->outcomes[i].flags |= CHANNEL_OUT_NEXT_HOP_REPORTS;
    }
    struct dest *ds = cn->dest;
    struct smtp_inst *si = ds->inst;
    uint32_t per_conn = ds->peer->messages_per_connection ? ds->peer->messages_per_connection : 100;
    /* Retire or park the connection before the result goes back: the queue manager may hand
     * the next message over from inside sdel_done, and a connection about to be closed must
     * not take it (it was then lost with "Connection closed by the sender" and deferred).
     * ds stays: cn's handle counts in it until its close callback. */
    if (status != 0 || !smtp_client_usable(c) || cn->sent >= per_conn || si->closing)
        conn_close(cn);
    else
        conn_idle(cn);
    sdel_done(s);
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

static const char *dest_name(const struct dest *ds)
{
    return ds->domain ? ds->domain : ds->peer->host ? ds->peer->host : ds->key;
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
            /* A 5xx greeting for every address is the peer's final word: not a destination
             * failure to retry but a per-message one (the recipients fail). */
            int dest_failure = r.code < 500;
            while (ds->whead) {
                struct sdel *s = ds->whead;
                ds->whead = s->next;
                if (!ds->whead)
                    ds->wtail = NULL;
                sdel_fail_all(s, &r, dest_name(ds), dest_failure);
            }
        }
        return;
    }
    (void)c;
    cn->open = 1;
    const struct smtp_client_info *info = smtp_client_get_info(c);
    mg_debug("event=connected dest=%s peer=%s tls=%d", ds->key, info ? info->peer_addr : "?",
             info ? info->tls : 0);
    dest_dispatch(ds);
    if (!cn->busy && !cn->closing)
        conn_idle(cn);
}

static enum smtp_client_tls peer_tls(const struct config_peer *p)
{
    return p->starttls == CONFIG_STARTTLS_REQUIRED ? SMTP_CLIENT_TLS_REQUIRED
           : p->starttls == CONFIG_STARTTLS_NONE   ? SMTP_CLIENT_TLS_NONE
                                                   : SMTP_CLIENT_TLS_OPPORTUNISTIC;
}

static int conn_open(struct dest *ds)
{
    struct smtp_inst *si = ds->inst;
    const struct config_peer *p = ds->peer;
    enum smtp_client_tls tls = peer_tls(p);
    if (tls != SMTP_CLIENT_TLS_NONE && !ds->tls_ctx) {
        int rc = inst_tls(si, p->verify, p->ca, &ds->tls_ctx);
        if (rc != 0) {
            mg_error("event=tls_setup_failed dest=%s ca=%s error=\"%s\"", ds->key,
                     p->ca ? p->ca : "system", mg_strerror(rc));
            return rc;
        }
    }
    struct conn *cn = calloc(1, sizeof *cn);
    if (!cn)
        return MG_ENOMEM;
    cn->dest = ds;
    /* The peer's host without its port (the port goes separately; a bare IPv6 literal is
     * taken as a host by the client). */
    const char *host = p->mx ? NULL : (p->host ? p->host : "localhost");
    struct smtp_client_opts o = {
        .tls_ctx = ds->tls_ctx,
        .helo_name = si->cfg->global.hostname, .host = host, .domain = ds->domain,
        .port = p->port, .starttls = tls, .tls_verify = p->verify, .tls_ca_file = p->ca,
        .connect_timeout_ms = (p->connect_timeout ? p->connect_timeout : 30) * 1000u,
    };
    int rc = smtp_client_open(&cn->c, si->loop, &o, on_open, cn);
    if (rc != 0) {
        free(cn);
        return rc;
    }
    uv_timer_init(si->loop, &cn->idle);
    cn->idle.data = cn;
    cn->next = ds->conns;
    ds->conns = cn;
    ds->nconns++;
    ds->nhandles++;
    si->nconns_total++;
    return 0;
}

static void dest_dispatch(struct dest *ds)
{
    struct smtp_inst *si = ds->inst;
    uint32_t max_conns = ds->peer->max_connections ? ds->peer->max_connections : 10;
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
        if (opening >= waiting || ds->nconns >= max_conns || si->closing)
            break;
        if (conn_open(ds) != 0) {
            struct smtp_reply r = { .code = 451, .enhanced = "4.3.0", .text = "cannot open a connection" };
            struct sdel *s = ds->whead;
            ds->whead = s->next;
            if (!ds->whead)
                ds->wtail = NULL;
            sdel_fail_all(s, &r, NULL, 0);
        }
    }
    dest_maybe_free(ds);
}

static struct dest *dest_get(struct smtp_inst *si, const struct config_peer *peer,
                             const char *next_hop)
{
    char key[1200];
    if (peer->mx)
        snprintf(key, sizeof key, "%s/%s", peer->name, next_hop);
    else
        snprintf(key, sizeof key, "%s", peer->name);
    for (struct dest *ds = si->dests; ds; ds = ds->next)
        if (!strcmp(ds->key, key))
            return ds;
    struct dest *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->inst = si;
    ds->peer = peer;
    ds->key = strdup(key);
    ds->domain = peer->mx ? strdup(next_hop) : NULL;
    if (!ds->key || (peer->mx && !ds->domain)) {
        dest_free(ds);
        return NULL;
    }
    ds->next = si->dests;
    si->dests = ds;
    return ds;
}

/* Builds the outgoing envelope of d. */
static int build_env(struct sdel *s)
{
    const struct channel_delivery *d = s->d;
    const struct message *m = d->msg;
    struct smtp_envelope *e = &s->env;
    smtp_envelope_init(e);
    int rc = smtp_envelope_set_str(&e->mail_from, d->originator);
    if (!rc && m->envid)
        rc = smtp_envelope_set_str(&e->envid, m->envid);
    e->ret = m->ret == MESSAGE_RET_FULL ? SMTP_RET_FULL : m->ret == MESSAGE_RET_HDRS ? SMTP_RET_HDRS : SMTP_RET_NONE;
    /* RFC 6710: a priority other than the queue's default (routine) goes on as MT-PRIORITY
     * (STANAG4406 policy); the default is left out, as a message that named none */
    if (m->priority != MESSAGE_PRIORITY_DEFAULT) {
        e->mt_priority = smtp_mt_priority_of_queue(m->priority);
        e->mt_priority_given = 1;
    }
    size_t clen = 0;
    const unsigned char *content = content_data(d->content, &clen);
    int eight = 0, utf8 = 0;
    for (size_t i = 0; i < clen && !eight; i++)
        eight = content[i] >= 0x80;
    for (const char *p = d->originator; *p; p++)
        utf8 |= (unsigned char)*p >= 0x80;
    for (size_t i = 0; !rc && i < d->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[d->rcpts[i]];
        const char *addr = d->rcpt_addrs[i];
        for (const char *p = addr; *p; p++)
            utf8 |= (unsigned char)*p >= 0x80;
        /* The two enums have the same bits by design (RFC 3461 NOTIFY); mapped by name so a
         * change to either is caught here. */
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
        rc = smtp_envelope_add_rcpt(e, addr, notify, oaddr ? otype : NULL, oaddr);
    }
    e->body = eight ? SMTP_BODY_8BITMIME : SMTP_BODY_NONE;
    e->smtputf8 = utf8;
    e->size = clen;
    e->content = (unsigned char *)content;  /* borrowed; cleared before free */
    e->content_len = clen;
    return rc;
}

static void smtp_deliver(void *inst, struct channel_delivery *d)
{
    struct smtp_inst *si = inst;
    struct sdel *s = calloc(1, sizeof *s);
    struct dest *ds = NULL;
    const char *why = !d->peer ? "smtp channel without a peer"
                      : si->closing ? "mixgated is stopping" : "out of memory";
    if (s && d->peer && !si->closing) {
        s->d = d;
        ds = dest_get(si, d->peer, d->next_hop ? d->next_hop : "");
        if (ds && build_env(s) != 0)
            ds = NULL;
    }
    if (!ds) {
        if (s) {
            s->env.content = NULL;
            smtp_envelope_free(&s->env);
            free(s);
        }
        for (size_t i = 0; i < d->nrcpts; i++)
            channel_delivery_set(d, i, 451, si->closing ? "4.3.2" : "4.3.0", why, NULL);
        channel_delivery_done(d);
        return;
    }
    if (ds->wtail)
        ds->wtail->next = s;
    else
        ds->whead = s;
    ds->wtail = s;
    dest_dispatch(ds);
}

static void smtp_next_hop(const void *conf, const struct config_peer *peer, const char *rcpt_addr,
                          char *buf, size_t n)
{
    (void)conf;
    buf[0] = 0;
    if (!peer || !peer->mx || !n)
        return;
    const char *at = strrchr(rcpt_addr, '@');
    const char *dom = at ? at + 1 : "";
    size_t i = 0;
    for (; dom[i] && i + 1 < n; i++)
        buf[i] = (char)tolower((unsigned char)dom[i]);
    buf[i] = 0;
}

static int smtp_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                          struct config_errors *errs)
{
    static const char *const keys[] = { "idle_timeout", NULL };
    int n = config_channel_check_keys(cfg, ch, keys, errs);
    if (n < 0)
        return n;
    struct smtp_conf c = { .idle_timeout = IDLE_CLOSE_DEFAULT };
    const config_setting_t *s = config_setting_get_member(ch->settings, "idle_timeout");
    if (s) {
        uint64_t v = 0;
        int t = config_setting_type(s);
        int ok = (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
                     ? (v = (uint64_t)config_setting_get_int64(s), config_setting_get_int64(s) >= 0)
                 : t == CONFIG_TYPE_STRING
                     ? config_parse_duration(config_setting_get_string(s), 3600, &v) == 0
                     : 0;
        if (!ok || v > 3600) {
            config_errors_addf(errs, cfg->path, config_setting_source_line(s),
                               "channel '%s': 'idle_timeout' must be a duration of 0..3600 seconds",
                               ch->name);
            n++;
        }
        c.idle_timeout = (uint32_t)v;
    }
    if (n > 0)
        return MG_ECONFIG;
    struct smtp_conf *p = malloc(sizeof *p);
    if (!p)
        return MG_ENOMEM;
    *p = c;
    *conf = p;
    return 0;
}

static void smtp_conf_free(void *conf)
{
    free(conf);
}

static void smtp_conf_dump(const void *conf, FILE *f)
{
    const struct smtp_conf *c = conf;
    fprintf(f, " idle_timeout = %u;", c->idle_timeout);
}

static int smtp_start(const struct channel_env *env, const struct config_channel *ch, void **inst)
{
    struct smtp_inst *si = calloc(1, sizeof *si);
    if (!si)
        return MG_ENOMEM;
    const struct smtp_conf *c = ch->conf;
    si->idle_ms = (uint64_t)(c ? c->idle_timeout : IDLE_CLOSE_DEFAULT) * 1000;
    si->loop = env->loop;
    si->cfg = env->cfg;
    *inst = si;
    return 0;
}

static void smtp_stop(void *inst, void (*done)(void *arg), void *arg)
{
    struct smtp_inst *si = inst;
    si->closing = 1;
    si->closed = done;
    si->closed_arg = arg;
    for (struct dest *ds = si->dests, *dnx; ds; ds = dnx) {
        dnx = ds->next;
        ds->nhandles++;  /* keep ds while its sends fail below */
        /* Waiting sends are failed temporarily: they stay queued and go out later. */
        while (ds->whead) {
            struct sdel *s = ds->whead;
            ds->whead = s->next;
            struct smtp_reply r = { .code = 451, .enhanced = "4.3.2", .text = "mixgated is stopping" };
            sdel_fail_all(s, &r, NULL, 0);
        }
        ds->wtail = NULL;
        for (struct conn *cn = ds->conns, *nx; cn; cn = nx) {
            nx = cn->next;
            if (!cn->busy)
                conn_close(cn);
        }
        ds->nhandles--;
        dest_maybe_free(ds);
    }
    inst_maybe_closed(si);
}

static void smtp_inst_free(void *inst)
{
    struct smtp_inst *si = inst;
    if (!si)
        return;
    for (struct dest *ds = si->dests, *nx; ds; ds = nx) {
        nx = ds->next;
        dest_free(ds);
    }
    for (struct inst_tls *t = si->tls, *nx; t; t = nx) {
        nx = t->next;
        tls_io_ctx_free(t->ctx);
        free(t->ca);
        free(t);
    }
    free(si);
}

static size_t smtp_connections(const void *inst)
{
    const struct smtp_inst *si = inst;
    return si->nconns_total;
}

size_t smtp_channel_destinations(const void *inst)
{
    const struct smtp_inst *si = inst;
    size_t n = 0;
    for (const struct dest *ds = si->dests; ds; ds = ds->next)
        n++;
    return n;
}

const struct channel_kind smtp_channel_kind = {
    .name = "smtp",
    .role = CHANNEL_ROLE_DELIVERY,
    .peer = CHANNEL_PEER_SMTP,
    .configure = smtp_configure,
    .conf_free = smtp_conf_free,
    .conf_dump = smtp_conf_dump,
    .next_hop = smtp_next_hop,
    .start = smtp_start,
    .deliver = smtp_deliver,
    .stop = smtp_stop,
    .inst_free = smtp_inst_free,
    .connections = smtp_connections,
};
