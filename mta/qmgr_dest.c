/* qmgr_dest: per-destination delivery queues (see qmgr.h).
 *
 * A destination is (configuration, delivery channel instance, peer, next hop). Deliveries wait
 * in its FIFO; the global slots (queue.max_active_deliveries) go round-robin among the
 * destinations with work waiting, each destination takes at most its own limit, and a
 * destination that already has a delivery in flight never takes a slot that another waiting
 * destination without one needs: a slow destination holds its own slots, never everybody's.
 *
 * Throttling (as Postfix's "dead destination"): when every recipient of a delivery comes back
 * deferred with CHANNEL_OUT_DEST_FAILURE (connect, TLS, bind failed), the destination is
 * throttled for retry_min seconds: its waiting deliveries and new ones are deferred at once
 * with that one reason instead of each waiting out its own connect timeout; afterwards it is
 * probed with one delivery at a time until one gets through. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_DELIVERIES 100

static void ring_add(struct qmgr *q, struct qdest *d)
{
    if (d->in_ring)
        return;
    d->in_ring = 1;
    if (!q->ring) {
        d->rnext = d->rprev = d;
        q->ring = d;
    } else {                       /* just before the cursor: served last in this turn */
        d->rnext = q->ring;
        d->rprev = q->ring->rprev;
        q->ring->rprev->rnext = d;
        q->ring->rprev = d;
    }
    q->nring++;
}

static void ring_remove(struct qmgr *q, struct qdest *d)
{
    if (!d->in_ring)
        return;
    d->in_ring = 0;
    if (d->rnext == d) {
        q->ring = NULL;
    } else {
        d->rprev->rnext = d->rnext;
        d->rnext->rprev = d->rprev;
        if (q->ring == d)
            q->ring = d->rnext;
    }
    d->rnext = d->rprev = NULL;
    q->nring--;
}

static struct qdest *dest_get(struct qmgr *q, struct qgroup *g)
{
    struct cfgref *r = g->j->cref;
    for (struct qdest *d = q->dests; d; d = d->next)
        if (d->cref == r && d->channel == g->channel && d->peer == g->peer &&
            !strcmp(d->next_hop, g->next_hop))
            return d;
    struct qdest *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->q = q;
    d->cref = r;
    r->refs++;
    d->channel = g->channel;
    d->peer = g->peer;
    d->inst = qmgr_instance(r, g->channel);
    snprintf(d->next_hop, sizeof d->next_hop, "%s", g->next_hop);
    d->limit = g->peer ? g->peer->max_connections : g->channel->concurrency;
    if (!d->limit)
        d->limit = 1;
    d->next = q->dests;
    q->dests = d;
    q->ndests++;
    return d;
}

static void dest_free(struct qmgr *q, struct qdest *d)
{
    ring_remove(q, d);
    for (struct qdest **pp = &q->dests; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    q->ndests--;
    struct cfgref *r = d->cref;
    free(d);
    qmgr_cfgref_put(q, r);
}

void qmgr_dest_gc(struct qmgr *q, int all)
{
    int64_t now = qmgr_now(q);
    for (struct qdest *d = q->dests, *nx; d; d = nx) {
        nx = d->next;
        if (d->active || d->waiting)
            continue;
        if (all || d->throttled_until <= now)
            dest_free(q, d);
    }
}

int64_t qmgr_dest_next_wakeup(const struct qmgr *q)
{
    int64_t best = INT64_MAX;
    for (const struct qdest *d = q->dests; d; d = d->next)
        if (d->throttled_until && d->throttled_until < best && !d->active && !d->waiting)
            best = d->throttled_until;
    return best;
}

/* Completes g at once with a deferral carrying `text`. */
static void defer_now(struct qgroup *g, const char *status, const char *text)
{
    for (size_t i = 0; i < g->nrcpts; i++)
        channel_outcome_set(&g->outcomes[i], CHANNEL_DEFERRED, 451, status, text, NULL);
    qmgr_job_group_done(g);
}

static void throttled_text(const struct qdest *d, char *buf, size_t n)
{
    snprintf(buf, n, "destination throttled after a connection-level failure: %s",
             d->last_error[0] ? d->last_error : "unknown");
}

static int goes_before(const struct qgroup *a, const struct qgroup *b)
{
    const struct message *ma = a->j->msg, *mb = b->j->msg;
    if (ma->priority != mb->priority)
        return ma->priority > mb->priority;
    return strcmp(ma->id, mb->id) < 0;
}

void qmgr_dest_enqueue(struct qmgr *q, struct qgroup *g)
{
    if (q->draining) {
        defer_now(g, "4.3.2", "mixgated is stopping");
        return;
    }
    struct qdest *d = dest_get(q, g);
    if (!d) {
        defer_now(g, "4.3.0", "out of memory");
        return;
    }
    g->dest = d;
    const char *held = g->peer ? qmgr_peer_held(q, g->peer->name) : NULL;
    if (held) {
        char t[700];
        snprintf(t, sizeof t, "peer %s held by operator%s%s", g->peer->name, *held ? ": " : "", held);
        defer_now(g, "4.3.0", t);
        return;
    }
    if (d->throttled_until > qmgr_now(q)) {
        char t[700];
        throttled_text(d, t, sizeof t);
        defer_now(g, "4.4.1", t);
        return;
    }
    g->state = QG_QUEUED;
    g->dnext = NULL;
    /* Highest priority first, then oldest (queue ids sort by arrival): jobs load in parallel
     * and may reach the destination in any order. */
    if (!d->wtail || !goes_before(g, d->wtail)) {  /* the usual case: append */
        if (d->wtail)
            d->wtail->dnext = g;
        else
            d->whead = g;
        d->wtail = g;
    } else {
        struct qgroup **pp = &d->whead;
        while (*pp && !goes_before(g, *pp))
            pp = &(*pp)->dnext;
        g->dnext = *pp;
        *pp = g;
    }
    d->waiting++;
    q->queued_deliveries++;
    ring_add(q, d);
    qmgr_dest_pump(q);
}

static void delivery_finished(struct qgroup *g)
{
    struct qjob *j = g->j;
    struct qmgr *q = j->q;
    struct qdest *d = g->dest;
    d->active--;
    q->active_deliveries--;
    int all_dest_fail = g->nrcpts > 0, any_ok = 0;
    for (size_t i = 0; i < g->nrcpts; i++) {
        const struct channel_outcome *o = &g->outcomes[i];
        if (o->action != CHANNEL_DEFERRED || !(o->flags & CHANNEL_OUT_DEST_FAILURE))
            all_dest_fail = 0;
        if (o->action == CHANNEL_DELIVERED || o->action == CHANNEL_RELAYED)
            any_ok = 1;
        if (o->action == CHANNEL_DEFERRED || o->action == CHANNEL_NONE)
            snprintf(d->last_error, sizeof d->last_error, "%d %s %s", o->code, o->status, o->text);
    }
    struct qgroup *flush = NULL;
    if (all_dest_fail) {
        uint32_t wait = j->cref->cfg->queue.retry_min ? j->cref->cfg->queue.retry_min : 60;
        d->throttled_until = qmgr_now(q) + wait;
        d->probing = 1;
        mg_warn("event=throttled channel=%s peer=%s next_hop=%s seconds=%u waiting=%zu reason=\"%s\"",
                d->channel->name, d->peer ? d->peer->name : "-", d->next_hop[0] ? d->next_hop : "-",
                wait, d->waiting, d->last_error);
        flush = d->whead;
        d->whead = d->wtail = NULL;
        q->queued_deliveries -= d->waiting;
        d->waiting = 0;
        ring_remove(q, d);
    } else if (any_ok) {
        if (d->probing || d->throttled_until)
            mg_info("event=unthrottled channel=%s peer=%s next_hop=%s", d->channel->name,
                    d->peer ? d->peer->name : "-", d->next_hop[0] ? d->next_hop : "-");
        d->probing = 0;
        d->throttled_until = 0;
        d->last_error[0] = 0;
    }
    /* g's job may end inside this call (and free g) */
    qmgr_job_group_done(g);
    if (flush) {
        char t[700];
        throttled_text(d, t, sizeof t);
        for (struct qgroup *x = flush, *nx; x; x = nx) {
            nx = x->dnext;
            defer_now(x, "4.4.1", t);
        }
    }
    qmgr_dest_pump(q);
}

static void on_delivery_done(struct channel_delivery *del)
{
    delivery_finished(del->qmgr_data);
}

/* The size limit of the delivery channel and of the route's peer (the smaller one given):
 * content over it fails the group's recipients before any connection (X.411 unable-to-
 * transfer / content-too-long, RFC 3463 5.3.4). 1 when so. */
static int over_limit(struct qgroup *g, const struct content *c)
{
    uint64_t ch = g->channel ? g->channel->max_message_size : 0;
    uint64_t pe = g->peer ? g->peer->max_message_size : 0;
    uint64_t max = ch && (!pe || ch <= pe) ? ch : pe;
    size_t len = content_len(c);
    if (!max || len <= max)
        return 0;
    char t[300];
    snprintf(t, sizeof t, "message of %zu octets is over the size limit of %" PRIu64 " octets of %s "
             "'%s'", len, max, max == pe ? "peer" : "channel",
             max == pe ? g->peer->name : g->channel->name);
    for (size_t i = 0; i < g->nrcpts; i++) {
        channel_outcome_set(&g->outcomes[i], CHANNEL_FAILED, 552, "5.3.4", t, NULL);
        g->outcomes[i].x400_reason = 1;      /* unable-to-transfer */
        g->outcomes[i].x400_diagnostic = 7;  /* content-too-long */
    }
    return 1;
}

static void on_version_ready(struct qgroup *g, int rc)
{
    struct qjob *j = g->j;
    struct jversion *v = rc == 0 ? qmgr_job_version(j, g->version) : NULL;
    if (!v) {
        char t[200];
        snprintf(t, sizeof t, "cannot read content version %u: %s", g->version,
                 mg_strerror(rc ? rc : MG_ENOTFOUND));
        for (size_t i = 0; i < g->nrcpts; i++)
            channel_outcome_set(&g->outcomes[i], CHANNEL_DEFERRED, 451, "4.3.0", t, NULL);
        delivery_finished(g);
        return;
    }
    if (over_limit(g, v->c)) {
        delivery_finished(g);
        return;
    }
    struct qdest *d = g->dest;
    g->state = QG_ACTIVE;
    g->del = (struct channel_delivery){
        .msg = j->msg, .content = v->c, .cfg = j->cref->cfg, .channel = g->channel,
        .peer = g->peer, .next_hop = g->next_hop,
        .originator = v->originator ? v->originator : j->msg->originator,
        .nrcpts = g->nrcpts, .rcpts = g->rcpts, .rcpt_addrs = g->addrs, .outcomes = g->outcomes,
        .label = v->label_set ? v->label : j->msg->label,
        .label_len = v->label_set ? v->label_len : j->msg->label_len,
        .done_cb = on_delivery_done, .qmgr_data = g,
    };
    if (!g->del.label_len)
        g->del.label = NULL;
    d->channel->kind->deliver(d->inst, &g->del);
}

/* May d take a free slot now? */
static int may_start(const struct qmgr *q, const struct qdest *d, uint32_t global)
{
    if (!d->whead)
        return 0;
    uint32_t lim = d->probing ? 1 : d->limit;
    if (d->active >= lim)
        return 0;
    if (d->active == 0)
        return 1;
    /* A destination that already has a delivery in flight leaves one free slot for every
     * other destination waiting without any, and the last free slot to destinations holding
     * less than half of all: one slow peer never holds every slot, and a newcomer finds one. */
    size_t starving = 0;
    const struct qdest *x = q->ring;
    for (size_t i = 0; x && i < q->nring; i++, x = x->rnext)
        if (x != d && x->active == 0 && x->whead)
            starving++;
    size_t free_slots = global - q->active_deliveries;
    if (free_slots <= starving)
        return 0;
    if (free_slots - starving > 1)
        return 1;
    /* the last unreserved slot: not for a destination that already holds half of them */
    return d->active * 2 < global;
}

void qmgr_dest_pump(struct qmgr *q)
{
    if (q->dest_pumping) {          /* a delivery finished synchronously inside deliver() */
        q->dest_repump = 1;
        return;
    }
    q->dest_pumping = 1;
    do {
        q->dest_repump = 0;
        uint32_t global = q->cref ? q->cref->cfg->queue.max_active_deliveries : 0;
        if (!global)
            global = DEFAULT_MAX_DELIVERIES;
        size_t idle_turns = 0;
        while (q->ring && q->active_deliveries < global && idle_turns < q->nring) {
            struct qdest *d = q->ring;
            q->ring = d->rnext;     /* round-robin: the next destination goes first next time */
            if (!may_start(q, d, global)) {
                idle_turns++;
                continue;
            }
            idle_turns = 0;
            struct qgroup *g = d->whead;
            d->whead = g->dnext;
            if (!d->whead)
                d->wtail = NULL;
            g->dnext = NULL;
            d->waiting--;
            q->queued_deliveries--;
            d->active++;
            q->active_deliveries++;
            if (!d->whead)
                ring_remove(q, d);
            g->state = QG_LOADING;
            qmgr_job_need_version(g, on_version_ready);
        }
    } while (q->dest_repump);
    q->dest_pumping = 0;
}

void qmgr_dest_peer_held(struct qmgr *q, const char *peer, const char *reason)
{
    char t[700];
    snprintf(t, sizeof t, "peer %s held by operator%s%s", peer, *reason ? ": " : "", reason);
    for (struct qdest *d = q->dests; d; d = d->next) {
        if (!d->peer || strcmp(d->peer->name, peer) || !d->whead)
            continue;
        struct qgroup *list = d->whead;
        d->whead = d->wtail = NULL;
        q->queued_deliveries -= d->waiting;
        d->waiting = 0;
        ring_remove(q, d);
        for (struct qgroup *x = list, *nx; x; x = nx) {
            nx = x->dnext;
            defer_now(x, "4.3.0", t);
        }
    }
}

void qmgr_dest_drain(struct qmgr *q)
{
    for (struct qdest *d = q->dests; d; d = d->next) {
        struct qgroup *list = d->whead;
        d->whead = d->wtail = NULL;
        q->queued_deliveries -= d->waiting;
        d->waiting = 0;
        ring_remove(q, d);
        for (struct qgroup *x = list, *nx; x; x = nx) {
            nx = x->dnext;
            defer_now(x, "4.3.2", "mixgated is stopping");
        }
    }
}
