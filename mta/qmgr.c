/* qmgr: the queue manager's core (see qmgr.h): the message index (hash, ready lists per
 * priority, wait heap and its timer), configurations and their channel instances, starting
 * jobs and drain. Jobs are in qmgr_job.c, destinations in qmgr_dest.c, admin operations and
 * statistics in qmgr_admin.c. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

int64_t qmgr_now(const struct qmgr *q)
{
    return q->opts.now(q->opts.now_ctx);
}

/* ---- id hash ----------------------------------------------------------------------------- */

static size_t hash_id(const char *id)
{
    size_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}

static int hash_grow(struct qmgr *q)
{
    size_t n = q->nbuckets ? q->nbuckets * 2 : 1024;
    struct qentry **b = calloc(n, sizeof *b);
    if (!b)
        return MG_ENOMEM;
    for (size_t i = 0; i < q->nbuckets; i++) {
        for (struct qentry *e = q->buckets[i], *nx; e; e = nx) {
            nx = e->hnext;
            size_t k = hash_id(e->id) & (n - 1);
            e->hnext = b[k];
            b[k] = e;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = n;
    return 0;
}

struct qentry *qmgr_hash_find(const struct qmgr *q, const char *id)
{
    if (!q->nbuckets)
        return NULL;
    for (struct qentry *e = q->buckets[hash_id(id) & (q->nbuckets - 1)]; e; e = e->hnext)
        if (!strcmp(e->id, id))
            return e;
    return NULL;
}

static int hash_insert(struct qmgr *q, struct qentry *e)
{
    if (q->nentries + 1 > q->nbuckets) {
        int rc = hash_grow(q);
        if (rc)
            return rc;
    }
    size_t k = hash_id(e->id) & (q->nbuckets - 1);
    e->hnext = q->buckets[k];
    q->buckets[k] = e;
    q->nentries++;
    return 0;
}

void qmgr_hash_remove(struct qmgr *q, struct qentry *e)
{
    struct qentry **pp = &q->buckets[hash_id(e->id) & (q->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == e) {
            *pp = e->hnext;
            q->nentries--;
            return;
        }
    }
}

/* ---- ready lists ------------------------------------------------------------------------ */

void qmgr_ready_push(struct qmgr *q, struct qentry *e)
{
    if (e->flags & QE_READY)
        return;
    int p = e->priority;
    e->rnext = NULL;
    e->rprev = q->rtail[p];
    if (q->rtail[p])
        q->rtail[p]->rnext = e;
    else
        q->rhead[p] = e;
    q->rtail[p] = e;
    e->flags |= QE_READY;
    q->nready++;
}

void qmgr_ready_remove(struct qmgr *q, struct qentry *e)
{
    if (!(e->flags & QE_READY))
        return;
    int p = e->priority;
    if (e->rprev)
        e->rprev->rnext = e->rnext;
    else
        q->rhead[p] = e->rnext;
    if (e->rnext)
        e->rnext->rprev = e->rprev;
    else
        q->rtail[p] = e->rprev;
    e->rprev = e->rnext = NULL;
    e->flags &= (uint8_t)~QE_READY;
    q->nready--;
}

static struct qentry *ready_pop(struct qmgr *q)
{
    for (int p = NPRIO - 1; p >= 0; p--) {
        if (q->rhead[p]) {
            struct qentry *e = q->rhead[p];
            qmgr_ready_remove(q, e);
            return e;
        }
    }
    return NULL;
}

/* ---- wait heap ------------------------------------------------------------------------- */

static void heap_swap(struct qmgr *q, size_t a, size_t b)
{
    struct qentry *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->heap_idx = (uint32_t)a;
    q->heap[b]->heap_idx = (uint32_t)b;
}

static void heap_up(struct qmgr *q, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p]->next_attempt <= q->heap[i]->next_attempt)
            break;
        heap_swap(q, p, i);
        i = p;
    }
}

static void heap_down(struct qmgr *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l]->next_attempt < q->heap[m]->next_attempt)
            m = l;
        if (r < q->nheap && q->heap[r]->next_attempt < q->heap[m]->next_attempt)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static int heap_push(struct qmgr *q, struct qentry *e)
{
    if (q->nheap == q->heapcap) {
        size_t n = q->heapcap ? q->heapcap * 2 : 1024;
        struct qentry **h = realloc(q->heap, n * sizeof *h);
        if (!h)
            return MG_ENOMEM;
        q->heap = h;
        q->heapcap = n;
    }
    q->heap[q->nheap] = e;
    e->heap_idx = (uint32_t)q->nheap++;
    heap_up(q, e->heap_idx);
    return 0;
}

void qmgr_heap_remove(struct qmgr *q, struct qentry *e)
{
    if (e->heap_idx == QNONE)
        return;
    size_t i = e->heap_idx;
    q->nheap--;
    if (i != q->nheap) {
        q->heap[i] = q->heap[q->nheap];
        q->heap[i]->heap_idx = (uint32_t)i;
        heap_down(q, i);
        heap_up(q, q->heap[i]->heap_idx);
    }
    e->heap_idx = QNONE;
}

/* ---- configurations and their channel instances ---------------------------------------- */

void *qmgr_instance(const struct cfgref *r, const struct config_channel *ch)
{
    if (!r->insts || !ch)
        return NULL;
    size_t i = (size_t)(ch - r->cfg->channels);
    return i < r->cfg->n_channels ? r->insts[i] : NULL;
}

static struct cfgref *cfgref_new(struct qmgr *q, const struct config *cfg)
{
    struct cfgref *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->q = q;
    r->cfg = cfg;
    if (cfg->n_channels && !(r->insts = calloc(cfg->n_channels, sizeof *r->insts))) {
        free(r);
        return NULL;
    }
    return r;
}

/* Starts the delivery instances of r's configuration. A channel that cannot start is logged;
 * its deliveries are deferred with the reason until a configuration where it starts. */
static void cfgref_start(struct qmgr *q, struct cfgref *r)
{
    struct channel_env env = { .loop = q->loop, .cfg = r->cfg };
    for (size_t i = 0; i < r->cfg->n_channels; i++) {
        const struct config_channel *ch = &r->cfg->channels[i];
        if (!ch->kind || ch->kind->role != CHANNEL_ROLE_DELIVERY || !ch->kind->start)
            continue;
        int rc = ch->kind->start(&env, ch, &r->insts[i]);
        if (rc != 0) {
            r->insts[i] = NULL;
            mg_error("event=channel_start_failed channel=%s type=%s error=\"%s\"", ch->name,
                     ch->type, mg_strerror(rc));
        }
    }
}

static void cfgref_free(struct cfgref *r)
{
    struct qmgr *q = r->q;
    for (size_t i = 0; r->insts && i < r->cfg->n_channels; i++) {
        const struct config_channel *ch = &r->cfg->channels[i];
        if (r->insts[i] && ch->kind->inst_free)
            ch->kind->inst_free(r->insts[i]);
    }
    free(r->insts);
    if (r->release)
        r->release(r->release_arg, r->cfg);
    int stopping = r->retired == 2; /* stopped by drain */
    free(r);
    if (stopping) {
        q->stopping_insts--;
        qmgr_maybe_drained(q);
    }
}

static void on_inst_stopped(void *arg)
{
    struct cfgref *r = arg;
    if (--r->stops_pending == 0)
        cfgref_free(r);
}

/* Stops every instance of r; r is freed (and its configuration released) once all stopped. */
static void cfgref_stop(struct cfgref *r)
{
    r->stopping = 1;
    r->stops_pending = 1; /* guard: instances may stop synchronously */
    for (size_t i = 0; r->insts && i < r->cfg->n_channels; i++) {
        const struct config_channel *ch = &r->cfg->channels[i];
        if (r->insts[i] && ch->kind->stop) {
            r->stops_pending++;
            ch->kind->stop(r->insts[i], on_inst_stopped, r);
        }
    }
    on_inst_stopped(r);
}

void qmgr_cfgref_put(struct qmgr *q, struct cfgref *r)
{
    if (--r->refs > 0 || r == q->cref || r->stopping)
        return;
    cfgref_stop(r);
}

/* ---- scheduling ------------------------------------------------------------------------- */

/* Moves due entries to the ready lists. */
static void move_due(struct qmgr *q)
{
    int64_t now = qmgr_now(q);
    while (q->nheap && q->heap[0]->next_attempt <= now) {
        struct qentry *e = q->heap[0];
        qmgr_heap_remove(q, e);
        qmgr_ready_push(q, e);
    }
}

static void on_timer(uv_timer_t *t)
{
    qmgr_kick(t->data);
}

void qmgr_kick(struct qmgr *q)
{
    move_due(q);
    qmgr_dest_gc(q, 0);
    qmgr_pump(q);
    qmgr_dest_pump(q);
    qmgr_arm_timer(q);
}

void qmgr_arm_timer(struct qmgr *q)
{
    if (q->draining) {
        uv_timer_stop(&q->timer);
        return;
    }
    int64_t when = q->nheap ? q->heap[0]->next_attempt : INT64_MAX;
    int64_t dw = qmgr_dest_next_wakeup(q);
    if (dw < when)
        when = dw;
    if (when == INT64_MAX) {
        uv_timer_stop(&q->timer);
        return;
    }
    int64_t d = when - qmgr_now(q);
    uint64_t ms = d <= 0 ? 0 : (uint64_t)d * 1000;
    uv_timer_start(&q->timer, on_timer, ms, 0);
}

/* Puts an idle entry where it belongs: nowhere if held or parked, ready if due, else the wait
 * heap. */
void qmgr_place(struct qmgr *q, struct qentry *e)
{
    qmgr_heap_remove(q, e);
    qmgr_ready_remove(q, e);
    if (e->flags & (QE_HELD | QE_ACTIVE | QE_DELETED | QE_PARKED))
        return;
    if (e->next_attempt <= qmgr_now(q) || (e->flags & QE_FORCE))
        qmgr_ready_push(q, e);
    else if (heap_push(q, e) != 0)
        qmgr_ready_push(q, e); /* out of memory for the heap: try it now rather than lose it */
    qmgr_arm_timer(q);
}

static struct qentry *entry_add(struct qmgr *q, const char *id, int64_t arrival, int64_t next,
                                int prio, int held)
{
    struct qentry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->arrival = arrival;
    e->next_attempt = next;
    e->heap_idx = QNONE;
    e->priority = (uint8_t)(prio < 0 ? 0 : prio > MESSAGE_PRIORITY_MAX ? MESSAGE_PRIORITY_MAX : prio);
    if (held) {
        e->flags |= QE_HELD;
        q->nheld++;
    }
    if (hash_insert(q, e) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

void qmgr_entry_hot_drop(struct qmgr *q, struct qentry *e)
{
    if (!e->hot)
        return;
    q->hot_bytes -= content_len(e->hot->c);
    content_unref(e->hot->c);
    message_free(e->hot->msg);
    free(e->hot);
    e->hot = NULL;
}

static void entry_drop(struct qmgr *q, struct qentry *e)
{
    qmgr_entry_hot_drop(q, e);
    qmgr_heap_remove(q, e);
    qmgr_ready_remove(q, e);
    if (!(e->flags & QE_DELETED))
        qmgr_hash_remove(q, e);
    if (e->flags & (QE_HELD | QE_PARKED))
        q->nheld--;
    free(e);
    qmgr_arm_timer(q);
}

/* Next time the message is due: 0 if a recipient is pending, the earliest deferred one, or
 * INT64_MAX when only recipients held by a channel (or final ones) are left. */
int64_t qmgr_next_due(const struct message *m)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        if (r->state == MESSAGE_RCPT_PENDING)
            return 0;
        if (r->state == MESSAGE_RCPT_DEFERRED && r->next_attempt < best)
            best = r->next_attempt;
    }
    return best;
}

void qmgr_maybe_drained(struct qmgr *q)
{
    if (!q->draining || q->active_jobs || q->writes_pending || !q->drain_cb)
        return;
    if (q->cref && !q->cref->stopping) {
        /* every job is over: stop the current configuration's instances */
        struct cfgref *r = q->cref;
        q->cref = NULL;
        r->retired = 2;
        q->stopping_insts++;
        r->refs++;                /* guard while the destinations let go of it */
        qmgr_dest_gc(q, 1);
        qmgr_cfgref_put(q, r);    /* stops its instances; cfgref_free calls back */
        return;
    }
    if (q->stopping_insts)
        return;
    void (*cb)(void *) = q->drain_cb;
    q->drain_cb = NULL;
    cb(q->drain_arg);
}

/* The job is over: the entry goes back to the schedule (or away). */
void qmgr_job_end(struct qjob *j, int finished)
{
    struct qmgr *q = j->q;
    struct qentry *e = j->e;
    e->flags &= (uint8_t)~(QE_ACTIVE | QE_FORCE);
    if (finished || (e->flags & QE_DELETED)) {
        entry_drop(q, e);
    } else {
        int parked = e->next_attempt == INT64_MAX && !(e->flags & QE_HELD);
        if (parked && !(e->flags & QE_PARKED)) {
            e->flags |= QE_PARKED;
            q->nheld++;
        }
        qmgr_place(q, e);
    }
    q->active_jobs--;
    struct cfgref *r = j->cref;
    qmgr_job_free(j);
    qmgr_cfgref_put(q, r);
    qmgr_pump(q);
    qmgr_maybe_drained(q);
}

/* Entry held by the scheduler (a job found it must be held). */
int qmgr_entry_hold(struct qmgr *q, struct qentry *e)
{
    if (!(e->flags & QE_HELD)) {
        e->flags |= QE_HELD;
        q->nheld++;
    }
    return 0;
}

static void on_hot_idle(uv_idle_t *h)
{
    struct qmgr *q = h->data;
    uv_idle_stop(h);
    q->pumping = 1; /* a pump asked for while planning goes round once after */
    qmgr_job_run_hot(q);
    q->pumping = 0;
    if (q->repump) {
        q->repump = 0;
        qmgr_pump(q);
    }
}

void qmgr_pump(struct qmgr *q)
{
    if (q->draining || !q->started || !q->cref)
        return;
    uint32_t limit = q->cref->cfg->queue.max_active_messages;
    if (!limit)
        limit = 1000;
    if (q->pumping) {
        q->repump = 1; /* called from a job planned below: the loop goes round again */
        return;
    }
    q->pumping = 1;
    do {
        q->repump = 0;
        while (q->active_jobs < limit) {
            struct qentry *e = ready_pop(q);
            if (!e)
                break;
            if (qmgr_job_start(q, e) != 0) {
                /* out of memory: the message stays queued and is tried again in a minute */
                mg_error("event=schedule_failed qid=%s error=\"out of memory\"", e->id);
                e->next_attempt = qmgr_now(q) + 60;
                qmgr_place(q, e);
                break;
            }
        }
    } while (q->repump);
    q->pumping = 0;
    /* Jobs started from hot entries are planned once the loop has done its I/O: the store's
     * completions that made them hot also answer other clients, who should not wait for
     * these plans and deliveries to be made first. */
    if (q->hotq)
        uv_idle_start(&q->hot_idle, on_hot_idle);
}

/* ---- public ------------------------------------------------------------------------------ */

uint32_t qmgr_backoff(const struct config_queue *qc, uint32_t attempts)
{
    uint64_t d = qc->retry_min ? qc->retry_min : 1;
    for (uint32_t i = 1; i < attempts && d < qc->retry_max; i++)
        d *= 2;
    if (qc->retry_max && d > qc->retry_max)
        d = qc->retry_max;
    return (uint32_t)d;
}

int qmgr_create(struct qmgr **out, uv_loop_t *loop, struct queue_store *store,
                const struct config *cfg, const struct qmgr_opts *opts)
{
    struct qmgr *q = calloc(1, sizeof *q);
    if (!q)
        return MG_ENOMEM;
    q->loop = loop;
    q->store = store;
    if (opts)
        q->opts = *opts;
    if (!q->opts.now)
        q->opts.now = wall_now;
    q->cref = cfgref_new(q, cfg);
    if (!q->cref || hash_grow(q) != 0) {
        if (q->cref)
            free(q->cref->insts);
        free(q->cref);
        free(q->buckets);
        free(q);
        return MG_ENOMEM;
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    uv_idle_init(loop, &q->hot_idle);
    q->hot_idle.data = q;
    uv_idle_init(loop, &q->proc_idle);
    q->proc_idle.data = q;
    *out = q;
    return 0;
}

static int load_one(void *arg, const struct queue_store_index_entry *ie)
{
    struct qmgr *q = arg;
    if (qmgr_hash_find(q, ie->id))
        return 0;
    /* Only held recipients left: parked until an operator releases the message. */
    int parked = ie->nheld && !ie->npending && !ie->ndeferred;
    struct qentry *e = entry_add(q, ie->id, ie->arrival, parked ? INT64_MAX : ie->next_attempt,
                                 ie->priority, ie->hold);
    if (!e)
        return MG_ENOMEM;
    if (parked && !ie->hold) {
        e->flags |= QE_PARKED;
        q->nheld++;
    }
    qmgr_place(q, e);
    return 0;
}

int qmgr_start(struct qmgr *q)
{
    cfgref_start(q, q->cref);
    int rc = queue_store_load_index(q->store, load_one, q);
    if (rc == 0)
        rc = qmgr_peer_holds_load(q); /* before the first delivery: a held peer stays held */
    if (rc != 0)
        return rc;
    q->started = 1;
    mg_info("event=queue_loaded messages=%zu held=%zu ready=%zu waiting=%zu", q->nentries, q->nheld,
            q->nready, q->nheap);
    qmgr_arm_timer(q);
    qmgr_pump(q);
    return 0;
}

void qmgr_set_config(struct qmgr *q, const struct config *cfg,
                     void (*release_old)(void *arg, const struct config *old), void *arg)
{
    struct cfgref *n = cfgref_new(q, cfg);
    struct cfgref *old = q->cref;
    if (!n || !old) {
        /* Out of memory (or already draining): keep running on the old configuration and
         * give the new one back; the operator sees the warning and can reload again. */
        mg_warn("event=reload_failed error=\"%s\"", n ? "draining" : "out of memory");
        if (n) {
            free(n->insts);
            free(n);
        }
        release_old(arg, cfg);
        return;
    }
    cfgref_start(q, n);
    old->release = release_old;
    old->release_arg = arg;
    old->retired = 1;
    q->cref = n;
    old->refs++;
    qmgr_cfgref_put(q, old);   /* stopped now if no job uses it */
    qmgr_pump(q);
}

static struct qentry *message_entry(struct qmgr *q, const struct message *msg)
{
    if (qmgr_hash_find(q, msg->id))
        return NULL;
    int64_t due = qmgr_next_due(msg);
    struct qentry *e = entry_add(q, msg->id, msg->arrival, due == INT64_MAX ? 0 : due,
                                 msg->priority, msg->hold);
    if (!e) /* It is durable; the next restart schedules it. Say so loudly. */
        mg_error("event=schedule_failed qid=%s error=\"out of memory\"", msg->id);
    return e;
}

void qmgr_message_added(struct qmgr *q, const struct message *msg)
{
    struct qentry *e = message_entry(q, msg);
    if (!e)
        return;
    qmgr_place(q, e);
    qmgr_pump(q);
}

void qmgr_message_added_hot(struct qmgr *q, struct message *msg, unsigned char *content,
                            size_t len)
{
    struct qentry *e = message_entry(q, msg);
    if (!e) {
        message_free(msg);
        free(content);
        return;
    }
    /* Only what is about to start is worth keeping: a held or deferred message, or one past
     * the budget, is read from the store when its time comes. */
    if (!msg->hold && e->next_attempt == 0 && len <= QMGR_HOT_ONE &&
        q->hot_bytes + len <= QMGR_HOT_MAX) {
        struct qhot *h = malloc(sizeof *h);
        /* content handles end in a NUL like the ones read from the store */
        unsigned char *data = realloc(content, len + 1);
        if (h && data) {
            data[len] = 0;
            content = NULL;
            h->c = content_new(msg->content_type, 0, data, len);
            h->msg = msg;
            if (h->c) {
                e->hot = h;
                q->hot_bytes += len;
                msg = NULL;
                h = NULL;
            }
        } else if (data) {
            content = data;
        }
        free(h);
    }
    message_free(msg);
    free(content);
    qmgr_place(q, e);
    qmgr_pump(q);
}

void qmgr_drain(struct qmgr *q, void (*done)(void *arg), void *arg)
{
    q->draining = 1;
    q->drain_cb = done;
    q->drain_arg = arg;
    uv_timer_stop(&q->timer);
    qmgr_dest_drain(q);
    qmgr_maybe_drained(q);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct qmgr *q = h->data;
    if (--q->open_handles > 0)
        return;
    for (size_t i = 0; i < q->nbuckets; i++) {
        for (struct qentry *e = q->buckets[i], *nx; e; e = nx) {
            nx = e->hnext;
            qmgr_entry_hot_drop(q, e);
            free(e);
        }
    }
    free(q->buckets);
    free(q->heap);
    free(q->procq);
    free(q->inlq);
    for (struct qhold *ph = q->holds, *pn; ph; ph = pn) {
        pn = ph->next;
        free(ph->peer);
        free(ph->reason);
        free(ph);
    }
    qmgr_await_free(q);
    if (q->cref) {           /* never started or never drained: nothing is running */
        free(q->cref->insts);
        free(q->cref);
    }
    free(q);
}

void qmgr_free(struct qmgr *q)
{
    if (!q)
        return;
    if (q->active_jobs)
        mg_panic("qmgr_free with %zu jobs in flight (drain first)", q->active_jobs);
    qmgr_dest_gc(q, 1);
    q->open_handles = 3;
    uv_close((uv_handle_t *)&q->timer, on_handle_closed);
    uv_close((uv_handle_t *)&q->hot_idle, on_handle_closed);
    uv_close((uv_handle_t *)&q->proc_idle, on_handle_closed);
}
