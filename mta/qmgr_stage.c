/* qmgr_stage: a processing round's results made durable (see qmgr.h, qmgr_proc.c).
 *
 * When every group of the round is back, each result is made durable: its audit records first
 * (a security decision not on record does not move the message), then one store transaction
 * with the new content version and every recipient's new stage, version, state and next-hop
 * address, or, for a stage whose recipients all simply go on, kept in memory until the job
 * knows whether the message ends (see "kept stages" below); then the job plans again. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A stage result being made durable (or kept: see "kept stages" below). */
struct stage_write {
    struct qjob *j;
    struct qgroup *g;                    /* NULL once kept (the round's groups are freed) */
    struct qmgr *q;
    const struct config_channel *channel;
    struct content *ref;                 /* a kept stage's new version: held until written */
    int owns;                            /* kept: st's strings and envelope are owned copies */
    char qid[MESSAGE_ID_SIZE];
    char chname[128];                    /* for a kept write's callback, which may outlive the
                                            job and its configuration */
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
    content_unref(w->ref);
    for (size_t i = 0; w->owns && i < w->st.nrcpts; i++) {
        free((char *)w->sr[i].next_addr);
        free((char *)w->sr[i].orcpt);
    }
    if (w->owns) {
        free((char *)w->st.envid);
        free((void *)w->st.x400_env);
        free((char *)w->st.mts_id);
    }
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
    qmgr_job_round(j);
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

/* The stage as written (or kept) applied to the job's message. */
static void stage_apply(struct stage_write *w)
{
    struct qjob *j = w->j;
    struct qgroup *g = w->g;
    struct message *m = j->msg;
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
        if (s->dsn_set) {
            r->notify = s->notify;
            message_rcpt_set_str(&r->orcpt, s->orcpt);
        }
        if (s->state == MESSAGE_RCPT_HELD) {
            j->q->n_held++;
            mg_warn("event=held_rcpt qid=%s to=<%s> channel=%s reason=\"%s\"", m->id, r->addr,
                    w->channel->name, s->reply ? s->reply : "");
        } else if (s->state == MESSAGE_RCPT_DELIVERED) {
            mg_warn("event=discarded qid=%s to=<%s> channel=%s reason=\"%s\"", m->id, r->addr,
                    w->channel->name, s->reply ? s->reply : "");
        } else {
            mg_debug("event=processed qid=%s to=<%s> channel=%s stage=%u version=%u", m->id,
                     r->addr, w->channel->name, s->stage, w->out_version);
        }
    }
    if (w->st.env_set) {
        message_set_envid(m, w->st.envid);
        m->ret = (enum message_ret)w->st.ret;
    }
    if ((w->st.x400_env || w->st.mts_id) &&
        message_set_x400(m, w->st.mts_id ? w->st.mts_id : m->mts_id, m->content_oid,
                         w->st.x400_env ? w->st.x400_env : m->x400_env,
                         w->st.x400_env ? w->st.x400_env_len : m->x400_env_len) != 0)
        mg_error("event=out_of_memory qid=%s op=set_x400_env", m->id);
    for (size_t i = 0; i < w->st.nadd; i++) {
        struct message_rcpt *nr = NULL;
        if (message_add_rcpt(m, w->st.add[i], NULL, MESSAGE_NOTIFY_NEVER, &nr) == 0) {
            nr->cversion = w->st.add_version;
            nr->stage = w->add_stages[i];
            mg_info("event=copied qid=%s to=<%s> channel=%s", m->id, w->st.add[i],
                    w->channel->name);
        }
    }
    submit_alerts(j, &g->result);
}

static void on_stage_written(void *arg, int status)
{
    struct stage_write *w = arg;
    struct qjob *j = w->j;
    j->q->writes_pending--;
    if (status != 0) {
        mg_error("event=queue_write_failed qid=%s op=stage channel=%s error=\"%s\"", j->msg->id,
                 w->channel->name, mg_strerror(status));
        /* Nothing of the stage applied: the recipients stay where they were and the job
         * stops planning (round limit) so it ends and is retried later. */
        j->round = QMGR_MAX_ROUNDS;
        j->e->next_attempt = qmgr_now(j->q) + 60;
    } else {
        stage_apply(w);
    }
    stage_write_free(w);
    stage_finished(j);
}

/* ---- kept stages --------------------------------------------------------------------------
 * A stage whose recipients all go on (a new content version; nothing held, refused, copied or
 * alerted) is applied in memory only when it is made: writing the new version is most of a
 * converting or wrapping stage's store cost, and when the message is then delivered to every
 * recipient nothing needs it. If every recipient is final when the job records its outcomes,
 * the stages are dropped and the finish gives the history row the MTS identifier and ENVID they
 * set (report matching reads them there). Otherwise they are written, oldest first, before
 * anything else of the job: before a later stage's write, before the outcomes. A job that ends
 * another way drops them: the store keeps the earlier state of the message, the state a crash
 * would leave, and the next attempt runs the stages again from it, as after a crash. Only the
 * in-memory message (and its version cache) sees a kept stage, and it lives with the job. */

static int stage_keepable(const struct stage_write *w)
{
    if (!w->st.new_version || w->st.nadd || w->g->gate || w->g->result.nmessages || !w->st.nrcpts)
        return 0;
    for (size_t i = 0; i < w->st.nrcpts; i++) {
        const struct queue_store_stage_rcpt *r = &w->sr[i];
        if (r->state != MESSAGE_RCPT_PENDING || r->reply || r->status || r->chain)
            return 0;
    }
    return 1;
}

/* Copies of what a kept stage's write reads from the group's result, which is freed with the
 * round (the message's own copies change with later stages). */
static int keep_copy(const char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst ? MG_ENOMEM : 0;
}

/* Applies w in memory and keeps it for a later write; MG_ENOMEM leaves w as it was. */
static int stage_keep(struct stage_write *w)
{
    struct qjob *j = w->j;
    struct stage_write **nk = realloc(j->kept, (j->nkept + 1) * sizeof *nk);
    if (!nk)
        return MG_ENOMEM;
    j->kept = nk;
    size_t n = w->st.nrcpts;
    const char **strs = calloc(2 * n + 2, sizeof *strs);   /* next_addr, orcpt per rcpt; ids */
    unsigned char *env = w->st.x400_env ? malloc(w->st.x400_env_len ? w->st.x400_env_len : 1) : NULL;
    int rc = !strs || (w->st.x400_env && !env) ? MG_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = keep_copy(&strs[2 * i], w->sr[i].next_addr) | keep_copy(&strs[2 * i + 1], w->sr[i].orcpt);
    if (rc == 0)
        rc = keep_copy(&strs[2 * n], w->st.envid) | keep_copy(&strs[2 * n + 1], w->st.mts_id);
    if (rc != 0) {
        for (size_t i = 0; strs && i < 2 * n + 2; i++)
            free((char *)strs[i]);
        free(strs);
        free(env);
        return MG_ENOMEM;    /* written now instead */
    }
    stage_apply(w);          /* reads the result's strings: before they are replaced */
    for (size_t i = 0; i < n; i++) {
        w->sr[i].next_addr = strs[2 * i];
        w->sr[i].orcpt = strs[2 * i + 1];
    }
    w->st.envid = strs[2 * n];
    w->st.mts_id = strs[2 * n + 1];
    if (env) {
        memcpy(env, w->st.x400_env, w->st.x400_env_len);
        w->st.x400_env = env;
    }
    free(strs);
    w->owns = 1;
    w->ref = content_ref(w->nv->c);
    w->g = NULL;
    j->kept[j->nkept++] = w;
    mg_debug("event=stage_kept qid=%s channel=%s version=%u", j->msg->id, w->channel->name,
             w->out_version);
    return 0;
}

static void on_kept_written(void *arg, int status)
{
    struct stage_write *w = arg;
    struct qmgr *q = w->q;         /* the job may be gone */
    q->writes_pending--;
    if (status != 0)
        mg_error("event=queue_write_failed qid=%s op=stage channel=%s error=\"%s\" kept=1",
                 w->qid, w->chname, mg_strerror(status));
    stage_write_free(w);
    qmgr_maybe_drained(q);
}

void qmgr_kept_flush(struct qjob *j)
{
    for (size_t i = 0; i < j->nkept; i++) {
        struct stage_write *w = j->kept[i];
        int rc = queue_store_apply_stage(j->q->store, j->msg->id, &w->st, on_kept_written, w);
        if (rc == 0) {
            j->q->writes_pending++;
            continue;
        }
        /* The store keeps the state before it (see above); the message goes on from there. */
        mg_error("event=queue_write_failed qid=%s op=stage channel=%s error=\"%s\" kept=1",
                 j->msg->id, w->channel->name, mg_strerror(rc));
        stage_write_free(w);
    }
    free(j->kept);
    j->kept = NULL;
    j->nkept = 0;
}

void qmgr_kept_clear(struct qjob *j)
{
    for (size_t i = 0; i < j->nkept; i++)
        stage_write_free(j->kept[i]);
    free(j->kept);
    j->kept = NULL;
    j->nkept = 0;
}

int qmgr_job_finish_write(struct qjob *j, queue_store_cb cb)
{
    const struct message *m = j->msg;
    int mts = 0, env = 0;
    for (size_t i = 0; i < j->nkept; i++) {
        mts |= j->kept[i]->st.mts_id != NULL;
        env |= j->kept[i]->st.env_set;
    }
    int rc = j->nkept ? queue_store_finish_env(j->q->store, m->id, mts ? m->mts_id : NULL, env,
                                               m->envid, cb, j)
                      : queue_store_finish(j->q->store, m->id, cb, j);
    if (rc == 0)
        qmgr_kept_clear(j);
    return rc;
}

static void stage_issue(struct stage_write *w)
{
    struct qjob *j = w->j;
    int only_advance = !w->st.new_version && !w->st.nadd && !w->st.env_set && !w->st.x400_env &&
                       !w->st.mts_id;
    for (size_t i = 0; only_advance && i < w->st.nrcpts; i++) {
        const struct queue_store_stage_rcpt *r = &w->sr[i];
        only_advance = r->state == MESSAGE_RCPT_PENDING && !r->next_addr && !r->reply &&
                       !r->flags_set && !r->dsn_set;
    }
    if (only_advance && !w->g->result.naudit && !w->g->result.nmessages) {
        /* Nothing to store: the channel changed nothing but the stage (or a gate everybody
         * passed). The stage advances in memory only: after a crash the same pure function
         * runs again and gives the same result, so skipping the write loses nothing, and a
         * chain with a channel that lets most mail through costs no extra transaction. */
        j->q->writes_pending++;
        on_stage_written(w, 0);
        return;
    }
    if (stage_keepable(w) && stage_keep(w) == 0) {
        stage_finished(j);
        return;
    }
    qmgr_kept_flush(j);     /* the stages before this one go first */
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
    w->q = j->q;
    w->channel = g->channel;
    snprintf(w->qid, sizeof w->qid, "%s", m->id);
    snprintf(w->chname, sizeof w->chname, "%s", g->channel->name);
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
        /* The new content's X.400 type: what the channel said; else, for content of the same
         * kind (a channel that edits, not converts), the type the input version had. The
         * handle is the channel's new one, not yet shared. */
        const char *oid = res->content_oid;
        if (!oid && res->content && content_type(res->content) == content_type(in->c))
            oid = content_oid(in->c);
        int orc = res->content && res->content != in->c && oid
                      ? content_set_oid(res->content, oid) : 0;
        if (orc != 0) {
            stage_write_free(w);
            return orc;
        }
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
            qmgr_jversion_clear(&nv);
            stage_write_free(w);
            return MG_ENOMEM;
        }
        w->nv = qmgr_version_put(j, &nv);
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
        w->st.content_oid = content_oid(w->nv->c);
    } else {
        w->st.priority = -1;
    }
    w->st.version = w->out_version;
    if (g->proc_rc == 0 && !g->gate) {
        /* a converting channel's envelope parameters for the next hop (the message's) */
        w->st.env_set = res->env_set;
        w->st.envid = res->envid;
        w->st.ret = res->ret;
        w->st.x400_env = res->x400_env;
        w->st.x400_env_len = res->x400_env_len;
        w->st.mts_id = res->mts_id;
    }
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
            if (qmgr_job_add_rec(j, ri, g->channel, g->peer, &o) != 0) {
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
            if (qmgr_job_mark(j, ri, RD_GATED) != 0) {
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
            s->dsn_set = rr->dsn_set;
            s->notify = rr->notify;
            s->orcpt = rr->orcpt;
            if (rr->dsn_set)
                s->flags_set |= ((rr->gateway_notify & MESSAGE_NOTIFY_SUCCESS) ? MESSAGE_RCPT_F_GW_SUCCESS : 0) |
                                ((rr->gateway_notify & MESSAGE_NOTIFY_FAILURE) ? MESSAGE_RCPT_F_GW_FAILURE : 0);
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
            if (qmgr_job_add_rec(j, ri, g->channel, g->gate ? g->peer : NULL, &o) != 0) {
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
            struct route_label rl = j->q->opts.route_label;
            const struct jversion *ov = w->nv ? w->nv : in;
            rl.unknown = false;
            rl.der = ov && ov->label_set ? ov->label : m->label;
            rl.len = ov && ov->label_set ? ov->label_len : m->label_len;
            if (route_lookup_msg(j->cref->cfg, a, &rl, &rt) == 0 && g->stage < rt->n_chain &&
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

void qmgr_proc_round_done(struct qjob *j)
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

