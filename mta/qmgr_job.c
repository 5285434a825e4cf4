/* qmgr_job: one job moves one message's due recipients along their chains (see qmgr.h).
 *
 * A job loads the envelope on the thread pool, then works in rounds. Each round groups the due
 * recipients by where they are: recipients at a processing channel form processing groups
 * (route, stage, content version) that run on the pool; when every group of the round is back,
 * their results are made durable (audit records first, then one store transaction per group)
 * and the job plans again. A round without processing hands its delivery groups to their
 * destinations (qmgr_dest.c); when they are all back, the outcomes are recorded in one store
 * write, preceded by the report they call for. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_PROCESSING 4

static void job_round(struct qjob *j);
static void job_record(struct qjob *j);

/* ---- content versions -------------------------------------------------------------------- */

static void jversion_clear(struct jversion *v)
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

/* Moves *v into the cache (v is left empty); returns the cached entry or NULL (out of memory:
 * v is cleared). */
static struct jversion *version_put(struct qjob *j, struct jversion *v)
{
    struct jversion *have = qmgr_job_version(j, v->version);
    if (have) {
        jversion_clear(v);
        return have;
    }
    struct jversion **nv = realloc(j->versions, (j->nversions + 1) * sizeof *nv);
    struct jversion *e = malloc(sizeof *e);
    if (!nv || !e) {
        if (nv)
            j->versions = nv;
        free(e);
        jversion_clear(v);
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

static void need_work(uv_work_t *w)
{
    struct qgroup *g = w->data;
    g->proc_rc = load_version(g->j->q, g->j->msg, g->version, &g->loaded);
}

static void need_after(uv_work_t *w, int status)
{
    struct qgroup *g = w->data;
    int rc = status == UV_ECANCELED ? MG_ESTATE : g->proc_rc;
    if (rc == 0 && !version_put(g->j, &g->loaded))
        rc = MG_ENOMEM;
    jversion_clear(&g->loaded);
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

/* ---- groups ------------------------------------------------------------------------------ */

static void group_clear(struct qgroup *g)
{
    free(g->rcpts);
    free(g->addrs);
    free(g->outcomes);
    channel_result_clear(&g->result, g->nrcpts);
    free(g->result.rcpts);
    jversion_clear(&g->loaded);
}

static void groups_clear(struct qjob *j)
{
    for (size_t i = 0; i < j->ngroups; i++)
        group_clear(&j->groups[i]);
    free(j->groups);
    j->groups = NULL;
    j->ngroups = 0;
}

void qmgr_job_free(struct qjob *j)
{
    groups_clear(j);
    for (size_t i = 0; i < j->nversions; i++) {
        jversion_clear(j->versions[i]);
        free(j->versions[i]);
    }
    free(j->versions);
    free(j->recs);
    free(j->rdone);
    free(j->upd);
    free(j->replies);
    free(j->statuses);
    free(j->ritems);
    free(j->rtexts);
    message_free(j->dsn_msg);
    free(j->dsn_content);
    message_free(j->msg);
    free(j);
}

static const char *rcpt_next_addr(const struct message_rcpt *r)
{
    return r->next_addr ? r->next_addr : r->addr;
}

static int rcpt_due(const struct message_rcpt *r, int64_t now, int force)
{
    if (r->state == MESSAGE_RCPT_PENDING)
        return 1;
    return r->state == MESSAGE_RCPT_DEFERRED && (force || r->next_attempt <= now);
}

enum { RD_RECORDED = 1, RD_GATED = 2 };

static int mark(struct qjob *j, uint32_t rcpt, uint8_t bit)
{
    if (rcpt >= j->nrdone) {
        size_t n = j->msg->nrcpts > rcpt ? j->msg->nrcpts : rcpt + 1;
        uint8_t *v = realloc(j->rdone, n);
        if (!v)
            return MG_ENOMEM;
        memset(v + j->nrdone, 0, n - j->nrdone);
        j->rdone = v;
        j->nrdone = n;
    }
    j->rdone[rcpt] |= bit;
    return 0;
}

static int marked(const struct qjob *j, uint32_t rcpt, uint8_t bit)
{
    return rcpt < j->nrdone && (j->rdone[rcpt] & bit);
}

static int add_rec(struct qjob *j, uint32_t rcpt, const struct config_channel *ch,
                   const struct config_peer *peer, const struct channel_outcome *o)
{
    if (j->nrecs == j->caprecs) {
        size_t cap = j->caprecs ? j->caprecs * 2 : 8;
        struct jrec *v = realloc(j->recs, cap * sizeof *v);
        if (!v)
            return MG_ENOMEM;
        j->recs = v;
        j->caprecs = cap;
    }
    if (mark(j, rcpt, RD_RECORDED) != 0)
        return MG_ENOMEM;
    struct jrec *r = &j->recs[j->nrecs++];
    r->rcpt = rcpt;
    r->channel = ch;
    r->peer = peer;
    r->o = *o;
    return 0;
}

/* Groups the due recipients by stage. Returns 0 or MG_ENOMEM. */
static int plan(struct qjob *j, size_t *nproc)
{
    const struct config *cfg = j->cref->cfg;
    struct message *m = j->msg;
    int64_t now = qmgr_now(j->q);
    int force = (j->e->flags & QE_FORCE) != 0;
    *nproc = 0;
    j->groups = calloc(m->nrcpts ? m->nrcpts : 1, sizeof *j->groups);
    if (!j->groups)
        return MG_ENOMEM;
    for (size_t i = 0; i < m->nrcpts; i++) {
        struct message_rcpt *r = &m->rcpts[i];
        if (!rcpt_due(r, now, force) || marked(j, (uint32_t)i, RD_RECORDED))
            continue;
        const struct config_route *rt = NULL;
        const struct config_channel *ch = NULL;
        const struct config_peer *peer = NULL;
        uint32_t stage = 0;
        int gate = 0;
        char hop[256] = "";
        /* Routing by the original address: the chain chosen for a recipient stays its chain
         * even after a channel rewrote the address the next hop sees. */
        if (route_lookup(cfg, r->addr, &rt) == 0 && rt->n_chain) {
            stage = r->stage < rt->n_chain ? r->stage : (uint32_t)rt->n_chain - 1;
            ch = rt->chain[stage];
            if (ch->delivery) {
                /* a reload may have shortened the chain: deliver with what there is */
                peer = rt->peer;
                if (ch->kind && ch->kind->next_hop)
                    ch->kind->next_hop(ch->conf, peer, rcpt_next_addr(r), hop, sizeof hop);
                gate = j->q->opts.gate.check && !marked(j, (uint32_t)i, RD_GATED);
            }
        } else {
            rt = NULL;
        }
        struct qgroup *g = NULL;
        for (size_t k = 0; k < j->ngroups && !g; k++) {
            struct qgroup *x = &j->groups[k];
            if (x->route == rt && x->channel == ch && x->stage == stage && x->gate == gate &&
                x->version == r->cversion && x->peer == peer && !strcmp(x->next_hop, hop))
                g = x;
        }
        if (!g) {
            g = &j->groups[j->ngroups++];
            g->j = j;
            g->route = rt;
            g->channel = ch;
            g->peer = peer;
            g->stage = stage;
            g->gate = gate;
            g->version = r->cversion;
            snprintf(g->next_hop, sizeof g->next_hop, "%s", hop);
            g->rcpts = calloc(m->nrcpts, sizeof *g->rcpts);
            g->addrs = calloc(m->nrcpts, sizeof *g->addrs);
            g->outcomes = calloc(m->nrcpts, sizeof *g->outcomes);
            if (!g->rcpts || !g->addrs || !g->outcomes)
                return MG_ENOMEM;
            if (ch && (!ch->delivery || gate))
                (*nproc)++;
        }
        g->addrs[g->nrcpts] = rcpt_next_addr(r);
        g->rcpts[g->nrcpts++] = (uint32_t)i;
    }
    return 0;
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

static void proc_round_done(struct qjob *j);

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
        struct jversion *c = version_put(j, &g->loaded);
        g->in = c;
        if (!c && g->proc_rc == 0) {
            g->proc_rc = MG_ENOMEM;
            snprintf(g->result.error, sizeof g->result.error, "out of memory");
        }
    }
    g->state = QG_DONE;
    qmgr_proc_pump(q);
    if (--j->pending == 0)
        proc_round_done(j);
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

static int proc_enqueue(struct qmgr *q, struct qgroup *g)
{
    if (q->nprocq == q->capprocq) {
        size_t cap = q->capprocq ? q->capprocq * 2 : 16;
        struct qgroup **v = realloc(q->procq, cap * sizeof *v);
        if (!v)
            return MG_ENOMEM;
        q->procq = v;
        q->capprocq = cap;
    }
    g->in = qmgr_job_version(g->j, g->version); /* the pool reads it, nobody writes it now */
    g->result.priority = -1;
    g->result.rcpts = calloc(g->nrcpts, sizeof *g->result.rcpts);
    if (!g->result.rcpts)
        return MG_ENOMEM;
    for (size_t i = 0; i < g->nrcpts; i++)
        channel_outcome_set(&g->result.rcpts[i].outcome, CHANNEL_CONTINUE, 0, NULL, NULL, NULL);
    g->state = QG_QUEUED;
    q->procq[q->nprocq++] = g;
    return 0;
}

/* A stage result being made durable. */
struct stage_write {
    struct qjob *j;
    struct qgroup *g;
    struct queue_store_stage st;
    struct queue_store_stage_rcpt *sr;   /* owned */
    char (*texts)[640];                  /* owned */
    uint32_t out_version;
    struct jversion *nv;                 /* the group's new version (cached), or NULL */
    const char **adds;                   /* owned array; strings borrowed from the result */
    uint32_t *add_stages;                /* owned */
};

static void stage_write_free(struct stage_write *w)
{
    free(w->adds);
    free(w->add_stages);
    free(w->sr);
    free(w->texts);
    free(w);
}

static void stage_finished(struct qjob *j)
{
    if (--j->stage_writes > 0)
        return;
    job_round(j);
}

/* A submitted alert message. */
struct alert {
    struct qmgr *q;
    struct message *m;
    unsigned char *content;
};

static void on_alert_written(void *arg, int status)
{
    struct alert *a = arg;
    a->q->writes_pending--;
    if (status == 0) {
        mg_info("event=alert_queued qid=%s to=<%s>", a->m->id, a->m->rcpts[0].addr);
        qmgr_message_added(a->q, a->m);
    } else {
        mg_error("event=alert_failed to=<%s> error=\"%s\"", a->m->rcpts[0].addr, mg_strerror(status));
    }
    struct qmgr *q = a->q;
    message_free(a->m);
    free(a->content);
    free(a);
    qmgr_maybe_drained(q);
}

static void submit_alerts(struct qjob *j, struct channel_result *r)
{
    for (size_t i = 0; i < r->nmessages; i++) {
        struct channel_new_message *nm = &r->messages[i];
        struct alert *a = calloc(1, sizeof *a);
        struct message *m = message_create();
        if (!a || !m || message_set_originator(m, nm->originator) != 0 ||
            message_add_rcpt(m, nm->rcpt, NULL, MESSAGE_NOTIFY_NEVER, NULL) != 0 ||
            message_set_received(m, NULL, "local") != 0) {
            mg_error("event=alert_failed qid=%s to=<%s> error=\"out of memory or bad address\"",
                     j->msg->id, nm->rcpt);
            free(a);
            message_free(m);
            continue;
        }
        a->q = j->q;
        a->m = m;
        a->content = nm->content;  /* taken from the result */
        nm->content = NULL;
        m->priority = j->msg->priority;
        if (queue_store_submit(j->q->store, m, a->content, nm->len, on_alert_written, a) == 0) {
            j->q->writes_pending++;
        } else {
            mg_error("event=alert_failed qid=%s to=<%s>", j->msg->id, nm->rcpt);
            message_free(m);
            free(a->content);
            free(a);
        }
    }
}

static void on_stage_written(void *arg, int status)
{
    struct stage_write *w = arg;
    struct qjob *j = w->j;
    struct qgroup *g = w->g;
    struct message *m = j->msg;
    j->q->writes_pending--;
    if (status != 0) {
        mg_error("event=queue_write_failed qid=%s op=stage channel=%s error=\"%s\"", m->id,
                 g->channel->name, mg_strerror(status));
        /* Nothing of the stage applied: the recipients stay where they were and the job
         * stops planning (round limit) so it ends and is retried later. */
        j->round = QMGR_MAX_ROUNDS;
        j->e->next_attempt = qmgr_now(j->q) + 60;
    } else {
        for (size_t i = 0; i < w->st.nrcpts; i++) {
            const struct queue_store_stage_rcpt *s = &w->sr[i];
            struct message_rcpt *r = &m->rcpts[s->rcpt];
            r->state = s->state;
            r->stage = s->stage;
            r->cversion = w->out_version;
            r->flags |= s->flags_set;
            if (s->next_addr)
                message_rcpt_set_str(&r->next_addr, s->next_addr);
            if (s->reply)
                message_rcpt_set_str(&r->last_reply, s->reply);
            if (s->state == MESSAGE_RCPT_HELD) {
                j->q->n_held++;
                mg_warn("event=held_rcpt qid=%s to=<%s> channel=%s reason=\"%s\"", m->id, r->addr,
                        g->channel->name, s->reply ? s->reply : "");
            } else if (s->state == MESSAGE_RCPT_DELIVERED) {
                mg_warn("event=discarded qid=%s to=<%s> channel=%s reason=\"%s\"", m->id, r->addr,
                        g->channel->name, s->reply ? s->reply : "");
            } else {
                mg_debug("event=processed qid=%s to=<%s> channel=%s stage=%u version=%u", m->id,
                         r->addr, g->channel->name, s->stage, w->out_version);
            }
        }
        for (size_t i = 0; i < w->st.nadd; i++) {
            struct message_rcpt *nr = NULL;
            if (message_add_rcpt(m, w->st.add[i], NULL, MESSAGE_NOTIFY_NEVER, &nr) == 0) {
                nr->cversion = w->st.add_version;
                nr->stage = w->add_stages[i];
                mg_info("event=copied qid=%s to=<%s> channel=%s", m->id, w->st.add[i],
                        g->channel->name);
            }
        }
        submit_alerts(j, &g->result);
    }
    stage_write_free(w);
    stage_finished(j);
}

static void stage_issue(struct stage_write *w)
{
    struct qjob *j = w->j;
    if (!w->st.nrcpts && !w->st.new_version && !w->st.nadd) {
        /* nothing changed in the store (a gate everybody passed; only failures recorded) */
        j->q->writes_pending++;
        on_stage_written(w, 0);
        return;
    }
    int rc = queue_store_apply_stage(j->q->store, j->msg->id, &w->st, on_stage_written, w);
    if (rc == 0) {
        j->q->writes_pending++;
        return;
    }
    j->q->writes_pending++;          /* on_stage_written decrements */
    on_stage_written(w, rc);
}

static void on_audit_written(void *arg, int status)
{
    struct stage_write *w = arg;
    struct qjob *j = w->j;
    j->q->writes_pending--;
    if (status != 0) {
        mg_error("event=audit_failed qid=%s channel=%s error=\"%s\"", j->msg->id,
                 w->g->channel->name, mg_strerror(status));
        /* A security decision that is not on record does not move the message on. */
        j->q->writes_pending++;
        on_stage_written(w, status);
        return;
    }
    stage_issue(w);
}

/* Builds the durable form of one group's result and writes it (audit records first). */
static int stage_write(struct qjob *j, struct qgroup *g)
{
    struct message *m = j->msg;
    struct channel_result *res = &g->result;
    const char *chn = g->channel->name;
    struct stage_write *w = calloc(1, sizeof *w);
    if (!w)
        return MG_ENOMEM;
    w->j = j;
    w->g = g;
    w->sr = calloc(g->nrcpts ? g->nrcpts : 1, sizeof *w->sr);
    w->texts = calloc(g->nrcpts ? g->nrcpts : 1, sizeof *w->texts);
    if (!w->sr || !w->texts) {
        stage_write_free(w);
        return MG_ENOMEM;
    }
    w->out_version = g->version;
    struct jversion *in = g->in;
    if (g->proc_rc == 0 && in && !g->gate &&
        (res->content || res->label_set || res->priority >= 0 || res->originator)) {
        struct jversion nv = { .version = m->content_version + 1, .priority = in->priority };
        nv.c = content_ref(res->content ? res->content : in->c);
        const char *orig = res->originator ? res->originator : in->originator;
        nv.originator = orig ? strdup(orig) : NULL;
        if (res->priority >= 0)
            nv.priority = res->priority;
        nv.label_set = res->label_set || in->label_set;
        const unsigned char *lb = res->label_set ? res->label : in->label;
        size_t ll = res->label_set ? res->label_len : in->label_len;
        if (ll && (nv.label = malloc(ll))) {
            memcpy(nv.label, lb, ll);
            nv.label_len = ll;
        }
        if ((orig && !nv.originator) || (ll && !nv.label)) {
            jversion_clear(&nv);
            stage_write_free(w);
            return MG_ENOMEM;
        }
        w->nv = version_put(j, &nv);
        if (!w->nv) {
            stage_write_free(w);
            return MG_ENOMEM;
        }
        m->content_version = w->nv->version;
        w->out_version = w->nv->version;
        size_t len = 0;
        const unsigned char *data = content_data(w->nv->c, &len);
        w->st.new_version = 1;
        w->st.type = content_type(w->nv->c);
        w->st.content = data;
        w->st.len = len;
        w->st.label_set = w->nv->label_set;
        w->st.label = w->nv->label;
        w->st.label_len = w->nv->label_len;
        w->st.priority = w->nv->priority;
        w->st.originator = w->nv->originator;
    } else {
        w->st.priority = -1;
    }
    w->st.version = w->out_version;
    size_t ns = 0, nregroup = 0;
    for (size_t k = 0; g->proc_rc == 0 && k < g->nrcpts; k++)
        nregroup += res->rcpts[k].outcome.action == CHANNEL_REGROUP;
    for (size_t k = 0; k < g->nrcpts; k++) {
        uint32_t ri = g->rcpts[k];
        struct queue_store_stage_rcpt *s = &w->sr[ns];
        const struct channel_rcpt_result *rr = g->proc_rc == 0 ? &res->rcpts[k] : NULL;
        enum channel_action a = rr ? rr->outcome.action : CHANNEL_HELD;
        const char *text = rr ? rr->outcome.text : res->error;
        if (!rr && g->gate) {
            /* the gate could not decide (a directory down): defer, never allow, never drop */
            struct channel_outcome o;
            char t[700];
            snprintf(t, sizeof t, "access control could not decide: %s", res->error);
            channel_outcome_set(&o, CHANNEL_DEFERRED, 451, "4.7.0", t, NULL);
            if (add_rec(j, ri, g->channel, g->peer, &o) != 0) {
                stage_write_free(w);
                return MG_ENOMEM;
            }
            continue;
        }
        s->rcpt = ri;
        s->stage = g->stage;
        if (a == CHANNEL_REGROUP && nregroup == g->nrcpts) {
            /* nobody took the group's result: the channel contradicts itself; hold, never loop */
            a = CHANNEL_HELD;
            text = "the channel gave every recipient of the group another result";
        } else if (a == CHANNEL_REGROUP) {
            continue;  /* not applied now: planned again next round, in a group of its own */
        }
        if (g->gate && (a == CHANNEL_CONTINUE || a == CHANNEL_REGROUP)) {
            /* passed the gate for this attempt: nothing to store */
            if (mark(j, ri, RD_GATED) != 0) {
                stage_write_free(w);
                return MG_ENOMEM;
            }
            continue;
        }
        if (g->gate && a == CHANNEL_DISCARDED)
            a = CHANNEL_FAILED;   /* a gate may refuse, never drop */
        switch (a) {
        case CHANNEL_CONTINUE:
            s->state = MESSAGE_RCPT_PENDING;
            s->stage = g->stage + 1;
            s->next_addr = rr->next_addr;
            break;
        case CHANNEL_HELD:
            s->state = MESSAGE_RCPT_HELD;
            snprintf(w->texts[ns], sizeof w->texts[ns], "held %s %s: %s",
                     g->gate ? "before delivery by" : "by channel", chn,
                     text && *text ? text : "no reason given");
            s->reply = w->texts[ns];
            break;
        case CHANNEL_DISCARDED:
            s->state = MESSAGE_RCPT_DELIVERED;
            s->flags_set = MESSAGE_RCPT_F_REPORTED;
            snprintf(w->texts[ns], sizeof w->texts[ns], "discarded by channel %s: %s", chn,
                     text && *text ? text : "no reason given");
            s->reply = w->texts[ns];
            s->status = "2.0.0";
            break;
        default: {
            /* failed or deferred (or not set): recorded with the deliveries' outcomes, so the
             * report and the back-off follow the same rules */
            struct channel_outcome o = rr->outcome;
            if (o.action != CHANNEL_FAILED)
                o.action = CHANNEL_DEFERRED;
            if (!o.code)
                o.code = o.action == CHANNEL_FAILED ? 550 : 451;
            if (add_rec(j, ri, g->channel, g->gate ? g->peer : NULL, &o) != 0) {
                stage_write_free(w);
                return MG_ENOMEM;
            }
            continue;
        }
        }
        ns++;
    }
    w->st.rcpts = w->sr;
    w->st.nrcpts = ns;
    if (g->proc_rc == 0 && res->ncopy && !g->gate) {
        /* A copy is a new recipient with its own route. It has passed the channel that made
         * it when its chain has that channel at the same place (else a rule that copies would
         * copy its own copies); an address already among the recipients is not added again. */
        w->adds = calloc(res->ncopy, sizeof *w->adds);
        w->add_stages = calloc(res->ncopy, sizeof *w->add_stages);
        if (!w->adds || !w->add_stages) {
            stage_write_free(w);
            return MG_ENOMEM;
        }
        for (size_t i = 0; i < res->ncopy; i++) {
            const char *a = res->copy_to[i];
            int dup = 0;
            for (size_t k = 0; k < m->nrcpts && !dup; k++)
                dup = !strcasecmp(m->rcpts[k].addr, a);
            for (size_t k = 0; k < w->st.nadd && !dup; k++)
                dup = !strcasecmp(w->adds[k], a);
            if (dup)
                continue;
            const struct config_route *rt = NULL;
            uint32_t st = 0;
            if (route_lookup(j->cref->cfg, a, &rt) == 0 && g->stage < rt->n_chain &&
                rt->chain[g->stage] == g->channel)
                st = g->stage + 1;
            w->adds[w->st.nadd] = a;
            w->add_stages[w->st.nadd++] = st;
        }
        w->st.add = w->adds;
        w->st.add_stages = w->add_stages;
        w->st.add_version = w->out_version;
    }
    if (g->proc_rc != 0)
        mg_warn("event=channel_failed qid=%s channel=%s type=%s error=\"%s\"", m->id, chn,
                g->channel->type, res->error);
    /* Every decision is logged, and written to the audit store before the message moves. */
    const char **ra = res->naudit ? calloc(res->naudit, sizeof *ra) : NULL;
    for (size_t i = 0; i < res->naudit; i++) {
        const struct channel_audit *a = &res->audit[i];
        const char *to = a->rcpt >= 0 && (size_t)a->rcpt < g->nrcpts
                             ? m->rcpts[g->rcpts[a->rcpt]].addr : "";
        if (ra)
            ra[i] = to;
        mg_info("event=audit qid=%s channel=%s to=<%s> decision=%s reason=\"%s\"", m->id, chn,
                to, a->decision, a->reason);
    }
    j->stage_writes++;
    if (res->naudit && j->q->opts.audit.append && ra) {
        int rc = j->q->opts.audit.append(j->q->opts.audit.ctx, m->id, chn, ra, res->audit,
                                         res->naudit, on_audit_written, w);
        free(ra);
        if (rc == 0) {
            j->q->writes_pending++;
            return 0;
        }
        j->q->writes_pending++;
        on_audit_written(w, rc);
        return 0;
    }
    free(ra);
    stage_issue(w);
    return 0;
}

static void proc_round_done(struct qjob *j)
{
    j->stage_writes = 1; /* guard: writes may complete synchronously (no loop) */
    for (size_t i = 0; i < j->ngroups; i++) {
        struct qgroup *g = &j->groups[i];
        if (!g->channel || (g->channel->delivery && !g->gate))
            continue;
        if (stage_write(j, g) != 0) {
            mg_error("event=schedule_failed qid=%s error=\"out of memory\"", j->msg->id);
            j->round = QMGR_MAX_ROUNDS;
            j->e->next_attempt = qmgr_now(j->q) + 60;
        }
    }
    stage_finished(j);
}

/* ---- delivery rounds --------------------------------------------------------------------- */

void qmgr_job_group_done(struct qgroup *g)
{
    struct qjob *j = g->j;
    g->state = QG_DONE;
    for (size_t i = 0; i < g->nrcpts; i++)
        if (add_rec(j, g->rcpts[i], g->channel, g->peer, &g->outcomes[i]) != 0)
            mg_error("event=out_of_memory qid=%s where=record", j->msg->id);
    if (--j->pending == 0)
        job_record(j);
}

static void group_fail_now(struct qgroup *g, const char *status, const char *text)
{
    for (size_t i = 0; i < g->nrcpts; i++)
        channel_outcome_set(&g->outcomes[i], CHANNEL_DEFERRED, 451, status, text, NULL);
    qmgr_job_group_done(g);
}

static void job_round(struct qjob *j)
{
    struct qmgr *q = j->q;
    groups_clear(j);
    if (j->round >= QMGR_MAX_ROUNDS) {
        job_record(j);
        return;
    }
    j->round++;
    size_t nproc = 0;
    if (plan(j, &nproc) != 0) {
        mg_error("event=schedule_failed qid=%s error=\"out of memory\"", j->msg->id);
        j->e->next_attempt = qmgr_now(q) + 60;
        groups_clear(j);
        job_record(j);
        return;
    }
    if (j->ngroups == 0) {
        job_record(j);
        return;
    }
    j->pending = 1; /* guard against synchronous completion below */
    if (nproc) {
        /* Processing first; deliveries due in this message are planned in the next round. */
        j->processing_round = 1;
        for (size_t i = 0; i < j->ngroups; i++) {
            struct qgroup *g = &j->groups[i];
            if (!g->channel || (g->channel->delivery && !g->gate))
                continue;
            if (!g->gate && (!g->channel->kind || !g->channel->kind->process)) {
                g->proc_rc = MG_ENOTSUP;
                snprintf(g->result.error, sizeof g->result.error,
                         "channel %s (type %s) cannot process in this build", g->channel->name,
                         g->channel->type);
                continue;
            }
            if (proc_enqueue(q, g) != 0) {
                g->proc_rc = MG_ENOMEM;
                snprintf(g->result.error, sizeof g->result.error, "out of memory");
                continue;
            }
            j->pending++;
        }
        qmgr_proc_pump(q);
        if (--j->pending == 0)
            proc_round_done(j);
        return;
    }
    j->processing_round = 0;
    for (size_t i = 0; i < j->ngroups; i++) {
        struct qgroup *g = &j->groups[i];
        j->pending++;
        if (!g->channel)
            group_fail_now(g, "4.3.5", "no route for this recipient in the current configuration");
        else if (!qmgr_instance(j->cref, g->channel))
            group_fail_now(g, "4.3.5", "the delivery channel is not running (see the log)");
        else
            qmgr_dest_enqueue(q, g);
    }
    if (--j->pending == 0)
        job_record(j);
}

/* ---- recording outcomes ------------------------------------------------------------------ */

static void on_finish_written(void *arg, int status)
{
    struct qjob *j = arg;
    j->q->writes_pending--;
    if (status != 0 && status != MG_ENOTFOUND) {
        mg_warn("event=queue_write_failed qid=%s op=finish error=\"%s\"", j->e->id, mg_strerror(status));
        qmgr_job_end(j, 0);
        return;
    }
    mg_info("event=removed qid=%s", j->e->id);
    qmgr_job_end(j, 1);
}

static void job_finish_or_end(struct qjob *j)
{
    if (message_is_final(j->msg)) {
        int rc = queue_store_finish(j->q->store, j->msg->id, on_finish_written, j);
        if (rc == 0) {
            j->q->writes_pending++;
            return;
        }
        qmgr_job_end(j, 0);
        return;
    }
    int64_t due = qmgr_next_due(j->msg);
    if (j->e->next_attempt <= qmgr_now(j->q) || due > j->e->next_attempt)
        j->e->next_attempt = due;
    qmgr_job_end(j, 0);
}

static void on_update_written(void *arg, int status)
{
    struct qjob *j = arg;
    j->q->writes_pending--;
    if (status != 0) {
        mg_warn("event=queue_write_failed qid=%s op=update error=\"%s\"", j->e->id, mg_strerror(status));
        j->e->next_attempt = qmgr_now(j->q) + (int64_t)qmgr_backoff(&j->cref->cfg->queue, 1);
        qmgr_job_end(j, 0);
        return;
    }
    job_finish_or_end(j);
}

static void on_dsn_written(void *arg, int status)
{
    struct qjob *j = arg;
    struct qmgr *q = j->q;
    q->writes_pending--;
    if (status != 0) {
        mg_error("event=report_failed qid=%s error=\"%s\"", j->msg->id, mg_strerror(status));
        return;
    }
    q->n_reports++;
    mg_info("event=reported qid=%s report_qid=%s to=<%s>", j->msg->id, j->dsn_msg->id,
            j->dsn_msg->nrcpts ? j->dsn_msg->rcpts[0].addr : "");
    qmgr_message_added(q, j->dsn_msg);
}

static void issue_updates(struct qjob *j)
{
    struct qmgr *q = j->q;
    if (j->dsn_msg) {
        int rc = queue_store_submit(q->store, j->dsn_msg, j->dsn_content, j->dsn_len,
                                    on_dsn_written, j);
        if (rc == 0)
            q->writes_pending++;
        else
            mg_error("event=report_failed qid=%s error=\"%s\"", j->msg->id, mg_strerror(rc));
    }
    if (j->nupd == 0) {
        job_finish_or_end(j);
        return;
    }
    int rc = queue_store_update_rcpts(q->store, j->msg->id, j->upd, j->nupd, qmgr_now(q),
                                      on_update_written, j);
    if (rc != 0) {
        mg_error("event=queue_write_failed qid=%s op=update error=\"%s\"", j->msg->id, mg_strerror(rc));
        j->e->next_attempt = qmgr_now(q) + 60;
        qmgr_job_end(j, 0);
        return;
    }
    q->writes_pending++;
}

/* Pool: the report is built from the content as received. */
static void report_work(uv_work_t *w)
{
    struct qjob *j = w->data;
    unsigned char *orig = NULL;
    size_t olen = 0;
    j->dsn_rc = queue_store_read_original(j->q->store, j->msg->id, NULL, &orig, &olen);
    if (j->dsn_rc != 0)
        return;
    struct report_ctx ctx = { .reporting_mta = j->cref->cfg->global.hostname,
                              .now = qmgr_now(j->q), .x400 = j->q->opts.x400_report,
                              .x400_ctx = j->q->opts.x400_ctx };
    j->dsn_rc = report_build(&ctx, j->msg, j->ritems, j->nritems, orig, olen, &j->dsn_msg,
                             &j->dsn_content, &j->dsn_len);
    free(orig);
}

static void report_after(uv_work_t *w, int status)
{
    struct qjob *j = w->data;
    if (status == UV_ECANCELED)
        j->dsn_rc = MG_ESTATE;
    if (j->dsn_rc != 0) {
        mg_error("event=report_failed qid=%s error=\"%s\"", j->msg->id, mg_strerror(j->dsn_rc));
    } else if (!j->dsn_msg && report_world_of(j->msg) == REPORT_WORLD_X400) {
        mg_warn("event=report_skipped qid=%s reason=\"no X.400 report builder in this build\"",
                j->msg->id);
    } else if (j->dsn_msg && j->dsn_msg->nrcpts && j->dsn_msg->rcpts[0].addr) {
        const struct config_route *rt = NULL;
        if (route_lookup(j->cref->cfg, j->dsn_msg->rcpts[0].addr, &rt) == 0)
            message_rcpt_set_route(&j->dsn_msg->rcpts[0], NULL, rt->chain[rt->n_chain - 1]->name,
                                   rt->peer ? rt->peer->name : NULL);
    }
    issue_updates(j);
}

static void job_record(struct qjob *j)
{
    struct qmgr *q = j->q;
    const struct config *cfg = j->cref->cfg;
    struct message *m = j->msg;
    groups_clear(j);
    size_t n = j->nrecs;
    if (n == 0) {
        job_finish_or_end(j);
        return;
    }
    int64_t now = qmgr_now(q);
    int64_t expire = m->expire_at ? m->expire_at : m->arrival + (int64_t)cfg->queue.max_lifetime;
    j->upd = calloc(n, sizeof *j->upd);
    j->replies = calloc(n, sizeof *j->replies);
    j->statuses = calloc(n, sizeof *j->statuses);
    j->ritems = calloc(n, sizeof *j->ritems);
    if (!j->upd || !j->replies || !j->statuses || !j->ritems) {
        mg_error("event=out_of_memory qid=%s where=record", m->id);
        j->e->next_attempt = now + 60;
        qmgr_job_end(j, 0);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        struct jrec *rec = &j->recs[k];
        struct channel_outcome *o = &rec->o;
        struct message_rcpt *r = &m->rcpts[rec->rcpt];
        if (o->action == CHANNEL_NONE) {
            channel_outcome_set(o, CHANNEL_DEFERRED, 451, "4.3.0", "delivery ended without a result",
                                o->remote);
        }
        char *st = j->statuses[k];
        snprintf(st, sizeof j->statuses[k], "%s", o->status[0] ? o->status
                 : o->action == CHANNEL_FAILED ? "5.0.0" : channel_action_is_final(o->action) ? "2.0.0" : "4.0.0");
        int code = o->code ? o->code : o->action == CHANNEL_FAILED ? 550
                                     : channel_action_is_final(o->action) ? 250 : 451;
        snprintf(j->replies[k], sizeof j->replies[k], "%d %s %s", code, st, o->text);
        struct queue_store_rcpt_update *x = &j->upd[j->nupd++];
        x->rcpt = rec->rcpt;
        x->counts_attempt = 1;
        x->reply = j->replies[k];
        x->status = st;
        x->remote_mta = o->remote[0] ? o->remote : NULL;
        x->chain = rec->channel ? rec->channel->name : NULL;
        x->peer = rec->peer ? rec->peer->name : NULL;
        int delayed = 0;
        const char *ev;
        if (o->action == CHANNEL_DELIVERED || o->action == CHANNEL_RELAYED) {
            x->state = MESSAGE_RCPT_DELIVERED;
            ev = "delivered";
            q->n_delivered++;
        } else if (o->action == CHANNEL_FAILED) {
            x->state = MESSAGE_RCPT_FAILED;
            ev = "failed";
            q->n_failed++;
        } else if (now >= expire) {
            x->state = MESSAGE_RCPT_FAILED;
            snprintf(st, sizeof j->statuses[k], "4.4.7");
            snprintf(j->replies[k], sizeof j->replies[k], "delivery time expired; last reply: %d %s",
                     code, o->text);
            o->action = CHANNEL_FAILED;
            ev = "failed";
            q->n_failed++;
        } else {
            uint32_t attempts = r->attempts + 1;
            x->state = MESSAGE_RCPT_DEFERRED;
            x->next_attempt = now + qmgr_backoff(&cfg->queue, attempts);
            if (x->next_attempt > expire)
                x->next_attempt = expire; /* one last try when the lifetime ends */
            r->next_attempt = x->next_attempt;
            ev = "deferred";
            q->n_deferred++;
            if (cfg->queue.delay_warning && now - m->arrival >= (int64_t)cfg->queue.delay_warning &&
                !(r->flags & MESSAGE_RCPT_F_DELAY_REPORTED)) {
                delayed = 1;
                x->flags_set |= MESSAGE_RCPT_F_DELAY_REPORTED;
            }
        }
        r->state = x->state;
        enum dsn_action da;
        int report = report_decide(m, r, o, delayed, &da);
        if (x->state == MESSAGE_RCPT_FAILED || x->state == MESSAGE_RCPT_DELIVERED)
            x->flags_set |= MESSAGE_RCPT_F_REPORTED;
        char qa[1100], qt[1500];
        mg_log(x->state == MESSAGE_RCPT_DELIVERED ? MG_LOG_INFO : MG_LOG_WARN,
               "event=%s qid=%s to=<%s> channel=%s peer=%s relay=%s status=%s attempts=%u reply=%s",
               ev, m->id, mg_log_quote(r->addr, qa, sizeof qa), rec->channel ? rec->channel->name : "-",
               rec->peer ? rec->peer->name : "-", o->remote[0] ? o->remote : "-", st,
               r->attempts + 1, mg_log_quote(j->replies[k], qt, sizeof qt));
        if (report) {
            struct report_item *it = &j->ritems[j->nritems++];
            it->rcpt = rec->rcpt;
            it->action = da;
            it->status = st;
            it->remote_mta = o->remote[0] ? o->remote : NULL;
            it->diagnostic = (x->state == MESSAGE_RCPT_DELIVERED) ? NULL : j->replies[k];
            it->x400_reason = o->x400_reason;
            it->x400_diagnostic = o->x400_diagnostic;
            it->last_attempt = now;
            it->will_retry_until = da == DSN_ACTION_DELAYED ? expire : 0;
        }
    }
    /* Order matters: the report first, then the states, then the removal. The store's single
     * writer applies them in this order, normally in one transaction; after a crash between
     * them a report may be sent twice, never lost. */
    if (j->nritems) {
        j->rwork.data = j;
        if (uv_queue_work(q->loop, &j->rwork, report_work, report_after) == 0)
            return;
        j->dsn_rc = MG_EIO;
        report_after(&j->rwork, 0);
        return;
    }
    issue_updates(j);
}

/* ---- starting a job ---------------------------------------------------------------------- */

/* Thread pool: load the envelope. */
static void job_load(uv_work_t *w)
{
    struct qjob *j = w->data;
    j->load_rc = queue_store_get(j->q->store, j->e->id, &j->msg);
}

static void job_after_load(uv_work_t *w, int status)
{
    struct qjob *j = w->data;
    struct qmgr *q = j->q;
    if (status == UV_ECANCELED)
        j->load_rc = MG_ESTATE;
    if (j->load_rc == MG_ENOTFOUND || (j->e->flags & QE_DELETED)) {
        qmgr_job_end(j, 1);          /* deleted meanwhile */
        return;
    }
    if (j->load_rc != 0) {
        mg_error("event=queue_read_failed qid=%s error=\"%s\"", j->e->id, mg_strerror(j->load_rc));
        j->e->next_attempt = qmgr_now(q) + 60;
        qmgr_job_end(j, 0);
        return;
    }
    if (message_is_final(j->msg)) { /* every recipient done before a crash: just remove it */
        job_finish_or_end(j);
        return;
    }
    j->e->next_attempt = 0;
    job_round(j);
}

void qmgr_job_start(struct qmgr *q, struct qentry *e)
{
    struct qjob *j = calloc(1, sizeof *j);
    if (!j) {
        mg_error("event=schedule_failed qid=%s error=\"out of memory\"", e->id);
        e->next_attempt = qmgr_now(q) + 60;
        struct qjob tmp = { .q = q, .e = e, .cref = q->cref };
        /* qmgr_job_end frees the job: give it a heap copy it can free */
        struct qjob *t = malloc(sizeof *t);
        if (t) {
            *t = tmp;
            qmgr_job_end(t, 0);
        }
        return;
    }
    j->q = q;
    j->e = e;
    j->cref = q->cref;
    j->work.data = j;
    if (uv_queue_work(q->loop, &j->work, job_load, job_after_load) != 0) {
        j->load_rc = MG_EIO;
        job_after_load(&j->work, 0);
    }
}
