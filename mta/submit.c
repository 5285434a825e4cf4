/* submit: the protocol-neutral submission step (see submit.h). Moved here from the SMTP
 * listener glue (daemon/inbound.c) so that the P1 listener uses the same checks, the same
 * message mapping and the same "acknowledge only once durable" enqueue. */
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_err.h"
#include "mg_log.h"
#include "qmgr.h"
#include "queue_store.h"
#include "relay.h"
#include "oraddr.h"
#include "route.h"

static const char *sess(const struct submit_origin *o) { return o && o->session ? o->session : "-"; }

static int verdict(struct submit_result *res, enum submit_verdict v, const char *status, const char *reason)
{
    res->verdict = v;
    res->temporary = status[0] == '4';
    res->status = status;
    res->reason = reason;
    res->route = NULL;
    return v == SUBMIT_OK ? 0 : res->temporary ? MG_ETEMP : MG_EDENIED;
}

const char *submit_verdict_name(enum submit_verdict v)
{
    switch (v) {
    case SUBMIT_OK: return "ok";
    case SUBMIT_UNAVAILABLE: return "unavailable";
    case SUBMIT_QUEUE_FULL: return "queue_full";
    case SUBMIT_RELAY_DENIED: return "relay_denied";
    case SUBMIT_NO_ROUTE: return "no_route";
    case SUBMIT_UNSUPPORTED_ADDRESS: return "unsupported_address";
    case SUBMIT_LABEL_REJECTED: return "label_rejected";
    }
    return "unknown";
}

int submit_check_rcpt(const struct submit_ctx *ctx, const struct submit_origin *o,
                      const struct submit_rcpt *r, struct submit_result *res)
{
    if (!ctx || !ctx->cfg || !o || !r || !r->addr || !res)
        return MG_EINVAL;
    char qa[1100];
    const char *to = mg_log_quote(r->addr, qa, sizeof qa);
    if (!o->listener)
        return verdict(res, SUBMIT_UNAVAILABLE, "4.3.2", "listener removed from the configuration; try again later");
    if (r->kind == SUBMIT_ADDR_ORADDR) {
        /* An O/R address arrives only over P1, from a peer the bind authenticated: that is
         * the relay check of X.400 (relay_networks and domains are SMTP's). */
        if (o->listener->protocol != CONFIG_PROTO_P1) {
            mg_warn("event=rejected session=%s to=<%s> reason=unsupported_address", sess(o), to);
            return verdict(res, SUBMIT_UNSUPPORTED_ADDRESS, "5.1.3",
                           "an O/R address is accepted over P1 only");
        }
        struct oraddr oa;
        if (oraddr_parse(r->addr, &oa, NULL, 0) != 0) {
            mg_warn("event=rejected session=%s to=<%s> reason=bad_address", sess(o), to);
            return verdict(res, SUBMIT_UNSUPPORTED_ADDRESS, "5.1.3", "malformed O/R address");
        }
    } else if (r->kind != SUBMIT_ADDR_MAILBOX) {
        mg_warn("event=rejected session=%s to=<%s> reason=unsupported_address", sess(o), to);
        return verdict(res, SUBMIT_UNSUPPORTED_ADDRESS, "5.1.3", "this address kind cannot be routed");
    }
    if (ctx->cfg->queue.max_messages && ctx->qmgr) {
        struct qmgr_stats st;
        qmgr_get_stats(ctx->qmgr, &st);
        if (st.messages >= ctx->cfg->queue.max_messages) {
            mg_warn("event=rejected session=%s to=<%s> reason=queue_full", sess(o), to);
            return verdict(res, SUBMIT_QUEUE_FULL, "4.3.1", "queue full, try again later");
        }
    }
    struct relay_result rr = { 0 };
    if (r->kind == SUBMIT_ADDR_MAILBOX &&
        (!o->client || relay_check(ctx->cfg, o->listener, o->client, r->addr, &rr) != 0)) {
        const char *why = rr.reason ? rr.reason : "relay access denied";
        mg_warn("event=rejected session=%s client=%s to=<%s> reason=relay_denied detail=\"%s\"", sess(o),
                o->client_addr ? o->client_addr : "-", to, rr.reason ? rr.reason : "");
        return verdict(res, SUBMIT_RELAY_DENIED, "5.7.1", why);
    }
    const struct config_route *rt = NULL;
    /* The label is not known before the content: a rule whose label conditions might hold
     * counts (qmgr routes with the label). */
    const struct route_label any = { .unknown = true };
    if (route_lookup_msg(ctx->cfg, r->addr, &any, &rt) != 0) {
        mg_warn("event=rejected session=%s to=<%s> reason=no_route", sess(o), to);
        return verdict(res, SUBMIT_NO_ROUTE, "5.1.2", "no route to this recipient");
    }
    verdict(res, SUBMIT_OK, "2.1.5", "ok");
    res->route = rt;
    return 0;
}

/* The route's names as the queue records them: "line<N>", "a,b", the peer. */
static int set_route(struct message_rcpt *r, const struct config_route *rt)
{
    char chain[512] = "";
    size_t used = 0;
    for (size_t k = 0; k < rt->n_chain && used < sizeof chain; k++) {
        int n = snprintf(chain + used, sizeof chain - used, "%s%s", k ? "," : "", rt->chain[k]->name);
        if (n < 0 || (size_t)n >= sizeof chain - used)
            return MG_ETOOBIG;
        used += (size_t)n;
    }
    char rname[32];
    snprintf(rname, sizeof rname, "line%d", rt->line);
    return message_rcpt_set_route(r, rname, chain, rt->peer ? rt->peer->name : NULL);
}

int submit_build_message(const struct submit_ctx *ctx, const struct submit_origin *o,
                         const struct submit_envelope *env, struct message **out)
{
    *out = NULL;
    if (!ctx || !ctx->cfg || !o || !env || (env->nrcpts && !env->rcpts))
        return MG_EINVAL;
    if (env->priority != -1 && (env->priority < MESSAGE_PRIORITY_MIN || env->priority > MESSAGE_PRIORITY_MAX))
        return MG_EINVAL;
    for (size_t i = 0; i < env->nrcpts; i++) {
        if (!env->rcpts[i].addr)
            return MG_EINVAL;
        if (env->rcpts[i].kind != SUBMIT_ADDR_MAILBOX && env->rcpts[i].kind != SUBMIT_ADDR_ORADDR)
            return MG_ENOTSUP;
    }
    struct message *m = message_create();
    if (!m)
        return MG_ENOMEM;
    int rc = message_set_originator(m, env->originator ? env->originator : "");
    if (!rc && env->envid)
        rc = message_set_envid(m, env->envid);
    m->ret = env->ret;
    m->priority = env->priority == -1 ? MESSAGE_PRIORITY_DEFAULT : env->priority;
    m->content_type = env->content_type;
    if (!rc && (env->mts_id || env->content_oid || env->x400_env))
        rc = message_set_x400(m, env->mts_id, env->content_oid, env->x400_env, env->x400_env_len);
    if (!rc) {
        char from[600];
        snprintf(from, sizeof from, "%s [%s]", o->client_name ? o->client_name : "",
                 o->client_addr ? o->client_addr : "");
        rc = message_set_received(m, from, o->proto);
    }
    for (size_t i = 0; !rc && i < env->nrcpts; i++) {
        const struct submit_rcpt *sr = &env->rcpts[i];
        struct message_rcpt *r = NULL;
        const char *addr = sr->addr;
        char canon[ORADDR_TEXT_MAX + 64];
        if (sr->kind == SUBMIT_ADDR_ORADDR) {
            /* The queue, the logs and routing keep the canonical RFC 2156 form. */
            rc = oraddr_normalize(sr->addr, canon, sizeof canon, NULL, 0);
            if (rc)
                break;
            addr = canon;
        }
        rc = message_add_rcpt(m, addr, sr->orcpt, sr->notify, &r);
        if (!rc)
            r->kind = sr->kind == SUBMIT_ADDR_ORADDR ? MESSAGE_ADDR_ORADDR : MESSAGE_ADDR_RFC822;
        const struct config_route *rt = NULL;
        const struct route_label any = { .unknown = true };
        if (!rc && (route_lookup(ctx->cfg, addr, &rt) == 0 ||
                    route_lookup_msg(ctx->cfg, addr, &any, &rt) == 0))
            rc = set_route(r, rt);
    }
    if (rc) {
        message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* One enqueue in flight: owns the message and the content until the store is done. */
struct submit_job {
    struct qmgr *qmgr;
    struct message *msg;         /* owned */
    unsigned char *content;      /* owned */
    size_t content_len;
    submit_done_cb done;
    void *arg;
    struct submit_label_hook label; /* copy of ctx->label (commit NULL = none) */
    int in_call;                 /* inside queue_store_submit (a loop-less store completes there) */
    int completed;
    int status;
};

static void job_free(struct submit_job *j)
{
    message_free(j->msg);
    free(j->content);
    free(j);
}

static void job_finish(struct submit_job *j);

/* The label decisions' audit records are durable (or could not be written: the message is
 * stored already, so it goes on; the failure is logged). */
static void on_label_committed(void *arg, int status)
{
    struct submit_job *j = arg;
    if (status != 0)
        mg_error("event=audit_failed qid=%s op=submit error=\"%s\"", j->msg->id, mg_strerror(status));
    job_finish(j);
}

static void job_finish(struct submit_job *j)
{
    if (j->status == 0 && j->label.commit) {
        int (*commit)(void *, const char *, void (*)(void *, int), void *) = j->label.commit;
        j->label.commit = NULL; /* once: on_label_committed comes back here */
        if (commit(j->label.ctx, j->msg->id, on_label_committed, j) == 0)
            return; /* j may be gone already (a commit that completes at once) */
    }
    if (j->status == 0) {
        char qf[1100];
        struct message *m = j->msg;
        mg_info("event=received qid=%s from=<%s> rcpts=%zu size=%zu proto=%s client=\"%s\"", m->id,
                mg_log_quote(m->originator, qf, sizeof qf), m->nrcpts, j->content_len,
                m->received_proto ? m->received_proto : "-", m->received_from ? m->received_from : "");
        for (size_t i = 0; i < m->nrcpts; i++) {
            const struct message_rcpt *r = &m->rcpts[i];
            mg_info("event=routed qid=%s to=<%s> chain=%s peer=%s", m->id, mg_log_quote(r->addr, qf, sizeof qf),
                    r->chain ? r->chain : "-", r->peer ? r->peer : "-");
        }
    } else {
        mg_error("event=queue_write_failed op=submit error=\"%s\"", mg_strerror(j->status));
    }
    if (j->done)
        j->done(j->arg, j->status, j->msg);
    if (j->status == 0 && j->qmgr)
        qmgr_message_added(j->qmgr, j->msg);
    job_free(j);
}

static void on_stored(void *arg, int status)
{
    struct submit_job *j = arg;
    j->completed = 1;
    j->status = status;
    if (j->in_call)
        return; /* decided after queue_store_submit returns */
    job_finish(j);
}

int submit_enqueue(const struct submit_ctx *ctx, struct message *msg, unsigned char *content,
                   size_t content_len, submit_done_cb done, void *arg)
{
    if (!ctx || !ctx->store || !msg || !done || (!content && content_len)) {
        message_free(msg);
        free(content);
        return MG_EINVAL;
    }
    struct submit_job *j = calloc(1, sizeof *j);
    if (!j) {
        message_free(msg);
        free(content);
        return MG_ENOMEM;
    }
    j->qmgr = ctx->qmgr;
    j->msg = msg;
    j->content = content;
    j->content_len = content_len;
    j->done = done;
    j->arg = arg;
    if (ctx->label)
        j->label = *ctx->label;
    j->in_call = 1;
    int rc = queue_store_submit(ctx->store, msg, content, content_len, on_stored, j);
    j->in_call = 0;
    if (rc != 0) {
        /* The store's callback does not run on error, except for a loop-less store, which
         * calls it and returns the same status: either way done must not run. The caller
         * answers (and logs) the refusal. */
        job_free(j);
        return rc;
    }
    if (j->completed) /* a loop-less store completed inside the call */
        job_finish(j);
    return 0;
}

int submit_label(const struct submit_ctx *ctx, const struct submit_origin *o, struct message *msg,
                 unsigned char **content, size_t *len, struct submit_result *res)
{
    verdict(res, SUBMIT_OK, "2.0.0", "ok");
    if (!ctx || !msg || !content || !len)
        return MG_EINVAL;
    if (!ctx->label || !ctx->label->extract)
        return 0;
    int rc = ctx->label->extract(ctx->label->ctx, ctx->cfg, o, msg, content, len, res);
    if (rc)
        mg_info("event=rejected reason=%s session=%s status=%s detail=\"%s\"", submit_verdict_name(res->verdict),
                sess(o), res->status ? res->status : "-", res->reason ? res->reason : "");
    return rc;
}
