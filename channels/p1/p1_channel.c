/* p1_channel: the `p1` delivery channel kind. An instance keeps associations per x400 peer
 * (the route's peer) and reuses each for several messages (up to the peer's
 * messages_per_association), at most max_associations at once; an idle association is released
 * after the peer's idle_timeout. Each delivery is one transfer: the stored envelope re-emitted
 * with our trace element (p1_mts_relay), or, for an X.400 message made here, a new envelope
 * (p1_mts_build). A confirmed transfer makes the recipients RELAYED; a connect or bind failure
 * defers every delivery waiting for the peer with CHANNEL_OUT_DEST_FAILURE (the queue manager
 * throttles the destination); a refused transfer (the peer's size limit) fails the recipients. */
#include "p1_channel.h"
#include "p1_channel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_err.h"
#include "mg_log.h"
#include "p1_assoc.h"
#include "p1_mts.h"
#include "p1_twa.h"

_Static_assert(P1_LEASE_CONFIRMED == (int)P1_TWA_CONFIRMED && P1_LEASE_REFUSED == (int)P1_TWA_REFUSED &&
                   P1_LEASE_LOST == (int)P1_TWA_LOST, "lease outcomes are p1_twa outcomes");

struct passoc {
    struct pdest *dest;
    struct passoc *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t conn_req;
    int handles;                 /* tcp and timer until their close callbacks */
    int resolving;               /* the resolver holds s until it answers */
    int closing, connected, bound, writes;
    int releasing;               /* release sent: takes no more work */
    int peer_wants;              /* two-way alternate: the peer asked for the turn */
    int storing;                 /* the receiver is storing the peer's APDU (holds s) */
    int asked;                   /* our please-turn is outstanding */
    struct p1_assoc a;
    struct pdel *busy;           /* the transfer in flight */
    uint8_t *apdu;               /* owned: borrowed by the machine until confirmed */
    size_t apdu_len;
    unsigned sent;
    char why[200];               /* the failure to report, once */
};



static void assoc_close(struct passoc *s, const char *why, int dest_failure);
static void assoc_next(struct passoc *s);
static void assoc_open(struct pdest *dst);
static int holds_turn(const struct passoc *s);
static void want_turn(struct passoc *s);
static void arm(struct passoc *s, unsigned seconds);

/* More waiting than associations taking work: open one more (one opening at a time, at most
 * the peer's max_associations). */
static void maybe_open(struct pdest *dst)
{
    if (!dst->whead || dst->inst->stopping || dst->peer->inbound_only)
        return;
    size_t opening = 0;
    for (struct passoc *s = dst->assocs; s; s = s->next)
        opening += !s->bound && !s->releasing && !s->closing;
    if (opening == 0 && dst->nassocs < dst->peer->max_connections)
        assoc_open(dst);
}

/* ---- configuration ---------------------------------------------------------------------- */

static int p1_configure(const struct config *cfg, const struct config_channel *ch, void **conf,
                        struct config_errors *errs)
{
    /* The peer carries every P1 setting; the channel itself has none but the common ones.
     * application_context = "mts-transfer" is accepted as the only context there is. */
    static const char *const keys[] = { "concurrency", "application_context", NULL };
    *conf = NULL;
    int n = config_channel_check_keys(cfg, ch, keys, errs);
    const config_setting_t *ac = config_setting_get_member(ch->settings, "application_context");
    if (ac && (config_setting_type(ac) != CONFIG_TYPE_STRING ||
               strcmp(config_setting_get_string(ac), "mts-transfer") != 0)) {
        config_errors_addf(errs, cfg->path, config_setting_source_line(ac),
                           "channel '%s': application_context can only be \"mts-transfer\"", ch->name);
        n++;
    }
    return n < 0 ? n : n ? MG_ECONFIG : 0;
}

/* ---- deliveries ------------------------------------------------------------------------- */

void p1_channel_finish(struct pdel *pd, enum channel_action act, const char *status, const char *text,
                   const char *remote, unsigned flags)
{
    struct channel_delivery *d = pd->d;
    for (size_t i = 0; i < d->nrcpts; i++) {
        channel_outcome_set(&d->outcomes[i], act, 0, status, text, remote);
        d->outcomes[i].flags |= flags;
        if (act == CHANNEL_RELAYED)
            d->outcomes[i].flags |= p1_channel_relay_flags(d, i);
        if (act == CHANNEL_FAILED) {
            d->outcomes[i].x400_reason = 1;        /* unable-to-transfer */
            /* content-too-long when the peer refused the size; else no diagnostic */
            d->outcomes[i].x400_diagnostic = status && !strcmp(status, "5.3.4") ? 7 : CHANNEL_X400_NONE;
        }
    }
    free(pd);
    channel_delivery_done(d);
}

/* ---- associations ----------------------------------------------------------------------- */

void p1_channel_maybe_stopped(struct p1_inst *pi)
{
    if (!pi->stopping || pi->live || !pi->stopped)
        return;
    void (*cb)(void *) = pi->stopped;
    pi->stopped = NULL;
    cb(pi->stopped_arg);
}

static void assoc_free(struct passoc *s)
{
    if (s->handles > 0 || s->resolving || s->storing)
        return;
    struct p1_inst *pi = s->dest->inst;
    p1_assoc_free(&s->a);
    free(s->apdu);
    free(s);
    pi->live--;
    p1_channel_maybe_stopped(pi);
}

static void on_closed(uv_handle_t *h)
{
    struct passoc *s = h->data;
    s->handles--;
    assoc_free(s);
}

static void unlink_assoc(struct passoc *s)
{
    struct pdest *dst = s->dest;
    for (struct passoc **pp = &dst->assocs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            dst->nassocs--;
            break;
        }
}

static void on_write(uv_write_t *w, int status)
{
    struct passoc *s = w->data;
    void *base = *(void **)(w + 1);
    free(base);
    free(w);
    s->writes--;
    if (status < 0 && !s->closing)
        assoc_close(s, "write failed", 1);
}

static void flush(struct passoc *s)
{
    if (s->closing && !s->connected)
        return;
    struct mg_buf b;
    mg_buf_init(&b, 0);
    if (p1_chain_drain(&s->a.out, &b) != 0 || b.len == 0 || uv_is_closing((uv_handle_t *)&s->tcp)) {
        mg_buf_free(&b);
        return;
    }
    /* uv_write_t followed by the pointer to free once written */
    uv_write_t *w = malloc(sizeof *w + sizeof(void *));
    if (!w) {
        mg_buf_free(&b);
        return;
    }
    size_t n;
    void *data = mg_buf_steal(&b, &n);
    *(void **)(w + 1) = data;
    w->data = s;
    uv_buf_t ub = uv_buf_init(data, (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&s->tcp, &ub, 1, on_write) != 0) {
        free(data);
        free(w);
        return;
    }
    s->writes++;
}

/* Ends the association; the delivery on it (and, when dest_failure and no other association
 * is open, every waiting one) is deferred with why. */
static void assoc_close(struct passoc *s, const char *why, int dest_failure)
{
    if (s->closing)
        return;
    s->closing = 1;
    struct pdest *dst = s->dest;
    unlink_assoc(s);
    char remote[300];
    snprintf(remote, sizeof remote, "%s", dst->peer->name);
    if (s->busy) {
        p1_channel_finish(s->busy, CHANNEL_DEFERRED, "4.4.2", why, remote, dest_failure ? CHANNEL_OUT_DEST_FAILURE : 0);
        s->busy = NULL;
    }
    if (dest_failure && dst->nassocs == 0) {
        while (dst->whead) {
            struct pdel *pd = dst->whead;
            dst->whead = pd->next;
            p1_channel_finish(pd, CHANNEL_DEFERRED, "4.4.1", why, remote, CHANNEL_OUT_DEST_FAILURE);
        }
        dst->wtail = NULL;
    }
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_close((uv_handle_t *)&s->tcp, on_closed);
    /* Work still waiting (an orderly release, or one association lost among several). */
    if (!dest_failure || dst->nassocs > 0)
        maybe_open(dst);
}

static void on_timer(uv_timer_t *t)
{
    struct passoc *s = t->data;
    if (s->closing)
        return;
    if (s->storing) {
        arm(s, 30); /* our own storage is the wait, not the peer */
        return;
    }
    if (s->bound && !s->busy && !holds_turn(s) && s->a.state == P1_AS_OPEN && !s->asked) {
        want_turn(s); /* idle, but the peer holds the turn: the release needs it */
        uv_timer_start(&s->timer, on_timer, 30000, 0);
        return;
    }
    if (s->bound && !s->busy && holds_turn(s)) {
        /* idle: release orderly */
        s->bound = 0;
        s->releasing = 1;
        p1_assoc_release(&s->a);
        flush(s);
        uv_timer_start(&s->timer, on_timer, 30000, 0);
        return;
    }
    p1_assoc_timeout(&s->a);
    flush(s);
    /* Waiting for the turn the peer holds is not the destination failing. */
    assoc_close(s, "no answer from the peer", !s->releasing && (s->busy || !s->bound));
}

static int holds_turn(const struct passoc *s)
{
    return s->a.state == P1_AS_OPEN && (s->a.sess.tokens & P1_TOK_DATA);
}

/* Two-way alternate: the peer has the turn (it is sending us its messages, or asked for
 * it): ask for it back once; TURN_RECEIVED resumes our work. */
static void want_turn(struct passoc *s)
{
    if (!s->asked && p1_assoc_please_turn(&s->a, 0) == 0)
        s->asked = 1;
    flush(s);
}

static void arm(struct passoc *s, unsigned seconds)
{
    uv_timer_start(&s->timer, on_timer, (uint64_t)seconds * 1000u, 0);
}

/* Take the next waiting delivery (or go idle / release). */
static void assoc_next(struct passoc *s)
{
    struct pdest *dst = s->dest;
    const struct config_peer *p = dst->peer;
    if (s->closing || s->busy || !s->bound)
        return;
    if (!holds_turn(s)) {
        /* The peer holds the turn: wait for TURN_RECEIVED (asking for it when work or the
         * release waits; an idle association simply waits). */
        if (dst->whead || s->sent >= p->messages_per_connection || dst->inst->stopping)
            want_turn(s);
        arm(s, p->idle_timeout ? p->idle_timeout : 300);
        return;
    }
    if (s->peer_wants && s->a.dialogue == P1_DIALOGUE_TWA && dst->inst->rx.apdu) {
        /* The peer asked for the turn: its messages before our next one (it gives it back
         * when it is done, or when we ask). */
        s->peer_wants = 0;
        p1_assoc_give_turn(&s->a);
        if (dst->whead)
            want_turn(s);
        arm(s, p->idle_timeout ? p->idle_timeout : 300);
        flush(s);
        return;
    }
    if (!dst->whead || s->sent >= p->messages_per_connection || dst->inst->stopping) {
        if (!dst->whead && s->sent < p->messages_per_connection && !dst->inst->stopping) {
            arm(s, p->idle_timeout ? p->idle_timeout : 300);
            return;
        }
        s->bound = 0;
        s->releasing = 1;
        p1_assoc_release(&s->a);
        flush(s);
        arm(s, 30);
        maybe_open(dst); /* messages_per_association reached with work waiting */
        return;
    }
    struct pdel *pd = dst->whead;
    dst->whead = pd->next;
    if (!dst->whead)
        dst->wtail = NULL;
    char why[200] = "";
    free(s->apdu);
    s->apdu = NULL;
    int rc = p1_channel_make_apdu(dst->inst, pd->d, &s->apdu, &s->apdu_len, why, sizeof why);
    if (rc) {
        mg_warn("event=p1_out_refused qid=%s peer=%s reason=\"%s\"", pd->d->msg->id, p->name, why);
        p1_channel_finish(pd, rc == MG_ENOMEM ? CHANNEL_DEFERRED : CHANNEL_FAILED, rc == MG_ENOMEM ? "4.3.0" : "5.6.0",
               why, NULL, 0);
        assoc_next(s);
        return;
    }
    s->busy = pd;
    if (p1_assoc_transfer(&s->a, s->apdu, s->apdu_len) != 0) {
        assoc_close(s, "the association cannot transfer now", 0);
        return;
    }
    s->sent++;
    arm(s, p->connect_timeout ? p->connect_timeout * 4 : 120);
    flush(s);
}

static void handle(struct passoc *s)
{
    struct p1_ind ind;
    const struct config_peer *p = s->dest->peer;
    while (!s->closing && p1_assoc_next_ind(&s->a, &ind)) {
        switch (ind.type) {
        case P1_IND_BIND_RESULT:
            if (!ind.accepted) {
                char why[200];
                snprintf(why, sizeof why, "bind refused by %s: %s", p->name,
                         ind.bind_error >= 0 ? p1_bind_error_name(ind.bind_error) : "no reason");
                mg_warn("event=p1_out_bind_refused peer=%s error=%s", p->name,
                        ind.bind_error >= 0 ? p1_bind_error_name(ind.bind_error) : "-");
                flush(s);
                assoc_close(s, why, 1);
                return;
            }
            s->bound = 1;
            mg_info("event=p1_out_bound peer=%s mta=\"%s\" mode=%s", p->name, ind.bind.name,
                    p1_mode_name(ind.mode));
            assoc_next(s);
            maybe_open(s->dest);
            break;
        case P1_IND_TRANSFER_CONFIRMED: {
            struct pdel *pd = s->busy;
            s->busy = NULL;
            free(s->apdu);
            s->apdu = NULL;
            if (pd) {
                char text[300];
                snprintf(text, sizeof text, "transferred to %s (%s)", p->name, p->mta_name);
                p1_channel_finish(pd, CHANNEL_RELAYED, "2.0.0", text, p->name, 0);
            }
            assoc_next(s);
            break;
        }
        case P1_IND_TRANSFER_REFUSED: {
            struct pdel *pd = s->busy;
            s->busy = NULL;
            if (pd) {
                char text[300];
                snprintf(text, sizeof text, "%s refused the transfer: %s", p->name, ind.reason);
                p1_channel_finish(pd, CHANNEL_FAILED, "5.3.4", text, p->name, 0);
            }
            assoc_next(s);
            break;
        }
        case P1_IND_TURN_PLEASE:
            /* Now when idle, else after the transfer in flight (assoc_next). */
            s->peer_wants = 1;
            if (!s->busy && !s->releasing) {
                uv_timer_stop(&s->timer);
                assoc_next(s);
            }
            break;
        case P1_IND_TURN_RECEIVED:
            s->asked = 0;
            if (s->releasing) {
                p1_assoc_release(&s->a); /* the release that waited for the turn */
            } else if (!s->busy) {
                uv_timer_stop(&s->timer);
                assoc_next(s);
            }
            break;
        case P1_IND_APDU:
            if (s->dest->inst->rx.apdu) {
                /* The peer's message in its turn: stored like one on our listeners, and
                 * acknowledged only once durable (p1_channel_apdu_done). */
                s->storing = 1;
                uv_timer_stop(&s->timer);
                s->dest->inst->rx.apdu(s->dest->inst->rx.arg, p, ind.apdu, ind.apdu_len, s);
                break;
            }
            /* No receiver: the channel has no way into the queue, so it is not taken (the
             * peer keeps it; we never pass the turn then, but a peer may send anyway). */
            mg_warn("event=p1_out_apdu_refused peer=%s reason=\"messages are taken on our "
                    "listeners only\"", p->name);
            p1_assoc_abort(&s->a, "messages are taken on our listeners only");
            flush(s);
            assoc_close(s, "the peer sent a message over our association", 0);
            return;
        case P1_IND_RELEASED:
            flush(s);
            assoc_close(s, "released", 0);
            return;
        case P1_IND_ABORTED: {
            char why[200];
            snprintf(why, sizeof why, "association with %s aborted: %s", p->name, ind.reason);
            mg_warn("event=p1_out_aborted peer=%s reason=\"%s\"", p->name, ind.reason);
            flush(s);
            assoc_close(s, why, !s->bound);
            return;
        }
        default:
            break;
        }
    }
    flush(s);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    (void)sz;
    b->base = malloc(65536);
    b->len = b->base ? 65536 : 0;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct passoc *s = st->data;
    if (n > 0 && !s->closing) {
        if (s->busy || (s->bound && !holds_turn(s)))
            /* the peer is answering (checkpoint acknowledgements), or sending in its turn:
             * not stuck */
            arm(s, s->dest->peer->connect_timeout ? s->dest->peer->connect_timeout * 4 : 120);
        p1_assoc_input(&s->a, b->base, (size_t)n);
        handle(s);
    } else if (n < 0 && !s->closing) {
        assoc_close(s, "the peer closed the connection", !s->bound && !s->busy);
    }
    free(b->base);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct passoc *s = req->data;
    if (s->closing)
        return;
    if (status < 0) {
        char why[200];
        snprintf(why, sizeof why, "cannot connect to %s (%s:%u): %s", s->dest->peer->name,
                 s->dest->peer->host, s->dest->peer->port, uv_strerror(status));
        mg_warn("event=p1_out_connect_failed peer=%s error=\"%s\"", s->dest->peer->name, uv_strerror(status));
        assoc_close(s, why, 1);
        return;
    }
    s->connected = 1;
    uv_tcp_nodelay(&s->tcp, 1);
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    p1_assoc_start(&s->a);
    flush(s);
}

static void sel_copy(const struct config_sel *c, struct p1_sel *out)
{
    size_t n = c->len > P1_SEL_MAX ? P1_SEL_MAX : c->len;
    memcpy(out->v, c->v, n);
    out->len = (uint8_t)n;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct passoc *s = req->data;
    free(req);
    if (!s->closing && (status < 0 || !res)) {
        char why[200];
        snprintf(why, sizeof why, "cannot resolve %s: %s", s->dest->peer->host, uv_strerror(status));
        assoc_close(s, why, 1);
    } else if (!s->closing) {
        s->conn_req.data = s;
        int rc = uv_tcp_connect(&s->conn_req, &s->tcp, res->ai_addr, on_connect);
        if (rc)
            assoc_close(s, uv_strerror(rc), 1);
    }
    uv_freeaddrinfo(res);
    s->resolving = 0;
    assoc_free(s);
}

static void assoc_open(struct pdest *dst)
{
    struct p1_inst *pi = dst->inst;
    const struct config_peer *p = dst->peer;
    struct passoc *s = calloc(1, sizeof *s);
    uv_getaddrinfo_t *req = calloc(1, sizeof *req);
    if (!s || !req) {
        free(s);
        free(req);
        return;
    }
    s->dest = dst;
    uv_tcp_init(pi->loop, &s->tcp);
    uv_timer_init(pi->loop, &s->timer);
    s->tcp.data = s->timer.data = s;
    s->handles = 2;
    s->resolving = 1;
    struct p1_assoc_cfg cfg = {
        .initiator = 1,
        .mode = (enum p1_mode)p->mode,
        .checkpoint_kib = p->checkpoint_size,
        .window = p->window,
        .dialogue = p->dialogue == CONFIG_X400_TWA ? P1_DIALOGUE_TWA : P1_DIALOGUE_MONOLOGUE,
        .expect_name = p->mta_name,
        .expect_password = p->password,
    };
    /* What the peer sends in its turn is taken as on its listener: that listener's limit */
    const struct config_listener *pl = config_peer_p1_listener(pi->cfg, p);
    if (pl)
        cfg.max_apdu = (size_t)pl->max_message_size + 65536;
    sel_copy(&p->tsel, &cfg.called_tsel);
    sel_copy(&p->ssel, &cfg.called_ssel);
    sel_copy(&p->psel, &cfg.called_psel);
    cfg.bind.authenticated = 1;
    snprintf(cfg.bind.name, sizeof cfg.bind.name, "%s", p->our_mta_name ? p->our_mta_name : "");
    if (p->our_password) {
        snprintf(cfg.bind.password, sizeof cfg.bind.password, "%s", p->our_password);
        cfg.bind.has_password = 1;
    }
    p1_assoc_init(&s->a, &cfg);
    s->next = dst->assocs;
    dst->assocs = s;
    dst->nassocs++;
    pi->live++;
    arm(s, p->connect_timeout ? p->connect_timeout : 30);
    char port[8];
    snprintf(port, sizeof port, "%u", p->port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    req->data = s;
    if (uv_getaddrinfo(pi->loop, req, on_resolved, p->host, port, &hints) != 0) {
        free(req);
        s->resolving = 0;
        assoc_close(s, "cannot resolve the peer's host", 1);
    }
}

static struct pdest *dest_for(struct p1_inst *pi, const struct config_peer *p)
{
    for (struct pdest *d = pi->dests; d; d = d->next)
        if (d->peer == p)
            return d;
    struct pdest *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->inst = pi;
    d->peer = p;
    d->next = pi->dests;
    pi->dests = d;
    return d;
}

static void p1_deliver(void *inst, struct channel_delivery *d)
{
    struct p1_inst *pi = inst;
    struct pdel *pd = calloc(1, sizeof *pd);
    struct pdest *dst = d->peer && (d->peer->host || d->peer->inbound_only) && !pi->stopping
                            ? dest_for(pi, d->peer) : NULL;
    if (!pd || !dst) {
        struct pdel tmp = { .d = d };
        struct pdel *x = pd ? pd : malloc(sizeof *x);
        if (!x) {
            for (size_t i = 0; i < d->nrcpts; i++)
                channel_outcome_set(&d->outcomes[i], CHANNEL_DEFERRED, 451, "4.3.0",
                                    "out of memory", NULL);
            channel_delivery_done(d);
            return;
        }
        *x = tmp;
        p1_channel_finish(x, CHANNEL_DEFERRED, "4.3.0", pi->stopping ? "shutting down" : "no x400 peer address", NULL, 0);
        return;
    }
    pd->d = d;
    if (dst->wtail)
        dst->wtail->next = pd;
    else
        dst->whead = pd;
    dst->wtail = pd;
    if (d->peer->inbound_only) {
        /* Never called: its own two-way-alternate association takes it, or it waits in the
         * queue until the peer binds. */
        if (pi->in.bound && pi->in.bound(pi->in.arg, d->peer))
            pi->in.kick(pi->in.arg, d->peer);
        else
            p1_channel_await_all(dst);
        return;
    }
    /* An idle bound association takes it; else open one if the peer allows more. */
    for (struct passoc *s = dst->assocs; s; s = s->next)
        if (s->bound && !s->busy && !s->closing) {
            uv_timer_stop(&s->timer);
            assoc_next(s);
            return;
        }
    maybe_open(dst);
}

/* ---- the peer's messages over our associations ------------------------------------------ */

void p1_channel_set_receiver(void *inst, const struct p1_channel_receiver *r)
{
    struct p1_inst *pi = inst;
    if (r)
        pi->rx = *r;
    else
        memset(&pi->rx, 0, sizeof pi->rx);
}

void p1_channel_apdu_done(void *token, int status)
{
    struct passoc *s = token;
    if (!s->storing)
        return;
    s->storing = 0;
    if (s->closing) {
        assoc_free(s);
        return;
    }
    if (status == 0)
        p1_assoc_apdu_durable(&s->a);
    else
        p1_assoc_abort(&s->a, "the message could not be stored");
    arm(s, s->dest->peer->idle_timeout ? s->dest->peer->idle_timeout : 300);
    handle(s);
}

static int p1_start(const struct channel_env *env, const struct config_channel *ch, void **inst)
{
    (void)ch;
    struct p1_inst *pi = calloc(1, sizeof *pi);
    if (!pi)
        return MG_ENOMEM;
    pi->loop = env->loop;
    pi->cfg = env->cfg;
    *inst = pi;
    return 0;
}

static void p1_stop(void *inst, void (*done)(void *arg), void *arg)
{
    struct p1_inst *pi = inst;
    pi->stopping = 1;
    pi->stopped = done;
    pi->stopped_arg = arg;
    for (struct pdest *d = pi->dests; d; d = d->next) {
        while (d->whead) {
            struct pdel *pd = d->whead;
            d->whead = pd->next;
            p1_channel_finish(pd, CHANNEL_DEFERRED, "4.3.2", "shutting down", NULL, 0);
        }
        d->wtail = NULL;
        struct passoc *s = d->assocs;
        while (s) {
            struct passoc *n = s->next;
            if (s->bound && !s->busy) {
                s->bound = 0;
                s->releasing = 1;
                if (holds_turn(s))
                    p1_assoc_release(&s->a);
                else
                    want_turn(s); /* TURN_RECEIVED sends the release */
                flush(s);
                arm(s, 5);
            } else {
                p1_assoc_abort(&s->a, "shutting down");
                flush(s);
                assoc_close(s, "shutting down", 0);
            }
            s = n;
        }
    }
    if (pi->live == 0) {
        pi->stopped = NULL;
        done(arg);
    }
}

static void p1_inst_free(void *inst)
{
    struct p1_inst *pi = inst;
    if (!pi)
        return;
    while (pi->dests) {
        struct pdest *d = pi->dests;
        pi->dests = d->next;
        free(d);
    }
    free(pi);
}

static size_t p1_connections(const void *inst)
{
    const struct p1_inst *pi = inst;
    return pi->live;
}

const struct channel_kind p1_channel_kind = {
    .name = "p1",
    .role = CHANNEL_ROLE_DELIVERY,
    .peer = CHANNEL_PEER_X400,
    .configure = p1_configure,
    .start = p1_start,
    .deliver = p1_deliver,
    .stop = p1_stop,
    .inst_free = p1_inst_free,
    .connections = p1_connections,
};
