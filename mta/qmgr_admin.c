/* qmgr_admin: the operator's side of the queue manager: hold, release, delete, retry and
 * flush of messages, holds on peers, and the statistics and destination list the control
 * socket shows. Split from qmgr.c, which keeps the message index these operations move
 * entries in (qmgr_place and the index helpers in qmgr_internal.h). */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdlib.h>
#include <string.h>

/* ---- admin ------------------------------------------------------------------------------- */

struct admin_op {
    struct qmgr *q;
    char id[MESSAGE_ID_SIZE];
    int kind;                   /* 0 hold, 1 release, 2 delete */
    qmgr_admin_cb cb;
    void *arg;
};

static void on_admin_written(void *arg, int status)
{
    struct admin_op *op = arg;
    struct qmgr *q = op->q;
    q->writes_pending--;
    struct qentry *e = qmgr_hash_find(q, op->id);
    if (status == 0 && e)
        qmgr_entry_hot_drop(q, e); /* the store holds the message's state now */
    if (status == 0 && e) {
        if (op->kind == 0 && !(e->flags & QE_HELD)) {
            if (e->flags & QE_PARKED)
                e->flags &= (uint8_t)~QE_PARKED; /* counted once, as held */
            else
                q->nheld++;
            e->flags |= QE_HELD;
            qmgr_place(q, e);
        } else if (op->kind == 1 && (e->flags & (QE_HELD | QE_PARKED))) {
            /* also the recipients a channel held: the store made them pending again */
            e->flags &= (uint8_t)~(QE_HELD | QE_PARKED);
            q->nheld--;
            e->next_attempt = 0;
            qmgr_place(q, e);
        } else if (op->kind == 2) {
            qmgr_hash_remove(q, e);
            e->flags |= QE_DELETED;
            if (!(e->flags & QE_ACTIVE)) {
                e->flags &= (uint8_t)~QE_DELETED; /* not in the hash any more: plain drop */
                qmgr_heap_remove(q, e);
                qmgr_ready_remove(q, e);
                if (e->flags & (QE_HELD | QE_PARKED))
                    q->nheld--;
                free(e);
                qmgr_arm_timer(q);
            }
        }
    }
    static const char *const names[] = { "held", "released", "deleted" };
    if (status == 0)
        mg_info("event=%s qid=%s by=admin", names[op->kind], op->id);
    op->cb(op->arg, status);
    free(op);
    qmgr_pump(q);
    qmgr_maybe_drained(q);
}

static int admin_start(struct qmgr *q, const char *id, int kind, const char *reason,
                       qmgr_admin_cb cb, void *arg)
{
    if (!message_id_valid(id))
        return MG_ENOTFOUND;
    struct admin_op *op = calloc(1, sizeof *op);
    if (!op)
        return MG_ENOMEM;
    op->q = q;
    snprintf(op->id, sizeof op->id, "%s", id);
    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    int rc = kind == 0   ? queue_store_hold(q->store, id, reason, on_admin_written, op)
             : kind == 1 ? queue_store_release(q->store, id, on_admin_written, op)
                         : queue_store_delete(q->store, id, on_admin_written, op);
    if (rc != 0) {
        free(op);
        return rc;
    }
    q->writes_pending++;
    return 0;
}

int qmgr_hold(struct qmgr *q, const char *id, const char *reason, qmgr_admin_cb cb, void *arg)
{
    return admin_start(q, id, 0, reason, cb, arg);
}

int qmgr_release(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg)
{
    return admin_start(q, id, 1, NULL, cb, arg);
}

int qmgr_delete(struct qmgr *q, const char *id, qmgr_admin_cb cb, void *arg)
{
    return admin_start(q, id, 2, NULL, cb, arg);
}

int qmgr_retry(struct qmgr *q, const char *id)
{
    struct qentry *e = qmgr_hash_find(q, id);
    if (!e)
        return MG_ENOTFOUND;
    if (e->flags & (QE_HELD | QE_PARKED))
        return MG_ESTATE;
    if (!(e->flags & QE_ACTIVE)) {
        e->flags |= QE_FORCE;
        qmgr_place(q, e);
        qmgr_pump(q);
    }
    return 0;
}

size_t qmgr_flush(struct qmgr *q)
{
    size_t n = 0;
    while (q->nheap) {
        struct qentry *e = q->heap[0];
        qmgr_heap_remove(q, e);
        e->flags |= QE_FORCE;
        qmgr_ready_push(q, e);
        n++;
    }
    qmgr_arm_timer(q);
    qmgr_pump(q);
    return n;
}

const char *qmgr_peer_held(const struct qmgr *q, const char *peer)
{
    for (const struct qhold *h = q->holds; h; h = h->next)
        if (!strcmp(h->peer, peer))
            return h->reason;
    return NULL;
}

/* The hold in memory: what the scheduler looks at (qmgr_dest). */
static int hold_set(struct qmgr *q, const char *peer, const char *why, int64_t since)
{
    for (struct qhold *h = q->holds; h; h = h->next) {
        if (strcmp(h->peer, peer))
            continue;
        char *r = strdup(why);
        if (!r)
            return MG_ENOMEM;
        free(h->reason);
        h->reason = r;
        return MG_EEXIST;
    }
    struct qhold *h = calloc(1, sizeof *h);
    if (!h || !(h->peer = strdup(peer)) || !(h->reason = strdup(why))) {
        if (h)
            free(h->peer);
        free(h);
        return MG_ENOMEM;
    }
    h->since = since;
    h->next = q->holds;
    q->holds = h;
    return 0;
}

int qmgr_peer_hold(struct qmgr *q, const char *peer, const char *reason, qmgr_admin_cb cb,
                   void *arg)
{
    if (!peer || !*peer)
        return MG_EINVAL;
    const char *why = reason ? reason : "";
    int rc = hold_set(q, peer, why, qmgr_now(q));
    if (rc != 0 && rc != MG_EEXIST)
        return rc;
    if (rc == 0) {
        mg_info("event=peer_held peer=%s reason=\"%s\"", peer, why);
        qmgr_dest_peer_held(q, peer, why);
    }
    /* Held in memory at once, whatever the store says next: the scheduler stops now, and a
     * hold that could not be written still holds until the operator releases it or the
     * daemon restarts (the warning says so). */
    int w = queue_store_peer_hold(q->store, peer, why, cb, arg);
    if (w != 0) {
        mg_warn("event=peer_hold_not_stored peer=%s error=\"%s\"", peer, mg_strerror(w));
        return w;
    }
    return rc;
}

int qmgr_peer_release(struct qmgr *q, const char *peer, qmgr_admin_cb cb, void *arg)
{
    for (struct qhold **pp = &q->holds; *pp; pp = &(*pp)->next) {
        struct qhold *h = *pp;
        if (strcmp(h->peer, peer))
            continue;
        *pp = h->next;
        free(h->peer);
        free(h->reason);
        free(h);
        mg_info("event=peer_released peer=%s", peer);
        int w = queue_store_peer_hold(q->store, peer, NULL, cb, arg);
        if (w != 0)
            mg_warn("event=peer_release_not_stored peer=%s error=\"%s\"", peer, mg_strerror(w));
        return w;
    }
    return MG_ENOTFOUND;
}

void qmgr_foreach_peer_hold(const struct qmgr *q,
                            void (*fn)(void *arg, const char *peer, const char *reason,
                                       int64_t since),
                            void *arg)
{
    for (const struct qhold *h = q->holds; h; h = h->next)
        fn(arg, h->peer, h->reason, h->since);
}

static int hold_loaded(void *arg, const char *peer, const char *reason, int64_t since)
{
    struct qmgr *q = arg;
    int rc = hold_set(q, peer, reason, since);
    if (rc == 0)
        mg_info("event=peer_held peer=%s reason=\"%s\" since=%lld source=queue", peer, reason,
                (long long)since);
    return rc == MG_EEXIST ? 0 : rc;
}

int qmgr_peer_holds_load(struct qmgr *q)
{
    int rc = queue_store_peer_holds(q->store, hold_loaded, q);
    if (rc == MG_ENOMEM)
        return rc;
    /* a damaged table does not stop the queue (as a damaged message row does not): the
     * operator is told, and holds the peers again */
    if (rc != 0)
        mg_error("event=peer_holds_unreadable error=\"%s\" action=\"check mixgate peers and hold "
                 "again\"", mg_strerror(rc));
    return 0;
}

void qmgr_get_stats(const struct qmgr *q, struct qmgr_stats *st)
{
    memset(st, 0, sizeof *st);
    st->messages = q->nentries;
    st->held = q->nheld;
    st->ready = q->nready;
    st->waiting = q->nheap;
    st->active = q->active_jobs;
    st->processing = q->processing + q->nprocq;
    st->deliveries = q->active_deliveries;
    st->queued = q->queued_deliveries;
    st->destinations = q->ndests;
    int64_t now = qmgr_now(q);
    for (const struct qdest *d = q->dests; d; d = d->next)
        st->throttled += d->throttled_until > now;
    if (q->cref) {
        const struct config *cfg = q->cref->cfg;
        for (size_t i = 0; i < cfg->n_channels; i++) {
            const struct config_channel *ch = &cfg->channels[i];
            if (q->cref->insts && q->cref->insts[i] && ch->kind->connections)
                st->connections += ch->kind->connections(q->cref->insts[i]);
        }
    }
    st->delivered = q->n_delivered;
    st->failed = q->n_failed;
    st->deferred = q->n_deferred;
    st->held_rcpts = q->n_held;
    st->reports = q->n_reports;
}

void qmgr_foreach_dest(const struct qmgr *q, void (*cb)(void *arg, const struct qmgr_dest_info *d),
                       void *arg)
{
    int64_t now = qmgr_now(q);
    for (const struct qdest *d = q->dests; d; d = d->next) {
        struct qmgr_dest_info di = {
            .channel = d->channel->name, .peer = d->peer ? d->peer->name : "",
            .next_hop = d->next_hop, .limit = d->limit, .active = d->active,
            .waiting = d->waiting,
            .throttled_until = d->throttled_until > now ? d->throttled_until : 0,
            .last_error = d->last_error,
            .held = d->peer ? qmgr_peer_held(q, d->peer->name) : NULL,
        };
        cb(arg, &di);
    }
}
