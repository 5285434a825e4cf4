/* qmgr: the queue manager (see qmgr.h). */
#include "qmgr.h"
#include "dsn.h"
#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QNONE UINT32_MAX
#define NPRIO (MESSAGE_PRIORITY_MAX + 1)

enum {
    QE_HELD = 1u << 0,
    QE_ACTIVE = 1u << 1,    /* a job is processing it */
    QE_READY = 1u << 2,     /* in a ready list */
    QE_DELETED = 1u << 3,   /* gone from the store; freed when no list or job holds it */
    QE_FORCE = 1u << 4,     /* retry/flush: deliver deferred recipients now */
};

/* One per queued message: kept small (see the memory target in qmgr.h). */
struct qentry {
    char id[MESSAGE_ID_SIZE];
    int64_t arrival;
    int64_t next_attempt;
    struct qentry *hnext;             /* hash chain */
    struct qentry *rprev, *rnext;     /* ready list */
    uint32_t heap_idx;                /* index in the wait heap or QNONE */
    uint8_t priority;
    uint8_t flags;
};

/* A configuration and the number of jobs routed with it. */
struct cfgref {
    const struct config *cfg;
    int refs;
    void (*release)(void *arg, const struct config *old);
    void *release_arg;
};

struct qjob {
    struct qmgr *q;
    struct qentry *e;
    struct cfgref *cref;
    uv_work_t work;
    int load_rc;
    struct message *msg;              /* owned */
    unsigned char *content;           /* owned */
    size_t content_len;
    struct qmgr_delivery *dels;       /* owned array */
    size_t ndels, pending;
    int64_t started;
    /* the report, while its submission is in flight */
    struct message *dsn_msg;
    unsigned char *dsn_content;
};

struct qmgr {
    uv_loop_t *loop;
    struct queue_store *store;
    struct cfgref *cref;              /* current configuration */
    struct qmgr_transport transports[CONFIG_CHANNEL_MIXER + 1];
    int have_transport[CONFIG_CHANNEL_MIXER + 1];

    struct qentry **buckets;          /* id hash */
    size_t nbuckets, nentries, nheld;
    struct qentry *rhead[NPRIO], *rtail[NPRIO];
    size_t nready;
    struct qentry **heap;             /* min-heap on next_attempt */
    size_t nheap, heapcap;
    uv_timer_t timer;

    size_t active_jobs, active_deliveries, writes_pending;
    int draining, started;
    void (*drain_cb)(void *arg);
    void *drain_arg;
    uint64_t n_delivered, n_failed, n_deferred, n_reports;
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---- configuration references ---------------------------------------------------------- */

static struct cfgref *cfgref_new(const struct config *cfg)
{
    struct cfgref *r = calloc(1, sizeof *r);
    if (r)
        r->cfg = cfg;
    return r;
}

static void cfgref_put(struct qmgr *q, struct cfgref *r)
{
    if (--r->refs > 0 || r == q->cref)
        return;
    if (r->release)
        r->release(r->release_arg, r->cfg);
    free(r);
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

static struct qentry *hash_find(const struct qmgr *q, const char *id)
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

static void hash_remove(struct qmgr *q, struct qentry *e)
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

static void ready_push(struct qmgr *q, struct qentry *e)
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

static void ready_remove(struct qmgr *q, struct qentry *e)
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
            ready_remove(q, e);
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

static void heap_remove(struct qmgr *q, struct qentry *e)
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

/* ---- scheduling ------------------------------------------------------------------------- */

static void pump(struct qmgr *q);

static void on_timer(uv_timer_t *t)
{
    struct qmgr *q = t->data;
    int64_t now = now_s();
    while (q->nheap && q->heap[0]->next_attempt <= now) {
        struct qentry *e = q->heap[0];
        heap_remove(q, e);
        ready_push(q, e);
    }
    pump(q);
}

static void arm_timer(struct qmgr *q)
{
    if (!q->nheap || q->draining) {
        uv_timer_stop(&q->timer);
        return;
    }
    int64_t d = q->heap[0]->next_attempt - now_s();
    uint64_t ms = d <= 0 ? 0 : (uint64_t)d * 1000;
    uv_timer_start(&q->timer, on_timer, ms, 0);
}

/* Puts an idle entry where it belongs: nowhere if held, ready if due, else the wait heap. */
static void place(struct qmgr *q, struct qentry *e)
{
    heap_remove(q, e);
    ready_remove(q, e);
    if (e->flags & (QE_HELD | QE_ACTIVE | QE_DELETED))
        return;
    if (e->next_attempt <= now_s() || (e->flags & QE_FORCE))
        ready_push(q, e);
    else if (heap_push(q, e) != 0)
        ready_push(q, e); /* out of memory for the heap: try it now rather than lose it */
    arm_timer(q);
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

static void entry_drop(struct qmgr *q, struct qentry *e)
{
    heap_remove(q, e);
    ready_remove(q, e);
    if (!(e->flags & QE_DELETED))
        hash_remove(q, e);
    if (e->flags & QE_HELD)
        q->nheld--;
    free(e);
    arm_timer(q);
}

/* Next time the entry is due: the earliest deferred recipient (0 if one is still pending). */
static int64_t next_due(const struct message *m)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < m->nrcpts; i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        if (r->state == MESSAGE_RCPT_PENDING)
            return 0;
        if (r->state == MESSAGE_RCPT_DEFERRED && r->next_attempt < best)
            best = r->next_attempt;
    }
    return best == INT64_MAX ? 0 : best;
}

/* ---- store writes issued by the scheduler ------------------------------------------------ */

static void maybe_drained(struct qmgr *q)
{
    if (q->draining && q->active_jobs == 0 && q->writes_pending == 0 && q->drain_cb) {
        void (*cb)(void *) = q->drain_cb;
        q->drain_cb = NULL;
        cb(q->drain_arg);
    }
}

static void job_free(struct qjob *j)
{
    for (size_t i = 0; i < j->ndels; i++) {
        free(j->dels[i].rcpts);
        free(j->dels[i].outcomes);
    }
    free(j->dels);
    message_free(j->msg);
    free(j->content);
    message_free(j->dsn_msg);
    free(j->dsn_content);
    free(j);
}

/* The job is over: the entry goes back to the schedule (or away), the job is freed. */
static void job_end(struct qjob *j, int finished)
{
    struct qmgr *q = j->q;
    struct qentry *e = j->e;
    e->flags &= (uint8_t)~(QE_ACTIVE | QE_FORCE);
    if (finished || (e->flags & QE_DELETED))
        entry_drop(q, e);
    else
        place(q, e);
    q->active_jobs--;
    cfgref_put(q, j->cref);
    job_free(j);
    pump(q);
    maybe_drained(q);
}

static void on_finish_written(void *arg, int status)
{
    struct qjob *j = arg;
    struct qmgr *q = j->q;
    q->writes_pending--;
    if (status != 0 && status != MG_ENOTFOUND) {
        mg_warn("event=queue_write_failed qid=%s op=finish error=\"%s\"", j->e->id, mg_strerror(status));
        job_end(j, 0);
        return;
    }
    mg_info("event=removed qid=%s", j->e->id);
    job_end(j, 1);
}

static void on_update_written(void *arg, int status)
{
    struct qjob *j = arg;
    struct qmgr *q = j->q;
    q->writes_pending--;
    if (status != 0)
        mg_warn("event=queue_write_failed qid=%s op=update error=\"%s\"", j->e->id, mg_strerror(status));
    if (message_is_final(j->msg)) {
        /* queue_store_finish was queued right behind this update (same transaction); its
         * callback ends the job (and fails with MG_ESTATE if this update did not apply). */
        return;
    }
    j->e->next_attempt = status == 0 ? next_due(j->msg)
                                     : now_s() + (int64_t)qmgr_backoff(&j->cref->cfg->queue, 1);
    job_end(j, 0);
}

static void on_dsn_written(void *arg, int status)
{
    struct qjob *j = arg;
    struct qmgr *q = j->q;
    q->writes_pending--;
    if (status != 0) {
        mg_error("event=report_failed qid=%s error=\"%s\"", j->e->id, mg_strerror(status));
        return;
    }
    q->n_reports++;
    mg_info("event=reported qid=%s report_qid=%s to=<%s>", j->e->id, j->dsn_msg->id,
            j->dsn_msg->nrcpts ? j->dsn_msg->rcpts[0].addr : "");
    qmgr_message_added(q, j->dsn_msg);
}

/* ---- recording outcomes ------------------------------------------------------------------ */

static void status_from_code(int code, const char *given, char *out, size_t n)
{
    if (given && *given) {
        snprintf(out, n, "%s", given);
        return;
    }
    snprintf(out, n, "%s", code >= 200 && code < 300 ? "2.0.0" : code >= 500 ? "5.0.0" : "4.0.0");
}

static void job_record(struct qjob *j)
{
    struct qmgr *q = j->q;
    const struct config *cfg = j->cref->cfg;
    struct message *m = j->msg;
    int64_t now = now_s();
    int64_t expire = m->expire_at ? m->expire_at : m->arrival + (int64_t)cfg->queue.max_lifetime;

    size_t total = 0;
    for (size_t d = 0; d < j->ndels; d++)
        total += j->dels[d].nrcpts;
    struct queue_store_rcpt_update *u = calloc(total ? total : 1, sizeof *u);
    struct dsn_rcpt *dr = calloc(total ? total : 1, sizeof *dr);
    /* Texts referenced by u[] and dr[] until the calls below copy them. */
    char (*replies)[700] = calloc(total ? total : 1, sizeof *replies);
    char (*statuses)[16] = calloc(total ? total : 1, sizeof *statuses);
    if (!u || !dr || !replies || !statuses) {
        free(u); free(dr); free(replies); free(statuses);
        mg_error("event=out_of_memory qid=%s where=record", j->e->id);
        job_end(j, 0);
        return;
    }
    size_t nu = 0, ndr = 0;
    for (size_t d = 0; d < j->ndels; d++) {
        struct qmgr_delivery *dl = &j->dels[d];
        for (size_t i = 0; i < dl->nrcpts; i++) {
            struct qmgr_outcome *o = &dl->outcomes[i];
            uint32_t ri = dl->rcpts[i];
            struct message_rcpt *r = &m->rcpts[ri];
            int code = o->code ? o->code : 451;
            if (!o->code)
                snprintf(o->text, sizeof o->text, "delivery ended without a result");
            char *st = statuses[nu];
            status_from_code(code, o->status, st, sizeof statuses[nu]);
            snprintf(replies[nu], sizeof replies[nu], "%d %s %s", code, st, o->text);
            struct queue_store_rcpt_update *x = &u[nu];
            x->rcpt = ri;
            x->counts_attempt = 1;
            x->reply = replies[nu];
            x->status = st;
            x->remote_mta = o->remote[0] ? o->remote : NULL;
            x->chain = dl->channel->name;
            x->peer = dl->peer ? dl->peer->name : NULL;
            int dsn_action = -1;
            const char *ev;
            if (code >= 200 && code < 300) {
                x->state = MESSAGE_RCPT_DELIVERED;
                r->state = MESSAGE_RCPT_DELIVERED;
                ev = "delivered";
                q->n_delivered++;
                if (!dl->next_hop_dsn && (r->notify & MESSAGE_NOTIFY_SUCCESS))
                    dsn_action = dl->channel->type == CONFIG_CHANNEL_FILE ? DSN_ACTION_DELIVERED
                                                                          : DSN_ACTION_RELAYED;
            } else if (code >= 500) {
                x->state = MESSAGE_RCPT_FAILED;
                r->state = MESSAGE_RCPT_FAILED;
                ev = "failed";
                q->n_failed++;
                dsn_action = DSN_ACTION_FAILED;
            } else if (now >= expire) {
                x->state = MESSAGE_RCPT_FAILED;
                r->state = MESSAGE_RCPT_FAILED;
                snprintf(st, sizeof statuses[nu], "4.4.7");
                snprintf(replies[nu], sizeof replies[nu],
                         "delivery time expired; last reply: %d %s", code, o->text);
                ev = "failed";
                q->n_failed++;
                dsn_action = DSN_ACTION_FAILED;
            } else {
                uint32_t attempts = r->attempts + 1;
                x->state = MESSAGE_RCPT_DEFERRED;
                r->state = MESSAGE_RCPT_DEFERRED;
                x->next_attempt = now + qmgr_backoff(&cfg->queue, attempts);
                if (x->next_attempt > expire)
                    x->next_attempt = expire; /* one last try when the lifetime ends */
                r->next_attempt = x->next_attempt;
                ev = "deferred";
                q->n_deferred++;
                if (cfg->queue.delay_warning && now - m->arrival >= (int64_t)cfg->queue.delay_warning &&
                    !(r->flags & MESSAGE_RCPT_F_DELAY_REPORTED)) {
                    dsn_action = DSN_ACTION_DELAYED;
                    x->flags_set |= MESSAGE_RCPT_F_DELAY_REPORTED;
                }
            }
            if (dsn_action == DSN_ACTION_FAILED || dsn_action == DSN_ACTION_DELIVERED ||
                dsn_action == DSN_ACTION_RELAYED)
                x->flags_set |= MESSAGE_RCPT_F_REPORTED;
            char qa[1100], qt[1500];
            mg_log(x->state == MESSAGE_RCPT_DELIVERED ? MG_LOG_INFO : MG_LOG_WARN,
                   "event=%s qid=%s to=<%s> channel=%s peer=%s relay=%s status=%s attempts=%u reply=%s",
                   ev, m->id, mg_log_quote(r->addr, qa, sizeof qa), dl->channel->name,
                   dl->peer ? dl->peer->name : "-", o->remote[0] ? o->remote : "-", st,
                   r->attempts + 1, mg_log_quote(replies[nu], qt, sizeof qt));
            if (dsn_action >= 0 && m->originator[0] && dsn_wanted(r->notify, (enum dsn_action)dsn_action)) {
                struct dsn_rcpt *y = &dr[ndr++];
                y->rcpt = ri;
                y->action = (enum dsn_action)dsn_action;
                y->status = st;
                y->remote_mta = o->remote[0] ? o->remote : NULL;
                y->diagnostic = (code >= 200 && code < 300) ? NULL : replies[nu];
                y->last_attempt = now;
                y->will_retry_until = dsn_action == DSN_ACTION_DELAYED ? expire : 0;
            }
            nu++;
        }
    }

    /* Order matters: the report first, then the states, then the removal. The store's single
     * writer applies them in this order, normally in one transaction; after a crash between
     * them a report may be sent twice, never lost. */
    if (ndr) {
        struct dsn_opts o = { .reporting_mta = cfg->global.hostname, .now = now,
                              .priority = m->priority };
        size_t dlen = 0;
        int rc = dsn_build(m, dr, ndr, j->content, j->content_len, &o, &j->dsn_msg,
                           &j->dsn_content, &dlen);
        if (rc != 0) {
            mg_error("event=report_failed qid=%s error=\"%s\"", m->id, mg_strerror(rc));
        } else if (j->dsn_msg) {
            if (j->dsn_msg->nrcpts && j->dsn_msg->rcpts[0].addr) {
                const struct config_route *rt = NULL;
                if (route_lookup(cfg, j->dsn_msg->rcpts[0].addr, &rt) == 0)
                    message_rcpt_set_route(&j->dsn_msg->rcpts[0], NULL,
                                           rt->chain[rt->n_chain - 1]->name,
                                           rt->peer ? rt->peer->name : NULL);
            }
            rc = queue_store_submit(q->store, j->dsn_msg, j->dsn_content, dlen, on_dsn_written, j);
            if (rc == 0)
                q->writes_pending++;
            else
                mg_error("event=report_failed qid=%s error=\"%s\"", m->id, mg_strerror(rc));
        }
    }
    int rc = queue_store_update_rcpts(q->store, m->id, u, nu, now, on_update_written, j);
    free(u); free(dr); free(replies); free(statuses);
    if (rc != 0) {
        mg_error("event=queue_write_failed qid=%s op=update error=\"%s\"", m->id, mg_strerror(rc));
        job_end(j, 0);
        return;
    }
    q->writes_pending++;
    if (message_is_final(m)) {
        rc = queue_store_finish(q->store, m->id, on_finish_written, j);
        if (rc == 0)
            q->writes_pending++;
        else
            job_end(j, 0);
    }
}

void qmgr_delivery_set(struct qmgr_delivery *d, size_t i, int code, const char *status,
                       const char *text, const char *remote)
{
    if (i >= d->nrcpts)
        mg_panic("delivery outcome %zu out of range (%zu)", i, d->nrcpts);
    struct qmgr_outcome *o = &d->outcomes[i];
    o->code = code;
    snprintf(o->status, sizeof o->status, "%s", status ? status : "");
    snprintf(o->text, sizeof o->text, "%s", text ? text : "");
    snprintf(o->remote, sizeof o->remote, "%s", remote ? remote : "");
    for (char *p = o->text; *p; p++)   /* one line in logs and reports */
        if (*p == '\r' || *p == '\n')
            *p = ' ';
}

void qmgr_delivery_done(struct qmgr_delivery *d)
{
    struct qjob *j = d->job;
    struct qmgr *q = j->q;
    q->active_deliveries--;
    if (--j->pending == 0)
        job_record(j);
}

/* ---- starting a job ---------------------------------------------------------------------- */

/* Thread pool: load the envelope and the content. */
static void job_load(uv_work_t *w)
{
    struct qjob *j = w->data;
    j->load_rc = queue_store_get(j->q->store, j->e->id, &j->msg);
    if (j->load_rc == 0 && !message_is_final(j->msg))
        j->load_rc = queue_store_read_content(j->q->store, j->e->id, &j->content, &j->content_len);
}

static int rcpt_due(const struct message_rcpt *r, int64_t now, int force)
{
    if (r->state == MESSAGE_RCPT_PENDING)
        return 1;
    return r->state == MESSAGE_RCPT_DEFERRED && (force || r->next_attempt <= now);
}

/* Routes the due recipients and groups them by (delivery channel, peer). Recipients whose
 * chain holds a processing channel this build cannot run yet make the message held: it is
 * kept, visible with its reason, never dropped. */
static int job_plan(struct qjob *j, char *hold_reason, size_t hrlen)
{
    const struct config *cfg = j->cref->cfg;
    struct message *m = j->msg;
    int64_t now = now_s();
    int force = (j->e->flags & QE_FORCE) != 0;
    j->dels = calloc(m->nrcpts ? m->nrcpts : 1, sizeof *j->dels);
    if (!j->dels)
        return MG_ENOMEM;
    for (size_t i = 0; i < m->nrcpts; i++) {
        struct message_rcpt *r = &m->rcpts[i];
        if (!rcpt_due(r, now, force))
            continue;
        const struct config_route *rt = NULL;
        const struct config_channel *ch = NULL;
        const struct config_peer *peer = NULL;
        if (route_lookup(cfg, r->addr, &rt) == 0) {
            for (size_t c = 0; c + 1 < rt->n_chain; c++) {
                snprintf(hold_reason, hrlen, "route line %d: channel %s (type %s) is not available in this build",
                         rt->line, rt->chain[c]->name, config_channel_type_name(rt->chain[c]->type));
                return MG_ENOTSUP;
            }
            ch = rt->chain[rt->n_chain - 1];
            peer = rt->peer;
        }
        /* Find or add the delivery for (ch, peer); ch NULL = no route (deferred below). */
        struct qmgr_delivery *d = NULL;
        for (size_t k = 0; k < j->ndels; k++)
            if (j->dels[k].channel == ch && j->dels[k].peer == peer)
                d = &j->dels[k];
        if (!d) {
            d = &j->dels[j->ndels++];
            d->q = j->q;
            d->msg = m;
            d->cfg = cfg;
            d->channel = ch;
            d->peer = peer;
            d->job = j;
            d->rcpts = calloc(m->nrcpts, sizeof *d->rcpts);
            d->outcomes = calloc(m->nrcpts, sizeof *d->outcomes);
            if (!d->rcpts || !d->outcomes)
                return MG_ENOMEM;
        }
        d->rcpts[d->nrcpts++] = (uint32_t)i;
    }
    return 0;
}

static void job_run(struct qjob *j)
{
    struct qmgr *q = j->q;
    /* Count every delivery first: a transport may finish synchronously. */
    /* The last delivery to finish may end the job and free it, even synchronously inside
     * deliver(): after that call nothing of j may be touched, hence the local copies. */
    size_t n = j->ndels;
    struct qmgr_delivery *dels = j->dels;
    j->pending = n;
    q->active_deliveries += n;
    for (size_t k = 0; k < n; k++) {
        struct qmgr_delivery *d = &dels[k];
        d->content = j->content;
        d->content_len = j->content_len;
    }
    for (size_t k = 0; k < n; k++) {
        struct qmgr_delivery *d = &dels[k];
        if (!d->channel) {
            for (size_t i = 0; i < d->nrcpts; i++)
                qmgr_delivery_set(d, i, 451, "4.3.5", "no route for this recipient in the current configuration", NULL);
            qmgr_delivery_done(d);
        } else if (!q->have_transport[d->channel->type]) {
            for (size_t i = 0; i < d->nrcpts; i++)
                qmgr_delivery_set(d, i, 451, "4.3.5", "no transport for this channel type in this build", NULL);
            qmgr_delivery_done(d);
        } else {
            const struct qmgr_transport *t = &q->transports[d->channel->type];
            t->deliver(t->arg, d);
        }
    }
}

static void on_hold_written(void *arg, int status)
{
    struct qjob *j = arg;
    j->q->writes_pending--;
    if (status != 0)
        mg_error("event=queue_write_failed qid=%s op=hold error=\"%s\"", j->e->id, mg_strerror(status));
    job_end(j, 0);
}

static void job_after_load(uv_work_t *w, int status)
{
    struct qjob *j = w->data;
    struct qmgr *q = j->q;
    if (status == UV_ECANCELED)
        j->load_rc = MG_ESTATE;
    if (j->load_rc == MG_ENOTFOUND || (j->e->flags & QE_DELETED)) {
        job_end(j, 1);          /* deleted meanwhile */
        return;
    }
    if (j->load_rc != 0) {
        mg_error("event=queue_read_failed qid=%s error=\"%s\"", j->e->id, mg_strerror(j->load_rc));
        j->e->next_attempt = now_s() + 60;
        job_end(j, 0);
        return;
    }
    if (message_is_final(j->msg)) { /* every recipient done before a crash: just remove it */
        int rc = queue_store_finish(q->store, j->e->id, on_finish_written, j);
        if (rc == 0)
            q->writes_pending++;
        else
            job_end(j, 0);
        return;
    }
    char reason[512] = "";
    int rc = job_plan(j, reason, sizeof reason);
    if (rc == MG_ENOTSUP) {
        mg_warn("event=held qid=%s reason=\"%s\"", j->e->id, reason);
        j->e->flags |= QE_HELD;
        q->nheld++;
        if (queue_store_hold(q->store, j->e->id, reason, on_hold_written, j) == 0)
            q->writes_pending++;
        else
            job_end(j, 0);
        return;
    }
    if (rc != 0) {
        mg_error("event=schedule_failed qid=%s error=\"%s\"", j->e->id, mg_strerror(rc));
        j->e->next_attempt = now_s() + 60;
        job_end(j, 0);
        return;
    }
    if (j->ndels == 0) {        /* nothing due yet (e.g. retried by hand, already in flight) */
        j->e->next_attempt = next_due(j->msg);
        job_end(j, 0);
        return;
    }
    job_run(j);
}

static void job_start(struct qmgr *q, struct qentry *e)
{
    struct qjob *j = calloc(1, sizeof *j);
    if (!j) {
        place(q, e);
        return;
    }
    j->q = q;
    j->e = e;
    j->cref = q->cref;
    j->cref->refs++;
    j->started = now_s();
    j->work.data = j;
    e->flags |= QE_ACTIVE;
    q->active_jobs++;
    if (uv_queue_work(q->loop, &j->work, job_load, job_after_load) != 0) {
        j->load_rc = MG_EIO;
        job_after_load(&j->work, 0);
    }
}

static void pump(struct qmgr *q)
{
    if (q->draining || !q->started)
        return;
    uint32_t limit = q->cref->cfg->queue.max_active_deliveries;
    if (!limit)
        limit = 100;
    while (q->active_jobs < limit) {
        struct qentry *e = ready_pop(q);
        if (!e)
            break;
        job_start(q, e);
    }
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
                const struct config *cfg)
{
    struct qmgr *q = calloc(1, sizeof *q);
    if (!q)
        return MG_ENOMEM;
    q->loop = loop;
    q->store = store;
    q->cref = cfgref_new(cfg);
    if (!q->cref || hash_grow(q) != 0) {
        free(q->cref);
        free(q->buckets);
        free(q);
        return MG_ENOMEM;
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    *out = q;
    return 0;
}

void qmgr_set_transport(struct qmgr *q, enum config_channel_type type, const struct qmgr_transport *t)
{
    q->transports[type] = *t;
    q->have_transport[type] = 1;
}

static int load_one(void *arg, const struct queue_store_index_entry *ie)
{
    struct qmgr *q = arg;
    if (hash_find(q, ie->id))
        return 0;
    struct qentry *e = entry_add(q, ie->id, ie->arrival, ie->next_attempt, ie->priority, ie->hold);
    if (!e)
        return MG_ENOMEM;
    place(q, e);
    return 0;
}

int qmgr_start(struct qmgr *q)
{
    int rc = queue_store_load_index(q->store, load_one, q);
    if (rc != 0)
        return rc;
    q->started = 1;
    mg_info("event=queue_loaded messages=%zu held=%zu ready=%zu waiting=%zu", q->nentries, q->nheld,
            q->nready, q->nheap);
    arm_timer(q);
    pump(q);
    return 0;
}

void qmgr_set_config(struct qmgr *q, const struct config *cfg,
                     void (*release_old)(void *arg, const struct config *old), void *arg)
{
    struct cfgref *n = cfgref_new(cfg);
    if (!n)
        mg_panic("out of memory installing a configuration");
    struct cfgref *old = q->cref;
    old->release = release_old;
    old->release_arg = arg;
    q->cref = n;
    old->refs++;
    cfgref_put(q, old);   /* released now if no job uses it */
    pump(q);
}

void qmgr_message_added(struct qmgr *q, const struct message *msg)
{
    if (hash_find(q, msg->id))
        return;
    struct qentry *e = entry_add(q, msg->id, msg->arrival, next_due(msg), msg->priority, msg->hold);
    if (!e) {
        /* It is durable; the next restart schedules it. Say so loudly. */
        mg_error("event=schedule_failed qid=%s error=\"out of memory\"", msg->id);
        return;
    }
    place(q, e);
    pump(q);
}

void qmgr_drain(struct qmgr *q, void (*done)(void *arg), void *arg)
{
    q->draining = 1;
    q->drain_cb = done;
    q->drain_arg = arg;
    uv_timer_stop(&q->timer);
    maybe_drained(q);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct qmgr *q = h->data;
    for (size_t i = 0; i < q->nbuckets; i++) {
        for (struct qentry *e = q->buckets[i], *nx; e; e = nx) {
            nx = e->hnext;
            free(e);
        }
    }
    free(q->buckets);
    free(q->heap);
    free(q->cref);  /* the current configuration itself belongs to the caller */
    free(q);
}

void qmgr_free(struct qmgr *q)
{
    if (!q)
        return;
    if (q->active_jobs)
        mg_panic("qmgr_free with %zu jobs in flight (drain first)", q->active_jobs);
    uv_close((uv_handle_t *)&q->timer, on_timer_closed);
}

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
    struct qentry *e = hash_find(q, op->id);
    if (status == 0 && e) {
        if (op->kind == 0 && !(e->flags & QE_HELD)) {
            e->flags |= QE_HELD;
            q->nheld++;
            place(q, e);
        } else if (op->kind == 1 && (e->flags & QE_HELD)) {
            e->flags &= (uint8_t)~QE_HELD;
            q->nheld--;
            e->next_attempt = 0;
            place(q, e);
        } else if (op->kind == 2) {
            hash_remove(q, e);
            e->flags |= QE_DELETED;
            if (!(e->flags & QE_ACTIVE)) {
                e->flags &= (uint8_t)~QE_DELETED; /* not in the hash any more: plain drop */
                heap_remove(q, e);
                ready_remove(q, e);
                if (e->flags & QE_HELD)
                    q->nheld--;
                free(e);
                arm_timer(q);
            }
        }
    }
    static const char *const names[] = { "held", "released", "deleted" };
    if (status == 0)
        mg_info("event=%s qid=%s by=admin", names[op->kind], op->id);
    op->cb(op->arg, status);
    free(op);
    pump(q);
    maybe_drained(q);
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
    struct qentry *e = hash_find(q, id);
    if (!e)
        return MG_ENOTFOUND;
    if (e->flags & QE_HELD)
        return MG_ESTATE;
    if (!(e->flags & QE_ACTIVE)) {
        e->flags |= QE_FORCE;
        place(q, e);
        pump(q);
    }
    return 0;
}

size_t qmgr_flush(struct qmgr *q)
{
    size_t n = 0;
    while (q->nheap) {
        struct qentry *e = q->heap[0];
        heap_remove(q, e);
        e->flags |= QE_FORCE;
        ready_push(q, e);
        n++;
    }
    arm_timer(q);
    pump(q);
    return n;
}

void qmgr_get_stats(const struct qmgr *q, struct qmgr_stats *st)
{
    memset(st, 0, sizeof *st);
    st->messages = q->nentries;
    st->held = q->nheld;
    st->ready = q->nready;
    st->waiting = q->nheap;
    st->active = q->active_jobs;
    st->deliveries = q->active_deliveries;
    st->delivered = q->n_delivered;
    st->failed = q->n_failed;
    st->deferred = q->n_deferred;
    st->reports = q->n_reports;
}
