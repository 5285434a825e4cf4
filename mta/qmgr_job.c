/* qmgr_job: one job moves one message's due recipients along their chains (see qmgr.h).
 *
 * A job loads the envelope on the thread pool, then works in rounds. Each round groups the due
 * recipients by where they are (plan): recipients at a processing channel, or at the delivery
 * gate, form groups that run on the pool (qmgr_stage.c); when every group of the round is back
 * and its result is durable, the job plans again. A round without processing hands its delivery
 * groups to their destinations (qmgr_dest.c); when they are all back, the outcomes are recorded
 * in one store write, preceded by the report they call for. */
#include "qmgr_internal.h"
#include "mg_err.h"
#include "mg_log.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void job_record(struct qjob *j);

/* ---- groups ------------------------------------------------------------------------------ */

static void group_clear(struct qgroup *g)
{
    free(g->rcpts);
    free(g->addrs);
    free(g->outcomes);
    channel_result_clear(&g->result, g->nrcpts);
    free(g->result.rcpts);
    qmgr_jversion_clear(&g->loaded);
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
    qmgr_kept_clear(j);
    for (size_t i = 0; i < j->nversions; i++) {
        qmgr_jversion_clear(j->versions[i]);
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

int qmgr_job_mark(struct qjob *j, uint32_t rcpt, uint8_t bit)
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

int qmgr_job_marked(const struct qjob *j, uint32_t rcpt, uint8_t bit)
{
    return rcpt < j->nrdone && (j->rdone[rcpt] & bit);
}

int qmgr_job_add_rec(struct qjob *j, uint32_t rcpt, const struct config_channel *ch,
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
    if (qmgr_job_mark(j, rcpt, RD_RECORDED) != 0)
        return MG_ENOMEM;
    struct jrec *r = &j->recs[j->nrecs++];
    r->rcpt = rcpt;
    r->channel = ch;
    r->peer = peer;
    r->o = *o;
    return 0;
}

bool qmgr_routes_by_label(const struct config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n_routes; i++)
        if (cfg->routes[i].label)
            return true;
    return false;
}

/* The label routing sees for recipient r: that of its content version (a processing stage
 * such as a shaper may have set a new one), else the envelope's. 0, or MG_ENOTFOUND when that
 * version is not loaded (prefetch loads them when the configuration routes by label). */
static int rcpt_route_label(struct qjob *j, const struct message_rcpt *r, struct route_label *out)
{
    *out = j->q->opts.route_label;
    out->unknown = false;
    out->der = j->msg->label;
    out->len = j->msg->label_len;
    if (r->cversion == 0)
        return 0;
    const struct jversion *v = qmgr_job_version(j, r->cversion);
    if (!v)
        return MG_ENOTFOUND;
    if (v->label_set) {
        out->der = v->label;
        out->len = v->label_len;
    }
    return 0;
}

/* Groups the due recipients by stage. Returns 0 or MG_ENOMEM. */
static int plan(struct qjob *j, size_t *nproc)
{
    const struct config *cfg = j->cref->cfg;
    struct message *m = j->msg;
    int64_t now = qmgr_now(j->q);
    int force = (j->e->flags & QE_FORCE) != 0;
    const struct qmgr_gate *gt = &j->q->opts.gate;
    int use_gate = gt->check && (!gt->needed || gt->needed(gt->ctx, cfg));
    bool by_label = qmgr_routes_by_label(cfg);
    *nproc = 0;
    j->groups = calloc(m->nrcpts ? m->nrcpts : 1, sizeof *j->groups);
    if (!j->groups)
        return MG_ENOMEM;
    for (size_t i = 0; i < m->nrcpts; i++) {
        struct message_rcpt *r = &m->rcpts[i];
        if (!rcpt_due(r, now, force) || qmgr_job_marked(j, (uint32_t)i, RD_RECORDED))
            continue;
        const struct config_route *rt = NULL;
        const struct config_channel *ch = NULL;
        const struct config_peer *peer = NULL;
        uint32_t stage = 0;
        int gate = 0;
        char hop[256] = "";
        const char *no_route = "no route for this recipient in the current configuration";
        struct route_label rl;
        int have_label = !by_label || rcpt_route_label(j, r, &rl) == 0;
        if (!have_label)
            no_route = "the label of its content version could not be read for routing";
        /* Routing by the original address: the chain chosen for a recipient stays its chain
         * even after a channel rewrote the address the next hop sees. The label is the current
         * one (docs/architecture.md, "Routing by label"). */
        int lrc = have_label ? route_lookup_msg(cfg, r->addr, by_label ? &rl : NULL, &rt) : MG_ENOTFOUND;
        if (lrc == MG_ETEMP)
            no_route = "routing by label could not decide now (labels configuration not loaded)";
        if (lrc == 0 && rt->n_chain) {
            stage = r->stage < rt->n_chain ? r->stage : (uint32_t)rt->n_chain - 1;
            ch = rt->chain[stage];
            if (ch->delivery) {
                /* a reload may have shortened the chain: deliver with what there is */
                peer = rt->peer;
                if (ch->kind && ch->kind->next_hop)
                    ch->kind->next_hop(ch->conf, peer, rcpt_next_addr(r), hop, sizeof hop);
                gate = use_gate && !qmgr_job_marked(j, (uint32_t)i, RD_GATED);
            }
        } else {
            rt = NULL;
        }
        struct qgroup *g = NULL;
        for (size_t k = 0; k < j->ngroups && !g; k++) {
            struct qgroup *x = &j->groups[k];
            if (x->route == rt && x->channel == ch && x->stage == stage && x->gate == gate &&
                (rt || x->no_route == no_route) &&
                x->version == r->cversion && x->peer == peer && !strcmp(x->next_hop, hop))
                g = x;
        }
        if (!g) {
            g = &j->groups[j->ngroups++];
            g->j = j;
            g->route = rt;
            g->no_route = no_route;
            g->channel = ch;
            g->peer = peer;
            g->stage = stage;
            g->gate = gate;
            g->version = r->cversion;
            snprintf(g->next_hop, sizeof g->next_hop, "%s", hop);
            if (ch && (!ch->delivery || gate))
                (*nproc)++;
        }
        /* Grown as recipients join: a message of many recipients in many groups (one per MX
         * domain) must not cost groups x recipients. */
        if (g->nrcpts == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 4;
            uint32_t *rv = realloc(g->rcpts, cap * sizeof *rv);
            if (rv)
                g->rcpts = rv;
            const char **av = rv ? realloc(g->addrs, cap * sizeof *av) : NULL;
            if (!av)
                return MG_ENOMEM;
            g->addrs = av;
            g->cap = cap;
        }
        g->addrs[g->nrcpts] = rcpt_next_addr(r);
        g->rcpts[g->nrcpts++] = (uint32_t)i;
    }
    for (size_t k = 0; k < j->ngroups; k++)
        if (!(j->groups[k].outcomes = calloc(j->groups[k].nrcpts, sizeof *j->groups[k].outcomes)))
            return MG_ENOMEM;
    return 0;
}

/* ---- delivery rounds --------------------------------------------------------------------- */

void qmgr_job_group_done(struct qgroup *g)
{
    struct qjob *j = g->j;
    g->state = QG_DONE;
    for (size_t i = 0; i < g->nrcpts; i++)
        if (qmgr_job_add_rec(j, g->rcpts[i], g->channel, g->peer, &g->outcomes[i]) != 0)
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

void qmgr_job_round(struct qjob *j)
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
            if (qmgr_proc_enqueue(q, g) != 0) {
                g->proc_rc = MG_ENOMEM;
                snprintf(g->result.error, sizeof g->result.error, "out of memory");
                continue;
            }
            j->pending++;
        }
        qmgr_proc_pump(q);
        if (--j->pending == 0)
            qmgr_proc_round_done(j);
        return;
    }
    j->processing_round = 0;
    for (size_t i = 0; i < j->ngroups; i++) {
        struct qgroup *g = &j->groups[i];
        j->pending++;
        if (!g->channel)
            group_fail_now(g, "4.3.5", g->no_route);
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
    if (j->update_failed) {
        /* the finish issued behind it found the recipients still open (it never removes a
         * message that has any): the message stays, retried after the back-off */
        qmgr_job_end(j, 0);
        return;
    }
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
        int rc = qmgr_job_finish_write(j, on_finish_written);
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

/* The update that makes the message final, with the finish already queued behind it. */
static void on_final_update_written(void *arg, int status)
{
    struct qjob *j = arg;
    j->q->writes_pending--;
    if (status != 0) {
        mg_warn("event=queue_write_failed qid=%s op=update error=\"%s\"", j->e->id, mg_strerror(status));
        j->e->next_attempt = qmgr_now(j->q) + (int64_t)qmgr_backoff(&j->cref->cfg->queue, 1);
        j->update_failed = 1;
    }
    if (j->finish_refused) {
        if (!j->update_failed)
            j->e->next_attempt = qmgr_now(j->q) + 60; /* removed on the next run */
        qmgr_job_end(j, 0);
    }
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
    /* The store applies writes in order, so when these outcomes make the message final the
     * finish goes right behind the update (usually into the same commit) instead of waiting a
     * commit for it; if the update fails, the finish finds recipients open and removes nothing. */
    int final = message_is_final(j->msg);
    if (!final)
        qmgr_kept_flush(j);  /* the message stays: its stages as they are in memory */
    int rc = queue_store_update_rcpts(q->store, j->msg->id, j->upd, j->nupd, qmgr_now(q),
                                      final ? on_final_update_written : on_update_written, j);
    if (rc != 0) {
        mg_error("event=queue_write_failed qid=%s op=update error=\"%s\"", j->msg->id, mg_strerror(rc));
        j->e->next_attempt = qmgr_now(q) + 60;
        qmgr_job_end(j, 0);
        return;
    }
    q->writes_pending++;
    if (!final)
        return;
    rc = qmgr_job_finish_write(j, on_finish_written);
    if (rc == 0) {
        q->writes_pending++;
        return;
    }
    /* The update is queued and calls back; treat the finish as refused after it. */
    mg_error("event=queue_write_failed qid=%s op=finish error=\"%s\"", j->msg->id, mg_strerror(rc));
    j->finish_refused = 1;
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
    unsigned char *rl = NULL; /* owned: the report label for an unlabelled subject */
    size_t rll = 0;
    const struct qmgr_gate *g = &j->q->opts.gate;
    if ((!j->msg->label || !j->msg->label_len) && g->report_label &&
        (j->dsn_rc = g->report_label(g->ctx, j->cref->cfg, &rl, &rll)) != 0) {
        free(orig);
        return;
    }
    ctx.unlabelled_label = rl;
    ctx.unlabelled_label_len = rll;
    j->dsn_rc = report_build(&ctx, j->msg, j->ritems, j->nritems, orig, olen, &j->dsn_msg,
                             &j->dsn_content, &j->dsn_len);
    if (j->dsn_rc == 0 && j->dsn_msg && rl)
        mg_info("event=report_labelled qid=%s reason=\"the subject has no security label: the "
                "labels group's report label\" label_bytes=%zu", j->msg->id, rll);
    free(rl);
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
            if ((o->flags & CHANNEL_OUT_AWAIT_PEER) && rec->peer &&
                qmgr_await_add(q, rec->peer->name, m->id) != 0)
                mg_warn("event=out_of_memory qid=%s where=await peer=%s", m->id, rec->peer->name);
            ev = "deferred";
            q->n_deferred++;
            if (cfg->queue.delay_warning && now - m->arrival >= (int64_t)cfg->queue.delay_warning &&
                !(r->flags & MESSAGE_RCPT_F_DELAY_REPORTED)) {
                delayed = 1;
                x->flags_set |= MESSAGE_RCPT_F_DELAY_REPORTED;
            }
        }
        r->state = x->state;
        if (q->opts.outcomes.recorded)
            q->opts.outcomes.recorded(q->opts.outcomes.ctx, rec->channel, rec->peer, x->state,
                                      now - m->arrival);
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
    if (j->load_rc == 0)
        qmgr_job_prefetch(j);
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
    int64_t nb = q->opts.not_before ? q->opts.not_before(q->opts.not_before_ctx, j->msg) : 0;
    if (nb > qmgr_now(q)) {
        /* deferred delivery: kept, untouched, until then */
        mg_info("event=deferred_delivery qid=%s until=%lld in=%llds", j->msg->id, (long long)nb,
                (long long)(nb - qmgr_now(q)));
        j->e->next_attempt = nb;
        qmgr_job_end(j, 0);
        return;
    }
    j->e->next_attempt = 0;
    qmgr_job_round(j);
}

int qmgr_job_start(struct qmgr *q, struct qentry *e)
{
    struct qjob *j = calloc(1, sizeof *j);
    if (!j)
        return MG_ENOMEM;
    e->flags |= QE_ACTIVE;
    q->active_jobs++;
    q->cref->refs++;
    j->q = q;
    j->e = e;
    j->cref = q->cref;
    j->work.data = j;
    if (e->hot) {
        /* Planned by qmgr_job_run_hot once the pump has started what it can: planning here
         * would re-enter the pump from inside its loop. */
        struct qhot *h = e->hot;
        if (qmgr_job_adopt_v0(j, h->c) == 0) {
            j->msg = h->msg;
            h->msg = NULL;
            qmgr_entry_hot_drop(q, e);
            if (q->hotq_tail)
                q->hotq_tail->hot_next = j;
            else
                q->hotq = j;
            q->hotq_tail = j;
            return 0;
        }
        qmgr_entry_hot_drop(q, e); /* out of memory: read it from the store instead */
    }
    if (uv_queue_work(q->loop, &j->work, job_load, job_after_load) != 0) {
        j->load_rc = MG_EIO;
        job_after_load(&j->work, 0);
    }
    return 0;
}

void qmgr_job_run_hot(struct qmgr *q)
{
    struct qjob *j;
    while ((j = q->hotq) != NULL) {
        q->hotq = j->hot_next;
        if (!q->hotq)
            q->hotq_tail = NULL;
        j->hot_next = NULL;
        j->load_rc = 0;
        job_after_load(&j->work, 0);
    }
}

