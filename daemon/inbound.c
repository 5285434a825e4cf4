/* inbound: the SMTP listeners' glue to the queue. RCPT is checked against relay control and
 * routing at once (so we never accept what we cannot route); a complete message becomes a
 * struct message and is submitted to the store, and the client gets its 250 only from the
 * store's completion callback, i.e. once the message is durable. */
#include "daemon.h"
#include "mg_err.h"
#include "mg_log.h"
#include "relay.h"
#include "route.h"
#include "smtp_server.h"
#include "tls_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inbound_txn {
    struct daemon *d;
    struct smtp_server_txn *txn;
    struct message *msg;         /* owned */
    unsigned char *content;      /* owned */
    size_t content_len;
};

static const struct config_listener *cur_listener(struct listener_rt *lr)
{
    return config_find_listener(lr->d->cfg, lr->name);
}

static int client_sockaddr(const struct smtp_envelope *env, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(env->client_addr, env->client_port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(env->client_addr, env->client_port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return MG_EINVAL;
}

static void set_reply(struct smtp_reply *r, int code, const char *enh, const char *text, const char *detail)
{
    r->code = code;
    snprintf(r->enhanced, sizeof r->enhanced, "%s", enh);
    snprintf(r->text, sizeof r->text, "%s%s", text, detail ? detail : "");
}

static int on_rcpt(void *arg, const struct smtp_envelope *env, const struct smtp_rcpt *rcpt,
                   struct smtp_reply *reply)
{
    struct listener_rt *lr = arg;
    struct daemon *d = lr->d;
    const struct config_listener *l = cur_listener(lr);
    char qa[1100];
    if (!l) {
        set_reply(reply, 421, "4.3.2", "listener removed from the configuration; try again later", NULL);
        return 1;
    }
    if (d->cfg->queue.max_messages) {
        struct qmgr_stats st;
        qmgr_get_stats(d->qmgr, &st);
        if (st.messages >= d->cfg->queue.max_messages) {
            set_reply(reply, 452, "4.3.1", "queue full, try again later", NULL);
            mg_warn("event=rejected session=%s to=<%s> reason=queue_full", env->session_id,
                    mg_log_quote(rcpt->addr, qa, sizeof qa));
            return 1;
        }
    }
    struct sockaddr_storage ss;
    struct relay_result rr = { 0 };
    if (client_sockaddr(env, &ss) != 0 ||
        relay_check(d->cfg, l, (struct sockaddr *)&ss, rcpt->addr, &rr) != 0) {
        set_reply(reply, 554, "5.7.1", rr.reason ? rr.reason : "relay access denied", NULL);
        mg_warn("event=rejected session=%s client=%s to=<%s> reason=relay_denied detail=\"%s\"",
                env->session_id, env->client_addr, mg_log_quote(rcpt->addr, qa, sizeof qa),
                rr.reason ? rr.reason : "");
        return 1;
    }
    const struct config_route *rt = NULL;
    if (route_lookup(d->cfg, rcpt->addr, &rt) != 0) {
        set_reply(reply, 550, "5.1.2", "no route to this recipient", NULL);
        mg_warn("event=rejected session=%s to=<%s> reason=no_route", env->session_id,
                mg_log_quote(rcpt->addr, qa, sizeof qa));
        return 1;
    }
    return 0;
}

static void on_submitted(void *arg, int status)
{
    struct inbound_txn *it = arg;
    struct daemon *d = it->d;
    char qf[1100];
    if (status == 0) {
        mg_info("event=received qid=%s from=<%s> rcpts=%zu size=%zu proto=%s client=\"%s\"",
                it->msg->id, mg_log_quote(it->msg->originator, qf, sizeof qf), it->msg->nrcpts,
                it->content_len, it->msg->received_proto ? it->msg->received_proto : "-",
                it->msg->received_from ? it->msg->received_from : "");
        for (size_t i = 0; i < it->msg->nrcpts; i++) {
            const struct message_rcpt *r = &it->msg->rcpts[i];
            mg_info("event=routed qid=%s to=<%s> chain=%s peer=%s", it->msg->id,
                    mg_log_quote(r->addr, qf, sizeof qf), r->chain ? r->chain : "-", r->peer ? r->peer : "-");
        }
        d->received++;
        char text[128];
        snprintf(text, sizeof text, "Ok: queued as %s", it->msg->id);
        struct smtp_reply r = { .code = 250 };
        snprintf(r.enhanced, sizeof r.enhanced, "2.0.0");
        snprintf(r.text, sizeof r.text, "%s", text);
        smtp_server_txn_complete(it->txn, &r);
        qmgr_message_added(d->qmgr, it->msg);
    } else {
        d->rejected++;
        mg_error("event=queue_write_failed op=submit error=\"%s\"", mg_strerror(status));
        struct smtp_reply r = { .code = 451 };
        snprintf(r.enhanced, sizeof r.enhanced, "4.3.0");
        snprintf(r.text, sizeof r.text, "cannot queue the message now: %s", mg_strerror(status));
        smtp_server_txn_complete(it->txn, &r);
    }
    message_free(it->msg);
    free(it->content);
    free(it);
}

/* smtp_envelope -> struct message, with each recipient's route recorded. */
static int build_message(struct daemon *d, const struct smtp_envelope *env, struct message **out)
{
    struct message *m = message_create();
    if (!m)
        return MG_ENOMEM;
    int rc = message_set_originator(m, env->mail_from);
    if (!rc && env->envid)
        rc = message_set_envid(m, env->envid);
    m->ret = env->ret == SMTP_RET_FULL ? MESSAGE_RET_FULL : env->ret == SMTP_RET_HDRS ? MESSAGE_RET_HDRS : MESSAGE_RET_UNSPEC;
    if (!rc) {
        char from[600];
        snprintf(from, sizeof from, "%s [%s]", env->helo ? env->helo : "", env->client_addr ? env->client_addr : "");
        rc = message_set_received(m, from, env->tls ? (env->esmtp ? "ESMTPS" : "SMTPS") : (env->esmtp ? "ESMTP" : "SMTP"));
    }
    for (size_t i = 0; !rc && i < env->nrcpts; i++) {
        const struct smtp_rcpt *sr = &env->rcpts[i];
        char orcpt[1200];
        const char *o = NULL;
        if (sr->orcpt) {
            snprintf(orcpt, sizeof orcpt, "%s;%s", sr->orcpt_type ? sr->orcpt_type : "rfc822", sr->orcpt);
            o = orcpt;
        }
        unsigned notify = 0;
        if (sr->notify & SMTP_NOTIFY_NEVER) notify |= MESSAGE_NOTIFY_NEVER;
        if (sr->notify & SMTP_NOTIFY_SUCCESS) notify |= MESSAGE_NOTIFY_SUCCESS;
        if (sr->notify & SMTP_NOTIFY_FAILURE) notify |= MESSAGE_NOTIFY_FAILURE;
        if (sr->notify & SMTP_NOTIFY_DELAY) notify |= MESSAGE_NOTIFY_DELAY;
        struct message_rcpt *r = NULL;
        rc = message_add_rcpt(m, sr->addr, o, notify, &r);
        const struct config_route *rt = NULL;
        if (!rc && route_lookup(d->cfg, sr->addr, &rt) == 0) {
            char chain[512] = "";
            for (size_t k = 0; k < rt->n_chain; k++)
                snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "%s%s", k ? "," : "", rt->chain[k]->name);
            char rname[32];
            snprintf(rname, sizeof rname, "line%d", rt->line);
            rc = message_rcpt_set_route(r, rname, chain, rt->peer ? rt->peer->name : NULL);
        }
    }
    if (rc) {
        message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void on_message(void *arg, struct smtp_server_txn *txn, struct smtp_envelope *env)
{
    struct listener_rt *lr = arg;
    struct daemon *d = lr->d;
    struct inbound_txn *it = calloc(1, sizeof *it);
    struct smtp_reply r = { .code = 451 };
    snprintf(r.enhanced, sizeof r.enhanced, "4.3.0");
    if (!it) {
        snprintf(r.text, sizeof r.text, "out of memory");
        smtp_server_txn_complete(txn, &r);
        return;
    }
    it->d = d;
    it->txn = txn;
    int rc = build_message(d, env, &it->msg);
    if (rc == 0) {
        it->content = smtp_envelope_take_content(env, &it->content_len);
        rc = queue_store_submit(d->store, it->msg, it->content, it->content_len, on_submitted, it);
    }
    if (rc != 0) {
        if (rc == MG_ETOOBIG) {
            r.code = 552;
            snprintf(r.enhanced, sizeof r.enhanced, "5.3.4");
        }
        snprintf(r.text, sizeof r.text, "cannot queue the message: %s", mg_strerror(rc));
        mg_error("event=queue_write_failed op=submit session=%s error=\"%s\"", env->session_id, mg_strerror(rc));
        smtp_server_txn_complete(txn, &r);
        message_free(it->msg);
        free(it->content);
        free(it);
    }
}

int inbound_start(struct daemon *d)
{
    d->listeners = calloc(d->cfg->n_listeners ? d->cfg->n_listeners : 1, sizeof *d->listeners);
    if (!d->listeners)
        return MG_ENOMEM;
    for (size_t i = 0; i < d->cfg->n_listeners; i++) {
        const struct config_listener *l = &d->cfg->listeners[i];
        struct listener_rt *lr = &d->listeners[d->nlisteners];
        lr->d = d;
        lr->name = strdup(l->name);
        if (!lr->name)
            return MG_ENOMEM;
        if (l->tls.cert) {
            int rc = tls_io_ctx_server_create(&lr->tls, l->tls.cert, l->tls.key);
            if (rc != 0) {
                mg_error("event=tls_setup_failed listener=%s cert=%s error=\"%s\"", l->name, l->tls.cert, mg_strerror(rc));
                return rc;
            }
        }
        struct smtp_server_opts o = {
            .hostname = d->cfg->global.hostname,
            .listen = l->listen,
            .max_message_size = l->max_message_size,
            .max_recipients = l->max_recipients,
            .max_sessions = l->max_sessions,
            .max_sessions_per_client = l->max_sessions_per_client,
            .cmd_timeout_ms = l->command_timeout * 1000u,
            .data_timeout_ms = l->data_timeout * 1000u,
            .tls_ctx = lr->tls,
            .require_tls = l->tls.require_tls,
        };
        struct smtp_server_callbacks cbs = { .rcpt = on_rcpt, .message = on_message };
        int rc = smtp_server_create(&lr->srv, d->loop, &o, &cbs, lr);
        if (rc != 0) {
            mg_error("event=listen_failed listener=%s listen=%s error=\"%s\"", l->name, l->listen, mg_strerror(rc));
            tls_io_ctx_free(lr->tls);
            free(lr->name);
            return rc;
        }
        d->nlisteners++;
        d->listeners_open++;
        mg_info("event=listening listener=%s protocol=smtp listen=%s port=%d tls=%s", l->name, l->listen,
                smtp_server_port(lr->srv), lr->tls ? "starttls" : "none");
    }
    return 0;
}

static void on_server_closed(void *arg)
{
    struct listener_rt *lr = arg;
    struct daemon *d = lr->d;
    lr->srv = NULL;
    if (--d->listeners_open == 0) {
        for (size_t i = 0; i < d->nlisteners; i++) {
            tls_io_ctx_free(d->listeners[i].tls);
            free(d->listeners[i].name);
        }
        free(d->listeners);
        d->listeners = NULL;
        d->nlisteners = 0;
        if (d->inbound_stopped)
            d->inbound_stopped(d);
    }
}

void inbound_stop(struct daemon *d, void (*done)(struct daemon *d))
{
    d->inbound_stopped = done;
    if (d->listeners_open == 0) {
        free(d->listeners);
        d->listeners = NULL;
        done(d);
        return;
    }
    for (size_t i = 0; i < d->nlisteners; i++)
        if (d->listeners[i].srv)
            smtp_server_close(d->listeners[i].srv, on_server_closed, &d->listeners[i]);
}
