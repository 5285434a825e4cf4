/* qmgr_proc: a job's content versions and its processing stages' runs (see qmgr.h, qmgr_job.c).
 *
 * Content versions are loaded on the pool when a stage or delivery needs them and cached per job
 * by reference. A processing group (or a delivery group at the delivery gate) runs its channel's
 * process() on the pool, at most queue.max_processing at once (a small group of a kind whose
 * work is cheap runs on the loop thread instead: channel_kind.inline_max). When every group of
 * the round is back, qmgr_stage.c makes the results durable. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PROCESSING 4
#define PREFETCH_MAX (1u << 20) /* content versions loaded with the envelope up to this size */

/* ---- content versions -------------------------------------------------------------------- */

void qmgr_jversion_clear(struct jversion *v)
{
    content_unref(v->c);
    free(v->originator);
    free(v->label);
    memset(v, 0, sizeof *v);
}

struct jversion *qmgr_job_version(struct qjob *j, uint32_t v)
{
    for (size_t i = 0; i < j->nversions; i++)
        if (j->versions[i]->version == v)
            return j->versions[i];
    return NULL;
}

struct jversion *qmgr_version_put(struct qjob *j, struct jversion *v)
{
    struct jversion *have = qmgr_job_version(j, v->version);
    if (have) {
        qmgr_jversion_clear(v);
        return have;
    }
    struct jversion **nv = realloc(j->versions, (j->nversions + 1) * sizeof *nv);
    struct jversion *e = malloc(sizeof *e);
    if (!nv || !e) {
        if (nv)
            j->versions = nv;
        free(e);
        qmgr_jversion_clear(v);
        return NULL;
    }
    j->versions = nv;
    *e = *v;
    memset(v, 0, sizeof *v);
    j->versions[j->nversions++] = e;
    return e;
}

/* Pool thread: reads version v of m from the store. */
static int load_version(struct qmgr *q, const struct message *m, uint32_t v, struct jversion *out)
{
    struct queue_store_version sv;
    int rc = queue_store_read_version(q->store, m->id, v, &sv);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof *out);
    out->version = v;
    out->c = content_new(sv.type, v, sv.data, sv.len); /* takes sv.data */
    sv.data = NULL;
    if (out->c && content_set_oid(out->c, sv.content_oid) != 0) {
        content_unref(out->c);
        out->c = NULL;
    }
    out->originator = sv.originator;
    sv.originator = NULL;
    out->priority = sv.priority;
    out->label_set = sv.label_set;
    out->label = sv.label;
    out->label_len = sv.label_len;
    sv.label = NULL;
    queue_store_version_free(&sv);
    return out->c ? 0 : MG_ENOMEM;
}

/* Pool thread, while the job is not yet visible to anyone else: loads the content versions its
 * due recipients carry (small messages only), so the common path (one version, straight to a
 * delivery) takes one trip through the pool instead of two. A failure here is not an error: the
 * version is loaded again when needed. */
void qmgr_job_prefetch(struct qjob *j)
{
    const struct message *m = j->msg;
    /* Routing by label needs the label of each recipient's version before the plan: load them
     * whatever their size (a stage would load them next anyway). */
    bool by_label = qmgr_routes_by_label(j->cref->cfg);
    if (m->content_size > PREFETCH_MAX && !by_label)
        return;
    for (size_t i = 0; i < m->nrcpts && (j->nversions < 4 || by_label); i++) {
        const struct message_rcpt *r = &m->rcpts[i];
        if (message_rcpt_state_is_final(r->state) || r->state == MESSAGE_RCPT_HELD ||
            qmgr_job_version(j, r->cversion) || (m->content_size > PREFETCH_MAX && r->cversion == 0))
            continue;
        struct jversion v;
        if (load_version(j->q, m, r->cversion, &v) != 0)
            return;
        if (!qmgr_version_put(j, &v))
            return;
    }
}

int qmgr_job_adopt_v0(struct qjob *j, struct content *c)
{
    struct jversion v;
    memset(&v, 0, sizeof v);
    v.version = 0;
    v.priority = -1; /* the message's, as a version read from the store says for version 0 */
    v.c = content_ref(c);
    return qmgr_version_put(j, &v) ? 0 : MG_ENOMEM;
}

static void need_work(uv_work_t *w)
{
    struct qgroup *g = w->data;
    g->proc_rc = load_version(g->j->q, g->j->msg, g->version, &g->loaded);
}

static void need_after(uv_work_t *w, int status)
{
    struct qgroup *g = w->data;
    int rc = status == UV_ECANCELED ? MG_ESTATE : g->proc_rc;
    if (rc == 0 && !qmgr_version_put(g->j, &g->loaded))
        rc = MG_ENOMEM;
    qmgr_jversion_clear(&g->loaded);
    g->ready(g, rc);
}

void qmgr_job_need_version(struct qgroup *g, void (*ready)(struct qgroup *g, int rc))
{
    if (qmgr_job_version(g->j, g->version)) {
        ready(g, 0);
        return;
    }
    g->ready = ready;
    g->work.data = g;
    if (uv_queue_work(g->j->q->loop, &g->work, need_work, need_after) != 0)
        ready(g, MG_EIO);
}

/* ---- processing stages ------------------------------------------------------------------- */

static void proc_work(uv_work_t *w)
{
    struct qgroup *g = w->data;
    struct qjob *j = g->j;
    if (!g->in) {
        g->proc_rc = load_version(j->q, j->msg, g->version, &g->loaded);
        if (g->proc_rc != 0) {
            snprintf(g->result.error, sizeof g->result.error, "cannot read content version %u: %s",
                     g->version, mg_strerror(g->proc_rc));
            return;
        }
        g->in = &g->loaded;
    }
    const char *orig = g->in->originator ? g->in->originator : j->msg->originator;
    struct channel_task t = {
        .cfg = j->cref->cfg, .channel = g->channel, .msg = j->msg, .content = g->in->c,
        .originator = orig, .nrcpts = g->nrcpts, .rcpts = g->rcpts, .rcpt_addrs = g->addrs,
        .now = qmgr_now(j->q),
        .label = g->in->label_set ? g->in->label : j->msg->label,
        .label_len = g->in->label_set ? g->in->label_len : j->msg->label_len,
        .priority = g->in->priority >= 0 ? g->in->priority : j->msg->priority,
        .peer = g->gate ? g->peer : NULL, .next_hop = g->gate ? g->next_hop : NULL,
    };
    if (!t.label_len)
        t.label = NULL;
    if (g->gate)
        g->proc_rc = j->q->opts.gate.check(j->q->opts.gate.ctx, &t, &g->result);
    else
        g->proc_rc = g->channel->kind->process(g->channel->conf, &t, &g->result);
    if (g->proc_rc != 0 && !g->result.error[0])
        snprintf(g->result.error, sizeof g->result.error, "%s", mg_strerror(g->proc_rc));
}

static void proc_after(uv_work_t *w, int status)
{
    struct qgroup *g = w->data;
    struct qjob *j = g->j;
    struct qmgr *q = j->q;
    q->processing--;
    if (status == UV_ECANCELED) {
        g->proc_rc = MG_ESTATE;
        snprintf(g->result.error, sizeof g->result.error, "processing cancelled");
    }
    if (g->in == &g->loaded) {          /* keep what the work loaded for the later stages */
        struct jversion *c = qmgr_version_put(j, &g->loaded);
        g->in = c;
        if (!c && g->proc_rc == 0) {
            g->proc_rc = MG_ENOMEM;
            snprintf(g->result.error, sizeof g->result.error, "out of memory");
        }
    }
    g->state = QG_DONE;
    qmgr_proc_pump(q);
    if (--j->pending == 0)
        qmgr_proc_round_done(j);
}

/* Runs the groups taken for the loop thread (see channel_kind.inline_max): after the loop's
 * I/O, as the pool's completions would come, and never inside the caller that queued them. The
 * list is taken whole, so groups the completions below queue wait for the loop's next turn. */
static void on_proc_idle(uv_idle_t *h)
{
    struct qmgr *q = h->data;
    uv_idle_stop(h);
    struct qgroup **v = q->inlq;
    size_t n = q->ninlq;
    q->inlq = NULL;
    q->ninlq = q->capinlq = 0;
    for (size_t i = 0; i < n; i++) {
        proc_work(&v[i]->work);
        proc_after(&v[i]->work, 0);
    }
    free(v);
}

/* Whether g runs on the loop thread: a kind that says its work is cheap, content already
 * loaded (reading it is I/O) and small, and not the delivery gate (a directory look-up). */
static int runs_inline(const struct qgroup *g)
{
    const struct channel_kind *k = g->channel ? g->channel->kind : NULL;
    return !g->gate && k && k->inline_max && g->in && content_len(g->in->c) <= k->inline_max;
}

void qmgr_proc_pump(struct qmgr *q)
{
    uint32_t limit = q->cref ? q->cref->cfg->queue.max_processing : 0;
    if (!limit)
        limit = DEFAULT_MAX_PROCESSING;
    while (q->nprocq && q->processing < limit) {
        struct qgroup *g = q->procq[0];
        memmove(q->procq, q->procq + 1, (q->nprocq - 1) * sizeof *q->procq);
        q->nprocq--;
        q->processing++;
        g->state = QG_ACTIVE;
        g->work.data = g;
        if (uv_queue_work(q->loop, &g->work, proc_work, proc_after) != 0)
            proc_after(&g->work, UV_ECANCELED);
    }
}

/* Appends g to a growable list of groups. 0 or MG_ENOMEM (the list unchanged). */
static int group_push(struct qgroup ***v, size_t *n, size_t *cap, struct qgroup *g)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct qgroup **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return MG_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = g;
    return 0;
}

int qmgr_proc_enqueue(struct qmgr *q, struct qgroup *g)
{
    g->in = qmgr_job_version(g->j, g->version); /* the pool reads it, nobody writes it now */
    g->result.priority = -1;
    g->result.rcpts = calloc(g->nrcpts, sizeof *g->result.rcpts);
    if (!g->result.rcpts)
        return MG_ENOMEM; /* the group's result is freed with the job's groups */
    for (size_t i = 0; i < g->nrcpts; i++)
        channel_outcome_set(&g->result.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    if (runs_inline(g)) {
        if (group_push(&q->inlq, &q->ninlq, &q->capinlq, g) != 0)
            return MG_ENOMEM;
        /* counted as in flight like a pool work, so status and the limit see it */
        q->processing++;
        g->state = QG_ACTIVE;
        g->work.data = g;
        uv_idle_start(&q->proc_idle, on_proc_idle);
        return 0;
    }
    if (group_push(&q->procq, &q->nprocq, &q->capprocq, g) != 0)
        return MG_ENOMEM;
    g->state = QG_QUEUED;
    return 0;
}
